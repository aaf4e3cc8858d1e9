//! The errors setup can return. Exporting never returns errors: it warns (see the crate docs).

/// Why [`init`](crate::init), [`span_processor`](crate::span_processor) or
/// [`otlp_exporter`](crate::otlp_exporter) could not set up export.
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
}
