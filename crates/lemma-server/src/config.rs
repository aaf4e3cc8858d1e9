use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Everything `lemma serve` can be told. The CLI fills it from flags and `LEMMA_*` variables.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// OTLP/HTTP, the REST API and (later) the dashboard.
    pub http_addr: SocketAddr,
    /// OTLP/gRPC.
    pub grpc_addr: SocketAddr,
    pub data_dir: PathBuf,
    /// A `clickhouse://` address to store in instead of the data dir.
    pub store: Option<String>,
    /// Largest request body accepted, compressed or decompressed.
    pub max_body_bytes: usize,
    /// Spans waiting to be committed before new requests are refused with 503.
    pub queue_max_spans: usize,
    /// Most spans committed in one transaction.
    pub batch_max_spans: usize,
    /// Bytes of OTLP request bodies held at once (decompressed); past it requests get 503.
    /// Never less than `max_body_bytes`, so any request within the body limit can be served.
    pub max_inflight_bytes: usize,
    /// Open connections, HTTP and gRPC together; more are closed at once.
    pub max_connections: usize,
    /// How long a client may take to send a request's headers.
    pub header_timeout: Duration,
    /// How long a request body may pause between two chunks.
    pub body_timeout: Duration,
    /// The first key of a new data dir (else one is generated and printed once).
    pub bootstrap_key: Option<String>,
    /// Every accepted span sent on to another OTLP backend (`--forward-otlp`).
    pub forward: Option<crate::ForwardConfig>,
    /// How often the retention pass deletes runs older than their project keeps.
    pub retention_interval: Duration,
    /// Signing in to the dashboard through an OpenID Connect provider (`--oidc-issuer`).
    pub oidc: Option<OidcConfig>,
    /// The URL browsers and clients reach this server at (`--public-url`), for the links it
    /// hands out (sign-in callbacks, proxy base URLs); else the request's own host.
    pub public_url: Option<String>,
    /// The LLM proxy's upstreams and limits.
    pub proxy: ProxyConfig,
    /// Evaluate runs' signals (and so each-run alerts) as spans arrive (`--no-signals` turns
    /// it off on this server; a run's signals are still evaluated when asked for).
    pub signals: bool,
}

/// Where the LLM proxy sends model calls: only these upstreams, so it is never an open relay.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// OpenAI-compatible API base, with its version (`https://api.openai.com/v1`).
    pub openai_upstream: String,
    /// Anthropic API root (`https://api.anthropic.com`).
    pub anthropic_upstream: String,
    /// The longest an unstreamed call, or a pause in a stream, may take.
    pub timeout: Duration,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            openai_upstream: "https://api.openai.com/v1".into(),
            anthropic_upstream: "https://api.anthropic.com".into(),
            timeout: Duration::from_secs(600),
        }
    }
}

/// An OpenID Connect provider people sign in with, as registered with it.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The provider's issuer URL; its metadata is at `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    /// None for a public client (PKCE alone).
    pub client_secret: Option<String>,
    /// The redirect URI registered with the provider: `<public URL>/api/v1/auth/oidc/callback`.
    pub redirect_url: String,
    /// Which claim of the ID token is the Lemma user name.
    pub user_claim: UserClaim,
    /// Creates a user (without a password or any project) at their first sign-in, rather than
    /// refusing people an operator did not create.
    pub create_users: bool,
    /// What the sign-in button names ("Sign in with <name>").
    pub name: String,
}

impl OidcConfig {
    /// The redirect URI to register with the provider, for a server reached at `public_url`.
    pub fn redirect_url_for(public_url: &str) -> String {
        format!(
            "{}/api/v1/auth/oidc/callback",
            public_url.trim_end_matches('/')
        )
    }
}

/// The ID token claim that names the Lemma user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserClaim {
    /// A verified email address, in lower case.
    Email,
    PreferredUsername,
    /// The provider's stable subject identifier.
    Subject,
}

impl UserClaim {
    pub fn parse(name: &str) -> Option<UserClaim> {
        match name {
            "email" => Some(UserClaim::Email),
            "preferred_username" => Some(UserClaim::PreferredUsername),
            "sub" => Some(UserClaim::Subject),
            _ => None,
        }
    }

    /// The scopes to ask the provider for, so that the claim is in the ID token.
    pub fn scopes(self) -> &'static [&'static str] {
        match self {
            UserClaim::Email => &["email"],
            UserClaim::PreferredUsername => &["profile"],
            UserClaim::Subject => &[],
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            http_addr: ([127, 0, 0, 1], 4318).into(),
            grpc_addr: ([127, 0, 0, 1], 4317).into(),
            data_dir: PathBuf::from("lemma-data"),
            store: None,
            max_body_bytes: 16 * 1024 * 1024,
            queue_max_spans: 100_000,
            batch_max_spans: 5_000,
            max_inflight_bytes: 128 * 1024 * 1024,
            max_connections: 4_096,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            bootstrap_key: None,
            forward: None,
            retention_interval: Duration::from_secs(3600),
            oidc: None,
            public_url: None,
            proxy: ProxyConfig::default(),
            signals: true,
        }
    }
}

impl ServerConfig {
    pub fn store_location(&self) -> lemma_store::Result<lemma_store::StoreLocation> {
        lemma_store::StoreLocation::new(self.store.as_deref(), self.data_dir.clone())
    }
}
