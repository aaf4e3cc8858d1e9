//! `lemma alerts ...`: alert rules, their channels, test sends and the history, over the REST
//! API.

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{json, Value};

use crate::client::{call, print_json};
use crate::render::Table;
use crate::Remote;

#[derive(Subcommand)]
pub enum AlertsCommand {
    /// The project's rules.
    Rules {
        #[command(flatten)]
        remote: Remote,
    },
    /// Add a rule: by default it fires for each run the query matches (while the run is still
    /// going, too); with --measure it watches a window of runs instead.
    AddRule(AddRule),
    /// Turn a rule on.
    Enable {
        rule_id: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Turn a rule off (it keeps its history).
    Disable {
        rule_id: String,
        #[command(flatten)]
        remote: Remote,
    },
    DeleteRule {
        rule_id: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// The project's channels (never their secrets).
    Channels {
        #[command(flatten)]
        remote: Remote,
    },
    /// Add a channel: a webhook receiving each event as JSON, or a Slack incoming webhook.
    AddChannel {
        name: String,
        /// Where events are POSTed (http or https).
        webhook_url: String,
        /// A Slack-compatible incoming webhook.
        #[arg(long)]
        slack: bool,
        /// Signs each request (X-Lemma-Signature: t=<unix>,v1=<HMAC-SHA256 of "<t>.<body>">).
        #[arg(long, env = "LEMMA_ALERT_SECRET", hide_env_values = true)]
        secret: Option<String>,
        #[command(flatten)]
        remote: Remote,
    },
    DeleteChannel {
        channel_id: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Send a test event to a channel now and say what it answered.
    Test {
        channel_id: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// What fired and resolved, newest first, with each delivery's outcome.
    Events {
        #[arg(long)]
        rule: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[command(flatten)]
        remote: Remote,
    },
}

#[derive(Args)]
pub struct AddRule {
    name: String,
    /// Which runs, in the query language (`signal.severity:critical env:prod`); every run
    /// when left out.
    #[arg(long, default_value = "")]
    query: String,
    /// Watch a window instead: count, error_rate, p95_latency_ms or cost_usd.
    #[arg(long, requires = "threshold")]
    measure: Option<String>,
    /// `>`, `>=`, `<` or `<=`.
    #[arg(long, default_value = ">")]
    op: String,
    #[arg(long, allow_negative_numbers = true)]
    threshold: Option<f64>,
    /// The window, in seconds.
    #[arg(long, default_value_t = 300)]
    window_secs: u64,
    /// A channel to notify (repeat for more).
    #[arg(long = "channel")]
    channels: Vec<String>,
    #[command(flatten)]
    remote: Remote,
}

pub fn run(cmd: AlertsCommand) -> anyhow::Result<()> {
    match cmd {
        AlertsCommand::Rules { remote } => rules(&remote),
        AlertsCommand::AddRule(a) => {
            let condition = match &a.measure {
                None => json!({"type": "each_run"}),
                Some(m) => json!({"type": "window", "measure": m, "op": a.op,
                                  "threshold": a.threshold, "window_secs": a.window_secs}),
            };
            let body = json!({"name": a.name, "query": a.query, "condition": condition,
                              "channels": a.channels});
            let answer = call(
                &a.remote,
                Method::POST,
                &["alerts", "rules"],
                &[],
                Some(&body),
            )?;
            if a.remote.json {
                return print_json(&answer);
            }
            println!("Added rule {}.", text(&answer["rule"]["id"]));
            Ok(())
        }
        AlertsCommand::Enable { rule_id, remote } => set_enabled(&remote, &rule_id, true),
        AlertsCommand::Disable { rule_id, remote } => set_enabled(&remote, &rule_id, false),
        AlertsCommand::DeleteRule { rule_id, remote } => {
            call(
                &remote,
                Method::DELETE,
                &["alerts", "rules", &rule_id],
                &[],
                None,
            )?;
            println!("Deleted rule {rule_id}; its history stays.");
            Ok(())
        }
        AlertsCommand::Channels { remote } => {
            let answer = call(&remote, Method::GET, &["alerts", "channels"], &[], None)?;
            if remote.json {
                return print_json(&answer);
            }
            let mut t = Table::new(&["ID", "NAME", "KIND", "SIGNED", "URL"]);
            for c in answer["channels"].as_array().into_iter().flatten() {
                t.row(vec![
                    text(&c["id"]),
                    text(&c["name"]),
                    text(&c["kind"]),
                    if c["signed"] == true { "yes" } else { "no" }.into(),
                    text(&c["url"]),
                ]);
            }
            t.print();
            Ok(())
        }
        AlertsCommand::AddChannel {
            name,
            webhook_url: url,
            slack,
            secret,
            remote,
        } => {
            let kind = if slack { "slack" } else { "webhook" };
            let mut body = json!({"name": name, "kind": kind, "url": url});
            if let Some(s) = secret {
                body["secret"] = json!(s);
            }
            let answer = call(
                &remote,
                Method::POST,
                &["alerts", "channels"],
                &[],
                Some(&body),
            )?;
            if remote.json {
                return print_json(&answer);
            }
            println!(
                "Added channel {}. Try it with `lemma alerts test {}`.",
                text(&answer["channel"]["id"]),
                text(&answer["channel"]["id"])
            );
            Ok(())
        }
        AlertsCommand::DeleteChannel { channel_id, remote } => {
            call(
                &remote,
                Method::DELETE,
                &["alerts", "channels", &channel_id],
                &[],
                None,
            )?;
            println!("Deleted channel {channel_id}.");
            Ok(())
        }
        AlertsCommand::Test { channel_id, remote } => {
            let answer = call(
                &remote,
                Method::POST,
                &["alerts", "channels", &channel_id, "test"],
                &[],
                None,
            )?;
            if remote.json {
                return print_json(&answer);
            }
            match answer["delivered"].as_bool() {
                Some(true) => println!("Delivered: the receiver answered {}.", answer["status"]),
                _ => anyhow::bail!("not delivered: {}", text(&answer["error"])),
            }
            Ok(())
        }
        AlertsCommand::Events {
            rule,
            limit,
            remote,
        } => {
            let mut query = vec![("limit", limit.to_string())];
            query.extend(rule.map(|r| ("rule", r)));
            let answer = call(&remote, Method::GET, &["alerts", "events"], &query, None)?;
            if remote.json {
                return print_json(&answer);
            }
            let mut t = Table::new(&["WHEN", "RULE", "STATE", "DELIVERED", "WHAT"]);
            for e in answer["events"].as_array().into_iter().flatten() {
                let deliveries = e["deliveries"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let done = deliveries
                    .iter()
                    .filter(|d| d["status"] == "delivered")
                    .count();
                t.row(vec![
                    crate::render::time_ago(e["at_unix_nano"].as_u64().unwrap_or(0)),
                    text(&e["rule_name"]),
                    text(&e["state"]),
                    format!("{done}/{}", deliveries.len()),
                    text(&e["message"]),
                ]);
            }
            t.print();
            Ok(())
        }
    }
}

fn rules(remote: &Remote) -> anyhow::Result<()> {
    let answer = call(remote, Method::GET, &["alerts", "rules"], &[], None)?;
    if remote.json {
        return print_json(&answer);
    }
    let mut t = Table::new(&["ID", "NAME", "ON", "WHEN", "QUERY", "CHANNELS"]);
    for r in answer["rules"].as_array().into_iter().flatten() {
        let c = &r["condition"];
        let when = match c["type"].as_str() {
            Some("window") => format!(
                "{} {} {} over {} s",
                text(&c["measure"]),
                text(&c["op"]),
                c["threshold"],
                c["window_secs"]
            ),
            _ => "each run".into(),
        };
        t.row(vec![
            text(&r["id"]),
            text(&r["name"]),
            if r["enabled"] == true { "yes" } else { "no" }.into(),
            when,
            text(&r["query"]),
            r["channels"]
                .as_array()
                .map(|c| c.len())
                .unwrap_or(0)
                .to_string(),
        ]);
    }
    t.print();
    Ok(())
}

fn set_enabled(remote: &Remote, rule_id: &str, on: bool) -> anyhow::Result<()> {
    let answer = call(remote, Method::GET, &["alerts", "rules"], &[], None)?;
    let mut rule: Value = answer["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["id"] == rule_id)
        .cloned()
        .ok_or_else(|| {
            anyhow::anyhow!("no alert rule {rule_id:?}: `lemma alerts rules` lists them")
        })?;
    rule["enabled"] = json!(on);
    call(
        remote,
        Method::PUT,
        &["alerts", "rules", rule_id],
        &[],
        Some(&rule),
    )?;
    println!("Rule {rule_id} is {}.", if on { "on" } else { "off" });
    Ok(())
}

fn text(v: &Value) -> String {
    v.as_str().map(str::to_string).unwrap_or_else(|| "-".into())
}
