//! Lemma over the Model Context Protocol: tools an IDE agent calls to search runs, read one as
//! a transcript or a span tree, read a span, follow threads, see stats and recurring errors,
//! and record metric events.
//!
//! The tools talk to Lemma's REST API through [`Api`], so the same server runs as `lemma mcp`
//! (stdio; the API over the network with the user's key) and at `/mcp` on `lemma serve`
//! (Streamable HTTP; the API in-process with the caller's own key).

mod api;
mod params;
mod render;
mod server;

use std::sync::Arc;

use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::ServiceExt;

pub use api::{Api, ApiCall, ApiFailure};
pub use server::LemmaMcp;

/// Serves MCP on stdin/stdout until the client disconnects.
pub async fn serve_stdio(api: Arc<dyn Api>) -> anyhow::Result<()> {
    let running = LemmaMcp::new(api).serve(rmcp::transport::stdio()).await?;
    running.waiting().await?;
    Ok(())
}

/// The Streamable HTTP endpoint, as a tower service to mount on a router.
///
/// It is stateless (no session survives a request), so any server behind a load balancer can
/// answer any request. Host checks are off: every request must carry a project's API key, which
/// a page rebinding DNS to the server cannot know.
pub fn http_service(api: Arc<dyn Api>) -> StreamableHttpService<LemmaMcp, LocalSessionManager> {
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .disable_allowed_hosts();
    StreamableHttpService::new(
        move || Ok(LemmaMcp::new(api.clone())),
        Arc::new(LocalSessionManager::default()),
        config,
    )
}
