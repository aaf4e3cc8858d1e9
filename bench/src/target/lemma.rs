//! Lemma: `lemma serve` on loopback, read back through its REST API.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use async_trait::async_trait;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use serde::{de::DeserializeOwned, Deserialize};
use serde_json::Value;

use lemma_store::clickhouse::local::LocalServer;

use super::{rfc3339, Server, Target};
use crate::queries::{Answer, Query, PAGE};
use crate::workload::RunInfo;

const KEY: &str = "lm_bench_0123456789abcdef0123456789abcdef";
const READY: &str = "Lemma is listening: OTLP/HTTP and API on ";

/// Which store the Lemma under test keeps its data in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// The embedded SQLite store.
    #[default]
    Sqlite,
    /// A ClickHouse server started for the run (Debian's, as `scripts/clickhouse-setup`
    /// installs it), sharing the machine with Lemma.
    Clickhouse,
}

pub struct Lemma {
    server: Server,
    base: String,
    client: reqwest::Client,
    /// The ClickHouse server it stores in, if any (stopped after Lemma, on drop).
    clickhouse: Option<LocalServer>,
}

impl Drop for Lemma {
    fn drop(&mut self) {
        // Lemma first (its drop of `server` runs after this body), then ClickHouse.
        if let Some(mut ch) = self.clickhouse.take() {
            self.server.stop();
            ch.stop();
        }
    }
}

impl Lemma {
    /// Starts `binary serve` on a new data dir (left in place with `keep_data`), storing in
    /// `store`.
    pub fn start(binary: &Path, keep_data: bool, store: StoreKind) -> Result<Lemma> {
        Lemma::start_with(binary, keep_data, store, &[])
    }

    /// [`Lemma::start`], with more arguments for `serve`.
    pub fn start_with(
        binary: &Path,
        keep_data: bool,
        store: StoreKind,
        serve_args: &[String],
    ) -> Result<Lemma> {
        let tmp = tempfile::tempdir()?;
        let (data_dir, clickhouse) = match store {
            StoreKind::Sqlite => (tmp.path().join("data"), None),
            StoreKind::Clickhouse => {
                let ch = LocalServer::start(&tmp.path().join("clickhouse"))
                    .context("starting ClickHouse (scripts/clickhouse-setup installs it)")?;
                (ch.dir().to_path_buf(), Some(ch))
            }
        };
        let mut command = Command::new(binary);
        command
            .args([
                "serve",
                "--http-addr",
                "127.0.0.1:0",
                "--grpc-addr",
                "127.0.0.1:0",
            ])
            .arg("--data-dir")
            .arg(&data_dir)
            .args(clickhouse.iter().flat_map(|ch| {
                [
                    "--store".to_string(),
                    format!("clickhouse://127.0.0.1:{}/lemma", ch.http_port),
                ]
            }))
            .args(serve_args)
            .env("LEMMA_BOOTSTRAP_KEY", KEY)
            .env("LEMMA_LOG", "warn");
        let (server, line) = Server::spawn(
            command,
            tmp,
            keep_data,
            data_dir,
            |l| l.starts_with(READY),
            Duration::from_secs(60),
        )
        .with_context(|| format!("starting {}", binary.display()))?;
        let base = line[READY.len()..]
            .split(',')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        Ok(Lemma {
            server,
            base,
            client: reqwest::Client::new(),
            clickhouse,
        })
    }

    /// Where its HTTP listener is, e.g. `http://127.0.0.1:41234`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The API key (admin, project `default`) it was started with.
    pub fn key(&self) -> &'static str {
        KEY
    }

    /// A GET's JSON answer as `T`; `None` on 404. Typed answers skip what `T` does not name
    /// without building it, so a large answer's client-side cost stays small next to the server's.
    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Option<T>> {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(KEY)
            .query(query)
            .send()
            .await?;
        match resp.status().as_u16() {
            200 => Ok(Some(resp.json().await?)),
            404 => Ok(None),
            s => bail!("GET {path}: {s} {}", resp.text().await.unwrap_or_default()),
        }
    }

    /// A GET's status and body, whatever the status.
    pub async fn get_status(&self, path: &str) -> Result<(u16, bytes::Bytes)> {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(KEY)
            .send()
            .await?;
        Ok((resp.status().as_u16(), resp.bytes().await?))
    }

    /// A GET's answer as it came; `None` on 404.
    pub async fn get_bytes(&self, path: &str) -> Result<Option<bytes::Bytes>> {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(KEY)
            .send()
            .await?;
        match resp.status().as_u16() {
            200 => Ok(Some(resp.bytes().await?)),
            404 => Ok(None),
            s => bail!("GET {path}: {s} {}", resp.text().await.unwrap_or_default()),
        }
    }

    async fn runs(&self, q: String) -> Result<Answer> {
        let body = self
            .get::<Value>("/api/v1/runs", &[("q", q), ("limit", PAGE.to_string())])
            .await?
            .ok_or_else(|| anyhow!("no run list"))?;
        Ok(Answer::Runs(ids(&body["runs"], "run_id")))
    }
}

fn ids(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v[field].as_str().map(str::to_string))
        .collect()
}

#[async_trait]
impl Target for Lemma {
    fn name(&self) -> &'static str {
        "Lemma"
    }

    fn store_process(&self) -> Option<u32> {
        self.clickhouse.as_ref().and_then(LocalServer::pid)
    }

    /// On ClickHouse, the bytes of the tables' active parts: the parts a merge replaced stay
    /// on disk for eight minutes (`old_parts_lifetime`) and then go, so right after loading
    /// the data dir holds several times what the store keeps.
    async fn stored_bytes(&self) -> Result<u64> {
        let Some(ch) = &self.clickhouse else {
            return Ok(super::disk_bytes(self.server.data_dir()));
        };
        let answer = self
            .client
            .post(ch.http_url())
            .body("SELECT sum(bytes_on_disk) FROM system.parts WHERE database = 'lemma' AND active")
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        answer
            .trim()
            .parse()
            .with_context(|| format!("ClickHouse answered {answer:?} for the bytes stored"))
    }

    fn otlp_url(&self) -> String {
        format!("{}/v1/traces", self.base)
    }

    fn otlp_headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-protobuf"),
        );
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {KEY}")).expect("ascii"),
        );
        h
    }

    fn durable_acks(&self) -> bool {
        true
    }

    fn poll_interval(&self) -> Duration {
        Duration::from_millis(2)
    }

    fn server(&self) -> &Server {
        &self.server
    }

    /// The run is listed with its root and all its spans (a lookup by key, so probing does not
    /// load the server).
    async fn is_visible(&self, run: &RunInfo) -> Result<bool> {
        let query = [
            ("q", format!("run:{}", run.trace_id)),
            ("limit", "1".into()),
        ];
        let body = self
            .get::<Value>("/api/v1/runs", &query)
            .await?
            .ok_or_else(|| anyhow!("no run list"))?;
        let listed = &body["runs"][0];
        Ok(listed["has_root"] == true && listed["span_count"].as_u64() == Some(run.spans as u64))
    }

    async fn ask(&self, query: &Query) -> Result<Answer> {
        match query {
            Query::Run(run) => {
                #[derive(Deserialize)]
                struct RunAnswer {
                    spans: Vec<SpanId>,
                }
                #[derive(Deserialize)]
                struct SpanId {
                    span_id: String,
                }
                let body: RunAnswer = self
                    .get(&format!("/api/v1/runs/{}", run.trace_id), &[])
                    .await?
                    .ok_or_else(|| anyhow!("run {} not found", run.trace_id))?;
                Ok(Answer::Spans(
                    body.spans.into_iter().map(|s| s.span_id).collect(),
                ))
            }
            Query::Newest => self.runs(String::new()).await,
            Query::Filtered {
                agent,
                from_unix_nano,
                to_unix_nano,
            } => {
                let q = format!(
                    "agent:{agent} status:error since:{} until:{}",
                    rfc3339(*from_unix_nano),
                    rfc3339(*to_unix_nano)
                );
                self.runs(q).await
            }
            Query::FullText(word) => self.runs(word.to_string()).await,
            Query::TokensByModel {
                from_unix_nano,
                to_unix_nano,
            } => {
                let range = [
                    ("from", rfc3339(*from_unix_nano)),
                    ("to", rfc3339(*to_unix_nano)),
                ];
                let body = self
                    .get::<Value>("/api/v1/stats", &range)
                    .await?
                    .ok_or_else(|| anyhow!("no stats"))?;
                let mut tokens = BTreeMap::new();
                for m in body["by_model"].as_array().into_iter().flatten() {
                    let model = m["model"].as_str().unwrap_or_default().to_string();
                    *tokens.entry(model).or_insert(0) += m["total_tokens"].as_u64().unwrap_or(0);
                }
                Ok(Answer::Tokens(tokens))
            }
            Query::Thread(thread) => {
                let body = self
                    .get::<Value>(&format!("/api/v1/threads/{thread}"), &[])
                    .await?
                    .ok_or_else(|| anyhow!("thread {thread} not found"))?;
                Ok(Answer::Runs(ids(&body["runs"], "run_id")))
            }
        }
    }
}
