//! Where a copy stands: a small file in the source's data dir, one per target, rewritten
//! after each page the target acknowledged. A copy started again reads it and goes on after
//! the last page it records; a page the target stored but the file does not record yet is
//! sent again, and the target skips what it holds.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The target's address without its password, to tell what the file is about.
    pub target: String,
    /// The rowids up to which the source's spans, log records and metric events are stored
    /// in the target.
    pub spans_after: i64,
    pub logs_after: i64,
    pub metrics_after: i64,
    /// How many rows of each that is (for the progress shown).
    pub spans: u64,
    pub logs: u64,
    pub metrics: u64,
}

impl Checkpoint {
    pub fn new(target: String) -> Checkpoint {
        Checkpoint {
            target,
            ..Checkpoint::default()
        }
    }

    /// `migrate-<hash>.json` in the data dir: the hash of the address without its password,
    /// so a copy to another database keeps its own file, and a changed password does not
    /// start the copy over.
    pub fn path(data_dir: &Path, redacted_target: &str) -> PathBuf {
        let hash = Sha256::digest(redacted_target.as_bytes());
        let short: String = hash[..6].iter().map(|b| format!("{b:02x}")).collect();
        data_dir.join(format!("migrate-{short}.json"))
    }

    pub fn load(path: &Path) -> anyhow::Result<Option<Checkpoint>> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).with_context(|| {
                format!(
                    "reading the checkpoint {} (delete it to copy everything again)",
                    path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Replaces the file whole (a new file renamed over it, both synced): a crash leaves the
    /// old checkpoint or the new one, never a torn one.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let tmp = path.with_extension("json.tmp");
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?)?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)?;
            if let Some(dir) = path.parent() {
                std::fs::File::open(dir)?.sync_all()?;
            }
            Ok(())
        };
        write().with_context(|| format!("writing the checkpoint {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_checkpoints_read_back_and_names_ignore_passwords() {
        let dir = tempfile::tempdir().unwrap();
        let path = Checkpoint::path(dir.path(), "clickhouse://u:***@h:8123/db");
        assert!(Checkpoint::load(&path).unwrap().is_none());
        let cp = Checkpoint {
            spans_after: 42,
            spans: 40,
            ..Checkpoint::new("clickhouse://u:***@h:8123/db".into())
        };
        cp.save(&path).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap(), Some(cp));
        let other = Checkpoint::path(dir.path(), "clickhouse://u:***@h:8123/other");
        assert_ne!(path, other);
        std::fs::write(&path, b"{not json").unwrap();
        assert!(Checkpoint::load(&path).is_err());
    }
}
