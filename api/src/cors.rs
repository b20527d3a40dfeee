//! Which web origins may call the API from a browser (`--cors-origins`). None by default: a page
//! is then served only by the origin the API itself is on (the bundled web client). Tokens are
//! bearer tokens, never cookies, so no origin is ever sent credentials.
use std::{fmt, time::Duration};

use axum::http::{HeaderValue, Method, Uri, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::request_id::X_REQUEST_ID;

/// How long a browser may keep a preflight's answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// One allowed origin: `scheme://host[:port]` as a browser sends it, or `*` for any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigin {
    Any,
    Exactly(HeaderValue),
}

impl CorsOrigin {
    /// Parses `*` or an origin, refusing anything a browser would never send as one (a path, a
    /// query, a missing scheme), so a typo fails at start-up instead of allowing nothing.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw == "*" {
            return Ok(Self::Any);
        }
        let uri: Uri = raw.parse().map_err(|e| format!("{raw:?} is not an origin: {e}"))?;
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return Err(format!(
                "{raw:?} is not an origin: it needs a scheme and a host, e.g. https://chat.example.com"
            ));
        };
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() || authority.as_str().contains('@') {
            return Err(format!("{raw:?} is not an origin: it is scheme://host[:port] and nothing else"));
        }
        let origin = format!("{}://{}", scheme.to_ascii_lowercase(), authority.as_str().to_ascii_lowercase());
        HeaderValue::from_str(&origin).map(Self::Exactly).map_err(|e| format!("{raw:?}: {e}"))
    }
}

impl fmt::Display for CorsOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("*"),
            Self::Exactly(origin) => f.write_str(origin.to_str().unwrap_or("?")),
        }
    }
}

/// The layer answering preflights and marking answers for `origins`; None when there are none.
pub(crate) fn layer(origins: &[CorsOrigin]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.contains(&CorsOrigin::Any) {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| match o {
            CorsOrigin::Exactly(origin) => Some(origin.clone()),
            CorsOrigin::Any => None,
        }))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::IF_NONE_MATCH,
                header::IF_RANGE,
                header::RANGE,
                X_REQUEST_ID.clone(),
            ])
            .expose_headers([
                X_REQUEST_ID.clone(),
                header::RETRY_AFTER,
                header::ETAG,
                header::CONTENT_RANGE,
                header::ACCEPT_RANGES,
                header::CONTENT_DISPOSITION,
            ])
            .max_age(PREFLIGHT_MAX_AGE),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn origins_parse_as_browsers_send_them() {
        assert_eq!(
            CorsOrigin::parse("https://Chat.Example.com:8443").unwrap().to_string(),
            "https://chat.example.com:8443"
        );
        assert_eq!(CorsOrigin::parse("*").unwrap(), CorsOrigin::Any);
        for bad in ["chat.example.com", "https://chat.example.com/app", "https://x.com?a=1", "https://u@x.com", ""] {
            assert!(CorsOrigin::parse(bad).is_err(), "{bad}");
        }
    }
}
