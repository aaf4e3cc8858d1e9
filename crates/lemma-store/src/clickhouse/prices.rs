//! Per-project price overrides, and re-pricing stored spans when prices change (`reprice`).
//! A change of an override is a new row; the newest row of (project, model) holds, and a
//! `deleted` row ends the override.

mod reprice;

use clickhouse::Row;
use lemma_core::pricing::{normalize_pattern, Price};
use serde::{Deserialize, Serialize};

use super::sql::Sql;
use super::write::insert_all;
use super::{ch_err, now_ns, Inner};
use crate::{PriceOverride, ProjectId, Result, StoreError};

pub use reprice::reprice;

#[derive(Row, Serialize, Deserialize)]
struct PriceRow {
    project_id: i64,
    model: String,
    input: f64,
    output: f64,
    cache_read: Option<f64>,
    cache_write: Option<f64>,
    reasoning: Option<f64>,
    updated_ns: u64,
    deleted: u8,
}

impl PriceRow {
    fn into_override(self) -> PriceOverride {
        PriceOverride {
            model: self.model,
            price: Price {
                input: self.input,
                output: self.output,
                cache_read: self.cache_read,
                cache_write: self.cache_write,
                reasoning: self.reasoning,
            },
            updated_at_unix_nano: self.updated_ns,
        }
    }
}

const COLUMNS: &str =
    "project_id, model, input, output, cache_read, cache_write, reasoning, updated_ns, deleted";

/// `FROM` the newest row of each of the project's models (deleted or not). Binds the project.
fn newest(sql: &mut Sql, project: ProjectId) {
    let text = format!(
        "(SELECT {COLUMNS} FROM prices WHERE project_id = {}
          ORDER BY model, updated_ns DESC, deleted DESC LIMIT 1 BY model)",
        sql.bind(project.0)
    );
    sql.push(&text);
}

pub async fn list(inner: &Inner, project: ProjectId) -> Result<Vec<PriceOverride>> {
    let mut sql = Sql::new(format!("SELECT {COLUMNS} FROM "));
    newest(&mut sql, project);
    sql.push(" WHERE deleted = 0 ORDER BY model");
    let rows: Vec<PriceRow> = sql
        .query(&inner.client)
        .fetch_all()
        .await
        .map_err(|e| ch_err("listing prices", e))?;
    Ok(rows.into_iter().map(PriceRow::into_override).collect())
}

/// The newest row of a model, deleted or not.
async fn latest(inner: &Inner, project: ProjectId, model: &str) -> Result<Option<PriceRow>> {
    let mut sql = Sql::new(format!("SELECT {COLUMNS} FROM "));
    newest(&mut sql, project);
    let text = format!(" WHERE model = {}", sql.bind(model));
    sql.push(&text);
    sql.query(&inner.client)
        .fetch_optional()
        .await
        .map_err(|e| ch_err("reading a price", e))
}

/// A change's time: now, and after the change it follows even if clocks disagree.
fn after(previous: Option<&PriceRow>) -> u64 {
    now_ns().max(previous.map_or(0, |r| r.updated_ns + 1))
}

pub async fn set(
    inner: &Inner,
    project: ProjectId,
    model: &str,
    price: Price,
) -> Result<PriceOverride> {
    let model = normalize_pattern(model).map_err(StoreError::Invalid)?;
    price.validate().map_err(StoreError::Invalid)?;
    let previous = latest(inner, project, &model).await?;
    let row = PriceRow {
        project_id: project.0,
        model,
        input: price.input,
        output: price.output,
        cache_read: price.cache_read,
        cache_write: price.cache_write,
        reasoning: price.reasoning,
        updated_ns: after(previous.as_ref()),
        deleted: 0,
    };
    insert_all(inner, "prices", std::slice::from_ref(&row)).await?;
    Ok(row.into_override())
}

/// Whether the project had an override for the model.
pub async fn delete(inner: &Inner, project: ProjectId, model: &str) -> Result<bool> {
    let Ok(model) = normalize_pattern(model) else {
        return Ok(false);
    };
    let Some(previous) = latest(inner, project, &model).await? else {
        return Ok(false);
    };
    if previous.deleted != 0 {
        return Ok(false);
    }
    let row = PriceRow {
        updated_ns: after(Some(&previous)),
        deleted: 1,
        ..previous
    };
    insert_all(inner, "prices", std::slice::from_ref(&row)).await?;
    Ok(true)
}
