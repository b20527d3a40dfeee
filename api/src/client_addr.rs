//! The address a request comes from, for the limits kept per client address. Behind a proxy
//! every request comes from the proxy, so `X-Forwarded-For` is believed from trusted proxies
//! only: the client is the rightmost address in it that is not one of them.
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::request::Parts,
};
use ipnet::IpNet;

use crate::{ApiError, AppState};

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl TrustedProxies {
    fn trusts(&self, addr: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&addr))
    }

    /// The client behind `peer`, given the `X-Forwarded-For` values (oldest hop first).
    fn client(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        // Right to left: each trusted hop vouches for the one before it; a client can write
        // anything further left, so the walk stops at the first hop that is not trusted.
        let mut client = peer;
        for hop in forwarded_for.iter().rev().flat_map(|value| value.rsplit(',')) {
            let Ok(hop) = hop.trim().parse::<IpAddr>() else { break };
            client = hop;
            if !self.trusts(hop) {
                break;
            }
        }
        client
    }
}

/// The client's address.
pub(crate) struct ClientAddr(pub(crate) IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // Served without connection info (a test router, or a runtime that has none): one
        // shared address, so the per-address limits still bound the whole.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(addr)| addr.ip());
        let forwarded: Vec<&str> =
            parts.headers.get_all("x-forwarded-for").iter().filter_map(|value| value.to_str().ok()).collect();
        Ok(Self(state.trusted_proxies.client(peer, &forwarded)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn forwarded_for_is_believed_from_trusted_proxies_only() {
        let proxies = TrustedProxies(vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()]);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(proxies.client(ip("203.0.113.9"), &["198.51.100.1"]), ip("203.0.113.9"));
        assert_eq!(proxies.client(ip("10.1.2.3"), &["198.51.100.1"]), ip("198.51.100.1"));
        assert_eq!(proxies.client(ip("10.1.2.3"), &["6.6.6.6, 198.51.100.1, 10.9.9.9"]), ip("198.51.100.1"));
        assert_eq!(proxies.client(ip("10.1.2.3"), &["6.6.6.6", "198.51.100.1"]), ip("198.51.100.1"));
        assert_eq!(proxies.client(ip("10.1.2.3"), &["10.4.4.4"]), ip("10.4.4.4"));
        assert_eq!(proxies.client(ip("10.1.2.3"), &[]), ip("10.1.2.3"));
        assert_eq!(proxies.client(ip("10.1.2.3"), &["garbage"]), ip("10.1.2.3"));
        assert_eq!(proxies.client(ip("10.1.2.3"), &["garbage, 198.51.100.1"]), ip("198.51.100.1"));
    }
}
