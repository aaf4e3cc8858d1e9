//! Comparing two stores' answers: JSON equal, or a panic showing where they part.

use serde_json::Value;

/// Panics unless `got` equals `want`, showing the lines around the first difference of their
/// pretty-printed forms, `got` labelled `got_label` and `want` `want_label`.
pub fn assert_same_json(what: &str, got: &Value, want: &Value, got_label: &str, want_label: &str) {
    if got == want {
        return;
    }
    let (g, w) = (
        serde_json::to_string_pretty(got).unwrap(),
        serde_json::to_string_pretty(want).unwrap(),
    );
    let line = g
        .lines()
        .zip(w.lines())
        .position(|(a, b)| a != b)
        .unwrap_or(0);
    let around = |s: &str| {
        s.lines()
            .skip(line.saturating_sub(6))
            .take(12)
            .collect::<Vec<_>>()
            .join("\n")
    };
    panic!(
        "{what} differs at line {line}:\n--- {got_label}\n{}\n--- {want_label}\n{}",
        around(&g),
        around(&w)
    );
}
