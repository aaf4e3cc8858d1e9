//! Users, their roles per project, and their sessions. Each table keeps one row per change and
//! reads take a key's newest row, so servers sharing ClickHouse agree without updates in place.
//! A password change or a deletion ends sessions by time: a session counts only if it was
//! made after the user's `sessions_after_ns`, so no session row needs rewriting.

use clickhouse::Row;
use serde::{Deserialize, Serialize};

use super::admin::list_projects;
use super::sql::Sql;
use super::write::insert_all;
use super::{ch_err, now_ns, Inner};
use crate::users::check_user_name;
use crate::{Member, Membership, ProjectId, Result, Role, Session, StoreError, User};

#[derive(Row, Serialize, Deserialize, Clone)]
struct UserRow {
    name: String,
    password_hash: String,
    created_ns: u64,
    /// Sessions made before this do not count (a password change, a deletion).
    sessions_after_ns: u64,
    deleted: u8,
    updated_ns: u64,
}

#[derive(Row, Serialize, Deserialize)]
struct MembershipRow {
    user_name: String,
    project_id: i64,
    /// Empty: no longer a member.
    role: String,
    updated_ns: u64,
}

#[derive(Row, Serialize, Deserialize)]
struct SessionRow {
    token_hash: String,
    user_name: String,
    csrf: String,
    created_ns: u64,
    /// 0: signed out.
    expires_ns: u64,
    updated_ns: u64,
}

const USER_COLUMNS: &str =
    "name, password_hash, created_ns, sessions_after_ns, deleted, updated_ns";

/// The user's newest row, deleted or not.
async fn user_row(inner: &Inner, name: &str) -> Result<Option<UserRow>> {
    let mut sql = Sql::new(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE name = ? ORDER BY updated_ns DESC LIMIT 1"
    ));
    sql.bind(name);
    sql.query(&inner.client)
        .fetch_optional()
        .await
        .map_err(|e| ch_err("reading a user", e))
}

async fn live_user(inner: &Inner, name: &str) -> Result<Option<UserRow>> {
    Ok(user_row(inner, name).await?.filter(|u| u.deleted == 0))
}

fn role(name: &str) -> Role {
    Role::parse(name).unwrap_or(Role::Viewer)
}

pub async fn create_user(inner: &Inner, name: &str, password_hash: &str) -> Result<User> {
    let name = check_user_name(name)?;
    if live_user(inner, name).await?.is_some() {
        return Err(StoreError::Conflict(format!("user {name:?}")));
    }
    let now = now_ns();
    let row = UserRow {
        name: name.to_string(),
        password_hash: password_hash.to_string(),
        created_ns: now,
        sessions_after_ns: now,
        deleted: 0,
        updated_ns: now,
    };
    insert_all(inner, "users", std::slice::from_ref(&row)).await?;
    Ok(User {
        name: row.name,
        created_at_unix_nano: now,
    })
}

pub async fn list_users(inner: &Inner) -> Result<Vec<User>> {
    let rows: Vec<UserRow> = Sql::new(format!(
        "SELECT {USER_COLUMNS} FROM users ORDER BY name, updated_ns DESC LIMIT 1 BY name"
    ))
    .query(&inner.client)
    .fetch_all()
    .await
    .map_err(|e| ch_err("listing users", e))?;
    Ok(rows
        .into_iter()
        .filter(|u| u.deleted == 0)
        .map(|u| User {
            name: u.name,
            created_at_unix_nano: u.created_ns,
        })
        .collect())
}

pub async fn password_hash(inner: &Inner, user: &str) -> Result<Option<String>> {
    Ok(live_user(inner, user).await?.map(|u| u.password_hash))
}

/// A new row of the user, later than every row before it.
async fn update_user(
    inner: &Inner,
    row: UserRow,
    change: impl FnOnce(&mut UserRow, u64),
) -> Result<()> {
    let mut row = row;
    let now = now_ns().max(row.updated_ns + 1);
    change(&mut row, now);
    row.updated_ns = now;
    insert_all(inner, "users", std::slice::from_ref(&row)).await
}

pub async fn set_password(inner: &Inner, user: &str, password_hash: &str) -> Result<bool> {
    let Some(row) = live_user(inner, user).await? else {
        return Ok(false);
    };
    update_user(inner, row, |u, now| {
        u.password_hash = password_hash.to_string();
        u.sessions_after_ns = now;
    })
    .await?;
    Ok(true)
}

pub async fn delete_user(inner: &Inner, user: &str) -> Result<bool> {
    let Some(row) = live_user(inner, user).await? else {
        return Ok(false);
    };
    let memberships = memberships(inner, user).await?;
    let now = now_ns();
    let ended: Vec<MembershipRow> = memberships
        .iter()
        .map(|m| MembershipRow {
            user_name: user.to_string(),
            project_id: m.project.id.0,
            role: String::new(),
            updated_ns: now,
        })
        .collect();
    insert_all(inner, "memberships", &ended).await?;
    update_user(inner, row, |u, now| {
        u.deleted = 1;
        u.sessions_after_ns = now;
    })
    .await?;
    Ok(true)
}

pub async fn set_role(
    inner: &Inner,
    user: &str,
    project: ProjectId,
    role: Option<Role>,
) -> Result<()> {
    if live_user(inner, user).await?.is_none() {
        return Err(StoreError::NotFound(format!("user {user:?}")));
    }
    let row = MembershipRow {
        user_name: user.to_string(),
        project_id: project.0,
        role: role.map_or(String::new(), |r| r.name().to_string()),
        updated_ns: now_ns(),
    };
    insert_all(inner, "memberships", std::slice::from_ref(&row)).await
}

/// Each (user, project)'s newest row where the filter holds.
async fn membership_rows(
    inner: &Inner,
    column: &str,
    value: impl Into<super::sql::Param>,
) -> Result<Vec<MembershipRow>> {
    let mut sql = Sql::new(format!(
        "SELECT user_name, project_id, role, updated_ns FROM memberships WHERE {column} = ?
         ORDER BY user_name, project_id, updated_ns DESC LIMIT 1 BY user_name, project_id"
    ));
    sql.bind(value);
    let rows: Vec<MembershipRow> = sql
        .query(&inner.client)
        .fetch_all()
        .await
        .map_err(|e| ch_err("reading memberships", e))?;
    Ok(rows.into_iter().filter(|m| !m.role.is_empty()).collect())
}

pub async fn memberships(inner: &Inner, user: &str) -> Result<Vec<Membership>> {
    let rows = membership_rows(inner, "user_name", user).await?;
    let projects = list_projects(inner).await?;
    let mut out: Vec<Membership> = rows
        .into_iter()
        .filter_map(|m| {
            let project = projects.iter().find(|p| p.id.0 == m.project_id)?.clone();
            Some(Membership {
                project,
                role: role(&m.role),
            })
        })
        .collect();
    out.sort_by(|a, b| a.project.name.cmp(&b.project.name));
    Ok(out)
}

pub async fn members(inner: &Inner, project: ProjectId) -> Result<Vec<Member>> {
    let mut out = Vec::new();
    for m in membership_rows(inner, "project_id", project.0).await? {
        // A member whose user was deleted (the rows ending it may be on another shard's way).
        if live_user(inner, &m.user_name).await?.is_some() {
            out.push(Member {
                user: m.user_name,
                role: role(&m.role),
            });
        }
    }
    out.sort_by(|a, b| a.user.cmp(&b.user));
    Ok(out)
}

pub async fn create_session(inner: &Inner, token_hash: &[u8], session: &Session) -> Result<()> {
    let row = SessionRow {
        token_hash: hex::encode(token_hash),
        user_name: session.user.clone(),
        csrf: session.csrf.clone(),
        created_ns: session.created_at_unix_nano,
        expires_ns: session.expires_at_unix_nano,
        updated_ns: now_ns(),
    };
    insert_all(inner, "sessions", std::slice::from_ref(&row)).await
}

pub async fn session(inner: &Inner, token_hash: &[u8], now: u64) -> Result<Option<Session>> {
    let mut sql = Sql::new(
        "SELECT token_hash, user_name, csrf, created_ns, expires_ns, updated_ns FROM sessions
         WHERE token_hash = ? ORDER BY updated_ns DESC LIMIT 1",
    );
    sql.bind(hex::encode(token_hash));
    let row: Option<SessionRow> = sql
        .query(&inner.client)
        .fetch_optional()
        .await
        .map_err(|e| ch_err("reading a session", e))?;
    let Some(row) = row.filter(|s| s.expires_ns > now) else {
        return Ok(None);
    };
    let Some(user) = live_user(inner, &row.user_name).await? else {
        return Ok(None);
    };
    if row.created_ns < user.sessions_after_ns {
        return Ok(None);
    }
    Ok(Some(Session {
        user: row.user_name,
        csrf: row.csrf,
        created_at_unix_nano: row.created_ns,
        expires_at_unix_nano: row.expires_ns,
    }))
}

pub async fn delete_session(inner: &Inner, token_hash: &[u8]) -> Result<()> {
    let row = SessionRow {
        token_hash: hex::encode(token_hash),
        user_name: String::new(),
        csrf: String::new(),
        created_ns: 0,
        expires_ns: 0,
        updated_ns: now_ns(),
    };
    insert_all(inner, "sessions", std::slice::from_ref(&row)).await
}
