//! Online backup and restore of the embedded store.
//!
//! A backup is `VACUUM INTO`: one read transaction copies a consistent snapshot of the database,
//! compacted, while the server goes on writing (in WAL mode readers never block the writer).
//! Every batch committed before the copy began is in it, and a batch committed meanwhile is
//! either wholly in it or not at all, spans and run summaries alike. The copy is checked
//! (`PRAGMA quick_check`, Lemma's schema) before it is reported.
//!
//! A restore puts a checked backup in place of a data dir's database: the backup is copied
//! beside it and renamed over it, so a failure part way leaves the old database as it was; the
//! old write-ahead log and shared memory go with it. The server must be stopped meanwhile.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::{schema, sql_err};
use crate::{Result, StoreError};

/// What a backup or a checked database holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub bytes: u64,
    pub projects: u64,
    pub runs: u64,
    pub spans: u64,
}

/// Copies the database at `db` to `out`, a file that must not exist yet, and checks the copy.
pub fn backup(db: &Path, out: &Path) -> Result<Snapshot> {
    if out.exists() {
        return Err(StoreError::Invalid(format!(
            "{} already exists: a backup never overwrites a file, name a new one",
            out.display()
        )));
    }
    let source = read_only(db)?;
    schema::check(&source)?;
    let target = out
        .to_str()
        .ok_or_else(|| StoreError::Invalid(format!("{} is not a UTF-8 path", out.display())))?;
    source
        .execute("VACUUM INTO ?1", [target])
        .map_err(sql_err)?;
    check(out)
}

/// Checks that `file` is a whole Lemma database (not damaged, not empty, not newer than this
/// Lemma) and says what it holds.
pub fn check(file: &Path) -> Result<Snapshot> {
    let not_lemma = |why: &str| {
        StoreError::Invalid(format!("{} is not a Lemma database: {why}", file.display()))
    };
    if !file.is_file() {
        return Err(not_lemma("there is no such file"));
    }
    let conn = read_only(file)?;
    schema::check(&conn).map_err(|e| not_lemma(&e.to_string()))?;
    let ok: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|e| not_lemma(&e.to_string()))?;
    if ok != "ok" {
        return Err(not_lemma(&format!("it is damaged ({ok})")));
    }
    let count = |table: &str| -> Result<u64> {
        conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| {
            r.get::<_, i64>(0)
        })
        .map(|n| n as u64)
        .map_err(|e| not_lemma(&format!("it has no {table} table ({e})")))
    };
    Ok(Snapshot {
        bytes: std::fs::metadata(file).map(|m| m.len()).unwrap_or(0),
        projects: count("projects")?,
        runs: count("runs")?,
        spans: count("spans")?,
    })
}

/// Replaces the database at `db` by the backup at `from` (checked first). A database already
/// there is replaced only when `replace` says so.
pub fn restore(from: &Path, db: &Path, replace: bool) -> Result<Snapshot> {
    let snapshot = check(from)?;
    if db.exists() && !replace {
        return Err(StoreError::Conflict(format!(
            "{} already holds a database: stop the server and pass --replace to put the \
             backup in its place",
            db.display()
        )));
    }
    if let Some(dir) = db.parent() {
        std::fs::create_dir_all(dir).map_err(io_err)?;
    }
    let staged = sibling(db, "restoring");
    std::fs::copy(from, &staged).map_err(io_err)?;
    std::fs::File::open(&staged)
        .and_then(|f| f.sync_all())
        .map_err(io_err)?;
    // The old database's log would be replayed onto the restored one: it goes first.
    for suffix in ["-wal", "-shm"] {
        let stale = sibling(db, suffix);
        if stale.exists() {
            std::fs::remove_file(&stale).map_err(io_err)?;
        }
    }
    std::fs::rename(&staged, db).map_err(io_err)?;
    Ok(snapshot)
}

fn read_only(path: &Path) -> Result<Connection> {
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql_err)
}

/// `lemma.db` → `lemma.db-wal`, `lemma.db.restoring`.
fn sibling(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    if !suffix.starts_with('-') {
        name.push(".");
    }
    name.push(suffix);
    PathBuf::from(name)
}

fn io_err(e: std::io::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}
