//! Projects and API keys.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::sql_err;
use crate::keys::{generate_public_key, generate_secret, hash_secret, hashes_equal, hint};
use crate::{
    Credential, KeyGrant, KeyInfo, KeyScope, NewKey, Project, ProjectId, Result, StoreError,
    StoredKey,
};

pub(super) fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

pub(super) fn project_row(r: &Row) -> rusqlite::Result<Project> {
    Ok(Project {
        id: ProjectId(r.get(0)?),
        name: r.get(1)?,
        created_at_unix_nano: r.get::<_, i64>(2)? as u64,
    })
}

pub fn create_project(conn: &mut Connection, name: &str) -> Result<Project> {
    let name = crate::admin::check_project_name(name)?;
    if project_by_name(conn, name)?.is_some() {
        return Err(StoreError::Conflict(format!("project {name:?}")));
    }
    let created = now_ns();
    conn.execute(
        "INSERT INTO projects (name, created_ns) VALUES (?1, ?2)",
        params![name, created as i64],
    )
    .map_err(sql_err)?;
    Ok(Project {
        id: ProjectId(conn.last_insert_rowid()),
        name: name.to_string(),
        created_at_unix_nano: created,
    })
}

pub fn list_projects(conn: &Connection) -> Result<Vec<Project>> {
    let mut stmt = conn
        .prepare("SELECT id, name, created_ns FROM projects ORDER BY id")
        .map_err(sql_err)?;
    let rows = stmt.query_map([], project_row).map_err(sql_err)?;
    rows.collect::<rusqlite::Result<_>>().map_err(sql_err)
}

pub fn project_by_name(conn: &Connection, name: &str) -> Result<Option<Project>> {
    conn.query_row(
        "SELECT id, name, created_ns FROM projects WHERE name = ?1",
        [name],
        project_row,
    )
    .optional()
    .map_err(sql_err)
}

pub fn create_key(
    conn: &mut Connection,
    project: &str,
    secret: Option<String>,
    scope: KeyScope,
) -> Result<NewKey> {
    let project = project_by_name(conn, project)?
        .ok_or_else(|| StoreError::NotFound(format!("project {project:?}")))?;
    let secret = secret.unwrap_or_else(generate_secret);
    crate::admin::check_key_secret(&secret)?;
    let hash = hash_secret(&secret);
    let exists: bool = conn
        .query_row(
            "SELECT 1 FROM api_keys WHERE secret_hash = ?1",
            [&hash],
            |_| Ok(true),
        )
        .optional()
        .map_err(sql_err)?
        .is_some();
    if exists {
        return Err(StoreError::Conflict("an API key with this value".into()));
    }
    let public_key = generate_public_key();
    let created = now_ns();
    conn.execute(
        "INSERT INTO api_keys (project_id, public_key, secret_hash, hint, created_ns, scope)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            project.id.0,
            public_key,
            hash,
            hint(&secret),
            created as i64,
            scope.name()
        ],
    )
    .map_err(sql_err)?;
    Ok(NewKey {
        info: KeyInfo {
            id: conn.last_insert_rowid(),
            project: project.name,
            public_key,
            hint: hint(&secret),
            created_at_unix_nano: created,
            revoked: false,
            scope,
        },
        secret,
    })
}

const KEY_INFO: &str =
    "SELECT k.id, p.name, k.public_key, k.hint, k.created_ns, k.revoked_ns IS NOT NULL, k.scope
     FROM api_keys k JOIN projects p ON p.id = k.project_id";

/// A stored scope; one this version does not know grants the least.
pub(super) fn scope(name: &str) -> KeyScope {
    KeyScope::parse(name).unwrap_or(KeyScope::Ingest)
}

fn key_info(r: &Row) -> rusqlite::Result<KeyInfo> {
    Ok(KeyInfo {
        id: r.get(0)?,
        project: r.get(1)?,
        public_key: r.get(2)?,
        hint: r.get(3)?,
        created_at_unix_nano: r.get::<_, i64>(4)? as u64,
        revoked: r.get(5)?,
        scope: scope(&r.get::<_, String>(6)?),
    })
}

pub fn list_keys(conn: &Connection, project: Option<&str>) -> Result<Vec<KeyInfo>> {
    let mut stmt = conn
        .prepare(&format!(
            "{KEY_INFO} WHERE ?1 IS NULL OR p.name = ?1 ORDER BY k.id"
        ))
        .map_err(sql_err)?;
    let rows = stmt.query_map([project], key_info).map_err(sql_err)?;
    rows.collect::<rusqlite::Result<_>>().map_err(sql_err)
}

/// One transaction: the checks and the insert or revocation see the same keys.
pub fn import_key(conn: &mut Connection, key: &StoredKey) -> Result<KeyInfo> {
    crate::admin::check_imported_key(key)?;
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql_err)?;
    let project = project_by_name(&tx, &key.project)?
        .ok_or_else(|| StoreError::NotFound(format!("project {:?}", key.project)))?;
    let stored: Option<(i64, Vec<u8>, Option<i64>)> = tx
        .query_row(
            "SELECT project_id, secret_hash, revoked_ns FROM api_keys WHERE public_key = ?1",
            [&key.public_key],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(sql_err)?;
    let revoked = key.revoked_at_unix_nano.map(|t| t as i64);
    match stored {
        Some((p, hash, was_revoked)) if p == project.id.0 && hash == key.secret_hash => {
            if was_revoked.is_none() && revoked.is_some() {
                tx.execute(
                    "UPDATE api_keys SET revoked_ns = ?1 WHERE public_key = ?2",
                    params![revoked, key.public_key],
                )
                .map_err(sql_err)?;
            }
        }
        Some(_) => {
            return Err(StoreError::Conflict(format!(
                "another API key with public key {:?}",
                key.public_key
            )))
        }
        None => {
            let taken = tx
                .query_row(
                    "SELECT 1 FROM api_keys WHERE secret_hash = ?1",
                    [&key.secret_hash],
                    |_| Ok(()),
                )
                .optional()
                .map_err(sql_err)?;
            if taken.is_some() {
                return Err(StoreError::Conflict("an API key with this value".into()));
            }
            tx.execute(
                "INSERT INTO api_keys (project_id, public_key, secret_hash, hint, created_ns, revoked_ns,
                                       scope)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    project.id.0,
                    key.public_key,
                    key.secret_hash,
                    key.hint,
                    key.created_at_unix_nano as i64,
                    revoked,
                    key.scope.name()
                ],
            )
            .map_err(sql_err)?;
        }
    }
    let info = tx
        .query_row(
            &format!("{KEY_INFO} WHERE k.public_key = ?1"),
            [&key.public_key],
            key_info,
        )
        .map_err(sql_err)?;
    tx.commit().map_err(sql_err)?;
    Ok(info)
}

pub fn revoke_key(conn: &mut Connection, key: &str) -> Result<bool> {
    let id: i64 = key.parse().unwrap_or(-1);
    let n = conn
        .execute(
            "UPDATE api_keys SET revoked_ns = ?1 WHERE (id = ?2 OR public_key = ?3) AND revoked_ns IS NULL",
            params![now_ns() as i64, id, key],
        )
        .map_err(sql_err)?;
    if n > 0 {
        return Ok(true);
    }
    // Already revoked counts as found.
    let exists = conn
        .query_row(
            "SELECT 1 FROM api_keys WHERE id = ?1 OR public_key = ?2",
            params![id, key],
            |_| Ok(()),
        )
        .optional()
        .map_err(sql_err)?;
    Ok(exists.is_some())
}

pub fn authenticate(conn: &Connection, credential: &Credential) -> Result<Option<KeyGrant>> {
    const LIVE: &str = "SELECT p.id, p.name, p.created_ns, k.secret_hash, k.scope FROM api_keys k
         JOIN projects p ON p.id = k.project_id WHERE k.revoked_ns IS NULL AND ";
    let row = |r: &Row| {
        let grant = KeyGrant {
            project: project_row(r)?,
            scope: scope(&r.get::<_, String>(4)?),
        };
        Ok((grant, r.get::<_, Vec<u8>>(3)?))
    };
    let (found, secret) = match credential {
        Credential::Key(secret) => (
            conn.query_row(
                &format!("{LIVE} k.secret_hash = ?1"),
                [hash_secret(secret)],
                row,
            ),
            secret,
        ),
        Credential::Basic { public_key, secret } => (
            conn.query_row(&format!("{LIVE} k.public_key = ?1"), [public_key], row),
            secret,
        ),
    };
    match found.optional().map_err(sql_err)? {
        Some((grant, hash)) if hashes_equal(&hash, &hash_secret(secret)) => Ok(Some(grant)),
        _ => Ok(None),
    }
}

/// Every row is what reads see: writes skip what is stored, deletions remove rows.
pub fn counts(conn: &Connection, project: ProjectId) -> Result<crate::Counts> {
    let count = |table: &str| -> Result<u64> {
        conn.query_row(
            &format!("SELECT count(*) FROM {table} WHERE project_id = ?1"),
            [project.0],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n as u64)
        .map_err(sql_err)
    };
    Ok(crate::Counts {
        spans: count("spans")?,
        runs: count("runs")?,
        metrics: count("metrics")?,
        logs: count("logs")?,
    })
}

pub fn retention(conn: &Connection, project: ProjectId) -> Result<Option<u32>> {
    conn.query_row(
        "SELECT retention_days FROM project_settings WHERE project_id = ?1",
        [project.0],
        |r| r.get::<_, Option<u32>>(0),
    )
    .optional()
    .map(Option::flatten)
    .map_err(sql_err)
}

pub fn set_retention(conn: &mut Connection, project: ProjectId, days: Option<u32>) -> Result<()> {
    let days = crate::admin::check_retention(days)?;
    conn.execute(
        "INSERT INTO project_settings (project_id, retention_days) VALUES (?1, ?2)
         ON CONFLICT (project_id) DO UPDATE SET retention_days = excluded.retention_days",
        rusqlite::params![project.0, days],
    )
    .map_err(sql_err)?;
    Ok(())
}
