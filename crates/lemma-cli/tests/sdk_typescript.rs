//! The TypeScript SDK (`sdk/typescript`): its unit tests, and its end-to-end tests against real
//! servers.
//!
//! The end-to-end test starts a `lemma serve`, a second `lemma serve` (the other OTLP receiver
//! of dual export) and the fake LLM (`tests/compat/fake_llm.py`), then runs the SDK's
//! `node --test` suite in `sdk/typescript/test/e2e`, which drives the SDK and checks what it
//! wrote through the REST API. Both tests need the SDK installed and built by
//! `scripts/sdk-typescript-setup`; without it they fail, saying so.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::Server;

/// How long one `node --test` suite may take.
const SUITE_TIMEOUT: Duration = Duration::from_secs(300);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn sdk_dir() -> PathBuf {
    repo_root().join("sdk/typescript")
}

/// Fails the test, saying what to run, unless `scripts/sdk-typescript-setup` has installed the
/// SDK's packages and built it from the current sources.
fn require_setup() {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    let result = CHECKED.get_or_init(|| {
        let out = Command::new("bash")
            .arg(repo_root().join("scripts/sdk-typescript-setup"))
            .arg("--check")
            .output()
            .map_err(|e| format!("could not run scripts/sdk-typescript-setup --check: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    });
    if let Err(why) = result {
        panic!(
            "the TypeScript SDK tests need the SDK installed and built: run \
             scripts/sdk-typescript-setup (then run the tests again).\n{why}"
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
            .expect("starting python3 tests/compat/fake_llm.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(url) = line.trim().strip_prefix("fake LLM listening on ") else {
            let _ = child.kill();
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

/// Runs `program args` in `sdk/typescript` with `env` (and nothing from the caller's shell that
/// could redirect the SDK), prints its output, and fails unless it succeeds in time.
fn run_suite(what: &str, program: &str, args: &[&str], env: &[(&str, &str)]) {
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(sdk_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, _) in std::env::vars() {
        if ["OTEL_", "OPENAI_", "LEMMA_", "NODE_OPTIONS", "NODE_TEST"]
            .iter()
            .any(|p| name.starts_with(p))
        {
            command.env_remove(name);
        }
    }
    command.env("NO_PROXY", "127.0.0.1,localhost");
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("starting {what} ({program}): {e}"));
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let deadline = Instant::now() + SUITE_TIMEOUT;
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
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    println!("{what} stdout:\n{stdout}");
    if !stderr.trim().is_empty() {
        println!("{what} stderr:\n{stderr}");
    }
    match status {
        Some(s) if s.success() => {}
        Some(s) => panic!("{what} failed ({s}); its output is above"),
        None => panic!("{what} did not finish within {SUITE_TIMEOUT:?}; its output is above"),
    }
    assert!(
        stdout.lines().any(|l| l.starts_with("# pass ")) && stdout.contains("# fail 0"),
        "{what}: no test results in its output"
    );
}

fn drain(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = r.read_to_string(&mut s);
        s
    })
}

#[test]
fn typescript_sdk_unit_tests() {
    require_setup();
    // Compiles the tests (with the public types they check) and runs them over dist/.
    run_suite(
        "the TypeScript SDK's unit tests",
        "npm",
        &["test", "--silent"],
        &[],
    );
}

#[test]
fn typescript_sdk_end_to_end() {
    require_setup();
    let server = Server::start();
    let second = Server::start();
    let llm = FakeLlm::start();
    let mut files: Vec<String> = std::fs::read_dir(sdk_dir().join("test/e2e"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".test.mjs"))
        .map(|name| format!("test/e2e/{name}"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no end-to-end tests in sdk/typescript/test/e2e"
    );
    let mut args = vec!["--test", "--test-concurrency=1"];
    args.extend(files.iter().map(String::as_str));
    run_suite(
        "the TypeScript SDK's end-to-end tests",
        "node",
        &args,
        &[
            ("LEMMA_URL", &server.http),
            ("LEMMA_API_KEY", common::KEY),
            ("LEMMA_URL_2", &second.http),
            ("OPENAI_BASE_URL", &llm.base_url),
            ("OPENAI_API_KEY", "sk-fake"),
        ],
    );
}
