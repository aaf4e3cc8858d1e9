//! `lemma proxy`: the LLM proxy on its own, next to the agents, recording every model call into
//! a Lemma server elsewhere. The same routes as `lemma serve`'s proxy.

use std::net::SocketAddr;

use clap::Args;
use lemma_server::proxy::standalone::{self, StandaloneConfig};

use crate::serve::ProxyArgs;

#[derive(Args)]
pub struct ProxyCommandArgs {
    /// Where the proxy listens; point clients at http://<this>/proxy/openai/v1 and
    /// http://<this>/proxy/anthropic.
    #[arg(long, env = "LEMMA_PROXY_LISTEN", default_value = "127.0.0.1:4319", value_parser = crate::parse_addr)]
    listen: SocketAddr,
    /// The Lemma server that records the calls.
    #[arg(long, env = "LEMMA_URL", default_value = "http://127.0.0.1:4318")]
    url: String,
    /// A key (ingest or admin) of the project whose proxy sessions this proxy serves at
    /// /proxy/session/<token>/...; calls without a session bring their own in X-Lemma-Key.
    #[arg(long, env = "LEMMA_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Largest request body passed on.
    #[arg(long, env = "LEMMA_MAX_BODY_BYTES", default_value_t = 16 * 1024 * 1024)]
    max_body_bytes: usize,
    #[command(flatten)]
    proxy: ProxyArgs,
}

pub fn run(args: ProxyCommandArgs) -> anyhow::Result<()> {
    crate::serve::init_logging();
    let config = StandaloneConfig {
        listen: args.listen,
        lemma_url: args.url.clone(),
        key: args.api_key,
        proxy: args.proxy.config(),
        max_body_bytes: args.max_body_bytes,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(standalone::serve(
        config,
        crate::serve::shutdown_signal(),
        |addr| {
            println!(
                "Lemma's LLM proxy on http://{addr}, recording into {}:\n  \
                 OPENAI_BASE_URL=http://{addr}/proxy/openai/v1\n  \
                 ANTHROPIC_BASE_URL=http://{addr}/proxy/anthropic\n\
                 (with a Lemma key in the X-Lemma-Key header, or a proxy session's URLs)",
                args.url
            );
        },
    ))
}
