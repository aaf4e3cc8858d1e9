//! `lemma proxy`: the LLM proxy on its own, beside the agents, recording into a Lemma server
//! elsewhere through its API (`remote`). The same routes as `lemma serve`'s proxy.

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context;
use axum::routing::get;

use super::{routes, ProxyState, Remote};
use crate::config::ProxyConfig;

pub struct StandaloneConfig {
    pub listen: SocketAddr,
    /// The Lemma server that records the calls.
    pub lemma_url: String,
    /// The key proxy sessions are looked up and recorded with (sessions of its project).
    pub key: Option<String>,
    pub proxy: ProxyConfig,
    pub max_body_bytes: usize,
}

pub async fn serve(
    config: StandaloneConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_ready: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    let remote = Remote::new(&config.lemma_url, config.key)?;
    let state = ProxyState::remote(remote, config.proxy, config.max_body_bytes)?;
    let (router, _) = routes().split_for_parts();
    let app = router
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    on_ready(listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
