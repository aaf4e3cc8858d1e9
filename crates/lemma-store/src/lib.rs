//! Lemma's storage. [`Store`] is the one interface the server reads and writes through;
//! [`sqlite::SqliteStore`] is the embedded default. Nothing backend-specific crosses the trait:
//! filters arrive as the parsed query language, pages leave as opaque cursors, so a scale-out
//! backend fits behind it unchanged and passes the same [`conformance`] suite.

mod admin;
pub mod clickhouse;
pub mod conformance;
mod cursor;
mod encoding;
pub mod facets;
mod factory;
pub mod keys;
mod order;
pub mod proxy_sessions;
mod search;
pub mod signals;
pub mod sqlite;
pub mod users;

use async_trait::async_trait;
use lemma_core::alerts::{AlertConfig, AlertEvent};
use lemma_core::experiments::{CaseRun, DatasetInfo, DatasetVersion, Experiment};
use lemma_core::pricing::{Price, PriceTable};
use lemma_core::query::Filter;
use lemma_core::redact::RedactionRules;
use lemma_core::run::SpanDigest;
use lemma_core::signals::SignalSettings;
use lemma_core::stats::Stats;
use lemma_core::{LogRecord, MetricEvent, Run, Span, SpanOutline};
use serde::Serialize;

pub use cursor::Cursor;
pub use facets::{FacetField, RunFacets, ValueCount, FACET_RUNS};
pub use factory::{StoreLocation, DATABASE_FILE};
pub use order::{RunOrder, RunSort};
pub use proxy_sessions::ProxySession;
pub use signals::{RunSignals, SignalCount};
pub use users::{Member, Membership, Role, Session, User};

/// The largest page any listing returns.
pub const MAX_LIMIT: usize = 1000;

/// Redactions made on one day under one rule (a detector's, a pattern's, or dropped keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RedactionCount {
    /// Days since 1970-01-01 (UTC).
    pub day: u32,
    pub rule: String,
    pub count: u64,
}

/// A project's internal id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ProjectId(pub i64);

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Project {
    pub id: ProjectId,
    pub name: String,
    pub created_at_unix_nano: u64,
}

/// An API key as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyInfo {
    pub id: i64,
    pub project: String,
    /// Names the key pair (the Basic-auth user name, Langfuse style).
    pub public_key: String,
    /// The first characters of the secret, to tell keys apart.
    pub hint: String,
    pub created_at_unix_nano: u64,
    pub revoked: bool,
    pub scope: KeyScope,
}

/// What a key may do. Keys made before scopes existed are `Admin`, as they could do everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyScope {
    /// Send spans, logs and metric events; read nothing. For apps and SDKs.
    Ingest,
    /// Read runs, threads, stats and settings; change nothing. For dashboards and agents.
    Read,
    /// Everything: ingest, read, delete, and change the project's settings and keys.
    #[default]
    Admin,
}

impl KeyScope {
    pub const ALL: [KeyScope; 3] = [KeyScope::Ingest, KeyScope::Read, KeyScope::Admin];

    pub fn name(self) -> &'static str {
        match self {
            KeyScope::Ingest => "ingest",
            KeyScope::Read => "read",
            KeyScope::Admin => "admin",
        }
    }

    pub fn parse(name: &str) -> Option<KeyScope> {
        KeyScope::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// A live key's project and scope: what authenticating a request with it grants.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyGrant {
    pub project: Project,
    pub scope: KeyScope,
}

/// An API key as a store holds it, secret hash and all: what moves a key from one store to
/// another ([`Store::import_key`]) without anyone knowing its secret.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredKey {
    pub project: String,
    pub public_key: String,
    /// The SHA-256 of the secret (`keys::hash_secret`).
    pub secret_hash: Vec<u8>,
    pub hint: String,
    pub created_at_unix_nano: u64,
    pub revoked_at_unix_nano: Option<u64>,
    pub scope: KeyScope,
}

/// How much a project holds, counted as reads see it: a span, metric event or log record
/// sent twice once, nothing of a deleted run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Counts {
    pub spans: u64,
    pub runs: u64,
    pub metrics: u64,
    pub logs: u64,
}

/// A key just created: the only time its secret is visible.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewKey {
    pub info: KeyInfo,
    pub secret: String,
}

/// What a request presented to authenticate.
#[derive(Debug, Clone, PartialEq)]
pub enum Credential {
    /// `Authorization: Bearer KEY` or `x-api-key: KEY`.
    Key(String),
    /// `Authorization: Basic public:secret`.
    Basic { public_key: String, secret: String },
}

/// A page of results, newest first, and the cursor for the next one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// A list request: the parsed filter, a page size, and where the previous page ended.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub filter: Filter,
    pub limit: usize,
    pub cursor: Option<Cursor>,
    /// The order of a run listing (other listings are newest first).
    pub order: RunOrder,
}

impl ListQuery {
    /// The cursor, checked to continue a listing in this query's order.
    pub fn position(&self) -> Result<Option<&Cursor>> {
        match &self.cursor {
            Some(c) if c.order() != self.order => Err(StoreError::Invalid(
                "this cursor continues a listing in another order: pass the same sort and \
                 order as the page it came from, or start again without a cursor"
                    .into(),
            )),
            c => Ok(c.as_ref()),
        }
    }
}

/// A stats request: the runs matching the filter that start in `[from, to)` (unix
/// nanoseconds), in buckets of `bucket_seconds` (see `lemma_core::stats::check_range`).
#[derive(Debug, Clone, Default)]
pub struct StatsQuery {
    pub filter: Filter,
    pub from_unix_nano: u64,
    pub to_unix_nano: u64,
    pub bucket_seconds: u64,
}

/// Runs sharing a thread id.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThreadSummary {
    pub thread_id: String,
    pub run_count: u64,
    pub error_count: u64,
    pub start_time_unix_nano: u64,
    pub end_time_unix_nano: u64,
    pub last_start_time_unix_nano: u64,
    pub total_tokens: u64,
    pub cost_usd: Option<f64>,
    pub user_id: Option<String>,
    pub agent_names: Vec<String>,
}

/// What a write did. Re-sent spans (an exporter retrying) are not stored twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteStats {
    pub inserted: u64,
    pub duplicates: u64,
    pub runs_updated: u64,
}

/// A project's own price for a model pattern, over the built-in table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriceOverride {
    /// Normalised by `lemma_core::pricing::normalize_pattern`.
    pub model: String,
    pub price: Price,
    pub updated_at_unix_nano: u64,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The request cannot be answered as asked (a bad cursor, a filter a view cannot apply).
    #[error("{0}")]
    Invalid(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    Conflict(String),
    #[error("storage error: {0}")]
    Backend(String),
    /// The store cannot answer for now, for reasons of its disk or of other processes, not of
    /// the request (disk full, read-only, I/O errors, locked, or a shared commit that
    /// failed for another request): the same call may succeed later,
    /// so callers answer "retry" (HTTP 503, gRPC UNAVAILABLE).
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A stored item as read, or `None` when it cannot be (a damaged row), which is logged: one
/// bad row is left out of what it is read with rather than failing every listing, summary and
/// commit that reads it. Errors of the database itself (busy, full) still fail the read.
pub(crate) fn readable<T>(what: &str, item: Result<T>) -> Result<Option<T>> {
    match item {
        Ok(item) => Ok(Some(item)),
        Err(StoreError::Backend(e)) => {
            tracing::warn!(error = %e, "skipped a stored {what} that cannot be read");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Where spans, runs, threads, projects and keys live.
///
/// Every read is scoped to one project. Writes are durable when they return: the server
/// acknowledges spans only after `write_spans` succeeds.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores a batch of spans of any projects and runs in one durable commit, and brings the
    /// affected runs' summaries up to date in the same commit. Spans already stored (same
    /// project, trace id and span id) are skipped.
    async fn write_spans(&self, batch: Vec<(ProjectId, Span)>) -> Result<WriteStats>;

    /// Commits OTLP log records durably; a record already stored is counted as a duplicate.
    /// Records are joined to their spans whenever spans are read, in whatever order they came.
    async fn write_logs(&self, batch: Vec<(ProjectId, LogRecord)>) -> Result<WriteStats>;

    /// Commits a run's metric events durably, all or none, and returns them with their ids
    /// (assigned when empty; an event whose id is already stored is skipped). An invalid
    /// event is `Invalid` naming its index; a run ID that belongs to another project only is
    /// `NotFound`. The run need not exist yet: events are joined to it whenever it is read.
    async fn write_metrics(
        &self,
        project: ProjectId,
        events: Vec<MetricEvent>,
    ) -> Result<Vec<MetricEvent>>;

    /// A run's metric events, oldest first (`NotFound` when the run is another project's).
    async fn list_metrics(&self, project: ProjectId, run_id: &str) -> Result<Vec<MetricEvent>>;

    /// Runs matching the filter, in the query's order (newest first unless it says otherwise).
    async fn list_runs(&self, project: ProjectId, query: ListQuery) -> Result<Page<Run>>;
    /// What the newest `limit` runs matching the filter hold in the fields a filter offers
    /// values of, newest first ([`RunFacets`]; counted by [`facets::values`]).
    async fn run_facets(
        &self,
        project: ProjectId,
        filter: Filter,
        limit: usize,
    ) -> Result<Vec<RunFacets>>;

    /// A run and every span of it, in start order.
    async fn get_run(&self, project: ProjectId, run_id: &str) -> Result<Option<(Run, Vec<Span>)>>;

    /// A run's summary without its spans.
    async fn run_summary(&self, project: ProjectId, run_id: &str) -> Result<Option<Run>>;

    /// The light fields of every span of a run, in start order, read without any payload;
    /// `None` when the project holds no span of the run.
    async fn run_outline(
        &self,
        project: ProjectId,
        run_id: &str,
    ) -> Result<Option<Vec<SpanOutline>>>;

    /// One span of a run in full, with its log records, as `get_run` gives it.
    async fn get_span(
        &self,
        project: ProjectId,
        run_id: &str,
        span_id: &str,
    ) -> Result<Option<Span>>;

    /// Spans of a run by id (at most a few hundred), in full with their log records, in
    /// start order; ids the run does not hold are left out.
    async fn get_spans(
        &self,
        project: ProjectId,
        run_id: &str,
        span_ids: Vec<String>,
    ) -> Result<Vec<Span>>;

    /// The ids of a run's spans matching the filter (the query language, as span search
    /// takes it), in start order, at most `limit`.
    async fn find_in_run(
        &self,
        project: ProjectId,
        run_id: &str,
        filter: Filter,
        limit: usize,
    ) -> Result<Vec<String>>;

    /// Deletes a run of the project in one commit: its spans (bodies and full-text rows too),
    /// its summary, and the metric events and log records posted to it. Returns whether the
    /// project held any of these. A span of the run arriving later starts the run anew.
    async fn delete_run(&self, project: ProjectId, run_id: &str) -> Result<bool>;

    /// Spans across runs matching the filter, newest first.
    async fn search_spans(&self, project: ProjectId, query: ListQuery) -> Result<Page<Span>>;

    /// Threads whose runs match the filter, most recently active first.
    async fn list_threads(
        &self,
        project: ProjectId,
        query: ListQuery,
    ) -> Result<Page<ThreadSummary>>;

    /// A thread and its runs, oldest first (the conversation's turn order).
    async fn get_thread(
        &self,
        project: ProjectId,
        thread_id: &str,
    ) -> Result<Option<(ThreadSummary, Vec<Run>)>>;

    /// Totals, a time series and breakdowns by agent, model and metric over the matching runs
    /// (`lemma_core::stats`). A range that fails `check_range` is `Invalid`.
    async fn stats(&self, project: ProjectId, query: StatsQuery) -> Result<Stats>;

    async fn create_project(&self, name: &str) -> Result<Project>;
    async fn list_projects(&self) -> Result<Vec<Project>>;
    async fn project_by_name(&self, name: &str) -> Result<Option<Project>>;
    /// How many days the project keeps its runs (`None`: forever). The server's retention pass
    /// deletes the runs that started longer ago.
    async fn retention(&self, project: ProjectId) -> Result<Option<u32>>;
    /// Sets how many days the project keeps its runs; `None` keeps them forever. At least one
    /// day, else `Invalid`.
    async fn set_retention(&self, project: ProjectId, days: Option<u32>) -> Result<()>;

    /// The project's redaction rules (empty by default). Ingest applies them before storing.
    async fn redaction(&self, project: ProjectId) -> Result<RedactionRules>;
    /// Replaces the project's redaction rules. Rules that fail `RedactionRules::validate` are
    /// `Invalid`, with its message.
    async fn set_redaction(&self, project: ProjectId, rules: &RedactionRules) -> Result<()>;
    /// Adds redactions made on `day` (days since 1970-01-01) to the project's counts.
    async fn record_redactions(
        &self,
        project: ProjectId,
        day: u32,
        counts: &[(String, u64)],
    ) -> Result<()>;
    /// The project's redaction counts from `since_day` on, by day and rule, in that order.
    async fn redaction_counts(
        &self,
        project: ProjectId,
        since_day: u32,
    ) -> Result<Vec<RedactionCount>>;

    /// Creates a key for a project. `secret` is used as given (for bootstrap keys), else one is
    /// generated.
    async fn create_key(
        &self,
        project: &str,
        secret: Option<String>,
        scope: KeyScope,
    ) -> Result<NewKey>;
    async fn list_keys(&self, project: Option<&str>) -> Result<Vec<KeyInfo>>;
    /// Revokes by id or public key. Returns false when no such key exists.
    async fn revoke_key(&self, id_or_public_key: &str) -> Result<bool>;
    /// The project and scope of a credential, if it is a live key.
    async fn authenticate(&self, credential: &Credential) -> Result<Option<KeyGrant>>;
    /// Stores a key another store held, as it was there (public key, secret hash, hint,
    /// creation and revocation times), so the clients using it keep working. Importing a key
    /// already stored (same project, public key and hash) changes nothing, except that an
    /// import of it revoked revokes it. A public key or secret another key has is `Conflict`,
    /// an unknown project `NotFound`.
    async fn import_key(&self, key: StoredKey) -> Result<KeyInfo>;

    /// Creates a user with a password hash (`users::hash_password`). A name taken is
    /// `Conflict`, a malformed one `Invalid`.
    async fn create_user(&self, name: &str, password_hash: &str) -> Result<User>;
    async fn list_users(&self) -> Result<Vec<User>>;
    /// The user's password hash, to check a sign-in; `None` for no such user.
    async fn password_hash(&self, user: &str) -> Result<Option<String>>;
    /// Replaces the user's password hash and ends their sessions. False: no such user.
    async fn set_password(&self, user: &str, password_hash: &str) -> Result<bool>;
    /// Deletes the user with their roles and sessions. False: no such user.
    async fn delete_user(&self, user: &str) -> Result<bool>;
    /// Gives the user a role in the project, or (`None`) takes them out of it. An unknown user
    /// is `NotFound`.
    async fn set_role(&self, user: &str, project: ProjectId, role: Option<Role>) -> Result<()>;
    /// The projects the user belongs to, by project name.
    async fn memberships(&self, user: &str) -> Result<Vec<Membership>>;
    /// The users of a project, by name.
    async fn members(&self, project: ProjectId) -> Result<Vec<Member>>;
    /// Stores a session under the hash of its token (`users::hash_token`).
    async fn create_session(&self, token_hash: &[u8], session: &Session) -> Result<()>;
    /// The live session under this token hash: `None` once it expired or was deleted, or
    /// its user was.
    async fn session(&self, token_hash: &[u8], now_unix_nano: u64) -> Result<Option<Session>>;
    async fn delete_session(&self, token_hash: &[u8]) -> Result<()>;

    /// Stores a proxy session under the hash of its token (`users::hash_token`).
    async fn create_proxy_session(&self, token_hash: &[u8], session: &ProxySession) -> Result<()>;
    /// The live proxy session under this token hash: `None` once it expired or was ended.
    async fn proxy_session(
        &self,
        token_hash: &[u8],
        now_unix_nano: u64,
    ) -> Result<Option<ProxySession>>;
    /// Ends the project's proxy session under this token hash. False: the project has no
    /// live one.
    async fn end_proxy_session(&self, project: ProjectId, token_hash: &[u8]) -> Result<bool>;

    /// How many spans, runs, metric events and log records the project holds ([`Counts`]).
    ///
    /// A method of every store, rather than counts each store's own code would take where
    /// they are compared (`lemma migrate` checks a copy with them): one definition for both
    /// sides, held by the conformance suite to the same numbers after the same writes,
    /// re-sends and deletions, so counts that differ mean data that differs, never two ways
    /// of counting.
    async fn counts(&self, project: ProjectId) -> Result<Counts>;

    /// The digest of every span of a run (what summaries and signals are computed from), in
    /// no particular order; `None` when the project holds no span of the run.
    async fn run_digests(
        &self,
        project: ProjectId,
        run_id: &str,
    ) -> Result<Option<Vec<SpanDigest>>>;

    /// Keeps an evaluation of a run's signals in place of the one stored, unless the stored
    /// one read the run's spans later (`evaluated_unix_nano`). Deleting the run deletes it.
    async fn put_signals(&self, project: ProjectId, found: RunSignals) -> Result<()>;

    /// The stored evaluations of these runs (those that have one), in no particular order.
    async fn signals_of(&self, project: ProjectId, run_ids: &[String]) -> Result<Vec<RunSignals>>;

    /// Runs with each signal, by the time bucket their run started in: runs started in
    /// `[since, until)`, buckets `bucket_ns` wide from `since`. Each name and severity of a
    /// run counts once per run.
    async fn signal_counts(
        &self,
        project: ProjectId,
        since_unix_nano: u64,
        until_unix_nano: u64,
        bucket_ns: u64,
    ) -> Result<Vec<SignalCount>>;

    /// The project's signal thresholds (the defaults until set).
    async fn signal_settings(&self, project: ProjectId) -> Result<SignalSettings>;
    /// Replaces the project's signal thresholds; invalid ones are `Invalid`.
    async fn set_signal_settings(
        &self,
        project: ProjectId,
        settings: &SignalSettings,
    ) -> Result<()>;

    /// The project's alert rules and channels (none, version 0, until set).
    async fn alert_config(&self, project: ProjectId) -> Result<AlertConfig>;
    /// Replaces the project's alert rules and channels, if its stored version is still
    /// `expected_version`; returns the new version. `Conflict` when another change came
    /// first, `Invalid` (naming what) for rules or channels that cannot be kept.
    async fn set_alert_config(
        &self,
        project: ProjectId,
        config: &AlertConfig,
        expected_version: u64,
    ) -> Result<u64>;
    /// Keeps an alert event, in place of the one with its id (its deliveries went on).
    async fn put_alert_event(&self, project: ProjectId, event: &AlertEvent) -> Result<()>;
    /// The project's alert events, newest first: of one rule, or of all, at most `limit`.
    async fn alert_events(
        &self,
        project: ProjectId,
        rule_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AlertEvent>>;

    /// Stores a new version of a dataset: version 1 of a new one when `expected_version` is
    /// 0, else the one after `expected_version`, which must be the latest (`Conflict` when
    /// another change came first). Cases are checked (`Invalid`, naming the case) and given
    /// ids. Versions are never changed once stored.
    async fn put_dataset(
        &self,
        project: ProjectId,
        dataset: DatasetVersion,
        expected_version: u32,
    ) -> Result<DatasetVersion>;
    /// A version of a dataset with its cases (the latest when `version` is `None`).
    async fn dataset(
        &self,
        project: ProjectId,
        name: &str,
        version: Option<u32>,
    ) -> Result<Option<DatasetVersion>>;
    /// The project's datasets, by name, each at its latest version.
    async fn list_datasets(&self, project: ProjectId) -> Result<Vec<DatasetInfo>>;
    /// Deletes a dataset and every version of it; its experiments stay (and can no longer be
    /// compared case by case). Returns whether the project had it.
    async fn delete_dataset(&self, project: ProjectId, name: &str) -> Result<bool>;

    /// Records an experiment over a stored dataset version; `Conflict` when the project has an
    /// experiment of that name, `Invalid` when the version does not exist.
    async fn create_experiment(
        &self,
        project: ProjectId,
        experiment: Experiment,
    ) -> Result<Experiment>;
    /// The project's experiments, newest first; of one dataset, or of all.
    async fn list_experiments(
        &self,
        project: ProjectId,
        dataset: Option<&str>,
    ) -> Result<Vec<Experiment>>;
    async fn experiment(&self, project: ProjectId, name: &str) -> Result<Option<Experiment>>;
    /// Links cases of an experiment to the runs that answered them; a case linked again
    /// keeps its latest run. `NotFound` for an unknown experiment.
    async fn link_runs(
        &self,
        project: ProjectId,
        experiment: &str,
        links: &[CaseRun],
    ) -> Result<()>;
    /// An experiment's cases and their runs, by case id.
    async fn experiment_runs(&self, project: ProjectId, experiment: &str) -> Result<Vec<CaseRun>>;

    /// The project's price overrides, by model pattern.
    async fn list_prices(&self, project: ProjectId) -> Result<Vec<PriceOverride>>;
    /// Sets the project's price for a model pattern, replacing any it had. The pattern is
    /// normalised first; an invalid pattern or price is `Invalid`.
    async fn set_price(
        &self,
        project: ProjectId,
        model: &str,
        price: Price,
    ) -> Result<PriceOverride>;
    /// Removes the project's price for a model pattern. Returns false when it had none.
    async fn delete_price(&self, project: ProjectId, model: &str) -> Result<bool>;
    /// Recomputes with `table` every computed cost of the project's stored spans (and prices
    /// spans that had none), never touching a provided cost, and re-summarises the runs that
    /// changed, in one commit. Returns how many spans changed.
    async fn reprice(&self, project: ProjectId, table: &PriceTable) -> Result<u64>;
}
