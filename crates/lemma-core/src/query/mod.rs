//! The query language shared by the API (`q=`), the CLI, the dashboard and MCP.
//!
//! ```text
//! agent:support-agent status:error model:gpt-4o,gpt-4.1 tool:web_search thread:t-42
//! user:u-7 env:prod duration>5s tokens>1000 cost>0.01 signal:loop signal.severity:critical since:24h
//! "refund policy" meta.tier=gold -tag:test metric.resolved=true metric.quality<0.5
//! ```
//!
//! Text is parsed once here into a [`Filter`]; each store compiles the filter into its own
//! query with bound parameters. Terms are ANDed; a leading `-` negates a term; a comma-separated
//! value matches any of its values; `*` in a value is a wildcard.
//!
//! A query holds at most [`MAX_QUERY_CHARS`] characters, [`MAX_TERMS`] terms and
//! [`MAX_VALUES`] values in one list, and no control character other than whitespace (a NUL
//! least of all); [`parse`] refuses anything else with the position and what to change, so a
//! query that parses is one every store can run.

mod limits;
mod parse;

pub use limits::{MAX_QUERY_CHARS, MAX_TERMS, MAX_VALUES};
pub use parse::{parse, parse_time};

/// A parsed query: every clause must hold.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    pub clauses: Vec<Clause>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    pub negated: bool,
    pub condition: Condition,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Free text (a bare word or a quoted phrase): searched in inputs and outputs.
    Text(String),
    /// `field:value[,value...]` or `field=value`: equal to any of the values.
    /// Values may contain `*` wildcards.
    OneOf { field: Field, values: Vec<String> },
    /// `field>n`, `field<=n`, ...: a numeric comparison. Durations are in milliseconds, cost
    /// in USD, times in unix nanoseconds.
    Compare { field: Field, op: CmpOp, value: f64 },
    /// `has:field`: the field is set (`has:error` means at least one span failed).
    Has(Field),
}

/// What a clause looks at. On runs, span-level fields (`model`, `tool`, `kind`, `span`,
/// `attr.*`) mean "the run has a span with ...".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Field {
    /// Run ID (trace id).
    Run,
    Span,
    Name,
    Agent,
    Status,
    Kind,
    Model,
    Provider,
    Tool,
    Thread,
    User,
    Session,
    Env,
    Tag,
    /// A signal's name: the run has a signal of that name (loops come with its summary, the
    /// rest from its latest evaluation).
    Signal,
    /// `signal.severity`: the run has a signal of that severity (`info`, `warning`, `critical`).
    SignalSeverity,
    /// The run answered a case of that experiment.
    Experiment,
    /// The run answered a case of an experiment over that dataset.
    Dataset,
    /// The run answered the case of that id in an experiment.
    Case,
    Service,
    /// `meta.<key>`: a metadata value.
    Meta(String),
    /// `attr.<key>`: a raw span attribute.
    Attr(String),
    /// `metric.<name>`: the run has a metric event of that name (whose value matches).
    Metric(String),
    /// Milliseconds.
    Duration,
    Tokens,
    InputTokens,
    OutputTokens,
    /// USD.
    Cost,
    Spans,
    Errors,
    /// Start time, unix nanoseconds (`since:` and `until:` compile to comparisons on it).
    Start,
    /// Used with `has:` only: at least one span failed.
    Error,
    /// Used with `has:` only: the run's root span has arrived.
    Root,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

/// A query that does not parse: where, and what was expected there.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("at position {position}: {message}")]
pub struct ParseError {
    /// Zero-based character offset into the query.
    pub position: usize,
    pub message: String,
}
