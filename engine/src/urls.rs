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

/// Special-use domain names (RFC 6761, RFC 6762, RFC 7686, RFC 8375) and the private-use
/// `internal`: never resolved on the public internet, so never a client's identity.
const SPECIAL_USE: &[&str] =
    &["localhost", "local", "test", "invalid", "example", "onion", "internal", "home.arpa"];

/// Which outbound URLs this server fetches (client metadata documents, JWK sets), checked on the
/// raw string before any request: `https` with a path, no userinfo, no fragment, no dot segments
/// (also percent-encoded), a public DNS name (never an IP literal, a single label, a trailing dot
/// or a special-use name). With `loopback` (the development settings only) `http` or `https` on
/// `localhost` / `127.0.0.1` / `[::1]` is accepted too, so tests can serve documents locally.
pub(crate) fn check_fetchable(url: &str, loopback: bool) -> Result<(), String> {
    if url.len() > 2000 {
        return Err("the URL is longer than 2000 characters".into());
    }
    if url.bytes().any(|b| b <= b' ' || b >= 0x7f || b == b'\\') {
        return Err("the URL contains spaces, control or non-ASCII characters".into());
    }
    if url.contains('#') {
        return Err("the URL has a fragment".into());
    }
    let p = split(url).ok_or("the URL is not absolute")?;
    if p.userinfo.is_some() {
        return Err("the URL has user info".into());
    }
    if !port_ok(p.port) {
        return Err("the URL has an invalid port".into());
    }
    let path = p.rest.split('?').next().unwrap_or("");
    if !path.starts_with('/') || path == "/" {
        return Err("the URL has no path".into());
    }
    let dot = |seg: &str| {
        let s = seg.to_ascii_lowercase().replace("%2e", ".");
        s == "." || s == ".."
    };
    if path.split('/').any(dot) {
        return Err("the URL has a dot segment".into());
    }
    let host = p.host.to_ascii_lowercase();
    if loopback && is_loopback(&host) && (p.scheme == "http" || p.scheme == "https") {
        return Ok(());
    }
    if p.scheme != "https" {
        return Err("the URL is not https".into());
    }
    if host.starts_with('[') || host.rsplit('.').next().is_some_and(numeric_label) {
        return Err("the URL names an IP address, not a DNS name".into());
    }
    let labels_ok = host.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    });
    if !labels_ok || !host.contains('.') {
        return Err("the URL's host is not a public DNS name".into());
    }
    if SPECIAL_USE.iter().any(|s| host == *s || host.ends_with(&format!(".{s}"))) {
        return Err("the URL's host is a special-use name".into());
    }
    Ok(())
}

/// A label the WHATWG URL parser reads as (part of) an IPv4 address: decimal, octal or `0x` hex.
fn numeric_label(label: &str) -> bool {
    let hex = label.strip_prefix("0x").or_else(|| label.strip_prefix("0X"));
    match hex {
        Some(h) => h.bytes().all(|b| b.is_ascii_hexdigit()),
        None => !label.is_empty() && label.bytes().all(|b| b.is_ascii_digit()),
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

    #[test]
    fn only_public_https_urls_with_a_path_are_fetched() {
        for ok in [
            "https://claude.ai/oauth/claude-code-client-metadata",
            "https://vscode.dev/oauth/client-metadata.json",
            "https://chatgpt.com/oauth/abc/client.json?v=1",
            "https://x.example.com:8443/c",
        ] {
            assert_eq!(check_fetchable(ok, false), Ok(()), "{ok}");
        }
        for bad in [
            "http://claude.ai/oauth/c",
            "https://claude.ai",
            "https://claude.ai/",
            "https://claude.ai/a#f",
            "https://u@claude.ai/a",
            "https://u:p@claude.ai/a",
            "https://claude.ai/a/../b",
            "https://claude.ai/a/./b",
            "https://claude.ai/a/%2e%2E/b",
            "https://claude.ai/..",
            "https://127.0.0.1/a",
            "https://[::1]/a",
            "https://2130706433/a",
            "https://0x7f.1/a",
            "https://10.0.0.1/a",
            "https://localhost/a",
            "http://localhost:3000/a",
            "https://evil.localhost/a",
            "https://printer.local/a",
            "https://x.internal/a",
            "https://router.home.arpa/a",
            "https://intranet/a",
            "https://claude.ai./a",
            "https://claude.ai/a b",
            "https://claude.ai:x/a",
            "https://cla_ude.ai/a",
            "ftp://claude.ai/a",
            "claude.ai/a",
        ] {
            assert!(check_fetchable(bad, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn loopback_documents_only_in_development() {
        for url in
            ["http://127.0.0.1:4000/client.json", "https://localhost:4000/c", "http://[::1]:1/c"]
        {
            assert_eq!(check_fetchable(url, true), Ok(()), "{url}");
            assert!(check_fetchable(url, false).is_err(), "{url}");
        }
        assert!(check_fetchable("http://127.0.0.1:4000/", true).is_err());
        assert!(check_fetchable("http://u@127.0.0.1:4000/c", true).is_err());
        assert!(check_fetchable("http://10.0.0.1:4000/c", true).is_err());
    }
}
