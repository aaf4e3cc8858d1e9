//! Proxy sessions (`crate::proxy_sessions`): one row per change, the newest row of a token
//! holds, so ending a session is an insert like everything else here.

use clickhouse::Row;
use serde::{Deserialize, Serialize};

use super::sql::Sql;
use super::write::insert_all;
use super::{ch_err, now_ns, Inner};
use crate::{ProjectId, ProxySession, Result};

#[derive(Row, Serialize, Deserialize)]
struct ProxySessionRow {
    token_hash: String,
    project_id: i64,
    trace_id: String,
    parent_span_id: String,
    thread_id: String,
    user_id: String,
    created_ns: u64,
    /// 0: ended.
    expires_ns: u64,
    updated_ns: u64,
}

fn text(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

fn some(value: String) -> Option<String> {
    (!value.is_empty()).then_some(value)
}

pub async fn create(inner: &Inner, token_hash: &[u8], s: &ProxySession) -> Result<()> {
    let row = ProxySessionRow {
        token_hash: hex::encode(token_hash),
        project_id: s.project.0,
        trace_id: text(&s.trace_id),
        parent_span_id: text(&s.parent_span_id),
        thread_id: text(&s.thread_id),
        user_id: text(&s.user_id),
        created_ns: s.created_at_unix_nano,
        expires_ns: s.expires_at_unix_nano,
        updated_ns: now_ns(),
    };
    insert_all(inner, "proxy_sessions", std::slice::from_ref(&row)).await
}

async fn newest(inner: &Inner, token_hash: &[u8]) -> Result<Option<ProxySessionRow>> {
    let mut sql = Sql::new(
        "SELECT token_hash, project_id, trace_id, parent_span_id, thread_id, user_id, created_ns,
                expires_ns, updated_ns
         FROM proxy_sessions WHERE token_hash = ? ORDER BY updated_ns DESC LIMIT 1",
    );
    sql.bind(hex::encode(token_hash));
    sql.query(&inner.client)
        .fetch_optional()
        .await
        .map_err(|e| ch_err("reading a proxy session", e))
}

pub async fn get(inner: &Inner, token_hash: &[u8], now: u64) -> Result<Option<ProxySession>> {
    let Some(row) = newest(inner, token_hash)
        .await?
        .filter(|r| r.expires_ns > now)
    else {
        return Ok(None);
    };
    Ok(Some(ProxySession {
        project: ProjectId(row.project_id),
        trace_id: some(row.trace_id),
        parent_span_id: some(row.parent_span_id),
        thread_id: some(row.thread_id),
        user_id: some(row.user_id),
        created_at_unix_nano: row.created_ns,
        expires_at_unix_nano: row.expires_ns,
    }))
}

pub async fn end(inner: &Inner, project: ProjectId, token_hash: &[u8]) -> Result<bool> {
    let now = now_ns();
    let Some(mut row) = newest(inner, token_hash)
        .await?
        .filter(|r| r.expires_ns > now && r.project_id == project.0)
    else {
        return Ok(false);
    };
    row.expires_ns = 0;
    row.updated_ns = now.max(row.updated_ns + 1);
    insert_all(inner, "proxy_sessions", std::slice::from_ref(&row)).await?;
    Ok(true)
}
