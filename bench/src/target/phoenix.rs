//! Arize Phoenix: `phoenix serve` (SQLite, its default) from the venv `scripts/bench-setup`
//! installs, read back through its REST API (`/v1`) and, where REST has no equivalent, the
//! GraphQL API its UI uses.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};
use async_trait::async_trait;
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use serde::{de::DeserializeOwned, Deserialize};
use serde_json::{json, Value};
use tokio::sync::OnceCell;

use super::{free_port, rfc3339, Server, Target};
use crate::queries::{Answer, Query, PAGE};
use crate::workload::RunInfo;

const PROJECT: &str = "default";

pub struct Phoenix {
    server: Server,
    base: String,
    client: reqwest::Client,
    project_id: OnceCell<String>,
}

impl Phoenix {
    /// Starts `phoenix serve` on free loopback ports with a new working dir (left in place with
    /// `keep_data`).
    pub async fn start(binary: &Path, keep_data: bool) -> Result<Phoenix> {
        let tmp = tempfile::tempdir()?;
        let data_dir = tmp.path().join("phoenix");
        std::fs::create_dir_all(&data_dir)?;
        let (http, grpc) = (free_port()?, free_port()?);
        let log = std::fs::File::create(tmp.path().join("phoenix.log"))?;
        let mut command = Command::new(binary);
        command
            .arg("serve")
            .env("PHOENIX_WORKING_DIR", &data_dir)
            .env("PHOENIX_HOST", "127.0.0.1")
            .env("PHOENIX_PORT", http.to_string())
            .env("PHOENIX_GRPC_PORT", grpc.to_string())
            .env("PHOENIX_TELEMETRY_ENABLED", "false")
            .stderr(Stdio::from(log));
        let (server, _) = Server::spawn(
            command,
            tmp,
            keep_data,
            data_dir,
            |l| l.contains("Phoenix is up and running"),
            Duration::from_secs(180),
        )
        .with_context(|| format!("starting {}", binary.display()))?;
        let phoenix = Phoenix {
            server,
            base: format!("http://127.0.0.1:{http}"),
            client: reqwest::Client::new(),
            project_id: OnceCell::new(),
        };
        phoenix.wait_until_serving().await?;
        Ok(phoenix)
    }

    async fn wait_until_serving(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ok = self
                .client
                .get(format!("{}/v1/projects", self.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("Phoenix does not answer on {}", self.base);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
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
            .query(query)
            .send()
            .await?;
        match resp.status().as_u16() {
            200 => Ok(Some(resp.json().await?)),
            404 => Ok(None),
            s => bail!("GET {path}: {s} {}", resp.text().await.unwrap_or_default()),
        }
    }

    async fn graphql(&self, query: &str, variables: Value) -> Result<Value> {
        let resp = self
            .client
            .post(format!("{}/graphql", self.base))
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await?;
        let status = resp.status();
        let body: Value = resp.json().await?;
        if !status.is_success() || body.get("errors").is_some_and(|e| !e.is_null()) {
            bail!("GraphQL: {status} {}", body["errors"]);
        }
        Ok(body["data"].clone())
    }

    async fn project_id(&self) -> Result<&str> {
        let id = self
            .project_id
            .get_or_try_init(|| async {
                let data = self
                    .graphql(
                        "query($name: String!) { getProjectByName(name: $name) { id } }",
                        json!({"name": PROJECT}),
                    )
                    .await?;
                data["getProjectByName"]["id"]
                    .as_str()
                    .map(str::to_string)
                    .ok_or_else(|| anyhow!("no project {PROJECT}"))
            })
            .await?;
        Ok(id)
    }

    /// Phoenix has no text index: its span filter matches substrings of the stored messages
    /// (what its UI's filter bar does). Spans are paged until `PAGE` distinct traces are found.
    async fn search(&self, word: &str) -> Result<Answer> {
        let mut traces: Vec<String> = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let data = self
                .graphql(
                    "query($name: String!, $filter: String!, $after: String) {
                       getProjectByName(name: $name) {
                         spans(first: 500, after: $after, filterCondition: $filter) {
                           pageInfo { hasNextPage endCursor }
                           edges { node { trace { traceId } } }
                         }
                       }
                     }",
                    json!({"name": PROJECT, "filter": format!("'{word}' in llm.input_messages"), "after": after}),
                )
                .await?;
            let spans = &data["getProjectByName"]["spans"];
            for id in field(&spans["edges"], &["node", "trace", "traceId"]) {
                if !traces.contains(&id) && traces.len() < PAGE {
                    traces.push(id);
                }
            }
            after = spans["pageInfo"]["endCursor"].as_str().map(str::to_string);
            if traces.len() >= PAGE || spans["pageInfo"]["hasNextPage"] != true || after.is_none() {
                return Ok(Answer::Runs(traces));
            }
        }
    }

    async fn traces(&self, mut query: Vec<(&str, String)>) -> Result<Answer> {
        query.push(("limit", PAGE.to_string()));
        let body = self
            .get::<Value>(&format!("/v1/projects/{PROJECT}/traces"), &query)
            .await?
            .ok_or_else(|| anyhow!("no project {PROJECT}"))?;
        Ok(Answer::Runs(field(&body["data"], &["trace_id"])))
    }
}

/// The string at `path` in every item of a list.
fn field(list: &Value, path: &[&str]) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| {
            path.iter()
                .fold(v, |v, k| &v[*k])
                .as_str()
                .map(str::to_string)
        })
        .collect()
}

#[async_trait]
impl Target for Phoenix {
    fn name(&self) -> &'static str {
        "Phoenix"
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
        h
    }

    /// Phoenix answers 200 once a request is queued in memory; a bulk inserter stores it later.
    fn durable_acks(&self) -> bool {
        false
    }

    fn poll_interval(&self) -> Duration {
        Duration::from_millis(200)
    }

    fn server(&self) -> &Server {
        &self.server
    }

    async fn is_visible(&self, run: &RunInfo) -> Result<bool> {
        let query = [("trace_id", run.trace_id.clone()), ("limit", "1000".into())];
        Ok(self
            .get::<Value>(&format!("/v1/projects/{PROJECT}/spans"), &query)
            .await?
            .is_some_and(|body| body["data"].as_array().map(Vec::len) == Some(run.spans)))
    }

    async fn ask(&self, query: &Query) -> Result<Answer> {
        match query {
            Query::Run(run) => {
                let query = [("trace_id", run.trace_id.clone()), ("limit", "1000".into())];
                #[derive(Deserialize)]
                struct Spans {
                    data: Vec<SpanAnswer>,
                }
                #[derive(Deserialize)]
                struct SpanAnswer {
                    context: Context,
                }
                #[derive(Deserialize)]
                struct Context {
                    span_id: String,
                }
                let body: Spans = self
                    .get(&format!("/v1/projects/{PROJECT}/spans"), &query)
                    .await?
                    .ok_or_else(|| anyhow!("no project {PROJECT}"))?;
                Ok(Answer::Spans(
                    body.data.into_iter().map(|s| s.context.span_id).collect(),
                ))
            }
            Query::Newest => self.traces(Vec::new()).await,
            Query::Filtered {
                agent,
                from_unix_nano,
                to_unix_nano,
            } => {
                let filter = format!(
                    "error_count > 0 and any(span.name == 'invoke_agent {agent}' for span in spans)"
                );
                self.traces(vec![
                    ("start_time", rfc3339(*from_unix_nano)),
                    ("end_time", rfc3339(*to_unix_nano)),
                    ("filter", filter),
                ])
                .await
            }
            Query::FullText(word) => self.search(word).await,
            Query::TokensByModel {
                from_unix_nano,
                to_unix_nano,
            } => {
                let project = self.project_id().await?.to_string();
                let range =
                    json!({"start": rfc3339(*from_unix_nano), "end": rfc3339(*to_unix_nano)});
                let data = self
                    .graphql(
                        "query($name: String!, $project: ID!, $range: TimeRange!) {
                           getProjectByName(name: $name) {
                             topModelsByTokenCount(timeRange: $range) {
                               name
                               costSummary(projectId: $project, timeRange: $range) { total { tokens } }
                             }
                           }
                         }",
                        json!({"name": PROJECT, "project": project, "range": range}),
                    )
                    .await?;
                let mut tokens = BTreeMap::new();
                for m in data["getProjectByName"]["topModelsByTokenCount"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    let name = m["name"].as_str().unwrap_or_default().to_string();
                    let total = m["costSummary"]["total"]["tokens"].as_f64().unwrap_or(0.0);
                    *tokens.entry(name).or_insert(0) += total as u64;
                }
                Ok(Answer::Tokens(tokens))
            }
            Query::Thread(thread) => {
                let body = self
                    .get::<Value>(&format!("/v1/sessions/{thread}"), &[])
                    .await?
                    .ok_or_else(|| anyhow!("session {thread} not found"))?;
                Ok(Answer::Runs(field(&body["data"]["traces"], &["trace_id"])))
            }
        }
    }
}
