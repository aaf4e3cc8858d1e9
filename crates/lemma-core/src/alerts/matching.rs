//! Whether a run matches a rule's query, decided from its signals alone when the query asks
//! only about signals: most rules do, and a rule is checked on every evaluated run.

use crate::query::{Condition, Field, Filter};
use crate::run::RunSignal;

/// `Some(matches)` when every clause of `filter` is about signal names or severities (without
/// wildcards); `None` when the store must be asked.
pub fn by_signals(filter: &Filter, signals: &[RunSignal]) -> Option<bool> {
    let mut all = true;
    for clause in &filter.clauses {
        let holds = match &clause.condition {
            Condition::Has(Field::Signal) => !signals.is_empty(),
            Condition::OneOf {
                field: Field::Signal,
                values,
            } if values.iter().all(|v| !v.contains('*')) => {
                signals.iter().any(|s| values.contains(&s.kind))
            }
            Condition::OneOf {
                field: Field::SignalSeverity,
                values,
            } => signals
                .iter()
                .any(|s| values.iter().any(|v| v == s.severity.name())),
            _ => return None,
        };
        all &= holds != clause.negated;
    }
    Some(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::parse;
    use crate::run::Severity;

    fn signal(kind: &str, severity: Severity) -> RunSignal {
        RunSignal {
            kind: kind.into(),
            severity,
            ..RunSignal::default()
        }
    }

    #[test]
    fn signal_queries_are_decided_in_memory_and_others_are_not() {
        let found = [
            signal("error_streak", Severity::Critical),
            signal("loop", Severity::Warning),
        ];
        let decide = |q: &str, s: &[RunSignal]| by_signals(&parse(q, 0).unwrap(), s);
        assert_eq!(decide("signal:error_streak", &found), Some(true));
        assert_eq!(decide("signal:stalled,loop", &found), Some(true));
        assert_eq!(decide("signal:stalled", &found), Some(false));
        assert_eq!(
            decide("-signal:stalled signal.severity:critical", &found),
            Some(true)
        );
        assert_eq!(decide("signal.severity:info", &found), Some(false));
        assert_eq!(decide("has:signal", &found), Some(true));
        assert_eq!(decide("-has:signal", &[]), Some(true));
        assert_eq!(decide("", &[]), Some(true), "no clause: every run");
        assert_eq!(
            decide("signal:err*", &found),
            None,
            "wildcards go to the store"
        );
        assert_eq!(decide("signal:loop env:prod", &found), None);
        assert_eq!(decide("status:error", &found), None);
    }
}
