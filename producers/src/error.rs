use confab_eventlog::{Cause, LogError};
use confab_objects::ObjectError;
use confab_readmodels::StoreError;
use confab_schemas::SchemaError;
use std::time::Duration;

use thiserror::Error;

/// Rounded up, and at least one: `Retry-After: 0` would invite an immediate retry.
fn retry_after_secs(wait: Duration) -> u64 {
    u64::try_from(wait.as_millis().div_ceil(1000)).unwrap_or(u64::MAX).max(1)
}

/// Why an event could not be appended.
#[derive(Debug, Error)]
pub enum PublishError {
    #[error("cannot encode event: {0}")]
    Encode(#[from] SchemaError),
    #[error(transparent)]
    Log(#[from] LogError),
}

/// What kind of answer a refusal is, for the surfaces (HTTP, WebSocket) to map to their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The request is malformed or breaks a rule.
    Invalid,
    /// Wrong or missing credentials.
    Unauthenticated,
    /// The caller may not do this.
    Forbidden,
    /// What the request names does not exist.
    NotFound,
    /// It clashes with what is already there.
    Conflict,
    /// The caller did this too often; it may try again after [`ChatError::retry_after`].
    RateLimited,
    /// The server is at a bound it keeps (password hashing); try again shortly.
    Overloaded,
    /// A dependency (log, store, object storage) did not answer; the request may be retried.
    Unavailable,
    /// A fault of the server.
    Internal,
}

/// Why a use case did not do what it was asked. Refusals carry a stable snake_case code;
/// failures of a dependency keep their source.
#[derive(Debug, Error)]
pub enum ChatError {
    #[error("{message}")]
    Refused { kind: Kind, code: &'static str, message: String },
    #[error("no user named {0:?}")]
    UserNotFound(String),
    #[error("invalid username or password")]
    BadCredentials,
    #[error("too many requests; try again in {} s", retry_after_secs(*.retry_after))]
    RateLimited { retry_after: Duration },
    #[error("the server is busy; try again shortly")]
    Overloaded,
    /// Over a quota that frees up with time.
    #[error("{message}")]
    OverQuota { code: &'static str, message: String, retry_after: Duration },
    #[error("event log unavailable: {0}")]
    Log(#[source] LogError),
    #[error("read-model store unavailable: {0}")]
    Store(#[from] StoreError),
    #[error("object storage unavailable: {0}")]
    Objects(#[from] ObjectError),
    #[error("internal error: {0}")]
    Internal(#[source] Cause),
}

impl ChatError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::Refused { kind: Kind::Invalid, code, message: message.into() }
    }

    pub fn unauthenticated(code: &'static str, message: impl Into<String>) -> Self {
        Self::Refused { kind: Kind::Unauthenticated, code, message: message.into() }
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::Refused { kind: Kind::Forbidden, code, message: message.into() }
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::Refused { kind: Kind::NotFound, code, message: message.into() }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Refused { kind: Kind::Conflict, code, message: message.into() }
    }

    /// The messages projection has not caught up with what a read needs; worth retrying soon.
    pub fn not_projected() -> Self {
        Self::Refused {
            kind: Kind::Unavailable,
            code: "unavailable",
            message: "messages are still being projected; reconnect shortly".into(),
        }
    }

    /// A fault of the server, keeping what caused it.
    pub fn internal(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(confab_eventlog::cause(e))
    }

    pub fn kind(&self) -> Kind {
        match self {
            Self::Refused { kind, .. } => *kind,
            Self::UserNotFound(_) => Kind::NotFound,
            Self::BadCredentials => Kind::Unauthenticated,
            Self::RateLimited { .. } | Self::OverQuota { .. } => Kind::RateLimited,
            Self::Overloaded => Kind::Overloaded,
            Self::Log(LogError::Unavailable(_) | LogError::Ambiguous(_) | LogError::Closed)
            | Self::Store(StoreError::Storage(_) | StoreError::Behind(_)) => Kind::Unavailable,
            Self::Objects(_) => Kind::Unavailable,
            Self::Log(_) | Self::Store(StoreError::Corrupt { .. }) | Self::Internal(_) => Kind::Internal,
        }
    }

    /// Stable, machine-readable, snake_case.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Refused { code, .. } => code,
            Self::UserNotFound(_) => "user_not_found",
            Self::BadCredentials => "unauthorized",
            Self::RateLimited { .. } => "rate_limited",
            Self::OverQuota { code, .. } => code,
            Self::Overloaded => "overloaded",
            Self::Log(_) | Self::Store(_) | Self::Objects(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    /// Whole seconds until a refused request may be tried again, for `Retry-After`.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after } | Self::OverQuota { retry_after, .. } => {
                Some(retry_after_secs(*retry_after))
            }
            Self::Overloaded => Some(1),
            _ => None,
        }
    }

    /// For a user the request named as the recipient: the refusal says so.
    pub fn as_recipient(self) -> Self {
        match self {
            Self::UserNotFound(_) => Self::not_found("recipient_not_found", "no user with that username"),
            other => other,
        }
    }
}

impl From<PublishError> for ChatError {
    fn from(e: PublishError) -> Self {
        match e {
            PublishError::Log(log) => Self::Log(log),
            PublishError::Encode(e) => Self::internal(e),
        }
    }
}

impl From<LogError> for ChatError {
    fn from(e: LogError) -> Self {
        Self::Log(e)
    }
}
