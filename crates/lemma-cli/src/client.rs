//! The remote commands: call the REST API and print what it says.

use anyhow::{bail, Context};
use serde_json::Value;

use crate::render::{self, Table};
use crate::Remote;

/// GET `/api/v1/<segments...>`, each segment percent-encoded.
pub fn get(remote: &Remote, segments: &[&str], query: &[(&str, String)]) -> anyhow::Result<Value> {
    call(remote, reqwest::Method::GET, segments, query, None)
}

/// `/api/v1/<segments...>` with a method and an optional JSON body; the answer's JSON, or its
/// error message as the error.
pub fn call(
    remote: &Remote,
    method: reqwest::Method,
    segments: &[&str],
    query: &[(&str, String)],
    body: Option<&Value>,
) -> anyhow::Result<Value> {
    let Some(key) = remote.api_key.as_deref() else {
        bail!(
            "no API key: pass --api-key or set LEMMA_API_KEY (create one with `lemma keys create`)"
        );
    };
    let mut url = reqwest::Url::parse(&remote.url)
        .with_context(|| format!("{:?} is not a URL (e.g. http://127.0.0.1:4318)", remote.url))?;
    url.path_segments_mut()
        .map_err(|_| anyhow::anyhow!("{:?} cannot be a base URL", remote.url))?
        .pop_if_empty()
        .extend(["api", "v1"])
        .extend(segments);
    let mut request = reqwest::blocking::Client::new()
        .request(method, url.clone())
        .bearer_auth(key)
        .query(query);
    if let Some(body) = body {
        request = request.json(body);
    }
    let resp = request.send().with_context(|| {
        format!(
            "could not reach Lemma at {} (is `lemma serve` running?)",
            remote.url
        )
    })?;
    let status = resp.status();
    let bytes = resp
        .bytes()
        .with_context(|| format!("reading the answer of {url}"))?;
    // 204 No Content (a deletion) has no body.
    let body: Value = if bytes.is_empty() && status.is_success() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).with_context(|| format!("{url} did not answer JSON"))?
    };
    if !status.is_success() {
        let message = body["error"]["message"]
            .as_str()
            .unwrap_or("no message")
            .to_string();
        return Err(Refused { status, message }.into());
    }
    Ok(body)
}

/// An error answer of the API, kept typed so a caller can act on its status.
#[derive(Debug)]
pub struct Refused {
    pub status: reqwest::StatusCode,
    pub message: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.status)
    }
}

impl std::error::Error for Refused {}

pub fn print_json(v: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

pub fn runs(
    remote: &Remote,
    query: &str,
    limit: usize,
    sort: &str,
    ascending: bool,
) -> anyhow::Result<()> {
    let order = if ascending { "asc" } else { "desc" };
    let body = get(
        remote,
        &["runs"],
        &[
            ("q", query.to_string()),
            ("limit", limit.to_string()),
            ("sort", sort.to_string()),
            ("order", order.to_string()),
        ],
    )?;
    if remote.json {
        return print_json(&body);
    }
    let runs = body["runs"].as_array().cloned().unwrap_or_default();
    if runs.is_empty() {
        println!(
            "No runs{}.",
            if query.is_empty() {
                String::new()
            } else {
                format!(" match {query:?}")
            }
        );
        return Ok(());
    }
    let mut t = Table::new(&[
        "RUN", "STARTED", "AGENT", "STATUS", "DURATION", "SPANS", "TOKENS", "COST", "THREAD",
        "SIGNALS", "INPUT",
    ]);
    for r in &runs {
        t.row(vec![
            text(&r["run_id"]),
            render::time_ago(r["start_time_unix_nano"].as_u64().unwrap_or(0)),
            text(&r["agent_name"]).or_dash(),
            render::status(
                r["status"].as_str().unwrap_or(""),
                r["error_count"].as_u64().unwrap_or(0),
            ),
            render::duration_ms(r["duration_ms"].as_f64().unwrap_or(0.0)),
            text(&r["span_count"]),
            render::count(r["total_tokens"].as_u64().unwrap_or(0)),
            render::cost(r["cost_usd"].as_f64()),
            text(&r["thread_id"]).or_dash(),
            signal_names(&r["signals"]),
            render::preview(&r["input"], 40),
        ]);
    }
    t.print();
    if let Some(c) = body["next_cursor"].as_str() {
        println!("\nMore runs: --limit {} (next cursor {c})", limit * 2);
    }
    Ok(())
}

/// One run: its summary and span tree, or a page of its transcript. A run too long to read
/// whole is read in windows, a page at `budget.offset`.
pub fn run(
    remote: &Remote,
    run_id: &str,
    transcript: bool,
    budget: lemma_core::present::Budget,
) -> anyhow::Result<()> {
    let body = match get(remote, &["runs", run_id], &[]) {
        Err(e) if e.downcast_ref::<Refused>().is_some_and(|r| r.status == 422) => {
            return long_run(remote, run_id, transcript, budget);
        }
        other => other?,
    };
    if remote.json {
        return print_json(&body);
    }
    if transcript {
        let run: lemma_core::Run =
            serde_json::from_value(body["run"].clone()).context("the run is not a RUN object")?;
        let spans: Vec<lemma_core::Span> = serde_json::from_value(body["spans"].clone())
            .context("the spans are not SPAN objects")?;
        print!(
            "{}",
            lemma_core::present::transcript(&run, &spans, &budget).text
        );
        return Ok(());
    }
    if budget.offset > 0 {
        bail!(
            "--offset pages a transcript (add --transcript) or the tree of a run too long to \
             read whole; run {run_id}'s tree is shown whole"
        );
    }
    print_summary(&body["run"]);
    let spans = body["spans"].as_array().cloned().unwrap_or_default();
    print!("{}", render::span_tree(&spans));
    Ok(())
}

/// A page of a run read in windows: outline rows for the tree, steps for the transcript.
fn long_run(
    remote: &Remote,
    run_id: &str,
    transcript: bool,
    budget: lemma_core::present::Budget,
) -> anyhow::Result<()> {
    use lemma_core::present::{transcript_window, tree_window, WindowRow, WindowStep};
    let offset = budget.offset.to_string();
    let rows = lemma_core::present::rows_for(budget.max_chars).to_string();
    let outline_query = if transcript {
        [("offset", "0".to_string()), ("limit", "1".to_string())]
    } else {
        [("offset", offset.clone()), ("limit", rows)]
    };
    let outline = get(remote, &["runs", run_id, "outline"], &outline_query)?;
    let window = if transcript {
        let steps = lemma_core::present::steps_for(budget.max_chars).to_string();
        Some(get(
            remote,
            &["runs", run_id, "transcript"],
            &[("from", offset), ("limit", steps)],
        )?)
    } else {
        None
    };
    if remote.json {
        return print_json(window.as_ref().unwrap_or(&outline));
    }
    let run: lemma_core::Run =
        serde_json::from_value(outline["run"].clone()).context("the run is not a RUN object")?;
    let page = match &window {
        Some(w) => {
            let steps: Vec<WindowStep> = serde_json::from_value(w["steps"].clone())
                .context("the transcript's steps are not STEP objects")?;
            let total = w["total_steps"].as_u64().unwrap_or(0) as usize;
            transcript_window(&run, &steps, budget.offset, total, &budget)
        }
        None => {
            let rows: Vec<WindowRow> = serde_json::from_value(outline["rows"].clone())
                .context("the outline's rows are not ROW objects")?;
            let total = outline["total"].as_u64().unwrap_or(0) as usize;
            if budget.offset == 0 {
                print_summary(&outline["run"]);
            }
            tree_window(&run, &rows, budget.offset, total, &budget)
        }
    };
    print!("{}", page.text);
    Ok(())
}

/// The names of a run's signals, most severe first: `error_streak,loop`.
fn signal_names(signals: &Value) -> String {
    let names: Vec<&str> = signals
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["kind"].as_str())
        .collect();
    match names.is_empty() {
        true => "-".into(),
        false => names.join(","),
    }
}

/// A run's summary lines, above its tree.
fn print_summary(r: &Value) {
    println!("{}  {}", text(&r["name"]), text(&r["run_id"]));
    println!(
        "status {}  duration {}  spans {}  tokens {} (in {}, out {})  cost {}",
        render::status(
            r["status"].as_str().unwrap_or(""),
            r["error_count"].as_u64().unwrap_or(0)
        ),
        render::duration_ms(r["duration_ms"].as_f64().unwrap_or(0.0)),
        text(&r["span_count"]),
        render::count(r["total_tokens"].as_u64().unwrap_or(0)),
        render::count(r["input_tokens"].as_u64().unwrap_or(0)),
        render::count(r["output_tokens"].as_u64().unwrap_or(0)),
        render::cost(r["cost_usd"].as_f64()),
    );
    for (label, key) in [
        ("agent", "agent_name"),
        ("thread", "thread_id"),
        ("user", "user_id"),
        ("env", "environment"),
    ] {
        if let Some(v) = r[key].as_str() {
            println!("{label} {v}");
        }
    }
    for s in r["signals"].as_array().into_iter().flatten() {
        println!(
            "signal {} {}: {}",
            text(&s["severity"]),
            text(&s["kind"]),
            text(&s["explanation"])
        );
    }
    let metrics = r["metrics"].as_array().cloned().unwrap_or_default();
    if !metrics.is_empty() {
        println!("metrics");
        print!("{}", render::metrics(&metrics));
    }
    if r["has_root"] == Value::Bool(false) {
        println!("(the root span has not arrived yet; showing the top-most span present)");
    }
    println!();
}

/// A metric event as `lemma metric` posts it.
#[derive(serde::Serialize)]
pub struct NewMetric {
    pub name: String,
    pub value: lemma_core::MetricValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
}

pub fn delete_run(remote: &Remote, run_id: &str) -> anyhow::Result<()> {
    call(
        remote,
        reqwest::Method::DELETE,
        &["runs", run_id],
        &[],
        None,
    )?;
    if remote.json {
        return print_json(&serde_json::json!({ "deleted": run_id }));
    }
    println!("Deleted run {run_id}, its spans, metric events and log records.");
    Ok(())
}

pub fn metric(remote: &Remote, run_id: &str, metric: &NewMetric) -> anyhow::Result<()> {
    let body = serde_json::to_value(metric)?;
    let answer = call(
        remote,
        reqwest::Method::POST,
        &["runs", run_id, "metrics"],
        &[],
        Some(&body),
    )?;
    if remote.json {
        return print_json(&answer);
    }
    let stored = answer["metrics"].as_array().cloned().unwrap_or_default();
    print!("{}", render::metrics(&stored));
    Ok(())
}

pub fn threads(remote: &Remote, query: &str, limit: usize) -> anyhow::Result<()> {
    let body = get(
        remote,
        &["threads"],
        &[("q", query.to_string()), ("limit", limit.to_string())],
    )?;
    if remote.json {
        return print_json(&body);
    }
    let threads = body["threads"].as_array().cloned().unwrap_or_default();
    if threads.is_empty() {
        println!("No threads.");
        return Ok(());
    }
    let mut t = Table::new(&[
        "THREAD",
        "LAST ACTIVE",
        "RUNS",
        "ERRORS",
        "TOKENS",
        "COST",
        "USER",
        "AGENTS",
    ]);
    for th in &threads {
        t.row(vec![
            text(&th["thread_id"]),
            render::time_ago(th["last_start_time_unix_nano"].as_u64().unwrap_or(0)),
            text(&th["run_count"]),
            text(&th["error_count"]),
            render::count(th["total_tokens"].as_u64().unwrap_or(0)),
            render::cost(th["cost_usd"].as_f64()),
            text(&th["user_id"]).or_dash(),
            th["agent_names"]
                .as_array()
                .map(|a| a.iter().map(text).collect::<Vec<_>>().join(", "))
                .unwrap_or_default(),
        ]);
    }
    t.print();
    Ok(())
}

pub fn thread(remote: &Remote, thread_id: &str) -> anyhow::Result<()> {
    let body = get(remote, &["threads", thread_id], &[])?;
    if remote.json {
        return print_json(&body);
    }
    let th = &body["thread"];
    println!(
        "thread {}  runs {}  tokens {}  cost {}",
        text(&th["thread_id"]),
        text(&th["run_count"]),
        render::count(th["total_tokens"].as_u64().unwrap_or(0)),
        render::cost(th["cost_usd"].as_f64())
    );
    for (i, r) in body["runs"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        println!(
            "\n#{} {}  {}  {}  {}",
            i + 1,
            text(&r["run_id"]),
            text(&r["start_time"]),
            render::status(
                r["status"].as_str().unwrap_or(""),
                r["error_count"].as_u64().unwrap_or(0)
            ),
            render::duration_ms(r["duration_ms"].as_f64().unwrap_or(0.0)),
        );
        println!("   in:  {}", render::preview(&r["input"], 100));
        println!("   out: {}", render::preview(&r["output"], 100));
    }
    Ok(())
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

trait OrDash {
    fn or_dash(self) -> String;
}

impl OrDash for String {
    fn or_dash(self) -> String {
        if self.is_empty() {
            "-".into()
        } else {
            self
        }
    }
}
