//! The transcript in windows: steps are cut from a run's outline ([`super::Outline::steps`]) and
//! read span by span, so a model call cannot show only what earlier steps did not (that needs
//! every earlier step). It shows what is new by a rule of its own input instead: the messages
//! after the last assistant message, which agents resend on every call.

use crate::model::Span;

/// Keeps only a model call's new input messages (those after its last assistant message) and
/// drops its raw `input`, which holds the whole conversation again; returns how many messages
/// were left out (0 leaves the span as it was).
pub fn keep_new_messages(span: &mut Span) -> usize {
    let Some(messages) = span.input_messages.as_mut() else {
        return 0;
    };
    let Some(last) = messages.iter().rposition(|m| m.role == "assistant") else {
        return 0;
    };
    messages.drain(..=last);
    span.input = None;
    last + 1
}
