//! The TypeScript SDK (`sdk/typescript`): its unit tests, and its end-to-end tests against real
//! servers.
//!
//! The end-to-end test starts a `lemma serve`, a second `lemma serve` (the other OTLP receiver
//! of dual export) and the fake LLM (`tests/compat/fake_llm.py`), then runs the SDK's
//! `node --test` suite in `sdk/typescript/test/e2e`, which drives the SDK and checks what it
//! wrote through the REST API. Both tests need the SDK installed and built by
//! `scripts/sdk-typescript-setup`; without it they fail, saying so.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::programs::{repo_root, require_setup, run_to_end, FakeLlm};
use common::Server;

/// How long one `node --test` suite may take.
const SUITE_TIMEOUT: Duration = Duration::from_secs(300);

fn sdk_dir() -> PathBuf {
    repo_root().join("sdk/typescript")
}

/// Runs `program args` in `sdk/typescript` with `env`, prints its output, and fails unless it
/// succeeds in time with test results.
fn run_suite(what: &str, program: &str, args: &[&str], env: &[(&str, &str)]) {
    let mut command = Command::new(program);
    command.args(args).current_dir(sdk_dir());
    for (name, value) in env {
        command.env(name, value);
    }
    let out = run_to_end(command, SUITE_TIMEOUT);
    println!("{what} stdout:\n{}", out.stdout);
    if !out.stderr.trim().is_empty() {
        println!("{what} stderr:\n{}", out.stderr);
    }
    out.expect_success(what, SUITE_TIMEOUT);
    assert!(
        out.stdout.lines().any(|l| l.starts_with("# pass ")) && out.stdout.contains("# fail 0"),
        "{what}: no test results in its output"
    );
}

#[test]
fn typescript_sdk_unit_tests() {
    require_setup(
        "sdk-typescript-setup",
        "the TypeScript SDK installed and built",
    );
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
    require_setup(
        "sdk-typescript-setup",
        "the TypeScript SDK installed and built",
    );
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
