//! The orders a run listing can take, and the keyset condition that pages through any of them.
//!
//! A page ends at its last run's position in the order: the sort value, then the start time
//! and run id that break ties, so paging never skips or repeats a run however many share a
//! value. Both stores compile the same condition from the same columns.

/// What a run listing sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum RunSort {
    /// Start time (the default, newest first).
    #[default]
    Start,
    Duration,
    Cost,
    Tokens,
    Spans,
    Errors,
}

/// A run listing's order: a sort key and its direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct RunOrder {
    pub by: RunSort,
    pub ascending: bool,
}

impl RunSort {
    pub const ALL: [RunSort; 6] = [
        RunSort::Start,
        RunSort::Duration,
        RunSort::Cost,
        RunSort::Tokens,
        RunSort::Spans,
        RunSort::Errors,
    ];

    /// The name the API and the CLI use.
    pub fn name(self) -> &'static str {
        match self {
            RunSort::Start => "start_time",
            RunSort::Duration => "duration",
            RunSort::Cost => "cost",
            RunSort::Tokens => "tokens",
            RunSort::Spans => "spans",
            RunSort::Errors => "errors",
        }
    }

    pub fn parse(name: &str) -> Option<RunSort> {
        RunSort::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The expression over a run summary's columns sorted by, the same SQL in both stores;
    /// none for the start time, which is a tie-breaker of every order anyway.
    ///
    /// Every expression has whole-number values (durations in microseconds, costs in
    /// nano-dollars), so a cursor carries its value exactly: a fractional value would go
    /// through decimal text to the server and might not compare equal to itself there. A run
    /// without a cost sorts as if it cost less than nothing: after every priced run, most
    /// expensive first, and before them, cheapest first.
    pub(crate) fn expression(self) -> Option<&'static str> {
        Some(match self {
            RunSort::Start => return None,
            RunSort::Duration => "round(r.duration_ms * 1000)",
            RunSort::Cost => "round(coalesce(r.cost_usd, -1.0) * 1000000000)",
            RunSort::Tokens => "r.total_tokens",
            RunSort::Spans => "r.span_count",
            RunSort::Errors => "r.error_count",
        })
    }
}

impl RunOrder {
    pub fn direction(self) -> &'static str {
        if self.ascending {
            "ASC"
        } else {
            "DESC"
        }
    }

    /// The columns of the order, most significant first: the sort expression (if any), then
    /// `time` and `id`, which make every position unique.
    pub(crate) fn columns<'a>(self, time: &'a str, id: &'a str) -> Vec<&'a str> {
        self.by.expression().into_iter().chain([time, id]).collect()
    }

    /// ` ORDER BY` the order's columns.
    pub(crate) fn order_by(self, time: &str, id: &str) -> String {
        let dir = self.direction();
        let keys: Vec<String> = self
            .columns(time, id)
            .iter()
            .map(|c| format!("{c} {dir}"))
            .collect();
        format!(" ORDER BY {}", keys.join(", "))
    }
}

/// The condition "after this position" of a keyset over `columns` (most significant first),
/// spelled out rather than as a tuple comparison, which not every supported server has. `bind`
/// gives the placeholder of column `i`'s value at the cursor; it is called once per use, in
/// the order the placeholders appear in the text (for positional parameters).
pub(crate) fn after(
    columns: &[&str],
    ascending: bool,
    mut bind: impl FnMut(usize) -> String,
) -> String {
    let cmp = if ascending { ">" } else { "<" };
    // (a < x OR (a = x AND (b < y OR (b = y AND (c < z)))))
    fn from(
        i: usize,
        columns: &[&str],
        cmp: &str,
        bind: &mut dyn FnMut(usize) -> String,
    ) -> String {
        let strict = format!("{} {cmp} {}", columns[i], bind(i));
        if i + 1 == columns.len() {
            return strict;
        }
        let equal = format!("{} = {}", columns[i], bind(i));
        let rest = from(i + 1, columns, cmp, bind);
        format!("({strict} OR ({equal} AND ({rest})))")
    }
    from(0, columns, cmp, &mut bind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in RunSort::ALL {
            assert_eq!(RunSort::parse(s.name()), Some(s));
        }
        assert_eq!(RunSort::parse("price"), None);
    }

    #[test]
    fn keyset_conditions() {
        let mut calls = Vec::new();
        let text = after(&["v", "t", "id"], false, |i| {
            calls.push(i);
            format!("${i}")
        });
        assert_eq!(
            text,
            "(v < $0 OR (v = $0 AND ((t < $1 OR (t = $1 AND (id < $2))))))"
        );
        assert_eq!(calls, [0, 0, 1, 1, 2], "placeholders in the text's order");
        assert_eq!(after(&["t"], true, |_| "?".into()), "t > ?");
        let order = RunOrder {
            by: RunSort::Cost,
            ascending: true,
        };
        assert_eq!(
            order.order_by("r.start_ns", "r.trace_id"),
            " ORDER BY round(coalesce(r.cost_usd, -1.0) * 1000000000) ASC, r.start_ns ASC, r.trace_id ASC"
        );
    }
}
