//! The errors the SDK returns: from setup, and from [`metric`](crate::metric),
//! [`proxy`](crate::proxy), [`Run::signals`](crate::Run::signals),
//! [`experiment`](crate::experiment) and [`compare`](crate::compare) (direct calls, so their
//! failures are the caller's to handle).
//! Exporting spans never returns errors: it warns (see the crate docs).

/// Why setup ([`init`](crate::init), [`span_processor`](crate::span_processor),
/// [`otlp_exporter`](crate::otlp_exporter)), sending a metric event, creating or closing a
/// proxy session, reading a run's signals, running an experiment or comparing experiments
/// failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server URL does not parse, or its scheme is not supported.
    #[error("invalid Lemma URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The exporter or its HTTP client could not be built.
    #[error("could not set up the OTLP exporter: {0}")]
    Exporter(String),
    /// The request got no answer: the server is unreachable, or it timed out.
    #[error("could not reach Lemma at {url}: {reason}")]
    Unreachable {
        /// The URL requested.
        url: String,
        /// What went wrong, e.g. `Connection refused`.
        reason: String,
    },
    /// Lemma answered with an error: 400 with the reason an event, a session or a dataset's
    /// case is invalid, 401 for a missing or wrong API key, 404 for a run of another project
    /// (or, for signals, one Lemma has no span of yet; for experiments, an unknown dataset or
    /// experiment), 409 for an experiment name already taken, 503 when the LLM proxy is not
    /// available.
    #[error("Lemma answered HTTP {status}: {message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The error's code, e.g. `bad_request` (empty when the body had none).
        code: String,
        /// The server's message.
        message: String,
    },
    /// Lemma accepted the request but its answer could not be read.
    #[error("unexpected answer from Lemma: {0}")]
    UnexpectedResponse(String),
    /// An experiment that cannot run as set up: a scorer without a metric name, two scorers
    /// of one name, or no tracing to record its runs.
    #[error("invalid experiment: {0}")]
    InvalidExperiment(String),
    /// A [`regex_match`](crate::scorers::regex_match) pattern that does not compile.
    #[error("invalid pattern {pattern:?}: {reason}")]
    InvalidPattern {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
}
