-- Lemma's ClickHouse schema. Each statement creates one table, named {table}: the table itself
-- on a single server, or the local part on each shard of a cluster, behind a Distributed table
-- of the plain name (clickhouse/schema.rs). Everything here runs on ClickHouse 18.16 and on
-- current releases (shared/reference/clickhouse.md, section 7).
--
-- No table relies on merges for its answers: rows are only ever added, and reads pick the
-- live row of each key themselves (`ORDER BY ... LIMIT 1 BY key`), so a read is exact before
-- and after ClickHouse merges, and the same through a Distributed table.
--
-- Tables read a run at a time keep small granules (`index_granularity`): a read by key then
-- decompresses about one run's rows instead of 8,192 rows of span bodies.
--
-- `inserted` (the arrival day) partitions what grows with traffic, so expiring old data drops
-- whole partitions. Span times are the exporter's and may be anything; arrival days are not.

-- @table projects sharded cityHash64(name)
-- Projects by name; the first row of a name is the project (ids derive from names, so two
-- servers creating the same project at once write the same row).
CREATE TABLE IF NOT EXISTS {table} (
    id          Int64,
    name        String,
    created_ns  UInt64
) ENGINE = ReplacingMergeTree() ORDER BY name;

-- @table api_keys sharded cityHash64(public_key)
-- One row per change of a key (created, revoked); the newest row of a key is its state.
CREATE TABLE IF NOT EXISTS {table} (
    id           Int64,
    project_id   Int64,
    public_key   String,
    secret_hash  String,
    hint         String,
    created_ns   UInt64,
    revoked_ns   UInt64,
    updated_ns   UInt64
) ENGINE = ReplacingMergeTree(updated_ns) ORDER BY public_key;

-- @table key_scopes sharded cityHash64(public_key)
-- What a key may do, stored when it is made; a key without a row is an admin key (keys made
-- before scopes existed could do everything).
CREATE TABLE IF NOT EXISTS {table} (
    public_key  String,
    scope       String,
    updated_ns  UInt64
) ENGINE = ReplacingMergeTree(updated_ns) ORDER BY public_key;

-- @table users sharded cityHash64(name)
-- People who sign in, one row per change; the newest row of a name holds. Sessions made
-- before `sessions_after_ns` (a password change, a deletion) no longer count.
CREATE TABLE IF NOT EXISTS {table} (
    name               String,
    password_hash      String,
    created_ns         UInt64,
    sessions_after_ns  UInt64,
    deleted            UInt8,
    updated_ns         UInt64
) ENGINE = ReplacingMergeTree(updated_ns) ORDER BY name;

-- @table memberships sharded cityHash64(user_name)
-- A user's role in a project, one row per change; an empty role ends the membership.
CREATE TABLE IF NOT EXISTS {table} (
    user_name   String,
    project_id  Int64,
    role        String,
    updated_ns  UInt64
) ENGINE = ReplacingMergeTree(updated_ns) ORDER BY (user_name, project_id);

-- @table sessions sharded cityHash64(token_hash)
-- Signed-in browsers under the SHA-256 of their token (hex); `expires_ns` 0 is a sign-out.
CREATE TABLE IF NOT EXISTS {table} (
    token_hash  String,
    user_name   String,
    csrf        String,
    created_ns  UInt64,
    expires_ns  UInt64,
    updated_ns  UInt64
) ENGINE = ReplacingMergeTree(updated_ns) ORDER BY token_hash;

-- @table proxy_sessions sharded cityHash64(token_hash)
-- Proxy sessions under the SHA-256 of their token (hex), one row per change; the newest row of a
-- token holds, and `expires_ns` 0 ends it. Empty strings are absent values.
CREATE TABLE IF NOT EXISTS {table} (
    token_hash      String,
    project_id      Int64,
    trace_id        String,
    parent_span_id  String,
    thread_id       String,
    user_id         String,
    created_ns      UInt64,
    expires_ns      UInt64,
    updated_ns      UInt64
) ENGINE = ReplacingMergeTree(updated_ns) ORDER BY token_hash;

-- @table project_settings sharded cityHash64(project_id)
-- A project's settings, one row per change; the newest row of a project holds.
CREATE TABLE IF NOT EXISTS {table} (
    project_id      Int64,
    retention_days  Nullable(UInt32),
    updated_ns      UInt64
) ENGINE = ReplacingMergeTree(updated_ns) ORDER BY project_id;

-- @table redaction_rules sharded cityHash64(project_id)
-- A project's redaction rules (JSON), one row per change; the newest row of a project holds.
CREATE TABLE IF NOT EXISTS {table} (
    project_id  Int64,
    rules       String,
    updated_ns  UInt64
) ENGINE = ReplacingMergeTree(updated_ns) ORDER BY project_id;

-- @table redaction_counts sharded cityHash64(project_id)
-- What a project's rules redacted, by day and rule; reads sum the rows.
CREATE TABLE IF NOT EXISTS {table} (
    project_id  Int64,
    day         UInt32,
    rule        String,
    count       UInt64
) ENGINE = SummingMergeTree(count) ORDER BY (project_id, day, rule);

-- @table signal_settings sharded cityHash64(project_id)
-- A project's signal thresholds (JSON), one row per change; the newest row of a project holds.
CREATE TABLE IF NOT EXISTS {table} (
    project_id  Int64,
    settings    String,
    updated_ns  UInt64
) ENGINE = ReplacingMergeTree(updated_ns) ORDER BY project_id;

-- @table alert_config sharded cityHash64(project_id)
-- A project's alert rules and channels (JSON of lemma_core::alerts::AlertConfig), one row per
-- change; the highest `version` of a project holds (clickhouse/alerts.rs).
CREATE TABLE IF NOT EXISTS {table} (
    project_id  Int64,
    version     UInt64,
    config      String,
    updated_ns  UInt64
) ENGINE = ReplacingMergeTree(version) ORDER BY project_id;

-- @table prices sharded cityHash64(model)
-- A project's own model prices; the newest row of (project, model) holds, `deleted` ends it.
CREATE TABLE IF NOT EXISTS {table} (
    project_id   Int64,
    model        String,
    input        Float64,
    output       Float64,
    cache_read   Nullable(Float64),
    cache_write  Nullable(Float64),
    reasoning    Nullable(Float64),
    updated_ns   UInt64,
    deleted      UInt8
) ENGINE = ReplacingMergeTree(updated_ns) ORDER BY (project_id, model);

-- @table spans sharded cityHash64(trace_id)
-- One row per span (more only when an exporter's retry raced another server, or a re-pricing
-- wrote a newer `version`). Columns are what filters and summaries read; `digest` holds the
-- rest of the summary input and `body` the whole span (zstd JSON, lemma_store::encoding).
-- `generation` counts the run's deletions before the span arrived (see run_deletes).
CREATE TABLE IF NOT EXISTS {table} (
    project_id      Int64,
    trace_id        String,
    span_id         String,
    generation      UInt32,
    version         UInt32,
    inserted        DateTime,
    parent_span_id  Nullable(String),
    name            String,
    kind            String,
    status          String,
    start_ns        UInt64,
    end_ns          UInt64,
    model           Nullable(String),
    provider        Nullable(String),
    tool_name       Nullable(String),
    agent_name      Nullable(String),
    thread_id       Nullable(String),
    user_id         Nullable(String),
    session_id      Nullable(String),
    environment     Nullable(String),
    service_name    Nullable(String),
    input_tokens    Nullable(UInt64),
    output_tokens   Nullable(UInt64),
    total_tokens    Nullable(UInt64),
    cost_usd        Nullable(Float64),
    cost_source     Nullable(String),
    digest          String,
    body            String
) ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMMDD(inserted)
  ORDER BY (project_id, trace_id, span_id, generation) SETTINGS index_granularity = 256;

-- @table span_terms sharded cityHash64(trace_id)
-- The full-text index: for each word, the spans of a run holding it with the word's positions
-- in each, one row per word and run a write stored (clickhouse/text.rs). Found by (project,
-- word) through the table's key. Not a replacing engine: two writes of one run add two rows.
CREATE TABLE IF NOT EXISTS {table} (
    project_id  Int64,
    term        String,
    trace_id    String,
    generation  UInt32,
    spans       Array(String),
    positions   Array(Array(UInt32)),
    inserted    DateTime
) ENGINE = MergeTree() PARTITION BY toYYYYMMDD(inserted)
  ORDER BY (project_id, term, trace_id, generation);

-- @table runs sharded cityHash64(trace_id)
-- Run summaries. A commit writes the summary of each run it touched, computed from every
-- stored span of the run after its own spans were acknowledged; `version` orders them so the
-- summary that saw the most spans wins (clickhouse/runs.rs explains why that is exact).
CREATE TABLE IF NOT EXISTS {table} (
    project_id     Int64,
    trace_id       String,
    version        UInt64,
    deleted        UInt8,
    first_inserted DateTime,
    name           String,
    agent_name     Nullable(String),
    status         String,
    start_ns       UInt64,
    end_ns         UInt64,
    duration_ms    Float64,
    span_count     UInt64,
    error_count    UInt64,
    input_tokens   UInt64,
    output_tokens  UInt64,
    total_tokens   UInt64,
    cost_usd       Nullable(Float64),
    thread_id      Nullable(String),
    user_id        Nullable(String),
    session_id     Nullable(String),
    environment    Nullable(String),
    has_root       UInt8,
    agents         Array(String),
    models         Array(String),
    tools          Array(String),
    tags           Array(String),
    signals        Array(String),
    kinds          Array(String),
    meta_keys      Array(String),
    meta_values    Array(Nullable(String)),
    usage_by_model String,
    summary        String
) ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMMDD(first_inserted)
  ORDER BY (project_id, trace_id) SETTINGS index_granularity = 1024;

-- @table run_deletes sharded cityHash64(trace_id)
-- Deleted runs: spans, log records and metric events of a run with a generation listed here
-- are gone for every read at once; the rows themselves are removed in the background.
CREATE TABLE IF NOT EXISTS {table} (
    project_id  Int64,
    trace_id    String,
    generation  UInt32,
    deleted_ns  UInt64
) ENGINE = ReplacingMergeTree() ORDER BY (project_id, trace_id, generation);

-- @table metrics sharded cityHash64(trace_id)
-- Metric events, joined to runs on read. `kind` is number (in `num`), bool (`num` 0 or 1)
-- or text (in `text`).
CREATE TABLE IF NOT EXISTS {table} (
    project_id  Int64,
    trace_id    String,
    generation  UInt32,
    id          String,
    span_id     Nullable(String),
    name        String,
    kind        String,
    num         Nullable(Float64),
    text        Nullable(String),
    comment     Nullable(String),
    source      Nullable(String),
    created_ns  UInt64,
    inserted    DateTime
) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMMDD(inserted)
  ORDER BY (project_id, trace_id, id) SETTINGS index_granularity = 1024;

-- @table run_signals sharded cityHash64(trace_id)
-- Evaluations of runs' signals (`signals`: JSON of lemma_core::RunSignal), one row per
-- evaluation stored, in its run's generation as metric events are. Of a run's rows, the one
-- that read its spans last (`evaluated_ns`) holds, whenever it arrived: reads take argMax by
-- it (the engine only drops the others in merges). `names` and `severities` are what filters
-- and counts read.
CREATE TABLE IF NOT EXISTS {table} (
    project_id    Int64,
    trace_id      String,
    generation    UInt32,
    evaluated_ns  UInt64,
    span_count    UInt64,
    start_ns      UInt64,
    names         Array(String),
    severities    Array(String),
    signals       String,
    inserted      DateTime
) ENGINE = ReplacingMergeTree(evaluated_ns) PARTITION BY toYYYYMMDD(inserted)
  ORDER BY (project_id, trace_id, generation) SETTINGS index_granularity = 1024;

-- @table logs sharded cityHash64(trace_id)
-- OTLP log records, joined to their spans on read; `hash` makes a re-sent record one row.
CREATE TABLE IF NOT EXISTS {table} (
    project_id  Int64,
    trace_id    String,
    span_id     String,
    generation  UInt32,
    hash        String,
    time_ns     UInt64,
    body        String,
    inserted    DateTime
) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMMDD(inserted)
  ORDER BY (project_id, trace_id, span_id, hash) SETTINGS index_granularity = 1024;

-- @table alert_events sharded cityHash64(project_id)
-- Alert events (`event`: JSON of lemma_core::alerts::AlertEvent), one row per change of an
-- event (its deliveries going on); of an id's rows the newest `updated_ns` holds, and reads take
-- argMax by it (an event changed on a later day than it began lands in another partition, where
-- no merge replaces it). `rule_id` and `at_ns` are what reads filter and order by.
CREATE TABLE IF NOT EXISTS {table} (
    project_id  Int64,
    id          String,
    rule_id     String,
    at_ns       UInt64,
    event       String,
    updated_ns  UInt64,
    inserted    DateTime
) ENGINE = ReplacingMergeTree(updated_ns) PARTITION BY toYYYYMMDD(inserted)
  ORDER BY (project_id, id);

-- @table datasets sharded cityHash64(name)
-- Dataset versions (`cases`: JSON of the cases), one row per version, never changed. A version
-- is stored in its dataset's generation (how often a dataset of that name was deleted before,
-- see dataset_deletes). Two writers racing over one version can both store it: of such rows
-- the newest `created_ns` holds, in reads (clickhouse/experiments.rs) as in merges.
CREATE TABLE IF NOT EXISTS {table} (
    project_id   Int64,
    name         String,
    generation   UInt32,
    version      UInt32,
    description  String,
    created_ns   UInt64,
    case_count   UInt64,
    cases        String
) ENGINE = ReplacingMergeTree(created_ns) ORDER BY (project_id, name, generation, version);

-- @table dataset_deletes sharded cityHash64(name)
-- Deleted datasets: versions of a generation listed here are gone for every read at once (the
-- rows themselves are removed in the background); the name starts again in the next one.
-- Sharded as datasets, so reads of a shard's versions find their deletions on the same shard.
CREATE TABLE IF NOT EXISTS {table} (
    project_id  Int64,
    name        String,
    generation  UInt32,
    deleted_ns  UInt64
) ENGINE = ReplacingMergeTree() ORDER BY (project_id, name, generation);

-- @table experiments sharded cityHash64(name)
-- Experiments (`metadata`: JSON), never changed. Names are checked before a row is written, not
-- locked: should two servers create one name at once, the first created holds.
CREATE TABLE IF NOT EXISTS {table} (
    project_id       Int64,
    name             String,
    dataset          String,
    dataset_version  UInt32,
    description      String,
    metadata         String,
    created_ns       UInt64
) ENGINE = MergeTree() ORDER BY (project_id, name);

-- @table experiment_runs sharded cityHash64(experiment)
-- Runs linked to the cases of experiments, one row per link made; of a case's rows the newest
-- `linked_ns` holds, in reads as in merges. A link is in its run's generation at the time, so
-- deleting the run hides it (the row stays: removing it would bring back the link it
-- replaced). `dataset` is the experiment's, for `dataset:` filters.
CREATE TABLE IF NOT EXISTS {table} (
    project_id  Int64,
    experiment  String,
    case_id     String,
    dataset     String,
    trace_id    String,
    generation  UInt32,
    linked_ns   UInt64
) ENGINE = ReplacingMergeTree(linked_ns) ORDER BY (project_id, experiment, case_id);
