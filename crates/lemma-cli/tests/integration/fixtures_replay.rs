//! The recorded SDK traffic, replayed against a real server, read back through the API.

use crate::common;

use common::{expected, fixtures, Server};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};

fn replay_all_http(server: &Server, scenario: &str) {
    for r in fixtures::load(scenario) {
        let resp = fixtures::replay_http(server, &r);
        assert_eq!(
            resp.status(),
            200,
            "{scenario} seq {}: {:?}",
            r.meta["seq"],
            resp.text()
        );
    }
}

#[test]
fn otel_manual_over_http_protobuf() {
    let server = Server::start();
    replay_all_http(&server, "otel_manual");
    expected::check(&server, "otel_manual");
}

#[test]
fn long_run_in_four_requests_root_last() {
    let server = Server::start();
    replay_all_http(&server, "long_run");
    expected::check(&server, "long_run");
}

/// Every recorded scenario, sent as its library sent it (gzip, chunked JSON, the Langfuse path),
/// reproduces its expected file exactly.
#[test]
fn every_recorded_scenario_reproduces_its_expected_file() {
    for scenario in [
        "langfuse_sdk",
        "openinference_openai",
        "openllmetry",
        "vercel_ai",
        "otel_manual",
        "long_run",
    ] {
        let server = Server::start();
        replay_all_http(&server, scenario);
        expected::check(&server, scenario);
    }
}

#[test]
fn otel_manual_over_grpc() {
    let server = Server::start();
    for r in fixtures::load("otel_manual_grpc") {
        assert_eq!(r.meta["transport"], "grpc");
        let resp = fixtures::send_grpc(&server, r.message(), common::KEY).expect("export accepted");
        assert!(resp.partial_success.is_none());
    }
    expected::check(&server, "otel_manual_grpc");
}

/// Every span of a scenario as its own single-span request, keeping resource and scope.
fn single_span_requests(scenario: &str) -> Vec<ExportTraceServiceRequest> {
    let mut out = Vec::new();
    for r in fixtures::load(scenario) {
        for rs in r.message().resource_spans {
            for ss in &rs.scope_spans {
                for span in &ss.spans {
                    out.push(ExportTraceServiceRequest {
                        resource_spans: vec![ResourceSpans {
                            resource: rs.resource.clone(),
                            schema_url: rs.schema_url.clone(),
                            scope_spans: vec![ScopeSpans {
                                scope: ss.scope.clone(),
                                spans: vec![span.clone()],
                                schema_url: ss.schema_url.clone(),
                            }],
                        }],
                    });
                }
            }
        }
    }
    out
}

/// A deterministic shuffle (xorshift), so a failure reproduces.
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        items.swap(i, (seed % (i as u64 + 1)) as usize);
    }
}

/// Merges consecutive single-span requests into requests of 1..=5 spans.
fn regroup(requests: Vec<ExportTraceServiceRequest>, seed: u64) -> Vec<ExportTraceServiceRequest> {
    let mut out: Vec<ExportTraceServiceRequest> = Vec::new();
    let mut size = 0;
    for (i, r) in requests.into_iter().enumerate() {
        if size == 0 {
            size = 1 + ((seed.wrapping_mul(i as u64 + 7)) % 5) as usize;
            out.push(ExportTraceServiceRequest {
                resource_spans: Vec::new(),
            });
        }
        out.last_mut()
            .unwrap()
            .resource_spans
            .extend(r.resource_spans);
        size -= 1;
    }
    out
}

#[test]
fn shuffled_split_and_replayed_twice_gives_the_same_runs() {
    for scenario in [
        "otel_manual",
        "long_run",
        "langfuse_sdk",
        "openinference_openai",
        "openllmetry",
        "vercel_ai",
    ] {
        for seed in [0x9e3779b97f4a7c15u64, 42] {
            let server = Server::start();
            let mut singles = single_span_requests(scenario);
            shuffle(&mut singles, seed);
            let requests = regroup(singles, seed);
            // Every request twice: once in shuffled order, then all again (exporter retries).
            for pass in 0..2 {
                for r in &requests {
                    let resp = fixtures::send_protobuf(&server, r);
                    assert_eq!(resp.status(), 200, "{scenario} pass {pass}");
                }
            }
            expected::check(&server, scenario);
        }
    }
}

#[test]
fn a_run_without_its_root_says_so_then_completes() {
    let server = Server::start();
    // Hold back the roots.
    let (roots, singles): (Vec<_>, Vec<_>) = single_span_requests("otel_manual")
        .into_iter()
        .partition(|r| {
            r.resource_spans[0].scope_spans[0].spans[0]
                .parent_span_id
                .is_empty()
        });
    assert_eq!(roots.len(), 2);
    for r in &singles {
        assert_eq!(fixtures::send_protobuf(&server, r).status(), 200);
    }
    let runs = server.all_runs("");
    assert_eq!(runs.len(), 2);
    for run in &runs {
        assert_eq!(run["has_root"], false);
        // With no root to decide, a run is "unset" unless some span already failed.
        let want = if run["error_count"] == 0 {
            "unset"
        } else {
            "error"
        };
        assert_eq!(run["status"], want);
    }
    for r in &roots {
        assert_eq!(fixtures::send_protobuf(&server, r).status(), 200);
    }
    expected::check(&server, "otel_manual");
}
