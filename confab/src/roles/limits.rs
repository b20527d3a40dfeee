//! What clients may make an API process spend: the rate limits, password hashing, HTTP and
//! WebSocket bounds, as flags and environment variables (the README has the table).
use std::{thread, time::Duration};

use clap::Args;
use confab_api::{ConnectionLimits, HttpLimits, TrustedProxies, live::ResumeLimits};
use confab_producers::{LoginFailureSpecs, RateSpec, RateSpecs, ResumeBounds};
use ipnet::IpNet;

#[derive(Debug, Clone, Args)]
pub(crate) struct LimitArgs {
    /// `off` turns every rate limit off (for benchmarks); the bounds stay.
    #[arg(long, env = "CONFAB_RATE_LIMITS", default_value = "on", value_parser = ["on", "off"])]
    pub(crate) rate_limits: String,
    /// Failed logins of one account from one client address (BURST/WINDOW, or off); past it
    /// that address is refused for that account, others are not. A success resets it.
    #[arg(long, env = "CONFAB_RATE_LOGIN_FAILURES", default_value = "10/15m")]
    pub(crate) rate_login_failures: RateSpec,
    /// Failed logins from one client address over all accounts; past it the address is
    /// refused for every account.
    #[arg(long, env = "CONFAB_RATE_LOGIN_FAILURES_PER_ADDRESS", default_value = "30/15m")]
    pub(crate) rate_login_failures_per_address: RateSpec,
    /// Failed logins of one account from all addresses; past it the account is under attack:
    /// addresses that have failed against it are refused, others are still checked.
    #[arg(long, env = "CONFAB_RATE_LOGIN_FAILURES_PER_ACCOUNT", default_value = "100/15m")]
    pub(crate) rate_login_failures_per_account: RateSpec,
    /// Failed logins of the whole process; past it every address with a failure on record is
    /// refused, others are still checked.
    #[arg(long, env = "CONFAB_RATE_LOGIN_FAILURES_GLOBAL", default_value = "1000/1m")]
    pub(crate) rate_login_failures_global: RateSpec,
    /// Login attempts per client address.
    #[arg(long, env = "CONFAB_RATE_LOGIN_PER_ADDRESS", default_value = "60/1m")]
    pub(crate) rate_login_per_address: RateSpec,
    /// Registrations per client address.
    #[arg(long, env = "CONFAB_RATE_REGISTER_PER_ADDRESS", default_value = "30/1h")]
    pub(crate) rate_register_per_address: RateSpec,
    /// Direct and group messages per user.
    #[arg(long, env = "CONFAB_RATE_SEND", default_value = "100/10s")]
    pub(crate) rate_send: RateSpec,
    /// Group creations, renames and member or role changes per user.
    #[arg(long, env = "CONFAB_RATE_GROUP_CHANGES", default_value = "60/1m")]
    pub(crate) rate_group_changes: RateSpec,
    /// Attachment upload requests per user.
    #[arg(long, env = "CONFAB_RATE_ATTACHMENTS", default_value = "30/1m")]
    pub(crate) rate_attachments: RateSpec,
    /// Read receipts per user (HTTP and the `read` frame).
    #[arg(long, env = "CONFAB_RATE_RECEIPTS", default_value = "120/1m")]
    pub(crate) rate_receipts: RateSpec,
    /// Typing signals per user (besides one per second per conversation).
    #[arg(long, env = "CONFAB_RATE_TYPING", default_value = "30/10s")]
    pub(crate) rate_typing: RateSpec,
    /// User searches (`GET /users?prefix=`) per user.
    #[arg(long, env = "CONFAB_RATE_SEARCH", default_value = "30/1m")]
    pub(crate) rate_search: RateSpec,
    /// Exports of everything held about a user (`GET /me/export`) per user.
    #[arg(long, env = "CONFAB_RATE_EXPORT", default_value = "3/1h")]
    pub(crate) rate_export: RateSpec,
    /// Passwords hashed or checked at once (default: the number of cores).
    #[arg(long, env = "CONFAB_PASSWORD_HASH_THREADS")]
    pub(crate) password_hash_threads: Option<usize>,
    /// Password checks that may wait for a hashing thread; past it, 503 at once.
    #[arg(long, env = "CONFAB_PASSWORD_HASH_QUEUE", default_value_t = 64)]
    pub(crate) password_hash_queue: usize,
    /// Proxies (addresses or CIDR blocks) whose `X-Forwarded-For` names the client.
    #[arg(long, env = "CONFAB_TRUSTED_PROXIES", value_delimiter = ',')]
    pub(crate) trusted_proxies: Vec<IpNet>,
    /// Seconds an HTTP request of the JSON API may take, body included (408 after).
    #[arg(long, env = "CONFAB_HTTP_REQUEST_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) http_request_timeout_secs: u64,
    /// Seconds a request body may send nothing before it is cut off.
    #[arg(long, env = "CONFAB_HTTP_BODY_IDLE_TIMEOUT_SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) http_body_idle_timeout_secs: u64,
    /// JSON API requests handled at once; more are answered 503 at once.
    #[arg(long, env = "CONFAB_HTTP_MAX_IN_FLIGHT", default_value_t = 1024, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub(crate) http_max_in_flight: usize,
    /// Uploads and downloads at the embedded store's URLs handled at once, a pool beside the
    /// API's; more are answered 503 at once.
    #[arg(long, env = "CONFAB_HTTP_MAX_TRANSFERS", default_value_t = 256, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub(crate) http_max_transfers: usize,
    /// Requests one client (an IPv4 address, an IPv6 /64) may have in flight; more are
    /// answered 429.
    #[arg(long, env = "CONFAB_HTTP_MAX_IN_FLIGHT_PER_CLIENT", default_value_t = 64, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub(crate) http_max_in_flight_per_client: usize,
    /// TCP connections open at once (WebSockets included); more are closed when accepted.
    #[arg(long, env = "CONFAB_HTTP_MAX_CONNECTIONS", default_value_t = 10_000, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000_000))]
    pub(crate) http_max_connections: usize,
    /// TCP connections one client may hold open; a trusted proxy's count only in the total.
    #[arg(long, env = "CONFAB_HTTP_MAX_CONNECTIONS_PER_CLIENT", default_value_t = 256, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000_000))]
    pub(crate) http_max_connections_per_client: usize,
    /// Slowest average rate, in bytes a second, an upload may arrive at (after 10 s); a slower
    /// one is cut off with 408.
    #[arg(long, env = "CONFAB_UPLOAD_MIN_BYTES_PER_SEC", default_value_t = 8192)]
    pub(crate) upload_min_bytes_per_sec: u64,
    /// WebSocket connections one user may hold; a new one closes the oldest (code 4002).
    #[arg(long, env = "CONFAB_WS_MAX_PER_USER", default_value_t = 10, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000))]
    pub(crate) ws_max_per_user: usize,
    /// Most missed messages a reconnecting client is sent; further behind, it is closed with
    /// 4004 and pages the history.
    #[arg(long, env = "CONFAB_WS_MAX_RESUME_MESSAGES", default_value_t = 2000, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub(crate) ws_max_resume_messages: usize,
    /// Most bytes of missed messages a reconnecting client is sent (their content, roughly as
    /// the frames carry it); further behind, it is closed with 4004.
    #[arg(long, env = "CONFAB_WS_MAX_RESUME_BYTES", default_value_t = 32 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) ws_max_resume_bytes: u64,
    /// Resumes running at once; a reconnecting client waits up to 10 s for its turn, then is
    /// closed with 1013 (try again).
    #[arg(long, env = "CONFAB_WS_MAX_RESUMES", default_value_t = 32, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    pub(crate) ws_max_resumes: usize,
}

impl LimitArgs {
    pub(crate) fn rate_specs(&self) -> RateSpecs {
        if self.rate_limits == "off" {
            return RateSpecs::OFF;
        }
        RateSpecs {
            login_failures: LoginFailureSpecs {
                per_account_and_address: self.rate_login_failures,
                per_address: self.rate_login_failures_per_address,
                per_account: self.rate_login_failures_per_account,
                global: self.rate_login_failures_global,
            },
            login_per_address: self.rate_login_per_address,
            register_per_address: self.rate_register_per_address,
            send_per_user: self.rate_send,
            group_changes_per_user: self.rate_group_changes,
            attachments_per_user: self.rate_attachments,
            receipts_per_user: self.rate_receipts,
            typing_per_user: self.rate_typing,
            search_per_user: self.rate_search,
            export_per_user: self.rate_export,
        }
    }

    pub(crate) fn password_hash_threads(&self) -> usize {
        self.password_hash_threads
            .unwrap_or_else(|| thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get))
            .max(1)
    }

    pub(crate) fn http(&self) -> HttpLimits {
        HttpLimits {
            request_timeout: Duration::from_secs(self.http_request_timeout_secs),
            body_idle_timeout: Duration::from_secs(self.http_body_idle_timeout_secs),
            max_in_flight: self.http_max_in_flight,
            max_transfers: self.http_max_transfers,
            max_in_flight_per_client: self.http_max_in_flight_per_client,
            upload_min_bytes_per_sec: self.upload_min_bytes_per_sec,
        }
    }

    pub(crate) fn resume(&self) -> ResumeLimits {
        let bounds = ResumeBounds { max_messages: self.ws_max_resume_messages, max_bytes: self.ws_max_resume_bytes };
        ResumeLimits::new(bounds, self.ws_max_resumes)
    }

    pub(crate) fn connections(&self) -> ConnectionLimits {
        ConnectionLimits { max_total: self.http_max_connections, max_per_client: self.http_max_connections_per_client }
    }

    pub(crate) fn trusted_proxies(&self) -> TrustedProxies {
        TrustedProxies(self.trusted_proxies.clone())
    }
}
