//! Host names and addresses: the one place that says what is loopback, what
//! is on this host, and what is a DNS name.

use std::net::IpAddr;

use url::{Host, Url};

/// `localhost`, 127.0.0.0/8 or `::1`.
pub fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
    }
}

/// `is_loopback` for a URL.
pub fn is_loopback_url(url: &Url) -> bool {
    url.host().is_some_and(|h| is_loopback(&h))
}

/// `is_loopback` for a host as a request gives it (`[::1]` bracketed or not).
pub fn is_loopback_name(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Loopback, or IPv4 link-local (169.254.0.0/16, where IMDS answers): on this host.
pub fn is_on_this_host(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback() || ip.is_link_local(),
        Some(h) => is_loopback(&h),
        None => false,
    }
}

/// A DNS name: dot-separated labels of letters, digits and `-` (not first),
/// 1 to 63 each, 253 in all.
pub fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert!(is_loopback_name("127.0.0.1") && is_loopback_name("[::1]") && is_loopback_name("LocalHost"));
        assert!(!is_loopback_name("127.0.0.1.evil.io") && !is_loopback_name("10.0.0.1"));
        assert!(is_on_this_host(&Url::parse("http://169.254.169.254/x").unwrap()));
        assert!(!is_on_this_host(&Url::parse("http://example.com/x").unwrap()));
        assert!(is_dns_name("contoso.onmicrosoft.com") && !is_dns_name("-a.b") && !is_dns_name("a..b"));
        assert!(!is_dns_name(&"a".repeat(64)) && !is_dns_name("a_b"));
    }
}
