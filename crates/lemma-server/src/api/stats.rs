//! `GET /api/v1/stats?q=&from=&to=&bucket=`: totals, a time series and breakdowns by agent,
//! model and metric over the runs a query matches in a time range (`lemma_core::stats`).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::{Extension, Json};
use lemma_core::query;
use lemma_core::stats::{
    bucket_count, check_range, pick_bucket, AgentStats, Bucket, MetricStats, ModelStats,
    RangeError, Stats, Totals, MAX_BUCKETS, NICE_BUCKETS,
};
use lemma_store::{Project, StatsQuery};
use serde::{Deserialize, Serialize};
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::now_unix_nano;
use super::views::iso;
use crate::error::{ApiError, ErrorBody};
use crate::openapi::params;
use crate::openapi::responses::Keyed;
use crate::server::AppState;

const NANOS_PER_SECOND: u64 = 1_000_000_000;

/// The range when `from` is not given: the day before `to`.
const DEFAULT_RANGE_SECONDS: u64 = 24 * 3_600;

pub(super) const TIME_FORMS: &str =
    "an RFC 3339 time such as 2026-11-01T10:00:00Z (or a date such as \
     2026-11-01), or how long ago such as 30s, 90m, 24h or 7d";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stats))
}

#[derive(Debug, Deserialize)]
pub struct StatsParams {
    q: Option<String>,
    from: Option<String>,
    to: Option<String>,
    bucket: Option<String>,
}

impl IntoParams for StatsParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let time = |name: &str, default: &str| {
            params::text(
                name,
                &format!("{}; by default {default}.", capitalised(TIME_FORMS)),
                false,
            )
        };
        vec![
            params::q(),
            time("from", "a day before `to`"),
            time("to", "now"),
            params::text(
                "bucket",
                &format!(
                    "The series' bucket width: a number and a unit (s, m, h, d, w) such as 1m, \
                     1h or 1d; the range may hold at most {MAX_BUCKETS} buckets. By default the \
                     first of 1m, 5m, 15m, 30m, 1h, 3h, 6h, 12h, 1d or 7d that gives at most \
                     about 60."
                ),
                false,
            ),
        ]
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Parameters left empty count as not given, as a form with blank fields sends them.
pub(super) fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl StatsParams {
    fn to_query(&self, now: u64) -> Result<StatsQuery, ApiError> {
        let filter = super::parse_query(self.q.as_deref().unwrap_or(""), now)?;
        let to = match given(&self.to) {
            Some(t) => parse_time("to", t, now)?,
            None => now,
        };
        let from = match given(&self.from) {
            Some(f) => parse_time("from", f, now)?,
            None => to.saturating_sub(DEFAULT_RANGE_SECONDS * NANOS_PER_SECOND),
        };
        let bucket = match given(&self.bucket) {
            Some(b) => match parse_seconds(b) {
                Some(0) => return Err(ApiError::bad_request("bucket must be at least 1s")),
                Some(seconds) => seconds,
                None => {
                    return Err(ApiError::bad_request(format!(
                        "bucket must be a duration such as 1m, 5m, 1h or 1d, not {b:?}"
                    )))
                }
            },
            None => pick_bucket(from, to),
        };
        check_range(from, to, bucket).map_err(|e| range_error(e, from, to, bucket))?;
        Ok(StatsQuery {
            filter,
            from_unix_nano: from,
            to_unix_nano: to,
            bucket_seconds: bucket,
        })
    }
}

pub(super) fn range_error(e: RangeError, from: u64, to: u64, bucket: u64) -> ApiError {
    ApiError::bad_request(match e {
        RangeError::Empty => format!(
            "from ({}) must be before to ({}); omit both for the last 24 hours",
            iso(from),
            iso(to)
        ),
        RangeError::ZeroBucket => "bucket must be at least 1s".to_string(),
        RangeError::TooManyBuckets(n) => {
            let wider = NICE_BUCKETS
                .iter()
                .find(|&&w| bucket_count(from, to, w) <= MAX_BUCKETS);
            let advice = match wider {
                Some(&w) => format!("a wider bucket such as bucket={}", duration_text(w)),
                None => "a shorter range".to_string(),
            };
            format!(
                "{n} buckets of {} between from and to, more than {MAX_BUCKETS}: pass {advice}, \
                 or omit bucket to have one chosen",
                duration_text(bucket)
            )
        }
    })
}

/// `90m` → 5400. A unit is required: s, m, h, d or w.
pub(super) fn parse_seconds(text: &str) -> Option<u64> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let unit_seconds = match unit.to_ascii_lowercase().as_str() {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return None,
    };
    number.parse::<u64>().ok()?.checked_mul(unit_seconds)
}

/// Seconds in the largest unit that divides them: 3600 → `1h`.
fn duration_text(seconds: u64) -> String {
    let units = [(604_800, "w"), (86_400, "d"), (3_600, "h"), (60, "m")];
    units
        .iter()
        .find(|(size, _)| seconds > 0 && seconds.is_multiple_of(*size))
        .map(|(size, unit)| format!("{}{unit}", seconds / size))
        .unwrap_or_else(|| format!("{seconds}s"))
}

/// A time as the query language's `since:` reads it, in unix nanoseconds.
pub(super) fn parse_time(name: &str, text: &str, now: u64) -> Result<u64, ApiError> {
    query::parse_time(text, now)
        .ok_or_else(|| ApiError::bad_request(format!("{name} must be {TIME_FORMS}, not {text:?}")))
}

/// The stats answer: [`Stats`] with ISO-8601 times next to the nanosecond ones.
#[derive(Serialize, ToSchema)]
#[schema(as = Stats)]
struct StatsView<'a> {
    /// Unix nanoseconds, inclusive.
    from: u64,
    /// RFC 3339.
    from_time: String,
    /// Unix nanoseconds, exclusive.
    to: u64,
    /// RFC 3339.
    to_time: String,
    bucket_seconds: u64,
    totals: &'a Totals,
    /// Every bucket of the range, empty ones included, oldest first.
    series: Vec<BucketView<'a>>,
    /// Most runs first.
    by_agent: &'a [AgentStats],
    /// Most tokens first.
    by_model: &'a [ModelStats],
    /// Most events first.
    by_metric: &'a [MetricStats],
}

#[derive(Serialize, ToSchema)]
#[schema(as = SeriesBucket)]
struct BucketView<'a> {
    #[serde(flatten)]
    bucket: &'a Bucket,
    /// RFC 3339.
    start_time: String,
}

impl<'a> From<&'a Stats> for StatsView<'a> {
    fn from(s: &'a Stats) -> Self {
        StatsView {
            from: s.from,
            from_time: iso(s.from),
            to: s.to,
            to_time: iso(s.to),
            bucket_seconds: s.bucket_seconds,
            totals: &s.totals,
            series: s
                .series
                .iter()
                .map(|bucket| BucketView {
                    bucket,
                    start_time: iso(bucket.start),
                })
                .collect(),
            by_agent: &s.by_agent,
            by_model: &s.by_model,
            by_metric: &s.by_metric,
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/stats",
    operation_id = "get_stats",
    tag = "stats",
    params(StatsParams),
    responses(
        (status = 200, description = "Totals, a time series and breakdowns by agent, model and metric over the runs matching `q` that started in `[from, to)`.", body = StatsView),
        (status = 400, description = "A query that does not parse, a time or bucket that does not read, an empty range, more than 1,000 buckets, or a repeated parameter.", body = ErrorBody),
        Keyed
    )
)]
async fn stats(
    State(state): State<AppState>,
    Extension(p): Extension<Project>,
    params: Result<Query<StatsParams>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    // A repeated parameter gets the API's JSON error rather than axum's plain-text one.
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let query = params.to_query(now_unix_nano())?;
    let stats = state.store.stats(p.id, query).await?;
    let body = serde_json::to_value(StatsView::from(&stats))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Json(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_735_689_600 * NANOS_PER_SECOND; // 2025-01-01T00:00:00Z

    fn params(q: &str, from: &str, to: &str, bucket: &str) -> StatsParams {
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        StatsParams {
            q: opt(q),
            from: opt(from),
            to: opt(to),
            bucket: opt(bucket),
        }
    }

    fn error(p: StatsParams) -> String {
        p.to_query(NOW).expect_err("a bad request").message
    }

    #[test]
    fn defaults_to_the_last_day_with_a_chosen_bucket() {
        let q = params("", "", "", "").to_query(NOW).unwrap();
        assert_eq!(q.to_unix_nano, NOW);
        assert_eq!(q.from_unix_nano, NOW - 86_400 * NANOS_PER_SECOND);
        assert_eq!(q.bucket_seconds, 1_800);
        assert!(q.filter.is_empty());
    }

    #[test]
    fn times_are_absolute_or_ago() {
        let q = params("agent:x", "90m", "30s", "5m").to_query(NOW).unwrap();
        assert_eq!(q.from_unix_nano, NOW - 5_400 * NANOS_PER_SECOND);
        assert_eq!(q.to_unix_nano, NOW - 30 * NANOS_PER_SECOND);
        assert_eq!(q.bucket_seconds, 300);
        assert_eq!(q.filter.clauses.len(), 1);
        let q = params("", "2024-12-31T23:00:00+01:00", "2025-01-01", "1H")
            .to_query(NOW)
            .unwrap();
        assert_eq!(q.from_unix_nano, NOW - 7_200 * NANOS_PER_SECOND);
        assert_eq!(q.to_unix_nano, NOW);
        assert_eq!(q.bucket_seconds, 3_600);
        // Only `to`: the day before it.
        let q = params("", "", "7d", "").to_query(NOW).unwrap();
        assert_eq!(q.to_unix_nano - q.from_unix_nano, 86_400 * NANOS_PER_SECOND);
    }

    #[test]
    fn bad_values_say_what_to_send() {
        let m = error(params("", "yesterday", "", ""));
        assert!(
            m.contains("from must be") && m.contains("RFC 3339") && m.contains("24h"),
            "{m}"
        );
        let m = error(params("", "", "24", ""));
        assert!(m.contains("to must be"), "{m}");
        let m = error(params("", "", "", "soon"));
        assert!(m.contains("bucket must be a duration"), "{m}");
        assert!(error(params("", "", "", "0m")).contains("at least 1s"));
        let m = error(params("", "1h", "2h", ""));
        assert!(m.contains("must be before to"), "{m}");
        let m = error(params("", "7d", "", "1m"));
        assert!(
            m.contains("10080 buckets") && m.contains("bucket=15m"),
            "{m}"
        );
        let m = error(params("status:nope", "", "", ""));
        assert!(m.contains("position 7"), "{m}");
    }

    #[test]
    fn durations_read_and_print() {
        assert_eq!(parse_seconds("30s"), Some(30));
        assert_eq!(parse_seconds("2w"), Some(1_209_600));
        assert_eq!(parse_seconds("h"), None);
        assert_eq!(parse_seconds("5"), None);
        assert_eq!(parse_seconds("1.5h"), None);
        assert_eq!(parse_seconds("99999999999999999999d"), None);
        assert_eq!(duration_text(3_600), "1h");
        assert_eq!(duration_text(5_400), "90m");
        assert_eq!(duration_text(604_800), "1w");
        assert_eq!(duration_text(45), "45s");
    }
}
