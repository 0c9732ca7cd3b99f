//! Throttling of `/api/login` against password guessing.
//!
//! Two limits, checked before the password is hashed (so they also bound
//! argon2 work): a `governor` quota per client address, shared by every
//! account tried from it, and a lock-out per account after repeated wrong
//! passwords from anywhere, during which even the right password is refused.
//! The address is the TCP peer's, unless the operator says the hub sits
//! behind a reverse proxy they run (`--trust-forwarded-for`): then it is the
//! last `X-Forwarded-For` entry, the one that proxy added. Trusting the
//! header otherwise would let a guesser pick a fresh address per attempt.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Attempts from one address: 20 at once, then one every 3 seconds.
const ADDRESS_BURST: u32 = 20;
const ADDRESS_REFILL: Duration = Duration::from_secs(3);
/// Wrong passwords in a row that lock an account, and for how long.
pub const FAILURES_BEFORE_LOCK: u32 = 10;
pub const LOCK_FOR: Duration = Duration::from_secs(15 * 60);
/// Addresses and accounts remembered at most; beyond it, those with
/// nothing against them are forgotten.
const REMEMBERED: usize = 100_000;

/// Why a log-in attempt is refused before its password is checked.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Too many attempts from this address; retry after this long.
    Address(Duration),
    /// This account is locked; retry after this long.
    Account(Duration),
}

#[derive(Default)]
struct Failures {
    count: u32,
    locked_until: Option<Instant>,
}

pub struct LoginGuard {
    addresses: DefaultKeyedRateLimiter<IpAddr>,
    accounts: Mutex<HashMap<String, Failures>>,
    trust_forwarded_for: AtomicBool,
}

impl Default for LoginGuard {
    fn default() -> Self {
        let burst = NonZeroU32::new(ADDRESS_BURST).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(ADDRESS_REFILL)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        Self {
            addresses: RateLimiter::keyed(quota),
            accounts: Mutex::new(HashMap::new()),
            trust_forwarded_for: AtomicBool::new(false),
        }
    }
}

impl LoginGuard {
    /// Takes the client's address from `X-Forwarded-For` from now on.
    pub fn trust_forwarded_for(&self, trust: bool) {
        self.trust_forwarded_for.store(trust, Ordering::Relaxed);
    }

    /// The client's address: `peer`, or what the trusted proxy says.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trust_forwarded_for.load(Ordering::Relaxed) {
            return peer;
        }
        headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|last| last.trim().parse().ok())
            .unwrap_or(peer)
    }

    /// Counts an attempt by `ip` on `username`; `Err` when it must be refused.
    pub fn check(&self, ip: IpAddr, username: &str) -> Result<(), Refusal> {
        let now = Instant::now();
        if let Some(Failures {
            locked_until: Some(until),
            ..
        }) = self.accounts().get(username)
            && *until > now
        {
            return Err(Refusal::Account(*until - now));
        }
        if self.addresses.len() > REMEMBERED {
            self.addresses.retain_recent();
        }
        self.addresses
            .check_key(&ip)
            .map_err(|wait| Refusal::Address(wait.wait_time_from(DefaultClock::default().now())))
    }

    /// A wrong password for `username`: the tenth in a row locks it.
    pub fn failed(&self, username: &str) {
        let now = Instant::now();
        let mut accounts = self.accounts();
        if accounts.len() >= REMEMBERED {
            accounts.retain(|_, f| f.locked_until.is_some_and(|until| until > now));
        }
        let failures = accounts.entry(username.to_string()).or_default();
        if failures.locked_until.is_some_and(|until| until <= now) {
            *failures = Failures::default();
        }
        failures.count += 1;
        if failures.count >= FAILURES_BEFORE_LOCK {
            failures.locked_until = Some(now + LOCK_FOR);
            tracing::warn!(username, "account locked after repeated wrong passwords");
        }
    }

    /// The right password: the account's count starts again.
    pub fn succeeded(&self, username: &str) {
        self.accounts().remove(username);
    }

    fn accounts(&self) -> std::sync::MutexGuard<'_, HashMap<String, Failures>> {
        self.accounts.lock().unwrap_or_else(|p| p.into_inner())
    }
}
