//! Span builders shared by the convention readers' tests.

use serde_json::Value;

use crate::model::Span;

/// A span with these attributes, not normalised.
pub fn raw(name: &str, attrs: Value) -> Span {
    Span {
        name: name.into(),
        attributes: attrs.as_object().cloned().unwrap_or_default(),
        ..Span::default()
    }
}

/// A span with these attributes, normalised by every convention.
pub fn normalized(name: &str, attrs: Value) -> Span {
    let mut s = raw(name, attrs);
    super::normalize(&mut s);
    s
}

/// The spans of a recorded scenario in `shared/fixtures/` (its first request, as OTLP/JSON),
/// normalised, in start order.
pub fn fixture_spans(scenario: &str) -> Vec<Span> {
    let path = format!(
        "{}/../../../shared/fixtures/{scenario}/0001.otlp.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let request = crate::otlp::decode_trace_request(&bytes, crate::otlp::Encoding::Json)
        .expect("fixture decodes");
    let mut spans = crate::otlp::extract_spans(request).spans;
    spans.iter_mut().for_each(super::normalize);
    spans.sort_by_key(|s| (s.start_time_unix_nano, s.end_time_unix_nano));
    spans
}

/// What one convention's reader says about a span with these attributes.
pub fn read_raw(read: super::Reader, attrs: Value) -> super::Fields {
    read(&super::Attrs::new(&raw("x", attrs)))
}
