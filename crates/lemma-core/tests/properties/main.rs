//! Property tests: OTLP decoding and normalisation, and the query parser, on arbitrary input
//! and on mutations of real requests and queries. Each property runs a fixed number of cases
//! so the whole binary stays within a few seconds in CI; `PROPTEST_CASES=N` runs N cases of
//! each for a longer search by hand. A failure is written to `tests/proptest-regressions/`
//! (commit it) and replayed first on every later run.

mod otlp;
mod query;

use proptest::test_runner::Config;

/// `cases` cases, unless `PROPTEST_CASES` asks for another number.
fn config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    Config {
        cases,
        ..Config::default()
    }
}
