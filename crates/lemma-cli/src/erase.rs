//! `lemma delete-runs` and `lemma erase-user`: deleting many runs, each as `DELETE
//! /api/v1/runs/{id}` deletes one (its spans, metric events and log records), after saying how
//! many and asking.
//!
//! The runs are collected first, so the count asked about is the set deleted; runs that start
//! matching meanwhile are left for another pass.

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};

use anyhow::{bail, Context};
use clap::Args;

use crate::client::{call, get, Refused};
use crate::Remote;

#[derive(Args)]
pub struct DeleteRunsArgs {
    /// A query: the runs it finds are deleted (`since:`, `agent:`, `tag:`, ...). Required: to
    /// delete every run, say so with a query that finds them all, such as `since:1970-01-01`.
    #[arg(required = true)]
    query: Vec<String>,
    /// Delete without asking.
    #[arg(long)]
    yes: bool,
    #[command(flatten)]
    remote: Remote,
}

#[derive(Args)]
pub struct EraseUserArgs {
    /// The user id, as spans carry it (`lemma.user_id`, `user.id`, Langfuse's `userId`, ...).
    user_id: String,
    /// Erase without asking.
    #[arg(long)]
    yes: bool,
    #[command(flatten)]
    remote: Remote,
}

pub fn delete_runs(args: DeleteRunsArgs) -> anyhow::Result<()> {
    let query = args.query.join(" ");
    let ids = run_ids(&args.remote, &query)?;
    let what = format!(
        "run{} matching {query:?}",
        if ids.len() == 1 { "" } else { "s" }
    );
    delete_all(&args.remote, &ids, &what, args.yes)
}

/// Every run of the user, and every run holding a span that names them (a shared run, a span
/// of another user's run): their spans, metric events and log records.
pub fn erase_user(args: EraseUserArgs) -> anyhow::Result<()> {
    let user = quoted(&args.user_id);
    let mut ids = run_ids(&args.remote, &format!("user:{user}"))?;
    ids.extend(span_run_ids(&args.remote, &format!("user:{user}"))?);
    let what = format!(
        "run{} holding user {:?}",
        if ids.len() == 1 { "" } else { "s" },
        args.user_id
    );
    delete_all(&args.remote, &ids, &what, args.yes)
}

/// A value as one query term's value: quoted, with `"` and `\` escaped.
fn quoted(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The ids of every run the query finds.
fn run_ids(remote: &Remote, query: &str) -> anyhow::Result<BTreeSet<String>> {
    collect(remote, "runs", query, "run_id")
}

/// The runs of every span the query finds.
fn span_run_ids(remote: &Remote, query: &str) -> anyhow::Result<BTreeSet<String>> {
    collect(remote, "spans", query, "trace_id")
}

fn collect(
    remote: &Remote,
    listing: &str,
    query: &str,
    field: &str,
) -> anyhow::Result<BTreeSet<String>> {
    let mut ids = BTreeSet::new();
    let mut cursor = String::new();
    loop {
        let page = get(
            remote,
            &[listing],
            &[
                ("q", query.to_string()),
                ("limit", "1000".into()),
                ("cursor", cursor.clone()),
            ],
        )?;
        for item in page[listing].as_array().into_iter().flatten() {
            ids.extend(item[field].as_str().map(str::to_string));
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => return Ok(ids),
        }
    }
}

fn delete_all(
    remote: &Remote,
    ids: &BTreeSet<String>,
    what: &str,
    yes: bool,
) -> anyhow::Result<()> {
    if ids.is_empty() {
        eprintln!("No {what}: nothing to delete.");
        return Ok(());
    }
    let n = ids.len();
    if !yes {
        if !std::io::stdin().is_terminal() {
            bail!("{n} {what}; run again with --yes to delete them");
        }
        eprint!("Delete {n} {what}, with their spans, metric events and log records? [y/N] ");
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            bail!("nothing deleted");
        }
    }
    let progress = std::io::stderr().is_terminal();
    for (i, id) in ids.iter().enumerate() {
        match call(remote, reqwest::Method::DELETE, &["runs", id], &[], None) {
            Ok(_) => {}
            // Deleted meanwhile (another client, a retention pass): the goal is met.
            Err(e) if e.downcast_ref::<Refused>().is_some_and(|r| r.status == 404) => {}
            Err(e) => {
                return Err(e).with_context(|| format!("deleting run {id} ({i} of {n} deleted)"))
            }
        }
        if progress {
            eprint!("\r{} of {n} deleted", i + 1);
        }
    }
    if progress {
        eprintln!();
    }
    eprintln!("Deleted {n} {what}, with their spans, metric events and log records.");
    Ok(())
}
