//! Percentiles of timed samples.

use std::time::Duration;

use serde::Serialize;

/// Nearest-rank percentiles of a set of durations, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    pub samples: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    /// `None` without samples.
    pub fn of(samples: &[Duration]) -> Option<Latency> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort();
        Some(Latency {
            samples: sorted.len(),
            p50_ms: ms(percentile(&sorted, 50.0)),
            p95_ms: ms(percentile(&sorted, 95.0)),
            p99_ms: ms(percentile(&sorted, 99.0)),
            max_ms: ms(*sorted.last().unwrap()),
        })
    }
}

/// The nearest-rank percentile `p` (0–100] of sorted, non-empty samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|&m| Duration::from_millis(m)).collect()
    }

    #[test]
    fn nearest_rank() {
        let s = millis(&(1..=100).collect::<Vec<_>>());
        assert_eq!(percentile(&s, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&s, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&millis(&[7]), 99.0), Duration::from_millis(7));
    }

    #[test]
    fn latency_sorts_its_samples() {
        let l = Latency::of(&millis(&[30, 10, 20])).unwrap();
        assert_eq!(
            (l.samples, l.p50_ms, l.p99_ms, l.max_ms),
            (3, 20.0, 30.0, 30.0)
        );
        assert!(Latency::of(&[]).is_none());
    }
}
