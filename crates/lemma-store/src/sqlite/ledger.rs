//! A run's ledger rows (`run_state`, `run_calls`, `run_cover`, `run_tools`) as the
//! [`RunIndex`] that `lemma_core::run::ledger::apply` merges a batch through: point lookups and
//! short range reads on primary keys, so a batch costs the same however long its run is.

use std::sync::LazyLock;

use lemma_core::run::ledger::{CallRow, Cover, RunIndex, RunState, ToolKey, ToolRow};
use rusqlite::{params, Connection, OptionalExtension};

use super::codec::{decode, digest_from_row, encode, id_blob, DIGEST_COLUMNS};
use super::{readable, sql_err};
use crate::{ProjectId, Result, StoreError};

// Every read is a search on a key (checked by `reads_search_keys_and_scan_nothing`).
const STATE: &str = "SELECT state FROM run_state WHERE project_id = ?1 AND trace_id = ?2";
const PARENT: &str = "SELECT parent_span_id FROM spans
     WHERE project_id = ?1 AND trace_id = ?2 AND span_id = ?3";
const COVER: &str = "SELECT usage, cost FROM run_cover
     WHERE project_id = ?1 AND trace_id = ?2 AND span_id = ?3";
// A call is its span's digest and the flags `run_calls` keeps.
static CALL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {DIGEST_COLUMNS}, c.counted_usage, c.counted_cost
         FROM run_calls c JOIN spans
           ON spans.project_id = c.project_id AND spans.trace_id = c.trace_id
          AND spans.span_id = c.call_id
         WHERE c.project_id = ?1 AND c.trace_id = ?2 AND c.call_id = ?3"
    )
});
// The index is named: without statistics the planner prefers the primary key's two equal
// columns, which scans every call of the run. `IS NOT NULL` is the partial index's condition,
// which SQLite does not infer from `= ?3`.
static SHARING: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {DIGEST_COLUMNS}, c.counted_usage, c.counted_cost
         FROM run_calls c INDEXED BY run_calls_response JOIN spans
           ON spans.project_id = c.project_id AND spans.trace_id = c.trace_id
          AND spans.span_id = c.call_id
         WHERE c.project_id = ?1 AND c.trace_id = ?2 AND c.response_id = ?3
           AND c.response_id IS NOT NULL"
    )
});
const BEFORE: &str = "SELECT start_ns, end_ns, span_id, call FROM run_tools
     WHERE project_id = ?1 AND trace_id = ?2 AND (start_ns, end_ns, span_id) < (?3, ?4, ?5)
     ORDER BY start_ns DESC, end_ns DESC, span_id DESC LIMIT ?6";
const AFTER: &str = "SELECT start_ns, end_ns, span_id, call FROM run_tools
     WHERE project_id = ?1 AND trace_id = ?2 AND (start_ns, end_ns, span_id) > (?3, ?4, ?5)
     ORDER BY start_ns, end_ns, span_id LIMIT ?6";
const COUNT_BEFORE: &str = "SELECT count(*) FROM run_tools
     WHERE project_id = ?1 AND trace_id = ?2 AND (start_ns, end_ns, span_id) < (?3, ?4, ?5)";

static TOOL_CALL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {DIGEST_COLUMNS} FROM spans WHERE project_id = ?1 AND trace_id = ?2 AND span_id = ?3"
    )
});

/// One run's rows, inside the writer's transaction.
pub struct SqliteRunIndex<'a> {
    conn: &'a Connection,
    project: i64,
    trace: Vec<u8>,
}

impl<'a> SqliteRunIndex<'a> {
    pub fn new(conn: &'a Connection, project: ProjectId, trace_id: &str) -> Self {
        SqliteRunIndex {
            conn,
            project: project.0,
            trace: id_blob(trace_id),
        }
    }

    /// The run's state; `None` when it has none, or none that can be read (it is then built
    /// again from the run's spans).
    pub fn state(&self) -> Result<Option<RunState>> {
        let bytes: Option<Vec<u8>> = self
            .conn
            .prepare_cached(STATE)
            .map_err(sql_err)?
            .query_row(params![self.project, self.trace], |r| r.get(0))
            .optional()
            .map_err(sql_err)?;
        match bytes {
            Some(b) => readable("run state", decode(&b)),
            None => Ok(None),
        }
    }

    pub fn save_state(&self, state: &RunState) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO run_state (project_id, trace_id, state) VALUES (?1, ?2, ?3)",
            )
            .map_err(sql_err)?
            .execute(params![self.project, self.trace, encode(state)?])
            .map_err(sql_err)?;
        Ok(())
    }

    /// Removes the run's state and rows, to build them again or to delete the run.
    pub fn clear(&self) -> Result<()> {
        for table in ["run_state", "run_calls", "run_cover", "run_tools"] {
            self.conn
                .prepare_cached(&format!(
                    "DELETE FROM {table} WHERE project_id = ?1 AND trace_id = ?2"
                ))
                .map_err(sql_err)?
                .execute(params![self.project, self.trace])
                .map_err(sql_err)?;
        }
        Ok(())
    }

    fn tools(&self, sql: &str, key: &ToolKey, limit: usize) -> Result<Vec<ToolRow>> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(sql_err)?;
        let rows = stmt
            .query_map(
                params![
                    self.project,
                    self.trace,
                    key.start as i64,
                    key.end as i64,
                    id_blob(&key.span_id),
                    limit as i64
                ],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, Vec<u8>>(2)?,
                        r.get::<_, Vec<u8>>(3)?,
                    ))
                },
            )
            .map_err(sql_err)?;
        let mut out = Vec::new();
        for row in rows {
            let (start, end, span_id, call) = row.map_err(sql_err)?;
            out.push(ToolRow {
                key: ToolKey {
                    start: start as u64,
                    end: end as u64,
                    span_id: hex::encode(span_id),
                },
                call: call
                    .try_into()
                    .map_err(|_| StoreError::Backend("corrupt tool call hash".into()))?,
            });
        }
        Ok(out)
    }
}

/// A call from a row selecting [`DIGEST_COLUMNS`] and the two counted flags; `None` when the
/// span no longer carries usage or a cost.
fn call_from_row(row: &rusqlite::Row) -> Result<Option<CallRow>> {
    let digest = digest_from_row(row)?;
    let counted = Cover {
        usage: row.get(20).map_err(sql_err)?,
        cost: row.get(21).map_err(sql_err)?,
    };
    Ok(CallRow::of(&digest).map(|c| CallRow { counted, ..c }))
}

impl RunIndex for SqliteRunIndex<'_> {
    type Error = StoreError;

    fn parent(&mut self, span_id: &str) -> Result<Option<Option<String>>> {
        let parent: Option<Option<Vec<u8>>> = self
            .conn
            .prepare_cached(PARENT)
            .map_err(sql_err)?
            .query_row(params![self.project, self.trace, id_blob(span_id)], |r| {
                r.get(0)
            })
            .optional()
            .map_err(sql_err)?;
        Ok(parent.map(|p| p.map(hex::encode)))
    }

    fn cover(&mut self, span_id: &str) -> Result<Cover> {
        let cover = self
            .conn
            .prepare_cached(COVER)
            .map_err(sql_err)?
            .query_row(params![self.project, self.trace, id_blob(span_id)], |r| {
                Ok(Cover {
                    usage: r.get(0)?,
                    cost: r.get(1)?,
                })
            })
            .optional()
            .map_err(sql_err)?;
        Ok(cover.unwrap_or_default())
    }

    fn set_cover(&mut self, span_id: &str, cover: Cover) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO run_cover (project_id, trace_id, span_id, usage, cost)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(sql_err)?
            .execute(params![
                self.project,
                self.trace,
                id_blob(span_id),
                cover.usage,
                cover.cost
            ])
            .map_err(sql_err)?;
        Ok(())
    }

    fn call(&mut self, span_id: &str) -> Result<Option<CallRow>> {
        let mut stmt = self.conn.prepare_cached(&CALL).map_err(sql_err)?;
        let mut rows = stmt
            .query(params![self.project, self.trace, id_blob(span_id)])
            .map_err(sql_err)?;
        match rows.next().map_err(sql_err)? {
            Some(row) => Ok(readable("call", call_from_row(row))?.flatten()),
            None => Ok(None),
        }
    }

    fn calls_sharing(&mut self, response_id: &str) -> Result<Vec<CallRow>> {
        let mut stmt = self.conn.prepare_cached(&SHARING).map_err(sql_err)?;
        let mut rows = stmt
            .query(params![self.project, self.trace, response_id])
            .map_err(sql_err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(sql_err)? {
            out.extend(readable("call", call_from_row(row))?.flatten());
        }
        Ok(out)
    }

    fn put_call(&mut self, row: &CallRow) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO run_calls
                 (project_id, trace_id, call_id, response_id, counted_usage, counted_cost)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(sql_err)?
            .execute(params![
                self.project,
                self.trace,
                id_blob(&row.span_id),
                row.response_id,
                row.counted.usage,
                row.counted.cost
            ])
            .map_err(sql_err)?;
        Ok(())
    }

    fn put_tool(&mut self, row: &ToolRow) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO run_tools (project_id, trace_id, start_ns, end_ns, span_id, call)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(sql_err)?
            .execute(params![
                self.project,
                self.trace,
                row.key.start as i64,
                row.key.end as i64,
                id_blob(&row.key.span_id),
                &row.call[..]
            ])
            .map_err(sql_err)?;
        Ok(())
    }

    fn tools_before(&mut self, key: &ToolKey, limit: usize) -> Result<Vec<ToolRow>> {
        self.tools(BEFORE, key, limit)
    }

    fn tools_after(&mut self, key: &ToolKey, limit: usize) -> Result<Vec<ToolRow>> {
        self.tools(AFTER, key, limit)
    }

    fn count_tools_before(&mut self, key: &ToolKey) -> Result<u64> {
        let n: i64 = self
            .conn
            .prepare_cached(COUNT_BEFORE)
            .map_err(sql_err)?
            .query_row(
                params![
                    self.project,
                    self.trace,
                    key.start as i64,
                    key.end as i64,
                    id_blob(&key.span_id)
                ],
                |r| r.get(0),
            )
            .map_err(sql_err)?;
        Ok(n as u64)
    }

    fn tool_call(&mut self, span_id: &str) -> Result<(Option<String>, Option<String>)> {
        let digest = self
            .conn
            .prepare_cached(&TOOL_CALL)
            .map_err(sql_err)?
            .query_row(params![self.project, self.trace, id_blob(span_id)], |r| {
                Ok(digest_from_row(r))
            })
            .optional()
            .map_err(sql_err)?;
        Ok(match digest {
            Some(d) => readable("span digest", d)?
                .map(|d| (d.tool_name, d.tool_args))
                .unwrap_or_default(),
            None => (None, None),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A read that scanned the run (a planner choosing a shorter key) would make every commit
    /// cost as much as its run is long.
    #[test]
    fn reads_search_keys_and_scan_nothing() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        // Each read and the key columns its search must bind, all of them.
        let reads = [
            (STATE, "trace_id=?"),
            (PARENT, "span_id=?"),
            (COVER, "span_id=?"),
            (&CALL, "call_id=?"),
            (&SHARING, "response_id=?"),
            (&TOOL_CALL, "span_id=?"),
            (BEFORE, "(start_ns,end_ns,span_id)<"),
            (AFTER, "(start_ns,end_ns,span_id)>"),
            (COUNT_BEFORE, "(start_ns,end_ns,span_id)<"),
        ];
        for (sql, key) in reads {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            // Unbound parameters: the plan does not depend on their values.
            let mut rows = stmt.raw_query();
            let mut plan = Vec::new();
            while let Some(row) = rows.next().unwrap() {
                plan.push(row.get::<_, String>(3).unwrap());
            }
            let plan = plan.join("; ");
            assert!(
                plan.starts_with("SEARCH") && plan.contains(key) && !plan.contains("SCAN"),
                "{sql}: {plan}"
            );
        }
    }
}
