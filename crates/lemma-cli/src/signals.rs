//! `lemma signals ...`: a run's signals, the project's thresholds and signal counts, over the
//! REST API.

use clap::Subcommand;
use reqwest::Method;
use serde_json::Value;

use crate::client::{call, print_json};
use crate::render::Table;
use crate::Remote;

#[derive(Subcommand)]
pub enum SignalsCommand {
    /// What is worth a look in a run, evaluated now over every span the server has.
    Show {
        run_id: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// The project's thresholds.
    Settings {
        #[command(flatten)]
        remote: Remote,
    },
    /// Change thresholds: `lemma signals set error_streak=5 stall_after_secs=120`. The others
    /// keep their values.
    Set {
        /// `name=value` pairs; `lemma signals settings` lists the names.
        #[arg(required = true)]
        changes: Vec<String>,
        #[command(flatten)]
        remote: Remote,
    },
    /// How many runs had each signal, by the time they started.
    Counts {
        /// Runs started since, such as 24h or 7d.
        #[arg(long, default_value = "24h")]
        from: String,
        /// Bucket width such as 1h or 1d (chosen when left out).
        #[arg(long)]
        bucket: Option<String>,
        #[command(flatten)]
        remote: Remote,
    },
}

pub fn run(cmd: SignalsCommand) -> anyhow::Result<()> {
    match cmd {
        SignalsCommand::Show { run_id, remote } => {
            let answer = call(
                &remote,
                Method::GET,
                &["runs", &run_id, "signals"],
                &[],
                None,
            )?;
            if remote.json {
                return print_json(&answer);
            }
            let state = match answer["in_progress"].as_bool() {
                Some(true) => "in progress",
                _ => "ended",
            };
            println!("Run {run_id} ({state}, {} spans)", answer["span_count"]);
            print_signals(&answer["signals"]);
            Ok(())
        }
        SignalsCommand::Settings { remote } => {
            let answer = call(&remote, Method::GET, &["signals", "settings"], &[], None)?;
            print_json(&answer)
        }
        SignalsCommand::Set { changes, remote } => {
            let mut settings = call(&remote, Method::GET, &["signals", "settings"], &[], None)?;
            for change in &changes {
                let (name, value) = change
                    .split_once('=')
                    .ok_or_else(|| anyhow::anyhow!("expected name=value, not {change:?}"))?;
                if settings.get(name).is_none() {
                    anyhow::bail!("no threshold {name:?}: `lemma signals settings` lists them");
                }
                // Numbers and booleans as JSON; the server says what is out of range.
                let value: Value = serde_json::from_str(value).map_err(|_| {
                    anyhow::anyhow!("{name} takes a number (or true/false), not {value:?}")
                })?;
                settings[name] = value;
            }
            let answer = call(
                &remote,
                Method::PUT,
                &["signals", "settings"],
                &[],
                Some(&settings),
            )?;
            if remote.json {
                return print_json(&answer);
            }
            println!("Saved. Runs are judged by the new thresholds from their next evaluation.");
            Ok(())
        }
        SignalsCommand::Counts {
            from,
            bucket,
            remote,
        } => {
            let mut query = vec![("from", from)];
            query.extend(bucket.map(|b| ("bucket", b)));
            let answer = call(&remote, Method::GET, &["stats", "signals"], &query, None)?;
            if remote.json {
                return print_json(&answer);
            }
            let mut t = Table::new(&["BUCKET", "SIGNAL", "SEVERITY", "RUNS"]);
            for c in answer["counts"].as_array().into_iter().flatten() {
                t.row(vec![
                    text(&c["time"]),
                    text(&c["name"]),
                    text(&c["severity"]),
                    c["runs"].to_string(),
                ]);
            }
            t.print();
            Ok(())
        }
    }
}

/// One line per signal: severity, name, explanation, span.
pub fn print_signals(signals: &Value) {
    let list = signals.as_array().map(Vec::as_slice).unwrap_or_default();
    if list.is_empty() {
        println!("No signals.");
        return;
    }
    let mut t = Table::new(&["SEVERITY", "SIGNAL", "SPAN", "WHAT"]);
    for s in list {
        t.row(vec![
            text(&s["severity"]),
            text(&s["kind"]),
            text(&s["span_id"]),
            text(&s["explanation"]),
        ]);
    }
    t.print();
}

fn text(v: &Value) -> String {
    v.as_str().map(str::to_string).unwrap_or_else(|| "-".into())
}
