//! The client a request comes from, for the bounds kept per client. Behind a proxy every
//! request comes from the proxy, so `X-Forwarded-For` is believed from trusted proxies only: the
//! client is the rightmost address in it that is not one of them. An IPv6 client is its /64,
//! the block one subscriber is given: its 2^64 addresses are one client, not 2^64.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{Extensions, HeaderMap, request::Parts},
};
use ipnet::IpNet;

use crate::{ApiError, AppState};

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl TrustedProxies {
    pub(crate) fn trusts(&self, addr: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&addr))
    }

    /// The client of a request that came over a connection from `peer` with `headers`.
    pub(crate) fn client_of(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let forwarded: Vec<&str> =
            headers.get_all("x-forwarded-for").iter().filter_map(|value| value.to_str().ok()).collect();
        client_key(self.client(peer, &forwarded))
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

/// The key the per-client bounds count `addr` under: an IPv4 address (an IPv4-mapped IPv6 one
/// too), or an IPv6 address's /64.
pub(crate) fn client_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !u128::from(u64::MAX))),
        },
    }
}

/// The peer of the connection a request came over. Served without connection info (a test
/// router, or a runtime that has none): one shared address, so the per-client bounds still
/// bound the whole.
pub(crate) fn peer_of(extensions: &Extensions) -> IpAddr {
    extensions.get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(addr)| addr.ip())
}

/// The client (see [`client_key`]) a request comes from.
pub(crate) struct ClientAddr(pub(crate) IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self(state.trusted_proxies.client_of(peer_of(&parts.extensions), &parts.headers)))
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

    #[test]
    fn an_ipv6_client_is_its_slash_64_and_a_mapped_ipv4_one_its_ipv4_address() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let key = |s: &str| client_key(ip(s));
        assert_eq!(key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), ip("2001:db8:1:2::"));
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff:ffff:ffff:ffff"), "one /64, one client");
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"), "the next /64 is another client");
        assert_eq!(key("::ffff:192.0.2.7"), ip("192.0.2.7"));
        assert_eq!(key("192.0.2.7"), ip("192.0.2.7"));
        let proxies = TrustedProxies(vec!["::1/128".parse().unwrap()]);
        let mut headers = HeaderMap::new();
        let _ = headers.insert("x-forwarded-for", "2001:db8:1:2::99".parse().unwrap());
        assert_eq!(proxies.client_of(ip("::1"), &headers), ip("2001:db8:1:2::"), "a forwarded client too");
    }
}
