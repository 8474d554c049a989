//! Keeps deliveries out of the private network unless the operator allows it: a target's URL
//! is written by a tenant's governance officer, and without a guard it could make Steward post
//! to (and, through the stored response excerpt, read from) the cloud's metadata service or an
//! internal admin port. Every address a target's host resolves to must be public; the check runs
//! in the HTTP client's resolver, so the address checked is the address connected to (no DNS
//! rebinding between check and use), and on literal IP addresses before the request.

use std::error::Error as StdError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why a delivery was not attempted: the target's address is not public.
#[derive(Debug)]
pub(crate) struct Blocked(pub String);

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is not a public address; deliveries to private networks need outbox.allow_private_networks",
            self.0
        )
    }
}

impl StdError for Blocked {}

/// A public unicast address: not loopback, private (RFC 1918, unique local), link-local (the
/// metadata service at 169.254.169.254 among them), shared (100.64.0.0/10), unspecified,
/// broadcast, multicast or documentation; IPv4 inside IPv6 is judged as IPv4.
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || first == 0x2001 && ip.segments()[1] == 0x0db8
        || first == 0x0064 && ip.segments()[1] == 0xff9b)
}

/// The literal IP address of a URL's host, if it is one and not public.
pub(crate) fn blocked_literal(url: &str) -> Option<Blocked> {
    let parsed = reqwest::Url::parse(url).ok()?;
    let host = parsed.host_str()?;
    let ip: IpAddr = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()?;
    (!is_public(ip)).then(|| Blocked(ip.to_string()))
}

/// The system resolver, answering only public addresses.
#[derive(Debug, Default)]
pub(crate) struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(bad) = found.iter().find(|a| !is_public(a.ip())) {
                let e: Box<dyn StdError + Send + Sync> =
                    Box::new(Blocked(format!("{host} ({})", bad.ip())));
                return Err(e);
            }
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// True when `e` (or its causes) is a [`Blocked`].
pub(crate) fn was_blocked(e: &(dyn StdError + 'static)) -> bool {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.is::<Blocked>() {
            return true;
        }
        cur = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_link_local_and_metadata_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "52.1.2.3"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
        assert!(blocked_literal("http://169.254.169.254/latest/meta-data").is_some());
        assert!(blocked_literal("http://[::1]:8080/hook").is_some());
        assert!(blocked_literal("https://hooks.slack.com/services/x").is_none());
        assert!(blocked_literal("https://8.8.8.8/").is_none());
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_of_private_addresses() {
        let err = match PublicOnly.resolve("localhost".parse().unwrap()).await {
            Ok(_) => panic!("localhost resolved"),
            Err(e) => e,
        };
        assert!(was_blocked(err.as_ref()), "{err}");
        assert!(err.to_string().contains("localhost"), "{err}");
    }
}
