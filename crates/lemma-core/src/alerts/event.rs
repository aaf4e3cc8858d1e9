//! What rules raise: an event per change of state, and what became of its notifications.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    Firing,
    Resolved,
}

/// A rule starting or stopping to fire for one key: a run (each-run rules) or the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertEvent {
    /// The same on every server for the same change ([`event_id`]): receivers can drop
    /// repeats by it.
    pub id: String,
    pub rule_id: String,
    pub rule_name: String,
    /// The run's id, or `window`.
    pub key: String,
    pub state: AlertState,
    pub at_unix_nano: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The window's measure when it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// One line for a person.
    pub message: String,
    /// One per channel the rule notifies.
    #[serde(default)]
    pub deliveries: Vec<Delivery>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    pub channel_id: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    /// The receiver's last HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_status: Option<u16>,
    /// Why the last attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Being sent, or waiting for a retry.
    Pending,
    Delivered,
    /// Every attempt failed.
    Failed,
}

/// An event's id from what it is a change of: the rule, the key, the new state and the event
/// before it for that rule and key (so firing again after a resolve is a new event).
pub fn event_id(rule_id: &str, key: &str, state: AlertState, previous: Option<&str>) -> String {
    let mut h = Sha256::new();
    for part in [rule_id, key, previous.unwrap_or("")] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.update([state as u8]);
    format!("ae_{}", hex(&h.finalize()[..12]))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
