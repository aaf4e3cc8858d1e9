//! One call relayed: the request to the configured upstream, the answer back to the client as
//! it comes (a stream chunk by chunk, with nothing buffered), and the call recorded when it
//! ends: when the answer is complete, when the upstream fails, or when the client goes away.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_core::Stream;
use lemma_core::llm_call::stream::Assembler;
use lemma_core::llm_call::Call;
use serde_json::Value;

use super::record::Recording;

/// The largest unstreamed answer read (and recorded); a larger one fails the call.
const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// Request headers that stay here: the connection's own, Lemma's, and the ones the proxy
/// sets itself. `accept-encoding` is dropped so answers come uncompressed and can be read.
const NOT_FORWARDED: &[&str] = &[
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
    "accept-encoding",
    "cookie",
    "x-lemma-key",
    "x-lemma-thread",
    "x-lemma-user",
];

/// Answer headers that describe the upstream connection, not the answer.
const NOT_RETURNED: &[&str] = &[
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "content-encoding",
    "trailer",
    "upgrade",
];

fn forwarded(headers: &HeaderMap) -> reqwest::header::HeaderMap {
    let mut out = reqwest::header::HeaderMap::new();
    for (name, value) in headers {
        if !NOT_FORWARDED.contains(&name.as_str()) {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

fn returned(headers: &reqwest::header::HeaderMap, into: &mut HeaderMap) {
    for (name, value) in headers {
        if !NOT_RETURNED.contains(&name.as_str()) {
            into.append(name.clone(), value.clone());
        }
    }
}

/// An error answered by the proxy itself, shaped like the providers' own
/// (`{"error": {"message", "type"}}`) so their SDKs show the message.
#[derive(Debug)]
pub struct ProxyError {
    pub status: StatusCode,
    pub message: String,
}

pub fn proxy_error(status: StatusCode, message: impl Into<String>) -> ProxyError {
    ProxyError {
        status,
        message: message.into(),
    }
}

impl IntoResponse for ProxyError {
    fn into_response(self) -> Response {
        let body =
            serde_json::json!({"error": {"message": self.message, "type": "lemma_proxy_error"}});
        (self.status, axum::Json(body)).into_response()
    }
}

/// Sends the call upstream and answers the client; `recording` is finished when the call ends.
pub async fn relay(
    client: &reqwest::Client,
    url: String,
    headers: &HeaderMap,
    body: Bytes,
    timeout: std::time::Duration,
    recording: Recording,
) -> Response {
    let request_json: Option<Value> = serde_json::from_slice(&body).ok();
    let mut call = Call {
        request: request_json,
        ..Call::default()
    };
    // Finishes the recording if the client goes away while the upstream is still answering.
    let mut pending = Pending(Some((recording, call.clone())));
    let sent = client
        .post(&url)
        .headers(forwarded(headers))
        .body(body)
        .send();
    let answer = match tokio::time::timeout(timeout, sent).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => {
            let why = format!("the provider at {url} could not be reached: {e}");
            call.failure = Some(why.clone());
            pending.finish(call);
            return proxy_error(StatusCode::BAD_GATEWAY, why).into_response();
        }
        Err(_) => {
            let why = format!("the provider did not answer within {} s", timeout.as_secs());
            call.failure = Some(why.clone());
            pending.finish(call);
            return proxy_error(StatusCode::GATEWAY_TIMEOUT, why).into_response();
        }
    };
    let status = answer.status();
    call.status = Some(status.as_u16());
    let mut response_headers = HeaderMap::new();
    returned(answer.headers(), &mut response_headers);
    let streamed = answer
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/event-stream"));
    let (recording, _) = pending.0.take().expect("taken once");
    let started = Instant::now();
    if streamed {
        call.streamed = true;
        let relayed = Relayed {
            upstream: Box::pin(answer.bytes_stream()),
            assembler: Some(Assembler::new(recording.api)),
            call: Some(call),
            recording: Some(recording),
            started,
            timeout,
            sleep: None,
        };
        let mut response = Response::new(Body::from_stream(relayed));
        *response.status_mut() = status;
        *response.headers_mut() = response_headers;
        // No buffering by a proxy in front either.
        response.headers_mut().insert(
            HeaderName::from_static("x-accel-buffering"),
            HeaderValue::from_static("no"),
        );
        return response;
    }
    let mut pending = Pending(Some((recording, call.clone())));
    let read = read_limited(answer, MAX_ANSWER_BYTES);
    match tokio::time::timeout(timeout, read).await {
        Ok(Ok(bytes)) => {
            call.response = serde_json::from_slice(&bytes).ok();
            pending.finish(call);
            let mut response = Response::new(Body::from(bytes));
            *response.status_mut() = status;
            *response.headers_mut() = response_headers;
            response
        }
        Ok(Err(why)) => {
            let why = why.to_string();
            call.failure = Some(why.clone());
            pending.finish(call);
            proxy_error(StatusCode::BAD_GATEWAY, why).into_response()
        }
        Err(_) => {
            let why = ReadError::TimedOut.to_string();
            call.failure = Some(why.clone());
            pending.finish(call);
            proxy_error(StatusCode::GATEWAY_TIMEOUT, why).into_response()
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error("the provider's answer broke off: {0}")]
    Broken(String),
    #[error("the provider's answer is larger than {} MiB", MAX_ANSWER_BYTES >> 20)]
    TooLarge,
    #[error("the provider's answer did not finish in time")]
    TimedOut,
}

async fn read_limited(mut answer: reqwest::Response, limit: usize) -> Result<Bytes, ReadError> {
    let mut body = Vec::new();
    while let Some(chunk) = answer
        .chunk()
        .await
        .map_err(|e| ReadError::Broken(e.to_string()))?
    {
        if body.len() + chunk.len() > limit {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.into())
}

/// A recording not yet finished: dropped with the request (the client went away), it records
/// the call as cut short.
struct Pending(Option<(Recording, Call)>);

impl Pending {
    fn finish(&mut self, call: Call) {
        if let Some((recording, _)) = self.0.take() {
            recording.finish(call);
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some((recording, mut call)) = self.0.take() {
            call.failure = Some("the client disconnected before the provider answered".into());
            recording.finish(call);
        }
    }
}

type Upstream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// The upstream's stream, passed on chunk by chunk as it arrives, and added up on the way.
struct Relayed {
    upstream: Upstream,
    assembler: Option<Assembler>,
    call: Option<Call>,
    recording: Option<Recording>,
    started: Instant,
    /// The longest pause allowed between two chunks.
    timeout: std::time::Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Relayed {
    fn end(&mut self, failure: Option<String>) {
        let (Some(recording), Some(mut call)) = (self.recording.take(), self.call.take()) else {
            return;
        };
        call.response = self.assembler.take().and_then(Assembler::finish);
        call.failure = failure;
        recording.finish(call);
    }
}

impl Stream for Relayed {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        match this.upstream.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                this.sleep = None;
                if let (Some(assembler), Some(call)) = (this.assembler.as_mut(), this.call.as_mut())
                {
                    let before = assembler.content_seen();
                    assembler.feed(&chunk);
                    if !before && assembler.content_seen() {
                        call.time_to_first_chunk = Some(this.started.elapsed().as_secs_f64());
                    }
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => {
                let why = format!("the provider's stream broke off: {e}");
                this.end(Some(why.clone()));
                Poll::Ready(Some(Err(std::io::Error::other(why))))
            }
            Poll::Ready(None) => {
                let cut_short = this.assembler.as_ref().is_some_and(|a| !a.complete());
                this.end(cut_short.then(|| {
                    "the provider's stream ended before its answer was complete".to_string()
                }));
                Poll::Ready(None)
            }
            Poll::Pending => {
                let timeout = this.timeout;
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                if sleep.as_mut().poll(cx).is_ready() {
                    let why = format!(
                        "the provider's stream paused for over {} s",
                        timeout.as_secs()
                    );
                    this.end(Some(why.clone()));
                    return Poll::Ready(Some(Err(std::io::Error::other(why))));
                }
                Poll::Pending
            }
        }
    }
}

impl Drop for Relayed {
    fn drop(&mut self) {
        // Still open: the client went away mid-stream. What arrived so far is recorded.
        self.end(Some(
            "the client disconnected before the stream ended".into(),
        ));
    }
}
