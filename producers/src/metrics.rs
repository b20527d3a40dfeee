//! What the write side counts: appends to the log, rate-limit refusals, password hashing.
use std::time::Instant;

use confab_schemas::Topic;
use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};

/// The rate limits, by the name their refusals are counted under.
pub(crate) const LIMITS: &[&str] = &[
    "send",
    "group_changes",
    "attachments",
    "receipts",
    "typing",
    "search",
    "export",
    "register_per_address",
    "login_per_address",
    "login_failures",
];

/// Says what each metric is, and starts the counters at zero so that a rate over them exists
/// before the first event.
pub fn describe() {
    describe_histogram!("confab_log_append_seconds", Unit::Seconds, "time for the log to make one event durable");
    describe_counter!(
        "confab_log_append_failures_total",
        "appends the log refused or timed out (the request got a 503)"
    );
    describe_counter!("confab_rate_limit_refusals_total", "requests refused by a rate limit, by limit");
    describe_gauge!("confab_password_hash_queue", "password hashes and checks running or waiting for a thread");
    describe_counter!(
        "confab_password_hash_refusals_total",
        "logins and registrations refused because the hash queue was full"
    );
    for topic in Topic::ALL {
        counter!("confab_log_append_failures_total", "topic" => topic.name()).increment(0);
    }
    for limit in LIMITS {
        counter!("confab_rate_limit_refusals_total", "limit" => *limit).increment(0);
    }
    counter!("confab_password_hash_refusals_total").increment(0);
    gauge!("confab_password_hash_queue").set(0.0);
}

/// An append to `topic` that started at `started`.
pub(crate) fn appended(topic: &'static str, started: Instant, ok: bool) {
    histogram!("confab_log_append_seconds", "topic" => topic).record(started.elapsed().as_secs_f64());
    if !ok {
        counter!("confab_log_append_failures_total", "topic" => topic).increment(1);
    }
}

/// A request refused by the limit called `limit` (one of `LIMITS`).
pub(crate) fn rate_limited(limit: &'static str) {
    counter!("confab_rate_limit_refusals_total", "limit" => limit).increment(1);
}

/// A hash queued (+1) or done (-1).
pub(crate) fn hash_queue(change: f64) {
    gauge!("confab_password_hash_queue").increment(change);
}

pub(crate) fn hash_refused() {
    counter!("confab_password_hash_refusals_total").increment(1);
}
