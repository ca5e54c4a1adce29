//! Which proxy, if any, the requests to the ingest host go through, decided the way curl decides
//! it: the explicit setting, else `https_proxy` / `http_proxy` / `all_proxy` from the
//! environment unless `no_proxy` lists the host.
//!
//! Pure: no I/O, and the environment comes in through a closure, so every rule is tested without
//! touching the process's environment. Nothing here ever panics, whatever the input: a value the
//! SDK cannot use is one problem and a direct connection.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::host::{self, HostPort, parse_port, split_host_port};

/// How problems name the explicit setting (`ALLSTAK_PROXY` or `ConfigBuilder::proxy`).
const EXPLICIT: &str = "ALLSTAK_PROXY";

/// A proxy to send through.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Proxy {
    scheme: Scheme,
    /// As written, an IPv6 address in brackets.
    host: String,
    port: u16,
    /// `user:pass`, percent-encoded as given; both backends decode it from the URL.
    credentials: Option<String>,
    url: String,
}

impl Proxy {
    /// The proxy as both backends read it: `http://[user:pass@]host:port` or `https://…`, the
    /// port always written out (curl's defaults are not theirs, see [`Scheme::default_port`]).
    pub(crate) fn url(&self) -> &str {
        &self.url
    }
}

/// Where the proxy is, without credentials, for diagnostics: `http://proxy.corp:3128`.
impl fmt::Display for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme.name(), self.host, self.port)
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("at", &format_args!("{self}"))
            .field("credentials", &self.credentials.is_some())
            .finish()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    Http,
    Https,
}

impl Scheme {
    fn name(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }

    /// curl's defaults (`CURLOPT_PROXYPORT`): 443 for an https proxy, 1080 for any other. ureq
    /// and reqwest would use 80 for `http://proxy`, so the same variable would reach another
    /// port than curl does in the same shell; `url()` writes the port out to prevent that.
    fn default_port(self) -> u16 {
        match self {
            Self::Http => 1080,
            Self::Https => 443,
        }
    }
}

/// The proxy for requests to `target` (the ingest host URL, `http://` or `https://`), or `None`
/// for a direct connection.
///
/// `explicit` (`ALLSTAK_PROXY` / `ConfigBuilder::proxy`) wins over the environment and `no_proxy`
/// does not apply to it; an empty one turns proxies off, as curl's `--proxy ""` does. `env`
/// reads one environment variable. Each unusable value is pushed to `problems` once, as a
/// sentence naming the variable but never the credentials, and gives a direct connection.
pub(crate) fn resolve(
    explicit: Option<&str>,
    target: &str,
    env: &mut dyn FnMut(&str) -> Option<String>,
    problems: &mut Vec<String>,
) -> Option<Proxy> {
    if let Some(value) = explicit {
        let value = value.trim();
        if value.is_empty() {
            return None;
        }
        return parse_or_report(EXPLICIT, value, problems);
    }
    // A target config could not read has already been reported there.
    let target = Target::parse(target)?;
    let mut read = |name: &str| env(name).filter(|value| !value.trim().is_empty());
    let (name, value) = proxy_variables(target.secure)
        .iter()
        .find_map(|name| read(name).map(|value| (*name, value)))?;
    let no_proxy = read("no_proxy").or_else(|| read("NO_PROXY"));
    if no_proxy.is_some_and(|list| excludes(&list, &target)) {
        return None;
    }
    parse_or_report(name, value.trim(), problems)
}

/// The variables curl reads for a target, first set wins. `HTTP_PROXY` is missing on purpose:
/// CGI servers set it from a request's `Proxy:` header, so a client could pick our proxy
/// ("httpoxy"); curl reads only the lower-case `http_proxy` for that reason.
fn proxy_variables(secure: bool) -> &'static [&'static str] {
    if secure {
        &["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]
    } else {
        &["http_proxy", "all_proxy", "ALL_PROXY"]
    }
}

fn parse_or_report(name: &str, value: &str, problems: &mut Vec<String>) -> Option<Proxy> {
    match parse(value) {
        Ok(proxy) => Some(proxy),
        Err(unusable) => {
            problems.push(format!("{name} {unusable}; sending directly"));
            None
        }
    }
}

/// Why a proxy value cannot be used. Displays as the end of a sentence that starts with the
/// variable's name, and never repeats the value (it may hold credentials).
#[derive(Debug, PartialEq, Eq)]
enum Unusable {
    Socks(&'static str),
    Scheme(String),
    NotAUrl,
    Unreadable,
    NoHost,
    Host,
    Port,
    Path,
    Credentials,
}

impl fmt::Display for Unusable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Socks(scheme) => write!(
                f,
                "is a {scheme} proxy, which allstak does not support (only http:// and https:// \
                 proxies)"
            ),
            Self::Scheme(scheme) => write!(
                f,
                "is a {scheme}:// URL, which allstak cannot use as a proxy (only http:// and \
                 https:// proxies)"
            ),
            Self::NotAUrl => f.write_str("is not a proxy URL"),
            Self::Unreadable => f.write_str("holds spaces or control characters"),
            Self::NoHost => f.write_str("names no host"),
            Self::Host => f.write_str(
                "has a host that is neither a host name nor an IP address (IPv6 addresses go in \
                 [brackets])",
            ),
            Self::Port => f.write_str("has a port that is not a number from 1 to 65535"),
            Self::Path => f.write_str(
                "has a path, query or fragment, which a proxy URL cannot have (percent-encode \
                 any '/', '?' or '#' in its credentials)",
            ),
            Self::Credentials => f.write_str(
                "has credentials with characters a URL cannot carry as they are (percent-encode \
                 them, '@' as %40)",
            ),
        }
    }
}

fn parse(value: &str) -> Result<Proxy, Unusable> {
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Unusable::Unreadable);
    }
    // curl's default: a value without a scheme is an http proxy.
    let (scheme, rest) = match value.split_once("://") {
        None => (Scheme::Http, value),
        Some((scheme, rest)) => (scheme_named(scheme)?, rest),
    };
    let (authority, path) = rest
        .find(['/', '?', '#'])
        .map_or((rest, ""), |at| rest.split_at(at));
    if !path.is_empty() && path != "/" {
        return Err(Unusable::Path);
    }
    let (credentials, host_port) = match authority.rsplit_once('@') {
        Some((credentials, host_port)) => (Some(credentials), host_port),
        None => (None, authority),
    };
    if credentials.is_some_and(|c| !usable_credentials(c)) {
        return Err(Unusable::Credentials);
    }
    let HostPort {
        host,
        bracketed,
        port,
    } = split_host_port(host_port).ok_or(Unusable::Host)?;
    let host = if bracketed {
        host.parse::<Ipv6Addr>().map_err(|_| Unusable::Host)?;
        format!("[{host}]")
    } else if host.is_empty() {
        return Err(Unusable::NoHost);
    } else if host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
    {
        host.to_owned()
    } else {
        return Err(Unusable::Host);
    };
    let port = match port {
        None => scheme.default_port(),
        Some(port) => parse_port(port).ok_or(Unusable::Port)?,
    };
    let credentials = credentials.filter(|c| !c.is_empty()).map(str::to_owned);
    let url = match &credentials {
        Some(credentials) => format!("{}://{credentials}@{host}:{port}", scheme.name()),
        None => format!("{}://{host}:{port}", scheme.name()),
    };
    Ok(Proxy {
        scheme,
        host,
        port,
        credentials,
        url,
    })
}

fn scheme_named(scheme: &str) -> Result<Scheme, Unusable> {
    let is_scheme = scheme.len() <= 16
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !is_scheme {
        return Err(Unusable::NotAUrl);
    }
    match scheme.to_ascii_lowercase().as_str() {
        "http" => Ok(Scheme::Http),
        "https" => Ok(Scheme::Https),
        "socks4" => Err(Unusable::Socks("socks4")),
        "socks4a" => Err(Unusable::Socks("socks4a")),
        "socks" | "socks5" => Err(Unusable::Socks("socks5")),
        "socks5h" => Err(Unusable::Socks("socks5h")),
        other => Err(Unusable::Scheme(other.to_owned())),
    }
}

/// RFC 3986 userinfo (unreserved, sub-delims, `:` and `%XX`), decoding to UTF-8: what both
/// backends' URL parsers accept and ureq can decode.
fn usable_credentials(credentials: &str) -> bool {
    let mut decoded = Vec::with_capacity(credentials.len());
    let mut bytes = credentials.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'%' => {
                let high = bytes.next().and_then(hex_value);
                let low = bytes.next().and_then(hex_value);
                match (high, low) {
                    (Some(high), Some(low)) => decoded.push(high << 4 | low),
                    _ => return false,
                }
            }
            b if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:".contains(&b) => decoded.push(b),
            _ => return false,
        }
    }
    std::str::from_utf8(&decoded).is_ok()
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

/// The ingest host as `no_proxy` sees it.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    secure: bool,
    host: Host,
    port: u16,
}

#[derive(Debug, PartialEq, Eq)]
enum Host {
    /// Lower case, without a trailing dot.
    Name(String),
    Ip(IpAddr),
}

impl Target {
    /// Scheme, optional userinfo, `[v6]` or name, optional port; `None` for anything else.
    fn parse(url: &str) -> Option<Self> {
        let url = host::Url::parse(url)?;
        let port = url.port()?;
        let (secure, host, bracketed) = (url.secure, url.host, url.bracketed);
        let host = if bracketed {
            Host::Ip(IpAddr::V6(host.parse().ok()?))
        } else if let Ok(ip) = host.parse::<Ipv4Addr>() {
            Host::Ip(IpAddr::V4(ip))
        } else {
            let name = host.strip_suffix('.').unwrap_or(host);
            if name.is_empty() {
                return None;
            }
            Host::Name(name.to_ascii_lowercase())
        };
        Some(Self { secure, host, port })
    }
}

/// Whether a `no_proxy` list names the target: `*` alone names every host, otherwise
/// comma-separated entries, spaces around them ignored. As in curl, a `*` among other entries
/// is no wildcard.
fn excludes(list: &str, target: &Target) -> bool {
    list.trim() == "*"
        || list
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .any(|entry| Exclusion::parse(entry).is_some_and(|e| e.covers(target)))
}

/// One `no_proxy` entry: a domain, an address or a CIDR range, optionally for one port.
struct Exclusion<'a> {
    what: Excluded<'a>,
    port: Option<u16>,
}

enum Excluded<'a> {
    /// Without leading or trailing dots.
    Domain(&'a str),
    Network(IpAddr, u8),
}

impl<'a> Exclusion<'a> {
    /// `None` for an entry that can match nothing (a bad port or prefix length).
    fn parse(entry: &'a str) -> Option<Self> {
        // curl writes IPv6 entries bare (`::1`, `fe80::/10`); brackets are needed for a port.
        let (host, port) = if entry.starts_with('[') || entry.matches(':').count() < 2 {
            let HostPort { host, port, .. } = split_host_port(entry)?;
            let port = match port {
                Some(port) => Some(parse_port(port)?),
                None => None,
            };
            (host, port)
        } else {
            (entry, None)
        };
        let what = match host.split_once('/') {
            Some((address, bits)) => {
                let address: IpAddr = address.parse().ok()?;
                let bits = bits.parse::<u8>().ok()?;
                let max = if address.is_ipv4() { 32 } else { 128 };
                if bits > max {
                    return None;
                }
                Excluded::Network(address, bits)
            }
            None => match host.parse::<IpAddr>() {
                Ok(address) => Excluded::Network(address, if address.is_ipv4() { 32 } else { 128 }),
                Err(_) => {
                    let domain = host.trim_start_matches('.').trim_end_matches('.');
                    if domain.is_empty() {
                        return None;
                    }
                    Excluded::Domain(domain)
                }
            },
        };
        Some(Self { what, port })
    }

    fn covers(&self, target: &Target) -> bool {
        if self.port.is_some_and(|port| port != target.port) {
            return false;
        }
        match (&self.what, &target.host) {
            (Excluded::Domain(domain), Host::Name(name)) => within(name, domain),
            (Excluded::Network(network, bits), Host::Ip(address)) => {
                in_network(*address, *network, *bits)
            }
            // As curl: names never cover addresses, nor addresses names (no DNS here).
            _ => false,
        }
    }
}

/// `example.com` holds itself and `www.example.com`, not `badexample.com`.
fn within(name: &str, domain: &str) -> bool {
    let Some(split) = name.len().checked_sub(domain.len()) else {
        return false;
    };
    match (name.get(..split), name.get(split..)) {
        (Some(head), Some(tail)) => {
            tail.eq_ignore_ascii_case(domain) && (head.is_empty() || head.ends_with('.'))
        }
        _ => false,
    }
}

fn in_network(address: IpAddr, network: IpAddr, bits: u8) -> bool {
    match (address, network) {
        (IpAddr::V4(address), IpAddr::V4(network)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(address) & mask == u32::from(network) & mask
        }
        (IpAddr::V6(address), IpAddr::V6(network)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(address) & mask == u128::from(network) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HTTPS: &str = "https://api.allstak.sa";
    const HTTP: &str = "http://api.allstak.sa";

    /// Resolves against `vars` only; the proxy's URL, and the problems.
    fn resolved(
        explicit: Option<&str>,
        target: &str,
        vars: &[(&str, &str)],
    ) -> (Option<String>, Vec<String>) {
        let mut problems = Vec::new();
        let mut env = |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        };
        let proxy = resolve(explicit, target, &mut env, &mut problems);
        (proxy.map(|p| p.url().to_owned()), problems)
    }

    fn proxy_for(target: &str, vars: &[(&str, &str)]) -> Option<String> {
        let (proxy, problems) = resolved(None, target, vars);
        assert_eq!(problems, Vec::<String>::new());
        proxy
    }

    fn excluded(target: &str, no_proxy: &str) -> bool {
        proxy_for(
            target,
            &[("all_proxy", "http://p:1"), ("no_proxy", no_proxy)],
        )
        .is_none()
    }

    #[test]
    fn no_setting_and_no_environment_means_a_direct_connection() {
        assert_eq!(proxy_for(HTTPS, &[]), None);
        assert_eq!(proxy_for(HTTP, &[]), None);
    }

    #[test]
    fn the_explicit_proxy_wins_over_the_environment() {
        let vars = [
            ("https_proxy", "http://env:1"),
            ("ALL_PROXY", "http://all:2"),
        ];
        let (proxy, problems) = resolved(Some("http://explicit:3"), HTTPS, &vars);
        assert_eq!(proxy.as_deref(), Some("http://explicit:3"));
        assert!(problems.is_empty());
    }

    #[test]
    fn no_proxy_does_not_apply_to_the_explicit_proxy() {
        let (proxy, _) = resolved(Some("http://explicit:3"), HTTPS, &[("no_proxy", "*")]);
        assert_eq!(proxy.as_deref(), Some("http://explicit:3"));
    }

    #[test]
    fn an_empty_explicit_proxy_turns_the_environments_off_as_curls_empty_proxy_does() {
        let (proxy, problems) = resolved(Some("  "), HTTPS, &[("https_proxy", "http://env:1")]);
        assert_eq!(proxy, None);
        assert!(problems.is_empty());
    }

    #[test]
    fn an_https_target_reads_https_proxy_then_upper_case_https_proxy() {
        assert_eq!(
            proxy_for(HTTPS, &[("HTTPS_PROXY", "http://upper:1")]).as_deref(),
            Some("http://upper:1")
        );
        assert_eq!(
            proxy_for(HTTPS, &[("https_proxy", "http://lower:1")]).as_deref(),
            Some("http://lower:1")
        );
    }

    #[test]
    fn lower_case_wins_over_upper_case() {
        let vars = [
            ("HTTPS_PROXY", "http://upper:1"),
            ("https_proxy", "http://lower:1"),
            ("ALL_PROXY", "http://upper:2"),
            ("all_proxy", "http://lower:2"),
        ];
        assert_eq!(proxy_for(HTTPS, &vars).as_deref(), Some("http://lower:1"));
        assert_eq!(proxy_for(HTTP, &vars).as_deref(), Some("http://lower:2"));
    }

    #[test]
    fn an_http_target_reads_lower_case_http_proxy() {
        assert_eq!(
            proxy_for(HTTP, &[("http_proxy", "http://lower:1")]).as_deref(),
            Some("http://lower:1")
        );
    }

    #[test]
    fn upper_case_http_proxy_is_ignored_because_cgi_sets_it_from_a_request_header() {
        // httpoxy: a request's `Proxy:` header becomes HTTP_PROXY in a CGI script's environment.
        assert_eq!(
            proxy_for(HTTP, &[("HTTP_PROXY", "http://attacker:1")]),
            None
        );
        assert_eq!(
            proxy_for(
                HTTP,
                &[
                    ("HTTP_PROXY", "http://attacker:1"),
                    ("ALL_PROXY", "http://all:2")
                ]
            )
            .as_deref(),
            Some("http://all:2")
        );
    }

    #[test]
    fn each_scheme_reads_only_its_own_variable() {
        assert_eq!(proxy_for(HTTP, &[("https_proxy", "http://p:1")]), None);
        assert_eq!(proxy_for(HTTPS, &[("http_proxy", "http://p:1")]), None);
    }

    #[test]
    fn all_proxy_is_the_fallback_lower_case_first() {
        for target in [HTTP, HTTPS] {
            assert_eq!(
                proxy_for(target, &[("ALL_PROXY", "http://upper:1")]).as_deref(),
                Some("http://upper:1")
            );
            assert_eq!(
                proxy_for(
                    target,
                    &[
                        ("ALL_PROXY", "http://upper:1"),
                        ("all_proxy", "http://lower:1")
                    ]
                )
                .as_deref(),
                Some("http://lower:1")
            );
        }
    }

    #[test]
    fn the_scheme_s_own_variable_wins_over_all_proxy() {
        let vars = [
            ("all_proxy", "http://all:1"),
            ("HTTPS_PROXY", "http://https:2"),
            ("http_proxy", "http://http:3"),
        ];
        assert_eq!(proxy_for(HTTPS, &vars).as_deref(), Some("http://https:2"));
        assert_eq!(proxy_for(HTTP, &vars).as_deref(), Some("http://http:3"));
    }

    #[test]
    fn an_empty_variable_counts_as_unset() {
        let vars = [("https_proxy", ""), ("HTTPS_PROXY", "http://upper:1")];
        assert_eq!(proxy_for(HTTPS, &vars).as_deref(), Some("http://upper:1"));
    }

    #[test]
    fn no_proxy_star_alone_matches_every_host_and_is_no_wildcard_in_a_list() {
        assert!(excluded(HTTPS, "*"));
        assert!(excluded("http://10.1.2.3:8080", " * "));
        assert!(!excluded(HTTPS, "localhost, *"));
        assert!(!excluded(HTTPS, "*.allstak.sa"));
    }

    #[test]
    fn no_proxy_matches_the_host_itself_and_its_subdomains() {
        assert!(excluded(HTTPS, "api.allstak.sa"));
        assert!(excluded(HTTPS, "allstak.sa"));
        assert!(excluded(HTTPS, "sa"));
        assert!(!excluded(HTTPS, "eu.api.allstak.sa"));
        assert!(!excluded(HTTPS, "other.sa"));
    }

    #[test]
    fn no_proxy_entries_with_a_leading_dot_mean_the_same_domain() {
        assert!(excluded(HTTPS, ".allstak.sa"));
        assert!(excluded(HTTPS, ".api.allstak.sa"));
        assert!(!excluded(HTTPS, ".pi.allstak.sa"));
    }

    #[test]
    fn no_proxy_never_matches_a_bare_suffix() {
        assert!(!excluded("https://badexample.com", "example.com"));
        assert!(!excluded("https://badexample.com", ".example.com"));
        assert!(!excluded("https://example.com", "www.example.com"));
    }

    #[test]
    fn no_proxy_ignores_case_spaces_around_entries_and_trailing_dots() {
        assert!(excluded("https://API.AllStak.SA", "allstak.sa"));
        assert!(excluded(HTTPS, "ALLSTAK.SA"));
        assert!(excluded(HTTPS, " localhost ,  allstak.sa  ,"));
        assert!(excluded("https://api.allstak.sa./", "allstak.sa"));
        assert!(excluded(HTTPS, "allstak.sa."));
        assert!(!excluded(HTTPS, ",, ,"));
    }

    #[test]
    fn no_proxy_lower_case_wins_over_upper_case() {
        let vars = [
            ("all_proxy", "http://p:1"),
            ("no_proxy", "elsewhere.example"),
            ("NO_PROXY", "allstak.sa"),
        ];
        assert!(proxy_for(HTTPS, &vars).is_some());
        let upper_only = [("all_proxy", "http://p:1"), ("NO_PROXY", "allstak.sa")];
        assert!(proxy_for(HTTPS, &upper_only).is_none());
    }

    #[test]
    fn no_proxy_entries_with_a_port_match_only_that_port() {
        assert!(excluded(HTTPS, "allstak.sa:443"));
        assert!(!excluded(HTTPS, "allstak.sa:8443"));
        assert!(excluded(
            "http://api.allstak.sa:8080/",
            "api.allstak.sa:8080"
        ));
        assert!(!excluded(HTTP, "api.allstak.sa:8080"));
        assert!(excluded("http://10.0.0.1:9000", "10.0.0.1:9000"));
        assert!(excluded("http://[::1]:9000", "[::1]:9000"));
        assert!(!excluded("http://[::1]:9000", "[::1]:9001"));
        assert!(!excluded(HTTPS, "allstak.sa:https"));
    }

    #[test]
    fn no_proxy_ip_addresses_match_exactly() {
        assert!(excluded("http://10.0.0.1", "10.0.0.1"));
        assert!(!excluded("http://10.0.0.10", "10.0.0.1"));
        assert!(!excluded("http://110.0.0.1", "10.0.0.1"));
    }

    #[test]
    fn no_proxy_cidr_ranges_match_the_addresses_inside() {
        assert!(excluded("http://10.20.30.40", "10.0.0.0/8"));
        assert!(excluded("http://192.168.7.1:8080", "192.168.0.0/16"));
        assert!(!excluded("http://11.0.0.1", "10.0.0.0/8"));
        assert!(excluded("http://[::1]", "::1/128"));
        assert!(excluded("http://[fe80::1234]", "fe80::/10"));
        assert!(!excluded("http://[2001:db8::1]", "fe80::/10"));
        assert!(!excluded("http://10.0.0.1", "10.0.0.0/33"));
        assert!(!excluded("http://10.0.0.1", "10.0.0.0/x"));
    }

    #[test]
    fn no_proxy_matches_bracketed_ipv6_hosts_with_bare_or_bracketed_entries() {
        assert!(excluded("https://[::1]:8443/", "::1"));
        assert!(excluded("https://[::1]", "[::1]"));
        assert!(excluded("https://[0:0::1]", "::1"));
        assert!(!excluded("https://[::2]", "::1"));
    }

    #[test]
    fn no_proxy_names_never_match_addresses_nor_addresses_names() {
        assert!(!excluded("http://127.0.0.1", "localhost"));
        assert!(!excluded("http://localhost", "127.0.0.1"));
        assert!(!excluded("http://localhost", "127.0.0.0/8"));
        assert!(!excluded("http://[::1]", "10.0.0.0/8"));
    }

    #[test]
    fn no_proxy_reads_the_host_past_userinfo_and_path() {
        assert!(excluded(
            "https://user:pw@api.allstak.sa:443/x?y#z",
            "api.allstak.sa:443"
        ));
    }

    #[test]
    fn a_value_without_a_scheme_is_an_http_proxy() {
        assert_eq!(
            proxy_for(HTTPS, &[("https_proxy", "proxy.corp:3128")]).as_deref(),
            Some("http://proxy.corp:3128")
        );
    }

    #[test]
    fn the_port_is_always_written_out_with_curls_defaults_of_1080_for_http_and_443_for_https() {
        for (value, url) in [
            ("proxy.corp", "http://proxy.corp:1080"),
            ("http://proxy.corp", "http://proxy.corp:1080"),
            ("http://proxy.corp/", "http://proxy.corp:1080"),
            ("https://proxy.corp", "https://proxy.corp:443"),
            ("HTTPS://proxy.corp:8443", "https://proxy.corp:8443"),
            ("http://[::1]", "http://[::1]:1080"),
            ("10.0.0.1:3128", "http://10.0.0.1:3128"),
        ] {
            let (proxy, problems) = resolved(Some(value), HTTPS, &[]);
            assert_eq!(proxy.as_deref(), Some(url), "{value}");
            assert!(problems.is_empty(), "{value}");
        }
    }

    #[test]
    fn socks_proxies_are_one_problem_and_a_direct_connection() {
        for (value, kind) in [
            ("socks5://127.0.0.1:1080", "socks5"),
            ("socks5h://proxy:1080", "socks5h"),
            ("SOCKS4://proxy", "socks4"),
            ("socks4a://proxy", "socks4a"),
            ("socks://proxy", "socks5"),
        ] {
            let (proxy, problems) = resolved(None, HTTPS, &[("ALL_PROXY", value)]);
            assert_eq!(proxy, None, "{value}");
            assert_eq!(
                problems,
                [format!(
                    "ALL_PROXY is a {kind} proxy, which allstak does not support (only http:// \
                     and https:// proxies); sending directly"
                )],
                "{value}"
            );
        }
    }

    #[test]
    fn other_schemes_are_one_problem_and_a_direct_connection() {
        let (proxy, problems) = resolved(Some("ftp://proxy:21"), HTTPS, &[]);
        assert_eq!(proxy, None);
        assert_eq!(
            problems,
            [
                "ALLSTAK_PROXY is a ftp:// URL, which allstak cannot use as a proxy (only http:// \
              and https:// proxies); sending directly"
            ]
        );
    }

    #[test]
    fn malformed_values_are_one_problem_each_and_a_direct_connection() {
        for value in [
            "http://",
            "http://:8080",
            "http://proxy:",
            "http://proxy:0",
            "http://proxy:65536",
            "http://proxy:80a",
            "http://proxy:+80",
            "http://proxy:3128/path",
            "http://proxy:3128?q",
            "http://prox y:3128",
            "http://proxy\t:3128",
            "http://proxy\n.corp",
            "http://pro%78y",
            "http://::1:3128",
            "http://[::1",
            "http://[::1]x",
            "http://[not-v6]:80",
            "http://exämple.com",
            "://proxy",
            "1http://proxy",
            "http:/proxy:80/x",
            "http://us er:pw@proxy",
            "http://user:p@ss@proxy",
            "http://user:%zz@proxy",
            "http://user:%ff@proxy",
        ] {
            let (proxy, problems) = resolved(None, HTTPS, &[("https_proxy", value)]);
            assert_eq!(proxy, None, "{value:?}");
            assert_eq!(problems.len(), 1, "{value:?}: {problems:?}");
            assert!(problems[0].starts_with("https_proxy "), "{value:?}");
            assert!(problems[0].ends_with("; sending directly"), "{value:?}");
        }
    }

    #[test]
    fn a_proxy_no_proxy_excludes_is_not_read_nor_reported() {
        let vars = [("https_proxy", "socks5://p"), ("no_proxy", "allstak.sa")];
        assert_eq!(proxy_for(HTTPS, &vars), None);
    }

    #[test]
    fn credentials_stay_in_the_url_and_never_appear_in_display_debug_or_problems() {
        let mut env = |_: &str| None;
        let mut problems = Vec::new();
        let proxy = resolve(
            Some("http://alice:s%40cret@proxy.corp:3128"),
            HTTPS,
            &mut env,
            &mut problems,
        );
        let Some(proxy) = proxy else {
            panic!("a usable proxy: {problems:?}");
        };
        assert_eq!(proxy.url(), "http://alice:s%40cret@proxy.corp:3128");
        assert_eq!(proxy.to_string(), "http://proxy.corp:3128");
        let debug = format!("{proxy:?}");
        assert!(debug.contains("http://proxy.corp:3128"), "{debug}");
        assert!(
            !debug.contains("alice") && !debug.contains("cret"),
            "{debug}"
        );

        for value in [
            "socks5://alice:secret@p",
            "http://alice:secret@p:99999",
            "http://alice:sec ret@p",
            "http://alice:sec/ret@p",
            "http://alice:sec@ret@p",
            "gopher://alice:secret@p",
        ] {
            let (_, problems) = resolved(Some(value), HTTPS, &[]);
            assert_eq!(problems.len(), 1, "{value}");
            assert!(
                !problems[0].contains("alice") && !problems[0].contains("ret"),
                "{}",
                problems[0]
            );
        }
    }

    #[test]
    fn empty_credentials_are_dropped() {
        let (proxy, _) = resolved(Some("http://@proxy:1"), HTTPS, &[]);
        assert_eq!(proxy.as_deref(), Some("http://proxy:1"));
    }

    #[test]
    fn a_target_that_is_not_an_http_url_gets_a_direct_connection_and_no_problem() {
        for target in [
            "",
            "ftp://x",
            "api.allstak.sa",
            "http://",
            "http://[::1",
            "http://h:x",
        ] {
            let (proxy, problems) = resolved(None, target, &[("ALL_PROXY", "http://p:1")]);
            assert_eq!(proxy, None, "{target}");
            assert!(problems.is_empty(), "{target}");
        }
    }

    #[test]
    fn targets_are_read_with_their_default_ports() {
        let target = |url| Target::parse(url).map(|t| (t.secure, t.host, t.port));
        let name = |n: &str| Host::Name(n.to_owned());
        assert_eq!(
            target("https://API.allstak.sa"),
            Some((true, name("api.allstak.sa"), 443))
        );
        assert_eq!(
            target("HTTP://u:p@h:8080/x"),
            Some((false, name("h"), 8080))
        );
        assert_eq!(
            target("http://[::1]"),
            Some((false, Host::Ip("::1".parse().unwrap()), 80))
        );
    }

    /// What ureq makes of a URL, to compare with what we meant.
    fn as_ureq_reads_it(url: &str) -> (ureq::ProxyProtocol, String, u16, Option<String>) {
        let proxy = ureq::Proxy::new(url).unwrap();
        (
            proxy.protocol(),
            proxy.host().to_owned(),
            proxy.port(),
            proxy
                .username()
                .map(|user| format!("{user}:{}", proxy.password().unwrap_or(""))),
        )
    }

    #[test]
    fn ureq_reads_every_url_as_the_proxy_we_meant() {
        use ureq::ProxyProtocol::{Http, Https};
        for (value, expected) in [
            ("proxy.corp", (Http, "proxy.corp", 1080, None)),
            ("https://proxy.corp", (Https, "proxy.corp", 443, None)),
            ("http://[::1]:3128", (Http, "[::1]", 3128, None)),
            ("http://a:b@p:1", (Http, "p", 1, Some("a:b"))),
            (
                "http://a:s%40c%2Fr:t@p:1/",
                (Http, "p", 1, Some("a:s@c/r:t")),
            ),
            ("http://a@p:1", (Http, "p", 1, Some("a:"))),
        ] {
            let (proxy, problems) = resolved(Some(value), HTTPS, &[]);
            assert!(problems.is_empty(), "{value}: {problems:?}");
            let (protocol, host, port, credentials) = expected;
            assert_eq!(
                as_ureq_reads_it(&proxy.unwrap()),
                (
                    protocol,
                    host.to_owned(),
                    port,
                    credentials.map(str::to_owned)
                ),
                "{value}"
            );
        }
    }

    mod any_input {
        use super::*;
        use proptest::prelude::*;

        fn url_like() -> impl Strategy<Value = String> {
            "(https?://|socks5://|HTTP://|://)?([a-z]{0,3}(:[a-z%0-9]{0,3})?@)?(\\[[0-9a-f:]{0,6}\\]|[a-z0-9.]{0,6}|[0-9.:/]{0,8})(:[0-9a-z+]{0,6})?(/[a-z/?#]{0,3})?"
        }

        proptest! {
            #[test]
            fn resolve_never_panics_and_reports_at_most_one_problem(
                explicit in proptest::option::of(prop_oneof![url_like(), any::<String>()]),
                target in prop_oneof![url_like(), any::<String>()],
                value in prop_oneof![url_like(), any::<String>()],
                no_proxy in prop_oneof!["[a-z0-9.:/\\[\\]*, ]{0,24}", any::<String>()],
            ) {
                let mut env = |name: &str| match name {
                    "https_proxy" | "http_proxy" => Some(value.clone()),
                    "no_proxy" => Some(no_proxy.clone()),
                    _ => None,
                };
                let mut problems = Vec::new();
                let proxy = resolve(explicit.as_deref(), &target, &mut env, &mut problems);
                prop_assert!(problems.len() <= 1);
                prop_assert!(proxy.is_none() || problems.is_empty());
                if let Some(proxy) = proxy {
                    // Whatever we accept, ureq accepts too.
                    prop_assert!(ureq::Proxy::new(proxy.url()).is_ok(), "{}", proxy.url());
                }
            }
        }
    }
}
