//! A project's redaction rules (the newest row holds) and the counts of what they redacted
//! (summed when read, so a merge not yet done changes nothing).

use clickhouse::Row;
use lemma_core::redact::RedactionRules;
use serde::{Deserialize, Serialize};

use super::sql::Sql;
use super::write::insert_all;
use super::{ch_err, now_ns, Inner};
use crate::admin::{decode_redaction, encode_redaction};
use crate::{ProjectId, RedactionCount, Result};

#[derive(Row, Serialize, Deserialize)]
struct RulesRow {
    project_id: i64,
    rules: String,
    updated_ns: u64,
}

#[derive(Row, Serialize, Deserialize)]
struct CountRow {
    project_id: i64,
    day: u32,
    rule: String,
    count: u64,
}

#[derive(Row, Deserialize)]
struct CountRead {
    day: u32,
    rule: String,
    count: u64,
}

pub async fn rules(inner: &Inner, project: ProjectId) -> Result<RedactionRules> {
    let mut sql = Sql::new(
        "SELECT project_id, rules, updated_ns FROM redaction_rules
         WHERE project_id = ? ORDER BY updated_ns DESC LIMIT 1",
    );
    sql.bind(project.0);
    let row: Option<RulesRow> = sql
        .query(&inner.client)
        .fetch_optional()
        .await
        .map_err(|e| ch_err("reading a project's redaction rules", e))?;
    row.map_or_else(
        || Ok(RedactionRules::default()),
        |r| decode_redaction(&r.rules),
    )
}

pub async fn set_rules(inner: &Inner, project: ProjectId, rules: &RedactionRules) -> Result<()> {
    let row = RulesRow {
        project_id: project.0,
        rules: encode_redaction(rules)?,
        updated_ns: now_ns(),
    };
    insert_all(inner, "redaction_rules", std::slice::from_ref(&row)).await
}

pub async fn record(
    inner: &Inner,
    project: ProjectId,
    day: u32,
    counts: &[(String, u64)],
) -> Result<()> {
    let rows: Vec<CountRow> = counts
        .iter()
        .map(|(rule, count)| CountRow {
            project_id: project.0,
            day,
            rule: rule.clone(),
            count: *count,
        })
        .collect();
    insert_all(inner, "redaction_counts", &rows).await
}

pub async fn counts(
    inner: &Inner,
    project: ProjectId,
    since_day: u32,
) -> Result<Vec<RedactionCount>> {
    let mut sql = Sql::new(
        "SELECT day, rule, sum(count) AS count FROM redaction_counts
         WHERE project_id = ? AND day >= ? GROUP BY day, rule ORDER BY day, rule",
    );
    sql.bind(project.0);
    sql.bind(since_day as u64);
    let rows: Vec<CountRead> = sql
        .query(&inner.client)
        .fetch_all()
        .await
        .map_err(|e| ch_err("reading a project's redaction counts", e))?;
    Ok(rows
        .into_iter()
        .map(|r| RedactionCount {
            day: r.day,
            rule: r.rule,
            count: r.count,
        })
        .collect())
}
