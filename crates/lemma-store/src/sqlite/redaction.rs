//! A project's redaction rules and the counts of what they redacted.

use lemma_core::redact::RedactionRules;
use rusqlite::{params, Connection, OptionalExtension};

use super::sql_err;
use crate::admin::{decode_redaction, encode_redaction};
use crate::{ProjectId, RedactionCount, Result};

pub fn rules(conn: &Connection, project: ProjectId) -> Result<RedactionRules> {
    let json: Option<String> = conn
        .query_row(
            "SELECT rules FROM redaction_rules WHERE project_id = ?1",
            [project.0],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql_err)?;
    json.map_or_else(|| Ok(RedactionRules::default()), |j| decode_redaction(&j))
}

pub fn set_rules(conn: &Connection, project: ProjectId, rules: &RedactionRules) -> Result<()> {
    let json = encode_redaction(rules)?;
    conn.execute(
        "INSERT INTO redaction_rules (project_id, rules) VALUES (?1, ?2)
         ON CONFLICT (project_id) DO UPDATE SET rules = excluded.rules",
        params![project.0, json],
    )
    .map_err(sql_err)?;
    Ok(())
}

pub fn record(
    conn: &mut Connection,
    project: ProjectId,
    day: u32,
    counts: &[(String, u64)],
) -> Result<()> {
    let tx = conn.transaction().map_err(sql_err)?;
    {
        let mut add = tx
            .prepare_cached(
                "INSERT INTO redaction_counts (project_id, day, rule, count) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (project_id, day, rule) DO UPDATE SET count = count + excluded.count",
            )
            .map_err(sql_err)?;
        for (rule, n) in counts {
            add.execute(params![project.0, day, rule, *n as i64])
                .map_err(sql_err)?;
        }
    }
    tx.commit().map_err(sql_err)
}

pub fn counts(
    conn: &Connection,
    project: ProjectId,
    since_day: u32,
) -> Result<Vec<RedactionCount>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT day, rule, count FROM redaction_counts
             WHERE project_id = ?1 AND day >= ?2 ORDER BY day, rule",
        )
        .map_err(sql_err)?;
    let rows = stmt
        .query_map(params![project.0, since_day], |r| {
            Ok(RedactionCount {
                day: r.get(0)?,
                rule: r.get(1)?,
                count: r.get::<_, i64>(2)? as u64,
            })
        })
        .map_err(sql_err)?;
    rows.collect::<rusqlite::Result<_>>().map_err(sql_err)
}
