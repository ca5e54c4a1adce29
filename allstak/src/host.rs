//! The one reader of the `http://` and `https://` URLs the SDK meets: the ingest host (config
//! checks it, the client warns when it is plain http to another machine, proxy matches it
//! against `no_proxy`, the pipelined connection connects to it) and a request in absolute form
//! (the test collector). Pure, and never
//! panics whatever the text.

use std::net::IpAddr;

/// An `http://` or `https://` URL, read as far as the SDK needs: scheme, host, port, and what
/// follows the authority. Userinfo (`user:pass@`) is skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Url<'a> {
    /// As written (`http`, `HTTPS`…).
    pub(crate) scheme: &'a str,
    /// `https`, in any case.
    pub(crate) secure: bool,
    /// A name or an address as written; an IPv6 address without its brackets.
    pub(crate) host: &'a str,
    /// Whether the host was in brackets (an IPv6 address).
    pub(crate) bracketed: bool,
    /// The port as written, not yet checked.
    pub(crate) port: Option<&'a str>,
    /// From the first `/`, `?` or `#` after the authority on; empty when there is none.
    pub(crate) path: &'a str,
}

impl<'a> Url<'a> {
    /// `None` for another scheme, no scheme, or an authority that is no `host[:port]`.
    pub(crate) fn parse(text: &'a str) -> Option<Self> {
        let (scheme, rest) = text.split_once("://")?;
        let secure = if scheme.eq_ignore_ascii_case("https") {
            true
        } else if scheme.eq_ignore_ascii_case("http") {
            false
        } else {
            return None;
        };
        let (authority, path) = rest
            .find(['/', '?', '#'])
            .map_or((rest, ""), |at| rest.split_at(at));
        let host_port = authority
            .rsplit_once('@')
            .map_or(authority, |(_, host_port)| host_port);
        let HostPort {
            host,
            bracketed,
            port,
        } = split_host_port(host_port)?;
        Some(Self {
            scheme,
            secure,
            host,
            bracketed,
            port,
            path,
        })
    }

    /// The port given, else the scheme's (443, 80); `None` for one that is no port.
    pub(crate) fn port(&self) -> Option<u16> {
        match self.port {
            Some(port) => parse_port(port),
            None if self.secure => Some(443),
            None => Some(80),
        }
    }

    /// `host:port`, the port always written out, an IPv6 address in brackets.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))] // the collector's proxy
    pub(crate) fn host_port(&self) -> Option<String> {
        let port = self.port()?;
        Some(if self.bracketed {
            format!("[{}]:{port}", self.host)
        } else {
            format!("{}:{port}", self.host)
        })
    }

    /// Whether the host is this machine: `localhost` or a loopback address.
    pub(crate) fn is_loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost")
            || self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

/// 1 to 65535, digits only (`u16::from_str` would also take `+80`).
pub(crate) fn parse_port(port: &str) -> Option<u16> {
    if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    port.parse::<u16>().ok().filter(|&port| port != 0)
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`; the port not yet checked.
pub(crate) struct HostPort<'a> {
    pub(crate) host: &'a str,
    pub(crate) bracketed: bool,
    pub(crate) port: Option<&'a str>,
}

pub(crate) fn split_host_port(text: &str) -> Option<HostPort<'_>> {
    if let Some(inner) = text.strip_prefix('[') {
        let (host, after) = inner.split_once(']')?;
        let port = match after {
            "" => None,
            after => Some(after.strip_prefix(':')?),
        };
        return Some(HostPort {
            host,
            bracketed: true,
            port,
        });
    }
    let (host, port) = match text.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (text, None),
    };
    // Two colons: an IPv6 address without its brackets.
    if port.is_some_and(|port| port.contains(':')) {
        return None;
    }
    Some(HostPort {
        host,
        bracketed: false,
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_gives_its_scheme_host_port_and_path() {
        let url = Url::parse("HTTPS://user:pw@Api.Example:8443/x?q").expect("a url");
        assert_eq!(
            (url.scheme, url.secure, url.host, url.port, url.path),
            ("HTTPS", true, "Api.Example", Some("8443"), "/x?q")
        );
        assert_eq!(url.port(), Some(8443));
        let url = Url::parse("http://[::1]").expect("a url");
        assert!(url.bracketed && url.is_loopback());
        assert_eq!(url.host_port().as_deref(), Some("[::1]:80"));
        assert_eq!(Url::parse("https://h").and_then(|u| u.port()), Some(443));
        assert_eq!(Url::parse("http://h:0").and_then(|u| u.port()), None);
        assert_eq!(Url::parse("http://h:+80").and_then(|u| u.port()), None);
    }

    #[test]
    fn only_http_and_https_urls_with_a_host_port_are_read() {
        for text in [
            "ftp://x",
            "h:80",
            "/x",
            "http//x",
            "http://::1/",
            "http://[::1",
        ] {
            assert_eq!(Url::parse(text), None, "{text}");
        }
    }

    #[test]
    fn loopback_is_localhost_or_a_loopback_address() {
        for host in [
            "http://localhost:9",
            "http://127.0.0.1",
            "http://127.8.0.1:1",
            "http://[::1]:9",
        ] {
            assert!(Url::parse(host).is_some_and(|u| u.is_loopback()), "{host}");
        }
        for host in [
            "http://10.0.0.1",
            "http://example.com",
            "http://[::2]",
            "http://localhost.example",
        ] {
            assert!(!Url::parse(host).is_some_and(|u| u.is_loopback()), "{host}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_read_without_panicking(text in ".{0,64}") {
            if let Some(url) = Url::parse(&text) {
                let _ = (url.port(), url.host_port(), url.is_loopback());
            }
        }
    }
}
