//! The full-text index: what it holds for a span, and the parts it is kept in.
//!
//! The index is split by `spans.rowid` into parts of `PART_SPANS` spans, `span_text_<n>`
//! (contentless FTS5 tables, created as spans arrive and listed in `text_parts`). FTS5 merges
//! its segments into ever larger ones; in one index for the whole store those merges read
//! segments of hundreds of megabytes back from disk on every commit, and past 100k spans ingest
//! fell from 14k to 5k spans/s. A part stops growing once full, so its merges stay within what
//! the page cache holds. A text term matches in every part (`parts`); `span_text` holds rows
//! indexed before parts existed. What is indexed for a span is `crate::search::searchable_text`.

use lemma_core::query::{Condition, Filter};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::sql_err;
use crate::{Result, StoreError};

/// Spans per part: a full part's index (about 200 bytes a span) fits the writer's page cache.
pub(super) const PART_SPANS: i64 = 1 << 17;

/// The index tables a text term is looked up in, read from `text_parts`.
#[derive(Debug, Clone)]
pub struct Parts(Vec<String>);

impl Parts {
    pub fn read(conn: &Connection) -> Result<Parts> {
        let mut stmt = conn
            .prepare_cached("SELECT name FROM text_parts ORDER BY name")
            .map_err(sql_err)?;
        let names = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(sql_err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql_err)?;
        // Table names are spliced into SQL: only the shapes this module writes pass.
        match names.iter().find(|n| !is_part_name(n)) {
            Some(bad) => Err(StoreError::Backend(format!(
                "unexpected text index part {bad:?}"
            ))),
            None => Ok(Parts(names)),
        }
    }

    /// The parts `filter` needs: none unless it has a text term, so listings without one read
    /// nothing more.
    pub fn for_filter(conn: &Connection, filter: &Filter) -> Result<Parts> {
        let has_text = filter
            .clauses
            .iter()
            .any(|c| matches!(c.condition, Condition::Text(_)));
        if has_text {
            Parts::read(conn)
        } else {
            Ok(Parts(Vec::new()))
        }
    }

    /// Just the first table, for compiling filters without a database.
    #[cfg(test)]
    pub fn single() -> Parts {
        Parts(vec!["span_text".into()])
    }

    pub fn names(&self) -> &[String] {
        &self.0
    }
}

fn is_part_name(name: &str) -> bool {
    name == "span_text"
        || name
            .strip_prefix("span_text_")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Adds spans' text to the part their row id falls in, creating the part when it is new.
pub struct Writer<'t> {
    tx: &'t Transaction<'t>,
    /// The part the last span went to, and the statement that inserts into it.
    current: Option<(i64, String)>,
}

impl<'t> Writer<'t> {
    pub fn new(tx: &'t Transaction<'t>) -> Writer<'t> {
        Writer { tx, current: None }
    }

    pub fn add(&mut self, rowid: i64, text: &str) -> Result<()> {
        let part = rowid / PART_SPANS;
        if self.current.as_ref().map(|(p, _)| *p) != Some(part) {
            let name = format!("span_text_{part}");
            self.ensure(&name)?;
            let insert = format!("INSERT INTO {name} (rowid, text) VALUES (?1, ?2)");
            self.current = Some((part, insert));
        }
        let (_, insert) = self.current.as_ref().expect("set above");
        self.tx
            .prepare_cached(insert)
            .map_err(sql_err)?
            .execute(params![rowid, text])
            .map_err(sql_err)?;
        Ok(())
    }

    fn ensure(&self, name: &str) -> Result<()> {
        let listed = self
            .tx
            .prepare_cached("SELECT 1 FROM text_parts WHERE name = ?1")
            .map_err(sql_err)?
            .query_row([name], |_| Ok(()))
            .optional()
            .map_err(sql_err)?;
        if listed.is_none() {
            self.tx
                .execute_batch(&format!(
                    "CREATE VIRTUAL TABLE {name} USING fts5(
                         text, content='', contentless_delete=1,
                         tokenize='unicode61 remove_diacritics 2'
                     );
                     INSERT INTO text_parts (name) VALUES ('{name}');"
                ))
                .map_err(sql_err)?;
        }
        Ok(())
    }
}

/// Removes spans' rows (by `spans.rowid`) from the index. A row is in the part its row id falls
/// in, or in `span_text` if it was indexed before parts; removing a row a table lacks is a
/// no-op.
pub fn remove(tx: &Transaction, rowids: &[i64]) -> Result<()> {
    let parts = Parts::read(tx)?;
    let listed = |name: &str| parts.names().iter().any(|n| n == name);
    for &rowid in rowids {
        for name in [
            format!("span_text_{}", rowid / PART_SPANS),
            "span_text".into(),
        ] {
            if listed(&name) {
                tx.prepare_cached(&format!("DELETE FROM {name} WHERE rowid = ?1"))
                    .map_err(sql_err)?
                    .execute([rowid])
                    .map_err(sql_err)?;
            }
        }
    }
    Ok(())
}
