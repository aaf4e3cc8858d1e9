//! The embedded store: SQLite in WAL mode, one writer connection committing whole batches,
//! a small pool of reader connections. Blocking calls run on tokio's blocking threads.

mod admin;
mod alerts;
pub mod backup;
mod blocks;
mod codec;
mod delete;
mod experiments;
mod export;
mod filter;
mod ledger;
mod logs;
mod metrics;
mod outline;
mod prices;
mod proxy_sessions;
mod read;
mod redaction;
mod schema;
mod signals;
mod stats;
mod text;
mod users;
mod write;

pub use export::ExportPage;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use lemma_core::pricing::{Price, PriceTable};
use lemma_core::query::Filter;
use lemma_core::redact::RedactionRules;
use lemma_core::stats::Stats;
use lemma_core::{LogRecord, MetricEvent, Run, Span, SpanOutline};
use rusqlite::{Connection, OpenFlags};

use crate::{
    Counts, Credential, KeyGrant, KeyInfo, KeyScope, ListQuery, Member, Membership, NewKey, Page,
    PriceOverride, Project, ProjectId, ProxySession, RedactionCount, Result, Role, RunFacets,
    Session, StatsQuery, Store, StoreError, StoredKey, ThreadSummary, User, WriteStats,
};

/// Readers kept open between requests; more are opened under load and closed after.
const IDLE_READERS: usize = 4;
/// The page size of new databases.
const PAGE_SIZE: u32 = 16_384;
/// Writes between refreshes of the planner's statistics.
const OPTIMIZE_EVERY: u64 = 1_000;

#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: std::path::PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    writes: AtomicU64,
}

pub(crate) fn sql_err(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::*;
    match e.sqlite_error_code() {
        // The disk's state or another process's lock, not the request's fault: space freed, a
        // disk remounted or a lock released, the same write succeeds.
        Some(DiskFull | ReadOnly | SystemIoFailure | DatabaseBusy | DatabaseLocked) => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

pub(crate) use crate::readable;

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date. A
    /// file that is not Lemma's database, or that a newer Lemma wrote, is refused before
    /// anything is written to it, with an error saying what to do.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore> {
        let path = path.as_ref().to_path_buf();
        let mut writer = Connection::open(&path).map_err(sql_err)?;
        writer
            .busy_timeout(Duration::from_secs(10))
            .map_err(sql_err)?;
        schema::check(&writer)?;
        // A span row is a few kilobytes: 4 KiB pages would hold one each and waste the rest.
        // Takes effect when the file is created (before WAL mode writes its header).
        writer
            .pragma_update(None, "page_size", PAGE_SIZE)
            .map_err(sql_err)?;
        configure(&writer, WRITER_CACHE_KIB)?;
        // Durable on commit: an acknowledged span survives a crash or power loss.
        writer
            .pragma_update(None, "synchronous", "FULL")
            .map_err(sql_err)?;
        schema::migrate(&mut writer).map_err(sql_err)?;
        optimize(&writer, true)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
                writes: AtomicU64::new(0),
            }),
        })
    }

    /// Runs `f` on the writer connection on a blocking thread.
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = inner.writer.lock().unwrap_or_else(|p| p.into_inner());
            let out = f(&mut conn);
            if inner.writes.fetch_add(1, Ordering::Relaxed) % OPTIMIZE_EVERY == OPTIMIZE_EVERY - 1 {
                if let Err(e) = optimize(&conn, false) {
                    tracing::warn!(error = %e, "refreshing the query planner's statistics failed");
                }
            }
            out
        })
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?
    }

    /// Runs `f` on a reader connection on a blocking thread.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = inner
                .readers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop();
            let conn = match pooled {
                Some(c) => c,
                None => {
                    let c = Connection::open_with_flags(
                        &inner.path,
                        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )
                    .map_err(sql_err)?;
                    configure(&c, READER_CACHE_KIB)?;
                    c
                }
            };
            let out = f(&conn);
            let mut pool = inner.readers.lock().unwrap_or_else(|p| p.into_inner());
            if pool.len() < IDLE_READERS {
                pool.push(conn);
            }
            out
        })
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?
    }
}

/// Refreshes the statistics the query planner chooses indexes by (bounded work per index), so
/// that, say, a filter on failed runs uses the status index rather than scanning a time range.
/// `at_open` also analyses tables that never were.
fn optimize(conn: &Connection, at_open: bool) -> Result<()> {
    conn.execute_batch(if at_open {
        "PRAGMA analysis_limit = 400; PRAGMA optimize = 0x10002;"
    } else {
        "PRAGMA analysis_limit = 400; PRAGMA optimize;"
    })
    .map_err(sql_err)
}

/// Page cache per connection, in KiB. The writer's holds the index pages inserts and the
/// full-text merges touch; a reader's mostly serves one query, and the OS caches the file for
/// all of them (five readers at 32 MB each were most of the server's memory).
const WRITER_CACHE_KIB: i64 = 64 * 1024;
const READER_CACHE_KIB: i64 = 8 * 1024;

fn configure(conn: &Connection, cache_kib: i64) -> Result<()> {
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(sql_err)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(sql_err)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(sql_err)?;
    conn.pragma_update(None, "cache_size", -cache_kib)
        .map_err(sql_err)?;
    register_functions(conn)
}

/// The SQL functions filters call: `lemma_is_version_of(model, base)`, whether `model` is
/// `base` or a snapshot of it (what `model:<base>` matches).
fn register_functions(conn: &Connection) -> Result<()> {
    use rusqlite::functions::FunctionFlags;
    use rusqlite::types::ValueRef;
    conn.create_scalar_function(
        "lemma_is_version_of",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let text = |i: usize| match ctx.get_raw(i) {
                ValueRef::Text(t) => std::str::from_utf8(t).ok(),
                _ => None,
            };
            Ok(match (text(0), text(1)) {
                (Some(model), Some(base)) => lemma_core::pricing::is_version_of(model, base),
                _ => false,
            })
        },
    )
    .map_err(sql_err)
}

#[async_trait]
impl Store for SqliteStore {
    async fn write_spans(&self, batch: Vec<(ProjectId, Span)>) -> Result<WriteStats> {
        let encoded = tokio::task::spawn_blocking(move || write::encode_batch(batch))
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))??;
        self.write(move |conn| write::write_batch(conn, encoded))
            .await
    }

    async fn write_logs(&self, batch: Vec<(ProjectId, LogRecord)>) -> Result<WriteStats> {
        self.write(move |conn| logs::write_batch(conn, &batch))
            .await
    }

    async fn write_metrics(
        &self,
        project: ProjectId,
        events: Vec<MetricEvent>,
    ) -> Result<Vec<MetricEvent>> {
        self.write(move |conn| metrics::write_batch(conn, project, events))
            .await
    }

    async fn list_metrics(&self, project: ProjectId, run_id: &str) -> Result<Vec<MetricEvent>> {
        let run_id = run_id.to_ascii_lowercase();
        self.read(move |conn| metrics::list(conn, project, &run_id))
            .await
    }

    async fn list_runs(&self, project: ProjectId, query: ListQuery) -> Result<Page<Run>> {
        self.read(move |conn| read::list_runs(conn, project, &query))
            .await
    }

    async fn run_facets(
        &self,
        project: ProjectId,
        filter: Filter,
        limit: usize,
    ) -> Result<Vec<RunFacets>> {
        self.read(move |conn| read::run_facets(conn, project, &filter, limit))
            .await
    }

    async fn get_run(&self, project: ProjectId, run_id: &str) -> Result<Option<(Run, Vec<Span>)>> {
        let run_id = run_id.to_string();
        self.read(move |conn| read::get_run(conn, project, &run_id))
            .await
    }

    async fn run_summary(&self, project: ProjectId, run_id: &str) -> Result<Option<Run>> {
        let run_id = run_id.to_ascii_lowercase();
        self.read(move |conn| outline::run_summary(conn, project, &run_id))
            .await
    }

    async fn run_outline(
        &self,
        project: ProjectId,
        run_id: &str,
    ) -> Result<Option<Vec<SpanOutline>>> {
        let run_id = run_id.to_ascii_lowercase();
        self.read(move |conn| outline::run_outline(conn, project, &run_id))
            .await
    }

    async fn get_span(
        &self,
        project: ProjectId,
        run_id: &str,
        span_id: &str,
    ) -> Result<Option<Span>> {
        let (run_id, span_id) = (run_id.to_ascii_lowercase(), span_id.to_ascii_lowercase());
        self.read(move |conn| outline::get_span(conn, project, &run_id, &span_id))
            .await
    }

    async fn get_spans(
        &self,
        project: ProjectId,
        run_id: &str,
        span_ids: Vec<String>,
    ) -> Result<Vec<Span>> {
        let run_id = run_id.to_ascii_lowercase();
        let ids: Vec<String> = span_ids.iter().map(|id| id.to_ascii_lowercase()).collect();
        self.read(move |conn| outline::get_spans(conn, project, &run_id, &ids))
            .await
    }

    async fn find_in_run(
        &self,
        project: ProjectId,
        run_id: &str,
        filter: Filter,
        limit: usize,
    ) -> Result<Vec<String>> {
        let run_id = run_id.to_ascii_lowercase();
        self.read(move |conn| outline::find_in_run(conn, project, &run_id, &filter, limit))
            .await
    }

    async fn delete_run(&self, project: ProjectId, run_id: &str) -> Result<bool> {
        let run_id = run_id.to_ascii_lowercase();
        self.write(move |conn| delete::delete_run(conn, project, &run_id))
            .await
    }

    async fn search_spans(&self, project: ProjectId, query: ListQuery) -> Result<Page<Span>> {
        self.read(move |conn| read::search_spans(conn, project, &query))
            .await
    }

    async fn list_threads(
        &self,
        project: ProjectId,
        query: ListQuery,
    ) -> Result<Page<ThreadSummary>> {
        self.read(move |conn| read::list_threads(conn, project, &query))
            .await
    }

    async fn get_thread(
        &self,
        project: ProjectId,
        thread_id: &str,
    ) -> Result<Option<(ThreadSummary, Vec<Run>)>> {
        let thread_id = thread_id.to_string();
        self.read(move |conn| read::get_thread(conn, project, &thread_id))
            .await
    }

    async fn stats(&self, project: ProjectId, query: StatsQuery) -> Result<Stats> {
        self.read(move |conn| stats::stats(conn, project, &query))
            .await
    }

    async fn create_project(&self, name: &str) -> Result<Project> {
        let name = name.to_string();
        self.write(move |conn| admin::create_project(conn, &name))
            .await
    }

    async fn list_projects(&self) -> Result<Vec<Project>> {
        self.read(admin::list_projects).await
    }

    async fn project_by_name(&self, name: &str) -> Result<Option<Project>> {
        let name = name.to_string();
        self.read(move |conn| admin::project_by_name(conn, &name))
            .await
    }

    async fn retention(&self, project: ProjectId) -> Result<Option<u32>> {
        self.read(move |conn| admin::retention(conn, project)).await
    }

    async fn set_retention(&self, project: ProjectId, days: Option<u32>) -> Result<()> {
        self.write(move |conn| admin::set_retention(conn, project, days))
            .await
    }

    async fn redaction(&self, project: ProjectId) -> Result<RedactionRules> {
        self.read(move |conn| redaction::rules(conn, project)).await
    }

    async fn set_redaction(&self, project: ProjectId, rules: &RedactionRules) -> Result<()> {
        let rules = rules.clone();
        self.write(move |conn| redaction::set_rules(conn, project, &rules))
            .await
    }

    async fn record_redactions(
        &self,
        project: ProjectId,
        day: u32,
        counts: &[(String, u64)],
    ) -> Result<()> {
        let counts = counts.to_vec();
        self.write(move |conn| redaction::record(conn, project, day, &counts))
            .await
    }

    async fn redaction_counts(
        &self,
        project: ProjectId,
        since_day: u32,
    ) -> Result<Vec<RedactionCount>> {
        self.read(move |conn| redaction::counts(conn, project, since_day))
            .await
    }

    async fn create_user(&self, name: &str, password_hash: &str) -> Result<User> {
        let (name, hash) = (name.to_string(), password_hash.to_string());
        self.write(move |conn| users::create_user(conn, &name, &hash))
            .await
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        self.read(users::list_users).await
    }

    async fn password_hash(&self, user: &str) -> Result<Option<String>> {
        let user = user.to_string();
        self.read(move |conn| users::password_hash(conn, &user))
            .await
    }

    async fn set_password(&self, user: &str, password_hash: &str) -> Result<bool> {
        let (user, hash) = (user.to_string(), password_hash.to_string());
        self.write(move |conn| users::set_password(conn, &user, &hash))
            .await
    }

    async fn delete_user(&self, user: &str) -> Result<bool> {
        let user = user.to_string();
        self.write(move |conn| users::delete_user(conn, &user))
            .await
    }

    async fn set_role(&self, user: &str, project: ProjectId, role: Option<Role>) -> Result<()> {
        let user = user.to_string();
        self.write(move |conn| users::set_role(conn, &user, project, role))
            .await
    }

    async fn memberships(&self, user: &str) -> Result<Vec<Membership>> {
        let user = user.to_string();
        self.read(move |conn| users::memberships(conn, &user)).await
    }

    async fn members(&self, project: ProjectId) -> Result<Vec<Member>> {
        self.read(move |conn| users::members(conn, project)).await
    }

    async fn create_session(&self, token_hash: &[u8], session: &Session) -> Result<()> {
        let (hash, session) = (token_hash.to_vec(), session.clone());
        self.write(move |conn| users::create_session(conn, &hash, &session))
            .await
    }

    async fn session(&self, token_hash: &[u8], now_unix_nano: u64) -> Result<Option<Session>> {
        let hash = token_hash.to_vec();
        self.read(move |conn| users::session(conn, &hash, now_unix_nano))
            .await
    }

    async fn delete_session(&self, token_hash: &[u8]) -> Result<()> {
        let hash = token_hash.to_vec();
        self.write(move |conn| users::delete_session(conn, &hash))
            .await
    }

    async fn create_proxy_session(&self, token_hash: &[u8], session: &ProxySession) -> Result<()> {
        let (hash, session) = (token_hash.to_vec(), session.clone());
        self.write(move |conn| proxy_sessions::create(conn, &hash, &session))
            .await
    }

    async fn proxy_session(
        &self,
        token_hash: &[u8],
        now_unix_nano: u64,
    ) -> Result<Option<ProxySession>> {
        let hash = token_hash.to_vec();
        self.read(move |conn| proxy_sessions::get(conn, &hash, now_unix_nano))
            .await
    }

    async fn end_proxy_session(&self, project: ProjectId, token_hash: &[u8]) -> Result<bool> {
        let hash = token_hash.to_vec();
        self.write(move |conn| proxy_sessions::end(conn, project, &hash, admin::now_ns()))
            .await
    }

    async fn create_key(
        &self,
        project: &str,
        secret: Option<String>,
        scope: KeyScope,
    ) -> Result<NewKey> {
        let project = project.to_string();
        self.write(move |conn| admin::create_key(conn, &project, secret, scope))
            .await
    }

    async fn list_keys(&self, project: Option<&str>) -> Result<Vec<KeyInfo>> {
        let project = project.map(str::to_string);
        self.read(move |conn| admin::list_keys(conn, project.as_deref()))
            .await
    }

    async fn revoke_key(&self, id_or_public_key: &str) -> Result<bool> {
        let key = id_or_public_key.to_string();
        self.write(move |conn| admin::revoke_key(conn, &key)).await
    }

    async fn authenticate(&self, credential: &Credential) -> Result<Option<KeyGrant>> {
        let credential = credential.clone();
        self.read(move |conn| admin::authenticate(conn, &credential))
            .await
    }

    async fn import_key(&self, key: StoredKey) -> Result<KeyInfo> {
        self.write(move |conn| admin::import_key(conn, &key)).await
    }

    async fn counts(&self, project: ProjectId) -> Result<Counts> {
        self.read(move |conn| admin::counts(conn, project)).await
    }

    async fn list_prices(&self, project: ProjectId) -> Result<Vec<PriceOverride>> {
        self.read(move |conn| prices::list(conn, project)).await
    }

    async fn set_price(
        &self,
        project: ProjectId,
        model: &str,
        price: Price,
    ) -> Result<PriceOverride> {
        let model = model.to_string();
        self.write(move |conn| prices::set(conn, project, &model, price))
            .await
    }

    async fn delete_price(&self, project: ProjectId, model: &str) -> Result<bool> {
        let model = model.to_string();
        self.write(move |conn| prices::delete(conn, project, &model))
            .await
    }

    async fn reprice(&self, project: ProjectId, table: &PriceTable) -> Result<u64> {
        let table = table.clone();
        self.write(move |conn| prices::reprice(conn, project, &table))
            .await
    }

    async fn run_digests(
        &self,
        project: ProjectId,
        run_id: &str,
    ) -> Result<Option<Vec<lemma_core::run::SpanDigest>>> {
        let run_id = run_id.to_ascii_lowercase();
        if codec::run_id_blob(&run_id).is_none() {
            return Ok(None);
        }
        self.read(move |conn| {
            let digests = write::read_digests(conn, project, &run_id)?;
            Ok((!digests.is_empty()).then_some(digests))
        })
        .await
    }

    async fn put_signals(&self, project: ProjectId, found: crate::RunSignals) -> Result<()> {
        self.write(move |conn| signals::put(conn, project, &found))
            .await
    }

    async fn signals_of(
        &self,
        project: ProjectId,
        run_ids: &[String],
    ) -> Result<Vec<crate::RunSignals>> {
        let ids = run_ids.to_vec();
        self.read(move |conn| signals::of_runs(conn, project, &ids))
            .await
    }

    async fn signal_counts(
        &self,
        project: ProjectId,
        since_unix_nano: u64,
        until_unix_nano: u64,
        bucket_ns: u64,
    ) -> Result<Vec<crate::SignalCount>> {
        self.read(move |conn| {
            signals::counts(conn, project, since_unix_nano, until_unix_nano, bucket_ns)
        })
        .await
    }

    async fn signal_settings(
        &self,
        project: ProjectId,
    ) -> Result<lemma_core::signals::SignalSettings> {
        self.read(move |conn| signals::settings(conn, project))
            .await
    }

    async fn set_signal_settings(
        &self,
        project: ProjectId,
        settings: &lemma_core::signals::SignalSettings,
    ) -> Result<()> {
        let settings = settings.clone();
        self.write(move |conn| signals::set_settings(conn, project, &settings))
            .await
    }

    async fn alert_config(&self, project: ProjectId) -> Result<lemma_core::alerts::AlertConfig> {
        self.read(move |conn| alerts::config(conn, project)).await
    }

    async fn set_alert_config(
        &self,
        project: ProjectId,
        config: &lemma_core::alerts::AlertConfig,
        expected_version: u64,
    ) -> Result<u64> {
        let config = config.clone();
        self.write(move |conn| alerts::set_config(conn, project, &config, expected_version))
            .await
    }

    async fn put_alert_event(
        &self,
        project: ProjectId,
        event: &lemma_core::alerts::AlertEvent,
    ) -> Result<()> {
        let event = event.clone();
        self.write(move |conn| alerts::put_event(conn, project, &event))
            .await
    }

    async fn alert_events(
        &self,
        project: ProjectId,
        rule_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<lemma_core::alerts::AlertEvent>> {
        let rule_id = rule_id.map(str::to_string);
        self.read(move |conn| alerts::events(conn, project, rule_id.as_deref(), limit))
            .await
    }

    async fn put_dataset(
        &self,
        project: ProjectId,
        dataset: lemma_core::experiments::DatasetVersion,
        expected_version: u32,
    ) -> Result<lemma_core::experiments::DatasetVersion> {
        let now = admin::now_ns();
        self.write(move |conn| {
            experiments::put_dataset(conn, project, dataset, expected_version, now)
        })
        .await
    }

    async fn dataset(
        &self,
        project: ProjectId,
        name: &str,
        version: Option<u32>,
    ) -> Result<Option<lemma_core::experiments::DatasetVersion>> {
        let name = name.to_string();
        self.read(move |conn| experiments::dataset(conn, project, &name, version))
            .await
    }

    async fn list_datasets(
        &self,
        project: ProjectId,
    ) -> Result<Vec<lemma_core::experiments::DatasetInfo>> {
        self.read(move |conn| experiments::list_datasets(conn, project))
            .await
    }

    async fn delete_dataset(&self, project: ProjectId, name: &str) -> Result<bool> {
        let name = name.to_string();
        self.write(move |conn| experiments::delete_dataset(conn, project, &name))
            .await
    }

    async fn create_experiment(
        &self,
        project: ProjectId,
        experiment: lemma_core::experiments::Experiment,
    ) -> Result<lemma_core::experiments::Experiment> {
        let now = admin::now_ns();
        self.write(move |conn| experiments::create_experiment(conn, project, experiment, now))
            .await
    }

    async fn list_experiments(
        &self,
        project: ProjectId,
        dataset: Option<&str>,
    ) -> Result<Vec<lemma_core::experiments::Experiment>> {
        let dataset = dataset.map(str::to_string);
        self.read(move |conn| experiments::list_experiments(conn, project, dataset.as_deref()))
            .await
    }

    async fn experiment(
        &self,
        project: ProjectId,
        name: &str,
    ) -> Result<Option<lemma_core::experiments::Experiment>> {
        let name = name.to_string();
        self.read(move |conn| experiments::experiment(conn, project, &name))
            .await
    }

    async fn link_runs(
        &self,
        project: ProjectId,
        experiment: &str,
        links: &[lemma_core::experiments::CaseRun],
    ) -> Result<()> {
        let (experiment, links) = (experiment.to_string(), links.to_vec());
        self.write(move |conn| experiments::link_runs(conn, project, &experiment, &links))
            .await
    }

    async fn experiment_runs(
        &self,
        project: ProjectId,
        experiment: &str,
    ) -> Result<Vec<lemma_core::experiments::CaseRun>> {
        let experiment = experiment.to_string();
        self.read(move |conn| experiments::experiment_runs(conn, project, &experiment))
            .await
    }
}
