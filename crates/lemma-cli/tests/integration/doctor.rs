//! `lemma doctor` against a real `lemma serve`: a working setup passes every check and its
//! test run is read back; each classic mistake (a wrong key, a doubled or missing path, https to
//! the plain server, OTLP/HTTP to the gRPC port, a closed port) fails its check with the fix
//! and exit code 1.

use crate::common;

use std::process::Command;

use common::{Server, KEY};
use serde_json::Value;

/// Every variable `lemma doctor` reads: none leaks in from the environment of the tests.
const READ: &[&str] = &[
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "LEMMA_URL",
    "LEMMA_API_KEY",
];

struct Outcome {
    code: Option<i32>,
    out: String,
    err: String,
}

/// `lemma doctor ARGS` with only `env` of the variables it reads.
fn doctor(args: &[&str], env: &[(&str, &str)]) -> Outcome {
    let mut command = Command::new(common::lemma_bin());
    command.arg("doctor").args(args);
    for name in READ {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    let out = command.output().unwrap();
    Outcome {
        code: out.status.code(),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The line of check `name` (its mark stripped) and its fix, if it has one; `ok` is whether it
/// is marked ✓.
fn check(out: &str, name: &str) -> (bool, String, Option<String>) {
    let lines: Vec<&str> = out.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        for (mark, ok) in [("✓ ", true), ("✗ ", false)] {
            let Some(rest) = line.strip_prefix(mark) else {
                continue;
            };
            if rest.starts_with(&format!("{name} ")) {
                let fix = lines
                    .get(i + 1)
                    .and_then(|l| l.trim_start().strip_prefix("fix: "))
                    .map(str::to_string);
                return (ok, rest.to_string(), fix);
            }
        }
    }
    panic!("no check {name:?} in:\n{out}");
}

fn passes(out: &str, name: &str) -> String {
    let (ok, line, fix) = check(out, name);
    assert!(ok, "{name} should pass:\n{out}");
    assert_eq!(fix, None, "{out}");
    line
}

/// The failed check's line and its fix.
fn fails(out: &str, name: &str) -> (String, String) {
    let (ok, line, fix) = check(out, name);
    assert!(!ok, "{name} should fail:\n{out}");
    (
        line,
        fix.unwrap_or_else(|| panic!("{name} has no fix:\n{out}")),
    )
}

/// `host:port` of an `http://` URL.
fn authority(url: &str) -> &str {
    url.strip_prefix("http://").unwrap()
}

#[test]
fn a_working_setup_passes_and_its_test_run_is_read_back() {
    let server = Server::start();
    let o = doctor(&["--url", &server.http, "--key", KEY], &[]);
    assert_eq!(o.code, Some(0), "{}\n{}", o.out, o.err);
    let endpoint = format!("{}/v1/traces", server.http);
    assert!(
        o.out
            .lines()
            .any(|l| l.contains(&endpoint) && l.contains("from --url + /v1/traces")),
        "{}",
        o.out
    );
    assert!(o.out.contains("from --api-key"), "{}", o.out);
    for name in ["settings", "path", "dns", "connect", "transport"] {
        passes(&o.out, name);
    }
    assert!(
        passes(&o.out, "key").contains("project \"default\""),
        "{}",
        o.out
    );
    let test_run = passes(&o.out, "test run");
    assert!(
        test_run.contains("acknowledged in") && test_run.contains("readable"),
        "{test_run}"
    );
    assert!(o.out.contains("All 7 checks passed."), "{}", o.out);

    // The run it names is in the project, under the doctor's service name.
    let runs = server.all_runs("service:lemma-doctor");
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run_id = runs[0]["run_id"].as_str().unwrap();
    assert!(test_run.contains(&format!("run {run_id} ")), "{test_run}");
    assert!(
        test_run.contains(&format!("{}/runs/{run_id}", server.http)),
        "{test_run}"
    );
    assert_eq!(runs[0]["span_count"], 2);
}

#[test]
fn an_ingest_key_passes_and_its_test_run_is_sent_not_read() {
    let server = Server::start();
    let (ok, out, err) = server.cli(&["keys", "create", "--scope", "ingest"]);
    assert!(ok, "{err}");
    let ingest = common::key_from_output(&out);
    let o = doctor(&["--url", &server.http, "--key", &ingest], &[]);
    assert_eq!(o.code, Some(0), "{}\n{}", o.out, o.err);
    assert!(
        passes(&o.out, "key").contains("project \"default\""),
        "{}",
        o.out
    );
    let test_run = passes(&o.out, "test run");
    assert!(
        test_run.contains("cannot read runs (an ingest key)"),
        "{test_run}"
    );
    assert_eq!(
        server.all_runs("service:lemma-doctor").len(),
        1,
        "it was sent"
    );
}

#[test]
fn a_wrong_key_fails_with_the_fix_and_sends_nothing() {
    let server = Server::start();
    let o = doctor(&["--url", &server.http, "--key", "lm_not_a_key"], &[]);
    assert_eq!(o.code, Some(1), "{}\n{}", o.out, o.err);
    passes(&o.out, "transport");
    let (line, fix) = fails(&o.out, "key");
    assert!(
        line.contains("401") && line.contains("invalid or revoked"),
        "{line}"
    );
    assert!(fix.contains("lemma keys create"), "{fix}");
    assert!(fix.contains("--api-key"), "{fix}");
    assert!(
        o.out
            .contains("1 of 6 checks failed; not run until that is fixed: test run."),
        "{}",
        o.out
    );
    assert!(server.all_runs("").is_empty());

    // No key at all.
    let o = doctor(&["--url", &server.http], &[]);
    assert_eq!(o.code, Some(1));
    let (line, fix) = fails(&o.out, "key");
    assert!(
        line.starts_with("key") && line.contains("no API key"),
        "{line}"
    );
    assert!(
        fix.contains("OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<key>"),
        "{fix}"
    );
}

#[test]
fn the_otel_variables_alone_resolve_to_v1_traces_and_pass() {
    let server = Server::start();
    let headers = format!("Authorization=Bearer%20{KEY},x-team=agents");
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", server.http.as_str()),
        ("OTEL_EXPORTER_OTLP_HEADERS", &headers),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
    ];
    // No flags at all.
    let o = doctor(&[], &env);
    assert_eq!(o.code, Some(0), "{}\n{}", o.out, o.err);
    assert!(
        o.out
            .lines()
            .any(|l| l.contains(&format!("{}/v1/traces ", server.http))
                && l.contains("from OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces")),
        "{}",
        o.out
    );
    assert!(o.out.contains("All 7 checks passed."), "{}", o.out);

    // The same as JSON.
    let o = doctor(&["--json"], &env);
    assert_eq!(o.code, Some(0), "{}\n{}", o.out, o.err);
    let report: Value = serde_json::from_str(&o.out).unwrap();
    assert_eq!(report["ok"], true, "{report:#}");
    let settings = &report["settings"];
    assert_eq!(
        settings["endpoint"]["value"],
        format!("{}/v1/traces", server.http)
    );
    assert_eq!(
        settings["endpoint"]["source"],
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    );
    assert_eq!(
        settings["protocol"]["source"],
        "OTEL_EXPORTER_OTLP_PROTOCOL"
    );
    assert_eq!(settings["key"]["source"], "OTEL_EXPORTER_OTLP_HEADERS");
    assert_eq!(
        settings["headers"],
        serde_json::json!(["authorization", "x-team"])
    );
    let names: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "settings",
            "path",
            "dns",
            "connect",
            "transport",
            "key",
            "test_run"
        ]
    );
    for c in report["checks"].as_array().unwrap() {
        assert_eq!(c["ok"], true, "{c}");
        assert!(c["fix"].is_null(), "{c}");
        assert!(!c["detail"].as_str().unwrap().is_empty(), "{c}");
    }
    assert_eq!(report["not_run"], serde_json::json!([]));
    assert_eq!(server.all_runs("service:lemma-doctor").len(), 2);
}

#[test]
fn x_api_key_headers_and_no_send_check_without_sending() {
    let server = Server::start();
    let headers = format!("x-api-key={KEY}");
    let o = doctor(
        &["--json", "--no-send"],
        &[
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                &format!("{}/v1/traces", server.http),
            ),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", &headers),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=lm_wrong"),
        ],
    );
    assert_eq!(o.code, Some(0), "{}\n{}", o.out, o.err);
    let report: Value = serde_json::from_str(&o.out).unwrap();
    assert_eq!(
        report["settings"]["key"]["source"],
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS"
    );
    let checks = report["checks"].as_array().unwrap();
    assert_eq!(checks.last().unwrap()["check"], "key", "{report:#}");
    assert!(checks.iter().all(|c| c["ok"] == true), "{report:#}");
    assert!(server.all_runs("").is_empty(), "--no-send sent a run");
}

#[test]
fn a_doubled_path_is_diagnosed_and_its_test_run_refused() {
    let server = Server::start();
    // The classic: the full traces URL in the variable that exporters append /v1/traces to.
    let o = doctor(
        &["--key", KEY],
        &[(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            &format!("{}/v1/traces", server.http),
        )],
    );
    assert_eq!(o.code, Some(1), "{}\n{}", o.out, o.err);
    let (line, fix) = fails(&o.out, "path");
    assert!(
        line.contains("/v1/traces/v1/traces") && line.contains("doubled"),
        "{line}"
    );
    assert!(
        fix.ends_with(&format!("set OTEL_EXPORTER_OTLP_ENDPOINT={}", server.http)),
        "{fix}"
    );
    // The key is still checked against the server the URL names.
    passes(&o.out, "key");
    let (line, fix) = fails(&o.out, "test run");
    assert!(line.contains("answered 404"), "{line}");
    assert!(fix.contains("path"), "{fix}");
    assert!(server.all_runs("").is_empty());
}

#[test]
fn a_missing_path_is_diagnosed() {
    let server = Server::start();
    let o = doctor(
        &["--no-send"],
        &[
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &server.http),
            ("LEMMA_API_KEY", KEY),
        ],
    );
    assert_eq!(o.code, Some(1), "{}\n{}", o.out, o.err);
    let (line, fix) = fails(&o.out, "path");
    assert!(line.contains("does not end in /v1/traces"), "{line}");
    assert!(
        fix.contains(&format!(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT={}/v1/traces",
            server.http
        )),
        "{fix}"
    );
    // A plain OTel exporter would not send LEMMA_API_KEY: the output says so.
    assert!(
        o.out.contains("note: the key comes from LEMMA_API_KEY"),
        "{}",
        o.out
    );
}

#[test]
fn https_to_the_plain_server_is_a_tls_mismatch() {
    let server = Server::start();
    let https = format!("https://{}", authority(&server.http));
    let o = doctor(&["--url", &https, "--key", KEY], &[]);
    assert_eq!(o.code, Some(1), "{}\n{}", o.out, o.err);
    passes(&o.out, "connect");
    let (line, fix) = fails(&o.out, "transport");
    assert!(
        line.contains("TLS mismatch") && line.contains("plain HTTP"),
        "{line}"
    );
    assert!(
        fix.contains(&format!("use http://: {}/v1/traces", server.http)),
        "{fix}"
    );
    assert!(
        o.out
            .contains("not run until that is fixed: key, test run."),
        "{}",
        o.out
    );
}

#[test]
fn otlp_http_to_the_grpc_port_is_diagnosed() {
    let server = Server::start();
    let o = doctor(&["--url", &server.grpc, "--key", KEY], &[]);
    assert_eq!(o.code, Some(1), "{}\n{}", o.out, o.err);
    passes(&o.out, "connect");
    let (line, fix) = fails(&o.out, "transport");
    assert!(line.contains("only HTTP/2 (gRPC)"), "{line}");
    assert!(
        fix.contains("4318") && fix.contains("OTEL_EXPORTER_OTLP_PROTOCOL=grpc"),
        "{fix}"
    );
    assert!(server.all_runs("").is_empty());

    // The same port with the gRPC protocol is what it should be.
    let o = doctor(
        &["--url", &server.grpc, "--protocol", "grpc", "--no-send"],
        &[],
    );
    let line = passes(&o.out, "transport");
    assert!(line.contains("gRPC"), "{line}");
}

#[test]
fn a_closed_port_is_refused_and_nothing_after_is_run() {
    let addr = common::free_addr();
    let url = format!("http://{addr}");
    let o = doctor(&["--url", &url, "--key", KEY, "--timeout", "2"], &[]);
    assert_eq!(o.code, Some(1), "{}\n{}", o.out, o.err);
    passes(&o.out, "dns");
    let (line, fix) = fails(&o.out, "connect");
    assert!(
        line.contains(&format!("connection refused at {addr}")),
        "{line}"
    );
    assert!(fix.contains("lemma serve"), "{fix}");
    assert!(
        o.out
            .contains("not run until that is fixed: transport, key, test run."),
        "{}",
        o.out
    );
}

#[test]
fn an_unknown_host_is_a_dns_failure() {
    let o = doctor(
        &[
            "--url",
            "http://lemma-doctor-test.invalid:4318",
            "--key",
            KEY,
        ],
        &[],
    );
    assert_eq!(o.code, Some(1), "{}\n{}", o.out, o.err);
    let (line, fix) = fails(&o.out, "dns");
    assert!(
        line.contains("cannot resolve lemma-doctor-test.invalid"),
        "{line}"
    );
    assert!(fix.contains("host name"), "{fix}");
}
