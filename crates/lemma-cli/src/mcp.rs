//! `lemma mcp`: the MCP server on stdio, for IDE agents, reading a Lemma server over its API.

use std::sync::Arc;

use anyhow::{bail, Context};
use async_trait::async_trait;
use clap::Args;
use lemma_mcp::{Api, ApiCall, ApiFailure};
use reqwest::header::HeaderMap;
use serde_json::Value;

#[derive(Args)]
pub struct McpArgs {
    /// The Lemma server.
    #[arg(long, env = "LEMMA_URL", default_value = "http://127.0.0.1:4318")]
    pub url: String,
    /// An API key of the project the tools read.
    #[arg(long, env = "LEMMA_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
}

pub fn run(args: McpArgs) -> anyhow::Result<()> {
    let Some(key) = args.api_key.filter(|k| !k.trim().is_empty()) else {
        bail!(
            "no API key: set LEMMA_API_KEY in the MCP server's environment (or pass --api-key); \
             create one with `lemma keys create`"
        );
    };
    let base = reqwest::Url::parse(&args.url)
        .with_context(|| format!("{:?} is not a URL (e.g. http://127.0.0.1:4318)", args.url))?;
    let api = RemoteApi {
        client: reqwest::Client::new(),
        base,
        key,
    };
    // stdout carries the protocol: anything else goes to stderr.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal, never in a log file or a collector.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(lemma_mcp::serve_stdio(Arc::new(api)))
}

/// The REST API of a Lemma server, with one project's key.
struct RemoteApi {
    client: reqwest::Client,
    base: reqwest::Url,
    key: String,
}

#[async_trait]
impl Api for RemoteApi {
    async fn call(&self, call: ApiCall, _caller: Option<&HeaderMap>) -> Result<Value, ApiFailure> {
        // Appended rather than joined, so a server behind a path prefix keeps it.
        let url = format!(
            "{}{}",
            self.base.as_str().trim_end_matches('/'),
            call.path_and_query
        );
        let mut request = self.client.request(call.method, url).bearer_auth(&self.key);
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        let unreachable = |e: reqwest::Error| {
            ApiFailure::Unreachable(format!(
                "could not reach Lemma at {} (is `lemma serve` running, and LEMMA_URL right?): {e}",
                self.base
            ))
        };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| {
            ApiFailure::Unreachable(format!(
                "{} did not answer like a Lemma server ({status}): {e}",
                self.base
            ))
        })?;
        ApiFailure::check(status.as_u16(), body)
    }
}
