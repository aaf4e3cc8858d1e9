//! What a server process used, read from /proc: peak resident memory and CPU time, summed over
//! the process and its descendants (a server may run workers).

use std::fs;
use std::path::Path;

use serde::Serialize;

/// Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on every Linux platform).
const TICKS_PER_SECOND: f64 = 100.0;

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Usage {
    /// Sum of the processes' peak resident set sizes (VmHWM).
    pub peak_rss_bytes: u64,
    /// User plus system CPU time.
    pub cpu_seconds: f64,
}

/// The usage of `pid` and its descendants so far; zero for processes that are gone.
pub fn usage(pid: u32) -> Usage {
    let mut total = Usage::default();
    for p in tree(pid) {
        let dir = Path::new("/proc").join(p.to_string());
        if let Ok(status) = fs::read_to_string(dir.join("status")) {
            total.peak_rss_bytes += peak_rss(&status).unwrap_or(0);
        }
        if let Ok(stat) = fs::read_to_string(dir.join("stat")) {
            total.cpu_seconds += cpu_seconds(&stat).unwrap_or(0.0);
        }
    }
    total
}

/// `pid` and every process descending from it.
fn tree(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let p: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = fs::read_to_string(e.path().join("stat")).ok()?;
            Some((p, stat_field(&stat, 4)?.parse().ok()?))
        })
        .collect();
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        let parent = out[i];
        out.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    out
}

/// VmHWM from /proc/<pid>/status, in bytes.
pub fn peak_rss(status: &str) -> Option<u64> {
    status_kb(status, "VmHWM:")
}

/// What `pid` holds resident now (VmRSS), in bytes; its peak so far hides a phase's own peak.
pub fn current_rss(pid: u32) -> Option<u64> {
    status_kb(
        &fs::read_to_string(format!("/proc/{pid}/status")).ok()?,
        "VmRSS:",
    )
}

/// Runs `work` while sampling what `pid` holds resident every `every`; returns its output and
/// the most seen (at least the resident memory when it started).
pub async fn peak_rss_during<F: std::future::Future>(
    pid: u32,
    every: std::time::Duration,
    work: F,
) -> (F::Output, u64) {
    let mut peak = current_rss(pid).unwrap_or(0);
    tokio::pin!(work);
    loop {
        tokio::select! {
            out = &mut work => return (out, peak.max(current_rss(pid).unwrap_or(0))),
            _ = tokio::time::sleep(every) => {
                peak = peak.max(current_rss(pid).unwrap_or(0));
            }
        }
    }
}

/// CPU seconds every core of the machine has spent busy since boot (everything in the first
/// line of /proc/stat but idle and iowait): with a process's own time, what else ran meanwhile.
pub fn machine_busy_seconds() -> f64 {
    fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| busy_ticks(&s))
        .map_or(0.0, |t| t as f64 / TICKS_PER_SECOND)
}

fn busy_ticks(stat: &str) -> Option<u64> {
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal (guest times are already in user).
    let busy = fields
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4);
    Some(busy.map(|(_, t)| t).sum())
}

fn status_kb(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// utime + stime from /proc/<pid>/stat, in seconds.
pub fn cpu_seconds(stat: &str) -> Option<f64> {
    let utime: f64 = stat_field(stat, 14)?.parse().ok()?;
    let stime: f64 = stat_field(stat, 15)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SECOND)
}

/// Field `n` (1-based, as in proc(5)) of a stat line; the command name may hold spaces, so
/// fields are counted from its closing parenthesis.
fn stat_field(stat: &str, n: usize) -> Option<&str> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(n - 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (lemma serve) S 1 4242 4242 0 -1 4194560 5000 0 0 0 250 75 0 0 20 0 9 0 100 1000000 2000 18446744073709551615";

    #[test]
    fn reads_cpu_time_past_a_command_with_spaces() {
        assert_eq!(cpu_seconds(STAT), Some(3.25));
        assert_eq!(stat_field(STAT, 3), Some("S"));
        assert_eq!(stat_field(STAT, 4), Some("1"));
    }

    #[test]
    fn reads_peak_rss() {
        let status = "Name:\tlemma\nVmPeak:\t  900 kB\nVmHWM:\t  2048 kB\nVmRSS:\t 1024 kB\n";
        assert_eq!(peak_rss(status), Some(2 * 1024 * 1024));
        assert_eq!(peak_rss("Name:\tx\n"), None);
    }

    #[test]
    fn busy_leaves_out_idle_and_iowait() {
        let stat = "cpu  100 5 50 9000 40 3 2 1 0 0\ncpu0 50 2 25 4500 20 1 1 0 0 0\n";
        assert_eq!(busy_ticks(stat), Some(161));
        assert_eq!(busy_ticks("intr 1 2 3"), None);
    }

    #[test]
    fn this_process_uses_memory() {
        let u = usage(std::process::id());
        assert!(u.peak_rss_bytes > 0);
    }
}
