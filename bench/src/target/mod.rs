//! The systems under test, driven as black boxes over their network APIs: each starts its
//! server on loopback with a fresh data dir, says where OTLP goes, answers the query set, and
//! tells whether a run has become visible.

pub mod lemma;
pub mod phoenix;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use async_trait::async_trait;
use reqwest::header::HeaderMap;

use crate::queries::{Answer, Query};
use crate::workload::RunInfo;

#[async_trait]
pub trait Target: Send + Sync {
    fn name(&self) -> &'static str;
    /// The OTLP/HTTP traces endpoint.
    fn otlp_url(&self) -> String;
    /// Headers every OTLP request carries (content type, credentials).
    fn otlp_headers(&self) -> HeaderMap;
    /// Whether a 200 to an export means its spans are durably stored.
    fn durable_acks(&self) -> bool;
    /// How often to ask whether a run is visible yet.
    fn poll_interval(&self) -> Duration;
    fn server(&self) -> &Server;
    /// A database server the target stores in, apart from `server` (ClickHouse), whose
    /// usage is reported beside the server's.
    fn store_process(&self) -> Option<u32> {
        None
    }
    /// Whether the whole run (every span, the root included) can be read back.
    async fn is_visible(&self, run: &RunInfo) -> Result<bool>;
    /// Bytes its data takes on disk: by default everything under the server's data dir.
    async fn stored_bytes(&self) -> Result<u64> {
        Ok(disk_bytes(self.server().data_dir()))
    }
    async fn ask(&self, query: &Query) -> Result<Answer>;
}

/// A server process with its own temporary data dir; stopped (SIGTERM, then killed after
/// 30 s) on drop, and its data removed unless it is kept for inspection.
pub struct Server {
    child: Child,
    data_dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

impl Server {
    /// Spawns `command` (which must take its data dir from the caller's arguments or
    /// environment) with stdout piped; returns once `ready` accepts a line it printed, with
    /// that line.
    fn spawn(
        mut command: Command,
        tmp: tempfile::TempDir,
        keep: bool,
        data_dir: PathBuf,
        ready: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> Result<(Server, String)> {
        let program = format!("{:?}", command.get_program());
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {program}"))?;
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let tmp = if keep {
            eprintln!(
                "keeping {} and its data in {}",
                program,
                tmp.keep().display()
            );
            None
        } else {
            Some(tmp)
        };
        let server = Server {
            child,
            data_dir,
            _tmp: tmp,
        };
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let wait = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(wait) {
                Ok(line) if ready(&line) => return Ok((server, line)),
                Ok(_) => {}
                Err(_) => bail!("{program} did not say it is ready within {timeout:?}"),
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the process now (SIGTERM, then killed after 30 s) rather than when dropped.
    pub fn stop(&mut self) {
        stop(&mut self.child);
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

fn stop(child: &mut Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Bytes the files under `dir` occupy on disk (allocated blocks, not apparent sizes).
pub fn disk_bytes(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => disk_bytes(&e.path()),
            Ok(m) => m.blocks() * 512,
            Err(_) => 0,
        })
        .sum()
}

/// A loopback port nothing listens on right now.
fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Unix nanoseconds as RFC 3339 (UTC, whole seconds, as both APIs accept).
pub fn rfc3339(unix_nano: u64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp((unix_nano / 1_000_000_000) as i64)
        .expect("a time within range");
    t.format(&time::format_description::well_known::Rfc3339)
        .expect("formattable")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_drops_fractions() {
        assert_eq!(rfc3339(1_700_000_000_900_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn disk_bytes_counts_nested_files() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("sub")).unwrap();
        std::fs::write(tmp.path().join("a"), vec![1u8; 10_000]).unwrap();
        std::fs::write(tmp.path().join("sub/b"), vec![1u8; 10_000]).unwrap();
        assert!(disk_bytes(tmp.path()) >= 20_000);
    }
}
