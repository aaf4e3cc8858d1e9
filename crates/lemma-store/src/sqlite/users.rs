//! Users, their roles per project, and their sessions.

use rusqlite::{params, Connection, OptionalExtension};

use super::admin::{now_ns, project_row};
use super::sql_err;
use crate::users::check_user_name;
use crate::{Member, Membership, ProjectId, Result, Role, Session, StoreError, User};

fn role(name: &str) -> Role {
    // A role this version does not know grants the least.
    Role::parse(name).unwrap_or(Role::Viewer)
}

pub fn create_user(conn: &Connection, name: &str, password_hash: &str) -> Result<User> {
    let name = check_user_name(name)?;
    let created = now_ns();
    let n = conn
        .execute(
            "INSERT INTO users (name, password_hash, created_ns) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO NOTHING",
            params![name, password_hash, created as i64],
        )
        .map_err(sql_err)?;
    if n == 0 {
        return Err(StoreError::Conflict(format!("user {name:?}")));
    }
    Ok(User {
        name: name.to_string(),
        created_at_unix_nano: created,
    })
}

pub fn list_users(conn: &Connection) -> Result<Vec<User>> {
    let mut stmt = conn
        .prepare("SELECT name, created_ns FROM users ORDER BY name")
        .map_err(sql_err)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(User {
                name: r.get(0)?,
                created_at_unix_nano: r.get::<_, i64>(1)? as u64,
            })
        })
        .map_err(sql_err)?;
    rows.collect::<rusqlite::Result<_>>().map_err(sql_err)
}

pub fn password_hash(conn: &Connection, user: &str) -> Result<Option<String>> {
    conn.query_row(
        "SELECT password_hash FROM users WHERE name = ?1",
        [user],
        |r| r.get(0),
    )
    .optional()
    .map_err(sql_err)
}

pub fn set_password(conn: &mut Connection, user: &str, password_hash: &str) -> Result<bool> {
    let tx = conn.transaction().map_err(sql_err)?;
    let n = tx
        .execute(
            "UPDATE users SET password_hash = ?2 WHERE name = ?1",
            params![user, password_hash],
        )
        .map_err(sql_err)?;
    tx.execute("DELETE FROM sessions WHERE user_name = ?1", [user])
        .map_err(sql_err)?;
    tx.commit().map_err(sql_err)?;
    Ok(n > 0)
}

pub fn delete_user(conn: &mut Connection, user: &str) -> Result<bool> {
    let tx = conn.transaction().map_err(sql_err)?;
    let n = tx
        .execute("DELETE FROM users WHERE name = ?1", [user])
        .map_err(sql_err)?;
    for table in ["memberships", "sessions"] {
        tx.execute(&format!("DELETE FROM {table} WHERE user_name = ?1"), [user])
            .map_err(sql_err)?;
    }
    tx.commit().map_err(sql_err)?;
    Ok(n > 0)
}

pub fn set_role(
    conn: &Connection,
    user: &str,
    project: ProjectId,
    role: Option<Role>,
) -> Result<()> {
    if password_hash(conn, user)?.is_none() {
        return Err(StoreError::NotFound(format!("user {user:?}")));
    }
    match role {
        Some(role) => conn.execute(
            "INSERT INTO memberships (user_name, project_id, role) VALUES (?1, ?2, ?3)
             ON CONFLICT (user_name, project_id) DO UPDATE SET role = excluded.role",
            params![user, project.0, role.name()],
        ),
        None => conn.execute(
            "DELETE FROM memberships WHERE user_name = ?1 AND project_id = ?2",
            params![user, project.0],
        ),
    }
    .map_err(sql_err)?;
    Ok(())
}

pub fn memberships(conn: &Connection, user: &str) -> Result<Vec<Membership>> {
    let mut stmt = conn
        .prepare(
            "SELECT p.id, p.name, p.created_ns, m.role FROM memberships m
             JOIN projects p ON p.id = m.project_id WHERE m.user_name = ?1 ORDER BY p.name",
        )
        .map_err(sql_err)?;
    let rows = stmt
        .query_map([user], |r| {
            Ok(Membership {
                project: project_row(r)?,
                role: role(&r.get::<_, String>(3)?),
            })
        })
        .map_err(sql_err)?;
    rows.collect::<rusqlite::Result<_>>().map_err(sql_err)
}

pub fn members(conn: &Connection, project: ProjectId) -> Result<Vec<Member>> {
    let mut stmt = conn
        .prepare("SELECT user_name, role FROM memberships WHERE project_id = ?1 ORDER BY user_name")
        .map_err(sql_err)?;
    let rows = stmt
        .query_map([project.0], |r| {
            Ok(Member {
                user: r.get(0)?,
                role: role(&r.get::<_, String>(1)?),
            })
        })
        .map_err(sql_err)?;
    rows.collect::<rusqlite::Result<_>>().map_err(sql_err)
}

pub fn create_session(conn: &Connection, token_hash: &[u8], session: &Session) -> Result<()> {
    conn.execute(
        "INSERT INTO sessions (token_hash, user_name, csrf, created_ns, expires_ns)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            token_hash,
            session.user,
            session.csrf,
            session.created_at_unix_nano as i64,
            session.expires_at_unix_nano as i64
        ],
    )
    .map_err(sql_err)?;
    Ok(())
}

pub fn session(conn: &Connection, token_hash: &[u8], now: u64) -> Result<Option<Session>> {
    conn.query_row(
        "SELECT s.user_name, s.csrf, s.created_ns, s.expires_ns FROM sessions s
         JOIN users u ON u.name = s.user_name WHERE s.token_hash = ?1 AND s.expires_ns > ?2",
        params![token_hash, now as i64],
        |r| {
            Ok(Session {
                user: r.get(0)?,
                csrf: r.get(1)?,
                created_at_unix_nano: r.get::<_, i64>(2)? as u64,
                expires_at_unix_nano: r.get::<_, i64>(3)? as u64,
            })
        },
    )
    .optional()
    .map_err(sql_err)
}

pub fn delete_session(conn: &Connection, token_hash: &[u8]) -> Result<()> {
    conn.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])
        .map_err(sql_err)?;
    Ok(())
}
