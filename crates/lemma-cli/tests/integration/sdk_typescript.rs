//! The TypeScript SDK (`sdk/typescript`) as a package: its unit tests, the checks of the packed
//! tarball, and its end-to-end tests against real servers, all importing the installed package.
//!
//! `scripts/sdk-typescript-setup` builds the SDK, packs it with `npm pack` into
//! `target/sdk-packages/` and installs that tarball with `npm install` into a consumer
//! directory, `.cache/sdk/typescript-consumer`, as a user would. Each test copies the SDK's test
//! files (and its example) into a fresh directory inside the consumer and runs them there, so
//! `import ... from '@lemma/sdk'` resolves to the consumer's `node_modules`, never to the source
//! tree: the unit tests are compiled with tsc against the installed type declarations, and
//! `test/package` checks where the package resolves to and what the tarball holds.
//!
//! The end-to-end test starts the fake LLM (`tests/compat/fake_llm.py`), a `lemma serve` whose
//! LLM proxy forwards to it, and a second `lemma serve` (the other OTLP receiver of dual
//! export), then runs the SDK's `node --test` suite in `sdk/typescript/test/e2e`, which drives
//! the SDK and checks what it wrote through the REST API. Both tests need
//! `scripts/sdk-typescript-setup`; without it they fail, saying so.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::programs::{repo_root, require_setup, run_to_end, FakeLlm};
use common::Server;

/// How long one `node --test` suite may take.
const SUITE_TIMEOUT: Duration = Duration::from_secs(300);

fn sdk_dir() -> PathBuf {
    repo_root().join("sdk/typescript")
}

/// Where `scripts/sdk-typescript-setup` installed the packed SDK.
fn consumer_dir() -> PathBuf {
    repo_root().join(".cache/sdk/typescript-consumer")
}

/// Copies `from` (a file or a directory tree) to `to`.
fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::copy(from, to)
            .unwrap_or_else(|e| panic!("copying {} to {}: {e}", from.display(), to.display()));
    }
}

/// A fresh directory inside the consumer holding copies of `parts` of `sdk/typescript` (e.g.
/// `test/unit`) at the same relative paths; removed when dropped.
fn stage(parts: &[&str]) -> tempfile::TempDir {
    let consumer = consumer_dir();
    assert!(
        consumer
            .join("node_modules/@lemma/sdk/package.json")
            .is_file(),
        "@lemma/sdk is not installed in {}: run scripts/sdk-typescript-setup",
        consumer.display()
    );
    let dir = tempfile::Builder::new()
        .prefix("run-")
        .tempdir_in(&consumer)
        .unwrap();
    for part in parts {
        copy_tree(&sdk_dir().join(part), &dir.path().join(part));
    }
    dir
}

/// The files in `dir` (relative to `base`, with `/`) whose names end with `suffix`, sorted.
fn files_ending(base: &Path, dir: &str, suffix: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(base.join(dir))
        .unwrap_or_else(|e| panic!("reading {}: {e}", base.join(dir).display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(suffix))
        .map(|name| format!("{dir}/{name}"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no *{suffix} in {}",
        base.join(dir).display()
    );
    files
}

/// Runs `program args` in `dir` with `env`, prints its output, and fails unless it succeeds in
/// time; `node --test` runs must also report their results.
fn run(what: &str, dir: &Path, program: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut command = Command::new(program);
    command.args(args).current_dir(dir);
    for (name, value) in env {
        command.env(name, value);
    }
    let out = run_to_end(command, SUITE_TIMEOUT);
    println!("{what} stdout:\n{}", out.stdout);
    if !out.stderr.trim().is_empty() {
        println!("{what} stderr:\n{}", out.stderr);
    }
    out.expect_success(what, SUITE_TIMEOUT);
    out.stdout
}

/// Runs `node --test` on `files` in `dir` and fails unless every test passed and none was
/// skipped; returns its output.
fn run_suite(what: &str, dir: &Path, files: &[String], env: &[(&str, &str)]) -> String {
    let mut args = vec!["--test", "--test-concurrency=1"];
    args.extend(files.iter().map(String::as_str));
    let stdout = run(what, dir, "node", &args, env);
    let count = |name: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("# {name} ")))
            .and_then(|n| n.trim().parse::<usize>().ok())
    };
    assert!(
        count("pass").is_some_and(|n| n > 0) && count("fail") == Some(0),
        "{what}: no passing test results in its output"
    );
    assert_eq!(count("skipped"), Some(0), "{what}: tests were skipped");
    assert_eq!(count("todo"), Some(0), "{what}: tests were left to do");
    stdout
}

/// Whether `node --test` reported test `name` as passed (`ok <n> - <name>`, nested or not).
fn passed(stdout: &str, name: &str) -> bool {
    stdout.lines().any(|l| {
        l.trim_start()
            .strip_prefix("ok ")
            .and_then(|rest| rest.split_once(" - "))
            .is_some_and(|(_, test)| test == name)
    })
}

/// What every suite is told: where the consumer and the source are (`test/package` checks that
/// the package resolves to the one, not the other).
fn package_env() -> [(&'static str, String); 2] {
    [
        (
            "LEMMA_SDK_CONSUMER",
            consumer_dir().to_string_lossy().into_owned(),
        ),
        ("LEMMA_SDK_SOURCE", sdk_dir().to_string_lossy().into_owned()),
    ]
}

#[test]
fn typescript_sdk_unit_and_package_tests() {
    require_setup(
        "sdk-typescript-setup",
        "the TypeScript SDK packed and installed",
    );
    let dir = stage(&["test/unit", "test/package"]);
    // The unit tests, compiled by the consumer's tsc with the SDK's compiler settings: their
    // `@lemma/sdk` types come from the installed dist/*.d.ts.
    let tsconfig = serde_json::json!({
        "extends": sdk_dir().join("tsconfig.test.json"),
        "compilerOptions": { "rootDir": ".", "outDir": "build" },
        "include": ["test/unit/**/*.ts"],
    });
    std::fs::write(dir.path().join("tsconfig.json"), tsconfig.to_string()).unwrap();
    let tsc = consumer_dir().join("node_modules/typescript/bin/tsc");
    run(
        "tsc (the TypeScript SDK's unit tests against the installed package)",
        dir.path(),
        "node",
        &[tsc.to_str().unwrap(), "-p", "tsconfig.json"],
        &[],
    );
    let mut files = files_ending(dir.path(), "build/test/unit", ".test.js");
    files.extend(files_ending(dir.path(), "test/package", ".test.mjs"));
    let env = package_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    run_suite(
        "the TypeScript SDK's unit and package tests",
        dir.path(),
        &files,
        &env,
    );
}

#[test]
fn typescript_sdk_end_to_end() {
    require_setup(
        "sdk-typescript-setup",
        "the TypeScript SDK packed and installed",
    );
    let dir = stage(&["test/e2e", "examples"]);
    // The fake LLM first: it is the upstream of the first server's LLM proxy.
    let llm = FakeLlm::start();
    let anthropic_upstream = llm
        .base_url
        .strip_suffix("/v1")
        .expect("the fake LLM's base URL ends with /v1");
    let server = Server::start_with(&[
        "--proxy-openai-upstream",
        &llm.base_url,
        "--proxy-anthropic-upstream",
        anthropic_upstream,
    ]);
    let second = Server::start();
    let files = files_ending(dir.path(), "test/e2e", ".test.mjs");
    let stdout = run_suite(
        "the TypeScript SDK's end-to-end tests",
        dir.path(),
        &files,
        &[
            ("LEMMA_URL", &server.http),
            ("LEMMA_API_KEY", common::KEY),
            ("LEMMA_URL_2", &second.http),
            ("OPENAI_BASE_URL", &llm.base_url),
            ("OPENAI_API_KEY", "sk-fake"),
        ],
    );
    // An agent reading its own run's signals mid-run (`run.signals()`), with an ingest key
    // (test/e2e/signals.test.mjs).
    assert!(
        passed(
            &stdout,
            "are read mid-run, with the failed calls flushed first, and the agent escalates"
        ),
        "the run signals test did not pass"
    );
    // experiment() over a dataset, scores on the right runs, and compare()
    // (test/e2e/experiments.test.mjs).
    assert!(
        passed(
            &stdout,
            "compare a second experiment with the first and find the regression"
        ),
        "the experiments test did not pass"
    );
}
