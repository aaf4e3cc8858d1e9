//! Signals evaluated as spans arrive, measured two ways: what they cost ingest ([`cost`]: the
//! same binary with and without `--no-signals`, in alternating runs) and how soon an each-run
//! alert reaches a webhook while the server takes a steady load ([`alerts`]).

pub mod alerts;
pub mod cost;

use std::time::{Duration, Instant};

use crate::procfs;

/// The server's CPU seconds once it has gone quiet (at most 10 ms of CPU over a second), and
/// when it last used more, waiting at most `limit`. A run is evaluated 200 ms or more after its
/// batches arrive, so a server can look idle for a moment between the last acknowledgement and the
/// evaluations; a second of quiet covers that.
pub(crate) async fn settled_cpu(pid: u32, limit: Duration) -> (f64, Instant) {
    const STEP: Duration = Duration::from_millis(250);
    const QUIET_STEPS: usize = 4;
    let started = Instant::now();
    let mut samples = vec![(procfs::usage(pid).cpu_seconds, Instant::now())];
    loop {
        tokio::time::sleep(STEP).await;
        samples.push((procfs::usage(pid).cpu_seconds, Instant::now()));
        if samples.len() > QUIET_STEPS {
            let (then, at) = samples[samples.len() - 1 - QUIET_STEPS];
            let (now, _) = samples[samples.len() - 1];
            if now - then <= 0.0105 {
                return (then, at);
            }
        }
        if started.elapsed() > limit {
            let (now, at) = *samples.last().expect("sampled");
            return (now, at);
        }
    }
}

/// The median of `values` (the mean of the middle two for an even count); 0 without values.
pub(crate) fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }
}
