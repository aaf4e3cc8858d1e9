//! Test harness: a real `lemma serve` process on free ports with a temporary data dir, the
//! recorded fixtures, and the comparison of API answers with `expected/*.json`.
#![allow(dead_code)]

pub mod access;
pub mod compare;
pub mod expected;
pub mod fixtures;
pub mod otlp;
pub mod programs;
pub mod receiver;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

pub const KEY: &str = "conformance-token";

pub fn lemma_bin() -> &'static str {
    env!("CARGO_BIN_EXE_lemma")
}

/// `lemma serve` on free loopback ports and `data_dir`, with `LEMMA_BOOTSTRAP_KEY` set to `key`
/// (or unset), and `args`.
pub fn serve_command(data_dir: &Path, key: Option<&str>, args: &[&str]) -> Command {
    serve_command_at(data_dir, key, "127.0.0.1:0", args)
}

/// `serve_command` with OTLP/HTTP and the API on `http_addr`.
pub fn serve_command_at(
    data_dir: &Path,
    key: Option<&str>,
    http_addr: &str,
    args: &[&str],
) -> Command {
    let mut command = Command::new(lemma_bin());
    command
        .args([
            "serve",
            "--http-addr",
            http_addr,
            "--grpc-addr",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(data_dir)
        .args(args)
        .env_remove("LEMMA_BOOTSTRAP_KEY")
        .env("LEMMA_LOG", "warn");
    if let Some(key) = key {
        command.env("LEMMA_BOOTSTRAP_KEY", key);
    }
    command
}

/// A running server. Stopped (SIGTERM, then waited for) on drop.
pub struct Server {
    child: Option<Child>,
    pub http: String,
    pub grpc: String,
    pub data_dir: PathBuf,
    /// What it printed before saying it is listening (the bootstrap key, on a first start).
    pub banner: Vec<String>,
    _tmp: Option<tempfile::TempDir>,
}

impl Server {
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    pub fn start_with(args: &[&str]) -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let mut s = Server::start_in(&dir, args);
        s._tmp = Some(tmp);
        s
    }

    /// Starts on an existing (or new) data dir, which the caller owns.
    pub fn start_in(data_dir: &Path, args: &[&str]) -> Server {
        Server::start_with_key(data_dir, Some(KEY), args)
    }

    /// Starts with `LEMMA_BOOTSTRAP_KEY` set to `key`, or unset.
    pub fn start_with_key(data_dir: &Path, key: Option<&str>, args: &[&str]) -> Server {
        Server::spawn(serve_command(data_dir, key, args), data_dir)
    }

    /// Starts on `data_dir` with OTLP/HTTP and the API on `http_addr` (to come back on the
    /// same address after a stop).
    pub fn start_at(data_dir: &Path, http_addr: &str, args: &[&str]) -> Server {
        Server::spawn(
            serve_command_at(data_dir, Some(KEY), http_addr, args),
            data_dir,
        )
    }

    /// Runs `command` (a `lemma serve`) and waits until it says it is listening.
    fn spawn(mut command: Command, data_dir: &Path) -> Server {
        command.stdout(Stdio::piped()).stderr(Stdio::inherit());
        let mut child = command.spawn().expect("starting lemma serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut banner = Vec::new();
        loop {
            let wait = deadline.saturating_duration_since(std::time::Instant::now());
            let Ok(line) = rx.recv_timeout(wait) else {
                let _ = child.kill();
                let _ = child.wait();
                panic!("lemma serve did not report that it is listening; it printed {banner:?}");
            };
            if let Some(rest) = line.strip_prefix("Lemma is listening: OTLP/HTTP and API on ") {
                let http = rest.split(',').next().unwrap().to_string();
                let grpc = rest
                    .split("OTLP/gRPC on ")
                    .nth(1)
                    .unwrap()
                    .split(',')
                    .next()
                    .unwrap()
                    .to_string();
                return Server {
                    child: Some(child),
                    http,
                    grpc: format!("http://{grpc}"),
                    data_dir: data_dir.to_path_buf(),
                    banner,
                    _tmp: None,
                };
            }
            banner.push(line);
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// SIGTERM and wait; returns whether the process exited successfully.
    pub fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return true;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status.success();
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("lemma serve did not stop within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.http, path)
    }

    /// GET with the bootstrap key; returns status and JSON body.
    pub fn get(&self, path: &str) -> (u16, Value) {
        self.get_with(path, KEY)
    }

    pub fn get_with(&self, path: &str, key: &str) -> (u16, Value) {
        let resp = client()
            .get(self.url(path))
            .bearer_auth(key)
            .send()
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().unwrap_or(Value::Null))
    }

    pub fn api(&self, path: &str) -> Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// Evaluates every run's signals now. They are evaluated a moment after spans commit, so
    /// a test comparing two servers' runs settles both first.
    pub fn settle_signals(&self) {
        for r in self.all_runs("") {
            self.api(&format!(
                "/api/v1/runs/{}/signals",
                r["run_id"].as_str().unwrap()
            ));
        }
    }

    /// Every run, following cursors.
    pub fn all_runs(&self, q: &str) -> Vec<Value> {
        self.all_runs_with(&[("q", q), ("limit", "100")])
    }

    /// Every run of `/api/v1/runs` with these parameters, following cursors.
    pub fn all_runs_with(&self, params: &[(&str, &str)]) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor = String::new();
        loop {
            let resp = client()
                .get(self.url("/api/v1/runs"))
                .bearer_auth(KEY)
                .query(params)
                .query(&[("cursor", &cursor)])
                .send()
                .unwrap();
            assert_eq!(resp.status(), 200);
            let body: Value = resp.json().unwrap();
            out.extend(body["runs"].as_array().unwrap().iter().cloned());
            match body["next_cursor"].as_str() {
                Some(c) => cursor = c.to_string(),
                None => return out,
            }
        }
    }

    /// `cli` with `input` on the command's standard input (a password for
    /// `--password-stdin`).
    pub fn cli_with_input(&self, args: &[&str], input: &str) -> (bool, String, String) {
        use std::io::Write;
        let mut child = Command::new(lemma_bin())
            .args(args)
            .env("LEMMA_URL", &self.http)
            .env("LEMMA_API_KEY", KEY)
            .env("LEMMA_DATA_DIR", &self.data_dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        // A command that exits without reading: its status says why.
        let _ = stdin.write_all(input.as_bytes());
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs a `lemma` subcommand against this server's data dir or URL; returns stdout.
    pub fn cli(&self, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(lemma_bin())
            .args(args)
            .env("LEMMA_URL", &self.http)
            .env("LEMMA_API_KEY", KEY)
            .env("LEMMA_DATA_DIR", &self.data_dir)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A JSON-RPC call to the server's MCP endpoint with the bootstrap key; the tool's text answer.
pub fn mcp_tool(server: &Server, tool: &str, arguments: serde_json::Value) -> String {
    let resp = client()
        .post(server.url("/mcp"))
        .bearer_auth(KEY)
        .header("accept", "application/json, text/event-stream")
        .json(
            &serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                  "params": {"name": tool, "arguments": arguments}}),
        )
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().unwrap();
    assert_eq!(body["result"]["isError"], false, "{body}");
    body["result"]["content"][0]["text"]
        .as_str()
        .unwrap()
        .to_string()
}

pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// A key printed by `lemma keys create`.
pub fn key_from_output(stdout: &str) -> String {
    stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("lm_"))
        .expect("a key in the output")
        .to_string()
}

/// A process's resident memory in KiB, from /proc.
pub fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// A loopback address nothing listens on (a port the system had free a moment ago).
pub fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}
