//! How often one user, one client address or one account may do something: GCRA limiters
//! (governor), one per action, each keyed by who does it. They live in this process's memory, so
//! with several API processes every limit is per process.
use std::{fmt, net::IpAddr, num::NonZeroU32, str::FromStr, time::Duration};

use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock, QuantaInstant},
};

use crate::{
    ChatError,
    login_guard::{LoginFailureSpecs, LoginGuard},
};

/// `BURST/WINDOW`: at most `BURST` at once, refilled evenly over `WINDOW` (`10/15m` = ten, then
/// one more every 90 seconds); or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateSpec(Option<(NonZeroU32, Duration)>);

impl RateSpec {
    pub const OFF: Self = Self(None);

    pub(crate) fn burst_and_window(self) -> Option<(NonZeroU32, Duration)> {
        self.0
    }

    fn quota(self) -> Option<Quota> {
        let (burst, window) = self.0?;
        Quota::with_period(window / burst.get()).map(|quota| quota.allow_burst(burst))
    }
}

impl FromStr for RateSpec {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let raw = raw.trim();
        if raw == "off" {
            return Ok(Self::OFF);
        }
        let invalid = || format!("{raw:?} is not BURST/WINDOW (like 10/15m or 20/1s) or off");
        let (burst, window) = raw.split_once('/').ok_or_else(invalid)?;
        let burst: NonZeroU32 = burst.trim().parse().map_err(|_| invalid())?;
        let window = window.trim();
        let unit_at = window.find(|c: char| !c.is_ascii_digit()).ok_or_else(invalid)?;
        let (count, unit) = window.split_at(unit_at);
        let count: u64 = count.parse().map_err(|_| invalid())?;
        let seconds = match unit {
            "s" => count,
            "m" => count * 60,
            "h" => count * 3600,
            "d" => count * 86_400,
            _ => return Err(invalid()),
        };
        if seconds == 0 {
            return Err(invalid());
        }
        Ok(Self(Some((burst, Duration::from_secs(seconds)))))
    }
}

impl fmt::Display for RateSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.write_str("off"),
            Some((burst, window)) => write!(f, "{burst}/{}s", window.as_secs()),
        }
    }
}

/// The limits of a deployment, one per thing a client can make the server do.
#[derive(Debug, Clone, Copy)]
pub struct RateSpecs {
    /// Failed logins, counted per (account, address), address, account and in all.
    pub login_failures: LoginFailureSpecs,
    /// Login attempts per client address.
    pub login_per_address: RateSpec,
    /// Registrations per client address.
    pub register_per_address: RateSpec,
    /// Direct and group messages per user.
    pub send_per_user: RateSpec,
    /// Group creations, renames, member and role changes per user.
    pub group_changes_per_user: RateSpec,
    /// Attachment upload requests per user.
    pub attachments_per_user: RateSpec,
    /// Read receipts per user.
    pub receipts_per_user: RateSpec,
    /// Typing signals per user.
    pub typing_per_user: RateSpec,
    /// User searches (`GET /users?prefix=`) per user.
    pub search_per_user: RateSpec,
    /// Exports of everything held about a user (`GET /me/export`) per user.
    pub export_per_user: RateSpec,
}

impl RateSpecs {
    pub const OFF: Self = Self {
        login_failures: LoginFailureSpecs::OFF,
        login_per_address: RateSpec::OFF,
        register_per_address: RateSpec::OFF,
        send_per_user: RateSpec::OFF,
        group_changes_per_user: RateSpec::OFF,
        attachments_per_user: RateSpec::OFF,
        receipts_per_user: RateSpec::OFF,
        typing_per_user: RateSpec::OFF,
        search_per_user: RateSpec::OFF,
        export_per_user: RateSpec::OFF,
    };
}

/// Something a user does that is limited per user.
#[derive(Debug, Clone, Copy)]
pub(crate) enum UserAction {
    Send,
    GroupChange,
    Attachment,
    Receipt,
    Typing,
    Search,
    Export,
}

type Keyed<K> = DefaultKeyedRateLimiter<K>;

pub struct RateLimits {
    clock: DefaultClock,
    login_failures: LoginGuard,
    login_per_address: Option<Keyed<IpAddr>>,
    register_per_address: Option<Keyed<IpAddr>>,
    send: Option<Keyed<String>>,
    group_changes: Option<Keyed<String>>,
    attachments: Option<Keyed<String>>,
    receipts: Option<Keyed<String>>,
    typing: Option<Keyed<String>>,
    search: Option<Keyed<String>>,
    export: Option<Keyed<String>>,
    /// One typing signal per (user, target) per second, always: more say nothing new, so they
    /// are dropped rather than refused.
    typing_per_target: Keyed<String>,
}

fn keyed<K: std::hash::Hash + Eq + Clone>(spec: RateSpec) -> Option<Keyed<K>> {
    spec.quota().map(RateLimiter::keyed)
}

impl RateLimits {
    pub fn new(specs: &RateSpecs) -> Self {
        Self {
            clock: DefaultClock::default(),
            login_failures: LoginGuard::new(&specs.login_failures),
            login_per_address: keyed(specs.login_per_address),
            register_per_address: keyed(specs.register_per_address),
            send: keyed(specs.send_per_user),
            group_changes: keyed(specs.group_changes_per_user),
            attachments: keyed(specs.attachments_per_user),
            receipts: keyed(specs.receipts_per_user),
            typing: keyed(specs.typing_per_user),
            search: keyed(specs.search_per_user),
            export: keyed(specs.export_per_user),
            typing_per_target: RateLimiter::keyed(Quota::per_second(NonZeroU32::MIN)),
        }
    }

    /// Whether a typing signal from `user_id` to `target` says something new: the first in a
    /// second does, the rest repeat it.
    pub(crate) fn typing_news(&self, user_id: &str, target: &str) -> bool {
        self.typing_per_target.check_key(&format!("{user_id}/{target}")).is_ok()
    }

    fn refused(&self, not_until: &governor::NotUntil<QuantaInstant>) -> ChatError {
        ChatError::RateLimited { retry_after: not_until.wait_time_from(self.clock.now()) }
    }

    /// Checks `key` against `limiter`, the limit called `limit` (counted when it refuses).
    fn check<K: std::hash::Hash + Eq + Clone>(
        &self,
        limit: &'static str,
        limiter: Option<&Keyed<K>>,
        key: &K,
    ) -> Result<(), ChatError> {
        match limiter.map(|limiter| limiter.check_key(key)) {
            Some(Err(not_until)) => {
                crate::metrics::rate_limited(limit);
                Err(self.refused(&not_until))
            }
            _ => Ok(()),
        }
    }

    pub(crate) fn user(&self, action: UserAction, user_id: &str) -> Result<(), ChatError> {
        let (limit, limiter) = match action {
            UserAction::Send => ("send", &self.send),
            UserAction::GroupChange => ("group_changes", &self.group_changes),
            UserAction::Attachment => ("attachments", &self.attachments),
            UserAction::Receipt => ("receipts", &self.receipts),
            UserAction::Typing => ("typing", &self.typing),
            UserAction::Search => ("search", &self.search),
            UserAction::Export => ("export", &self.export),
        };
        match limiter {
            Some(limiter) => self.check(limit, Some(limiter), &user_id.to_owned()),
            None => Ok(()),
        }
    }

    pub(crate) fn register(&self, from: IpAddr) -> Result<(), ChatError> {
        self.check("register_per_address", self.register_per_address.as_ref(), &from)
    }

    /// Before checking a password: refused while the address makes too many attempts, or the
    /// failures say so (see `login_guard`).
    pub(crate) fn login_attempt(&self, from: IpAddr, account: &str) -> Result<(), ChatError> {
        self.login_from(from)?;
        self.login_failures.before_check(account, from).inspect_err(|_| crate::metrics::rate_limited("login_failures"))
    }

    /// A login attempt from `from`, for no account in particular.
    pub(crate) fn login_from(&self, from: IpAddr) -> Result<(), ChatError> {
        self.check("login_per_address", self.login_per_address.as_ref(), &from)
    }

    pub(crate) fn login_failed(&self, account: &str, from: IpAddr) {
        self.login_failures.failed(account, from);
    }

    pub(crate) fn login_succeeded(&self, account: &str, from: IpAddr) {
        self.login_failures.succeeded(account, from);
    }

    /// Forgets keys that are back to a full allowance; run now and then so memory follows the
    /// clients that are active, not every client ever seen.
    pub fn forget_idle(&self) {
        let per_user = [
            &self.send,
            &self.group_changes,
            &self.attachments,
            &self.receipts,
            &self.typing,
            &self.search,
            &self.export,
        ];
        for limiter in per_user.into_iter().flatten() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        self.typing_per_target.retain_recent();
        self.typing_per_target.shrink_to_fit();
        for limiter in [&self.login_per_address, &self.register_per_address].into_iter().flatten() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        self.login_failures.forget_idle();
    }
}
