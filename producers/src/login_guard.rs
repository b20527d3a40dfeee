//! Failed logins, counted so that guessing is slowed and nobody can lock anyone out. Failures are
//! counted per (account, address), per address, per account and in all:
//! - an address past its failures against one account is refused for that account; past its
//!   failures over all accounts (stuffing lists of names), refused for every account;
//! - an account past its failures from all addresses is under attack: an address that has failed
//!   against it is refused, one that has not is still checked;
//! - past the failures of the whole process, every address with a failure on record is refused.
//!
//! So the right password from an address that has not been failing always works at once. Each
//! table holds a bounded number of keys; when one is full the oldest go, none is skipped.
//! A table is a GCRA (one "theoretical arrival time" per key) rather than governor's keyed
//! limiter, which can neither forget one key nor tell which key is oldest.
use std::{
    collections::HashMap,
    hash::Hash,
    net::IpAddr,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use crate::{ChatError, RateSpec};

/// Keys each table holds at most; a full table forgets its oldest [`EVICT_SHARE`] at once.
const MAX_KEYS: usize = 100_000;
/// The share of a full table forgotten in one pass (one in this many).
const EVICT_SHARE: usize = 100;

/// The limits, each `BURST/WINDOW` or off.
#[derive(Debug, Clone, Copy)]
pub struct LoginFailureSpecs {
    /// Failures of one account from one address.
    pub per_account_and_address: RateSpec,
    /// Failures from one address, over all accounts.
    pub per_address: RateSpec,
    /// Failures of one account, from all addresses.
    pub per_account: RateSpec,
    /// Failures of the whole process.
    pub global: RateSpec,
}

impl LoginFailureSpecs {
    pub const OFF: Self = Self {
        per_account_and_address: RateSpec::OFF,
        per_address: RateSpec::OFF,
        per_account: RateSpec::OFF,
        global: RateSpec::OFF,
    };
}

pub(crate) struct LoginGuard {
    epoch: Instant,
    pair: Option<Table<(String, IpAddr)>>,
    address: Option<Table<IpAddr>>,
    account: Option<Table<String>>,
    global: Option<Table<()>>,
}

impl LoginGuard {
    pub(crate) fn new(specs: &LoginFailureSpecs) -> Self {
        Self {
            epoch: Instant::now(),
            pair: Table::new(specs.per_account_and_address),
            address: Table::new(specs.per_address),
            account: Table::new(specs.per_account),
            global: Table::new(specs.global),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Before checking a password of `account` from `from`: refused while a limit says so.
    pub(crate) fn before_check(&self, account: &str, from: IpAddr) -> Result<(), ChatError> {
        let now = self.now();
        let pair = (account.to_owned(), from);
        let over =
            |wait: Option<Duration>| wait.map_or(Ok(()), |retry_after| Err(ChatError::RateLimited { retry_after }));
        over(self.address.as_ref().and_then(|t| t.refused_for(&from, now)))?;
        over(self.pair.as_ref().and_then(|t| t.refused_for(&pair, now)))?;
        let failed_here = self.pair.as_ref().is_some_and(|t| t.on_record(&pair, now));
        if failed_here {
            over(self.account.as_ref().and_then(|t| t.refused_for(&account.to_owned(), now)))?;
        }
        let failing_address = self.address.as_ref().is_some_and(|t| t.on_record(&from, now)) || failed_here;
        if failing_address {
            over(self.global.as_ref().and_then(|t| t.refused_for(&(), now)))?;
        }
        Ok(())
    }

    pub(crate) fn failed(&self, account: &str, from: IpAddr) {
        let now = self.now();
        if let Some(t) = &self.pair {
            t.fail((account.to_owned(), from), now);
        }
        if let Some(t) = &self.address {
            t.fail(from, now);
        }
        if let Some(t) = &self.account {
            t.fail(account.to_owned(), now);
        }
        if let Some(t) = &self.global {
            t.fail((), now);
        }
    }

    /// The right password from `from`: its failures against the account are forgotten. Not its
    /// failures against others, nor the account's from elsewhere: an attacker's own account
    /// would otherwise wipe the slate between guesses.
    pub(crate) fn succeeded(&self, account: &str, from: IpAddr) {
        if let Some(t) = &self.pair {
            t.forget(&(account.to_owned(), from));
        }
    }

    /// Forgets keys whose failures have all worn off.
    pub(crate) fn forget_idle(&self) {
        let now = self.now();
        self.pair.iter().for_each(|t| t.forget_worn_off(now));
        self.address.iter().for_each(|t| t.forget_worn_off(now));
        self.account.iter().for_each(|t| t.forget_worn_off(now));
        self.global.iter().for_each(|t| t.forget_worn_off(now));
    }
}

/// One limit: per key, the time (nanoseconds since the guard's epoch) at which its failures will
/// have worn off entirely.
struct Table<K> {
    /// Nanoseconds one failure takes to wear off.
    interval: u64,
    /// Nanoseconds BURST failures take to wear off.
    window: u64,
    clear_at: Mutex<HashMap<K, u64>>,
}

impl<K: Eq + Hash + Clone> Table<K> {
    fn new(spec: RateSpec) -> Option<Self> {
        let (burst, window) = spec.burst_and_window()?;
        let window = u64::try_from(window.as_nanos()).unwrap_or(u64::MAX);
        Some(Self { interval: window / u64::from(burst.get()), window, clear_at: Mutex::new(HashMap::new()) })
    }

    fn keys(&self) -> std::sync::MutexGuard<'_, HashMap<K, u64>> {
        self.clear_at.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How long until `key` may fail again, if it may not now: BURST failures, then one per
    /// interval.
    fn refused_for(&self, key: &K, now: u64) -> Option<Duration> {
        let clear_at = *self.keys().get(key)?;
        let room_at = clear_at.saturating_sub(self.window - self.interval);
        (room_at > now).then(|| Duration::from_nanos(room_at - now))
    }

    /// Whether `key` has a failure that has not worn off.
    fn on_record(&self, key: &K, now: u64) -> bool {
        self.keys().get(key).is_some_and(|&clear_at| clear_at > now)
    }

    fn fail(&self, key: K, now: u64) {
        let mut keys = self.keys();
        if keys.len() >= MAX_KEYS && !keys.contains_key(&key) {
            keys.retain(|_, &mut clear_at| clear_at > now);
            if keys.len() >= MAX_KEYS {
                evict_oldest(&mut keys);
            }
        }
        let clear_at = keys.entry(key).or_insert(now);
        *clear_at = (*clear_at).max(now).saturating_add(self.interval);
    }

    fn forget(&self, key: &K) {
        let _ = self.keys().remove(key);
    }

    fn forget_worn_off(&self, now: u64) {
        let mut keys = self.keys();
        keys.retain(|_, &mut clear_at| clear_at > now);
        keys.shrink_to_fit();
    }
}

/// Forgets the keys whose failures wear off soonest (the oldest), a share of the table at once.
fn evict_oldest<K: Eq + Hash + Clone>(keys: &mut HashMap<K, u64>) {
    let mut by_age: Vec<u64> = keys.values().copied().collect();
    let cut = (keys.len() / EVICT_SHARE).max(1);
    let (_, &mut threshold, _) = by_age.select_nth_unstable(cut - 1);
    let mut evicted = 0;
    keys.retain(|_, &mut clear_at| {
        let keep = clear_at > threshold || evicted >= cut;
        if !keep {
            evicted += 1;
        }
        keep
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn spec(raw: &str) -> RateSpec {
        raw.parse().unwrap()
    }

    fn ip(raw: &str) -> IpAddr {
        raw.parse().unwrap()
    }

    fn guard(pair: &str, address: &str, account: &str, global: &str) -> LoginGuard {
        LoginGuard::new(&LoginFailureSpecs {
            per_account_and_address: spec(pair),
            per_address: spec(address),
            per_account: spec(account),
            global: spec(global),
        })
    }

    #[test]
    fn a_guessing_address_is_refused_and_the_owner_elsewhere_is_not() {
        let guard = guard("3/1h", "100/1h", "100/1h", "off");
        let (attacker, owner) = (ip("203.0.113.1"), ip("198.51.100.1"));
        for _ in 0..3 {
            guard.before_check("alice", attacker).unwrap();
            guard.failed("alice", attacker);
        }
        assert!(guard.before_check("alice", attacker).is_err());
        assert!(guard.before_check("alice", owner).is_ok());
        assert!(guard.before_check("bob", attacker).is_ok(), "another account is another pair");
    }

    #[test]
    fn an_account_under_attack_refuses_failing_addresses_and_checks_new_ones() {
        let guard = guard("10/1h", "100/1h", "5/1h", "off");
        for i in 0..5 {
            guard.failed("alice", ip(&format!("203.0.113.{i}")));
        }
        assert!(guard.before_check("alice", ip("203.0.113.1")).is_err(), "it failed against alice");
        assert!(guard.before_check("alice", ip("198.51.100.1")).is_ok(), "a new address is checked");
        assert!(guard.before_check("bob", ip("203.0.113.1")).is_ok(), "other accounts are not under attack");
    }

    #[test]
    fn past_the_global_budget_only_addresses_without_failures_are_checked() {
        let guard = guard("10/1h", "100/1h", "100/1h", "4/1h");
        for i in 0..4 {
            guard.failed(&format!("user{i}"), ip("203.0.113.9"));
        }
        assert!(guard.before_check("anyone", ip("203.0.113.9")).is_err());
        assert!(guard.before_check("anyone", ip("198.51.100.1")).is_ok());
    }

    #[test]
    fn an_address_stuffing_names_is_refused_for_every_account() {
        let guard = guard("10/1h", "3/1h", "100/1h", "off");
        for name in ["a", "b", "c"] {
            guard.failed(name, ip("203.0.113.9"));
        }
        assert!(guard.before_check("d", ip("203.0.113.9")).is_err());
    }

    #[test]
    fn a_success_forgets_that_pair_only() {
        let guard = guard("2/1h", "100/1h", "100/1h", "off");
        let from = ip("198.51.100.1");
        guard.failed("alice", from);
        guard.succeeded("alice", from);
        guard.failed("alice", from);
        assert!(guard.before_check("alice", from).is_ok(), "the count started again");
    }

    #[test]
    fn a_full_table_forgets_its_oldest_and_tracks_the_newcomer() {
        let table = Table::<u32>::new(spec("1/1h")).unwrap();
        for key in 0..u32::try_from(MAX_KEYS).unwrap() {
            table.fail(key, u64::from(key));
        }
        let newcomer = u32::try_from(MAX_KEYS).unwrap();
        table.fail(newcomer, 1 << 40);
        assert!(table.on_record(&newcomer, 1 << 40), "tracked, not skipped");
        assert!(!table.keys().contains_key(&0), "the oldest went");
        assert!(table.keys().contains_key(&(newcomer - 1)), "the newest stayed");
        assert!(table.keys().len() <= MAX_KEYS);
    }
}
