//! Span bodies stored in blocks: the spans of one run that arrive in one batch, compressed
//! together.
//!
//! An agent's spans repeat one another: each model call resends the conversation so far, the
//! tool results reappear in the next call's input, and every span carries the same attribute
//! names and resource. Compressed one by one a span keeps all of that; compressed beside its
//! siblings it is stored about once. A block is one zstd frame of JSON lines (one stored span
//! per line, in the order of `spans.block_pos`), capped so reading one span never inflates
//! much more than it needs.
//!
//! Rows written before blocks existed, and spans rewritten alone (re-pricing), keep their body
//! inline in `spans.body`; `block` is NULL for them.

use std::collections::HashMap;

use lemma_core::Span;
use rusqlite::{params, Row, Transaction};

use super::codec::{compress, decompress, encode_stored_span, span_from_json};
use super::sql_err;
use crate::{ProjectId, Result, StoreError};

/// A block closes once its uncompressed spans pass this size.
const MAX_BLOCK_BYTES: usize = 256 * 1024;

/// The columns `SpanBodies::read` expects, in order, starting at the index it is given.
pub const BODY_COLUMNS: &str = "body, block, block_pos";

/// Where an encoded span went: its block (an index into `Blocks::frames`) and line.
#[derive(Debug, Clone, Copy)]
pub struct BlockRef {
    pub block: usize,
    pub pos: u32,
}

/// A batch's blocks, compressed, ready to insert.
pub struct Blocks {
    pub frames: Vec<Vec<u8>>,
}

/// Packs spans into blocks by run (spans of other runs in the batch never share a block),
/// keeping each run's spans in batch order. Returns the blocks and each span's place.
pub fn pack(spans: &mut [(ProjectId, Span)]) -> Result<(Blocks, Vec<BlockRef>)> {
    let mut refs = vec![BlockRef { block: 0, pos: 0 }; spans.len()];
    // Per run: the open block's index in `open`, its lines and the spans' indexes.
    let mut by_run: HashMap<(ProjectId, String), usize> = HashMap::new();
    let mut open: Vec<(Vec<u8>, Vec<usize>)> = Vec::new();
    let mut frames = Vec::new();
    let mut close = |lines: Vec<u8>, members: Vec<usize>, refs: &mut Vec<BlockRef>| {
        let block = frames.len();
        for (pos, &i) in members.iter().enumerate() {
            refs[i] = BlockRef {
                block,
                pos: pos as u32,
            };
        }
        compress(&lines).map(|frame| frames.push(frame))
    };
    for (i, (project, span)) in spans.iter_mut().enumerate() {
        let slot = *by_run
            .entry((*project, span.trace_id.clone()))
            .or_insert_with(|| {
                open.push((Vec::new(), Vec::new()));
                open.len() - 1
            });
        let (lines, members) = &mut open[slot];
        lines.extend_from_slice(&encode_stored_span(span)?);
        lines.push(b'\n');
        members.push(i);
        if lines.len() >= MAX_BLOCK_BYTES {
            let (lines, members) = std::mem::take(&mut open[slot]);
            close(lines, members, &mut refs)?;
        }
    }
    for (lines, members) in open {
        if !members.is_empty() {
            close(lines, members, &mut refs)?;
        }
    }
    Ok((Blocks { frames }, refs))
}

/// Inserts a batch's blocks; returns their row ids, in order.
pub fn insert(tx: &Transaction, blocks: &Blocks) -> Result<Vec<i64>> {
    let mut stmt = tx
        .prepare_cached("INSERT INTO span_blocks (body) VALUES (?1)")
        .map_err(sql_err)?;
    blocks
        .frames
        .iter()
        .map(|frame| {
            stmt.execute(params![frame]).map_err(sql_err)?;
            Ok(tx.last_insert_rowid())
        })
        .collect()
}

/// Drops blocks none of whose spans were stored (a retried export sends spans already held).
pub fn remove_unused(tx: &Transaction, ids: impl IntoIterator<Item = i64>) -> Result<()> {
    let mut stmt = tx
        .prepare_cached("DELETE FROM span_blocks WHERE id = ?1")
        .map_err(sql_err)?;
    for id in ids {
        stmt.execute([id]).map_err(sql_err)?;
    }
    Ok(())
}

/// Reads span bodies from rows selecting `BODY_COLUMNS`, inflating each block once.
pub struct SpanBodies<'c> {
    conn: &'c rusqlite::Connection,
    blocks: HashMap<i64, Block>,
}

/// An inflated block and where each of its lines starts and ends.
struct Block {
    json: Vec<u8>,
    lines: Vec<(usize, usize)>,
}

impl<'c> SpanBodies<'c> {
    pub fn new(conn: &'c rusqlite::Connection) -> SpanBodies<'c> {
        SpanBodies {
            conn,
            blocks: HashMap::new(),
        }
    }

    /// The span whose `BODY_COLUMNS` start at column `at` of `row`.
    pub fn read(&mut self, row: &Row, at: usize) -> Result<Span> {
        self.read_sized(row, at).map(|(span, _)| span)
    }

    /// The span, and the size of its stored JSON (a measure of the memory it takes).
    pub fn read_sized(&mut self, row: &Row, at: usize) -> Result<(Span, usize)> {
        let block: Option<i64> = row.get(at + 1).map_err(sql_err)?;
        let Some(block) = block else {
            let body = row.get_ref(at).map_err(sql_err)?;
            let body = body
                .as_blob()
                .map_err(|e| StoreError::Backend(format!("stored span: {e}")))?;
            let json = decompress(body)?;
            return Ok((span_from_json(&json)?, json.len()));
        };
        let pos: i64 = row.get(at + 2).map_err(sql_err)?;
        let block = self.block(block)?;
        let &(start, end) = block
            .lines
            .get(pos as usize)
            .ok_or_else(|| StoreError::Backend(format!("span block is missing line {pos}")))?;
        Ok((span_from_json(&block.json[start..end])?, end - start))
    }

    fn block(&mut self, id: i64) -> Result<&Block> {
        if !self.blocks.contains_key(&id) {
            let frame: Vec<u8> = self
                .conn
                .prepare_cached("SELECT body FROM span_blocks WHERE id = ?1")
                .map_err(sql_err)?
                .query_row([id], |r| r.get(0))
                .map_err(|e| match e {
                    rusqlite::Error::QueryReturnedNoRows => {
                        StoreError::Backend(format!("span block {id} is missing"))
                    }
                    e => sql_err(e),
                })?;
            let json = decompress(&frame)?;
            let mut lines = Vec::new();
            let mut start = 0;
            // Compact JSON never holds a raw newline, so each one ends a span.
            for end in memchr::memchr_iter(b'\n', &json) {
                lines.push((start, end));
                start = end + 1;
            }
            self.blocks.insert(id, Block { json, lines });
        }
        Ok(&self.blocks[&id])
    }
}
