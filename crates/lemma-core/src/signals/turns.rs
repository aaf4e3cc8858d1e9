//! Signals over turns: a run left open and silent, a user asking again what they just asked,
//! and a thread whose last turn went wrong and that nobody came back to.

use super::{duration_text, similarity, user_text, PreviousTurn, SignalSettings};
use crate::model::StatusCode;
use crate::run::{Run, RunSignal, Severity};

const NS: u64 = 1_000_000_000;

/// `stalled`: the root has not ended and no span arrived for the set time.
pub fn stalled(run: &Run, quiet_ns: u64, settings: &SignalSettings) -> Option<RunSignal> {
    (!run.has_root && quiet_ns >= settings.stall_after_secs.saturating_mul(NS)).then(|| RunSignal {
        kind: "stalled".into(),
        severity: Severity::Warning,
        span_id: run.root_span_id.clone(),
        explanation: format!(
            "the run is still open and no span arrived for {}",
            duration_text(quiet_ns)
        ),
        ..RunSignal::default()
    })
}

/// `rephrase`: right after an answer, the user said nearly the same as before.
pub fn rephrase(
    run: &Run,
    previous: &PreviousTurn,
    settings: &SignalSettings,
) -> Option<RunSignal> {
    if !previous.answered {
        return None;
    }
    let now = run.input.as_ref().and_then(user_text)?;
    let score = similarity(&now, &previous.input_text);
    (score >= settings.rephrase_similarity).then(|| RunSignal {
        kind: "rephrase".into(),
        severity: Severity::Warning,
        span_id: run.root_span_id.clone(),
        explanation: format!(
            "the user asked nearly the same as in the previous turn ({:.0}% alike) after its answer",
            score * 100.0
        ),
        score: Some((score * 100.0).round() / 100.0),
        label: Some(previous.run_id.clone()),
        ..RunSignal::default()
    })
}

/// `abandoned`: this is its thread's last turn, it went wrong (it failed, or the user had to
/// ask again), and the thread has been quiet for the set time since.
pub fn abandoned(
    run: &Run,
    rephrased: bool,
    quiet_ns: u64,
    settings: &SignalSettings,
) -> Option<RunSignal> {
    let failed = run.status == StatusCode::Error;
    if !(failed || rephrased) || quiet_ns < settings.abandon_after_secs.saturating_mul(NS) {
        return None;
    }
    let why = if failed {
        "failed"
    } else {
        "repeated an earlier question"
    };
    Some(RunSignal {
        kind: "abandoned".into(),
        severity: Severity::Warning,
        span_id: run.root_span_id.clone(),
        explanation: format!(
            "the thread's last turn {why} and no turn followed for {}",
            duration_text(quiet_ns)
        ),
        ..RunSignal::default()
    })
}
