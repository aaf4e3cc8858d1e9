//! When the sample runs happened: ending one after another over the last hours, the newest
//! a minute ago, so recent-time views and charts show them spread out.

/// The oldest run ends at most this long before now.
const WINDOW_MIN: u64 = 170;
/// The newest run ends this long before now.
const NEWEST_AGO_MS: u64 = 60_000;

const MS: u64 = 1_000_000;

/// Start times (Unix ns) for runs given as (duration in ms, minutes after the previous run
/// ended), in the order they happened. Gaps are shrunk evenly when they add up to more than
/// the window.
pub fn starts(now_ns: u64, runs: &[(u64, u32)]) -> Vec<u64> {
    let gaps: Vec<u64> = runs
        .iter()
        .skip(1)
        .map(|&(_, g)| u64::from(g) * 60_000)
        .collect();
    let total: u64 = gaps.iter().sum();
    let window = WINDOW_MIN * 60_000;
    let scale = |ms: u64| {
        if total > window {
            (u128::from(ms) * u128::from(window) / u128::from(total)) as u64
        } else {
            ms
        }
    };
    let newest_end = now_ns.saturating_sub(NEWEST_AGO_MS * MS);
    let mut ends = vec![newest_end; runs.len()];
    for i in (0..gaps.len()).rev() {
        ends[i] = ends[i + 1].saturating_sub(scale(gaps[i]) * MS);
    }
    ends.iter()
        .zip(runs)
        .map(|(&end, &(duration_ms, _))| end.saturating_sub(duration_ms * MS))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000 * 1_000_000_000;
    const MIN: u64 = 60 * 1_000_000_000;

    #[test]
    fn runs_end_in_order_the_newest_a_minute_ago() {
        let s = starts(NOW, &[(1_000, 0), (2_000, 10), (500, 5)]);
        let ends = [s[0] + 1_000 * MS, s[1] + 2_000 * MS, s[2] + 500 * MS];
        assert_eq!(ends[2], NOW - MIN);
        assert_eq!(ends[1], NOW - 6 * MIN);
        assert_eq!(ends[0], NOW - 16 * MIN);
    }

    #[test]
    fn long_gaps_are_shrunk_into_the_window() {
        let runs: Vec<(u64, u32)> = (0..40).map(|_| (1_000, 30)).collect();
        let s = starts(NOW, &runs);
        let oldest_end = s[0] + 1_000 * MS;
        assert!(oldest_end >= NOW - (WINDOW_MIN + 2) * MIN);
        assert!(s.windows(2).all(|w| w[0] < w[1]));
    }
}
