//! `lemma serve`.

use std::net::SocketAddr;

use clap::Args;
use lemma_server::{OidcConfig, ServerConfig, UserClaim};

use crate::DataDir;

#[derive(Args)]
pub struct ServeArgs {
    /// OTLP/HTTP, the REST API and the dashboard.
    #[arg(long, env = "LEMMA_HTTP_ADDR", default_value = "127.0.0.1:4318", value_parser = crate::parse_addr)]
    http_addr: SocketAddr,
    /// OTLP/gRPC.
    #[arg(long, env = "LEMMA_GRPC_ADDR", default_value = "127.0.0.1:4317", value_parser = crate::parse_addr)]
    grpc_addr: SocketAddr,
    #[command(flatten)]
    data: DataDir,
    /// Largest request body accepted, compressed or decompressed.
    #[arg(long, env = "LEMMA_MAX_BODY_BYTES", default_value_t = 16 * 1024 * 1024)]
    max_body_bytes: usize,
    /// Spans waiting for commit before requests are refused with 503 + Retry-After.
    #[arg(long, env = "LEMMA_QUEUE_MAX_SPANS", default_value_t = 100_000)]
    queue_max_spans: usize,
    /// Most spans committed in one transaction.
    #[arg(long, env = "LEMMA_BATCH_MAX_SPANS", default_value_t = 5_000)]
    batch_max_spans: usize,
    /// Bytes of OTLP request bodies held at once, decompressed; past it requests get 503 +
    /// Retry-After. Never less than --max-body-bytes.
    #[arg(long, env = "LEMMA_MAX_INFLIGHT_BYTES", default_value_t = 128 * 1024 * 1024)]
    max_inflight_bytes: usize,
    /// Open connections (HTTP and gRPC together); more are closed at once. Capped by the
    /// process's open-file limit.
    #[arg(long, env = "LEMMA_MAX_CONNECTIONS", default_value_t = 4_096)]
    max_connections: usize,
    /// Seconds a client may take to send a request's headers.
    #[arg(long, env = "LEMMA_HEADER_TIMEOUT", default_value_t = 10)]
    header_timeout: u64,
    /// Seconds a request body may pause between two chunks.
    #[arg(long, env = "LEMMA_BODY_TIMEOUT", default_value_t = 30)]
    body_timeout: u64,
    /// The API key created with project `default` on first start (else one is generated).
    #[arg(long, env = "LEMMA_BOOTSTRAP_KEY", hide_env_values = true)]
    bootstrap_key: Option<String>,
    /// Send every accepted span on to this OTLP/HTTP traces endpoint as well (e.g.
    /// http://collector:4318/v1/traces), through a queue on disk in the data dir.
    #[arg(long, env = "LEMMA_FORWARD_OTLP")]
    forward_otlp: Option<String>,
    /// A header for the forwarding requests, `name=value` (repeat it for more); e.g.
    /// `authorization=Bearer ...`.
    #[arg(long, env = "LEMMA_FORWARD_HEADERS", value_delimiter = ',', hide_env_values = true, value_parser = parse_header)]
    forward_header: Vec<(String, String)>,
    /// Seconds between two passes deleting the runs older than their project keeps runs
    /// (`lemma projects retention`).
    #[arg(long, env = "LEMMA_RETENTION_INTERVAL", default_value_t = 3600)]
    retention_interval: u64,
    /// The most the forwarding queue holds on disk; past it its oldest spans are dropped.
    #[arg(long, env = "LEMMA_FORWARD_MAX_BYTES", default_value_t = 1 << 30)]
    forward_max_bytes: u64,
    /// The URL browsers and clients reach this server at (e.g. https://lemma.example.com),
    /// for the links it hands out: the OpenID Connect callback, the LLM proxy's base URLs.
    /// Without it, the host each request was sent to.
    #[arg(long, env = "LEMMA_PUBLIC_URL")]
    public_url: Option<String>,
    /// Do not evaluate runs' signals as spans arrive on this server (nor alert on single
    /// runs); a run's signals are still evaluated when asked for.
    #[arg(long, env = "LEMMA_NO_SIGNALS")]
    no_signals: bool,
    #[command(flatten)]
    oidc: OidcArgs,
    #[command(flatten)]
    proxy: ProxyArgs,
}

/// The LLM proxy (`/proxy/...`): where it sends model calls.
#[derive(Args)]
#[command(next_help_heading = "LLM proxy")]
pub struct ProxyArgs {
    /// The OpenAI-compatible API the proxy's `/proxy/.../openai/v1` routes call (any
    /// OpenAI-compatible server: Azure, vLLM, OpenRouter, a gateway).
    #[arg(
        long,
        env = "LEMMA_PROXY_OPENAI_UPSTREAM",
        default_value = "https://api.openai.com/v1"
    )]
    proxy_openai_upstream: String,
    /// The Anthropic API the proxy's `/proxy/.../anthropic` routes call.
    #[arg(
        long,
        env = "LEMMA_PROXY_ANTHROPIC_UPSTREAM",
        default_value = "https://api.anthropic.com"
    )]
    proxy_anthropic_upstream: String,
    /// Seconds an unstreamed model call, or a pause in a streamed one, may take.
    #[arg(long, env = "LEMMA_PROXY_TIMEOUT", default_value_t = 600)]
    proxy_timeout: u64,
}

/// Signing in to the dashboard through an OpenID Connect provider, beside local passwords.
#[derive(Args)]
#[command(next_help_heading = "Sign-in with OpenID Connect")]
struct OidcArgs {
    /// The provider's issuer URL (e.g. https://accounts.google.com); turns the sign-in on.
    #[arg(long, env = "LEMMA_OIDC_ISSUER", requires_all = ["oidc_client_id", "public_url"])]
    oidc_issuer: Option<String>,
    /// The client ID this server is registered under at the provider.
    #[arg(long, env = "LEMMA_OIDC_CLIENT_ID")]
    oidc_client_id: Option<String>,
    /// The client secret (none for a public client, which PKCE alone protects).
    #[arg(long, env = "LEMMA_OIDC_CLIENT_SECRET", hide_env_values = true)]
    oidc_client_secret: Option<String>,
    /// The ID token claim that is the Lemma user name: email (verified, in lower case),
    /// preferred_username or sub.
    #[arg(long, env = "LEMMA_OIDC_USER_CLAIM", default_value = "email", value_parser = parse_claim)]
    oidc_user_claim: UserClaim,
    /// Create a user (with no project and no password) at their first sign-in; without it,
    /// only users made with `lemma users create NAME --no-password` (or with a password) may.
    #[arg(long, env = "LEMMA_OIDC_CREATE_USERS")]
    oidc_create_users: bool,
    /// The provider's name on the sign-in button ("Sign in with NAME").
    #[arg(long, env = "LEMMA_OIDC_NAME", default_value = "single sign-on")]
    oidc_name: String,
}

impl ProxyArgs {
    pub fn config(self) -> lemma_server::ProxyConfig {
        lemma_server::ProxyConfig {
            openai_upstream: self.proxy_openai_upstream,
            anthropic_upstream: self.proxy_anthropic_upstream,
            timeout: std::time::Duration::from_secs(self.proxy_timeout.max(1)),
        }
    }
}

fn parse_claim(s: &str) -> Result<UserClaim, String> {
    UserClaim::parse(s).ok_or_else(|| "choose from email, preferred_username, sub".to_string())
}

impl OidcArgs {
    /// With `--public-url`, which clap requires beside `--oidc-issuer`; register
    /// <URL>/api/v1/auth/oidc/callback with the provider as the redirect URI.
    fn config(self, public_url: Option<&str>) -> Option<OidcConfig> {
        Some(OidcConfig {
            issuer: self.oidc_issuer?,
            client_id: self.oidc_client_id?,
            client_secret: self.oidc_client_secret.filter(|s| !s.is_empty()),
            redirect_url: OidcConfig::redirect_url_for(public_url?),
            user_claim: self.oidc_user_claim,
            create_users: self.oidc_create_users,
            name: self.oidc_name,
        })
    }
}

/// `name=value`, as OTEL_EXPORTER_OTLP_HEADERS writes a header.
fn parse_header(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not a header: write name=value"))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("{s:?} has no header name before ="));
    }
    Ok((name.to_string(), value.trim().to_string()))
}

/// Logs to stderr, at `LEMMA_LOG`'s level (`info` unless set).
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LEMMA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal, never in a log file or a collector.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    init_logging();
    let config = ServerConfig {
        http_addr: args.http_addr,
        grpc_addr: args.grpc_addr,
        data_dir: args.data.data_dir.clone(),
        store: args.data.store.clone(),
        max_body_bytes: args.max_body_bytes,
        queue_max_spans: args.queue_max_spans,
        batch_max_spans: args.batch_max_spans,
        max_inflight_bytes: args.max_inflight_bytes,
        max_connections: args.max_connections,
        header_timeout: std::time::Duration::from_secs(args.header_timeout.max(1)),
        body_timeout: std::time::Duration::from_secs(args.body_timeout.max(1)),
        bootstrap_key: args.bootstrap_key,
        retention_interval: std::time::Duration::from_secs(args.retention_interval.max(1)),
        forward: args.forward_otlp.map(|url| lemma_server::ForwardConfig {
            url,
            headers: args.forward_header,
            max_bytes: args.forward_max_bytes,
            dir: args.data.data_dir.join("forward"),
        }),
        oidc: args.oidc.config(args.public_url.as_deref()),
        public_url: args.public_url,
        proxy: args.proxy.config(),
        signals: !args.no_signals,
    };
    let location = args.data.location()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(lemma_server::serve(
        config,
        shutdown_signal(),
        move |boot, http, grpc| {
            if let Some(b) = boot {
                println!("Created project {:?}.", b.project);
                if b.generated {
                    println!(
                        "Its API key (shown once, keep it safe):\n\n    {}\n",
                        b.key.secret
                    );
                } else {
                    println!("Its API key is the one given in LEMMA_BOOTSTRAP_KEY.");
                }
                println!(
                    "Public key (for Basic auth / Langfuse SDKs): {}",
                    b.key.info.public_key
                );
            }
            println!(
                "Lemma is listening: OTLP/HTTP and API on http://{http}, OTLP/gRPC on {grpc}, {}",
                location.describe()
            );
        },
    ))
}

pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down: finishing in-flight requests and committing queued spans");
}
