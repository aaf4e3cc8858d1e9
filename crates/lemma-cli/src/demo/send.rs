//! POSTs OTLP export requests to `/v1/traces`, as an OTel exporter would.

use std::time::Duration;

use anyhow::{bail, Context};
use lemma_core::otlp::RpcStatus;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use reqwest::{blocking::Client, StatusCode};

/// Retries of a request the server asks to retry later (its queue is full).
const RETRIES: u32 = 5;

/// Where requests go, and with which key.
pub struct Exporter {
    client: Client,
    url: String,
    key: String,
}

impl Exporter {
    pub fn new(url: &str, key: &str) -> anyhow::Result<Exporter> {
        Ok(Exporter {
            client: Client::builder().timeout(Duration::from_secs(60)).build()?,
            url: url.trim_end_matches('/').to_string(),
            key: key.to_string(),
        })
    }

    pub fn export(&self, request: &ExportTraceServiceRequest) -> anyhow::Result<()> {
        let body = request.encode_to_vec();
        let mut attempt = 0;
        loop {
            let resp = self
                .client
                .post(format!("{}/v1/traces", self.url))
                .bearer_auth(&self.key)
                .header(reqwest::header::CONTENT_TYPE, "application/x-protobuf")
                .body(body.clone())
                .send()
                .with_context(|| {
                    format!(
                        "could not reach Lemma at {} (is `lemma serve` running?)",
                        self.url
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
            let message = RpcStatus::decode(bytes.as_ref())
                .ok()
                .map(|s| s.message)
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "no message".into());
            bail!("{message} ({status})");
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
