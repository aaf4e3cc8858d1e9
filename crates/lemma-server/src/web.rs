//! The dashboard: static files from `web/`, embedded into the binary at build time (read from
//! disk in debug builds, so editing them needs no rebuild).
//!
//! Every dashboard page answers with the same `index.html`; the page's own router reads the
//! path. The data itself comes from `/api/v1` with the key the user signed in with, so nothing
//! served here is project data and none of it needs authentication.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rust_embed::RustEmbed;

use crate::error::ApiError;
use crate::server::AppState;

#[derive(RustEmbed)]
#[folder = "../../web/"]
struct Assets;

/// Scripts, styles and images only from this server, no inline script, no framing: span
/// content is hostile, and if any ever reached the page as markup it still could not run.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// Paths the dashboard's router owns; any other page a browser asks for is its "not found"
/// view with a 404 status (`page_not_found`).
const PAGES: &[&str] = &[
    "/",
    "/runs",
    "/runs/{run_id}",
    "/threads",
    "/threads/{thread_id}",
    "/stats",
    "/alerts",
    "/experiments",
    "/datasets/{name}",
    "/compare",
    "/health",
    "/welcome",
    "/settings",
    "/signin",
];

pub fn routes() -> Router<AppState> {
    let mut router = Router::new()
        .route("/assets/{*path}", get(asset))
        .route("/favicon.ico", get(favicon));
    for page in PAGES {
        router = router.route(page, get(index));
    }
    router
}

async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

async fn favicon(headers: HeaderMap) -> Response {
    serve("favicon.svg", &headers)
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    // index.html is a page, not an asset: keep its security headers on one URL shape.
    if path == "index.html" {
        return not_found(&path);
    }
    serve(&path, &headers)
}

fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some(file) = Assets::get(path) else {
        return not_found(path);
    };
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16]));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));

    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        file.data.into_owned().into_response()
    };
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime(path)));
    // Revalidate every time (cheap with the ETag) so an upgraded binary never mixes old and
    // new modules in one page.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if path.ends_with(".html") {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    response
}

/// Prefixes that belong to the API, OTLP, MCP or the dashboard's files: an unknown path under
/// them is a JSON error whoever asks.
const NOT_PAGES: &[&str] = &["/api/", "/v1/", "/mcp", "/assets/", "/healthz"];

/// An unknown path a browser navigates to (`GET`, `Accept: text/html`, not under the API) gets
/// the dashboard with a 404 status: its router shows the "not found" view with the frame around
/// it. Anything else is `None`, for the API's JSON 404.
pub fn page_not_found(method: &Method, path: &str, headers: &HeaderMap) -> Option<Response> {
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    if NOT_PAGES
        .iter()
        .any(|p| path.starts_with(p) || path == p.trim_end_matches('/'))
    {
        return None;
    }
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if !wants_html {
        return None;
    }
    let mut response = serve("index.html", &HeaderMap::new());
    *response.status_mut() = StatusCode::NOT_FOUND;
    Some(response)
}

fn not_found(path: &str) -> Response {
    ApiError::not_found(format!("no dashboard file {path:?}")).into_response()
}

fn mime(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "json" => "application/json",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_and_module_is_embedded() {
        assert!(Assets::get("index.html").is_some());
        assert!(Assets::get("favicon.svg").is_some());
        assert!(Assets::iter().any(|p| p.ends_with(".js")));
    }

    #[test]
    fn modules_are_served_as_javascript() {
        assert_eq!(mime("js/app.js"), "text/javascript; charset=utf-8");
        assert_eq!(mime("css/base.css"), "text/css; charset=utf-8");
        assert_eq!(mime("weird"), "application/octet-stream");
    }
}
