//! The Python SDK (`sdk/python`) as an installed package against real servers.
//!
//! Starts a `lemma serve`, a second one (the other end of dual export) and the fake LLM
//! (`tests/compat/fake_llm.py`), then runs the SDK's pytest suite (`sdk/python/tests`: its unit
//! tests, end-to-end tests that run scenario programs and check what they recorded through the
//! REST API, and `tests/package`, which checks that `lemma` is the installed wheel of
//! pyproject.toml's version, not the source tree). Fails with pytest's output if any test fails.
//!
//! `scripts/sdk-python-setup` builds the sdist and the wheel into `target/sdk-packages/` and
//! installs the wheel, with the test dependencies, in `.cache/sdk/python-venv`; without it this
//! test fails, saying so.

use crate::common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::programs::{repo_root, require_setup, run_to_end, FakeLlm};
use common::Server;

/// How long the whole pytest run may take.
const PYTEST_TIMEOUT: Duration = Duration::from_secs(600);

fn venv_python() -> PathBuf {
    repo_root().join(".cache/sdk/python-venv/bin/python")
}

#[test]
fn python_sdk_unit_and_end_to_end_tests() {
    require_setup("sdk-python-setup", "the Python SDK's venv");
    let llm = FakeLlm::start();
    // Its LLM proxy calls the fake LLM too (OpenAI under /v1, Anthropic at the root).
    let server = Server::start_with(&[
        "--proxy-openai-upstream",
        &llm.base_url,
        "--proxy-anthropic-upstream",
        llm.base_url.trim_end_matches("/v1"),
    ]);
    let second = Server::start();

    let mut command = Command::new(venv_python());
    command
        .args(["-m", "pytest", "sdk/python/tests", "-v", "-rap"])
        .current_dir(repo_root())
        .env("LEMMA_URL", &server.http)
        .env("LEMMA_API_KEY", common::KEY)
        .env("LEMMA_URL_2", &second.http)
        .env("OPENAI_BASE_URL", &llm.base_url)
        .env("OPENAI_API_KEY", "sk-sdk-python-fake");
    let out = run_to_end(command, PYTEST_TIMEOUT);
    println!("{}", out.stdout);
    eprintln!("{}", out.stderr);
    assert!(
        out.status.is_some(),
        "the Python SDK's tests did not finish within {PYTEST_TIMEOUT:?}"
    );
    assert!(
        out.success(),
        "the Python SDK's tests failed; pytest's output is above"
    );
    // Every test ran: none skipped, and both suites had tests (pytest's `-rA` summary lists
    // each passed test as `PASSED <path>::<name>`).
    let summary = out.stdout.lines().last().unwrap_or_default();
    assert!(
        !summary.contains("skipped") && !summary.contains("deselected"),
        "tests were left out: {summary}"
    );
    for suite in ["unit", "e2e", "package"] {
        let prefix = format!("PASSED sdk/python/tests/{suite}/");
        assert!(
            out.stdout.lines().any(|l| l.starts_with(&prefix)),
            "no test of sdk/python/tests/{suite} ran"
        );
    }
    // An agent reading its own run's signals mid-run (`run.signals()`), with an ingest key.
    let signals = "PASSED sdk/python/tests/e2e/test_e2e.py::\
                   test_a_run_reads_its_own_signals_while_it_runs";
    assert!(
        out.stdout.lines().any(|l| l.trim() == signals),
        "the run signals test did not pass"
    );
    // `lemma.experiment()` over a dataset, scores on the right runs, and `lemma.compare()`.
    let experiments = "PASSED sdk/python/tests/e2e/test_e2e.py::\
                       test_experiments_run_score_link_and_compare";
    assert!(
        out.stdout.lines().any(|l| l.trim() == experiments),
        "the experiments test did not pass"
    );
}
