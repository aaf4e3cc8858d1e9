//! Datasets (a row per version, never changed), experiments over them, and the runs that
//! answered their cases, as the embedded store keeps them (`sqlite/experiments.rs`).
//!
//! Rows are only added. A deleted dataset's versions are hidden by a `dataset_deletes` row
//! naming their generation, as deleted runs are; a case linked again is a newer row, and
//! reads take the newest. So every read is exact at once, before ClickHouse merges or runs
//! its mutations.

use std::collections::HashMap;

use clickhouse::Row;
use lemma_core::experiments::{check_name, CaseRun, DatasetInfo, DatasetVersion, Experiment};
use serde::{Deserialize, Serialize};

use super::sql::Sql;
use super::write::insert_all;
use super::{ch_err, delete, now_ns, runs, Inner};
use crate::{ProjectId, Result, StoreError};

fn backend(e: serde_json::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

#[derive(Row, Serialize)]
struct DatasetRow {
    project_id: i64,
    name: String,
    generation: u32,
    version: u32,
    description: String,
    created_ns: u64,
    case_count: u64,
    cases: String,
}

#[derive(Row, Serialize)]
struct DatasetDeleteRow {
    project_id: i64,
    name: String,
    generation: u32,
    deleted_ns: u64,
}

#[derive(Row, Serialize, Deserialize)]
struct ExperimentRow {
    project_id: i64,
    name: String,
    dataset: String,
    dataset_version: u32,
    description: String,
    metadata: String,
    created_ns: u64,
}

#[derive(Row, Serialize)]
struct LinkRow {
    project_id: i64,
    experiment: String,
    case_id: String,
    dataset: String,
    trace_id: String,
    generation: u32,
    linked_ns: u64,
}

/// The generation a dataset's versions are stored in from now on: how often a dataset of
/// that name was deleted.
async fn generation(inner: &Inner, project: ProjectId, name: &str) -> Result<u32> {
    let mut sql = Sql::new(
        "SELECT generation FROM dataset_deletes WHERE project_id = ? AND name = ?
         ORDER BY generation DESC LIMIT 1",
    );
    sql.params = vec![project.0.into(), name.into()];
    let deleted: Option<u32> = sql
        .query(&inner.client)
        .fetch_optional()
        .await
        .map_err(|e| ch_err("reading dataset deletions", e))?;
    Ok(deleted.map_or(0, |g| g + 1))
}

/// Appends a condition that holds for rows of `datasets` not deleted. Deletions are recorded
/// on the shard of their dataset's versions (both tables are sharded by name), so on a
/// cluster each shard answers it from its own rows. Binds the project.
fn not_deleted(sql: &mut Sql, project: ProjectId) {
    let text = format!(
        "(name, generation) NOT IN
           (SELECT name, generation FROM dataset_deletes WHERE project_id = {})",
        sql.bind(project.0)
    );
    sql.push(&text);
}

/// Stores the next version of a dataset.
///
/// ClickHouse has no transactions, so the check of the latest version and the insert are not
/// atomic: two changes over the same version made at once (through two servers, or two
/// requests to one) can both pass the check and both be stored as the same next version. Of
/// those the later `created_ns` holds for every read (and in merges). Editing a dataset is a
/// rare, manual act, so this window is accepted rather than locked against.
pub async fn put_dataset(
    inner: &Inner,
    project: ProjectId,
    mut dataset: DatasetVersion,
    expected: u32,
) -> Result<DatasetVersion> {
    dataset.prepare().map_err(StoreError::Invalid)?;
    let generation = generation(inner, project, &dataset.name).await?;
    let mut sql = Sql::new(
        "SELECT max(version) FROM datasets WHERE project_id = ? AND name = ? AND generation = ?",
    );
    sql.params = vec![
        project.0.into(),
        dataset.name.as_str().into(),
        u64::from(generation).into(),
    ];
    let latest: u32 = sql
        .query(&inner.client)
        .fetch_one()
        .await
        .map_err(|e| ch_err("reading a dataset's latest version", e))?;
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
    dataset.created_at_unix_nano = now_ns();
    let row = DatasetRow {
        project_id: project.0,
        name: dataset.name.clone(),
        generation,
        version: dataset.version,
        description: dataset.description.clone(),
        created_ns: dataset.created_at_unix_nano,
        case_count: dataset.cases.len() as u64,
        cases: serde_json::to_string(&dataset.cases).map_err(backend)?,
    };
    insert_all(inner, "datasets", std::slice::from_ref(&row)).await?;
    Ok(dataset)
}

pub async fn dataset(
    inner: &Inner,
    project: ProjectId,
    name: &str,
    version: Option<u32>,
) -> Result<Option<DatasetVersion>> {
    #[derive(Row, Deserialize)]
    struct VersionRead {
        version: u32,
        description: String,
        created_ns: u64,
        cases: String,
    }
    // The row is picked from the small columns first, so only its cases are read.
    let mut sql = Sql::new(
        "SELECT version, description, created_ns, cases FROM datasets
         WHERE project_id = ? AND name = ? AND (generation, version, created_ns) IN
           (SELECT generation, version, created_ns FROM datasets
            WHERE project_id = ? AND name = ? AND ",
    );
    sql.params = vec![project.0.into(), name.into(), project.0.into(), name.into()];
    if let Some(v) = version {
        let text = format!("version = {} AND ", sql.bind(u64::from(v)));
        sql.push(&text);
    }
    not_deleted(&mut sql, project);
    sql.push(" ORDER BY version DESC, created_ns DESC LIMIT 1) LIMIT 1");
    let row: Option<VersionRead> = sql
        .query(&inner.client)
        .fetch_optional()
        .await
        .map_err(|e| ch_err("reading a dataset", e))?;
    let Some(r) = row else {
        return Ok(None);
    };
    Ok(Some(DatasetVersion {
        name: name.to_string(),
        description: r.description,
        version: r.version,
        created_at_unix_nano: r.created_ns,
        cases: serde_json::from_str(&r.cases).map_err(backend)?,
    }))
}

pub async fn list_datasets(inner: &Inner, project: ProjectId) -> Result<Vec<DatasetInfo>> {
    #[derive(Row, Deserialize)]
    struct InfoRead {
        name: String,
        about: String,
        latest: u32,
        count: u64,
        updated: u64,
    }
    // Aliases differ from the columns, which the aggregates read.
    let mut sql = Sql::new(
        "SELECT name, argMax(description, (version, created_ns)) AS about,
                max(version) AS latest, argMax(case_count, (version, created_ns)) AS count,
                argMax(created_ns, (version, created_ns)) AS updated
         FROM datasets WHERE project_id = ? AND ",
    );
    sql.bind(project.0);
    not_deleted(&mut sql, project);
    sql.push(" GROUP BY name ORDER BY name");
    let rows: Vec<InfoRead> = sql
        .query(&inner.client)
        .fetch_all()
        .await
        .map_err(|e| ch_err("listing datasets", e))?;
    Ok(rows
        .into_iter()
        .map(|r| DatasetInfo {
            name: r.name,
            description: r.about,
            version: r.latest,
            cases: r.count,
            updated_at_unix_nano: r.updated,
        })
        .collect())
}

/// Whether the project holds a version of the dataset (any, when `version` is `None`) in
/// `generation`.
async fn holds(
    inner: &Inner,
    project: ProjectId,
    name: &str,
    generation: u32,
    version: Option<u32>,
) -> Result<bool> {
    let mut sql = Sql::new(
        "SELECT count() FROM datasets WHERE project_id = ? AND name = ? AND generation = ?",
    );
    sql.params = vec![project.0.into(), name.into(), u64::from(generation).into()];
    if let Some(v) = version {
        let text = format!(" AND version = {}", sql.bind(u64::from(v)));
        sql.push(&text);
    }
    let count: u64 = sql
        .query(&inner.client)
        .fetch_one()
        .await
        .map_err(|e| ch_err("looking for a dataset", e))?;
    Ok(count > 0)
}

pub async fn delete_dataset(inner: &Inner, project: ProjectId, name: &str) -> Result<bool> {
    let generation = generation(inner, project, name).await?;
    if !holds(inner, project, name, generation, None).await? {
        return Ok(false);
    }
    let row = DatasetDeleteRow {
        project_id: project.0,
        name: name.to_string(),
        generation,
        deleted_ns: now_ns(),
    };
    insert_all(inner, "dataset_deletes", std::slice::from_ref(&row)).await?;
    // The versions are hidden already; removing them (a mutation, run in the background) only
    // frees the space. A failure is only logged.
    let (clients, suffix) = delete::row_holders(inner);
    for client in &clients {
        let mut sql = Sql::new(format!(
            "ALTER TABLE datasets{suffix} DELETE WHERE project_id = ? AND name = ? AND generation <= ?"
        ));
        sql.params = vec![project.0.into(), name.into(), u64::from(generation).into()];
        if let Err(e) = sql.query(client).execute().await {
            // ch_err logs it.
            let _ = ch_err("removing a deleted dataset's versions", e);
        }
    }
    Ok(true)
}

/// Records an experiment. As for dataset versions, the checks and the insert are not atomic:
/// two experiments of one name created at the same instant can both be stored, and then the
/// first created is the one every read finds.
pub async fn create_experiment(
    inner: &Inner,
    project: ProjectId,
    mut e: Experiment,
) -> Result<Experiment> {
    e.validate().map_err(StoreError::Invalid)?;
    let generation = generation(inner, project, &e.dataset).await?;
    if !holds(
        inner,
        project,
        &e.dataset,
        generation,
        Some(e.dataset_version),
    )
    .await?
    {
        return Err(StoreError::Invalid(format!(
            "no version {} of dataset {:?}",
            e.dataset_version, e.dataset
        )));
    }
    if experiment(inner, project, &e.name).await?.is_some() {
        return Err(StoreError::Conflict(format!(
            "the project has an experiment named {:?}: give this one another name",
            e.name
        )));
    }
    e.created_at_unix_nano = now_ns();
    let row = ExperimentRow {
        project_id: project.0,
        name: e.name.clone(),
        dataset: e.dataset.clone(),
        dataset_version: e.dataset_version,
        description: e.description.clone(),
        metadata: serde_json::to_string(&e.metadata).map_err(backend)?,
        created_ns: e.created_at_unix_nano,
    };
    insert_all(inner, "experiments", std::slice::from_ref(&row)).await?;
    Ok(e)
}

/// `FROM` the project's experiments (of one name, when `name` is given): of each name the
/// first created row. Binds the project and the name.
fn experiments(sql: &mut Sql, project: ProjectId, name: Option<&str>) {
    let text = format!(
        "(SELECT project_id, name, dataset, dataset_version, description, metadata, created_ns
          FROM experiments WHERE project_id = {}",
        sql.bind(project.0)
    );
    sql.push(&text);
    if let Some(name) = name {
        let text = format!(" AND name = {}", sql.bind(name));
        sql.push(&text);
    }
    // Rows of one name differ only after a race (see `create_experiment`); every column
    // orders them, so every read picks the same.
    sql.push(
        " ORDER BY name, created_ns, dataset, dataset_version, description, metadata
          LIMIT 1 BY name)",
    );
}

fn decode(r: ExperimentRow) -> Result<Experiment> {
    Ok(Experiment {
        metadata: serde_json::from_str(&r.metadata).map_err(backend)?,
        name: r.name,
        dataset: r.dataset,
        dataset_version: r.dataset_version,
        description: r.description,
        created_at_unix_nano: r.created_ns,
    })
}

pub async fn list_experiments(
    inner: &Inner,
    project: ProjectId,
    dataset: Option<&str>,
) -> Result<Vec<Experiment>> {
    let mut sql = Sql::new("SELECT * FROM ");
    experiments(&mut sql, project, None);
    if let Some(d) = dataset {
        // After the first row of each name is picked, as every other read picks it.
        let text = format!(" WHERE dataset = {}", sql.bind(d));
        sql.push(&text);
    }
    sql.push(" ORDER BY created_ns DESC, name");
    let rows: Vec<ExperimentRow> = sql
        .query(&inner.client)
        .fetch_all()
        .await
        .map_err(|e| ch_err("listing experiments", e))?;
    rows.into_iter().map(decode).collect()
}

pub async fn experiment(
    inner: &Inner,
    project: ProjectId,
    name: &str,
) -> Result<Option<Experiment>> {
    let mut sql = Sql::new("SELECT * FROM ");
    experiments(&mut sql, project, Some(name));
    let row: Option<ExperimentRow> = sql
        .query(&inner.client)
        .fetch_optional()
        .await
        .map_err(|e| ch_err("reading an experiment", e))?;
    row.map(decode).transpose()
}

pub async fn link_runs(
    inner: &Inner,
    project: ProjectId,
    experiment: &str,
    links: &[CaseRun],
) -> Result<()> {
    let mut latest: HashMap<&str, String> = HashMap::new();
    for l in links {
        // Ids read back in lowercase hex, as the embedded store's blobs do.
        let run_id = l.run_id.to_ascii_lowercase();
        if !lemma_core::otlp::is_trace_id(&run_id) {
            return Err(StoreError::Invalid(format!(
                "run id {:?} is not 32 hex characters",
                l.run_id
            )));
        }
        check_name("case", &l.case_id).map_err(StoreError::Invalid)?;
        // A case linked twice in one call keeps its later run, as if linked in two calls.
        latest.insert(l.case_id.as_str(), run_id);
    }
    let Some(found) = self::experiment(inner, project, experiment).await? else {
        return Err(StoreError::NotFound(format!("experiment {experiment:?}")));
    };
    let mut keys: Vec<(ProjectId, String)> =
        latest.values().map(|r| (project, r.clone())).collect();
    keys.sort();
    keys.dedup();
    // In the runs' current generations, so deleting a run hides its links.
    let generations = runs::generations(inner, &keys).await?;
    let now = now_ns();
    let rows: Vec<LinkRow> = latest
        .into_iter()
        .map(|(case_id, trace_id)| LinkRow {
            project_id: project.0,
            experiment: experiment.to_string(),
            case_id: case_id.to_string(),
            dataset: found.dataset.clone(),
            generation: generations
                .get(&(project, trace_id.clone()))
                .copied()
                .unwrap_or(0),
            trace_id,
            linked_ns: now,
        })
        .collect();
    insert_all(inner, "experiment_runs", &rows).await
}

/// The columns of each case's latest link (`case_id` and `experiment` are the keys), for
/// `GROUP BY experiment, case_id` or `GROUP BY case_id` over `experiment_runs`. Aliases differ
/// from the columns, which the aggregates read.
pub(super) const LATEST_LINK: &str = "argMax(dataset, linked_ns) AS linked_dataset, \
     argMax(trace_id, linked_ns) AS linked_run, argMax(generation, linked_ns) AS linked_generation";

pub async fn experiment_runs(
    inner: &Inner,
    project: ProjectId,
    experiment: &str,
) -> Result<Vec<CaseRun>> {
    let mut sql = Sql::new(format!(
        "SELECT case_id, linked_run, linked_generation FROM
           (SELECT case_id, {LATEST_LINK} FROM experiment_runs
            WHERE project_id = ? AND experiment = ? GROUP BY case_id)
         ORDER BY case_id"
    ));
    sql.params = vec![project.0.into(), experiment.into()];
    let rows: Vec<(String, String, u32)> = sql
        .query(&inner.client)
        .fetch_all()
        .await
        .map_err(|e| ch_err("reading an experiment's runs", e))?;
    // A link of a generation its run has moved past is to a deleted run: gone, as the
    // embedded store deletes it with the run (the link it replaced stays replaced).
    let mut keys: Vec<(ProjectId, String)> = rows
        .iter()
        .map(|(_, run, _)| (project, run.clone()))
        .collect();
    keys.sort();
    keys.dedup();
    let generations = runs::generations(inner, &keys).await?;
    Ok(rows
        .into_iter()
        .filter(|(_, run, g)| {
            *g >= generations
                .get(&(project, run.clone()))
                .copied()
                .unwrap_or(0)
        })
        .map(|(case_id, run_id, _)| CaseRun { case_id, run_id })
        .collect())
}
