//! Normalisation: every tracing convention read into one `Span` model.
//!
//! Each convention is one module with a pure `read` function that turns a span's attributes into
//! [`Fields`], a record where every field is optional. [`normalize`] asks each convention in
//! precedence order and keeps, field by field, the first value set. Adding a convention is one
//! module and one line in [`CONVENTIONS`].

mod attrs;
mod fields;
mod genai;
mod genai_legacy;
mod langfuse;
mod lemma;
mod logfire;
mod openinference;
mod openllmetry;
mod otel;
mod provider;
mod unflatten;
mod vercel;

pub use attrs::Attrs;
pub use fields::Fields;
pub use provider::canonical as canonical_provider;
pub use unflatten::unflatten;

use crate::model::{Span, SpanKind, StatusCode};

/// A convention's reader: what it says about a span.
pub type Reader = fn(&Attrs) -> Fields;

/// The conventions in precedence order, strongest first (`shared/design.md` §4):
/// `lemma.*` > `langfuse.*` > `gen_ai.*` (current) > OpenInference > Vercel `ai.*` >
/// OpenLLMetry / legacy `gen_ai.*`. General OTel attributes (`user.id`, `session.id`,
/// `deployment.environment`) come last as the fallback of every convention.
pub const CONVENTIONS: &[(&str, Reader)] = &[
    ("lemma", lemma::read),
    ("langfuse", langfuse::read),
    ("gen_ai", genai::read),
    ("openinference", openinference::read),
    ("vercel", vercel::read),
    ("openllmetry", openllmetry::read),
    ("gen_ai_legacy", genai_legacy::read),
    ("logfire", logfire::read),
    ("otel", otel::read),
];

/// Fills a decoded span's normalised fields from its raw attributes, events and resource.
/// Raw attributes are kept untouched.
pub fn normalize(span: &mut Span) {
    let attrs = Attrs::new(span);
    let fields = CONVENTIONS
        .iter()
        .fold(Fields::default(), |acc, (_, read)| {
            // A convention reporting an absurd token count says nothing of it: a weaker one may.
            let mut fields = read(&attrs);
            fields.usage = fields.usage.plausible();
            acc.or(fields)
        });
    fields.apply(span);
    let (input, output) = crate::messages::derive(span);
    span.input_messages = input;
    span.output_messages = output;
}

/// Kind for spans no convention claimed, from what they carry.
pub(crate) fn infer_kind(span: &Span) -> SpanKind {
    if span.tool_name.is_some() {
        SpanKind::Tool
    } else if span.model.is_some() && !span.usage.is_empty() {
        SpanKind::Llm
    } else {
        SpanKind::Span
    }
}

pub(crate) fn mark_error(span: &mut Span, message: Option<String>) {
    span.status = StatusCode::Error;
    if span.status_message.is_none() {
        span.status_message = message;
    }
}

#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;
