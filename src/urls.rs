//! URLs: the ones this deployment publishes ([`Urls`]), and the one way the crate takes a URL
//! apart ([`split`]): userinfo is never part of the host, hosts compare lowercased, and
//! [`is_loopback`] is the only loopback rule.

use crate::web::{request_header, Request};

/// Absolute URLs derived from the public origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Urls {
    pub origin: String,
    /// The authorization server's issuer: the origin exactly.
    pub issuer: String,
    /// The MCP endpoint's absolute URL: the protected resource and every token's audience.
    pub resource: String,
    /// Where the Protected Resource Metadata lives (RFC 9728 §3.1, path-suffixed form).
    pub resource_metadata: String,
    pub jwks: String,
}

impl Urls {
    pub fn new(origin: &str, mcp_path: &str) -> Urls {
        Urls {
            origin: origin.to_owned(),
            issuer: origin.to_owned(),
            resource: format!("{origin}{mcp_path}"),
            resource_metadata: format!("{origin}/.well-known/oauth-protected-resource{mcp_path}"),
            jwks: format!("{origin}/.well-known/jwks.json"),
        }
    }

    /// The URLs for the origin `req` came to, or for `public_base_url` when configured.
    pub fn for_request(public_base_url: Option<&str>, mcp_path: &str, req: &Request) -> Urls {
        match public_base_url {
            Some(origin) => Urls::new(origin, mcp_path),
            None => Urls::new(&request_origin(req), mcp_path),
        }
    }
}

/// The origin (`scheme://host[:port]`) the request was addressed to.
pub(crate) fn request_origin(req: &Request) -> String {
    let uri = req.uri();
    let scheme = uri.scheme_str().unwrap_or("https");
    let host = uri
        .authority()
        .map(|a| a.as_str())
        .or_else(|| request_header(req, "host"))
        .unwrap_or("localhost");
    format!("{scheme}://{host}")
}

/// The parts of `scheme://[userinfo@]host[:port][/path][?query][#fragment]`, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Parts<'a> {
    pub(crate) scheme: &'a str,
    pub(crate) userinfo: Option<&'a str>,
    /// As written (not lowercased); IPv6 literals keep their brackets.
    pub(crate) host: &'a str,
    pub(crate) port: Option<&'a str>,
    /// Path, query and fragment: everything after the authority.
    pub(crate) rest: &'a str,
}

/// Splits a hierarchical URL. `None` without `://` or with an unclosed IPv6 bracket.
pub(crate) fn split(url: &str) -> Option<Parts<'_>> {
    let (scheme, after) = url.split_once("://")?;
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (host, port) = if hostport.starts_with('[') {
        let close = hostport.find(']')?;
        let (h, p) = hostport.split_at(close + 1);
        match p {
            "" => (h, None),
            p => (h, Some(p.strip_prefix(':')?)),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    Some(Parts { scheme, userinfo, host, port, rest })
}

/// `example.com` from `https://user@Example.com:8443/x`: lowercased, without userinfo or port
/// (empty when `url` has no authority).
pub(crate) fn host_of(url: &str) -> String {
    split(url).map(|p| p.host.to_ascii_lowercase()).unwrap_or_default()
}

/// The one loopback rule: `localhost`, `127.0.0.1` or `[::1]` (any case).
pub(crate) fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host == "127.0.0.1" || host == "[::1]"
}

/// A port that is empty or not all digits is malformed.
pub(crate) fn port_ok(port: Option<&str>) -> bool {
    port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// True when `candidate` names `resource` (RFC 8707): equal (ignoring one trailing slash), or a
/// parent of it at a path boundary (`https://x.example` covers `https://x.example/mcp`,
/// `https://x.example/m` does not). Scheme and host compare case-insensitively.
pub(crate) fn audience_covers(candidate: &str, resource: &str) -> bool {
    let (Some(c), Some(r)) = (normalize(candidate), normalize(resource)) else {
        return false;
    };
    if c.contains(['?', '#']) {
        return false;
    }
    r == c || (r.starts_with(&c) && r.as_bytes().get(c.len()) == Some(&b'/'))
}

/// `scheme://[userinfo@]host[:port]path` with scheme and host lowercased, no trailing slash.
fn normalize(url: &str) -> Option<String> {
    let p = split(url.trim_end_matches('/'))?;
    let userinfo = p.userinfo.map(|u| format!("{u}@")).unwrap_or_default();
    let port = p.port.map(|p| format!(":{p}")).unwrap_or_default();
    Some(format!(
        "{}://{userinfo}{}{port}{}",
        p.scheme.to_ascii_lowercase(),
        p.host.to_ascii_lowercase(),
        p.rest
    ))
}

/// What a person recognises a redirect URI by: its host and port (`claude.ai`,
/// `127.0.0.1:3000`, never userinfo), or `scheme:` for URIs without one (`cursor:`).
pub(crate) fn redirect_host(url: &str) -> String {
    match split(url) {
        Some(p) if !p.host.is_empty() => match p.port {
            Some(port) => format!("{}:{port}", p.host),
            None => p.host.to_owned(),
        },
        Some(p) => format!("{}:", p.scheme),
        None => url.split(':').next().map(|s| format!("{s}:")).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_never_include_userinfo_or_port() {
        assert_eq!(host_of("http://LOCALHOST:8787"), "localhost");
        assert_eq!(host_of("http://[::1]:8787/x"), "[::1]");
        assert_eq!(host_of("https://evil.example.com"), "evil.example.com");
        assert_eq!(host_of("https://user@evil.example.com"), "evil.example.com");
        assert_eq!(host_of("https://localhost@evil.example.com/"), "evil.example.com");
        assert_eq!(host_of("no-authority"), "");
        assert_eq!(redirect_host("https://u:p@claude.ai/cb"), "claude.ai");
        assert_eq!(redirect_host("http://127.0.0.1:3000/cb"), "127.0.0.1:3000");
        assert_eq!(redirect_host("cursor://anysphere/cb"), "anysphere");
        assert_eq!(redirect_host("com.example.app:/cb"), "com.example.app:");
    }

    #[test]
    fn parts_are_split_once() {
        let p = split("http://a:b@[::1]:80/p?q#f").unwrap();
        assert_eq!(
            p,
            Parts {
                scheme: "http",
                userinfo: Some("a:b"),
                host: "[::1]",
                port: Some("80"),
                rest: "/p?q#f"
            }
        );
        assert!(split("http://[::1").is_none());
        assert!(split("http://[::1]x/").is_none());
        assert!(port_ok(Some("8080")) && port_ok(None));
        assert!(!port_ok(Some("")) && !port_ok(Some("8o")));
    }

    #[test]
    fn loopback_is_one_rule() {
        for h in ["localhost", "LocalHost", "127.0.0.1", "[::1]"] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["localhost.evil.com", "127.0.0.2", "0.0.0.0", "x.localhost", ""] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn path_boundaries_are_respected() {
        let r = "https://x.example/mcp";
        assert!(audience_covers("https://x.example/mcp", r));
        assert!(audience_covers("https://x.example/mcp/", r));
        assert!(audience_covers("https://x.example", r));
        assert!(audience_covers("https://X.EXAMPLE/mcp", r));
        assert!(!audience_covers("https://x.example/m", r));
        assert!(!audience_covers("https://x.example/mcp2", r));
        assert!(!audience_covers("https://x.example/mcp/sub", r));
        assert!(!audience_covers("https://x.example.evil/mcp", r));
        assert!(!audience_covers("https://evil.example/mcp", r));
        assert!(!audience_covers("http://x.example/mcp", r));
        assert!(!audience_covers("", r));
        assert!(!audience_covers("https://x.example/mcp?x", r));
        assert!(!audience_covers("https://u@x.example/mcp", r));
    }
}
