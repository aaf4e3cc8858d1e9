//! What stores keep of signals: each run's latest evaluation, and a project's thresholds.

use lemma_core::RunSignal;
use serde::{Deserialize, Serialize};

/// The signals found in a run by one evaluation (`lemma_core::signals::detect`, with the
/// loops of its summary).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSignals {
    pub run_id: String,
    /// When the run's spans were read for it. Of two evaluations of a run, the one that read
    /// later holds (it saw every span the other saw), whichever was stored last.
    pub evaluated_unix_nano: u64,
    /// The run's spans that evaluation saw.
    pub span_count: u64,
    /// The run's start, to count signals over time.
    pub start_unix_nano: u64,
    pub signals: Vec<RunSignal>,
}

/// Runs of a project that started in a time bucket with a signal of a name and severity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignalCount {
    /// The bucket's start, unix nanoseconds.
    pub bucket_unix_nano: u64,
    pub name: String,
    pub severity: String,
    pub runs: u64,
}
