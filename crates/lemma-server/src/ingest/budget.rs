//! The bytes of request bodies in flight, bounded.
//!
//! The ingest queue bounds spans, but a request's memory is set by its bytes: a 15 KB gzip body
//! can inflate to a 15 MiB span, and sixty of them at once held gigabytes before any span was
//! queued. Every OTLP body reserves its bytes (as read, and again as decompressed) from one
//! budget while they are read, and holds the reservation until its answer; when the budget is
//! spent a request is refused at once with 503 and Retry-After, which exporters retry.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

#[derive(Clone)]
pub struct Budget {
    bytes: Arc<Semaphore>,
}

/// Bytes held for one request; given back when dropped.
pub struct Reservation {
    budget: Budget,
    held: Option<OwnedSemaphorePermit>,
}

impl Budget {
    pub fn new(max_bytes: usize) -> Budget {
        Budget {
            bytes: Arc::new(Semaphore::new(max_bytes.min(Semaphore::MAX_PERMITS))),
        }
    }

    pub fn reservation(&self) -> Reservation {
        Reservation {
            budget: self.clone(),
            held: None,
        }
    }
}

impl Reservation {
    /// Holds `bytes` more, or refuses the request with 503 when the budget has not that much
    /// left.
    pub fn grow(&mut self, bytes: usize) -> Result<(), ApiError> {
        if bytes == 0 {
            return Ok(());
        }
        let permit = u32::try_from(bytes)
            .ok()
            .and_then(|n| self.budget.bytes.clone().try_acquire_many_owned(n).ok())
            .ok_or_else(|| ApiError {
                code: "busy",
                message: "the server holds as many request bytes as it may; retry after the \
                          delay in Retry-After"
                    .into(),
                ..ApiError::busy()
            })?;
        match &mut self.held {
            Some(held) => held.merge(permit),
            None => self.held = Some(permit),
        }
        Ok(())
    }

    /// Gives back `bytes` of what is held (a buffer that was freed).
    pub fn shrink(&mut self, bytes: usize) {
        if let Some(held) = &mut self.held {
            let n = bytes.min(held.num_permits());
            drop(held.split(n));
        }
    }

    #[cfg(test)]
    fn held(&self) -> usize {
        self.held.as_ref().map_or(0, |p| p.num_permits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_share_one_budget_and_give_it_back() {
        let budget = Budget::new(100);
        let mut a = budget.reservation();
        a.grow(60).unwrap();
        let mut b = budget.reservation();
        let refused = b.grow(41).unwrap_err();
        assert_eq!(refused.status, axum::http::StatusCode::SERVICE_UNAVAILABLE);
        assert!(refused.retry_after.is_some());
        b.grow(40).unwrap();
        a.shrink(50);
        assert_eq!(a.held(), 10);
        b.grow(50).unwrap();
        drop(a);
        drop(b);
        budget.reservation().grow(100).unwrap();
    }
}
