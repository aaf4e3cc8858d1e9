//! POSTs OTLP export requests to `/v1/traces`, as an OTel exporter would. `lemma demo` sends
//! its sample runs with it, and `lemma doctor` its test run.

use std::time::Duration;

use anyhow::{bail, Context};
use lemma_core::otlp::RpcStatus;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{blocking::Client, StatusCode};

use crate::client::Refused;

/// Retries of a request the server asks to retry later (its queue is full).
const RETRIES: u32 = 5;

/// Where requests go, and with which headers.
pub struct Exporter {
    client: Client,
    /// The full URL requests are POSTed to.
    endpoint: String,
    headers: HeaderMap,
    /// What errors name as the server: the base URL given to [`Exporter::new`], or the
    /// endpoint.
    server: String,
}

impl Exporter {
    /// Sends to `<url>/v1/traces` with `Authorization: Bearer <key>`.
    pub fn new(url: &str, key: &str) -> anyhow::Result<Exporter> {
        let url = url.trim_end_matches('/');
        let mut exporter = Exporter::to_endpoint(
            &format!("{url}/v1/traces"),
            &[("authorization".into(), format!("Bearer {key}"))],
            Duration::from_secs(60),
        )?;
        exporter.server = url.to_string();
        Ok(exporter)
    }

    /// Sends to `endpoint` exactly as given, with `headers` (name, value) as an exporter
    /// configured with them would, each request given up after `timeout`.
    pub fn to_endpoint(
        endpoint: &str,
        headers: &[(String, String)],
        timeout: Duration,
    ) -> anyhow::Result<Exporter> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .with_context(|| format!("{name:?} is not a valid HTTP header name"))?;
            let mut value = HeaderValue::from_str(value).with_context(|| {
                format!("the value of header {name} is not a valid header value")
            })?;
            value.set_sensitive(true);
            map.append(name, value);
        }
        Ok(Exporter {
            client: Client::builder().timeout(timeout).build()?,
            endpoint: endpoint.to_string(),
            headers: map,
            server: endpoint.to_string(),
        })
    }

    pub fn export(&self, request: &ExportTraceServiceRequest) -> anyhow::Result<()> {
        let body = request.encode_to_vec();
        let mut attempt = 0;
        loop {
            let resp = self
                .client
                .post(&self.endpoint)
                .headers(self.headers.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/x-protobuf")
                .body(body.clone())
                .send()
                .with_context(|| {
                    format!(
                        "could not reach Lemma at {} (is `lemma serve` running?)",
                        self.server
                    )
                })?;
            let status = resp.status();
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            let bytes = resp.bytes().unwrap_or_default();
            if status.is_success() {
                return check_partial_success(&bytes);
            }
            let retryable = matches!(
                status,
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
            );
            if retryable && attempt < RETRIES {
                attempt += 1;
                std::thread::sleep(Duration::from_secs(retry_after.unwrap_or(1).min(10)));
                continue;
            }
            // OTLP answers a google.rpc.Status; routes that are not OTLP answer the API's JSON.
            let message = RpcStatus::decode(bytes.as_ref())
                .ok()
                .map(|s| s.message)
                .filter(|m| !m.is_empty() && m.chars().all(|c| !c.is_control()))
                .or_else(|| {
                    let json: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
                    Some(json["error"]["message"].as_str()?.to_string())
                })
                .unwrap_or_else(|| "no message".into());
            return Err(Refused { status, message }.into());
        }
    }
}

/// Every sample span is valid, so a rejected one means the server and this command disagree.
fn check_partial_success(body: &[u8]) -> anyhow::Result<()> {
    let response = ExportTraceServiceResponse::decode(body).unwrap_or_default();
    match response.partial_success {
        Some(p) if p.rejected_spans > 0 => bail!(
            "the server rejected {} spans: {}",
            p.rejected_spans,
            p.error_message
        ),
        _ => Ok(()),
    }
}
