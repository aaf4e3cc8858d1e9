//! API shapes that differ from the stored model: runs and threads add ISO-8601 times, and a
//! single run its metric events.

use lemma_core::{MetricEvent, Run};
use lemma_store::ThreadSummary;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa::ToSchema;

pub fn iso(unix_nano: u64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(unix_nano as i128)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// A run summary with its times in RFC 3339 beside the nanosecond ones.
#[derive(Serialize, ToSchema)]
#[schema(as = Run)]
pub struct RunView<'a> {
    #[serde(flatten)]
    run: &'a Run,
    /// RFC 3339.
    start_time: String,
    /// RFC 3339.
    end_time: String,
    /// The run's metric events, on a single run's view (lists leave them out).
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics: Option<&'a [MetricEvent]>,
}

impl<'a> RunView<'a> {
    pub fn with_metrics(self, metrics: &'a [MetricEvent]) -> Self {
        RunView {
            metrics: Some(metrics),
            ..self
        }
    }
}

impl<'a> From<&'a Run> for RunView<'a> {
    fn from(run: &'a Run) -> Self {
        RunView {
            run,
            start_time: iso(run.start_time_unix_nano),
            end_time: iso(run.end_time_unix_nano),
            metrics: None,
        }
    }
}

/// A thread's summary with its times in RFC 3339 beside the nanosecond ones.
#[derive(Serialize, ToSchema)]
#[schema(as = Thread)]
pub struct ThreadView<'a> {
    #[serde(flatten)]
    thread: &'a ThreadSummary,
    start_time: String,
    end_time: String,
    last_start_time: String,
}

impl<'a> From<&'a ThreadSummary> for ThreadView<'a> {
    fn from(thread: &'a ThreadSummary) -> Self {
        ThreadView {
            thread,
            start_time: iso(thread.start_time_unix_nano),
            end_time: iso(thread.end_time_unix_nano),
            last_start_time: iso(thread.last_start_time_unix_nano),
        }
    }
}
