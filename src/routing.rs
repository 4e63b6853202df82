//! Which profile answers a helper request, and for which scope. A helper
//! answers only for requests bound to a profile by its `match` entries.
//!
//! Entries: a URL prefix (`https://dev.azure.com/contoso`: same scheme, host
//! and port, path on segment boundaries), a host (`contoso.azurecr.io`, or
//! `host:port`), or a host glob (`*.azurecr.io`). The most specific match wins.

use url::Url;

use crate::profile::{MatchEntry, Profile};

/// The parts of a request that matching looks at.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub scheme: String,
    pub host: String,
    /// None when the scheme's default port is meant.
    pub port: Option<u16>,
    /// Without the leading slash.
    pub path: String,
}

impl Target {
    /// From a URL such as `https://host:port/path`.
    pub fn from_url(text: &str) -> Option<Target> {
        // Userinfo (`https://dev.azure.com@evil.io`) is not the host: the url
        // crate parses the real host, which is what is matched.
        let url = Url::parse(text).ok()?;
        let host = url.host_str()?.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        Some(Target {
            scheme: url.scheme().to_string(),
            port: url.port(),
            path: url.path().trim_start_matches('/').to_string(),
            host,
        })
    }

    /// From git's `protocol`, `host` (with port) and optional `path`. The
    /// host must be a plain host name, IPv4 or bracketed IPv6 literal with an
    /// optional port (no percent-encoding, whitespace, `@` or control
    /// characters); the path is matched after its `.` and `..` segments are
    /// resolved, so `contoso/../other` is `other`.
    pub fn from_git(protocol: &str, host: &str, path: Option<&str>) -> Option<Target> {
        if !plain_host_port(host) {
            return None;
        }
        let path = path.unwrap_or("");
        if path.contains(['?', '#']) || path.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return None;
        }
        // The url crate resolves dot segments (also `%2e`) as a browser would.
        Target::from_url(&format!("{protocol}://{host}/{}", path.trim_start_matches('/')))
    }

    /// From a docker server URL: `host`, `host:port` or `https://host/...`.
    pub fn from_registry(server: &str) -> Option<Target> {
        let server = server.trim();
        if server.contains("://") {
            Target::from_url(server)
        } else {
            let host_part = server.split('/').next()?;
            if host_part.contains('@') {
                return None;
            }
            Target::from_url(&format!("https://{host_part}/"))
        }
    }

    /// `host` or `host:port`, as docker and ACR name a registry.
    pub fn host_port(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", bracket(&self.host)),
            None => bracket(&self.host),
        }
    }

    fn effective_port(&self) -> Option<u16> {
        self.port.or(match self.scheme.as_str() {
            "https" => Some(443),
            "http" => Some(80),
            _ => None,
        })
    }
}

/// `host`, `host:port`, `1.2.3.4:port` or `[v6]:port`, nothing else.
fn plain_host_port(text: &str) -> bool {
    let (host, port) = match text.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((v6, after)) if v6.parse::<std::net::Ipv6Addr>().is_ok() => ("v6", after.strip_prefix(':')),
            _ => return false,
        },
        None => match text.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (text, None),
        },
    };
    if text.starts_with('[') && text.split_once(']').is_some_and(|(_, a)| !a.is_empty() && port.is_none()) {
        return false; // `[::1]x`
    }
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    let name_ok = crate::net::is_dns_name(host);
    port_ok && name_ok
}

fn bracket(host: &str) -> String {
    if host.contains(':') { format!("[{host}]") } else { host.to_string() }
}

/// Which kinds of `match` entries a helper may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entries {
    /// URL prefixes, hosts and host globs (git).
    All,
    /// Hosts and host globs only: URL prefixes are git's and never serve docker.
    HostsOnly,
}

/// How specific a match is; higher wins.
fn specificity(pattern: &str, t: &Target) -> Option<usize> {
    // Tokens travel over https only (http to loopback for tests), whatever a
    // hand-written pattern says.
    if t.scheme != "https" && !(t.scheme == "http" && crate::net::is_loopback_name(&t.host)) {
        return None;
    }
    if pattern.contains("://") {
        let p = Target::from_url(pattern)?;
        let same_origin = p.scheme == t.scheme && p.host == t.host && p.effective_port() == t.effective_port();
        let prefix = p.path.trim_end_matches('/');
        let on_boundary = prefix.is_empty()
            || t.path == prefix
            || t.path.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('/'));
        return (same_origin && on_boundary).then_some(2000 + prefix.len());
    }
    let (host, port) = split_host_port(&pattern.to_ascii_lowercase());
    let port_ok = match port {
        Some(p) => t.port == Some(p),
        None => t.port.is_none() || t.port == Some(443),
    };
    if !port_ok {
        return None;
    }
    if let Some(suffix) = host.strip_prefix("*.") {
        let label_ok = t
            .host
            .strip_suffix(suffix)
            .is_some_and(|head| head.len() > 1 && head.ends_with('.') && !head[..head.len() - 1].contains('.'));
        return label_ok.then_some(1000 + suffix.len());
    }
    (host == t.host).then_some(1500)
}

fn split_host_port(pattern: &str) -> (String, Option<u16>) {
    if let Some((h, p)) = pattern.rsplit_once(':')
        && let Ok(port) = p.parse::<u16>()
        && !h.contains(':')
    {
        return (h.to_string(), Some(port));
    }
    (pattern.to_string(), None)
}

/// The best entry of one profile for the target, with its specificity.
pub fn best_entry<'p>(profile: &'p Profile, t: &Target, kinds: Entries) -> Option<(&'p MatchEntry, usize)> {
    profile
        .matches
        .iter()
        .filter(|e| kinds == Entries::All || !e.pattern().contains("://"))
        .filter_map(|e| specificity(e.pattern(), t).map(|s| (e, s)))
        .max_by_key(|(_, s)| *s)
}

/// The profile (among `profiles`) with the most specific entry for the target.
pub fn route<'p>(profiles: &'p [Profile], t: &Target, kinds: Entries) -> Option<(&'p Profile, &'p MatchEntry)> {
    profiles
        .iter()
        .filter_map(|p| best_entry(p, t, kinds).map(|(e, s)| (p, e, s)))
        .max_by_key(|(_, _, s)| *s)
        .map(|(p, e, _)| (p, e))
}

/// Azure DevOps hosts, which an explicitly chosen profile may answer for
/// without a match entry (git helper only).
pub fn is_azure_devops(t: &Target) -> bool {
    t.scheme == "https"
        && t.port.is_none_or(|p| p == 443)
        && (t.host == "dev.azure.com"
            || t.host.strip_suffix(".visualstudio.com").is_some_and(|h| !h.is_empty() && !h.contains('.')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(matches: &[&str]) -> Profile {
        Profile {
            name: "p".into(),
            matches: matches.iter().map(|m| MatchEntry::Pattern(m.to_string())).collect(),
            ..Default::default()
        }
    }

    fn matches(pattern: &str, url: &str) -> bool {
        let t = Target::from_url(url).or_else(|| Target::from_registry(url));
        t.is_some_and(|t| best_entry(&profile(&[pattern]), &t, Entries::All).is_some())
    }

    #[test]
    fn url_prefixes_respect_scheme_host_port_and_segments() {
        let org = "https://dev.azure.com/contoso";
        assert!(matches(org, "https://dev.azure.com/contoso"));
        assert!(matches(org, "https://dev.azure.com/contoso/project/_git/repo"));
        assert!(matches(org, "https://dev.azure.com:443/contoso/x"));
        assert!(!matches(org, "https://dev.azure.com/contoso-evil/x"));
        assert!(!matches(org, "http://dev.azure.com/contoso/x"));
        assert!(!matches(org, "https://dev.azure.com:8443/contoso/x"));
        assert!(!matches(org, "https://dev.azure.com.evil.io/contoso/x"));
        assert!(!matches(org, "https://dev.azure.com@evil.io/contoso"));
        assert!(!matches(org, "https://evil.io/dev.azure.com/contoso"));
        // A hand-written http pattern never sends a token in the clear.
        assert!(!matches("http://intranet.example.com/git", "http://intranet.example.com/git/repo"));
        assert!(matches("http://127.0.0.1:8080/org", "http://127.0.0.1:8080/org/_git/r"));
    }

    #[test]
    fn hosts_and_globs() {
        assert!(matches("contoso.azurecr.io", "contoso.azurecr.io"));
        assert!(matches("contoso.azurecr.io", "https://contoso.azurecr.io/v2/"));
        assert!(!matches("contoso.azurecr.io", "contoso.azurecr.io:5000"));
        assert!(!matches("contoso.azurecr.io", "http://contoso.azurecr.io"));
        assert!(matches("127.0.0.1:5000", "127.0.0.1:5000"));
        assert!(!matches("127.0.0.1:5000", "127.0.0.1:5001"));
        assert!(matches("*.azurecr.io", "contoso.azurecr.io"));
        assert!(!matches("*.azurecr.io", "evilazurecr.io"));
        assert!(!matches("*.azurecr.io", "azurecr.io"));
        assert!(!matches("*.azurecr.io", "a.b.azurecr.io"));
        assert!(!matches("*.azurecr.io", "contoso.azurecr.io.evil.io"));
        assert!(!matches("contoso.azurecr.io", "evil.io@contoso.azurecr.io"));
    }

    #[test]
    fn most_specific_wins() {
        let broad = Profile {
            name: "broad".into(),
            matches: vec![MatchEntry::Pattern("https://dev.azure.com".into())],
            ..Default::default()
        };
        let narrow = Profile {
            name: "narrow".into(),
            matches: vec![MatchEntry::Pattern("https://dev.azure.com/contoso".into())],
            ..Default::default()
        };
        let profiles = [broad, narrow];
        let t = Target::from_url("https://dev.azure.com/contoso/p/_git/r").unwrap();
        assert_eq!(route(&profiles, &t, Entries::All).unwrap().0.name, "narrow");
        let t = Target::from_url("https://dev.azure.com/fabrikam/p/_git/r").unwrap();
        assert_eq!(route(&profiles, &t, Entries::All).unwrap().0.name, "broad");
        assert!(route(&profiles, &t, Entries::HostsOnly).is_none(), "URL prefixes never serve docker");
    }

    #[test]
    fn git_hosts_must_be_plain_and_paths_are_resolved() {
        let git = |host: &str, path: &str| Target::from_git("https", host, Some(path));
        assert!(git("dev.azure.com", "contoso/p").is_some());
        assert!(git("dev.azure.com:443", "x").is_some());
        assert!(git("127.0.0.1:8080", "x").is_some());
        assert!(git("[::1]:8080", "x").is_some());
        for bad in [
            "dev%2eazure%2ecom",
            "dev.azure.com\t",
            "dev.azure.com\tx",
            "a b",
            "evil@dev.azure.com",
            "",
            ":443",
            "dev.azure.com:",
            "dev.azure.com:99999x",
            "[::1",
            "[::1]x",
            "[nope]",
            "dev..azure.com",
            "-a.com",
            "dev.azure.com/x",
            "h\u{7f}",
        ] {
            assert!(git(bad, "x").is_none(), "{bad:?} accepted");
        }
        assert_eq!(git("dev.azure.com", "contoso/../other/r").unwrap().path, "other/r");
        assert_eq!(git("dev.azure.com", "contoso/./p/%2e%2e/q").unwrap().path, "contoso/q");
        assert_eq!(git("dev.azure.com", "../../x").unwrap().path, "x");
        let org = profile(&["https://dev.azure.com/contoso"]);
        assert!(best_entry(&org, &git("dev.azure.com", "contoso/../other").unwrap(), Entries::All).is_none());
        assert!(git("dev.azure.com", "a\nb").is_none());
    }

    #[test]
    fn devops_hosts() {
        assert!(is_azure_devops(&Target::from_url("https://dev.azure.com/x").unwrap()));
        assert!(is_azure_devops(&Target::from_url("https://contoso.visualstudio.com/x").unwrap()));
        assert!(!is_azure_devops(&Target::from_url("https://dev.azure.com.evil.io/x").unwrap()));
        assert!(!is_azure_devops(&Target::from_url("http://dev.azure.com/x").unwrap()));
        assert!(!is_azure_devops(&Target::from_url("https://a.b.visualstudio.com/x").unwrap()));
    }
}
