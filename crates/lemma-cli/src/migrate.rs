//! `lemma migrate --from DATA_DIR --to clickhouse://…`: copies the embedded store into
//! ClickHouse.
//!
//! Projects (by name: ClickHouse derives its own ids), API keys (as they are, so every client
//! keeps working) and price overrides are copied first, whole, each run: all three are small
//! and copying them again changes nothing. Then spans, log records and metric events, a page at
//! a time in the order they were stored, through the same writes ingest uses, which skip what
//! the target holds: a checkpoint file records each page the target acknowledged, so a copy
//! stopped anywhere goes on where it was, and one run again later copies what arrived since.
//! Spans keep their costs as stored; metric events keep their ids (those spans and log records
//! carry are written with them and skipped when met again). At the end each project's counts
//! must be the same on both sides.

mod checkpoint;
mod progress;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use lemma_store::clickhouse::{redact, ClickHouseStore};
use lemma_store::sqlite::{ExportPage, SqliteStore};
use lemma_store::{Counts, ProjectId, Store, DATABASE_FILE};

use checkpoint::Checkpoint;
use progress::Progress;

#[derive(Args)]
pub struct MigrateArgs {
    /// The embedded store's data dir, to copy from.
    #[arg(long = "from", env = "LEMMA_DATA_DIR", default_value = crate::DEFAULT_DATA_DIR)]
    from: PathBuf,
    /// The ClickHouse store to copy into: clickhouse://[user:password@]host:8123/database
    /// (as `lemma serve --store` takes it).
    #[arg(long = "to", env = "LEMMA_STORE", hide_env_values = true)]
    to: String,
    /// Spans (or log records, or metric events) written at a time.
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    page_size: u32,
    /// Tests: exit with status 3 right after the target acknowledged this many pages, before
    /// the checkpoint records the last one, as a copy killed there would.
    #[arg(long, hide = true)]
    stop_after_pages: Option<u64>,
}

/// The most span JSON one page holds in memory, whatever the page size.
const MAX_PAGE_BYTES: usize = 64 * 1024 * 1024;
/// The most log records or metric events in a page: the target looks each page's up by a list
/// in one query, whose text ClickHouse caps.
const MAX_RECORDS_PAGE: usize = 1_000;

pub fn run(args: MigrateArgs) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(migrate(args))
}

/// Source project id → (name, target project id), by name.
type Projects = BTreeMap<ProjectId, (String, ProjectId)>;

struct Copy {
    source: SqliteStore,
    target: ClickHouseStore,
    projects: Projects,
    checkpoint: Checkpoint,
    path: PathBuf,
    page_size: usize,
    pages: u64,
    stop_after_pages: Option<u64>,
}

async fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    let shown = redact(&args.to);
    if !args.to.starts_with("clickhouse://") {
        bail!("--to takes a clickhouse://host:8123/database address, not {shown:?}");
    }
    let database = args.from.join(DATABASE_FILE);
    if !database.is_file() {
        bail!(
            "no embedded store in {} (it has no {DATABASE_FILE}): give its data dir with --from",
            args.from.display()
        );
    }
    let source = SqliteStore::open(&database)
        .with_context(|| format!("opening the embedded store {}", database.display()))?;
    let target = ClickHouseStore::open(&args.to)
        .await
        .with_context(|| format!("opening ClickHouse at {shown}"))?;
    let path = Checkpoint::path(&args.from, &shown);
    let checkpoint = match Checkpoint::load(&path)? {
        Some(cp) => {
            eprintln!(
                "Going on with the copy to {shown} ({} spans, {} log records, {} metric events \
                 copied before; checkpoint {}).",
                cp.spans,
                cp.logs,
                cp.metrics,
                path.display()
            );
            cp
        }
        None => Checkpoint::new(shown.clone()),
    };
    let started = Instant::now();
    let mut copy = Copy {
        projects: projects(&source, &target).await?,
        source,
        target,
        checkpoint,
        path,
        page_size: args.page_size as usize,
        pages: 0,
        stop_after_pages: args.stop_after_pages,
    };
    let keys = copy.keys().await?;
    let prices = copy.prices().await?;
    eprintln!(
        "In {shown}: projects {}, API keys {keys}, price overrides {prices}.",
        copy.projects.len()
    );
    let totals = copy.source_totals().await?;
    let spans = copy.spans(totals.spans).await?;
    copy.logs(totals.logs).await?;
    copy.metrics(totals.metrics).await?;
    copy.signals().await?;
    copy.check_counts().await?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "Copied {spans} spans to {shown} in {secs:.1} s ({:.0} spans/s); every project's \
         counts match. Point `lemma serve --store` at it.",
        spans as f64 / secs.max(1e-3)
    );
    Ok(())
}

/// Every source project in the target, created there when missing, with its retention,
/// redaction rules (the copied spans were redacted when they arrived; the rules keep applying
/// to what arrives next), signal thresholds and alert rules and channels.
async fn projects(source: &SqliteStore, target: &ClickHouseStore) -> anyhow::Result<Projects> {
    let mut out = Projects::new();
    for p in source.list_projects().await? {
        let there = match target.project_by_name(&p.name).await? {
            Some(there) => there,
            None => match target.create_project(&p.name).await {
                Err(lemma_store::StoreError::Conflict(_)) => target
                    .project_by_name(&p.name)
                    .await?
                    .context("a project created at once elsewhere is missing")?,
                other => other?,
            },
        };
        let retention = source.retention(p.id).await?;
        if target.retention(there.id).await? != retention {
            target.set_retention(there.id, retention).await?;
        }
        let rules = source.redaction(p.id).await?;
        if target.redaction(there.id).await? != rules {
            target.set_redaction(there.id, &rules).await?;
        }
        let thresholds = source.signal_settings(p.id).await?;
        if target.signal_settings(there.id).await? != thresholds {
            target.set_signal_settings(there.id, &thresholds).await?;
        }
        let alerts = source.alert_config(p.id).await?;
        let held = target.alert_config(there.id).await?;
        if (&held.rules, &held.channels) != (&alerts.rules, &alerts.channels) {
            target
                .set_alert_config(there.id, &alerts, held.version)
                .await?;
        }
        out.insert(p.id, (p.name, there.id));
    }
    Ok(out)
}

impl Copy {
    fn target_project(&self, source: ProjectId) -> anyhow::Result<ProjectId> {
        match self.projects.get(&source) {
            Some((_, id)) => Ok(*id),
            None => bail!(
                "the embedded store holds data of project id {} it does not list",
                source.0
            ),
        }
    }

    async fn keys(&self) -> anyhow::Result<usize> {
        let keys = self.source.export_keys().await?;
        for key in &keys {
            let public_key = key.public_key.clone();
            self.target
                .import_key(key.clone())
                .await
                .with_context(|| format!("copying API key {public_key}"))?;
        }
        Ok(keys.len())
    }

    /// Sets in the target each override it lacks or holds at another price.
    async fn prices(&self) -> anyhow::Result<usize> {
        let mut n = 0;
        for (source, (name, target)) in &self.projects {
            let wanted = self.source.list_prices(*source).await?;
            if wanted.is_empty() {
                continue;
            }
            let held = self.target.list_prices(*target).await?;
            for o in wanted {
                n += 1;
                if !held
                    .iter()
                    .any(|h| h.model == o.model && h.price == o.price)
                {
                    self.target
                        .set_price(*target, &o.model, o.price)
                        .await
                        .with_context(|| {
                            format!("copying project {name:?}'s price for {}", o.model)
                        })?;
                }
            }
        }
        Ok(n)
    }

    async fn source_totals(&self) -> anyhow::Result<Counts> {
        let mut all = Counts::default();
        for source in self.projects.keys() {
            let c = self.source.counts(*source).await?;
            all.spans += c.spans;
            all.logs += c.logs;
            all.metrics += c.metrics;
        }
        Ok(all)
    }

    /// After the target acknowledged a page: the hidden test stop, then the checkpoint.
    fn page_done(&mut self) -> anyhow::Result<()> {
        self.pages += 1;
        if self.stop_after_pages == Some(self.pages) {
            eprintln!("Stopping after {} pages (--stop-after-pages).", self.pages);
            std::process::exit(3);
        }
        self.checkpoint.save(&self.path)
    }

    /// Returns how many spans this run copied.
    async fn spans(&mut self, total: u64) -> anyhow::Result<u64> {
        let mut progress = Progress::start("spans", self.checkpoint.spans, total);
        let (size, max) = (self.page_size, MAX_PAGE_BYTES);
        let mut unreadable = 0;
        let mut page = self
            .source
            .export_spans(self.checkpoint.spans_after, size, max)
            .await?;
        while let Some(last) = page.last {
            let rows = page.items.len() as u64 + page.unreadable;
            unreadable += page.unreadable;
            let batch = self.mapped(page)?;
            // The next page is read while the target stores this one.
            let (written, next) = tokio::join!(
                self.target.write_spans(batch),
                self.source.export_spans(last, size, max)
            );
            written.context(self.stopped("spans"))?;
            self.checkpoint.spans_after = last;
            self.checkpoint.spans += rows;
            self.page_done()?;
            progress.add(rows);
            page = next?;
        }
        progress.finish();
        if unreadable > 0 {
            eprintln!("{unreadable} stored spans could not be read and were left out.");
        }
        Ok(progress.copied())
    }

    async fn logs(&mut self, total: u64) -> anyhow::Result<()> {
        let mut progress = Progress::start("log records", self.checkpoint.logs, total);
        loop {
            let page = self
                .source
                .export_logs(
                    self.checkpoint.logs_after,
                    self.page_size.min(MAX_RECORDS_PAGE),
                )
                .await?;
            let Some(last) = page.last else { break };
            let rows = page.items.len() as u64 + page.unreadable;
            let batch = self.mapped(page)?;
            self.target
                .write_logs(batch)
                .await
                .context(self.stopped("log records"))?;
            self.checkpoint.logs_after = last;
            self.checkpoint.logs += rows;
            self.page_done()?;
            progress.add(rows);
        }
        progress.finish();
        Ok(())
    }

    async fn metrics(&mut self, total: u64) -> anyhow::Result<()> {
        let mut progress = Progress::start("metric events", self.checkpoint.metrics, total);
        loop {
            let page = self
                .source
                .export_metrics(
                    self.checkpoint.metrics_after,
                    self.page_size.min(MAX_RECORDS_PAGE),
                )
                .await?;
            let Some(last) = page.last else { break };
            let rows = page.items.len() as u64 + page.unreadable;
            let mut by_project: BTreeMap<ProjectId, Vec<_>> = BTreeMap::new();
            for (project, event) in self.mapped(page)? {
                by_project.entry(project).or_default().push(event);
            }
            for (project, events) in by_project {
                self.target
                    .write_metrics(project, events)
                    .await
                    .context(self.stopped("metric events"))?;
            }
            self.checkpoint.metrics_after = last;
            self.checkpoint.metrics += rows;
            self.page_done()?;
            progress.add(rows);
        }
        progress.finish();
        Ok(())
    }

    /// Each run's latest signal evaluation, so runs read with their signals before they are
    /// evaluated again there (an evaluation is kept only over an older one: copying twice is
    /// harmless).
    async fn signals(&mut self) -> anyhow::Result<()> {
        let filter = lemma_core::query::parse("has:signal", 0).expect("a valid query");
        for (source, (name, target)) in &self.projects {
            let mut cursor = None;
            loop {
                let page = self
                    .source
                    .list_runs(
                        *source,
                        lemma_store::ListQuery {
                            filter: filter.clone(),
                            limit: lemma_store::MAX_LIMIT,
                            cursor,
                            order: Default::default(),
                        },
                    )
                    .await?;
                let ids: Vec<String> = page.items.iter().map(|r| r.run_id.clone()).collect();
                for found in self.source.signals_of(*source, &ids).await? {
                    self.target
                        .put_signals(*target, found)
                        .await
                        .with_context(|| format!("copying project {name:?}'s run signals"))?;
                }
                cursor = match page.next_cursor {
                    Some(c) => Some(lemma_store::Cursor::decode(&c)?),
                    None => break,
                };
            }
        }
        Ok(())
    }

    /// A page's items with the target's project ids.
    fn mapped<T>(&self, page: ExportPage<T>) -> anyhow::Result<Vec<(ProjectId, T)>> {
        page.items
            .into_iter()
            .map(|(p, item)| Ok((self.target_project(p)?, item)))
            .collect()
    }

    fn stopped(&self, what: &str) -> String {
        format!(
            "storing {what} in ClickHouse; the copy stopped after {} spans, {} log records and \
             {} metric events: run the same command again to go on from there",
            self.checkpoint.spans, self.checkpoint.logs, self.checkpoint.metrics
        )
    }

    /// Each project's counts, the same on both sides, or an error naming those that differ.
    async fn check_counts(&self) -> anyhow::Result<()> {
        let mut differ = Vec::new();
        for (source, (name, target)) in &self.projects {
            let (here, there) =
                tokio::try_join!(self.source.counts(*source), self.target.counts(*target))?;
            if here != there {
                differ.push(format!(
                    "project {name:?}: {}",
                    describe_difference(&here, &there)
                ));
            }
        }
        if !differ.is_empty() {
            bail!(
                "the copy's counts differ from the embedded store's:\n  {}\n(was a server \
                 writing to either store? stop it and run the same command again)",
                differ.join("\n  ")
            );
        }
        Ok(())
    }
}

fn describe_difference(here: &Counts, there: &Counts) -> String {
    let parts = [
        ("spans", here.spans, there.spans),
        ("runs", here.runs, there.runs),
        ("metric events", here.metrics, there.metrics),
        ("log records", here.logs, there.logs),
    ];
    parts
        .iter()
        .filter(|(_, a, b)| a != b)
        .map(|(what, a, b)| format!("{what} {a} in the embedded store, {b} in ClickHouse"))
        .collect::<Vec<_>>()
        .join("; ")
}
