//! The scale-out store: ClickHouse, shared by any number of stateless Lemma servers.
//!
//! Every table only grows: a change (a revoked key, a new price, a run's new summary, a
//! deletion) is a new row, and reads pick each key's live row themselves. Nothing depends on
//! when ClickHouse merges parts, so every answer is exact at once, from any server, on one
//! ClickHouse or on a cluster of shards. `docs/architecture.md` ("The ClickHouse store")
//! explains the schema, the keys and why.

mod admin;
mod alerts;
mod config;
mod counts;
mod delete;
mod experiments;
mod filter;
mod key_cache;
mod list;
pub mod local;
mod logs;
mod metrics;
mod prices;
mod proxy_sessions;
mod read;
mod redaction;
mod rows;
mod runs;
mod schema;
mod signals;
mod sql;
mod stats;
mod text;
mod users;
mod write;

use std::sync::Arc;

use async_trait::async_trait;
use lemma_core::pricing::{Price, PriceTable};
use lemma_core::query::Filter;
use lemma_core::redact::RedactionRules;
use lemma_core::stats::Stats;
use lemma_core::{LogRecord, MetricEvent, Run, Span, SpanOutline};

pub use config::{redact, ClickHouseConfig};
pub use key_cache::KEY_CACHE_TTL;

use crate::{
    Counts, Credential, KeyGrant, KeyInfo, KeyScope, ListQuery, Member, Membership, NewKey, Page,
    PriceOverride, Project, ProjectId, ProxySession, RedactionCount, Result, Role, RunFacets,
    Session, StatsQuery, Store, StoreError, StoredKey, ThreadSummary, User, WriteStats,
};

#[derive(Clone)]
pub struct ClickHouseStore {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub client: clickhouse::Client,
    pub config: ClickHouseConfig,
    keys: key_cache::KeyCache,
}

/// A client for one server of `config`; `database` is left out while it may not exist yet.
fn client_for(config: &ClickHouseConfig, url: &str, database: Option<&str>) -> clickhouse::Client {
    let mut c = clickhouse::Client::default()
        .with_url(url)
        // Validation asks the server for table schemas in ways 18.16 does not know.
        .with_validation(false);
    if let Some(db) = database {
        c = c.with_database(db);
    }
    if let Some(user) = &config.user {
        c = c.with_user(user);
    }
    if let Some(password) = &config.password {
        c = c.with_password(password);
    }
    if config.cluster.is_some() {
        c = c
            // An insert returns once every shard stored its rows: acknowledged means stored.
            .with_setting("insert_distributed_sync", "1")
            // A run's rows all live on one shard (sharded by trace id), so subqueries over
            // them are answered on each shard from its own part.
            .with_setting("distributed_product_mode", "local");
    }
    c
}

/// A ClickHouse error as the store reports it: `Unavailable` (retry later) when ClickHouse
/// cannot be reached or is overloaded, else `Backend`. The detail goes to the log; callers
/// answer with their own message.
pub(crate) fn ch_err(what: &str, e: clickhouse::error::Error) -> StoreError {
    use clickhouse::error::Error as E;
    let detail = e.to_string();
    let retryable = match &e {
        E::Network(_) | E::TimedOut => true,
        // Server-side: out of memory, too many queries or parts, timeouts, shards down.
        E::BadResponse(msg) => [
            "Code: 159",
            "Code: 202",
            "Code: 209",
            "Code: 210",
            "Code: 241",
            "Code: 252",
            "Code: 279",
            "Code: 394",
            "Code: 173",
        ]
        .iter()
        .any(|code| msg.contains(code)),
        _ => false,
    };
    tracing::warn!(error = %detail, "ClickHouse: {what} failed");
    if retryable {
        StoreError::Unavailable(format!("ClickHouse: {what} failed: {detail}"))
    } else {
        StoreError::Backend(format!("ClickHouse: {what} failed: {detail}"))
    }
}

pub(crate) fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

impl ClickHouseStore {
    /// Connects to the ClickHouse `address` names (`clickhouse://…`, see [`ClickHouseConfig`])
    /// and brings its schema up to date.
    pub async fn open(address: &str) -> Result<ClickHouseStore> {
        let config = ClickHouseConfig::parse(address)?;
        schema::create(&config).await?;
        Ok(ClickHouseStore {
            inner: Arc::new(Inner {
                client: client_for(&config, &config.url, Some(&config.database)),
                config,
                keys: key_cache::KeyCache::default(),
            }),
        })
    }
}

#[async_trait]
impl Store for ClickHouseStore {
    async fn write_spans(&self, batch: Vec<(ProjectId, Span)>) -> Result<WriteStats> {
        write::write_spans(&self.inner, batch).await
    }

    async fn write_logs(&self, batch: Vec<(ProjectId, LogRecord)>) -> Result<WriteStats> {
        logs::write_batch(&self.inner, batch).await
    }

    async fn write_metrics(
        &self,
        project: ProjectId,
        events: Vec<MetricEvent>,
    ) -> Result<Vec<MetricEvent>> {
        metrics::write_batch(&self.inner, project, events).await
    }

    async fn list_metrics(&self, project: ProjectId, run_id: &str) -> Result<Vec<MetricEvent>> {
        metrics::list(&self.inner, project, &run_id.to_ascii_lowercase()).await
    }

    async fn list_runs(&self, project: ProjectId, query: ListQuery) -> Result<Page<Run>> {
        list::list_runs(&self.inner, project, &query).await
    }

    async fn run_facets(
        &self,
        project: ProjectId,
        filter: Filter,
        limit: usize,
    ) -> Result<Vec<RunFacets>> {
        list::run_facets(&self.inner, project, &filter, limit).await
    }

    async fn get_run(&self, project: ProjectId, run_id: &str) -> Result<Option<(Run, Vec<Span>)>> {
        read::get_run(&self.inner, project, &run_id.to_ascii_lowercase()).await
    }

    async fn run_summary(&self, project: ProjectId, run_id: &str) -> Result<Option<Run>> {
        runs::summary(&self.inner, project, &run_id.to_ascii_lowercase()).await
    }

    async fn run_outline(
        &self,
        project: ProjectId,
        run_id: &str,
    ) -> Result<Option<Vec<SpanOutline>>> {
        read::run_outline(&self.inner, project, &run_id.to_ascii_lowercase()).await
    }

    async fn get_span(
        &self,
        project: ProjectId,
        run_id: &str,
        span_id: &str,
    ) -> Result<Option<Span>> {
        let ids = vec![span_id.to_ascii_lowercase()];
        let run_id = run_id.to_ascii_lowercase();
        let found = read::get_spans(&self.inner, project, &run_id, ids).await?;
        Ok(found.into_iter().next())
    }

    async fn get_spans(
        &self,
        project: ProjectId,
        run_id: &str,
        span_ids: Vec<String>,
    ) -> Result<Vec<Span>> {
        let ids = span_ids.iter().map(|id| id.to_ascii_lowercase()).collect();
        read::get_spans(&self.inner, project, &run_id.to_ascii_lowercase(), ids).await
    }

    async fn find_in_run(
        &self,
        project: ProjectId,
        run_id: &str,
        filter: Filter,
        limit: usize,
    ) -> Result<Vec<String>> {
        let run_id = run_id.to_ascii_lowercase();
        read::find_in_run(&self.inner, project, &run_id, &filter, limit).await
    }

    async fn delete_run(&self, project: ProjectId, run_id: &str) -> Result<bool> {
        delete::delete_run(&self.inner, project, &run_id.to_ascii_lowercase()).await
    }

    async fn search_spans(&self, project: ProjectId, query: ListQuery) -> Result<Page<Span>> {
        list::search_spans(&self.inner, project, &query).await
    }

    async fn list_threads(
        &self,
        project: ProjectId,
        query: ListQuery,
    ) -> Result<Page<ThreadSummary>> {
        list::list_threads(&self.inner, project, &query).await
    }

    async fn get_thread(
        &self,
        project: ProjectId,
        thread_id: &str,
    ) -> Result<Option<(ThreadSummary, Vec<Run>)>> {
        list::get_thread(&self.inner, project, thread_id).await
    }

    async fn stats(&self, project: ProjectId, query: StatsQuery) -> Result<Stats> {
        stats::stats(&self.inner, project, &query).await
    }

    async fn create_project(&self, name: &str) -> Result<Project> {
        admin::create_project(&self.inner, name).await
    }

    async fn list_projects(&self) -> Result<Vec<Project>> {
        admin::list_projects(&self.inner).await
    }

    async fn retention(&self, project: ProjectId) -> Result<Option<u32>> {
        admin::retention(&self.inner, project).await
    }

    async fn set_retention(&self, project: ProjectId, days: Option<u32>) -> Result<()> {
        admin::set_retention(&self.inner, project, days).await
    }

    async fn redaction(&self, project: ProjectId) -> Result<RedactionRules> {
        redaction::rules(&self.inner, project).await
    }

    async fn set_redaction(&self, project: ProjectId, rules: &RedactionRules) -> Result<()> {
        redaction::set_rules(&self.inner, project, rules).await
    }

    async fn record_redactions(
        &self,
        project: ProjectId,
        day: u32,
        counts: &[(String, u64)],
    ) -> Result<()> {
        redaction::record(&self.inner, project, day, counts).await
    }

    async fn redaction_counts(
        &self,
        project: ProjectId,
        since_day: u32,
    ) -> Result<Vec<RedactionCount>> {
        redaction::counts(&self.inner, project, since_day).await
    }

    async fn project_by_name(&self, name: &str) -> Result<Option<Project>> {
        admin::project_by_name(&self.inner, name).await
    }

    async fn create_user(&self, name: &str, password_hash: &str) -> Result<User> {
        users::create_user(&self.inner, name, password_hash).await
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        users::list_users(&self.inner).await
    }

    async fn password_hash(&self, user: &str) -> Result<Option<String>> {
        users::password_hash(&self.inner, user).await
    }

    async fn set_password(&self, user: &str, password_hash: &str) -> Result<bool> {
        users::set_password(&self.inner, user, password_hash).await
    }

    async fn delete_user(&self, user: &str) -> Result<bool> {
        users::delete_user(&self.inner, user).await
    }

    async fn set_role(&self, user: &str, project: ProjectId, role: Option<Role>) -> Result<()> {
        users::set_role(&self.inner, user, project, role).await
    }

    async fn memberships(&self, user: &str) -> Result<Vec<Membership>> {
        users::memberships(&self.inner, user).await
    }

    async fn members(&self, project: ProjectId) -> Result<Vec<Member>> {
        users::members(&self.inner, project).await
    }

    async fn create_session(&self, token_hash: &[u8], session: &Session) -> Result<()> {
        users::create_session(&self.inner, token_hash, session).await
    }

    async fn session(&self, token_hash: &[u8], now_unix_nano: u64) -> Result<Option<Session>> {
        users::session(&self.inner, token_hash, now_unix_nano).await
    }

    async fn delete_session(&self, token_hash: &[u8]) -> Result<()> {
        users::delete_session(&self.inner, token_hash).await
    }

    async fn create_proxy_session(&self, token_hash: &[u8], session: &ProxySession) -> Result<()> {
        proxy_sessions::create(&self.inner, token_hash, session).await
    }

    async fn proxy_session(
        &self,
        token_hash: &[u8],
        now_unix_nano: u64,
    ) -> Result<Option<ProxySession>> {
        proxy_sessions::get(&self.inner, token_hash, now_unix_nano).await
    }

    async fn end_proxy_session(&self, project: ProjectId, token_hash: &[u8]) -> Result<bool> {
        proxy_sessions::end(&self.inner, project, token_hash).await
    }

    async fn create_key(
        &self,
        project: &str,
        secret: Option<String>,
        scope: KeyScope,
    ) -> Result<NewKey> {
        admin::create_key(&self.inner, project, secret, scope).await
    }

    async fn list_keys(&self, project: Option<&str>) -> Result<Vec<KeyInfo>> {
        admin::list_keys(&self.inner, project).await
    }

    async fn revoke_key(&self, id_or_public_key: &str) -> Result<bool> {
        let revoked = admin::revoke_key(&self.inner, id_or_public_key).await;
        // After the revocation is stored, so no request authenticated before it keeps the key.
        self.inner.keys.clear();
        revoked
    }

    async fn authenticate(&self, credential: &Credential) -> Result<Option<KeyGrant>> {
        if let Some(grant) = self.inner.keys.get(credential) {
            return Ok(Some(grant));
        }
        let found = admin::authenticate(&self.inner, credential).await?;
        if let Some(grant) = &found {
            self.inner.keys.put(credential, grant.clone());
        }
        Ok(found)
    }

    async fn import_key(&self, key: StoredKey) -> Result<KeyInfo> {
        let imported = admin::import_key(&self.inner, &key).await;
        self.inner.keys.clear();
        imported
    }

    async fn counts(&self, project: ProjectId) -> Result<Counts> {
        counts::counts(&self.inner, project).await
    }

    async fn list_prices(&self, project: ProjectId) -> Result<Vec<PriceOverride>> {
        prices::list(&self.inner, project).await
    }

    async fn set_price(
        &self,
        project: ProjectId,
        model: &str,
        price: Price,
    ) -> Result<PriceOverride> {
        prices::set(&self.inner, project, model, price).await
    }

    async fn delete_price(&self, project: ProjectId, model: &str) -> Result<bool> {
        prices::delete(&self.inner, project, model).await
    }

    async fn reprice(&self, project: ProjectId, table: &PriceTable) -> Result<u64> {
        prices::reprice(&self.inner, project, table).await
    }

    async fn run_digests(
        &self,
        project: ProjectId,
        run_id: &str,
    ) -> Result<Option<Vec<lemma_core::run::SpanDigest>>> {
        signals::digests(&self.inner, project, &run_id.to_ascii_lowercase()).await
    }

    async fn put_signals(&self, project: ProjectId, found: crate::RunSignals) -> Result<()> {
        signals::put(&self.inner, project, &found).await
    }

    async fn signals_of(
        &self,
        project: ProjectId,
        run_ids: &[String],
    ) -> Result<Vec<crate::RunSignals>> {
        signals::of_runs(&self.inner, project, run_ids).await
    }

    async fn signal_counts(
        &self,
        project: ProjectId,
        since_unix_nano: u64,
        until_unix_nano: u64,
        bucket_ns: u64,
    ) -> Result<Vec<crate::SignalCount>> {
        signals::counts(
            &self.inner,
            project,
            since_unix_nano,
            until_unix_nano,
            bucket_ns,
        )
        .await
    }

    async fn signal_settings(
        &self,
        project: ProjectId,
    ) -> Result<lemma_core::signals::SignalSettings> {
        signals::settings(&self.inner, project).await
    }

    async fn set_signal_settings(
        &self,
        project: ProjectId,
        settings: &lemma_core::signals::SignalSettings,
    ) -> Result<()> {
        signals::set_settings(&self.inner, project, settings).await
    }

    async fn alert_config(&self, project: ProjectId) -> Result<lemma_core::alerts::AlertConfig> {
        alerts::config(&self.inner, project).await
    }

    async fn set_alert_config(
        &self,
        project: ProjectId,
        config: &lemma_core::alerts::AlertConfig,
        expected_version: u64,
    ) -> Result<u64> {
        alerts::set_config(&self.inner, project, config, expected_version).await
    }

    async fn put_alert_event(
        &self,
        project: ProjectId,
        event: &lemma_core::alerts::AlertEvent,
    ) -> Result<()> {
        alerts::put_event(&self.inner, project, event).await
    }

    async fn alert_events(
        &self,
        project: ProjectId,
        rule_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<lemma_core::alerts::AlertEvent>> {
        alerts::events(&self.inner, project, rule_id, limit).await
    }

    async fn put_dataset(
        &self,
        project: ProjectId,
        dataset: lemma_core::experiments::DatasetVersion,
        expected_version: u32,
    ) -> Result<lemma_core::experiments::DatasetVersion> {
        experiments::put_dataset(&self.inner, project, dataset, expected_version).await
    }

    async fn dataset(
        &self,
        project: ProjectId,
        name: &str,
        version: Option<u32>,
    ) -> Result<Option<lemma_core::experiments::DatasetVersion>> {
        experiments::dataset(&self.inner, project, name, version).await
    }

    async fn list_datasets(
        &self,
        project: ProjectId,
    ) -> Result<Vec<lemma_core::experiments::DatasetInfo>> {
        experiments::list_datasets(&self.inner, project).await
    }

    async fn delete_dataset(&self, project: ProjectId, name: &str) -> Result<bool> {
        experiments::delete_dataset(&self.inner, project, name).await
    }

    async fn create_experiment(
        &self,
        project: ProjectId,
        experiment: lemma_core::experiments::Experiment,
    ) -> Result<lemma_core::experiments::Experiment> {
        experiments::create_experiment(&self.inner, project, experiment).await
    }

    async fn list_experiments(
        &self,
        project: ProjectId,
        dataset: Option<&str>,
    ) -> Result<Vec<lemma_core::experiments::Experiment>> {
        experiments::list_experiments(&self.inner, project, dataset).await
    }

    async fn experiment(
        &self,
        project: ProjectId,
        name: &str,
    ) -> Result<Option<lemma_core::experiments::Experiment>> {
        experiments::experiment(&self.inner, project, name).await
    }

    async fn link_runs(
        &self,
        project: ProjectId,
        experiment: &str,
        links: &[lemma_core::experiments::CaseRun],
    ) -> Result<()> {
        experiments::link_runs(&self.inner, project, experiment, links).await
    }

    async fn experiment_runs(
        &self,
        project: ProjectId,
        experiment: &str,
    ) -> Result<Vec<lemma_core::experiments::CaseRun>> {
        experiments::experiment_runs(&self.inner, project, experiment).await
    }
}
