//! Limits on failed logins (and temporary-password requests), per account
//! id and per client address.
//!
//! A fixed window per key: the first failure opens a window of `period`,
//! and once `limit` failures fall in it every attempt on that key is refused
//! until the window ends. A key therefore stays locked for at most `period`
//! after its first failure (5 minutes per id), which bounds how long an
//! attacker can lock a real user out, while capping guesses at `limit` per
//! period. `governor` and similar crates count every request and cannot ask
//! "is this key over?" without spending a cell, which is why this is written
//! out; it is an in-memory map, pruned as it grows, per process.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long to wait before trying again, in whole seconds (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

struct Window {
    limit: u32,
    period: Duration,
    entries: Mutex<HashMap<String, (Instant, u32)>>,
}

impl Window {
    fn new(limit: u32, period: Duration) -> Self {
        Self {
            limit,
            period,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn check(&self, key: &str, now: Instant) -> Result<(), RetryAfter> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(key) {
            Some(&(start, count)) if count >= self.limit && now < start + self.period => {
                let left = (start + self.period).saturating_duration_since(now);
                let ceil = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                Err(RetryAfter(ceil.max(1)))
            }
            _ => Ok(()),
        }
    }

    fn record(&self, key: &str, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= 10_000 {
            entries.retain(|_, (start, _)| now < *start + self.period);
        }
        let entry = entries.entry(key.to_owned()).or_insert((now, 0));
        if now >= entry.0 + self.period {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }
}

/// Failed-attempt limits: 10 per id (letter case ignored) per 5 minutes and
/// 30 per client address per minute, as the contract sets them.
pub struct AttemptLimiter {
    per_id: Window,
    per_address: Window,
}

impl Default for AttemptLimiter {
    fn default() -> Self {
        Self::new(10, Duration::from_secs(300), 30, Duration::from_secs(60))
    }
}

impl AttemptLimiter {
    pub fn new(
        id_limit: u32,
        id_period: Duration,
        address_limit: u32,
        address_period: Duration,
    ) -> Self {
        Self {
            per_id: Window::new(id_limit, id_period),
            per_address: Window::new(address_limit, address_period),
        }
    }

    /// `Err` when either the id or the address is over its limit.
    pub fn check(&self, id: &str, address: IpAddr) -> Result<(), RetryAfter> {
        let now = Instant::now();
        self.per_id.check(&id_key(id), now)?;
        self.per_address.check(&address.to_string(), now)
    }

    /// Counts one failed attempt against the id and the address.
    pub fn record_failure(&self, id: &str, address: IpAddr) {
        let now = Instant::now();
        self.per_id.record(&id_key(id), now);
        self.per_address.record(&address.to_string(), now);
    }
}

/// The key an id is limited under: letter case ignored, and cut to 64
/// characters (valid ids have at most 50), so that made-up ids of 60 KiB
/// cannot bloat the map.
fn id_key(id: &str) -> String {
    id.chars().take(64).collect::<String>().to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn the_eleventh_attempt_on_an_id_is_refused_whatever_its_case() {
        let limiter = AttemptLimiter::default();
        for n in 0..10 {
            assert!(limiter.check("Alice", HOME).is_ok(), "attempt {n}");
            limiter.record_failure(if n % 2 == 0 { "alice" } else { "ALICE" }, HOME);
        }
        let RetryAfter(seconds) = limiter.check("aLiCe", HOME).unwrap_err();
        assert!((299..=300).contains(&seconds), "{seconds}");
        assert!(
            limiter
                .check("bob1", IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)))
                .is_ok()
        );
    }

    #[test]
    fn long_made_up_ids_are_keyed_by_their_first_64_characters() {
        assert_eq!(id_key(&"X".repeat(60_000)), "x".repeat(64));
        assert_eq!(id_key("AliCe"), "alice");
    }

    #[test]
    fn an_address_is_limited_across_ids() {
        let limiter = AttemptLimiter::default();
        for n in 0..30 {
            limiter.record_failure(&format!("user{n}"), HOME);
        }
        assert!(limiter.check("fresh-id", HOME).is_err());
    }

    #[test]
    fn the_window_ends_after_its_period() {
        let window = Window::new(2, Duration::from_secs(300));
        let start = Instant::now();
        window.record("alice", start);
        window.record("alice", start + Duration::from_secs(10));
        assert_eq!(
            window.check("alice", start + Duration::from_secs(299)),
            Err(RetryAfter(1))
        );
        assert!(
            window
                .check("alice", start + Duration::from_secs(300))
                .is_ok()
        );
        // A failure after the window opens a new one with a count of one.
        window.record("alice", start + Duration::from_secs(301));
        assert!(
            window
                .check("alice", start + Duration::from_secs(302))
                .is_ok()
        );
    }
}
