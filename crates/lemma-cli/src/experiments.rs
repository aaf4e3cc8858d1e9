//! `lemma datasets ...` and `lemma experiments ...`: datasets of test cases and experiments
//! over them, over the REST API. `lemma experiments compare A B --fail-on-regression` exits
//! non-zero when a case got worse, so it can gate CI.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Subcommand;
use lemma_core::experiments::{from_csv, from_jsonl, to_csv, to_jsonl, Case};
use reqwest::Method;
use serde_json::{json, Value};

use crate::client::{call, print_json};
use crate::render::{self, Table};
use crate::Remote;

#[derive(Subcommand)]
pub enum DatasetsCommand {
    /// The project's datasets at their latest versions.
    List {
        #[command(flatten)]
        remote: Remote,
    },
    /// A dataset's cases (the latest version unless --version).
    Show {
        name: String,
        #[arg(long)]
        version: Option<u32>,
        #[command(flatten)]
        remote: Remote,
    },
    /// A dataset's cases as JSON lines or CSV, on standard output.
    Export {
        name: String,
        #[arg(long)]
        version: Option<u32>,
        #[arg(long, value_parser = ["jsonl", "csv"], default_value = "jsonl")]
        format: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Add the cases of a JSON lines or CSV file as a new version (the dataset is made when
    /// missing). CSV: a header with `input` and any of `id`, `expected`, `tags` (`;`
    /// between), `metadata.<key>`.
    Import {
        name: String,
        file: PathBuf,
        /// jsonl or csv; by default from the file's extension.
        #[arg(long, value_parser = ["jsonl", "csv"])]
        format: Option<String>,
        #[command(flatten)]
        remote: Remote,
    },
    /// Delete a dataset and every version; its experiments stay.
    Delete {
        name: String,
        #[command(flatten)]
        remote: Remote,
    },
}

#[derive(Subcommand)]
pub enum ExperimentsCommand {
    /// The project's experiments, newest first.
    List {
        #[arg(long)]
        dataset: Option<String>,
        #[command(flatten)]
        remote: Remote,
    },
    /// Two or more experiments side by side, case by case; the first is the baseline.
    Compare {
        #[arg(required = true, num_args = 2..=10)]
        experiments: Vec<String>,
        /// Only the cases whose results differ.
        #[arg(long)]
        changed: bool,
        /// Exit with status 1 when any case got worse than in the baseline.
        #[arg(long)]
        fail_on_regression: bool,
        #[command(flatten)]
        remote: Remote,
    },
}

pub fn datasets(cmd: DatasetsCommand) -> anyhow::Result<()> {
    match cmd {
        DatasetsCommand::List { remote } => {
            let answer = call(&remote, Method::GET, &["datasets"], &[], None)?;
            if remote.json {
                return print_json(&answer);
            }
            let mut t = Table::new(&["DATASET", "VERSION", "CASES", "UPDATED", "DESCRIPTION"]);
            for d in answer["datasets"].as_array().into_iter().flatten() {
                t.row(vec![
                    text(&d["name"]),
                    d["version"].to_string(),
                    d["cases"].to_string(),
                    render::time_ago(d["updated_at_unix_nano"].as_u64().unwrap_or(0)),
                    text(&d["description"]),
                ]);
            }
            t.print();
            Ok(())
        }
        DatasetsCommand::Show {
            name,
            version,
            remote,
        } => {
            let answer = dataset(&remote, &name, version)?;
            if remote.json {
                return print_json(&answer);
            }
            println!("{} version {}", text(&answer["name"]), answer["version"]);
            let mut t = Table::new(&["CASE", "INPUT", "EXPECTED", "TAGS"]);
            for c in answer["cases"].as_array().into_iter().flatten() {
                t.row(vec![
                    text(&c["id"]),
                    render::preview(&c["input"], 50),
                    render::preview(&c["expected"], 40),
                    c["tags"]
                        .as_array()
                        .map(|t| t.iter().map(text).collect::<Vec<_>>().join(","))
                        .unwrap_or_default(),
                ]);
            }
            t.print();
            Ok(())
        }
        DatasetsCommand::Export {
            name,
            version,
            format,
            remote,
        } => {
            let answer = dataset(&remote, &name, version)?;
            let cases: Vec<Case> = serde_json::from_value(answer["cases"].clone())?;
            print!(
                "{}",
                if format == "csv" {
                    to_csv(&cases)
                } else {
                    to_jsonl(&cases)
                }
            );
            Ok(())
        }
        DatasetsCommand::Import {
            name,
            file,
            format,
            remote,
        } => {
            let content = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let format =
                format.unwrap_or_else(|| match file.extension().and_then(|e| e.to_str()) {
                    Some("csv") => "csv".into(),
                    _ => "jsonl".into(),
                });
            let cases = match format.as_str() {
                "csv" => from_csv(&content),
                _ => from_jsonl(&content),
            }
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let n = cases.len();
            let answer = call(
                &remote,
                Method::POST,
                &["datasets", &name, "cases"],
                &[],
                Some(&json!({ "cases": cases })),
            )?;
            if remote.json {
                return print_json(&answer);
            }
            println!(
                "Added {n} cases: dataset {name} is at version {} with {} cases.",
                answer["version"],
                answer["cases"].as_array().map_or(0, Vec::len)
            );
            Ok(())
        }
        DatasetsCommand::Delete { name, remote } => {
            call(&remote, Method::DELETE, &["datasets", &name], &[], None)?;
            println!("Deleted dataset {name}; its experiments stay.");
            Ok(())
        }
    }
}

fn dataset(remote: &Remote, name: &str, version: Option<u32>) -> anyhow::Result<Value> {
    let query: Vec<(&str, String)> = version
        .map(|v| ("version", v.to_string()))
        .into_iter()
        .collect();
    call(remote, Method::GET, &["datasets", name], &query, None)
}

pub fn experiments(cmd: ExperimentsCommand) -> anyhow::Result<()> {
    match cmd {
        ExperimentsCommand::List { dataset, remote } => {
            let query: Vec<(&str, String)> = dataset.map(|d| ("dataset", d)).into_iter().collect();
            let answer = call(&remote, Method::GET, &["experiments"], &query, None)?;
            if remote.json {
                return print_json(&answer);
            }
            let mut t = Table::new(&["EXPERIMENT", "DATASET", "VERSION", "CREATED", "DESCRIPTION"]);
            for e in answer["experiments"].as_array().into_iter().flatten() {
                t.row(vec![
                    text(&e["name"]),
                    text(&e["dataset"]),
                    e["dataset_version"].to_string(),
                    render::time_ago(e["created_at_unix_nano"].as_u64().unwrap_or(0)),
                    text(&e["description"]),
                ]);
            }
            t.print();
            Ok(())
        }
        ExperimentsCommand::Compare {
            experiments,
            changed,
            fail_on_regression,
            remote,
        } => {
            let mut query = vec![("experiments", experiments.join(","))];
            if changed {
                query.push(("changed", "true".into()));
            }
            let answer = call(&remote, Method::GET, &["compare"], &query, None)?;
            if remote.json {
                print_json(&answer)?;
            } else {
                print_comparison(&answer);
            }
            let regressions = answer["regressions"].as_u64().unwrap_or(0);
            if fail_on_regression && regressions > 0 {
                bail!("{regressions} cases got worse than in {}", experiments[0]);
            }
            Ok(())
        }
    }
}

fn print_comparison(c: &Value) {
    let exps = c["experiments"].as_array().cloned().unwrap_or_default();
    let mut t = Table::new(&["EXPERIMENT", "ANSWERED", "FAILED", "P50", "TOKENS", "COST"]);
    for e in &exps {
        t.row(vec![
            text(&e["name"]),
            e["answered"].to_string(),
            e["failed"].to_string(),
            e["p50_duration_ms"]
                .as_f64()
                .map(render::duration_ms)
                .unwrap_or_else(|| "-".into()),
            render::count(e["total_tokens"].as_u64().unwrap_or(0)),
            render::cost(e["cost_usd"].as_f64()),
        ]);
    }
    t.print();
    let scores = c["scores"].as_array().cloned().unwrap_or_default();
    if !scores.is_empty() {
        println!();
        let mut t = Table::new(&["SCORE", "MEANS", "DELTA"]);
        for s in &scores {
            let means: Vec<String> = s["means"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| {
                    m.as_f64()
                        .map(|x| format!("{x:.3}"))
                        .unwrap_or_else(|| "-".into())
                })
                .collect();
            t.row(vec![
                text(&s["name"]),
                means.join(" → "),
                s["delta"]
                    .as_f64()
                    .map(|d| format!("{d:+.3}"))
                    .unwrap_or_else(|| "-".into()),
            ]);
        }
        t.print();
    }
    let worse: Vec<&Value> = c["cases"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["regression"] == true)
        .collect();
    println!(
        "\n{} cases, {} changed, {} worse than the baseline",
        c["cases"].as_array().map_or(0, Vec::len),
        c["changed"],
        c["regressions"]
    );
    for r in worse {
        let reasons: Vec<String> = r["reasons"]
            .as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect();
        println!("  {}: {}", text(&r["case_id"]), reasons.join("; "));
    }
}

fn text(v: &Value) -> String {
    v.as_str().map(str::to_string).unwrap_or_else(|| "-".into())
}
