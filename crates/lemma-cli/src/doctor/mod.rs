//! `lemma doctor`: "my spans don't appear". Reads the endpoint, protocol and headers as an
//! OpenTelemetry exporter would (flags first, then the `OTEL_EXPORTER_OTLP_*` variables, then
//! `LEMMA_URL` / `LEMMA_API_KEY`), checks what that exporter would hit — the path, the name,
//! the port, TLS, the key — and sends one test run the way it would, then reads it back.
//! Each check prints ✓ or ✗ with the fix; the exit code is 0 only when all pass.
//!
//! `endpoint.rs` resolves the settings and `diagnose.rs` says what observations mean (both
//! pure); `checks.rs` makes the observations.

mod checks;
mod diagnose;
mod endpoint;

use std::io::{IsTerminal, Write};
use std::time::Duration;

use clap::Args;
use reqwest::Url;
use serde_json::{json, Value};

use diagnose::{Answer, Verdict};
use endpoint::{Flags, Settings, Source};

#[derive(Args)]
pub struct DoctorArgs {
    /// The endpoint to check: the server's base URL (`/v1/traces` is added) or the full URL an
    /// exporter POSTs to, used as is. Without it: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (as is),
    /// else OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces), else LEMMA_URL (+ /v1/traces).
    #[arg(long)]
    pub url: Option<String>,
    /// The API key, sent as `Authorization: Bearer`. Without it: the Authorization or x-api-key
    /// header of OTEL_EXPORTER_OTLP_TRACES_HEADERS or OTEL_EXPORTER_OTLP_HEADERS, else
    /// LEMMA_API_KEY.
    #[arg(long, visible_alias = "key")]
    pub api_key: Option<String>,
    /// http/protobuf, http/json or grpc. Without it: OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else
    /// OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf.
    #[arg(long)]
    pub protocol: Option<String>,
    /// Check without sending the test run.
    #[arg(long)]
    pub no_send: bool,
    /// Print the results as JSON (each check's name, ok, detail and fix).
    #[arg(long)]
    pub json: bool,
    /// Seconds to wait to connect, and for each answer.
    #[arg(long, default_value_t = 5.0)]
    pub timeout: f64,
}

/// How long the test run may take to become readable once acknowledged.
const READ_BACK_WAIT: Duration = Duration::from_secs(30);

/// One check's name and outcome.
struct Check {
    name: &'static str,
    verdict: Verdict,
}

/// Every check run, and the names of those not run because an earlier one failed.
struct Report {
    checks: Vec<Check>,
    not_run: Vec<&'static str>,
}

impl Report {
    fn push(&mut self, name: &'static str, verdict: Verdict) -> bool {
        let ok = verdict.ok;
        self.checks.push(Check { name, verdict });
        ok
    }

    /// Records that the checks after `after` were not run.
    fn stop(&mut self, after: &str, send: bool) {
        let order = [
            "settings",
            "path",
            "dns",
            "connect",
            "transport",
            "key",
            "test_run",
        ];
        let from = order
            .iter()
            .position(|n| *n == after)
            .map_or(order.len(), |i| i + 1);
        self.not_run = order[from..]
            .iter()
            .copied()
            .filter(|n| send || *n != "test_run")
            .collect();
    }

    fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.verdict.ok) && self.not_run.is_empty()
    }
}

pub fn run(args: DoctorArgs) -> anyhow::Result<()> {
    let flags = Flags {
        url: args.url,
        key: args.api_key,
        protocol: args.protocol,
    };
    let settings = endpoint::resolve(&flags, |name| std::env::var(name).ok());
    let timeout = Duration::from_secs_f64(args.timeout.clamp(0.1, 600.0));
    let report = examine(&settings, timeout, !args.no_send);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&to_json(&settings, &report))?
        );
    } else {
        print_text(&settings, &report, args.no_send);
    }
    if !report.ok() {
        let _ = std::io::stdout().flush();
        std::process::exit(1);
    }
    Ok(())
}

/// Runs the checks in order; one that leaves the next ones nothing to check stops there.
fn examine(settings: &Settings, timeout: Duration, send: bool) -> Report {
    let mut report = Report {
        checks: Vec::new(),
        not_run: Vec::new(),
    };
    if settings.problems.is_empty() {
        report.push(
            "settings",
            Verdict::pass("the endpoint, protocol and headers read as an exporter reads them"),
        );
    }
    for problem in &settings.problems {
        report.push(
            "settings",
            Verdict::fail(problem.detail.clone(), problem.fix.clone()),
        );
    }
    let url = match Url::parse(&settings.endpoint) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => u,
        _ => {
            report.stop("settings", send);
            return report;
        }
    };
    report.push(
        "path",
        diagnose::path(&url, settings.endpoint_source, settings.protocol),
    );

    let addrs = match checks::resolve(&url) {
        Ok((addrs, verdict)) => {
            report.push("dns", verdict);
            addrs
        }
        Err(verdict) => {
            report.push("dns", verdict);
            report.stop("dns", send);
            return report;
        }
    };
    let stream = match checks::connect(&addrs, timeout) {
        Ok((stream, verdict)) => {
            report.push("connect", verdict);
            stream
        }
        Err(verdict) => {
            report.push("connect", verdict);
            report.stop("connect", send);
            return report;
        }
    };
    let https = url.scheme() == "https";
    let mut answer = checks::probe(stream, &url, https, timeout);
    if matches!(answer, Answer::Closed | Answer::Silent | Answer::Other(_)) {
        // Some servers close on a greeting they do not speak: try the other one, and if that
        // one is answered, the scheme is what is wrong.
        let other = checks::connect(&addrs, timeout)
            .ok()
            .map(|(stream, _)| checks::probe(stream, &url, !https, timeout));
        match other {
            Some(Answer::Tls) if !https => answer = Answer::Tls,
            Some(Answer::Http1(line)) if https => answer = Answer::Http1(line),
            _ => {}
        }
    }
    if !report.push(
        "transport",
        diagnose::transport(&url, settings.protocol, &answer),
    ) {
        report.stop("transport", send);
        return report;
    }

    let Some(base) = diagnose::api_base(&url, settings.protocol, settings.lemma_url.as_deref())
    else {
        report.push(
            "key",
            Verdict::fail(
                "not checked: over gRPC the key is checked through the server's HTTP API, \
                 and nothing says where that is",
                "set LEMMA_URL to the server's HTTP URL (port 4318 by default) and run again",
            ),
        );
        report.stop("key", send);
        return report;
    };
    let auth = settings
        .auth
        .as_ref()
        .map(|a| (a, settings.auth_source.unwrap_or(Source::Default)));
    if !report.push("key", checks::key(&base, auth, &settings.headers, timeout)) {
        report.stop("key", send);
        return report;
    }
    if send {
        // gRPC exporters send to the gRPC port; the test run goes over OTLP/HTTP to the same
        // server.
        let endpoint = if settings.protocol.is_http() {
            settings.endpoint.clone()
        } else {
            endpoint::with_traces_path(base.as_str())
        };
        report.push(
            "test_run",
            checks::test_run(&endpoint, &base, &settings.headers, timeout, READ_BACK_WAIT),
        );
    }
    report
}

fn setting_source(source: Source, derivation: Option<&str>) -> String {
    let from = match source {
        Source::Default => "the default".to_string(),
        other => format!("from {other}"),
    };
    match derivation {
        Some(d) if source != Source::Default => format!("{from} {d}"),
        _ => from,
    }
}

fn print_text(settings: &Settings, report: &Report, no_send: bool) {
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let paint = |code: &str, s: &str| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let key = settings
        .auth
        .as_ref()
        .map_or("none".to_string(), |a| a.describe());
    let header_names: Vec<&str> = settings.headers.iter().map(|(n, _)| n.as_str()).collect();
    let mut rows = vec![
        (
            "endpoint",
            settings.endpoint.clone(),
            setting_source(settings.endpoint_source, settings.endpoint_derivation),
        ),
        (
            "protocol",
            settings.protocol.name().to_string(),
            setting_source(settings.protocol_source, None),
        ),
        (
            "key",
            key,
            settings
                .auth_source
                .map_or(String::new(), |s| setting_source(s, None)),
        ),
    ];
    if let Some(source) = settings.headers_source {
        rows.push((
            "headers",
            header_names.join(", "),
            setting_source(source, None),
        ));
    }
    println!("What an OTLP exporter configured here would use:");
    let width = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    for (name, value, source) in &rows {
        let pad = " ".repeat(width - value.chars().count());
        println!("  {name:<9} {value}{pad}  {source}");
    }
    for note in &settings.notes {
        println!("  note: {note}");
    }
    println!();

    let width = report
        .checks
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0);
    for check in &report.checks {
        let name = check.name.replace('_', " ");
        let mark = if check.verdict.ok {
            paint("32", "✓")
        } else {
            paint("31", "✗")
        };
        println!("{mark} {name:<width$}  {}", check.verdict.detail);
        if let Some(fix) = &check.verdict.fix {
            println!("  {:<width$}  {} {fix}", "", paint("33", "fix:"));
        }
    }
    println!();
    let failed = report.checks.iter().filter(|c| !c.verdict.ok).count();
    if failed == 0 && report.not_run.is_empty() {
        println!(
            "All {} checks passed{}.",
            report.checks.len(),
            if no_send {
                " (no test run: --no-send)"
            } else {
                ""
            }
        );
    } else {
        let mut line = format!("{failed} of {} checks failed", report.checks.len());
        if !report.not_run.is_empty() {
            let names: Vec<String> = report.not_run.iter().map(|n| n.replace('_', " ")).collect();
            line.push_str(&format!(
                "; not run until that is fixed: {}",
                names.join(", ")
            ));
        }
        println!("{line}.");
    }
}

fn to_json(settings: &Settings, report: &Report) -> Value {
    let source = |s: Source| match s {
        Source::Default => Value::from("default"),
        other => Value::from(other.to_string()),
    };
    let checks: Vec<Value> = report
        .checks
        .iter()
        .map(|c| {
            json!({
                "check": c.name,
                "ok": c.verdict.ok,
                "detail": c.verdict.detail,
                "fix": c.verdict.fix,
            })
        })
        .collect();
    json!({
        "ok": report.ok(),
        "settings": {
            "endpoint": {"value": settings.endpoint, "source": source(settings.endpoint_source)},
            "protocol": {"value": settings.protocol.name(), "source": source(settings.protocol_source)},
            "key": settings.auth.as_ref().map(|a| json!({
                "value": a.describe(),
                "source": settings.auth_source.map(source),
            })),
            "headers": settings.headers.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            "notes": settings.notes,
        },
        "checks": checks,
        "not_run": report.not_run,
    })
}
