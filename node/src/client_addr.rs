//! Who a client is, for the limits kept per client: the connection cap per address
//! ([`crate::connections`]), the login throttle and the registration throttle
//! ([`crate::auth::throttle`]).
//!
//! - The client's address is the TCP peer's, unless the peer is a trusted reverse proxy
//!   (`trusted_proxies`): then it is the right-most entry of `X-Forwarded-For` that is not a
//!   trusted proxy itself. Entries left of it were written by the client and prove nothing.
//! - Limits count a [`ClientKey`], not the address: an IPv4 address, or the /64 of an IPv6
//!   one, since one host (one subscriber line) is usually given a whole /64 and could
//!   otherwise rotate through its addresses to get a fresh allowance each time.
//!
//! With no trusted proxy configured the peer address is the client, loopback included: a node
//! behind a reverse proxy must list it in `trusted_proxies`, or every client shares the
//! proxy's allowance.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use axum::http::HeaderMap;

/// The header a reverse proxy appends the address of its own peer to.
pub const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// What the per-client limits count: an IPv4 address, or the /64 of an IPv6 address. An
/// IPv4-mapped IPv6 address counts as its IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(IpAddr);

impl ClientKey {
    /// The key of `ip`.
    pub fn of(ip: IpAddr) -> ClientKey {
        ClientKey(match ip {
            IpAddr::V4(_) => ip,
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let mut segments = v6.segments();
                    segments[4..].fill(0);
                    IpAddr::from(segments)
                }
            },
        })
    }

    /// True for a loopback address (`127.0.0.0/8`, `::1`).
    pub fn is_loopback(self) -> bool {
        self.0.is_loopback()
    }
}

impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// An address block, `ADDR/PREFIX` (a bare address is the block of that one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// Why a `trusted_proxies` entry does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected an IP address or a block such as 10.0.0.0/8 or fd00::/8")]
pub struct BadCidr;

impl FromStr for Cidr {
    type Err = BadCidr;

    fn from_str(s: &str) -> Result<Cidr, BadCidr> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let network: IpAddr = addr.parse().map_err(|_| BadCidr)?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().map_err(|_| BadCidr)?
            }
            Some(_) => return Err(BadCidr),
            None => max,
        };
        if prefix > max {
            return Err(BadCidr);
        }
        Ok(Cidr { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl Cidr {
    /// True if `ip` is in the block. An IPv4-mapped IPv6 address is compared as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            IpAddr::V4(_) => ip,
        };
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The reverse proxies whose `X-Forwarded-For` is believed (config `trusted_proxies`; empty by
/// default: the header is then ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Arc<[Cidr]>);

impl TrustedProxies {
    /// The given blocks.
    pub fn new(blocks: Vec<Cidr>) -> TrustedProxies {
        TrustedProxies(blocks.into())
    }

    /// True if no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True if `ip` is a trusted proxy.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|block| block.contains(ip))
    }

    /// The client's address for a request from TCP peer `peer` with `headers`: `peer` itself
    /// unless it is a trusted proxy; else, walking `X-Forwarded-For` from the right, the first
    /// entry that is not a trusted proxy. An entry that is not an address stops the walk at
    /// the proxy that wrote it (the header is not to be believed past that point), and a
    /// header made only of trusted proxies gives its left-most entry.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        let mut client = peer;
        // Several header lines are one list, in order (RFC 9110 §5.3).
        let entries: Vec<&str> = headers
            .get_all(X_FORWARDED_FOR)
            .iter()
            .flat_map(|v| {
                v.to_str()
                    .map_or_else(|_| vec![""], |v| v.split(',').collect())
            })
            .collect();
        for entry in entries.iter().rev() {
            let Some(ip) = parse_forwarded(entry) else {
                return client;
            };
            client = ip;
            if !self.contains(ip) {
                return ip;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`192.0.2.1:5000`,
/// `[2001:db8::1]:5000`).
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

/// The client of an HTTP request, found by [`TrustedProxies::client_address`] when the
/// connection is accepted by [`crate::connections::serve`]; a request extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(X_FORWARDED_FOR, HeaderValue::from_str(v).expect("header"));
        }
        headers
    }

    #[test]
    fn an_ipv6_host_is_its_slash_64() {
        let one = ClientKey::of(ip("2001:db8:1:2:aaaa::1"));
        let two = ClientKey::of(ip("2001:db8:1:2:bbbb:cccc:dddd:2"));
        let other = ClientKey::of(ip("2001:db8:1:3::1"));
        assert_eq!(one, two);
        assert_ne!(one, other);
        assert_eq!(one.to_string(), "2001:db8:1:2::/64");
        assert_eq!(
            ClientKey::of(ip("::ffff:192.0.2.1")),
            ClientKey::of(ip("192.0.2.1"))
        );
        assert_ne!(
            ClientKey::of(ip("192.0.2.1")),
            ClientKey::of(ip("192.0.2.2"))
        );
        assert_eq!(ClientKey::of(ip("192.0.2.1")).to_string(), "192.0.2.1");
    }

    #[test]
    fn blocks_parse_and_contain() {
        let net: Cidr = "10.1.0.0/16".parse().expect("cidr");
        assert!(net.contains(ip("10.1.200.3")));
        assert!(net.contains(ip("::ffff:10.1.0.1")));
        assert!(!net.contains(ip("10.2.0.1")));
        let one: Cidr = "127.0.0.1".parse().expect("cidr");
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let v6: Cidr = "fd00::/8".parse().expect("cidr");
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        let all: Cidr = "0.0.0.0/0".parse().expect("cidr");
        assert!(all.contains(ip("203.0.113.9")) && !all.contains(ip("2001:db8::1")));
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "proxy",
            "10/8",
        ] {
            assert_eq!(bad.parse::<Cidr>(), Err(BadCidr), "{bad:?}");
        }
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let none = TrustedProxies::default();
        let proxy = TrustedProxies::new(vec!["127.0.0.1".parse().expect("cidr")]);
        let chain = TrustedProxies::new(vec![
            "127.0.0.1".parse().expect("cidr"),
            "10.0.0.0/8".parse().expect("cidr"),
        ]);
        let local = ip("127.0.0.1");
        let h = xff(&["198.51.100.7, 203.0.113.5"]);
        assert_eq!(none.client_address(local, &h), local, "nothing trusted");
        assert_eq!(
            proxy.client_address(ip("192.0.2.9"), &h),
            ip("192.0.2.9"),
            "a peer that is not a proxy"
        );
        // The right-most entry is what the proxy saw; the rest the client may have forged.
        assert_eq!(proxy.client_address(local, &h), ip("203.0.113.5"));
        // Through two proxies: skip the inner one.
        let h = xff(&["198.51.100.7", "203.0.113.5:4711, 10.0.0.2"]);
        assert_eq!(chain.client_address(local, &h), ip("203.0.113.5"));
        let h = xff(&["[2001:db8::5]:443"]);
        assert_eq!(proxy.client_address(local, &h), ip("2001:db8::5"));
        // No header, a header of proxies only, garbage.
        assert_eq!(proxy.client_address(local, &HeaderMap::new()), local);
        let h = xff(&["10.0.0.3, 10.0.0.2"]);
        assert_eq!(chain.client_address(local, &h), ip("10.0.0.3"));
        let h = xff(&["203.0.113.5, unknown, 10.0.0.2"]);
        assert_eq!(chain.client_address(local, &h), ip("10.0.0.2"));
    }
}
