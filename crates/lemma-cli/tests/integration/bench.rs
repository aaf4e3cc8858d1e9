//! The benchmark harness in quick mode against the debug `lemma` binary (and Phoenix when
//! `scripts/bench-setup` has installed it): every phase runs and every figure is present and
//! sane. Timings are not asserted.

use std::path::{Path, PathBuf};
use std::process::Command;

use std::time::Duration;

use lemma_bench::report::{human, Report, TargetReport};
use lemma_bench::workload::{LONG_RUN_SPANS, MODELS};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Phoenix's entry point when its venv is installed and up to date.
fn phoenix() -> Option<PathBuf> {
    let repo = repo();
    let ok = Command::new(repo.join("scripts/bench-setup"))
        .arg("--check")
        .current_dir(&repo)
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then(|| repo.join(".cache/bench/phoenix-venv/bin/phoenix"))
}

fn positive(what: &str, v: f64) {
    assert!(v > 0.0 && v.is_finite(), "{what} = {v}");
}

/// Checks one target's figures. `budget` is the target's loading time budget, if it has one:
/// such a target may stop short of the size, but only once the budget is spent, and the report
/// must say so.
fn check_target(t: &TargetReport, budget: Option<Duration>, markdown: &str) {
    let size = &t.sizes[0];
    let exporters: Vec<usize> = t.loads.iter().map(|l| l.exporters).collect();
    if size.reached {
        assert_eq!(
            exporters,
            [1, 4, 16],
            "{}: one step per exporter count",
            t.name
        );
    } else {
        let budget = budget.unwrap_or_else(|| {
            panic!(
                "{} has no time budget but stored {} of {} spans",
                t.name, size.spans, size.size
            )
        });
        assert!(
            t.seconds > budget.as_secs_f64(),
            "{} stopped at {} of {} spans after {:.1} s, before its {budget:?} budget ran out",
            t.name,
            size.spans,
            size.size,
            t.seconds
        );
        assert!(
            !exporters.is_empty() && [1, 4, 16].starts_with(&exporters),
            "{}: steps in order: {exporters:?}",
            t.name
        );
        let said = format!(
            "{} did not reach {} spans within its time budget: measured at {} spans.",
            t.name,
            human(size.size),
            human(size.spans)
        );
        assert!(markdown.contains(&said), "the report says: {said}");
    }
    for l in &t.loads {
        let what = format!("{} with {} exporters", t.name, l.exporters);
        assert!(l.spans > 0, "{what}: spans");
        positive(&format!("{what}: spans/s"), l.spans_per_s);
        positive(&format!("{what}: MB/s"), l.mb_per_s);
        positive(
            &format!("{what}: readable spans/s"),
            l.stored_spans_per_s.unwrap(),
        );
        let lat = l.latency.unwrap_or_else(|| panic!("{what}: latency"));
        positive(&format!("{what}: p50"), lat.p50_ms);
        assert!(lat.p99_ms >= lat.p50_ms, "{what}: p99 below p50");
        assert!(
            l.after_last_ack_ms.is_some(),
            "{what}: the last run became readable"
        );
    }
    let ttq = t
        .time_to_queryable
        .unwrap_or_else(|| panic!("{}: time-to-queryable", t.name));
    assert!(ttq.samples > 0);

    assert_eq!(t.sizes.len(), 1);
    let loaded: u64 = t.loads.iter().map(|l| l.spans).sum();
    assert_eq!(size.spans, loaded);
    positive(&format!("{}: bytes per span", t.name), size.bytes_per_span);
    positive(
        &format!("{}: peak RSS", t.name),
        t.usage.peak_rss_bytes as f64,
    );
    positive(&format!("{}: CPU seconds", t.name), t.usage.cpu_seconds);

    let names: Vec<&str> = size.queries.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "get a 20-span run",
            "get a 300-span run",
            "list the 50 newest runs",
            "filtered list (agent, status, time)",
            "full-text search",
            "tokens by model",
            "thread view",
        ]
    );
    for q in &size.queries {
        assert!(q.correct, "{} — {}: {:?}", t.name, q.name, q.note);
        let lat = q.latency.unwrap();
        positive(&format!("{} — {}", t.name, q.name), lat.p50_ms);
        assert!(lat.samples >= 3);
    }
    let items = |name: &str| size.queries.iter().find(|q| q.name == name).unwrap().items;
    assert_eq!(items("get a 20-span run"), 20);
    assert_eq!(items("get a 300-span run"), LONG_RUN_SPANS);
    assert!(items("thread view") >= 1);
    // Every answer was checked against what was loaded. A target its budget stopped early may
    // hold too few runs for these to be non-empty; at the full size they must be.
    if size.reached {
        assert_eq!(items("list the 50 newest runs"), 50);
        assert!(items("filtered list (agent, status, time)") >= 1);
        assert!(items("full-text search") >= 1);
        assert_eq!(items("tokens by model"), MODELS.len());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quick_benchmark_measures_everything() {
    let phoenix = phoenix();
    let config = lemma_bench::Config::quick(env!("CARGO_BIN_EXE_lemma").into(), phoenix.clone());
    let report: Report = lemma_bench::run(&config).await.expect("the benchmark runs");

    let p = &report.physical;
    for (what, v) in [
        ("decode spans/s", p.decode_spans_per_s),
        ("decode MB/s", p.decode_mb_per_s),
        ("normalise spans/s", p.normalize_spans_per_s),
        ("write MB/s", p.write_mb_per_s),
        ("fsyncs/s", p.fsyncs_per_s),
    ] {
        positive(what, v);
    }
    positive("span bytes", report.span_bytes);

    let names: Vec<&str> = report.targets.iter().map(|t| t.name.as_str()).collect();
    let expected: &[&str] = if phoenix.is_some() {
        &["Lemma", "Phoenix"]
    } else {
        &["Lemma"]
    };
    assert_eq!(names, expected);
    let markdown = report.markdown();
    // Only Phoenix loads under a budget; Lemma must always reach the size.
    check_target(&report.targets[0], None, &markdown);
    if let Some(phoenix) = report.targets.get(1) {
        check_target(phoenix, Some(config.phoenix_budget), &markdown);
    }
    assert!(report.targets[0].durable_acks);

    for t in &report.targets {
        for q in &t.sizes[0].queries {
            assert!(markdown.contains(&q.name), "the tables show {}", q.name);
        }
    }
    assert!(markdown.contains("## Goals"));
    let json: serde_json::Value = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["targets"][0]["sizes"][0]["queries"]
            .as_array()
            .unwrap()
            .len(),
        7
    );
}
