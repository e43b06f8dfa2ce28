//! A keyed token-bucket rate limiter with bounded memory (issue 10 item 4: an anonymous caller cannot grow
//! persistent state faster than a configured rate).
//!
//! Each key (a source address, an EID) has a bucket of `burst` tokens refilled at `per_sec`; a request takes
//! one token or is refused with the time until the next token (the `Retry-After` of an HTTP 429).
//!
//! Memory is bounded by `max_keys`: the key map never holds more buckets than that. When it is full, buckets
//! that have refilled completely are dropped (a full bucket is the same as no bucket); if every bucket is still
//! in use — many distinct keys in a short time, e.g. spoofed EIDs or an IPv6 attacker cycling addresses — new
//! keys share one overflow bucket, so a key flood is rate-limited as a whole instead of growing memory.
//!
//! The limiter is in-process: each node counts on its own (N nodes allow N times the rate).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a full key map is scanned for refilled buckets at most (the scan is O(max_keys)).
const PRUNE_EVERY: Duration = Duration::from_secs(1);

/// The rate of one key: `burst` requests at once, then `per_sec` per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_sec: f64,
    pub burst: u32,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(burst: u32, now: Instant) -> Bucket {
        Bucket { tokens: f64::from(burst), at: now }
    }

    /// The tokens the bucket would hold at `now`.
    fn refilled(&self, rate: Rate, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        (self.tokens + elapsed * rate.per_sec).min(f64::from(rate.burst))
    }

    /// Takes one token, or says how long until one is there.
    fn take(&mut self, rate: Rate, now: Instant) -> Result<(), Duration> {
        self.tokens = self.refilled(rate, now);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - self.tokens) / rate.per_sec;
            Err(Duration::from_secs_f64(wait.clamp(0.001, 86_400.0)))
        }
    }
}

struct State<K> {
    buckets: HashMap<K, Bucket>,
    /// Shared by new keys while the map is full of buckets in use.
    overflow: Bucket,
    last_prune: Option<Instant>,
}

/// A token bucket per key, at most `max_keys` buckets (see the module docs).
pub struct KeyedLimiter<K> {
    rate: Rate,
    max_keys: usize,
    state: Mutex<State<K>>,
}

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    /// `None` when `rate.per_sec` is 0 or `rate.burst` is 0 (limit off).
    pub fn new(rate: Rate, max_keys: usize) -> Option<KeyedLimiter<K>> {
        if rate.per_sec.is_nan() || rate.per_sec <= 0.0 || rate.burst == 0 {
            return None;
        }
        let now = Instant::now();
        Some(KeyedLimiter {
            rate,
            max_keys: max_keys.max(1),
            state: Mutex::new(State {
                buckets: HashMap::new(),
                overflow: Bucket::full(rate.burst, now),
                last_prune: None,
            }),
        })
    }

    /// One request of `key` now: `Err(wait)` when refused, `wait` being the time until it would be allowed.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    /// As [`KeyedLimiter::check`] at a given instant (for tests).
    pub fn check_at(&self, key: &K, now: Instant) -> Result<(), Duration> {
        // A poisoned lock only means another thread panicked mid-update: the buckets are still plain numbers.
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let rate = self.rate;
        if let Some(bucket) = state.buckets.get_mut(key) {
            return bucket.take(rate, now);
        }
        if state.buckets.len() >= self.max_keys {
            let due = state.last_prune.is_none_or(|t| now.saturating_duration_since(t) >= PRUNE_EVERY);
            if due {
                state.last_prune = Some(now);
                let burst = f64::from(rate.burst);
                state.buckets.retain(|_, b| b.refilled(rate, now) < burst);
            }
        }
        if state.buckets.len() < self.max_keys {
            let mut bucket = Bucket::full(rate.burst, now);
            let taken = bucket.take(rate, now);
            state.buckets.insert(key.clone(), bucket);
            taken
        } else {
            state.overflow.take(rate, now)
        }
    }

    /// Keys with a bucket (never more than `max_keys`).
    pub fn tracked_keys(&self) -> usize {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).buckets.len()
    }
}

/// Whole seconds for a `Retry-After` header: the wait rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_sec: f64, burst: u32, max_keys: usize) -> KeyedLimiter<u32> {
        KeyedLimiter::new(Rate { per_sec, burst }, max_keys).unwrap()
    }

    #[test]
    fn burst_then_refusal_then_refill() {
        let l = limiter(2.0, 3, 10);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.check_at(&1, t0), Ok(()));
        }
        let wait = l.check_at(&1, t0).unwrap_err();
        assert!(wait > Duration::from_millis(400) && wait <= Duration::from_millis(500), "{wait:?}");
        assert_eq!(retry_after_secs(wait), 1);
        // Another key has its own bucket.
        assert_eq!(l.check_at(&2, t0), Ok(()));
        // Half a second later one token is back, and only one.
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(l.check_at(&1, t1), Ok(()));
        assert!(l.check_at(&1, t1).is_err());
        // Refill stops at the burst.
        let t2 = t1 + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(l.check_at(&1, t2), Ok(()));
        }
        assert!(l.check_at(&1, t2).is_err());
    }

    #[test]
    fn zero_rate_or_burst_means_no_limiter() {
        assert!(KeyedLimiter::<u32>::new(Rate { per_sec: 0.0, burst: 5 }, 10).is_none());
        assert!(KeyedLimiter::<u32>::new(Rate { per_sec: 1.0, burst: 0 }, 10).is_none());
        assert!(KeyedLimiter::<u32>::new(Rate { per_sec: f64::NAN, burst: 1 }, 10).is_none());
    }

    #[test]
    fn memory_stays_bounded_under_a_key_flood() {
        let l = limiter(1.0, 2, 100);
        let t0 = Instant::now();
        let mut allowed = 0;
        for key in 0..100_000u32 {
            if l.check_at(&key, t0).is_ok() {
                allowed += 1;
            }
            assert!(l.tracked_keys() <= 100);
        }
        // 100 keys with their own bucket, then the flood shares one overflow bucket of 2.
        assert_eq!(allowed, 100 + 2);
        // Once buckets have refilled they are dropped and new keys get their own bucket again.
        let later = t0 + Duration::from_secs(10);
        assert_eq!(l.check_at(&1_000_000, later), Ok(()));
        assert_eq!(l.tracked_keys(), 1);
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(2001)), 3);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
