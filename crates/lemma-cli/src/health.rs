//! `lemma health`: the project's ingestion health (`GET /api/v1/ingestion`) in a terminal.

use serde_json::Value;

use crate::client::{get, print_json};
use crate::render::{self, Table};
use crate::Remote;

pub fn run(remote: &Remote) -> anyhow::Result<()> {
    let body = get(remote, &["ingestion"], &[])?;
    if remote.json {
        return print_json(&body);
    }
    print!("{}", report(&body));
    Ok(())
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The answer as text.
fn report(body: &Value) -> String {
    let mut out = String::new();
    let checked = &body["checked"];
    let problems = body["problems"].as_array().cloned().unwrap_or_default();
    let runs = plural(n(&checked["runs"]), "run", "runs");
    if problems.is_empty() {
        out += &format!("No problems in the {runs} of the last 24 hours.\n");
    } else {
        out += &format!("Problems in the {runs} of the last 24 hours:\n");
    }
    if n(&checked["skipped_runs"]) > 0 {
        out += &format!(
            "  ({} left out: too long to check here)\n",
            plural(n(&checked["skipped_runs"]), "run", "runs")
        );
    }
    for p in &problems {
        let runs = match n(&p["runs"]) {
            0 => String::new(),
            r => format!(", {}", plural(r, "run", "runs")),
        };
        out += &format!("\n✗ {} ({}{runs})\n", s(&p["title"]), n(&p["count"]));
        let example = &p["example"];
        out += &format!("  e.g. run {}", s(&example["run_id"]));
        if let Some(span) = example["span_id"].as_str() {
            out += &format!(" span {span}");
        }
        out += &format!(": {}\n", render::preview(&example["detail"], 200));
        out += &format!("  Fix: {}\n", s(&p["fix"]));
    }

    out += &format!(
        "\nSince {} (this server's start):\n",
        s(&body["counting_since"])
    );
    let services = body["services"].as_array().cloned().unwrap_or_default();
    if services.is_empty() {
        out += "  no spans received yet: see `lemma doctor` for what an exporter here would hit\n";
    } else {
        let mut t = Table::new(&["SERVICE", "LAST SEEN", "LAST MINUTE", "LAST HOUR", "TOTAL"]);
        for sv in &services {
            t.row(vec![
                render::preview(&sv["service"], 60),
                s(&sv["last_seen"]).to_string(),
                render::count(n(&sv["spans_last_minute"])),
                render::count(n(&sv["spans_last_hour"])),
                render::count(n(&sv["spans_total"])),
            ]);
        }
        out += &t.render();
    }
    let refused = &body["refused"];
    out += &format!(
        "\n{} refused (or stored in part)\n",
        plural(n(&refused["total"]), "request", "requests")
    );
    for r in refused["recent"].as_array().into_iter().flatten().take(10) {
        let rejected = r["rejected"]
            .as_u64()
            .map_or(String::new(), |k| format!(", {k} lost"));
        out += &format!(
            "  {} {} {} {} ({}{rejected}): {}\n",
            s(&r["at"]),
            s(&r["transport"]),
            s(&r["signal"]),
            n(&r["status"]),
            s(&r["reason"]),
            render::preview(&r["message"], 200)
        );
    }
    let unauthenticated: u64 = refused["unauthenticated"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| n(&r["count"]))
        .sum();
    if unauthenticated > 0 {
        out += &format!(
            "{} without a valid key (any project): check the exporter's headers with `lemma doctor`\n",
            plural(unauthenticated, "request", "requests")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_report_names_each_problem_its_example_and_fix() {
        let body = json!({
            "counting_since": "2026-12-06T10:00:00Z",
            "services": [{"service": "worker", "last_seen": "2026-12-06T10:05:00Z",
                          "spans_total": 12, "spans_last_minute": 2, "spans_last_hour": 12}],
            "refused": {"total": 1, "by_reason": [], "unauthenticated": [{"reason": "unauthorized", "count": 3, "last_at": ""}],
                        "recent": [{"at": "2026-12-06T10:01:00Z", "reason": "partial", "status": 200,
                                    "transport": "grpc", "signal": "traces", "message": "span \"x\": bad id", "rejected": 1}]},
            "problems": [{"problem": "no_root", "title": "Runs without a root span", "fix": "Flush before exit.",
                          "runs": 1, "count": 1, "example": {"run_id": "ab", "span_id": null, "detail": "3 spans"}}],
            "checked": {"runs": 4, "spans": 9, "skipped_runs": 0}
        });
        let text = report(&body);
        for want in [
            "Problems in the 4 runs",
            "✗ Runs without a root span (1, 1 run)",
            "e.g. run ab: 3 spans",
            "Fix: Flush before exit.",
            "worker",
            "1 request refused",
            "grpc traces 200 (partial, 1 lost)",
            "3 requests without a valid key",
        ] {
            assert!(text.contains(want), "{want:?} in\n{text}");
        }
    }
}
