//! Per-project price overrides, and re-pricing stored spans when prices change.

use std::collections::{BTreeSet, HashMap};

use lemma_core::pricing::{self, normalize_pattern, Price, PriceTable};
use lemma_core::run::SpanDigest;
use lemma_core::CostSource;

use super::codec::cost_source_name;
use rusqlite::{params, Connection, Row};

use super::blocks::{SpanBodies, BODY_COLUMNS};
use super::codec::{digest_from_row, encode_digest, encode_span, DIGEST_COLUMNS};
use super::write::update_run;
use super::{readable, sql_err};
use crate::{PriceOverride, ProjectId, Result, StoreError};

/// How `spans.cost_source` spells a source.
fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn override_row(r: &Row) -> rusqlite::Result<PriceOverride> {
    Ok(PriceOverride {
        model: r.get(0)?,
        price: Price {
            input: r.get(1)?,
            output: r.get(2)?,
            cache_read: r.get(3)?,
            cache_write: r.get(4)?,
            reasoning: r.get(5)?,
        },
        updated_at_unix_nano: r.get::<_, i64>(6)? as u64,
    })
}

pub fn list(conn: &Connection, project: ProjectId) -> Result<Vec<PriceOverride>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT model, input, output, cache_read, cache_write, reasoning, updated_ns
             FROM prices WHERE project_id = ?1 ORDER BY model",
        )
        .map_err(sql_err)?;
    let rows = stmt.query_map([project.0], override_row).map_err(sql_err)?;
    rows.collect::<rusqlite::Result<_>>().map_err(sql_err)
}

pub fn set(
    conn: &mut Connection,
    project: ProjectId,
    model: &str,
    price: Price,
) -> Result<PriceOverride> {
    let model = normalize_pattern(model).map_err(StoreError::Invalid)?;
    price.validate().map_err(StoreError::Invalid)?;
    let updated = now_ns();
    conn.execute(
        "INSERT OR REPLACE INTO prices
         (project_id, model, input, output, cache_read, cache_write, reasoning, updated_ns)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            project.0,
            model,
            price.input,
            price.output,
            price.cache_read,
            price.cache_write,
            price.reasoning,
            updated as i64
        ],
    )
    .map_err(sql_err)?;
    Ok(PriceOverride {
        model,
        price,
        updated_at_unix_nano: updated,
    })
}

pub fn delete(conn: &mut Connection, project: ProjectId, model: &str) -> Result<bool> {
    let Ok(model) = normalize_pattern(model) else {
        return Ok(false);
    };
    let n = conn
        .execute(
            "DELETE FROM prices WHERE project_id = ?1 AND model = ?2",
            params![project.0, model],
        )
        .map_err(sql_err)?;
    Ok(n > 0)
}

/// One transaction: a re-priced span's column, digest and body change together, and so does
/// its run's summary. The new body is stored inline (its block's copy is left unread).
pub fn reprice(conn: &mut Connection, project: ProjectId, table: &PriceTable) -> Result<u64> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql_err)?;
    // (rowid, trace id, digest with the new cost)
    let mut changed: Vec<(i64, Vec<u8>, SpanDigest)> = Vec::new();
    {
        let mut stmt = tx
            .prepare(&format!(
                "SELECT {DIGEST_COLUMNS}, rowid, trace_id FROM spans
                 WHERE project_id = ?1 AND model IS NOT NULL
                 AND (cost_source IS NULL OR cost_source = 'computed')"
            ))
            .map_err(sql_err)?;
        let mut rows = stmt.query([project.0]).map_err(sql_err)?;
        while let Some(row) = rows.next().map_err(sql_err)? {
            let Some(mut digest) = readable("span digest", digest_from_row(row))? else {
                continue;
            };
            if pricing::reprice_digest(&mut digest, table) {
                changed.push((
                    row.get(20).map_err(sql_err)?,
                    row.get(21).map_err(sql_err)?,
                    digest,
                ));
            }
        }
    }
    let mut touched = BTreeSet::new();
    let mut bodies = SpanBodies::new(&tx);
    for (rowid, trace, digest) in &changed {
        let span = {
            let mut stmt = tx
                .prepare_cached(&format!(
                    "SELECT {BODY_COLUMNS} FROM spans WHERE rowid = ?1"
                ))
                .map_err(sql_err)?;
            let mut rows = stmt.query([rowid]).map_err(sql_err)?;
            let row = rows
                .next()
                .map_err(sql_err)?
                .ok_or_else(|| StoreError::Backend("a span vanished while re-pricing".into()))?;
            readable("span", bodies.read(row, 0))?
        };
        // A span that cannot be read keeps its cost: its row is not rewritten.
        let Some(mut span) = span else {
            continue;
        };
        span.cost_usd = digest.cost_usd;
        span.cost_source = digest.cost_usd.map(|_| CostSource::Computed);
        let digest_bytes = encode_digest(digest)?;
        let body = encode_span(&mut span)?;
        tx.prepare_cached(
            "UPDATE spans SET cost_usd = ?1, cost_source = ?2, digest = ?3, body = ?4,
             block = NULL, block_pos = NULL WHERE rowid = ?5",
        )
        .map_err(sql_err)?
        .execute(params![
            span.cost_usd,
            span.cost_source.map(cost_source_name),
            digest_bytes,
            body,
            rowid
        ])
        .map_err(sql_err)?;
        touched.insert(hex::encode(trace));
    }
    for trace_id in &touched {
        update_run(&tx, project, trace_id, None, &HashMap::new())?;
    }
    tx.commit().map_err(sql_err)?;
    Ok(changed.len() as u64)
}
