//! Redirect URIs: which may be registered or published (RFC 8252 §7, OAuth 2.1 §2.3.1), and
//! when a requested one matches (exact, loopback on any port).

use crate::urls::{is_loopback, port_ok, split};

pub const MAX_REDIRECT_URIS: usize = 10;
pub const MAX_URI_LEN: usize = 2000;

/// Schemes that may never be redirect targets.
const FORBIDDEN_SCHEMES: &[&str] = &[
    "javascript",
    "data",
    "vbscript",
    "file",
    "about",
    "blob",
    "filesystem",
    "ftp",
    "ws",
    "wss",
    "mailto",
    "tel",
];

/// Checks a redirect URI offered at registration: https anywhere, http only on loopback, or a
/// private-use scheme (RFC 8252 §7.1); never a fragment, userinfo or a dangerous scheme.
pub fn validate_redirect_uri(uri: &str) -> Result<(), String> {
    if uri.len() > MAX_URI_LEN {
        return Err(format!("redirect URI longer than {MAX_URI_LEN} characters"));
    }
    if uri.contains('#') {
        return Err(format!("redirect URI {uri:?} must not contain a fragment"));
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control() || c == '\\') {
        return Err(format!("redirect URI {uri:?} contains whitespace or control characters"));
    }
    let scheme = uri.split(':').next().unwrap_or("");
    let scheme_ok = !scheme.is_empty()
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !scheme_ok || !uri[scheme.len()..].starts_with(':') {
        return Err(format!("redirect URI {uri:?} is not an absolute URI"));
    }
    let lower = scheme.to_ascii_lowercase();
    if FORBIDDEN_SCHEMES.contains(&lower.as_str()) {
        return Err(format!("redirect URI scheme {scheme:?} is not allowed"));
    }
    if lower == "http" || lower == "https" {
        let parts = split(uri).ok_or_else(|| format!("redirect URI {uri:?} is malformed"))?;
        if parts.host.is_empty() || parts.userinfo.is_some() {
            return Err(format!("redirect URI {uri:?} must name a host and no user info"));
        }
        if !port_ok(parts.port) {
            return Err(format!("redirect URI {uri:?} has an invalid port"));
        }
        if lower == "http" && !is_loopback(parts.host) {
            return Err(format!(
                "redirect URI {uri:?} must use https (http only on localhost / 127.0.0.1)"
            ));
        }
    }
    Ok(())
}

/// Does `requested` match one of the registered URIs? Exact string match, except that loopback
/// http URIs match on any port and `localhost` / `127.0.0.1` / `[::1]` are interchangeable
/// (RFC 8252 §7.3, §8.3).
pub fn redirect_uri_matches(registered: &[String], requested: &str) -> bool {
    if registered.iter().any(|r| r == requested) {
        return true;
    }
    let Some(req) = split(requested) else {
        return false;
    };
    if req.scheme != "http"
        || !is_loopback(req.host)
        || req.userinfo.is_some()
        || requested.contains('#')
        || !port_ok(req.port)
    {
        return false;
    }
    registered.iter().filter_map(|r| split(r)).any(|reg| {
        reg.scheme == "http"
            && reg.userinfo.is_none()
            && is_loopback(reg.host)
            && reg.rest == req.rest
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_rules() {
        for ok in [
            "https://claude.ai/api/mcp/auth_callback",
            "http://localhost:6274/oauth/callback",
            "http://127.0.0.1/cb",
            "http://[::1]:3000/cb",
            "cursor://anysphere.cursor-retrieval/oauth/callback",
            "vscode://vscode.github-authentication/did-authenticate",
            "com.example.app:/oauth2redirect",
        ] {
            assert_eq!(validate_redirect_uri(ok), Ok(()), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,hi",
            "https://example.com/cb#frag",
            "http://example.com/cb",
            "https://user@evil.example/cb",
            "https://good.example@evil.example/cb",
            "relative/path",
            "https:///nohost",
            "https://x.example/a b",
            "http://localhost:abc/cb",
        ] {
            assert!(validate_redirect_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn matching_is_exact_except_loopback_ports() {
        let reg = vec![
            "https://claude.ai/api/mcp/auth_callback".to_owned(),
            "http://localhost/oauth/callback".to_owned(),
        ];
        assert!(redirect_uri_matches(&reg, "https://claude.ai/api/mcp/auth_callback"));
        assert!(redirect_uri_matches(&reg, "http://localhost:49152/oauth/callback"));
        assert!(redirect_uri_matches(&reg, "http://127.0.0.1:3000/oauth/callback"));
        assert!(redirect_uri_matches(&reg, "http://[::1]:3000/oauth/callback"));
        for bad in [
            "https://claude.ai/api/mcp/auth_callback/extra",
            "https://claude.ai/api/mcp/auth_callbac",
            "https://CLAUDE.ai/api/mcp/auth_callback",
            "https://claude.ai/api/mcp/auth_callback?x=1",
            "https://claude.ai/api/mcp/auth_callback#f",
            "https://claude.ai.evil.example/api/mcp/auth_callback",
            "https://evil.example@claude.ai/api/mcp/auth_callback",
            "http://localhost:3000/oauth/callback/../x",
            "http://localhost:3000/oauth/other",
            "https://localhost:3000/oauth/callback",
            "http://localhost:3000@evil.example/oauth/callback",
            "http://evil.example:3000/oauth/callback",
        ] {
            assert!(!redirect_uri_matches(&reg, bad), "{bad}");
        }
    }
}
