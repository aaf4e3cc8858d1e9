//! `lemma prices ...`: the project's model prices, over the REST API.

use clap::Subcommand;
use lemma_core::pricing::Price;
use reqwest::Method;
use serde_json::Value;

use crate::client::{call, print_json};
use crate::render::Table;
use crate::Remote;

#[derive(Subcommand)]
pub enum PricesCommand {
    /// The prices costs are computed with: built-in ones and the project's own.
    List {
        #[command(flatten)]
        remote: Remote,
    },
    /// Set the project's price for a model, in USD per million tokens. Stored runs keep their
    /// costs until `lemma prices apply`.
    Set {
        /// A model id; its dated snapshots get the same price (gpt-4o covers gpt-4o-2024-08-06).
        model: String,
        #[arg(long, allow_negative_numbers = true)]
        input: f64,
        #[arg(long, allow_negative_numbers = true)]
        output: f64,
        /// Cached input tokens read (default: the input price).
        #[arg(long, allow_negative_numbers = true)]
        cache_read: Option<f64>,
        /// Input tokens written to the cache (default: the input price).
        #[arg(long, allow_negative_numbers = true)]
        cache_write: Option<f64>,
        /// Reasoning tokens, when priced apart from output (default: the output price).
        #[arg(long, allow_negative_numbers = true)]
        reasoning: Option<f64>,
        #[command(flatten)]
        remote: Remote,
    },
    /// Remove the project's price for a model (back to the built-in price, if any).
    Delete {
        model: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Re-price stored spans and runs with the current prices (provided costs are kept).
    Apply {
        #[command(flatten)]
        remote: Remote,
    },
}

pub fn run(cmd: PricesCommand) -> anyhow::Result<()> {
    match cmd {
        PricesCommand::List { remote } => list(&remote),
        PricesCommand::Set {
            model,
            input,
            output,
            cache_read,
            cache_write,
            reasoning,
            remote,
        } => {
            let price = Price {
                input,
                output,
                cache_read,
                cache_write,
                reasoning,
            };
            // NaN or infinity would not survive JSON; say what is wrong before sending.
            price
                .validate()
                .map_err(|e| anyhow::anyhow!("invalid price for {model:?}: {e}"))?;
            let body = serde_json::to_value(price)?;
            let answer = call(&remote, Method::PUT, &["prices", &model], &[], Some(&body))?;
            if remote.json {
                return print_json(&answer);
            }
            let p = &answer["price"];
            println!(
                "Set {}: input ${} / output ${} per million tokens. Stored runs keep their \
                 costs until `lemma prices apply`.",
                text(&p["model"]),
                number(&p["input"]),
                number(&p["output"])
            );
            Ok(())
        }
        PricesCommand::Delete { model, remote } => {
            let answer = call(&remote, Method::DELETE, &["prices", &model], &[], None)?;
            if remote.json {
                return print_json(&answer);
            }
            println!(
                "Deleted the project's price for {}. Re-price stored runs with `lemma prices apply`.",
                text(&answer["deleted"])
            );
            Ok(())
        }
        PricesCommand::Apply { remote } => {
            let answer = call(&remote, Method::POST, &["prices", "apply"], &[], None)?;
            if remote.json {
                return print_json(&answer);
            }
            println!("Re-priced {} spans.", answer["spans_changed"]);
            Ok(())
        }
    }
}

fn list(remote: &Remote) -> anyhow::Result<()> {
    let answer = call(remote, Method::GET, &["prices"], &[], None)?;
    if remote.json {
        return print_json(&answer);
    }
    let mut t = Table::new(&[
        "MODEL",
        "INPUT",
        "OUTPUT",
        "CACHE READ",
        "CACHE WRITE",
        "REASONING",
        "SOURCE",
    ]);
    for p in answer["prices"].as_array().into_iter().flatten() {
        t.row(vec![
            text(&p["model"]),
            number(&p["input"]),
            number(&p["output"]),
            number(&p["cache_read"]),
            number(&p["cache_write"]),
            number(&p["reasoning"]),
            text(&p["source"]),
        ]);
    }
    t.print();
    println!(
        "\nUSD per million tokens; built-in prices as of {}.",
        text(&answer["builtin_as_of"])
    );
    Ok(())
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// A price as sent, `-` when unset (the input or output price applies).
fn number(v: &Value) -> String {
    v.as_f64().map_or_else(|| "-".into(), |n| n.to_string())
}
