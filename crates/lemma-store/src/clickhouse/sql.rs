//! SQL text with `?` placeholders and the values bound to them, in order. Values are only
//! ever bound (the client escapes them), never spliced into the text.
//!
//! Every statement the store sends goes through [`Sql::query`] or [`log_insert`], so with
//! `LEMMA_CLICKHOUSE_SQL_LOG=<file>` set, each distinct statement is appended to that file once
//! (values bound): the tests run the conformance suite with it and check every logged statement
//! against a current ClickHouse as well (`tests/clickhouse/dialect.py`).

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

use serde::Serialize;

/// The statement log: the file, and the statements written to it (by their text before binding).
type Log = Mutex<(std::fs::File, HashSet<String>)>;

fn log() -> Option<&'static Log> {
    static LOG: OnceLock<Option<Log>> = OnceLock::new();
    LOG.get_or_init(|| {
        let path = std::env::var_os("LEMMA_CLICKHOUSE_SQL_LOG")?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| tracing::warn!(error = %e, "cannot open LEMMA_CLICKHOUSE_SQL_LOG"))
            .ok()?;
        Some(Mutex::new((file, HashSet::new())))
    })
    .as_ref()
}

fn record(template: &str, statement: impl FnOnce() -> String) {
    if let Some(log) = log() {
        let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
        if log.1.insert(template.to_string()) {
            // One statement per line, as a JSON string.
            let line = serde_json::to_string(&statement()).unwrap_or_default();
            let _ = writeln!(log.0, "{line}");
        }
    }
}

/// Logs an insert of `columns` into `table` (see the module's comment).
pub fn log_insert(table: &str, columns: &[&str]) {
    let statement = format!(
        "INSERT INTO {table} ({}) FORMAT RowBinary",
        columns.join(", ")
    );
    record(&statement.clone(), || statement);
}

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Param {
    Str(String),
    I64(i64),
    U64(u64),
    F64(f64),
    Strs(Vec<String>),
}

impl From<&str> for Param {
    fn from(v: &str) -> Self {
        Param::Str(v.to_string())
    }
}
impl From<String> for Param {
    fn from(v: String) -> Self {
        Param::Str(v)
    }
}
impl From<i64> for Param {
    fn from(v: i64) -> Self {
        Param::I64(v)
    }
}
impl From<u64> for Param {
    fn from(v: u64) -> Self {
        Param::U64(v)
    }
}
impl From<f64> for Param {
    fn from(v: f64) -> Self {
        Param::F64(v)
    }
}
impl From<Vec<String>> for Param {
    fn from(v: Vec<String>) -> Self {
        Param::Strs(v)
    }
}

/// Most keys one `IN (…)` list holds: a statement's text is limited (`max_query_size`, 256 KiB
/// by default), so longer lists are split over several queries.
pub const KEYS_PER_QUERY: usize = 1_000;

#[derive(Debug, Default, Clone)]
pub struct Sql {
    pub text: String,
    pub params: Vec<Param>,
}

impl Sql {
    pub fn new(text: impl Into<String>) -> Sql {
        Sql {
            text: text.into(),
            params: Vec::new(),
        }
    }

    /// Adds a value and returns its placeholder, for `format!`.
    pub fn bind(&mut self, v: impl Into<Param>) -> &'static str {
        self.params.push(v.into());
        "?"
    }

    /// `(?, ?, …)`: a tuple, or a list for `IN`, of values each bound. An empty list is
    /// not valid SQL: callers handle that case first.
    pub fn list<P: Into<Param>>(&mut self, values: impl IntoIterator<Item = P>) -> String {
        let marks: Vec<&str> = values.into_iter().map(|v| self.bind(v)).collect();
        format!("({})", marks.join(", "))
    }

    pub fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    /// Appends `(?, ?), (?, ?), …`: one tuple of bound values per key.
    pub fn push_tuples<K>(
        &mut self,
        keys: impl IntoIterator<Item = K>,
        tuple: impl Fn(&K) -> Vec<Param>,
    ) {
        for (i, key) in keys.into_iter().enumerate() {
            let values = tuple(&key);
            let marks: Vec<&str> = values.into_iter().map(|v| self.bind(v)).collect();
            let sep = if i == 0 { "(" } else { ", (" };
            self.text.push_str(sep);
            self.text.push_str(&marks.join(", "));
            self.text.push(')');
        }
    }

    /// The query for `client`, values bound.
    pub fn query(&self, client: &clickhouse::Client) -> clickhouse::query::Query {
        let query = self
            .params
            .iter()
            .fold(client.query(&self.text), |q, p| q.bind(p));
        record(&self.text, || query.sql_display().to_string());
        query
    }
}
