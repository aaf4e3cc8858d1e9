//! The SQLite schema and its migrations, applied in order on open (`PRAGMA user_version`).

use rusqlite::Connection;

use super::sql_err;
use crate::StoreError;

pub(super) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE projects (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_ns  INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects(id),
    public_key  TEXT NOT NULL UNIQUE,
    secret_hash BLOB NOT NULL UNIQUE,
    hint        TEXT NOT NULL,
    created_ns  INTEGER NOT NULL,
    revoked_ns  INTEGER
);

-- One row per span. Columns are what filters and summaries read; `digest` is the compact
-- summary input, `body` the whole normalised span (zstd-compressed JSON).
CREATE TABLE spans (
    project_id     INTEGER NOT NULL,
    trace_id       BLOB NOT NULL,
    span_id        BLOB NOT NULL,
    parent_span_id BLOB,
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    start_ns       INTEGER NOT NULL,
    end_ns         INTEGER NOT NULL,
    status         TEXT NOT NULL,
    model          TEXT,
    provider       TEXT,
    tool_name      TEXT,
    agent_name     TEXT,
    thread_id      TEXT,
    user_id        TEXT,
    session_id     TEXT,
    environment    TEXT,
    service_name   TEXT,
    input_tokens   INTEGER,
    output_tokens  INTEGER,
    total_tokens   INTEGER,
    cost_usd       REAL,
    digest         BLOB NOT NULL,
    body           BLOB NOT NULL
);
CREATE UNIQUE INDEX spans_id ON spans(project_id, trace_id, span_id);
CREATE INDEX spans_time ON spans(project_id, start_ns DESC);

-- Full-text index over span names, inputs and outputs; rowid = spans.rowid.
CREATE VIRTUAL TABLE span_text USING fts5(
    text, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2'
);

-- One row per run, rewritten in the same transaction as the spans that change it.
CREATE TABLE runs (
    project_id    INTEGER NOT NULL,
    trace_id      BLOB NOT NULL,
    name          TEXT NOT NULL,
    agent_name    TEXT,
    status        TEXT NOT NULL,
    start_ns      INTEGER NOT NULL,
    end_ns        INTEGER NOT NULL,
    duration_ms   REAL NOT NULL,
    span_count    INTEGER NOT NULL,
    error_count   INTEGER NOT NULL,
    input_tokens  INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    total_tokens  INTEGER NOT NULL,
    cost_usd      REAL,
    thread_id     TEXT,
    user_id       TEXT,
    session_id    TEXT,
    environment   TEXT,
    has_root      INTEGER NOT NULL,
    agents        TEXT NOT NULL,
    models        TEXT NOT NULL,
    tools         TEXT NOT NULL,
    tags          TEXT NOT NULL,
    signals       TEXT NOT NULL,
    kind_counts   TEXT NOT NULL,
    metadata      TEXT NOT NULL,
    summary       BLOB NOT NULL,
    PRIMARY KEY (project_id, trace_id)
) WITHOUT ROWID;
CREATE INDEX runs_time ON runs(project_id, start_ns DESC, trace_id DESC);
CREATE INDEX runs_thread ON runs(project_id, thread_id, start_ns);
CREATE INDEX runs_agent ON runs(project_id, agent_name, start_ns DESC);
CREATE INDEX runs_user ON runs(project_id, user_id, start_ns DESC);
"#,
    r#"
-- OTLP log records, joined to their span when it is read. `hash` makes a retried export a
-- no-op (log records carry no id of their own).
CREATE TABLE logs (
    project_id  INTEGER NOT NULL,
    trace_id    BLOB,
    span_id     BLOB,
    time_ns     INTEGER NOT NULL,
    hash        BLOB NOT NULL,
    body        BLOB NOT NULL
);
CREATE UNIQUE INDEX logs_hash ON logs(project_id, hash);
CREATE INDEX logs_span ON logs(project_id, trace_id, span_id);
"#,
    r#"
-- A project's own model prices (USD per million tokens), over the built-in table.
CREATE TABLE prices (
    project_id  INTEGER NOT NULL REFERENCES projects(id),
    model       TEXT NOT NULL,
    input       REAL NOT NULL,
    output      REAL NOT NULL,
    cache_read  REAL,
    cache_write REAL,
    reasoning   REAL,
    updated_ns  INTEGER NOT NULL,
    PRIMARY KEY (project_id, model)
) WITHOUT ROWID;

-- Where a span's cost came from (`provided`, `computed`), so re-pricing never touches a
-- provided cost. Until now Lemma computed no cost, so every stored cost was provided.
ALTER TABLE spans ADD COLUMN cost_source TEXT;
UPDATE spans SET cost_source = 'provided' WHERE cost_usd IS NOT NULL;
"#,
    r#"
-- Metric events: named values posted to a run, possibly before its spans arrive, so they
-- are joined to runs on read. `kind` is number (in `num`), bool (`num` 0 or 1) or text
-- (in `text`).
CREATE TABLE metrics (
    project_id  INTEGER NOT NULL,
    trace_id    BLOB NOT NULL,
    span_id     BLOB,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    num         REAL,
    text        TEXT,
    comment     TEXT,
    source      TEXT,
    created_ns  INTEGER NOT NULL,
    id          TEXT NOT NULL
);
CREATE UNIQUE INDEX metrics_id ON metrics(project_id, id);
CREATE INDEX metrics_run ON metrics(project_id, trace_id, name);
CREATE INDEX metrics_name ON metrics(project_id, name);
-- Finds which project a run belongs to, so metrics for another project's run are refused.
CREATE INDEX runs_trace ON runs(trace_id);
"#,
    r#"
-- A run's tokens and cost per model, small enough for stats to read without decompressing
-- the whole summary (NULL on runs summarised before: stats falls back to the summary).
ALTER TABLE runs ADD COLUMN usage_by_model TEXT;
-- Failed runs are few: listing them over a time range should not scan the range.
CREATE INDEX runs_status ON runs(project_id, status, start_ns DESC);
"#,
    r#"
-- Span bodies in blocks (see sqlite/blocks.rs): the spans of one run from one batch, zstd
-- over their JSON lines. A span's body is `span_blocks.body` line `block_pos` when `block`
-- is set, else its own `body` as before. Digests hold only what the columns do not.
CREATE TABLE span_blocks (
    id    INTEGER PRIMARY KEY,
    body  BLOB NOT NULL
);
ALTER TABLE spans ADD COLUMN block INTEGER;
ALTER TABLE spans ADD COLUMN block_pos INTEGER;
"#,
    r#"
-- The full-text index in parts (see sqlite/text.rs): the tables a text term is looked up in.
-- `span_text` keeps what was indexed before; new spans go to `span_text_<rowid / 131072>`.
CREATE TABLE text_parts (
    name TEXT PRIMARY KEY
) WITHOUT ROWID;
INSERT INTO text_parts (name) VALUES ('span_text');
"#,
    r#"
-- What run summaries are merged from (lemma_core::run::ledger, sqlite/ledger.rs): each run's
-- state, and the rows of the rules that relate spans, read only around a batch's own spans.
-- A run without a state (stored before, or re-priced) gets one from all its spans once.
CREATE TABLE run_state (
    project_id  INTEGER NOT NULL,
    trace_id    BLOB NOT NULL,
    state       BLOB NOT NULL,
    PRIMARY KEY (project_id, trace_id)
) WITHOUT ROWID;
-- Spans carrying usage or a cost (the rest of a call is its span's), and what each is
-- counted for.
CREATE TABLE run_calls (
    project_id    INTEGER NOT NULL,
    trace_id      BLOB NOT NULL,
    call_id       BLOB NOT NULL,
    response_id   TEXT,
    counted_usage INTEGER NOT NULL,
    counted_cost  INTEGER NOT NULL,
    PRIMARY KEY (project_id, trace_id, call_id)
) WITHOUT ROWID;
CREATE INDEX run_calls_response ON run_calls(project_id, trace_id, response_id)
    WHERE response_id IS NOT NULL;
-- Span ids (stored or not yet) with a descendant carrying usage or a cost.
CREATE TABLE run_cover (
    project_id  INTEGER NOT NULL,
    trace_id    BLOB NOT NULL,
    span_id     BLOB NOT NULL,
    usage       INTEGER NOT NULL,
    cost        INTEGER NOT NULL,
    PRIMARY KEY (project_id, trace_id, span_id)
) WITHOUT ROWID;
-- Tool spans in start order, with a hash of the call (name and arguments).
CREATE TABLE run_tools (
    project_id  INTEGER NOT NULL,
    trace_id    BLOB NOT NULL,
    start_ns    INTEGER NOT NULL,
    end_ns      INTEGER NOT NULL,
    span_id     BLOB NOT NULL,
    call        BLOB NOT NULL,
    PRIMARY KEY (project_id, trace_id, start_ns, end_ns, span_id)
) WITHOUT ROWID;
"#,
    // Project settings: retention.
    r#"
CREATE TABLE project_settings (
    project_id      INTEGER PRIMARY KEY,
    retention_days  INTEGER
);
"#,
    // Redaction: a project's rules (JSON) and what they redacted, by day and rule.
    r#"
CREATE TABLE redaction_rules (
    project_id  INTEGER PRIMARY KEY,
    rules       TEXT NOT NULL
);
CREATE TABLE redaction_counts (
    project_id  INTEGER NOT NULL,
    day         INTEGER NOT NULL,
    rule        TEXT NOT NULL,
    count       INTEGER NOT NULL,
    PRIMARY KEY (project_id, day, rule)
) WITHOUT ROWID;
"#,
    // Key scopes: what a key may do. Keys made before are admin keys, as they could do all.
    r#"
ALTER TABLE api_keys ADD COLUMN scope TEXT NOT NULL DEFAULT 'admin';
"#,
    // Users, their roles per project, and their sessions (under the SHA-256 of the token).
    r#"
CREATE TABLE users (
    name           TEXT PRIMARY KEY,
    password_hash  TEXT NOT NULL,
    created_ns     INTEGER NOT NULL
);
CREATE TABLE memberships (
    user_name   TEXT NOT NULL,
    project_id  INTEGER NOT NULL,
    role        TEXT NOT NULL,
    PRIMARY KEY (user_name, project_id)
) WITHOUT ROWID;
CREATE INDEX memberships_by_project ON memberships (project_id);
CREATE TABLE sessions (
    token_hash  BLOB PRIMARY KEY,
    user_name   TEXT NOT NULL,
    csrf        TEXT NOT NULL,
    created_ns  INTEGER NOT NULL,
    expires_ns  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_by_user ON sessions (user_name);
"#,
    // Proxy sessions: model calls recorded under a parent span (under the SHA-256 of the token).
    r#"
CREATE TABLE proxy_sessions (
    token_hash      BLOB PRIMARY KEY,
    project_id      INTEGER NOT NULL,
    trace_id        TEXT,
    parent_span_id  TEXT,
    thread_id       TEXT,
    user_id         TEXT,
    created_ns      INTEGER NOT NULL,
    expires_ns      INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX proxy_sessions_by_expiry ON proxy_sessions (expires_ns);
"#,
    // Signals: each run's latest evaluation (a JSON list) and a project's thresholds (JSON).
    r#"
CREATE TABLE run_signals (
    project_id    INTEGER NOT NULL,
    trace_id      BLOB NOT NULL,
    evaluated_ns  INTEGER NOT NULL,
    span_count    INTEGER NOT NULL,
    start_ns      INTEGER NOT NULL,
    signals       TEXT NOT NULL,
    PRIMARY KEY (project_id, trace_id)
) WITHOUT ROWID;
CREATE INDEX run_signals_by_start ON run_signals (project_id, start_ns);
CREATE TABLE signal_settings (
    project_id  INTEGER PRIMARY KEY,
    settings    TEXT NOT NULL
);
"#,
    // Alerts: a project's rules and channels (one versioned JSON document) and its events.
    r#"
CREATE TABLE alert_config (
    project_id  INTEGER PRIMARY KEY,
    version     INTEGER NOT NULL,
    config      TEXT NOT NULL
);
CREATE TABLE alert_events (
    project_id  INTEGER NOT NULL,
    id          TEXT NOT NULL,
    rule_id     TEXT NOT NULL,
    at_ns       INTEGER NOT NULL,
    event       TEXT NOT NULL,
    PRIMARY KEY (project_id, id)
) WITHOUT ROWID;
CREATE INDEX alert_events_by_time ON alert_events (project_id, at_ns DESC);
CREATE INDEX alert_events_by_rule ON alert_events (project_id, rule_id, at_ns DESC);
"#,
    // Experiments: datasets (a row per version, its cases as JSON), experiments over a
    // version, and the runs that answered their cases.
    r#"
CREATE TABLE datasets (
    project_id   INTEGER NOT NULL,
    name         TEXT NOT NULL,
    version      INTEGER NOT NULL,
    description  TEXT NOT NULL,
    created_ns   INTEGER NOT NULL,
    case_count   INTEGER NOT NULL,
    cases        TEXT NOT NULL,
    PRIMARY KEY (project_id, name, version)
) WITHOUT ROWID;
CREATE TABLE experiments (
    project_id       INTEGER NOT NULL,
    name             TEXT NOT NULL,
    dataset          TEXT NOT NULL,
    dataset_version  INTEGER NOT NULL,
    description      TEXT NOT NULL,
    metadata         TEXT NOT NULL,
    created_ns       INTEGER NOT NULL,
    PRIMARY KEY (project_id, name)
) WITHOUT ROWID;
CREATE INDEX experiments_by_time ON experiments (project_id, created_ns DESC);
CREATE TABLE experiment_runs (
    project_id  INTEGER NOT NULL,
    experiment  TEXT NOT NULL,
    case_id     TEXT NOT NULL,
    trace_id    BLOB NOT NULL,
    PRIMARY KEY (project_id, experiment, case_id)
) WITHOUT ROWID;
CREATE INDEX experiment_runs_by_run ON experiment_runs (project_id, trace_id);
"#,
];

/// Marks a database as Lemma's in its header (`PRAGMA application_id`, "LMMA"), so another
/// program's database is told apart from Lemma's.
const APPLICATION_ID: i32 = 0x4c4d_4d41;

/// Tables every version of Lemma's schema has; a database without them is not Lemma's.
const LEMMA_TABLES: &[&str] = &["projects", "api_keys", "spans", "runs"];

pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let version: usize = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    // Databases made before the mark get it too.
    conn.pragma_update(None, "application_id", APPLICATION_ID)
}

/// Why the database `conn` opened is not one this binary may use (to say at start, with what
/// to do), checked before anything writes to it: a file that is not SQLite or is damaged,
/// another program's database, or one a newer Lemma wrote.
pub fn check(conn: &Connection) -> Result<(), StoreError> {
    use rusqlite::ErrorCode::{DatabaseCorrupt, NotADatabase};
    let refuse = |why: String| Err(StoreError::Backend(why));
    // Reading the schema reads the header and the first page: a file that is not a database,
    // or one cut short of the size its header gives, fails here.
    let tables: rusqlite::Result<Vec<String>> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect());
    let tables = match tables {
        Ok(tables) => tables,
        Err(e) if matches!(e.sqlite_error_code(), Some(NotADatabase | DatabaseCorrupt)) => {
            return refuse(format!(
                "it is not a SQLite database, or a damaged one ({e}): restore it from a \
                 backup, or move it aside to start with an empty store"
            ))
        }
        // Busy, unreadable: say so as it is, the file may be fine.
        Err(e) => return Err(sql_err(e)),
    };
    let pragma = |name: &str| -> Result<i64, StoreError> {
        conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
            .map_err(sql_err)
    };
    let (version, application) = (pragma("user_version")?, pragma("application_id")?);
    if tables.is_empty() {
        return Ok(());
    }
    let has_lemma_tables = LEMMA_TABLES.iter().all(|t| tables.iter().any(|n| n == t));
    let lemma = application == i64::from(APPLICATION_ID)
        || (application == 0 && version > 0 && has_lemma_tables);
    if !lemma {
        let mut shown: Vec<&str> = tables.iter().map(String::as_str).take(5).collect();
        if tables.len() > shown.len() {
            shown.push("...");
        }
        return refuse(format!(
            "it is another program's SQLite database, not Lemma's (its tables: {}): point \
             --data-dir at Lemma's data dir, or move the file aside to start an empty store",
            shown.join(", ")
        ));
    }
    if version > MIGRATIONS.len() as i64 {
        return refuse(format!(
            "a newer Lemma wrote it (schema version {version}; this one knows up to {}): run \
             that version or a later one, or restore a backup this version wrote",
            MIGRATIONS.len()
        ));
    }
    Ok(())
}
