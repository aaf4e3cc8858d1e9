//! Opening a store from where it is: the embedded SQLite store in a data dir (the default), or
//! ClickHouse at a `clickhouse://` address.

use std::path::PathBuf;
use std::sync::Arc;

use crate::clickhouse::{redact, ClickHouseStore};
use crate::sqlite::SqliteStore;
use crate::{Result, Store, StoreError};

/// The file the embedded store keeps in its data dir.
pub const DATABASE_FILE: &str = "lemma.db";

#[derive(Debug, Clone, PartialEq)]
pub enum StoreLocation {
    /// SQLite in `data_dir/lemma.db`.
    Embedded { data_dir: PathBuf },
    /// ClickHouse at a `clickhouse://` address.
    ClickHouse { address: String },
}

impl StoreLocation {
    /// `--store` when given (only `clickhouse://` addresses), else the data dir.
    pub fn new(store: Option<&str>, data_dir: PathBuf) -> Result<StoreLocation> {
        match store.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(StoreLocation::Embedded { data_dir }),
            Some(s) if s.starts_with("clickhouse://") => Ok(StoreLocation::ClickHouse {
                address: s.to_string(),
            }),
            Some(s) => Err(StoreError::Invalid(format!(
                "unknown store {:?}: give a clickhouse://[user:password@]host:8123/database \
                 address, or leave --store out for the embedded store in --data-dir",
                redact(s)
            ))),
        }
    }

    /// Where the store is, for messages (never a password).
    pub fn describe(&self) -> String {
        match self {
            StoreLocation::Embedded { data_dir } => format!("data in {}", data_dir.display()),
            StoreLocation::ClickHouse { address } => format!("store {}", redact(address)),
        }
    }

    /// What is opened, for errors: the database file, or the ClickHouse address.
    pub fn database(&self) -> String {
        match self {
            StoreLocation::Embedded { data_dir } => {
                data_dir.join(DATABASE_FILE).display().to_string()
            }
            StoreLocation::ClickHouse { address } => redact(address),
        }
    }

    /// Opens the store, creating it (a data dir and database, or ClickHouse's tables) if new.
    pub async fn open(&self) -> Result<Arc<dyn Store>> {
        match self {
            StoreLocation::Embedded { data_dir } => {
                std::fs::create_dir_all(data_dir).map_err(|e| {
                    StoreError::Invalid(format!(
                        "cannot create the data dir {}: {e}",
                        data_dir.display()
                    ))
                })?;
                Ok(Arc::new(SqliteStore::open(data_dir.join(DATABASE_FILE))?))
            }
            StoreLocation::ClickHouse { address } => {
                Ok(Arc::new(ClickHouseStore::open(address).await?))
            }
        }
    }
}
