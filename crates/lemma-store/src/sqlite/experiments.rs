//! Datasets (each version a row, never changed), experiments, and the runs that answered
//! their cases.

use lemma_core::experiments::{CaseRun, DatasetInfo, DatasetVersion, Experiment};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::codec::{run_id_blob, sql_u64};
use super::sql_err;
use crate::{ProjectId, Result, StoreError};

fn backend(e: serde_json::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

pub fn put_dataset(
    conn: &mut Connection,
    project: ProjectId,
    mut dataset: DatasetVersion,
    expected: u32,
    now: u64,
) -> Result<DatasetVersion> {
    dataset.prepare().map_err(StoreError::Invalid)?;
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql_err)?;
    let latest: u32 = tx
        .prepare_cached(
            "SELECT coalesce(max(version), 0) FROM datasets WHERE project_id = ?1 AND name = ?2",
        )
        .map_err(sql_err)?
        .query_row(params![project.0, dataset.name], |r| r.get(0))
        .map_err(sql_err)?;
    if latest != expected {
        return Err(StoreError::Conflict(match latest {
            0 => format!(
                "no dataset {:?} to change: create it (version 0)",
                dataset.name
            ),
            v => format!(
                "dataset {:?} is at version {v}, not {expected}: read it again and redo the change",
                dataset.name
            ),
        }));
    }
    dataset.version = latest + 1;
    dataset.created_at_unix_nano = now;
    let cases = serde_json::to_string(&dataset.cases).map_err(backend)?;
    tx.prepare_cached(
        "INSERT INTO datasets (project_id, name, version, description, created_ns, case_count, cases)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .map_err(sql_err)?
    .execute(params![
        project.0,
        dataset.name,
        dataset.version,
        dataset.description,
        sql_u64(now),
        dataset.cases.len() as i64,
        cases
    ])
    .map_err(sql_err)?;
    tx.commit().map_err(sql_err)?;
    Ok(dataset)
}

pub fn dataset(
    conn: &Connection,
    project: ProjectId,
    name: &str,
    version: Option<u32>,
) -> Result<Option<DatasetVersion>> {
    let row = conn
        .prepare_cached(
            "SELECT version, description, created_ns, cases FROM datasets
             WHERE project_id = ?1 AND name = ?2 AND (?3 IS NULL OR version = ?3)
             ORDER BY version DESC LIMIT 1",
        )
        .map_err(sql_err)?
        .query_row(params![project.0, name, version], |r| {
            Ok((
                r.get::<_, u32>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .optional()
        .map_err(sql_err)?;
    let Some((version, description, created, cases)) = row else {
        return Ok(None);
    };
    Ok(Some(DatasetVersion {
        name: name.to_string(),
        description,
        version,
        created_at_unix_nano: created as u64,
        cases: serde_json::from_str(&cases).map_err(backend)?,
    }))
}

pub fn list_datasets(conn: &Connection, project: ProjectId) -> Result<Vec<DatasetInfo>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT d.name, d.description, d.version, d.case_count, d.created_ns FROM datasets d
             WHERE d.project_id = ?1 AND d.version =
               (SELECT max(version) FROM datasets x WHERE x.project_id = d.project_id AND x.name = d.name)
             ORDER BY d.name",
        )
        .map_err(sql_err)?;
    let rows = stmt
        .query_map(params![project.0], |r| {
            Ok(DatasetInfo {
                name: r.get(0)?,
                description: r.get(1)?,
                version: r.get(2)?,
                cases: r.get::<_, i64>(3)? as u64,
                updated_at_unix_nano: r.get::<_, i64>(4)? as u64,
            })
        })
        .map_err(sql_err)?;
    rows.collect::<rusqlite::Result<_>>().map_err(sql_err)
}

pub fn delete_dataset(conn: &Connection, project: ProjectId, name: &str) -> Result<bool> {
    let n = conn
        .prepare_cached("DELETE FROM datasets WHERE project_id = ?1 AND name = ?2")
        .map_err(sql_err)?
        .execute(params![project.0, name])
        .map_err(sql_err)?;
    Ok(n > 0)
}

pub fn create_experiment(
    conn: &mut Connection,
    project: ProjectId,
    mut e: Experiment,
    now: u64,
) -> Result<Experiment> {
    e.validate().map_err(StoreError::Invalid)?;
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql_err)?;
    let exists: bool = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM datasets WHERE project_id = ?1 AND name = ?2 AND version = ?3)")
        .map_err(sql_err)?
        .query_row(params![project.0, e.dataset, e.dataset_version], |r| r.get(0))
        .map_err(sql_err)?;
    if !exists {
        return Err(StoreError::Invalid(format!(
            "no version {} of dataset {:?}",
            e.dataset_version, e.dataset
        )));
    }
    e.created_at_unix_nano = now;
    let metadata = serde_json::to_string(&e.metadata).map_err(backend)?;
    let inserted = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO experiments
             (project_id, name, dataset, dataset_version, description, metadata, created_ns)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .map_err(sql_err)?
        .execute(params![
            project.0,
            e.name,
            e.dataset,
            e.dataset_version,
            e.description,
            metadata,
            sql_u64(now)
        ])
        .map_err(sql_err)?;
    if inserted == 0 {
        return Err(StoreError::Conflict(format!(
            "the project has an experiment named {:?}: give this one another name",
            e.name
        )));
    }
    tx.commit().map_err(sql_err)?;
    Ok(e)
}

fn experiment_row(r: &Row) -> rusqlite::Result<(Experiment, String)> {
    Ok((
        Experiment {
            name: r.get(0)?,
            dataset: r.get(1)?,
            dataset_version: r.get(2)?,
            description: r.get(3)?,
            metadata: Default::default(),
            created_at_unix_nano: r.get::<_, i64>(5)? as u64,
        },
        r.get(4)?,
    ))
}

const EXPERIMENT_COLUMNS: &str =
    "name, dataset, dataset_version, description, metadata, created_ns";

fn with_metadata((mut e, json): (Experiment, String)) -> Result<Experiment> {
    e.metadata = serde_json::from_str(&json).map_err(backend)?;
    Ok(e)
}

pub fn list_experiments(
    conn: &Connection,
    project: ProjectId,
    dataset: Option<&str>,
) -> Result<Vec<Experiment>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {EXPERIMENT_COLUMNS} FROM experiments
             WHERE project_id = ?1 AND (?2 IS NULL OR dataset = ?2)
             ORDER BY created_ns DESC, name"
        ))
        .map_err(sql_err)?;
    let rows = stmt
        .query_map(params![project.0, dataset], experiment_row)
        .map_err(sql_err)?;
    rows.map(|r| with_metadata(r.map_err(sql_err)?)).collect()
}

pub fn experiment(conn: &Connection, project: ProjectId, name: &str) -> Result<Option<Experiment>> {
    let row = conn
        .prepare_cached(&format!(
            "SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE project_id = ?1 AND name = ?2"
        ))
        .map_err(sql_err)?
        .query_row(params![project.0, name], experiment_row)
        .optional()
        .map_err(sql_err)?;
    row.map(with_metadata).transpose()
}

pub fn link_runs(
    conn: &mut Connection,
    project: ProjectId,
    experiment: &str,
    links: &[CaseRun],
) -> Result<()> {
    let mut blobs = Vec::with_capacity(links.len());
    for l in links {
        let blob = run_id_blob(&l.run_id).ok_or_else(|| {
            StoreError::Invalid(format!("run id {:?} is not 32 hex characters", l.run_id))
        })?;
        lemma_core::experiments::check_name("case", &l.case_id).map_err(StoreError::Invalid)?;
        blobs.push(blob);
    }
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql_err)?;
    if self::experiment(&tx, project, experiment)?.is_none() {
        return Err(StoreError::NotFound(format!("experiment {experiment:?}")));
    }
    {
        let mut stmt = tx
            .prepare_cached(
                "INSERT INTO experiment_runs (project_id, experiment, case_id, trace_id)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (project_id, experiment, case_id) DO UPDATE SET trace_id = excluded.trace_id",
            )
            .map_err(sql_err)?;
        for (l, blob) in links.iter().zip(&blobs) {
            stmt.execute(params![project.0, experiment, l.case_id, blob])
                .map_err(sql_err)?;
        }
    }
    tx.commit().map_err(sql_err)?;
    Ok(())
}

pub fn experiment_runs(
    conn: &Connection,
    project: ProjectId,
    experiment: &str,
) -> Result<Vec<CaseRun>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT case_id, trace_id FROM experiment_runs
             WHERE project_id = ?1 AND experiment = ?2 ORDER BY case_id",
        )
        .map_err(sql_err)?;
    let rows = stmt
        .query_map(params![project.0, experiment], |r| {
            Ok(CaseRun {
                case_id: r.get(0)?,
                run_id: hex::encode(r.get::<_, Vec<u8>>(1)?),
            })
        })
        .map_err(sql_err)?;
    rows.collect::<rusqlite::Result<_>>().map_err(sql_err)
}
