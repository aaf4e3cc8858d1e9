//! A real Lemma server in this process, and reads of its REST API.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lemma_server::ServerConfig;
use serde_json::Value;

/// The SDK installs a global tracer provider: tests that export take turns.
pub fn exclusive() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// `lemma_server::serve` on free ports with a fresh data dir, on a runtime of its own;
/// stopped (and waited for) on drop.
pub struct TestServer {
    pub url: String,
    pub key: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub fn start(key: &str) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let config = ServerConfig {
            http_addr: ([127, 0, 0, 1], 0).into(),
            grpc_addr: ([127, 0, 0, 1], 0).into(),
            data_dir: dir.path().join("data"),
            bootstrap_key: Some(key.to_string()),
            ..ServerConfig::default()
        };
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<SocketAddr>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime
                .block_on(lemma_server::serve(
                    config,
                    async move {
                        let _ = stop_rx.await;
                    },
                    move |_, http, _| {
                        let _ = ready_tx.send(http);
                    },
                ))
                .expect("lemma server failed");
        });
        let http = ready_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server did not start");
        TestServer {
            url: format!("http://{http}"),
            key: key.to_string(),
            stop: Some(stop_tx),
            thread: Some(thread),
            _dir: dir,
        }
    }

    /// GET `path` with the server's key: status and JSON body.
    pub fn get(&self, path: &str) -> (u16, Value) {
        let response = reqwest::blocking::Client::new()
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.key)
            .send()
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    }

    /// A new key of the project with `scope` (`ingest`, `read`, `admin`): its secret.
    pub fn create_key(&self, scope: &str) -> String {
        let response = reqwest::blocking::Client::new()
            .post(format!("{}/api/v1/keys", self.url))
            .bearer_auth(&self.key)
            .json(&serde_json::json!({ "scope": scope }))
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 201, "creating a key");
        let body: Value = response.json().unwrap();
        body["secret"].as_str().unwrap().to_string()
    }

    /// `GET /api/v1/runs/{id}` once it answers and `ready` accepts it (ingestion is
    /// committed before the export is acknowledged, so this rarely waits).
    pub fn run_where(&self, run_id: &str, ready: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let (status, body) = self.get(&format!("/api/v1/runs/{run_id}"));
            if status == 200 && ready(&body) {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "run {run_id} not as expected: {status} {body:#}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The run once its root and `spans` spans have arrived.
    pub fn run(&self, run_id: &str, spans: usize) -> Value {
        self.run_where(run_id, |body| {
            body["run"]["has_root"] == true && body["spans"].as_array().map(Vec::len) == Some(spans)
        })
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The span of `body["spans"]` named `name` (the first, in API order).
pub fn span<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no span {name} in {body:#}"))
}

/// The agent span of agent `agent`.
pub fn agent_span<'a>(body: &'a Value, agent: &str) -> &'a Value {
    body["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "ai.agent.run" && s["agent_name"] == agent)
        .unwrap_or_else(|| panic!("no agent span {agent} in {body:#}"))
}

/// The sorted span ids of a run.
pub fn span_ids(body: &Value) -> Vec<String> {
    let mut ids: Vec<String> = body["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["span_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

/// A local address nothing listens on.
pub fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}
