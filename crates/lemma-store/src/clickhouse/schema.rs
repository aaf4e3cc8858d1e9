//! Creates the schema (`schema/tables.sql`) on a single server, or on every shard of a
//! cluster with a Distributed table of each table's plain name in front, so every query names
//! the same tables either way.

use super::config::ClickHouseConfig;
use super::sql::Sql;
use super::{ch_err, client_for};
use crate::Result;

const TABLES: &str = include_str!("schema/tables.sql");

/// One table of `tables.sql`: its name, how a cluster spreads its rows, and its DDL with
/// `{table}` where the name goes.
#[derive(Debug, PartialEq)]
pub(super) struct Table {
    pub name: String,
    pub sharding_key: String,
    pub ddl: String,
}

/// The tables of `tables.sql`, in order. Each starts at a `-- @table NAME sharded KEY` line.
pub(super) fn tables() -> Vec<Table> {
    let mut out: Vec<Table> = Vec::new();
    for line in TABLES.lines() {
        if let Some(head) = line.strip_prefix("-- @table ") {
            let (name, key) = head
                .split_once(" sharded ")
                .expect("-- @table NAME sharded KEY");
            out.push(Table {
                name: name.trim().to_string(),
                sharding_key: key.trim().to_string(),
                ddl: String::new(),
            });
        } else if let Some(t) = out.last_mut() {
            if !line.trim_start().starts_with("--") {
                t.ddl.push_str(line);
                t.ddl.push('\n');
            }
        }
    }
    for t in &mut out {
        t.ddl = t.ddl.trim().trim_end_matches(';').to_string();
    }
    out
}

/// Brings the schema up to date on every server of `config` (idempotent).
pub(super) async fn create(config: &ClickHouseConfig) -> Result<()> {
    let db = &config.database;
    for shard in &config.shards {
        // The database does not exist yet: connect without it.
        let client = client_for(config, shard, None);
        Sql::new(format!("CREATE DATABASE IF NOT EXISTS {db}"))
            .query(&client)
            .execute()
            .await
            .map_err(|e| ch_err("creating the database", e))?;
        for t in tables() {
            let local = match &config.cluster {
                Some(_) => format!("{db}.{}_local", t.name),
                None => format!("{db}.{}", t.name),
            };
            Sql::new(t.ddl.replace("{table}", &local))
                .query(&client)
                .execute()
                .await
                .map_err(|e| ch_err(&format!("creating table {local}"), e))?;
            if let Some(cluster) = &config.cluster {
                let ddl = format!(
                    "CREATE TABLE IF NOT EXISTS {db}.{name} AS {local} \
                     ENGINE = Distributed({cluster}, {db}, {name}_local, {key})",
                    name = t.name,
                    key = t.sharding_key,
                );
                Sql::new(ddl)
                    .query(&client)
                    .execute()
                    .await
                    .map_err(|e| ch_err(&format!("creating table {db}.{}", t.name), e))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_has_a_name_a_key_and_one_statement() {
        let tables = tables();
        let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "projects",
                "api_keys",
                "key_scopes",
                "users",
                "memberships",
                "sessions",
                "proxy_sessions",
                "project_settings",
                "redaction_rules",
                "redaction_counts",
                "signal_settings",
                "alert_config",
                "prices",
                "spans",
                "span_terms",
                "runs",
                "run_deletes",
                "metrics",
                "run_signals",
                "logs",
                "alert_events",
                "datasets",
                "dataset_deletes",
                "experiments",
                "experiment_runs"
            ]
        );
        for t in &tables {
            assert!(
                t.ddl.starts_with("CREATE TABLE IF NOT EXISTS {table} ("),
                "{}",
                t.ddl
            );
            assert!(!t.ddl.contains(';'), "{}", t.ddl);
            assert!(t.sharding_key.starts_with("cityHash64("));
        }
    }
}
