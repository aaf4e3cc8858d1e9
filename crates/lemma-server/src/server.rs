//! Wiring: the store, the writer, the HTTP and gRPC listeners, and an orderly shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::response::IntoResponse;
use axum::{Extension, Router};
use lemma_store::{KeyScope, NewKey, Store, StoreError};
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::LogsServiceServer;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceServiceServer;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::codec::CompressionEncoding;
use tower_http::timeout::RequestBodyTimeoutLayer;
use utoipa_axum::routes;

use crate::api::outline_cache::{self, OutlineCache};
use crate::config::ServerConfig;
use crate::connections::{self, ConnectionCap};
use crate::error::ApiError;
use crate::ingest::{self, budget::Budget, writer::Ingest};
use crate::prices::PriceCache;
use crate::redaction::Redaction;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub ingest: Ingest,
    pub config: Arc<ServerConfig>,
    pub prices: Arc<PriceCache>,
    pub redaction: Arc<Redaction>,
    pub activity: Arc<crate::ingest::activity::Activity>,
    pub sessions: Arc<crate::auth::session::Sessions>,
    pub logins: Arc<crate::auth::throttle::LoginThrottle>,
    /// Looked-up proxy sessions.
    pub proxy_sessions: Arc<crate::proxy::sessions::Sessions>,
    /// Sign-in through an OpenID Connect provider, when one is configured.
    pub oidc: Option<Arc<crate::auth::oidc::Oidc>>,
    /// When this server started (unix nanoseconds).
    pub started_unix_nano: u64,
    /// Bytes of request bodies in flight (`--max-inflight-bytes`).
    pub budget: Budget,
    /// Long runs' outlines, kept while they are paged through.
    pub outlines: Arc<OutlineCache>,
    /// Signals found as spans arrive.
    pub signals: Arc<crate::signals::Signals>,
    /// Alert rules at work.
    pub alerts: Arc<crate::alerts::Alerts>,
}

/// What the first start of an empty data dir created.
pub struct Bootstrap {
    pub project: String,
    pub key: NewKey,
    /// The key was generated (not given by `LEMMA_BOOTSTRAP_KEY`) and must be shown once.
    pub generated: bool,
}

/// Creates project `default` and its first key when the store has no project yet. Servers
/// sharing a store may start together: one that finds the other did it first goes on.
pub async fn bootstrap(
    store: &dyn Store,
    key: Option<String>,
) -> anyhow::Result<Option<Bootstrap>> {
    if !store.list_projects().await?.is_empty() {
        return Ok(None);
    }
    let project = match store.create_project("default").await {
        Err(StoreError::Conflict(_)) => return Ok(None),
        other => other?,
    };
    let generated = key.is_none();
    let key = match store.create_key(&project.name, key, KeyScope::Admin).await {
        Err(StoreError::Conflict(_)) if !generated => return Ok(None),
        other => other?,
    };
    Ok(Some(Bootstrap {
        project: project.name,
        key,
        generated,
    }))
}

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "server",
    security(()),
    responses((status = 200, description = "`ok`: the server answers.", content_type = "text/plain", body = String))
)]
async fn healthz() -> &'static str {
    "ok"
}

/// Every route but the dashboard's pages and files is registered with its documentation, and
/// the document is served from what was registered.
fn router(state: AppState, proxy: crate::proxy::ProxyState) -> Router {
    let (documented, doc) = crate::openapi::router()
        .routes(routes!(ingest::http::export_traces))
        .routes(routes!(ingest::http::export_traces_langfuse))
        .routes(routes!(ingest::logs::export_logs))
        .merge(crate::api::routes(&state))
        .merge(crate::api::account::routes())
        .merge(crate::api::oidc::routes())
        .merge(crate::proxy::routes().with_state(proxy))
        .merge(crate::mcp::routes(&state))
        .routes(routes!(healthz))
        .routes(routes!(crate::openapi::openapi_json))
        .split_for_parts();
    documented
        .layer(Extension(crate::openapi::Served::new(&doc)))
        .merge(crate::web::routes())
        .fallback(
            |method: axum::http::Method, uri: axum::http::Uri, headers: axum::http::HeaderMap| async move {
                if let Some(page) = crate::web::page_not_found(&method, uri.path(), &headers) {
                    return page;
                }
                ApiError::not_found(format!(
                    "no route {}: see the API routes in the README",
                    uri.path()
                ))
                .into_response()
            },
        )
        .method_not_allowed_fallback(
            |method: axum::http::Method, uri: axum::http::Uri| async move {
                ApiError::new(
                    axum::http::StatusCode::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    format!("{method} is not allowed on {}", uri.path()),
                )
            },
        )
        // A client that stops sending mid-body is cut off rather than held forever.
        .layer(RequestBodyTimeoutLayer::new(state.config.body_timeout))
        .with_state(state)
}

/// Runs the server until `shutdown` resolves, then stops accepting, lets in-flight requests
/// finish, commits everything queued, and returns. `on_ready` is called with the bootstrap
/// result once both listeners are bound.
pub async fn serve(
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_ready: impl FnOnce(Option<Bootstrap>, std::net::SocketAddr, std::net::SocketAddr),
) -> anyhow::Result<()> {
    let location = config.store_location()?;
    let store = location
        .open()
        .await
        .with_context(|| format!("opening {}", location.database()))?;
    let boot = bootstrap(store.as_ref(), config.bootstrap_key.clone()).await?;

    tokio::spawn(crate::retention::run(
        store.clone(),
        config.retention_interval,
    ));
    let forwarder = match config.forward.clone() {
        Some(forward) => {
            let url = forward.url.clone();
            let forwarder = crate::forward::Forwarder::start(forward)
                .with_context(|| format!("starting to forward spans to {url}"))?;
            Some(forwarder)
        }
        None => None,
    };
    let signals = crate::signals::Signals::start(store.clone(), config.signals);
    let alerts = crate::alerts::Alerts::start(store.clone(), &signals, config.public_url.clone())
        .context("starting alerts")?;
    let (ingest, writer) = ingest::writer::start(
        store.clone(),
        config.queue_max_spans,
        config.batch_max_spans,
        forwarder,
        signals.clone(),
    );
    let redaction = Arc::new(Redaction::new(store.clone()));
    let oidc = match config.oidc.clone() {
        Some(oidc) => Some(Arc::new(
            crate::auth::oidc::Oidc::new(oidc).context("the OpenID Connect settings")?,
        )),
        None => None,
    };
    let flusher = tokio::spawn(crate::redaction::flush_forever(redaction.clone()));
    let state = AppState {
        prices: Arc::new(PriceCache::new(store.clone())),
        redaction: redaction.clone(),
        activity: Arc::default(),
        sessions: Arc::default(),
        logins: Arc::default(),
        oidc,
        proxy_sessions: Arc::default(),
        started_unix_nano: crate::api::now_unix_nano(),
        store,
        ingest,
        budget: Budget::new(config.max_inflight_bytes.max(config.max_body_bytes)),
        config: Arc::new(config.clone()),
        outlines: Arc::new(OutlineCache::new(outline_cache::DEFAULT_MAX_BYTES)),
        signals,
        alerts,
    };

    let http = TcpListener::bind(config.http_addr)
        .await
        .with_context(|| format!("binding HTTP on {}", config.http_addr))?;
    let grpc = TcpListener::bind(config.grpc_addr)
        .await
        .with_context(|| format!("binding gRPC on {}", config.grpc_addr))?;
    let (http_addr, grpc_addr) = (http.local_addr()?, grpc.local_addr()?);

    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };

    let cap = ConnectionCap::new(config.max_connections);
    let http_server = connections::serve_http(
        http,
        router(
            state.clone(),
            crate::proxy::ProxyState::local(&state).context("starting the LLM proxy")?,
        ),
        cap.clone(),
        config.header_timeout,
        stopped(stop_rx.clone()),
    );
    let receiver = TraceServiceServer::new(ingest::grpc::TraceReceiver {
        state: state.clone(),
    })
    .accept_compressed(CompressionEncoding::Gzip)
    .send_compressed(CompressionEncoding::Gzip)
    .max_decoding_message_size(config.max_body_bytes);
    let logs = LogsServiceServer::new(ingest::logs::LogsReceiver {
        state: state.clone(),
    })
    .accept_compressed(CompressionEncoding::Gzip)
    .send_compressed(CompressionEncoding::Gzip)
    .max_decoding_message_size(config.max_body_bytes);
    let grpc_server = tonic::transport::Server::builder()
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        .layer(ingest::grpc::otlp_status_layer())
        .add_service(receiver)
        .add_service(logs)
        .serve_with_incoming_shutdown(
            connections::grpc_incoming(grpc, cap.clone()),
            stopped(stop_rx),
        );

    on_ready(boot, http_addr, grpc_addr);
    tracing::info!(%http_addr, %grpc_addr, max_connections = cap.max(), "lemma is listening");
    let ((), g) = tokio::join!(http_server, grpc_server);
    g.context("gRPC server")?;
    // Both listeners are closed and every request has had its answer; drop the last queue
    // handle so the writer drains and stops.
    let signals = state.signals.clone();
    drop(state);
    writer.finish().await;
    signals.drain(Duration::from_secs(10)).await;
    flusher.abort();
    redaction.flush().await;
    tracing::info!("lemma stopped cleanly");
    Ok(())
}
