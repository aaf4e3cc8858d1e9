//! Aggregate statistics over runs: totals, a time series, and breakdowns by agent and model, for
//! the dashboard's Stats page and the stats API.
//!
//! Pure: a store selects the runs (its filter and the time range) and feeds their summaries to
//! an [`Aggregator`] one at a time, so it never holds more than the durations percentiles need.
//!
//! Conventions:
//! - a run counts in the bucket its start falls in, and only if it starts in `[from, to)`;
//! - a run is an error when its status is `error` (its root failed);
//! - latency percentiles use the nearest-rank method over run durations: the p-th percentile of
//!   n sorted durations is the one at rank `ceil(p / 100 × n)` (1-based), always a duration
//!   that occurred;
//! - tokens and cost are the runs' own totals (each model call counted once); a cost is `None`
//!   when no run in the group had one;
//! - buckets are aligned to multiples of their width from the unix epoch, so the same instant
//!   falls in the same bucket whatever range is asked for.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::{Deserialize, Serialize};

pub use crate::metrics::MetricStats;
use crate::model::StatusCode;
use crate::run::Run;

const NANOS_PER_SECOND: u64 = 1_000_000_000;

/// The most buckets a series may have.
pub const MAX_BUCKETS: u64 = 1_000;

/// The bucket widths [`pick_bucket`] chooses from, in seconds: 1m, 5m, 15m, 30m, 1h, 3h, 6h,
/// 12h, 1d, 7d.
pub const NICE_BUCKETS: [u64; 10] = [
    60, 300, 900, 1_800, 3_600, 10_800, 21_600, 43_200, 86_400, 604_800,
];

/// How many buckets [`pick_bucket`] aims for at most.
pub const TARGET_BUCKETS: u64 = 60;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Unix nanoseconds, inclusive.
    pub from: u64,
    /// Unix nanoseconds, exclusive.
    pub to: u64,
    pub bucket_seconds: u64,
    pub totals: Totals,
    /// One entry per bucket covering the whole range, empty buckets included, oldest first.
    pub series: Vec<Bucket>,
    /// Most runs first.
    pub by_agent: Vec<AgentStats>,
    /// Most tokens first.
    pub by_model: Vec<ModelStats>,
    /// Metric events of the runs, by name, most frequent first (filled in by the store, which
    /// reads them apart from run summaries).
    #[serde(default)]
    pub by_metric: Vec<MetricStats>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Totals {
    pub runs: u64,
    pub errors: u64,
    /// `errors / runs`, 0 without runs.
    pub error_rate: f64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub total_tokens: u64,
    pub cost_usd: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = StatsBucket))]
pub struct Bucket {
    /// Unix nanoseconds; the bucket is `[start, start + bucket_seconds)`.
    pub start: u64,
    pub runs: u64,
    pub errors: u64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub total_tokens: u64,
    pub cost_usd: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentStats {
    /// The runs' agent, as `agent:` finds them; `null` for the runs without one
    /// (`-has:agent` finds those).
    pub agent: Option<String>,
    pub runs: u64,
    pub errors: u64,
    pub error_rate: f64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub total_tokens: u64,
    pub cost_usd: Option<f64>,
}

/// A model (and provider) across runs, from the runs' `usage_by_model`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelStats {
    /// The model; a dated snapshot (`gpt-4o-2024-08-06`) counts under its model (`gpt-4o`).
    pub model: String,
    pub provider: Option<String>,
    /// The snapshot ids counted under `model`, when calls reported one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snapshots: Vec<String>,
    pub calls: u64,
    /// Runs that used it.
    pub runs: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub total_tokens: u64,
    pub cost_usd: Option<f64>,
}

/// Why a range cannot be aggregated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeError {
    /// `from` is not before `to`.
    Empty,
    ZeroBucket,
    /// More than [`MAX_BUCKETS`] buckets.
    TooManyBuckets(u64),
}

impl fmt::Display for RangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RangeError::Empty => write!(f, "the time range must end after it starts"),
            RangeError::ZeroBucket => write!(f, "the bucket width must be at least one second"),
            RangeError::TooManyBuckets(n) => write!(
                f,
                "the range holds {n} buckets, more than {MAX_BUCKETS}: use a wider bucket or a shorter range"
            ),
        }
    }
}

impl std::error::Error for RangeError {}

/// How many aligned buckets of `bucket_seconds` cover `[from, to)` (0 for an empty range).
pub fn bucket_count(from: u64, to: u64, bucket_seconds: u64) -> u64 {
    let width = u128::from(bucket_seconds.max(1)) * u128::from(NANOS_PER_SECOND);
    if from >= to {
        return 0;
    }
    let first = u128::from(from) / width;
    let last = (u128::from(to) - 1) / width;
    u64::try_from(last - first + 1).unwrap_or(u64::MAX)
}

/// Checks that a range can be aggregated with this bucket width; returns its bucket count.
pub fn check_range(from: u64, to: u64, bucket_seconds: u64) -> Result<u64, RangeError> {
    if from >= to {
        return Err(RangeError::Empty);
    }
    if bucket_seconds == 0 {
        return Err(RangeError::ZeroBucket);
    }
    match bucket_count(from, to, bucket_seconds) {
        n if n > MAX_BUCKETS => Err(RangeError::TooManyBuckets(n)),
        n => Ok(n),
    }
}

/// The smallest of [`NICE_BUCKETS`] giving at most [`TARGET_BUCKETS`] buckets over the range;
/// for ranges too long even for weeks, a whole number of weeks that does.
pub fn pick_bucket(from: u64, to: u64) -> u64 {
    if let Some(&w) = NICE_BUCKETS
        .iter()
        .find(|&&w| bucket_count(from, to, w) <= TARGET_BUCKETS)
    {
        return w;
    }
    let week = NICE_BUCKETS[NICE_BUCKETS.len() - 1];
    let span_seconds = to.saturating_sub(from) / NANOS_PER_SECOND;
    // One bucket fewer than the target leaves room for the misaligned ends.
    let weeks = span_seconds.div_ceil(week * (TARGET_BUCKETS - 1)).max(1);
    week.saturating_mul(weeks)
}

/// Nearest-rank percentile (`p` in 1..=100) of ascending-sorted values.
fn percentile(sorted: &[f64], p: u64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len() as u64;
    let rank = (p * n).div_ceil(100).max(1);
    Some(sorted[(rank - 1) as usize])
}

fn add_cost(sum: &mut Option<f64>, cost: Option<f64>) {
    if let Some(c) = cost {
        *sum = Some(sum.unwrap_or(0.0) + c);
    }
}

fn rate(errors: u64, runs: u64) -> f64 {
    if runs == 0 {
        0.0
    } else {
        errors as f64 / runs as f64
    }
}

/// Runs, errors, durations, tokens and cost of one group of runs.
#[derive(Default)]
struct Group {
    runs: u64,
    errors: u64,
    durations: Vec<f64>,
    input_tokens: u64,
    output_tokens: u64,
    total_tokens: u64,
    cost_usd: Option<f64>,
}

impl Group {
    fn add(&mut self, run: &Run) {
        self.runs += 1;
        if run.status == StatusCode::Error {
            self.errors += 1;
        }
        self.durations.push(run.duration_ms);
        self.input_tokens = self.input_tokens.saturating_add(run.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(run.output_tokens);
        self.total_tokens = self.total_tokens.saturating_add(run.total_tokens);
        add_cost(&mut self.cost_usd, run.cost_usd);
    }

    /// Sorts the durations once so the percentiles can be read.
    fn sorted(mut self) -> Group {
        self.durations.sort_by(f64::total_cmp);
        self
    }
}

#[derive(Default)]
struct ModelGroup {
    /// The model ids counted here other than the group's own (its dated snapshots).
    snapshots: std::collections::BTreeSet<String>,
    calls: u64,
    runs: u64,
    input_tokens: u64,
    output_tokens: u64,
    total_tokens: u64,
    cost_usd: Option<f64>,
}

/// Folds run summaries into [`Stats`] one at a time.
pub struct Aggregator {
    from: u64,
    to: u64,
    bucket_seconds: u64,
    /// Start of the first bucket.
    origin: u64,
    buckets: Vec<Group>,
    agents: HashMap<Option<String>, Group>,
    models: BTreeMap<(String, Option<String>), ModelGroup>,
}

impl Aggregator {
    /// An aggregator over `[from, to)`. The range should pass [`check_range`]; an empty range
    /// gives no buckets, and a zero width is taken as one second.
    pub fn new(from: u64, to: u64, bucket_seconds: u64) -> Aggregator {
        let bucket_seconds = bucket_seconds.max(1);
        let width = bucket_seconds.saturating_mul(NANOS_PER_SECOND);
        let count = bucket_count(from, to, bucket_seconds).min(MAX_BUCKETS);
        Aggregator {
            from,
            to,
            bucket_seconds,
            origin: from - from % width,
            buckets: (0..count).map(|_| Group::default()).collect(),
            agents: HashMap::new(),
            models: BTreeMap::new(),
        }
    }

    /// Counts a run; runs starting outside the range are ignored.
    pub fn add(&mut self, run: &Run) {
        let start = run.start_time_unix_nano;
        if start < self.from || start >= self.to {
            return;
        }
        let width = self.bucket_seconds.saturating_mul(NANOS_PER_SECOND);
        let index = ((start - self.origin) / width) as usize;
        let Some(bucket) = self.buckets.get_mut(index) else {
            return;
        };
        bucket.add(run);
        self.agents
            .entry(run.agent_name.clone())
            .or_default()
            .add(run);
        let mut seen = Vec::new();
        for m in &run.usage_by_model {
            // A dated snapshot counts under its model, as `model:` finds it.
            let family = crate::pricing::model_family(&m.model);
            let key = (family.to_string(), m.provider.clone());
            let g = self.models.entry(key.clone()).or_default();
            if family != m.model {
                g.snapshots.insert(m.model.clone());
            }
            if !seen.contains(&key) {
                g.runs += 1;
                seen.push(key);
            }
            g.calls = g.calls.saturating_add(m.calls);
            g.input_tokens = g.input_tokens.saturating_add(m.input_tokens);
            g.output_tokens = g.output_tokens.saturating_add(m.output_tokens);
            g.total_tokens = g.total_tokens.saturating_add(m.total_tokens);
            add_cost(&mut g.cost_usd, m.cost_usd);
        }
    }

    pub fn finish(self) -> Stats {
        let width = self.bucket_seconds.saturating_mul(NANOS_PER_SECOND);
        let buckets: Vec<Group> = self.buckets.into_iter().map(Group::sorted).collect();

        let mut all = Group::default();
        for b in &buckets {
            all.runs += b.runs;
            all.errors += b.errors;
            all.durations.extend_from_slice(&b.durations);
            all.input_tokens = all.input_tokens.saturating_add(b.input_tokens);
            all.output_tokens = all.output_tokens.saturating_add(b.output_tokens);
            all.total_tokens = all.total_tokens.saturating_add(b.total_tokens);
            add_cost(&mut all.cost_usd, b.cost_usd);
        }
        let all = all.sorted();
        let totals = Totals {
            runs: all.runs,
            errors: all.errors,
            error_rate: rate(all.errors, all.runs),
            p50_ms: percentile(&all.durations, 50),
            p95_ms: percentile(&all.durations, 95),
            p99_ms: percentile(&all.durations, 99),
            input_tokens: all.input_tokens,
            output_tokens: all.output_tokens,
            total_tokens: all.total_tokens,
            cost_usd: all.cost_usd,
        };

        let series = buckets
            .iter()
            .enumerate()
            .map(|(i, b)| Bucket {
                start: self.origin.saturating_add((i as u64).saturating_mul(width)),
                runs: b.runs,
                errors: b.errors,
                p50_ms: percentile(&b.durations, 50),
                p95_ms: percentile(&b.durations, 95),
                total_tokens: b.total_tokens,
                cost_usd: b.cost_usd,
            })
            .collect();

        let mut by_agent: Vec<AgentStats> = self
            .agents
            .into_iter()
            .map(|(agent, g)| {
                let g = g.sorted();
                AgentStats {
                    agent,
                    runs: g.runs,
                    errors: g.errors,
                    error_rate: rate(g.errors, g.runs),
                    p50_ms: percentile(&g.durations, 50),
                    p95_ms: percentile(&g.durations, 95),
                    total_tokens: g.total_tokens,
                    cost_usd: g.cost_usd,
                }
            })
            .collect();
        // Most runs first, then by name; the runs without an agent last among equals.
        by_agent.sort_by(|a, b| {
            b.runs
                .cmp(&a.runs)
                .then_with(|| a.agent.is_none().cmp(&b.agent.is_none()))
                .then_with(|| a.agent.cmp(&b.agent))
        });

        let mut by_model: Vec<ModelStats> = self
            .models
            .into_iter()
            .map(|((model, provider), g)| ModelStats {
                model,
                provider,
                snapshots: g.snapshots.into_iter().collect(),
                calls: g.calls,
                runs: g.runs,
                input_tokens: g.input_tokens,
                output_tokens: g.output_tokens,
                total_tokens: g.total_tokens,
                cost_usd: g.cost_usd,
            })
            .collect();
        // Stable: equal totals stay in (model, provider) order.
        by_model.sort_by_key(|m| std::cmp::Reverse(m.total_tokens));

        Stats {
            from: self.from,
            to: self.to,
            bucket_seconds: self.bucket_seconds,
            totals,
            series,
            by_agent,
            by_model,
            by_metric: Vec::new(),
        }
    }
}

/// [`Stats`] of the runs starting in `[from, to)`, in buckets of `bucket_seconds`.
pub fn aggregate<'a>(
    from: u64,
    to: u64,
    bucket_seconds: u64,
    runs: impl IntoIterator<Item = &'a Run>,
) -> Stats {
    let mut agg = Aggregator::new(from, to, bucket_seconds);
    for run in runs {
        agg.add(run);
    }
    agg.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::ModelUsage;

    const S: u64 = NANOS_PER_SECOND;
    const H: u64 = 3_600 * S;
    /// 2025-01-01T00:00:00Z, a multiple of every nice width but a week.
    const T0: u64 = 1_735_689_600 * S;

    fn run(id: &str, agent: Option<&str>, start: u64, ms: f64) -> Run {
        Run {
            run_id: id.into(),
            name: format!("name-{id}"),
            agent_name: agent.map(Into::into),
            status: StatusCode::Ok,
            start_time_unix_nano: start,
            end_time_unix_nano: start + (ms * 1e6) as u64,
            duration_ms: ms,
            ..Run::default()
        }
    }

    fn model(
        name: &str,
        provider: Option<&str>,
        calls: u64,
        tokens: u64,
        cost: Option<f64>,
    ) -> ModelUsage {
        ModelUsage {
            model: name.into(),
            provider: provider.map(Into::into),
            calls,
            input_tokens: tokens - tokens / 4,
            output_tokens: tokens / 4,
            total_tokens: tokens,
            cost_usd: cost,
            ..ModelUsage::default()
        }
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&v, 50), Some(5.0));
        assert_eq!(percentile(&v, 95), Some(10.0));
        assert_eq!(percentile(&v, 99), Some(10.0));
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50), Some(50.0));
        assert_eq!(percentile(&v, 95), Some(95.0));
        assert_eq!(percentile(&v, 99), Some(99.0));
        assert_eq!(percentile(&[7.0], 50), Some(7.0));
        assert_eq!(percentile(&[7.0], 99), Some(7.0));
        assert_eq!(
            percentile(&[1.0, 2.0], 50),
            Some(1.0),
            "rank ceil(0.5 × 2) = 1"
        );
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn totals_series_and_error_rate() {
        let mut runs = vec![
            run("a", Some("support"), T0 + 10 * 60 * S, 400.0),
            run("b", Some("support"), T0 + 20 * 60 * S, 100.0),
            run("c", Some("billing"), T0 + 2 * H + 5 * S, 300.0),
            run("d", None, T0 + 2 * H + 6 * S, 200.0),
        ];
        runs[1].status = StatusCode::Error;
        runs[1].error_count = 3;
        runs[2].error_count = 1; // a failed span under an ok root is not a failed run
        runs[0].total_tokens = 100;
        runs[0].input_tokens = 80;
        runs[0].output_tokens = 20;
        runs[2].total_tokens = 50;
        runs[0].cost_usd = Some(0.25);
        runs[3].cost_usd = Some(0.5);
        let stats = aggregate(T0, T0 + 3 * H, 3_600, &runs);

        let t = &stats.totals;
        assert_eq!((t.runs, t.errors), (4, 1));
        assert_eq!(t.error_rate, 0.25);
        // Sorted: 100, 200, 300, 400.
        assert_eq!(
            (t.p50_ms, t.p95_ms, t.p99_ms),
            (Some(200.0), Some(400.0), Some(400.0))
        );
        assert_eq!(
            (t.input_tokens, t.output_tokens, t.total_tokens),
            (80, 20, 150)
        );
        assert!(close(t.cost_usd, 0.75));

        let starts: Vec<u64> = stats.series.iter().map(|b| b.start).collect();
        assert_eq!(starts, [T0, T0 + H, T0 + 2 * H]);
        let counts: Vec<(u64, u64)> = stats.series.iter().map(|b| (b.runs, b.errors)).collect();
        assert_eq!(counts, [(2, 1), (0, 0), (2, 0)]);
        let first = &stats.series[0];
        assert_eq!((first.p50_ms, first.p95_ms), (Some(100.0), Some(400.0)));
        assert_eq!(first.total_tokens, 100);
        assert!(close(first.cost_usd, 0.25));
        let empty = &stats.series[1];
        assert_eq!(
            (empty.p50_ms, empty.total_tokens, empty.cost_usd),
            (None, 0, None)
        );
        assert!(close(stats.series[2].cost_usd, 0.5));

        let agents: Vec<(Option<&str>, u64, u64)> = stats
            .by_agent
            .iter()
            .map(|a| (a.agent.as_deref(), a.runs, a.errors))
            .collect();
        assert_eq!(
            agents,
            [
                (Some("support"), 2, 1),
                (Some("billing"), 1, 0),
                (None, 1, 0)
            ],
            "most runs first, then by name; runs without an agent under none, as `agent:` \
             does not find them by their name"
        );
        assert_eq!(stats.by_agent[0].error_rate, 0.5);
        assert_eq!(stats.by_agent[0].p50_ms, Some(100.0));
        assert_eq!(stats.by_agent[1].cost_usd, None);
    }

    #[test]
    fn runs_outside_the_range_are_ignored() {
        let runs = [
            run("before", None, T0 - 1, 1.0),
            run("first", None, T0, 2.0),
            run("last", None, T0 + H - 1, 3.0),
            run("after", None, T0 + H, 4.0),
        ];
        let stats = aggregate(T0, T0 + H, 60, &runs);
        assert_eq!(stats.totals.runs, 2);
        assert_eq!(stats.series.len(), 60);
        assert_eq!(stats.series[0].runs, 1);
        assert_eq!(stats.series[59].runs, 1);
        assert_eq!(stats.series[59].start, T0 + 59 * 60 * S);
    }

    #[test]
    fn an_empty_range_has_zeroed_totals_and_empty_buckets() {
        let stats = aggregate(T0, T0 + 24 * H, 3_600, []);
        let t = &stats.totals;
        assert_eq!((t.runs, t.errors, t.error_rate), (0, 0, 0.0));
        assert_eq!(
            (t.p50_ms, t.p95_ms, t.p99_ms, t.cost_usd),
            (None, None, None, None)
        );
        assert_eq!(t.total_tokens, 0);
        assert_eq!(stats.series.len(), 24);
        assert!(stats
            .series
            .iter()
            .all(|b| b.runs == 0 && b.p50_ms.is_none()));
        assert!(stats.by_agent.is_empty() && stats.by_model.is_empty());
        assert!(aggregate(T0, T0, 60, []).series.is_empty());
    }

    #[test]
    fn buckets_are_aligned_to_the_epoch() {
        // 00:10 to 02:10 in hours: 00:00, 01:00, 02:00.
        let from = T0 + 10 * 60 * S;
        let stats = aggregate(from, from + 2 * H, 3_600, [&run("x", None, from, 1.0)]);
        let starts: Vec<u64> = stats.series.iter().map(|b| b.start).collect();
        assert_eq!(starts, [T0, T0 + H, T0 + 2 * H]);
        assert_eq!(stats.series[0].runs, 1);
        assert_eq!(stats.from, from);

        assert_eq!(bucket_count(T0, T0 + H, 3_600), 1);
        assert_eq!(bucket_count(T0, T0 + H + 1, 3_600), 2);
        assert_eq!(bucket_count(T0 + 1, T0 + H + 1, 3_600), 2);
        assert_eq!(bucket_count(T0 - 1, T0 + 1, 60), 2);
        assert_eq!(bucket_count(T0, T0 + 1, 60), 1);
        assert_eq!(bucket_count(T0, T0, 60), 0);
    }

    #[test]
    fn range_checks() {
        assert_eq!(check_range(T0, T0 + H, 60), Ok(60));
        assert_eq!(check_range(T0, T0, 60), Err(RangeError::Empty));
        assert_eq!(check_range(T0 + 1, T0, 60), Err(RangeError::Empty));
        assert_eq!(check_range(T0, T0 + H, 0), Err(RangeError::ZeroBucket));
        assert_eq!(check_range(T0, T0 + 1_000 * S, 1), Ok(1_000));
        assert_eq!(
            check_range(T0, T0 + 1_001 * S, 1),
            Err(RangeError::TooManyBuckets(1_001))
        );
        assert!(RangeError::TooManyBuckets(1_001)
            .to_string()
            .contains("1000"));
    }

    #[test]
    fn picked_buckets_are_nice_and_few() {
        let day = 24 * H;
        assert_eq!(pick_bucket(T0, T0 + H), 60);
        assert_eq!(pick_bucket(T0, T0 + 3 * H), 300);
        assert_eq!(pick_bucket(T0, T0 + day), 1_800);
        assert_eq!(pick_bucket(T0, T0 + 7 * day), 10_800);
        assert_eq!(pick_bucket(T0, T0 + 30 * day), 43_200);
        assert_eq!(pick_bucket(T0, T0 + 90 * day), 604_800);
        // An hour not on a minute boundary needs 61 one-minute buckets: too many.
        assert_eq!(pick_bucket(T0 + S, T0 + H + S), 300);
        let long = pick_bucket(0, 20 * 365 * day);
        assert_eq!(long % 604_800, 0);
        for (from, to) in [
            (T0, T0 + S),
            (T0 + 17, T0 + 5 * day + 3),
            (T0, T0 + 400 * day),
            (0, 20 * 365 * day),
            (0, u64::MAX),
        ] {
            let w = pick_bucket(from, to);
            assert!(
                bucket_count(from, to, w) <= TARGET_BUCKETS + 1,
                "{from}..{to}: {w}"
            );
            assert!(check_range(from, to, w).is_ok());
        }
    }

    #[test]
    fn a_snapshot_counts_under_its_model() {
        let mut a = run("a", None, T0, 1.0);
        a.usage_by_model = vec![
            model("gpt-4o-mini", Some("openai"), 1, 100, Some(0.1)),
            model("gpt-4o-mini-2024-07-18", Some("openai"), 2, 50, Some(0.05)),
        ];
        let mut b = run("b", None, T0 + S, 1.0);
        b.usage_by_model = vec![model("gpt-4o-2024-08-06", Some("openai"), 1, 10, None)];
        let stats = aggregate(T0, T0 + H, 60, [&a, &b]);
        let got: Vec<(&str, u64, u64, u64, Vec<&str>)> = stats
            .by_model
            .iter()
            .map(|m| {
                let snapshots = m.snapshots.iter().map(String::as_str).collect();
                (m.model.as_str(), m.calls, m.runs, m.total_tokens, snapshots)
            })
            .collect();
        assert_eq!(
            got,
            [
                ("gpt-4o-mini", 3, 1, 150, vec!["gpt-4o-mini-2024-07-18"]),
                ("gpt-4o", 1, 1, 10, vec!["gpt-4o-2024-08-06"]),
            ]
        );
        assert!(close(stats.by_model[0].cost_usd, 0.15));
    }

    #[test]
    fn models_merge_across_runs() {
        let mut a = run("a", None, T0, 1.0);
        a.usage_by_model = vec![
            model("large", Some("acme"), 2, 400, Some(0.4)),
            model("small", Some("acme"), 1, 40, None),
        ];
        let mut b = run("b", None, T0 + S, 1.0);
        b.usage_by_model = vec![
            model("small", Some("acme"), 3, 120, Some(0.03)),
            model("small", None, 1, 600, None),
        ];
        let mut outside = run("c", None, T0 + H, 1.0);
        outside.usage_by_model = vec![model("large", Some("acme"), 9, 900, Some(9.0))];
        let stats = aggregate(T0, T0 + H, 60, [&a, &b, &outside]);
        let got: Vec<(&str, Option<&str>, u64, u64, u64)> = stats
            .by_model
            .iter()
            .map(|m| {
                (
                    m.model.as_str(),
                    m.provider.as_deref(),
                    m.calls,
                    m.runs,
                    m.total_tokens,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("small", None, 1, 1, 600),
                ("large", Some("acme"), 2, 1, 400),
                ("small", Some("acme"), 4, 2, 160),
            ]
        );
        assert!(close(stats.by_model[1].cost_usd, 0.4));
        assert!(close(stats.by_model[2].cost_usd, 0.03));
        assert_eq!(stats.by_model[0].cost_usd, None);
        assert_eq!(
            (
                stats.by_model[2].input_tokens,
                stats.by_model[2].output_tokens
            ),
            (30 + 90, 10 + 30)
        );
    }

    #[test]
    fn token_sums_saturate_instead_of_wrapping() {
        let mut a = run("a", Some("bot"), T0, 1.0);
        let mut b = run("b", Some("bot"), T0 + S, 1.0);
        for r in [&mut a, &mut b] {
            r.input_tokens = u64::MAX - 1;
            r.total_tokens = u64::MAX - 1;
            r.usage_by_model = vec![model("m", None, u64::MAX, u64::MAX - 3, None)];
        }
        let stats = aggregate(T0, T0 + H, 3_600, [&a, &b]);
        assert_eq!(stats.totals.total_tokens, u64::MAX);
        assert_eq!(stats.totals.input_tokens, u64::MAX);
        assert_eq!(stats.series[0].total_tokens, u64::MAX);
        assert_eq!(stats.by_agent[0].total_tokens, u64::MAX);
        let m = &stats.by_model[0];
        assert_eq!((m.calls, m.total_tokens), (u64::MAX, u64::MAX));
    }

    #[test]
    fn serialises_in_the_api_shape() {
        let stats = aggregate(T0, T0 + H, 3_600, [&run("a", Some("x"), T0, 5.0)]);
        let v = serde_json::to_value(&stats).unwrap();
        for key in [
            "from",
            "to",
            "bucket_seconds",
            "totals",
            "series",
            "by_agent",
            "by_model",
        ] {
            assert!(v.get(key).is_some(), "{key} in {v}");
        }
        assert_eq!(v["totals"]["cost_usd"], serde_json::Value::Null);
        assert_eq!(v["series"][0]["start"], T0);
        assert_eq!(v["by_agent"][0]["agent"], "x");
    }
}
