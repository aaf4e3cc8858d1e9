//! `lemma demo`: loads realistic sample agent runs into a server over OTLP, so a new user
//! sees everything Lemma shows (sub-agents, tool loops, errors, threads, costs) at once.

mod agent;
pub(crate) mod otlp;
mod scenarios;
mod schedule;
pub(crate) mod send;
pub(crate) mod spec;

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use clap::Args;
use rand::Rng;

use crate::{client, Remote};

/// The sample content is the same on every invocation; only ids and times change.
const SEED: u64 = 0x1e33a;

#[derive(Args)]
pub struct DemoArgs {
    /// The Lemma server.
    #[arg(long, env = "LEMMA_URL", default_value = "http://127.0.0.1:4318")]
    pub url: String,
    /// An API key of the project to load the sample runs into.
    #[arg(
        long,
        visible_alias = "key",
        env = "LEMMA_API_KEY",
        hide_env_values = true
    )]
    pub api_key: Option<String>,
}

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let url = args.url.trim_end_matches('/').to_string();
    let remote = Remote {
        url: url.clone(),
        api_key: args.api_key,
        json: false,
    };
    // Asking for the project first checks the server and the key, with the API's own
    // messages, before anything is sent.
    let project = client::call(&remote, reqwest::Method::GET, &["project"], &[], None)?;
    let key = remote.api_key.as_deref().unwrap_or_default();

    let thread_id = format!("demo-thread-{:08x}", rand::rng().random::<u32>());
    let demo = scenarios::build(SEED, &thread_id);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the system clock is before 1970")?
        .as_nanos() as u64;
    let timing: Vec<(u64, u32)> = demo
        .runs
        .iter()
        .map(|r| (r.root.total_ms(), r.minutes_after_previous))
        .collect();
    let roots: Vec<_> = demo
        .runs
        .iter()
        .zip(schedule::starts(now, &timing))
        .map(|(r, start)| (&r.root, start))
        .collect();
    let (requests, run_ids) = otlp::requests(&roots);

    let exporter = send::Exporter::new(&url, key)?;
    for request in &requests {
        exporter.export(request)?;
    }
    let mut scores = 0;
    for (run, run_id) in demo.runs.iter().zip(&run_ids) {
        if run.scores.is_empty() {
            continue;
        }
        let metrics: Vec<serde_json::Value> = run.scores.iter().map(|s| s.body()).collect();
        let body = serde_json::json!({ "metrics": metrics });
        client::call(
            &remote,
            reqwest::Method::POST,
            &["runs", run_id, "metrics"],
            &[],
            Some(&body),
        )?;
        scores += metrics.len();
    }

    let spans: usize = demo.runs.iter().map(|r| r.root.count()).sum();
    let long_spans = demo.runs[demo.long_run].root.count();
    println!(
        "Loaded {} sample runs ({spans} spans, {scores} scores, service {}) into project {} at \
         {url}.\n",
        demo.runs.len(),
        otlp::SERVICE_NAME,
        project["project"]["name"],
    );
    println!(
        "  long run   {}  {long_spans} spans; {} called {} times in a row",
        run_ids[demo.long_run],
        scenarios::LOOP_TOOL,
        scenarios::LOOP_REPEATS
    );
    println!(
        "  failed run {}  a refund the payments API rejected",
        run_ids[demo.failed_run]
    );
    println!(
        "  sub-agent  {}  research-agent hands a web search to web-researcher",
        run_ids[demo.sub_agent_run]
    );
    println!(
        "  thread     {thread_id}  {} turns with support-agent\n",
        demo.thread.len()
    );
    println!("Open the long run: {url}/runs/{}", run_ids[demo.long_run]);
    println!("Or from here: lemma runs service:{}", otlp::SERVICE_NAME);
    println!("              lemma thread {thread_id}");
    Ok(())
}
