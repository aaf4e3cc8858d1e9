//! The MCP server, driven by a client that is not ours: the official MCP Python SDK.
//!
//! Starts a `lemma serve` loaded with every HTTP fixture of `shared/fixtures/`, adds a second
//! project with one run of its own, then runs the pytest suite of `tests/mcp/`, which connects
//! over stdio (`lemma mcp`) and over Streamable HTTP (`/mcp`), lists the tools, calls each and
//! checks its answer against the REST API, and checks that wrong keys are refused and projects
//! stay apart. The client is installed by `scripts/mcp-setup`; without it this test fails,
//! saying so.

use crate::common;

use std::process::Command;
use std::time::Duration;

use common::fixtures::{self, send_grpc};
use common::otlp::{hex, request, string_attr};
use common::programs::{repo_root, require_setup, run_to_end};
use common::{key_from_output, lemma_bin, Server};
use opentelemetry_proto::tonic::trace::v1::Span;

/// How long the whole pytest run may take.
const PYTEST_TIMEOUT: Duration = Duration::from_secs(600);

/// A second project holding one run; returns its key and the run's ID.
fn other_project(server: &Server) -> (String, String) {
    let (ok, _, err) = server.cli(&["projects", "create", "other"]);
    assert!(ok, "creating a project: {err}");
    let (ok, out, err) = server.cli(&["keys", "create", "--project", "other"]);
    assert!(ok, "creating a key: {err}");
    let key = key_from_output(&out);
    let trace_id = *b"other-project-01";
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let root = Span {
        trace_id: trace_id.to_vec(),
        span_id: b"otherrt1".to_vec(),
        name: "invoke_agent billing_agent".into(),
        start_time_unix_nano: now - 1_000_000_000,
        end_time_unix_nano: now,
        attributes: vec![
            string_attr("gen_ai.operation.name", "invoke_agent"),
            string_attr("gen_ai.agent.name", "billing_agent"),
        ],
        ..Default::default()
    };
    send_grpc(server, request(vec![root]), &key).expect("the other project's run is accepted");
    (key, hex(&trace_id))
}

#[test]
fn official_mcp_client_over_stdio_and_http() {
    require_setup("mcp-setup", "the official MCP Python SDK");
    let server = Server::start();
    fixtures::load_all_http(&server);
    let (other_key, other_run) = other_project(&server);

    let mut command = Command::new(repo_root().join(".cache/mcp/venv/bin/python"));
    command
        .args([
            "-m",
            "pytest",
            "tests/mcp",
            "-v",
            "-rA",
            "-p",
            "no:cacheprovider",
        ])
        .current_dir(repo_root())
        .env("LEMMA_URL", &server.http)
        .env("LEMMA_API_KEY", common::KEY)
        .env("LEMMA_OTHER_KEY", other_key)
        .env("LEMMA_OTHER_RUN", other_run)
        .env("LEMMA_BIN", lemma_bin());
    let out = run_to_end(command, PYTEST_TIMEOUT);
    println!("{}", out.stdout);
    eprintln!("{}", out.stderr);
    assert!(
        out.status.is_some(),
        "the MCP tests did not finish within {PYTEST_TIMEOUT:?}"
    );
    assert!(
        out.success(),
        "the MCP tests failed; pytest's output is above"
    );
    let summary = out.stdout.lines().last().unwrap_or_default();
    assert!(
        !summary.contains("skipped") && !summary.contains("deselected"),
        "tests were left out: {summary}"
    );
    for transport in ["stdio", "http"] {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.starts_with("PASSED tests/mcp/test_tools.py::")
                    && l.ends_with(&format!("[{transport}]"))),
            "no tool test ran over {transport}"
        );
    }
}
