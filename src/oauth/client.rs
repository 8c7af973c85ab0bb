//! OAuth clients: lookup (registered in KV, or pre-registered in configuration), redirect URI
//! rules, and client authentication at the token and revocation endpoints.

use super::cimd;
use super::error::{ErrorCode, OAuthError, OAuthResult};
use crate::crypto::{constant_time_eq, sha256_b64, unb64};
use crate::env::Services;
use crate::state::State;
use crate::store::get_json;
use crate::store::records::ClientRecord;
use crate::urls::{is_loopback, port_ok, split};
use crate::web::{form_decode, request_header, Params, Request};

pub const MAX_REDIRECT_URIS: usize = 10;
pub const MAX_URI_LEN: usize = 2000;

/// How long an isolate reuses a client record it read from KV. KV itself may serve a record up
/// to 60 s stale at other locations, so this adds no new kind of staleness; it saves the read
/// that would otherwise start every `/authorize` step and code exchange.
pub const CLIENT_CACHE_SECS: u64 = 60;

/// A client by id: a static client from configuration, a registered one (cached per isolate
/// for [`CLIENT_CACHE_SECS`]), or the one a client metadata document describes ([`cimd`]; a
/// document that cannot be used is `Err` 401 `invalid_client` naming why).
pub async fn find(
    state: &State,
    services: &Services<'_>,
    client_id: &str,
) -> OAuthResult<Option<ClientRecord>> {
    if cimd::is_metadata_url(client_id) {
        return cimd::resolve(state, services, client_id).await.map(Some);
    }
    if client_id.is_empty() || client_id.len() > 200 {
        return Ok(None);
    }
    if let Some(s) = state.config.static_clients.iter().find(|c| c.client_id == client_id) {
        return Ok(Some(ClientRecord {
            client_id: s.client_id.clone(),
            client_secret_hash: None,
            client_name: Some(s.client_name.clone()),
            redirect_uris: s.redirect_uris.clone(),
            token_endpoint_auth_method: "none".into(),
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            response_types: vec!["code".into()],
            scope: None,
            client_uri: None,
            logo_uri: None,
            jwks_uri: None,
            jwks: None,
            created_at: 0,
            renewed_at: u64::MAX,
        }));
    }
    let now = services.clock.now();
    if let Some(client) = state.clients.get(client_id, now) {
        return Ok(Some(client));
    }
    let client: Option<ClientRecord> =
        get_json(services.store, &ClientRecord::key(client_id)).await?;
    if let Some(c) = &client {
        state.clients.insert(client_id, c.clone(), now + CLIENT_CACHE_SECS);
    }
    Ok(client)
}

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

/// Authenticates the client at the token / revocation endpoint (RFC 6749 §2.3): HTTP Basic,
/// form `client_secret`, or just `client_id` for public clients.
pub async fn authenticate(
    state: &State,
    services: &Services<'_>,
    req: &Request,
    form: &Params,
) -> OAuthResult<ClientRecord> {
    let invalid = |why: &str| OAuthError::new(ErrorCode::InvalidClient, why);
    let (client_id, secret) = match request_header(req, "authorization") {
        Some(auth) if auth.len() > 6 && auth[..6].eq_ignore_ascii_case("basic ") => {
            let decoded =
                base64_std(&auth[6..]).ok_or_else(|| invalid("malformed Basic credentials"))?;
            let (id, secret) =
                decoded.split_once(':').ok_or_else(|| invalid("malformed Basic credentials"))?;
            // Each part is form-encoded before Basic encoding (RFC 6749 §2.3.1).
            let (id, secret) = (form_decode(id), form_decode(secret));
            if form.get("client_id").is_some_and(|f| f != id) {
                return Err(invalid(
                    "client_id in the body does not match the Authorization header",
                ));
            }
            (id, Some(secret))
        }
        _ => {
            let id = form
                .get("client_id")
                .ok_or_else(|| invalid("client authentication required (client_id missing)"))?;
            (id.to_owned(), form.get("client_secret").filter(|s| !s.is_empty()).map(str::to_owned))
        }
    };
    let client =
        find(state, services, &client_id).await?.ok_or_else(|| invalid("unknown client"))?;
    if client.token_endpoint_auth_method == "private_key_jwt" {
        // No fallback to a weaker method for a client that declared this one.
        return Err(invalid("this client must authenticate with private_key_jwt"));
    }
    match (&client.client_secret_hash, secret) {
        (Some(hash), Some(secret)) => {
            let given = sha256_b64(&secret);
            if constant_time_eq(given.as_bytes(), hash.as_bytes()) {
                Ok(client)
            } else {
                Err(invalid("client authentication failed"))
            }
        }
        (Some(_), None) => Err(invalid("this client must authenticate with its client_secret")),
        // Public clients have no secret; one sent anyway proves nothing and is ignored.
        (None, _) => Ok(client),
    }
}

fn base64_std(text: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
        .or_else(|| unb64(text.trim()))?;
    String::from_utf8(bytes).ok()
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
