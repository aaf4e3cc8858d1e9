//! Slowing down password guessing: after `FREE_FAILURES` failed sign-ins for a user name,
//! each further attempt must wait a delay that doubles with every failure, up to `MAX_DELAY`.
//! A delay rather than a lockout, so a stranger guessing cannot lock a person out for long;
//! with Argon2's own cost it keeps guessing to a few tries a minute per account. Per server,
//! in memory: a restart forgets it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const FREE_FAILURES: u32 = 5;
pub const MAX_DELAY: Duration = Duration::from_secs(60);
/// Failures older than this are forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

/// The wait after `failures` failed attempts.
fn delay(failures: u32) -> Duration {
    if failures < FREE_FAILURES {
        return Duration::ZERO;
    }
    let doubled = 1u64 << (failures - FREE_FAILURES).min(16);
    Duration::from_secs(doubled).min(MAX_DELAY)
}

impl LoginThrottle {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u32, Instant)>> {
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Err(wait)` while the user name must wait before another attempt.
    pub fn check(&self, user: &str) -> Result<(), Duration> {
        self.check_at(user, Instant::now())
    }

    fn check_at(&self, user: &str, now: Instant) -> Result<(), Duration> {
        let failures = self.lock();
        let Some((count, last)) = failures.get(&user.to_lowercase()) else {
            return Ok(());
        };
        let ready = *last + delay(*count);
        if now < ready {
            Err(ready - now)
        } else {
            Ok(())
        }
    }

    pub fn failed(&self, user: &str) {
        self.failed_at(user, Instant::now());
    }

    fn failed_at(&self, user: &str, now: Instant) {
        let mut failures = self.lock();
        if failures.len() >= MAX_ENTRIES {
            failures.retain(|_, (_, last)| now.duration_since(*last) < FORGET_AFTER);
            if failures.len() >= MAX_ENTRIES {
                failures.clear();
            }
        }
        let entry = failures.entry(user.to_lowercase()).or_insert((0, now));
        if now.duration_since(entry.1) >= FORGET_AFTER {
            entry.0 = 0;
        }
        entry.0 += 1;
        entry.1 = now;
    }

    pub fn succeeded(&self, user: &str) {
        self.lock().remove(&user.to_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_past_the_free_ones_wait_longer_each_time() {
        let throttle = LoginThrottle::default();
        let t0 = Instant::now();
        for i in 0..FREE_FAILURES {
            assert!(throttle.check_at("Ada", t0).is_ok(), "attempt {i}");
            throttle.failed_at("ada", t0);
        }
        assert_eq!(throttle.check_at("ADA", t0), Err(Duration::from_secs(1)));
        assert!(throttle
            .check_at("ada", t0 + Duration::from_secs(1))
            .is_ok());
        throttle.failed_at("ada", t0 + Duration::from_secs(1));
        assert_eq!(
            throttle.check_at("ada", t0 + Duration::from_secs(1)),
            Err(Duration::from_secs(2))
        );
        assert!(throttle.check_at("bob", t0).is_ok(), "per user");
        for _ in 0..20 {
            throttle.failed_at("ada", t0 + Duration::from_secs(2));
        }
        assert_eq!(
            throttle.check_at("ada", t0 + Duration::from_secs(2)),
            Err(MAX_DELAY)
        );
        throttle.succeeded("ada");
        assert!(throttle.check_at("ada", t0).is_ok());
    }

    #[test]
    fn old_failures_are_forgotten() {
        let throttle = LoginThrottle::default();
        let t0 = Instant::now();
        for _ in 0..FREE_FAILURES {
            throttle.failed_at("ada", t0);
        }
        let later = t0 + FORGET_AFTER;
        throttle.failed_at("ada", later);
        assert!(
            throttle.check_at("ada", later).is_ok(),
            "counting starts again"
        );
    }
}
