//! The Python SDK (`sdk/python`) against real servers.
//!
//! Starts a `lemma serve`, a second one (the other end of dual export) and the fake LLM
//! (`tests/compat/fake_llm.py`), then runs the SDK's pytest suite (`sdk/python/tests`: its unit
//! tests, and end-to-end tests that run scenario programs and check what they recorded through
//! the REST API). Fails with pytest's output if any test fails.
//!
//! The SDK and its test dependencies are installed by `scripts/sdk-python-setup`; without it this
//! test fails, saying so.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Server;

/// How long the whole pytest run may take.
const PYTEST_TIMEOUT: Duration = Duration::from_secs(600);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn venv_python() -> PathBuf {
    repo_root().join(".cache/sdk/python-venv/bin/python")
}

/// Fails the test, saying what to run, unless `scripts/sdk-python-setup` has installed the SDK
/// and its test dependencies at the pinned versions.
fn require_setup() {
    let out = Command::new("bash")
        .arg(repo_root().join("scripts/sdk-python-setup"))
        .arg("--check")
        .output()
        .expect("running scripts/sdk-python-setup --check");
    if !out.status.success() {
        panic!(
            "the Python SDK's tests need its venv: run scripts/sdk-python-setup (then run the \
             tests again).\n{}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
}

/// The fake OpenAI API, stopped on drop.
struct FakeLlm {
    child: Child,
    /// e.g. `http://127.0.0.1:41234/v1`, for `OPENAI_BASE_URL`.
    base_url: String,
}

impl FakeLlm {
    fn start() -> FakeLlm {
        let mut child = Command::new("python3")
            .arg(repo_root().join("tests/compat/fake_llm.py"))
            .args(["--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting tests/compat/fake_llm.py with python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(url) = line.trim().strip_prefix("fake LLM listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("fake_llm.py did not say where it listens; it printed {line:?}");
        };
        FakeLlm {
            base_url: format!("{url}/v1"),
            child,
        }
    }
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn drain(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = r.read_to_string(&mut s);
        s
    })
}

#[test]
fn python_sdk_unit_and_end_to_end_tests() {
    require_setup();
    let server = Server::start();
    let second = Server::start();
    let llm = FakeLlm::start();

    let mut command = Command::new(venv_python());
    command
        .args(["-m", "pytest", "sdk/python/tests", "-v", "-rap"])
        .current_dir(repo_root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Nothing from the caller's shell may redirect the SDK or the libraries it drives.
    for (name, _) in std::env::vars() {
        if [
            "OTEL_",
            "OPENAI_",
            "LEMMA_",
            "TRACEPARENT",
            "TRACESTATE",
            "BAGGAGE",
        ]
        .iter()
        .any(|p| name.starts_with(p))
        {
            command.env_remove(name);
        }
    }
    command
        .env("LEMMA_URL", &server.http)
        .env("LEMMA_API_KEY", common::KEY)
        .env("LEMMA_URL_2", &second.http)
        .env("OPENAI_BASE_URL", &llm.base_url)
        .env("OPENAI_API_KEY", "sk-sdk-python-fake")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1");
    let mut child = command.spawn().expect("starting pytest in the SDK's venv");
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let deadline = Instant::now() + PYTEST_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    println!("{stdout}");
    eprintln!("{stderr}");
    match status {
        Some(s) if s.success() => {}
        Some(s) => panic!("the Python SDK's tests failed ({s}); pytest's output is above"),
        None => panic!("the Python SDK's tests did not finish within {PYTEST_TIMEOUT:?}"),
    }
    // Every test ran: none skipped, and both suites had tests (pytest's `-rA` summary lists
    // each passed test as `PASSED <path>::<name>`).
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(
        !summary.contains("skipped") && !summary.contains("deselected"),
        "tests were left out: {summary}"
    );
    for suite in ["unit", "e2e"] {
        let prefix = format!("PASSED sdk/python/tests/{suite}/");
        assert!(
            stdout.lines().any(|l| l.starts_with(&prefix)),
            "no test of sdk/python/tests/{suite} ran"
        );
    }
}
