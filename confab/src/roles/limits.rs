//! What clients may make an API process spend: the rate limits, password hashing, HTTP and
//! WebSocket bounds, as flags and environment variables (the README has the table).
use std::{thread, time::Duration};

use clap::Args;
use confab_api::{ConnectionLimits, HttpLimits, TrustedProxies};
use confab_producers::{RateSpec, RateSpecs};
use ipnet::IpNet;

#[derive(Debug, Clone, Args)]
pub(crate) struct LimitArgs {
    /// `off` turns every rate limit off (for benchmarks); the bounds stay.
    #[arg(long, env = "CONFAB_RATE_LIMITS", default_value = "on", value_parser = ["on", "off"])]
    pub(crate) rate_limits: String,
    /// Failed logins per account (BURST/WINDOW, or off); a success resets it.
    #[arg(long, env = "CONFAB_RATE_LOGIN_FAILURES", default_value = "10/15m")]
    pub(crate) rate_login_failures: RateSpec,
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
}

impl LimitArgs {
    pub(crate) fn rate_specs(&self) -> RateSpecs {
        if self.rate_limits == "off" {
            return RateSpecs::OFF;
        }
        RateSpecs {
            login_failures_per_account: self.rate_login_failures,
            login_per_address: self.rate_login_per_address,
            register_per_address: self.rate_register_per_address,
            send_per_user: self.rate_send,
            group_changes_per_user: self.rate_group_changes,
            attachments_per_user: self.rate_attachments,
            receipts_per_user: self.rate_receipts,
            typing_per_user: self.rate_typing,
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

    pub(crate) fn connections(&self) -> ConnectionLimits {
        ConnectionLimits { max_total: self.http_max_connections, max_per_client: self.http_max_connections_per_client }
    }

    pub(crate) fn trusted_proxies(&self) -> TrustedProxies {
        TrustedProxies(self.trusted_proxies.clone())
    }
}
