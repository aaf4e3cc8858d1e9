//! Proxy sessions (`crate::proxy_sessions`).

use rusqlite::{params, Connection, OptionalExtension};

use super::sql_err;
use crate::{ProjectId, ProxySession, Result};

pub fn create(conn: &Connection, token_hash: &[u8], s: &ProxySession) -> Result<()> {
    // Sessions a day past their end go as new ones come, so the table stays the live ones.
    conn.execute(
        "DELETE FROM proxy_sessions WHERE expires_ns < ?1",
        [s.created_at_unix_nano.saturating_sub(86_400_000_000_000) as i64],
    )
    .map_err(sql_err)?;
    conn.execute(
        "INSERT INTO proxy_sessions (token_hash, project_id, trace_id, parent_span_id, thread_id,
                                     user_id, created_ns, expires_ns)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            token_hash,
            s.project.0,
            s.trace_id,
            s.parent_span_id,
            s.thread_id,
            s.user_id,
            s.created_at_unix_nano as i64,
            s.expires_at_unix_nano as i64
        ],
    )
    .map_err(sql_err)?;
    Ok(())
}

pub fn get(conn: &Connection, token_hash: &[u8], now: u64) -> Result<Option<ProxySession>> {
    conn.query_row(
        "SELECT project_id, trace_id, parent_span_id, thread_id, user_id, created_ns, expires_ns
         FROM proxy_sessions WHERE token_hash = ?1 AND expires_ns > ?2",
        params![token_hash, now as i64],
        |r| {
            Ok(ProxySession {
                project: ProjectId(r.get(0)?),
                trace_id: r.get(1)?,
                parent_span_id: r.get(2)?,
                thread_id: r.get(3)?,
                user_id: r.get(4)?,
                created_at_unix_nano: r.get::<_, i64>(5)? as u64,
                expires_at_unix_nano: r.get::<_, i64>(6)? as u64,
            })
        },
    )
    .optional()
    .map_err(sql_err)
}

pub fn end(conn: &Connection, project: ProjectId, token_hash: &[u8], now: u64) -> Result<bool> {
    let n = conn
        .execute(
            "DELETE FROM proxy_sessions
             WHERE token_hash = ?1 AND project_id = ?2 AND expires_ns > ?3",
            params![token_hash, project.0, now as i64],
        )
        .map_err(sql_err)?;
    Ok(n > 0)
}
