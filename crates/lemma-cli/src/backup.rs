//! `lemma backup` and `lemma restore`: the embedded store copied while the server runs, and put
//! back (`lemma_store::sqlite::backup`).

use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::Args;
use lemma_store::sqlite::backup::{self, Snapshot};
use lemma_store::{StoreLocation, DATABASE_FILE};

use crate::DataDir;

#[derive(Args)]
pub struct BackupArgs {
    /// The file to write (it must not exist yet).
    #[arg(long, short)]
    out: PathBuf,
    #[command(flatten)]
    data: DataDir,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// A file `lemma backup` wrote.
    from: PathBuf,
    /// Replace the database the data dir holds (stop the server first).
    #[arg(long)]
    replace: bool,
    #[command(flatten)]
    data: DataDir,
}

/// The data dir's database; ClickHouse keeps its own backups.
fn database(data: &DataDir) -> anyhow::Result<PathBuf> {
    match data.location()? {
        StoreLocation::Embedded { data_dir } => Ok(data_dir.join(DATABASE_FILE)),
        StoreLocation::ClickHouse { .. } => bail!(
            "lemma backup and restore copy the embedded store; back up ClickHouse with its own \
             tools (BACKUP ... TO, or clickhouse-backup)"
        ),
    }
}

pub fn run_backup(args: BackupArgs) -> anyhow::Result<()> {
    let db = database(&args.data)?;
    if !db.is_file() {
        bail!(
            "{} holds no Lemma database to back up: name the server's folder with --data-dir",
            args.data.data_dir.display()
        );
    }
    let snapshot = backup::backup(&db, &args.out)?;
    println!(
        "Backed up {} to {}.",
        describe(&snapshot),
        args.out.display()
    );
    Ok(())
}

pub fn run_restore(args: RestoreArgs) -> anyhow::Result<()> {
    let db = database(&args.data)?;
    let snapshot = backup::restore(&args.from, &db, args.replace)?;
    println!(
        "Restored {} into {}. Start the server on it: lemma serve{}",
        describe(&snapshot),
        folder(&db).display(),
        args.data.flags()
    );
    Ok(())
}

fn folder(db: &Path) -> &Path {
    db.parent().unwrap_or(db)
}

fn describe(s: &Snapshot) -> String {
    format!(
        "{} projects, {} runs and {} spans ({:.1} MB)",
        s.projects,
        s.runs,
        s.spans,
        s.bytes as f64 / 1e6
    )
}
