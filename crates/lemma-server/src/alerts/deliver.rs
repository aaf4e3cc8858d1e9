//! Sending events to channels: signed POSTs, retried with backoff while the receiver is down,
//! each on its own task so a receiver that hangs holds nothing but its own delivery.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use lemma_core::alerts::{AlertEvent, Channel, ChannelKind, Delivery, DeliveryStatus};
use lemma_store::{ProjectId, Store};
use serde_json::Value;
use sha2::Sha256;
use tokio::sync::Semaphore;

/// How long one attempt may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts per delivery; waits between them double from [`FIRST_RETRY`] (1 + 2 + 4 + 8 +
/// 16 s: a receiver down for half a minute still gets the event).
const ATTEMPTS: u32 = 6;
const FIRST_RETRY: Duration = Duration::from_secs(1);
/// Deliveries in flight at once; more wait their turn.
const IN_FLIGHT: usize = 32;

/// The bodies one event sends, by channel kind.
pub struct Bodies {
    pub webhook: Value,
    pub slack: Value,
}

#[derive(Clone)]
pub struct Deliverer {
    client: reqwest::Client,
    slots: Arc<Semaphore>,
}

/// What one attempt got.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub ok: bool,
    pub status: Option<u16>,
    pub error: Option<String>,
}

impl Deliverer {
    pub fn new() -> anyhow::Result<Deliverer> {
        Ok(Deliverer {
            client: reqwest::Client::builder()
                .timeout(ATTEMPT_TIMEOUT)
                .user_agent(concat!("lemma/", env!("CARGO_PKG_VERSION")))
                .build()?,
            slots: Arc::new(Semaphore::new(IN_FLIGHT)),
        })
    }

    /// Delivers `event` to each channel in the background, recording every attempt's outcome
    /// on the event.
    pub fn deliver(
        &self,
        store: Arc<dyn Store>,
        project: ProjectId,
        mut event: AlertEvent,
        channels: Vec<Channel>,
        bodies: Bodies,
    ) {
        let this = self.clone();
        tokio::spawn(async move {
            let _slot = this.slots.clone().acquire_owned().await;
            let bodies = Arc::new(bodies);
            let mut sends = tokio::task::JoinSet::new();
            for (i, channel) in channels.into_iter().enumerate() {
                let (this, bodies) = (this.clone(), bodies.clone());
                let event_id = event.id.clone();
                sends.spawn(async move {
                    let body = match channel.kind {
                        ChannelKind::Webhook => &bodies.webhook,
                        ChannelKind::Slack => &bodies.slack,
                    };
                    let mut last = None;
                    let mut wait = FIRST_RETRY;
                    for attempt in 1..=ATTEMPTS {
                        let outcome = this.send(&channel, &event_id, body).await;
                        let ok = outcome.ok;
                        last = Some((attempt, outcome));
                        if ok || attempt == ATTEMPTS {
                            break;
                        }
                        tokio::time::sleep(wait).await;
                        wait *= 2;
                    }
                    (i, last.expect("at least one attempt"))
                });
            }
            while let Some(done) = sends.join_next().await {
                let Ok((i, (attempts, outcome))) = done else {
                    continue;
                };
                if let Some(d) = event.deliveries.get_mut(i) {
                    d.attempts = attempts;
                    d.status = if outcome.ok {
                        DeliveryStatus::Delivered
                    } else {
                        DeliveryStatus::Failed
                    };
                    d.response_status = outcome.status;
                    d.error = outcome.error.clone();
                }
                if !outcome.ok {
                    tracing::warn!(event = event.id, error = ?outcome.error, status = ?outcome.status, "an alert could not be delivered");
                }
                if let Err(e) = store.put_alert_event(project, &event).await {
                    tracing::warn!(error = %e, event = event.id, "recording an alert's delivery failed");
                }
            }
        });
    }

    /// One signed POST.
    pub async fn send(&self, channel: &Channel, event_id: &str, body: &Value) -> Outcome {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        let mut req = self
            .client
            .post(&channel.url)
            .header("content-type", "application/json")
            .header("x-lemma-event-id", event_id);
        if let Some(secret) = &channel.secret {
            let at = crate::api::now_unix_nano() / 1_000_000_000;
            req = req.header("x-lemma-signature", signature(secret, at, &bytes));
        }
        match req.body(bytes).send().await {
            Ok(resp) => {
                let status = resp.status();
                Outcome {
                    ok: status.is_success(),
                    status: Some(status.as_u16()),
                    error: (!status.is_success())
                        .then(|| format!("the receiver answered {status}")),
                }
            }
            Err(e) => Outcome {
                ok: false,
                status: None,
                error: Some(if e.is_timeout() {
                    format!("no answer within {} s", ATTEMPT_TIMEOUT.as_secs())
                } else {
                    format!("could not reach the receiver: {e}")
                }),
            },
        }
    }
}

/// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: the time is signed with the body,
/// so a receiver can refuse old requests replayed.
pub fn signature(secret: &str, unix_seconds: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(unix_seconds.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={unix_seconds},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// A pending delivery per channel, for a new event.
pub fn pending(channels: &[Channel]) -> Vec<Delivery> {
    channels
        .iter()
        .map(|c| Delivery {
            channel_id: c.id.clone(),
            status: DeliveryStatus::Pending,
            attempts: 0,
            response_status: None,
            error: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn signatures_are_hmac_sha256_of_time_and_body() {
        // Checked against `printf '1700000000.{}' | openssl dgst -sha256 -hmac key`.
        assert_eq!(
            super::signature("key", 1_700_000_000, b"{}"),
            "t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
    }
}
