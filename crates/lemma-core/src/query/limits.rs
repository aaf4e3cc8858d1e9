//! How large a query may be, and which characters it may hold.
//!
//! Every store turns a [`Filter`](super::Filter) into one query of its own, which grows with
//! the filter: SQLite refuses an expression tree deeper than 1,000, which unbounded queries
//! reached at about 1,000 terms, 500 values in one list or 250 in a `metric.` list (each value
//! is tested as a number and as text). The limits below are far above what a person types, and
//! a query at all of them at once uses about half of that depth (beside 100 terms, a `metric.`
//! list fails at about 220 values); the end-to-end tests run such a query on every search
//! endpoint. They are checked while parsing, so every consumer (API, CLI, dashboard, MCP)
//! refuses the same queries with the same message.

use super::ParseError;

/// The longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 4_096;

/// The most terms in one query (`NOT` and `-` do not count).
pub const MAX_TERMS: usize = 100;

/// The most values in one comma-separated list (`model:a,b,c`).
pub const MAX_VALUES: usize = 100;

/// Refuses a query that is too long or holds a control character other than whitespace.
///
/// A NUL cannot be searched for at all: SQLite reads full-text queries, JSON paths and GLOB
/// patterns up to the first NUL, so it would change or break the query. Other control
/// characters cannot be typed either; a query holding one was mangled on its way here.
pub(super) fn check_text(input: &str) -> Result<(), ParseError> {
    if input.chars().nth(MAX_QUERY_CHARS).is_some() {
        return Err(ParseError {
            position: MAX_QUERY_CHARS,
            message: format!(
                "the query is {} characters long, more than the {MAX_QUERY_CHARS} allowed: \
                 shorten it, for example with a wildcard (model:gpt-4*) in place of a long list",
                input.chars().count()
            ),
        });
    }
    match input
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_control() && !c.is_whitespace())
    {
        Some((position, c)) => Err(ParseError {
            position,
            message: format!(
                "the query holds the control character U+{:04X}, which can't be searched for: \
                 remove it (if it came from a program, send the query as plain text)",
                u32::from(c)
            ),
        }),
        None => Ok(()),
    }
}

/// The error for a term past [`MAX_TERMS`], which starts at `position`.
pub(super) fn too_many_terms(position: usize) -> ParseError {
    ParseError {
        position,
        message: format!(
            "a query may have at most {MAX_TERMS} terms: remove some, or match several values \
             with one term (model:a,b,c or model:gpt-4*)"
        ),
    }
}

/// The error for a value past [`MAX_VALUES`] in the list after `prefix` (`model:`), which
/// starts at `position`.
pub(super) fn too_many_values(position: usize, prefix: &str) -> ParseError {
    ParseError {
        position,
        message: format!(
            "a list may have at most {MAX_VALUES} values, and the one after '{prefix}' has more: \
             match them with a wildcard (model:gpt-4*) or search in several queries"
        ),
    }
}
