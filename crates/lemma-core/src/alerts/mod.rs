//! Alerts: rules over runs (a query in the query language, a condition), the channels they
//! notify, and the events they raise. Pure: the server evaluates rules and delivers.
//!
//! A rule either fires for **each run** matching its query (once per run, resolved when the
//! run stops matching, e.g. a stalled run that ends), or watches a **window**: a count, an
//! error rate, a p95 latency or a cost over the runs its query matches in the last N minutes,
//! firing while the value is past a threshold and resolved when it is not.

mod config;
mod event;
mod matching;
mod payload;
#[cfg(test)]
mod tests;

pub use config::{
    AlertCondition, AlertConfig, AlertRule, Channel, ChannelKind, CmpOp, Measure, MAX_CHANNELS,
    MAX_RULES,
};
pub use event::{event_id, AlertEvent, AlertState, Delivery, DeliveryStatus};
pub use matching::by_signals;
pub use payload::{slack_body, webhook_body, Notice};
