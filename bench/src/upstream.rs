//! A model server that answers at once, for measuring what the LLM proxy adds: an
//! OpenAI-compatible `POST /v1/chat/completions` on loopback, in the benchmark's own process.
//!
//! Unstreamed calls get the same small completion every time ([`completion`]). Streamed ones
//! (`"stream": true`) get server-sent events, each chunk written after a fixed pause and
//! carrying the time it was made (`"t"`, nanoseconds on [`clock_ns`]), then `data: [DONE]`; a
//! client in the same process reads the clock when a chunk arrives and so knows how long it
//! was under way. The proxy passes chunks on unchanged. Requests may set the number of chunks
//! and the pause with the [`CHUNKS_HEADER`] and [`GAP_HEADER`] headers, and have an unstreamed
//! answer take a while, as a model's does, with [`HOLD_HEADER`]; the proxy forwards them like any
//! other header. How long an answer was held back is in its [`HELD_HEADER`], which the proxy
//! passes back, so a client can tell the model's time from the rest.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::Result;
use axum::body::Body;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::serve::ListenerExt as _;
use axum::Router;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;

/// Microseconds to hold an unstreamed answer back (a request header; none by default).
pub const HOLD_HEADER: &str = "x-bench-hold-us";
/// Microseconds it was held back, as measured (an answer header).
pub const HELD_HEADER: &str = "x-bench-held-us";
/// Chunks per streamed answer (a request header; default [`DEFAULT_CHUNKS`]).
pub const CHUNKS_HEADER: &str = "x-bench-chunks";
/// Milliseconds before each chunk (a request header; default [`DEFAULT_GAP_MS`]).
pub const GAP_HEADER: &str = "x-bench-gap-ms";
pub const DEFAULT_CHUNKS: usize = 20;
pub const DEFAULT_GAP_MS: u64 = 20;

const MODEL: &str = "gpt-4o-mini";
const CREATED: u64 = 1_700_000_000;

/// Nanoseconds since the first call in this process, on the monotonic clock: the time base of
/// the chunks' `"t"`.
pub fn clock_ns() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// The answer to every unstreamed call.
pub fn completion() -> &'static Bytes {
    static BODY: OnceLock<Bytes> = OnceLock::new();
    BODY.get_or_init(|| {
        let body = json!({
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": CREATED,
            "model": MODEL,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": "The customer was charged twice for one order and wants a refund."},
                "finish_reason": "stop",
            }],
            "usage": {"prompt_tokens": 58, "completion_tokens": 14, "total_tokens": 72},
        });
        Bytes::from(body.to_string())
    })
}

/// A chat request as a client sends it; `stream` asks for server-sent events.
pub fn request_body(stream: bool) -> Bytes {
    let mut body = json!({
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "You are a support assistant. Answer in one sentence."},
            {"role": "user", "content": "Summarise this ticket: I ordered a desk lamp last Tuesday (order 48213) and my card was charged twice. Please refund the second charge."},
        ],
        "temperature": 0.2,
    });
    if stream {
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
    }
    Bytes::from(body.to_string())
}

/// Chunk `i` of `n`, made now: `data: {...}\n\n`. The first carries the role, the last the
/// finish reason and the token counts.
fn chunk(i: usize, n: usize) -> Bytes {
    let last = i + 1 == n;
    let mut delta = json!({"content": format!("word{i} ")});
    if i == 0 {
        delta["role"] = json!("assistant");
    }
    let mut chunk = json!({
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": MODEL,
        "t": clock_ns(),
        "choices": [{"index": 0, "delta": delta, "finish_reason": if last { json!("stop") } else { json!(null) }}],
    });
    if last {
        chunk["usage"] =
            json!({"prompt_tokens": 58, "completion_tokens": n, "total_tokens": 58 + n});
    }
    Bytes::from(format!("data: {chunk}\n\n"))
}

/// When a chunk was made: its `"t"`.
pub fn sent_at(event: &[u8]) -> Option<u64> {
    const KEY: &[u8] = b"\"t\":";
    let at = event.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let digits = &event[at..];
    let end = digits
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    std::str::from_utf8(&digits[..end]).ok()?.parse().ok()
}

#[derive(Deserialize, Default)]
struct ChatRequest {
    #[serde(default)]
    stream: bool,
}

fn header_number<T: std::str::FromStr>(headers: &HeaderMap, name: &str) -> Option<T> {
    headers.get(name)?.to_str().ok()?.parse().ok()
}

async fn chat(headers: HeaderMap, body: Bytes) -> Response {
    let request: ChatRequest = serde_json::from_slice(&body).unwrap_or_default();
    if !request.stream {
        let mut held = Duration::ZERO;
        if let Some(hold) = header_number(&headers, HOLD_HEADER).filter(|&us: &u64| us > 0) {
            let start = Instant::now();
            tokio::time::sleep(Duration::from_micros(hold)).await;
            held = start.elapsed();
        }
        return (
            [
                (header::CONTENT_TYPE, "application/json".to_string()),
                (
                    header::HeaderName::from_static(HELD_HEADER),
                    held.as_micros().to_string(),
                ),
            ],
            completion().clone(),
        )
            .into_response();
    }
    let n: usize = header_number(&headers, CHUNKS_HEADER).unwrap_or(DEFAULT_CHUNKS);
    let gap = Duration::from_millis(header_number(&headers, GAP_HEADER).unwrap_or(DEFAULT_GAP_MS));
    let events = futures_util::stream::unfold(0, move |i| async move {
        match i {
            i if i < n => {
                tokio::time::sleep(gap).await;
                Some((Ok::<_, Infallible>(chunk(i, n)), i + 1))
            }
            i if i == n => Some((Ok(Bytes::from_static(b"data: [DONE]\n\n")), i + 1)),
            _ => None,
        }
    });
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(events),
    )
        .into_response()
}

/// The model server, serving until the process ends.
pub struct Upstream {
    pub addr: SocketAddr,
}

impl Upstream {
    /// Starts it on a free loopback port.
    pub async fn start() -> Result<Upstream> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let app = Router::new().route("/v1/chat/completions", post(chat));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Upstream { addr })
    }

    /// The base URL an OpenAI client is given (with `/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_says_when_it_was_made() {
        let before = clock_ns();
        let c = chunk(0, 3);
        let t = sent_at(&c).unwrap();
        assert!(t >= before && t <= clock_ns());
        assert!(c.starts_with(b"data: {") && c.ends_with(b"}\n\n"));
        let json: serde_json::Value = serde_json::from_slice(&c[6..]).unwrap();
        assert_eq!(json["choices"][0]["delta"]["role"], "assistant");
        let last: serde_json::Value = serde_json::from_slice(&chunk(2, 3)[6..]).unwrap();
        assert_eq!(last["choices"][0]["finish_reason"], "stop");
        assert_eq!(last["usage"]["completion_tokens"], 3);
    }

    #[test]
    fn sent_at_reads_the_number_only() {
        assert_eq!(sent_at(b"data: {\"t\":12345,\"x\":1}"), Some(12345));
        assert_eq!(sent_at(b"data: {\"x\":1,\"t\":7}"), Some(7));
        assert_eq!(sent_at(b"data: [DONE]"), None);
        assert_eq!(sent_at(b"data: {\"t\":\"soon\"}"), None);
    }

    #[test]
    fn requests_and_the_completion_are_json() {
        let c: serde_json::Value = serde_json::from_slice(completion()).unwrap();
        assert_eq!(c["usage"]["total_tokens"], 72);
        let r: serde_json::Value = serde_json::from_slice(&request_body(true)).unwrap();
        assert_eq!(r["stream"], true);
        let r: ChatRequest = serde_json::from_slice(&request_body(false)).unwrap();
        assert!(!r.stream);
    }
}
