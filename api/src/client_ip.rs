//! The client's address: the socket's peer, or, only when that peer is a proxy the settings
//! trust, the nearest address in `X-Forwarded-For` that is not one of those proxies.
//!
//! A client can write anything into `X-Forwarded-For`, so the header is read from the right
//! (the hop the trusted proxy appended) and only as far as trusted proxies vouch for it.

use std::net::{IpAddr, SocketAddr};

use actix_web::HttpRequest;
use ipnet::IpNet;

/// The header a reverse proxy appends the client's address to.
const FORWARDED_FOR: &str = "x-forwarded-for";

/// Proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses a comma-separated list of addresses and CIDR ranges (`10.0.0.0/8, ::1`).
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("`{entry}` is not an IP address or CIDR range"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// Whether no proxy is trusted (the socket's peer is always the client).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for a request from `peer` with these `X-Forwarded-For` values
    /// (in header order).
    pub fn client_ip<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl IntoIterator<Item = &'a str>,
    ) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusts(client) {
            return client;
        }
        let hops: Vec<&str> = forwarded_for
            .into_iter()
            .flat_map(|value| value.split(','))
            .collect();
        for hop in hops.into_iter().rev() {
            let Some(ip) = parse_hop(hop) else {
                // Garbage where an address should be: believe no further than the proxy.
                return client;
            };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }

    /// The client's address for an actix request (`None` without a peer, e.g. in unit tests).
    pub fn of_request(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr()?.ip();
        let forwarded = req
            .headers()
            .get_all(FORWARDED_FOR)
            .filter_map(|value| value.to_str().ok());
        Some(self.client_ip(peer, forwarded))
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port or in brackets.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|addr| addr.ip()))
        .or_else(|_| hop.trim_matches(['[', ']']).parse::<IpAddr>())
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let proxies = TrustedProxies::parse("").expect("empty list");
        assert!(proxies.is_empty());
        assert_eq!(
            proxies.client_ip(ip("203.0.113.9"), ["198.51.100.1"]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn a_trusted_proxy_vouches_for_the_hop_it_appended() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 127.0.0.1").expect("list");
        // The client forged the first entry; the proxy appended the real one.
        assert_eq!(
            proxies.client_ip(ip("10.1.2.3"), ["1.1.1.1, 203.0.113.9"]),
            ip("203.0.113.9")
        );
        // Through two trusted proxies, across two header lines.
        assert_eq!(
            proxies.client_ip(ip("127.0.0.1"), ["203.0.113.9", "10.9.9.9"]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn an_untrusted_peer_cannot_spoof_its_address() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").expect("list");
        assert_eq!(
            proxies.client_ip(ip("203.0.113.9"), ["10.0.0.1"]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn garbage_in_the_header_stops_the_walk() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").expect("list");
        assert_eq!(
            proxies.client_ip(ip("10.0.0.1"), ["203.0.113.9, not-an-ip"]),
            ip("10.0.0.1")
        );
        assert_eq!(
            proxies.client_ip(ip("10.0.0.1"), ["[2001:db8::1]:443"]),
            ip("2001:db8::1")
        );
    }

    #[test]
    fn mapped_ipv4_addresses_are_one_address() {
        let proxies = TrustedProxies::parse("127.0.0.1").expect("list");
        assert_eq!(
            proxies.client_ip(ip("::ffff:127.0.0.1"), ["::ffff:203.0.113.9"]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn bad_entries_are_named() {
        let err = TrustedProxies::parse("10.0.0.0/8, proxy.local").expect_err("refused");
        assert!(err.contains("proxy.local"), "{err}");
    }
}
