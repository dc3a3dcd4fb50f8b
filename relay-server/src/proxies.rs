//! Trusted proxies: which peers may speak for a sender (`X-Forwarded-*`) and
//! are exempt from the per-address limits, because every connection through a
//! load balancer comes from the balancer's own address.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An address or a network (`10.0.0.5`, `10.0.0.0/8`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

/// Why a `--trusted-proxy` value is not an address or network.
#[derive(Debug, thiserror::Error)]
pub enum IpNetError {
    #[error("{0:?} is not an IP address (expected e.g. 10.0.0.5, 10.0.0.0/8 or fd00::/8)")]
    Addr(String),
    #[error("prefix length {prefix} of {value:?} is not between 0 and {max}")]
    Prefix {
        value: String,
        prefix: String,
        max: u8,
    },
}

impl IpNet {
    /// Whether `ip` is this address or inside this network. IPv4-mapped IPv6
    /// peers (`::ffff:10.0.0.5`, as a dual-stack listener reports them) match
    /// their IPv4 form.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => mask_eq(&net.octets(), &ip.octets(), self.prefix),
            (IpAddr::V6(net), IpAddr::V6(ip)) => mask_eq(&net.octets(), &ip.octets(), self.prefix),
            _ => false,
        }
    }
}

/// Whether the first `bits` bits of `a` and `b` agree.
fn mask_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let (whole, rest) = (usize::from(bits / 8), bits % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    a[whole] & mask == b[whole] & mask
}

impl FromStr for IpNet {
    type Err = IpNetError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let value = value.trim();
        let (addr, prefix) = match value.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (value, None),
        };
        let addr = addr
            .parse::<IpAddr>()
            .map_err(|_| IpNetError::Addr(value.to_owned()))?
            .to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix =
            match prefix {
                None => max,
                Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| {
                    IpNetError::Prefix {
                        value: value.to_owned(),
                        prefix: p.to_owned(),
                        max,
                    }
                })?,
            };
        Ok(Self { addr, prefix })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_and_networks_match_what_they_cover() {
        let one: IpNet = "10.0.0.5".parse().unwrap();
        assert!(one.contains(ip("10.0.0.5")));
        assert!(one.contains(ip("::ffff:10.0.0.5")));
        assert!(!one.contains(ip("10.0.0.6")));
        let net: IpNet = "10.2.0.0/15".parse().unwrap();
        assert!(net.contains(ip("10.2.0.1")) && net.contains(ip("10.3.255.1")));
        assert!(!net.contains(ip("10.1.255.1")) && !net.contains(ip("10.4.0.1")));
        let v6: IpNet = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        let all: IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("192.0.2.1")) && !all.contains(ip("::1")));
        assert_eq!(one.to_string(), "10.0.0.5/32");
    }

    #[test]
    fn bad_values_say_what_is_wrong() {
        let err = "proxy.local".parse::<IpNet>().unwrap_err().to_string();
        assert!(err.contains("not an IP address"), "{err}");
        let err = "10.0.0.0/33".parse::<IpNet>().unwrap_err().to_string();
        assert!(err.contains("between 0 and 32"), "{err}");
        assert!("::1/129".parse::<IpNet>().is_err());
    }
}
