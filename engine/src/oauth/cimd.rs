//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document; MCP 2025-11-25
//! and 2026-07-28 authorization): a `client_id` that is an https URL names a JSON document of
//! client metadata published there. The server fetches it under `urls::check_fetchable`
//! (no redirects, [`MAX_BYTES`], [`TIMEOUT_MS`], JSON only), checks it, and keeps a good one in
//! KV for as long as its `Cache-Control` says, clamped to [`MIN_CACHE_SECS`]..[`MAX_CACHE_SECS`].
//! Failures are never cached: the next request fetches again.

use super::error::{ErrorCode, OAuthError, OAuthResult};
use super::redirect_uri::{validate_redirect_uri, MAX_REDIRECT_URIS};
use crate::config::Mode;
use crate::crypto::sha256_b64;
use crate::env::{FetchError, FetchLimits, Services};
use crate::state::State;
use crate::store::records::ClientRecord;
use crate::store::{get_json, put_json_best_effort};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The largest document read, declared or streamed (the draft suggests 5 KB).
pub const MAX_BYTES: usize = 5 * 1024;
/// How long the server waits for a document.
pub const TIMEOUT_MS: u32 = 5000;
/// Cache lifetimes of a good document (and of a JWK set fetched the same way).
pub const MIN_CACHE_SECS: u64 = 300;
pub const MAX_CACHE_SECS: u64 = 86400;
/// How long an isolate reuses a document without reading KV (as for registered clients).
const MEMO_SECS: u64 = 60;

/// Does this `client_id` name a metadata document? (Registered ids are random base64url and
/// static ids are configured names: neither contains `://`.)
pub fn is_metadata_url(client_id: &str) -> bool {
    client_id.starts_with("https://") || client_id.starts_with("http://")
}

/// May documents be fetched from loopback (`127.0.0.1`, `localhost`)? In the development
/// settings only.
pub(crate) fn loopback_allowed(state: &State) -> bool {
    state.config.mode == Mode::Development
}

/// `cimd:{sha256(url)}`: a good document as the client it describes, until `expires_at`.
#[derive(Serialize, Deserialize)]
struct CachedClient {
    client: ClientRecord,
    expires_at: u64,
}

pub(crate) fn cache_key(url: &str) -> String {
    format!("cimd:{}", sha256_b64(url))
}

/// The client a metadata URL describes: from this isolate's memo, KV, or a fresh fetch.
/// Every failure is 401 `invalid_client` naming what was wrong.
pub async fn resolve(
    state: &State,
    services: &Services<'_>,
    url: &str,
) -> OAuthResult<ClientRecord> {
    let invalid = |why: String| {
        OAuthError::new(ErrorCode::InvalidClient, format!("client metadata document {url}: {why}"))
    };
    crate::urls::check_fetchable(url, loopback_allowed(state)).map_err(invalid)?;
    let now = services.clock.now();
    if let Some(client) = state.clients.get(url, now) {
        return Ok(client);
    }
    let key = cache_key(url);
    if let Some(cached) = get_json::<CachedClient>(services.store, &key).await? {
        if cached.expires_at > now && cached.client.client_id == url {
            state.clients.insert(
                url,
                cached.client.clone(),
                cached.expires_at.min(now + MEMO_SECS),
            );
            return Ok(cached.client);
        }
    }
    let (doc, ttl) = fetch_json(services, url).await.map_err(invalid)?;
    let client =
        check(&doc, url, now, loopback_allowed(state), &state.config.scopes).map_err(invalid)?;
    let cached = CachedClient { client: client.clone(), expires_at: now + ttl };
    // A failed cache write costs a fetch next time, nothing more.
    if let Err(e) = put_json_best_effort(services.store, &key, &cached, Some(ttl)).await {
        log::warn!("could not cache the client metadata document {url}: {e}");
    }
    state.clients.insert(url, client.clone(), (now + ttl).min(now + MEMO_SECS));
    crate::logs::event("client_metadata_fetched", serde_json::json!({ "client": url, "ttl": ttl }));
    Ok(client)
}

/// The rate-limit key of outbound fetches to a host: anyone can name any URL as a client id,
/// so the worker must not become a request amplifier against one host (distinct URLs there
/// miss the cache). Counted by Cloudflare's Rate Limiting binding (`REGISTRATIONS`: 60 per
/// minute per key and location in production).
pub fn throttle_key(url: &str) -> String {
    format!("fetch:{}", crate::urls::host_of(url))
}

/// GETs a JSON object under the fetch rules: 200 only (a redirect is an error, never
/// followed), a JSON media type, at most [`MAX_BYTES`], at most the limiter's rate per host.
/// Returns it with its cache lifetime. The caller has checked the URL with
/// `urls::check_fetchable`.
pub(crate) async fn fetch_json(
    services: &Services<'_>,
    url: &str,
) -> Result<(Map<String, Value>, u64), String> {
    if !services.limiter.allow(crate::env::Bucket::Registrations, &throttle_key(url)).await {
        return Err(format!(
            "not fetched: too many fetches from {} in the last minute; retry shortly",
            crate::urls::host_of(url)
        ));
    }
    let req = http::Request::get(url)
        .header("accept", "application/json")
        .body(Vec::new())
        .map_err(|_| "the URL is malformed".to_owned())?;
    let limits = FetchLimits { max_bytes: MAX_BYTES, timeout_ms: TIMEOUT_MS };
    let res = services.fetch.fetch(req, limits).await.map_err(|e| match e {
        FetchError::Timeout => format!("no answer within {} s", TIMEOUT_MS / 1000),
        FetchError::TooLarge => format!("larger than {MAX_BYTES} bytes"),
        other => other.to_string(),
    })?;
    let status = res.status();
    if status.is_redirection() {
        return Err(format!("answered {} (redirects are not followed)", status.as_u16()));
    }
    if status != http::StatusCode::OK {
        return Err(format!("answered {}", status.as_u16()));
    }
    let header = |name| res.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media = header("content-type").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if media != "application/json" && !media.ends_with("+json") {
        return Err(format!("is {media:?}, not application/json"));
    }
    let doc = match serde_json::from_slice(res.body()) {
        Ok(Value::Object(doc)) => doc,
        _ => return Err("is not a JSON object".into()),
    };
    Ok((doc, cache_lifetime(header("cache-control"))))
}

/// Seconds to keep a good document: `max-age` (or `s-maxage`), clamped to
/// [`MIN_CACHE_SECS`]..[`MAX_CACHE_SECS`]; the minimum without one or with `no-store` /
/// `no-cache` (refetching every request would let any client make us fetch at will).
pub(crate) fn cache_lifetime(cache_control: &str) -> u64 {
    let mut max_age = None;
    for directive in cache_control.split(',').map(|d| d.trim().to_ascii_lowercase()) {
        if directive == "no-store" || directive == "no-cache" {
            return MIN_CACHE_SECS;
        }
        let value = |name| {
            directive.strip_prefix(name).and_then(|v: &str| v.trim_matches('"').parse::<u64>().ok())
        };
        if let Some(v) = value("s-maxage=").or_else(|| value("max-age=")) {
            max_age = Some(max_age.map_or(v, |m: u64| m.max(v)));
        }
    }
    max_age.unwrap_or(MIN_CACHE_SECS).clamp(MIN_CACHE_SECS, MAX_CACHE_SECS)
}

/// A JWK Set that holds only public keys, or why not.
pub(crate) fn check_public_jwks(jwks: &Value) -> Result<(), String> {
    let keys = jwks.get("keys").and_then(Value::as_array).ok_or("jwks has no `keys` array")?;
    if keys.is_empty() || keys.len() > 10 {
        return Err("jwks must hold 1 to 10 keys".into());
    }
    for k in keys {
        let k = k.as_object().ok_or("a key in jwks is not an object")?;
        if let Some(m) = crate::crypto::sig::PRIVATE_MEMBERS.iter().find(|m| k.contains_key(**m)) {
            return Err(format!("a key in jwks carries the private member {m:?}"));
        }
    }
    Ok(())
}

/// The client a document describes, or why the document is refused.
pub(crate) fn check(
    doc: &Map<String, Value>,
    url: &str,
    now: u64,
    loopback: bool,
    known_scopes: &[&str],
) -> Result<ClientRecord, String> {
    // Byte for byte: no normalisation (the draft, §4.1).
    if doc.get("client_id").and_then(Value::as_str) != Some(url) {
        return Err("its client_id is not exactly the document's URL".into());
    }
    if let Some(k) = doc.keys().find(|k| k.starts_with("client_secret")) {
        return Err(format!("it contains {k:?} (a published document cannot hold a secret)"));
    }
    let client_name = match doc.get("client_name") {
        Some(Value::String(n)) if !n.trim().is_empty() && n.len() <= 200 => n.trim().to_owned(),
        _ => return Err("client_name is required (a string of at most 200 characters)".into()),
    };
    let strings = |name: &str| -> Result<Option<Vec<String>>, String> {
        match doc.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| format!("{name} must be an array of strings"))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(format!("{name} must be an array of strings")),
        }
    };
    let redirect_uris = strings("redirect_uris")?.unwrap_or_default();
    if redirect_uris.is_empty() || redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(format!("redirect_uris is required (1 to {MAX_REDIRECT_URIS} URIs)"));
    }
    for uri in &redirect_uris {
        validate_redirect_uri(uri)?;
    }
    let method = match doc.get("token_endpoint_auth_method") {
        None | Some(Value::Null) => "none",
        Some(Value::String(m)) if m == "none" || m == "private_key_jwt" => m.as_str(),
        Some(other) => {
            return Err(format!(
                "token_endpoint_auth_method {other} is not possible for a published document (none or private_key_jwt)"
            ))
        }
    };
    let jwks_uri = match doc.get("jwks_uri") {
        None | Some(Value::Null) => None,
        Some(Value::String(u)) => {
            crate::urls::check_fetchable(u, loopback).map_err(|e| format!("jwks_uri: {e}"))?;
            Some(u.clone())
        }
        Some(_) => return Err("jwks_uri must be a string".into()),
    };
    let jwks = match doc.get("jwks") {
        None | Some(Value::Null) => None,
        Some(j) => {
            check_public_jwks(j)?;
            Some(j.clone())
        }
    };
    if jwks.is_some() && jwks_uri.is_some() {
        return Err("jwks and jwks_uri are both present (RFC 7591 §2)".into());
    }
    if method == "private_key_jwt" && jwks.is_none() && jwks_uri.is_none() {
        return Err("private_key_jwt needs jwks_uri or jwks".into());
    }
    let grant_types = strings("grant_types")?
        .unwrap_or_else(|| vec!["authorization_code".into(), "refresh_token".into()]);
    if !grant_types.iter().any(|g| g == "authorization_code") {
        return Err("grant_types does not include authorization_code".into());
    }
    let response_types = strings("response_types")?.unwrap_or_else(|| vec!["code".into()]);
    if !response_types.iter().any(|r| r == "code") {
        return Err("response_types does not include code".into());
    }
    // A document is written for many servers: scopes unknown here are ignored, not an error.
    let scope = doc
        .get("scope")
        .and_then(Value::as_str)
        .map(|s| s.split(' ').filter(|s| known_scopes.contains(s)).collect::<Vec<_>>().join(" "));
    let https = |name: &str| {
        doc.get(name)
            .and_then(Value::as_str)
            .filter(|u| {
                u.len() <= 2000
                    && u.starts_with("https://")
                    && !u.contains(['<', '>', '"', '\'', ' '])
            })
            .map(str::to_owned)
    };
    Ok(ClientRecord {
        client_id: url.to_owned(),
        client_secret_hash: None,
        client_name: Some(client_name),
        redirect_uris,
        token_endpoint_auth_method: method.to_owned(),
        grant_types: grant_types
            .into_iter()
            .filter(|g| g == "authorization_code" || g == "refresh_token")
            .collect(),
        response_types: vec!["code".into()],
        scope: scope.filter(|s| !s.is_empty()),
        client_uri: https("client_uri"),
        logo_uri: https("logo_uri"),
        jwks_uri,
        jwks,
        created_at: now,
        // Never renewed in KV: the document is the registration (see token::renew_client).
        renewed_at: u64::MAX,
    })
}

/// The host that publishes a metadata document (shown on the consent page).
pub fn publisher(client_id: &str) -> Option<String> {
    is_metadata_url(client_id).then(|| crate::urls::redirect_host(client_id))
}

/// Does every redirect URI of the client point at this computer (loopback)?
pub fn loopback_only(client: &ClientRecord) -> bool {
    client.redirect_uris.iter().all(|u| {
        crate::urls::split(u)
            .is_some_and(|p| p.scheme == "http" && crate::urls::is_loopback(p.host))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const URL: &str = "https://app.example.com/oauth/client.json";

    fn doc(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_good_document_becomes_a_public_client() {
        let c = check(
            &doc(json!({"client_id": URL, "client_name": "App", "redirect_uris": ["http://127.0.0.1/cb"],
                "scope": "mcp profile", "logo_uri": "javascript:x"})),
            URL,
            5,
            false,
            crate::config::BASE_SCOPES,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.client_id, URL);
        assert_eq!(c.token_endpoint_auth_method, "none");
        assert_eq!(c.scope.as_deref(), Some("mcp"));
        assert_eq!(c.logo_uri, None);
        assert_eq!(c.renewed_at, u64::MAX);
        assert!(loopback_only(&c));
    }

    #[test]
    fn bad_documents_are_refused() {
        let base = json!({"client_id": URL, "client_name": "App", "redirect_uris": ["https://app.example.com/cb"]});
        let with = |k: &str, v: Value| {
            let mut d = doc(base.clone());
            d.insert(k.into(), v);
            d
        };
        let without = |k: &str| {
            let mut d = doc(base.clone());
            d.remove(k);
            d
        };
        for (why, d) in [
            (
                "client_id differs",
                with("client_id", json!("https://app.example.com/oauth/client.json/")),
            ),
            (
                "client_id case",
                with("client_id", json!("https://APP.example.com/oauth/client.json")),
            ),
            ("no client_id", without("client_id")),
            ("no name", without("client_name")),
            ("empty name", with("client_name", json!(" "))),
            ("no redirects", without("redirect_uris")),
            ("empty redirects", with("redirect_uris", json!([]))),
            ("bad redirect", with("redirect_uris", json!(["http://evil.example/cb"]))),
            ("secret", with("client_secret", json!("s"))),
            ("secret expiry", with("client_secret_expires_at", json!(0))),
            ("secret method", with("token_endpoint_auth_method", json!("client_secret_basic"))),
            ("pkjwt without keys", with("token_endpoint_auth_method", json!("private_key_jwt"))),
            (
                "private key",
                with(
                    "jwks",
                    json!({"keys": [{"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "d": "c"}]}),
                ),
            ),
            ("symmetric key", with("jwks", json!({"keys": [{"kty": "oct", "k": "c"}]}))),
            ("jwks_uri on ip", with("jwks_uri", json!("https://10.0.0.1/jwks.json"))),
            ("no code grant", with("grant_types", json!(["client_credentials"]))),
        ] {
            assert!(check(&d, URL, 0, false, crate::config::BASE_SCOPES).is_err(), "{why}");
        }
        assert!(check(&doc(base), URL, 0, false, crate::config::BASE_SCOPES).is_ok());
    }

    #[test]
    fn cache_headers_are_clamped() {
        assert_eq!(cache_lifetime(""), MIN_CACHE_SECS);
        assert_eq!(cache_lifetime("max-age=60"), MIN_CACHE_SECS);
        assert_eq!(cache_lifetime("public, max-age=3600"), 3600);
        assert_eq!(cache_lifetime("max-age=31536000, immutable"), MAX_CACHE_SECS);
        assert_eq!(cache_lifetime("max-age=3600, no-store"), MIN_CACHE_SECS);
        assert_eq!(cache_lifetime("s-maxage=7200, max-age=600"), 7200);
        assert_eq!(cache_lifetime("max-age=junk"), MIN_CACHE_SECS);
    }
}
