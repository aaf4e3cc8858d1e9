//! The other programs the end-to-end tests drive: the setup scripts' checks, the fake LLM, and
//! test suites or scenario scripts in other languages, run to the end with a deadline.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Fails the test, saying what to run, unless `scripts/<script> --check` says that what the test
/// needs (`needs`, e.g. "the real libraries") is installed.
pub fn require_setup(script: &str, needs: &str) {
    let out = Command::new("bash")
        .arg(repo_root().join("scripts").join(script))
        .arg("--check")
        .output()
        .unwrap_or_else(|e| panic!("could not run scripts/{script} --check: {e}"));
    assert!(
        out.status.success(),
        "these tests need {needs}: run scripts/{script} (then run the tests again).\n{}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

/// Environment variables of the caller's shell that could redirect or switch off what a driven
/// program traces; [`run_to_end`] removes them.
const INHERITED_SETTINGS: &[&str] = &[
    "OTEL_",
    "OPENAI_",
    "LANGFUSE_",
    "TRACELOOP_",
    "LEMMA_",
    "TRACEPARENT",
    "TRACESTATE",
    "BAGGAGE",
    "NODE_OPTIONS",
    "NODE_TEST",
];

/// How a driven program ended.
pub struct Outcome {
    /// `None` when it was killed at the deadline.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// Panics, with the program's output, unless it succeeded.
    pub fn expect_success(&self, what: &str, timeout: Duration) {
        match self.status {
            Some(s) if s.success() => {}
            Some(s) => panic!(
                "{what} failed ({s}).\nstdout:\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            ),
            None => panic!(
                "{what} did not finish within {timeout:?}.\nstdout:\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            ),
        }
    }
}

/// Runs `command` (with none of the caller's tracing settings, and loopback never proxied) until
/// it exits or `timeout` passes, collecting its output.
pub fn run_to_end(mut command: Command, timeout: Duration) -> Outcome {
    for (name, _) in std::env::vars() {
        if INHERITED_SETTINGS.iter().any(|p| name.starts_with(p)) {
            command.env_remove(name);
        }
    }
    command
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("starting {program}: {e}"));
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Outcome {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

fn drain(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = r.read_to_string(&mut s);
        s
    })
}

/// The fake OpenAI API (`tests/compat/fake_llm.py`, standard library only), stopped on drop.
pub struct FakeLlm {
    child: Child,
    /// e.g. `http://127.0.0.1:41234/v1`, for `OPENAI_BASE_URL`.
    pub base_url: String,
}

impl FakeLlm {
    pub fn start() -> FakeLlm {
        let mut child = Command::new("python3")
            .arg(repo_root().join("tests/compat/fake_llm.py"))
            .args(["--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting python3 tests/compat/fake_llm.py");
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
