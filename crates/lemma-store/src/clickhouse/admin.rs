//! Projects and API keys. A key is looked up with a point read on the table's key; the store
//! keeps successful lookups for a few seconds (`key_cache`), so a key revoked through one
//! server stops working on the others within `KEY_CACHE_TTL`.

use std::collections::HashMap;

use clickhouse::Row;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::sql::Sql;
use super::write::insert_all;
use super::{ch_err, now_ns, Inner};
use crate::keys::{generate_public_key, generate_secret, hash_secret, hashes_equal, hint};
use crate::{
    Credential, KeyGrant, KeyInfo, KeyScope, NewKey, Project, ProjectId, Result, StoreError,
    StoredKey,
};

#[derive(Row, Serialize, Deserialize)]
struct ProjectRow {
    id: i64,
    name: String,
    created_ns: u64,
}

impl From<ProjectRow> for Project {
    fn from(r: ProjectRow) -> Project {
        Project {
            id: ProjectId(r.id),
            name: r.name,
            created_at_unix_nano: r.created_ns,
        }
    }
}

#[derive(Row, Serialize, Deserialize)]
struct KeyRow {
    id: i64,
    project_id: i64,
    public_key: String,
    secret_hash: String,
    hint: String,
    created_ns: u64,
    revoked_ns: u64,
    updated_ns: u64,
}

/// A project's id, from its name: servers creating the same project at once agree on it.
/// 53 bits, so the id reads the same as a JSON number anywhere.
fn project_id(name: &str) -> i64 {
    let hash = Sha256::digest(name.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&hash[..8]);
    (u64::from_be_bytes(bytes) >> 11) as i64
}

pub async fn create_project(inner: &Inner, name: &str) -> Result<Project> {
    let name = crate::admin::check_project_name(name)?;
    if project_by_name(inner, name).await?.is_some() {
        return Err(StoreError::Conflict(format!("project {name:?}")));
    }
    let row = ProjectRow {
        id: project_id(name),
        name: name.to_string(),
        created_ns: now_ns(),
    };
    insert_all(inner, "projects", std::slice::from_ref(&row)).await?;
    // Another server may have created it first: its row is the project.
    project_by_name(inner, name)
        .await?
        .ok_or_else(|| StoreError::Backend(format!("project {name:?} was not stored")))
}

const PROJECTS: &str =
    "SELECT id, name, created_ns FROM projects ORDER BY name, created_ns LIMIT 1 BY name";

pub async fn list_projects(inner: &Inner) -> Result<Vec<Project>> {
    let sql = format!("SELECT id, name, created_ns FROM ({PROJECTS}) ORDER BY created_ns, name");
    let rows: Vec<ProjectRow> = Sql::new(sql)
        .query(&inner.client)
        .fetch_all()
        .await
        .map_err(|e| ch_err("listing projects", e))?;
    Ok(rows.into_iter().map(Project::from).collect())
}

pub async fn project_by_name(inner: &Inner, name: &str) -> Result<Option<Project>> {
    let mut sql = Sql::new(
        "SELECT id, name, created_ns FROM projects WHERE name = ? ORDER BY created_ns LIMIT 1",
    );
    sql.bind(name);
    let row: Option<ProjectRow> = sql
        .query(&inner.client)
        .fetch_optional()
        .await
        .map_err(|e| ch_err("reading a project", e))?;
    Ok(row.map(Project::from))
}

async fn project_by_id(inner: &Inner, id: i64) -> Result<Option<Project>> {
    let mut sql = Sql::new(format!(
        "SELECT id, name, created_ns FROM ({PROJECTS}) WHERE id = ?"
    ));
    sql.bind(id);
    let row: Option<ProjectRow> = sql
        .query(&inner.client)
        .fetch_optional()
        .await
        .map_err(|e| ch_err("reading a project", e))?;
    Ok(row.map(Project::from))
}

/// Every key's newest row.
const KEYS: &str = "SELECT id, project_id, public_key, secret_hash, hint, created_ns, revoked_ns,
    updated_ns FROM api_keys ORDER BY public_key, updated_ns DESC LIMIT 1 BY public_key";

#[derive(Row, Serialize, Deserialize)]
struct ScopeRow {
    public_key: String,
    scope: String,
    updated_ns: u64,
}

/// A key's scope. Keys made before scopes existed have no row: they are admin keys, as they
/// could do everything. A scope this version does not know grants the least.
async fn scope_of(inner: &Inner, public_key: &str) -> Result<KeyScope> {
    let mut sql = Sql::new(
        "SELECT public_key, scope, updated_ns FROM key_scopes WHERE public_key = ?
         ORDER BY updated_ns DESC LIMIT 1",
    );
    sql.bind(public_key);
    let row: Option<ScopeRow> = sql
        .query(&inner.client)
        .fetch_optional()
        .await
        .map_err(|e| ch_err("reading a key's scope", e))?;
    Ok(row.map_or(KeyScope::Admin, |r| parse_scope(&r.scope)))
}

fn parse_scope(name: &str) -> KeyScope {
    KeyScope::parse(name).unwrap_or(KeyScope::Ingest)
}

/// Every key's scope, by public key.
async fn scopes(inner: &Inner) -> Result<HashMap<String, KeyScope>> {
    let rows: Vec<ScopeRow> = Sql::new(
        "SELECT public_key, scope, updated_ns FROM key_scopes
         ORDER BY public_key, updated_ns DESC LIMIT 1 BY public_key",
    )
    .query(&inner.client)
    .fetch_all()
    .await
    .map_err(|e| ch_err("reading key scopes", e))?;
    Ok(rows
        .into_iter()
        .map(|r| (r.public_key, parse_scope(&r.scope)))
        .collect())
}

/// Stored before the key itself, so a key is never live without its scope.
async fn store_scope(inner: &Inner, public_key: &str, scope: KeyScope) -> Result<()> {
    let row = ScopeRow {
        public_key: public_key.to_string(),
        scope: scope.name().to_string(),
        updated_ns: now_ns(),
    };
    insert_all(inner, "key_scopes", std::slice::from_ref(&row)).await
}

pub async fn create_key(
    inner: &Inner,
    project: &str,
    secret: Option<String>,
    scope: KeyScope,
) -> Result<NewKey> {
    let project = project_by_name(inner, project)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("project {project:?}")))?;
    let secret = secret.unwrap_or_else(generate_secret);
    crate::admin::check_key_secret(&secret)?;
    let hash = hex::encode(hash_secret(&secret));
    let mut sql = Sql::new("SELECT 1 FROM api_keys WHERE secret_hash = ? LIMIT 1");
    sql.bind(hash.as_str());
    let exists: Option<u8> = sql
        .query(&inner.client)
        .fetch_optional()
        .await
        .map_err(|e| ch_err("checking for a key", e))?;
    if exists.is_some() {
        return Err(StoreError::Conflict("an API key with this value".into()));
    }
    let created = now_ns();
    let row = KeyRow {
        // Microseconds: ordered by creation, short enough to type, and apart for keys made
        // on different servers at once (they would also need the same microsecond).
        id: (created / 1_000) as i64,
        project_id: project.id.0,
        public_key: generate_public_key(),
        secret_hash: hash,
        hint: hint(&secret),
        created_ns: created,
        revoked_ns: 0,
        updated_ns: created,
    };
    store_scope(inner, &row.public_key, scope).await?;
    insert_all(inner, "api_keys", std::slice::from_ref(&row)).await?;
    Ok(NewKey {
        info: KeyInfo {
            id: row.id,
            project: project.name,
            public_key: row.public_key,
            hint: row.hint,
            created_at_unix_nano: created,
            revoked: false,
            scope,
        },
        secret,
    })
}

pub async fn list_keys(inner: &Inner, project: Option<&str>) -> Result<Vec<KeyInfo>> {
    let rows: Vec<KeyRow> = Sql::new(format!("SELECT * FROM ({KEYS}) ORDER BY id"))
        .query(&inner.client)
        .fetch_all()
        .await
        .map_err(|e| ch_err("listing keys", e))?;
    let projects = list_projects(inner).await?;
    let scopes = scopes(inner).await?;
    let mut out = Vec::new();
    for k in rows {
        let Some(p) = projects.iter().find(|p| p.id.0 == k.project_id) else {
            continue;
        };
        if project.is_some_and(|name| name != p.name) {
            continue;
        }
        out.push(KeyInfo {
            id: k.id,
            project: p.name.clone(),
            scope: scopes.get(&k.public_key).copied().unwrap_or_default(),
            public_key: k.public_key,
            hint: k.hint,
            created_at_unix_nano: k.created_ns,
            revoked: k.revoked_ns != 0,
        });
    }
    Ok(out)
}

pub async fn revoke_key(inner: &Inner, key: &str) -> Result<bool> {
    let id: i64 = key.parse().unwrap_or(-1);
    let mut sql = Sql::new(format!(
        "SELECT * FROM ({KEYS}) WHERE id = ? OR public_key = ? LIMIT 1"
    ));
    sql.bind(id);
    sql.bind(key);
    let found: Option<KeyRow> = sql
        .query(&inner.client)
        .fetch_optional()
        .await
        .map_err(|e| ch_err("reading a key", e))?;
    let Some(mut row) = found else {
        return Ok(false);
    };
    if row.revoked_ns == 0 {
        let now = now_ns();
        row.revoked_ns = now;
        row.updated_ns = now.max(row.updated_ns + 1);
        insert_all(inner, "api_keys", std::slice::from_ref(&row)).await?;
    }
    Ok(true)
}

/// A key's newest row, by public key.
async fn key_by_public_key(inner: &Inner, public_key: &str) -> Result<Option<KeyRow>> {
    let mut sql =
        Sql::new("SELECT * FROM api_keys WHERE public_key = ? ORDER BY updated_ns DESC LIMIT 1");
    sql.bind(public_key);
    sql.query(&inner.client)
        .fetch_optional()
        .await
        .map_err(|e| ch_err("reading a key", e))
}

/// Keys are imported by one process (`lemma migrate`), so checking first and inserting after
/// races with nothing but `create_key`, which refuses a secret already stored the same way.
pub async fn import_key(inner: &Inner, key: &StoredKey) -> Result<KeyInfo> {
    crate::admin::check_imported_key(key)?;
    let project = project_by_name(inner, &key.project)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("project {:?}", key.project)))?;
    let hash = hex::encode(&key.secret_hash);
    let revoked = key.revoked_at_unix_nano.map(|t| t.max(1));
    let row = match key_by_public_key(inner, &key.public_key).await? {
        Some(row) if row.project_id == project.id.0 && row.secret_hash == hash => match revoked {
            Some(at) if row.revoked_ns == 0 => {
                let updated_ns = now_ns().max(row.updated_ns + 1);
                let row = KeyRow {
                    revoked_ns: at,
                    updated_ns,
                    ..row
                };
                insert_all(inner, "api_keys", std::slice::from_ref(&row)).await?;
                row
            }
            _ => row,
        },
        Some(_) => {
            return Err(StoreError::Conflict(format!(
                "another API key with public key {:?}",
                key.public_key
            )))
        }
        None => {
            let mut sql = Sql::new("SELECT 1 FROM api_keys WHERE secret_hash = ? LIMIT 1");
            sql.bind(hash.as_str());
            let taken: Option<u8> = sql
                .query(&inner.client)
                .fetch_optional()
                .await
                .map_err(|e| ch_err("checking for a key", e))?;
            if taken.is_some() {
                return Err(StoreError::Conflict("an API key with this value".into()));
            }
            let row = KeyRow {
                // As `create_key` numbers keys: by creation, in microseconds.
                id: (key.created_at_unix_nano / 1_000) as i64,
                project_id: project.id.0,
                public_key: key.public_key.clone(),
                secret_hash: hash,
                hint: key.hint.clone(),
                created_ns: key.created_at_unix_nano,
                revoked_ns: revoked.unwrap_or(0),
                updated_ns: now_ns(),
            };
            store_scope(inner, &row.public_key, key.scope).await?;
            insert_all(inner, "api_keys", std::slice::from_ref(&row)).await?;
            row
        }
    };
    Ok(KeyInfo {
        id: row.id,
        project: project.name,
        scope: scope_of(inner, &row.public_key).await?,
        public_key: row.public_key,
        hint: row.hint,
        created_at_unix_nano: row.created_ns,
        revoked: row.revoked_ns != 0,
    })
}

pub async fn authenticate(inner: &Inner, credential: &Credential) -> Result<Option<KeyGrant>> {
    let (column, value, secret) = match credential {
        Credential::Key(secret) => ("secret_hash", hex::encode(hash_secret(secret)), secret),
        Credential::Basic { public_key, secret } => ("public_key", public_key.clone(), secret),
    };
    let mut sql = Sql::new(format!(
        "SELECT * FROM api_keys WHERE {column} = ? ORDER BY updated_ns DESC LIMIT 1"
    ));
    sql.bind(value);
    let row: Option<KeyRow> = sql
        .query(&inner.client)
        .fetch_optional()
        .await
        .map_err(|e| ch_err("checking a key", e))?;
    let Some(row) = row else {
        return Ok(None);
    };
    let stored = hex::decode(&row.secret_hash).unwrap_or_default();
    if row.revoked_ns != 0 || !hashes_equal(&stored, &hash_secret(secret)) {
        return Ok(None);
    }
    let Some(project) = project_by_id(inner, row.project_id).await? else {
        return Ok(None);
    };
    Ok(Some(KeyGrant {
        project,
        scope: scope_of(inner, &row.public_key).await?,
    }))
}

#[derive(Row, Serialize, Deserialize)]
struct SettingsRow {
    project_id: i64,
    retention_days: Option<u32>,
    updated_ns: u64,
}

pub async fn retention(inner: &Inner, project: ProjectId) -> Result<Option<u32>> {
    let mut sql = Sql::new(
        "SELECT project_id, retention_days, updated_ns FROM project_settings
         WHERE project_id = ? ORDER BY updated_ns DESC LIMIT 1",
    );
    sql.bind(project.0);
    let row: Option<SettingsRow> = sql
        .query(&inner.client)
        .fetch_optional()
        .await
        .map_err(|e| ch_err("reading a project's settings", e))?;
    Ok(row.and_then(|r| r.retention_days))
}

pub async fn set_retention(inner: &Inner, project: ProjectId, days: Option<u32>) -> Result<()> {
    let row = SettingsRow {
        project_id: project.0,
        retention_days: crate::admin::check_retention(days)?,
        updated_ns: now_ns(),
    };
    insert_all(inner, "project_settings", std::slice::from_ref(&row)).await
}
