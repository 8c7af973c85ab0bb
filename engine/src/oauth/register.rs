//! `POST /register`: anonymous Dynamic Client Registration (RFC 7591).
//!
//! Public clients by default (what MCP clients expect); a secret only when the client asks for
//! a secret-based `token_endpoint_auth_method` (or sends the seed's `require_client_secret`).
//! No `scope` registered means the client may ask for every scope.

use super::client::{validate_redirect_uri, MAX_REDIRECT_URIS, MAX_URI_LEN};
use super::error::{ErrorCode, OAuthError, OAuthResult};
use crate::crypto::sha256_b64;
use crate::env::{random_token, Bucket, Services};
use crate::state::State;
use crate::store::put_json;
use crate::store::records::ClientRecord;
use crate::web::{self, Request, Response};
use http::StatusCode;
use serde_json::{json, Map, Value};

const MAX_NAME_LEN: usize = 200;

pub async fn post(state: &State, req: &Request, services: &Services<'_>) -> Response {
    match register(state, req, services).await {
        Ok(Some(body)) => web::no_store(web::cors(web::json(StatusCode::CREATED, &body))),
        Ok(None) => {
            let mut res = web::cors(web::error(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                "too many client registrations from this address; retry in a minute",
            ));
            res.headers_mut().insert("retry-after", http::HeaderValue::from_static("60"));
            res
        }
        Err(e) => e.response(),
    }
}

/// The rate-limit key of a registration: the redirect host it names and the address it comes
/// from. A team behind one egress address connecting a hosted client (claude.ai re-registers on
/// every connect) shares a bucket only with itself and that host; a flood from one address is
/// limited whatever it claims. Exact per Cloudflare location (the Rate Limiting binding).
pub fn throttle_key(redirect_uri: &str, address: &str) -> String {
    format!("register:{}|{}", crate::urls::redirect_host(redirect_uri), sha256_b64(address))
}

/// The rate-limit key of a registration by address alone ([`Bucket::RegistrationsPerAddress`]).
/// Its limit is above what hosted clients need (claude.ai and ChatGPT register from a few
/// addresses, each registration naming their one callback host, which the per-host limit
/// already bounds), and stops one address registering for ever new hosts.
pub fn address_key(address: &str) -> String {
    format!("register-address:{}", sha256_b64(address))
}

fn metadata_error(msg: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClientMetadata, msg)
}

fn optional_string(
    meta: &Map<String, Value>,
    name: &str,
    max: usize,
) -> OAuthResult<Option<String>> {
    match meta.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() <= max => Ok(Some(s.clone()).filter(|s| !s.is_empty())),
        Some(Value::String(_)) => {
            Err(metadata_error(format!("{name} is longer than {max} characters")))
        }
        Some(_) => Err(metadata_error(format!("{name} must be a string"))),
    }
}

fn string_list(meta: &Map<String, Value>, name: &str) -> OAuthResult<Option<Vec<String>>> {
    match meta.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) if items.len() <= 20 => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| metadata_error(format!("{name} must be an array of strings")))
            })
            .collect::<OAuthResult<Vec<_>>>()
            .map(Some),
        Some(_) => Err(metadata_error(format!("{name} must be an array of at most 20 strings"))),
    }
}

fn https_url(meta: &Map<String, Value>, name: &str) -> OAuthResult<Option<String>> {
    let v = optional_string(meta, name, MAX_URI_LEN)?;
    if let Some(u) = &v {
        if !u.starts_with("https://") || u.contains(['<', '>', '"', '\'', ' ']) {
            return Err(metadata_error(format!("{name} must be an https URL")));
        }
    }
    Ok(v)
}

/// A `private_key_jwt` client's keys (RFC 7591 §2: `jwks_uri` or `jwks`, not both; public keys
/// only; `jwks_uri` must be a URL this server fetches). Other methods take none.
fn keys(
    state: &State,
    meta: &Map<String, Value>,
    method: &str,
) -> OAuthResult<(Option<String>, Option<Value>)> {
    let jwks_uri = optional_string(meta, "jwks_uri", MAX_URI_LEN)?;
    let jwks = meta.get("jwks").filter(|j| !j.is_null()).cloned();
    if method != "private_key_jwt" {
        return Ok((None, None));
    }
    match (&jwks_uri, &jwks) {
        (Some(_), Some(_)) => Err(metadata_error("jwks_uri and jwks must not both be present")),
        (None, None) => Err(metadata_error("private_key_jwt needs jwks_uri or jwks")),
        (Some(uri), None) => {
            crate::urls::check_fetchable(uri, super::cimd::loopback_allowed(state))
                .map_err(|e| metadata_error(format!("jwks_uri: {e}")))?;
            Ok((jwks_uri, None))
        }
        (None, Some(j)) => {
            super::cimd::check_public_jwks(j).map_err(metadata_error)?;
            Ok((None, jwks))
        }
    }
}

/// The registration's response body, or `None` when it is throttled.
async fn register(
    state: &State,
    req: &Request,
    services: &Services<'_>,
) -> OAuthResult<Option<Value>> {
    if !web::content_type_is(req, web::JSON) {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "registration requests must be application/json",
        ));
    }
    let meta: Map<String, Value> = match serde_json::from_slice(req.body()) {
        Ok(Value::Object(m)) => m,
        _ => return Err(metadata_error("the body must be a JSON object of client metadata")),
    };

    let redirect_uris = string_list(&meta, "redirect_uris")?.unwrap_or_default();
    if redirect_uris.is_empty() {
        return Err(OAuthError::new(
            ErrorCode::InvalidRedirectUri,
            "redirect_uris is required (at least one)",
        ));
    }
    if redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(OAuthError::new(
            ErrorCode::InvalidRedirectUri,
            format!("at most {MAX_REDIRECT_URIS} redirect_uris"),
        ));
    }
    for uri in &redirect_uris {
        validate_redirect_uri(uri)
            .map_err(|e| OAuthError::new(ErrorCode::InvalidRedirectUri, e))?;
    }
    // Both limits count every registration: per address and redirect host (a flood naming
    // one host), and per address alone (a flood rotating hosts; issue 23 item 6).
    let address = web::client_address(req);
    let per_host = services
        .limiter
        .allow(Bucket::Registrations, &throttle_key(&redirect_uris[0], &address))
        .await;
    let per_address =
        services.limiter.allow(Bucket::RegistrationsPerAddress, &address_key(&address)).await;
    if !(per_host && per_address) {
        return Ok(None);
    }

    let wants_secret = meta.get("require_client_secret").and_then(Value::as_bool).unwrap_or(false);
    let auth_method = match optional_string(&meta, "token_endpoint_auth_method", 64)?.as_deref() {
        None if wants_secret => "client_secret_basic".to_owned(),
        None => "none".to_owned(),
        Some(m @ ("none" | "client_secret_basic" | "client_secret_post" | "private_key_jwt")) => m.to_owned(),
        Some(other) => return Err(metadata_error(format!("token_endpoint_auth_method {other:?} is not supported (none, client_secret_basic, client_secret_post, private_key_jwt)"))),
    };
    let (jwks_uri, jwks) = keys(state, &meta, &auth_method)?;

    let grant_types = string_list(&meta, "grant_types")?
        .unwrap_or_else(|| vec!["authorization_code".into(), "refresh_token".into()]);
    if let Some(g) =
        grant_types.iter().find(|g| !["authorization_code", "refresh_token"].contains(&g.as_str()))
    {
        return Err(metadata_error(format!("grant type {g:?} is not supported")));
    }
    let response_types =
        string_list(&meta, "response_types")?.unwrap_or_else(|| vec!["code".into()]);
    if response_types.iter().any(|r| r != "code") {
        return Err(metadata_error("only the `code` response type is supported"));
    }
    // `offline_access` (and stray whitespace) is accepted and dropped: refresh tokens come anyway.
    let scope = match optional_string(&meta, "scope", 500)? {
        Some(s) => {
            let list = crate::config::scope_list(&s);
            let supported = &state.config.scopes;
            if let Some(bad) = list.iter().find(|s| !supported.contains(s)) {
                return Err(metadata_error(format!(
                    "unknown scope {bad:?} (supported: {})",
                    supported.join(" ")
                )));
            }
            (!list.is_empty()).then(|| list.join(" "))
        }
        None => None,
    };

    let now = services.clock.now();
    let client_id = random_token(services.random, 16);
    let secret =
        auth_method.starts_with("client_secret").then(|| random_token(services.random, 32));
    let record = ClientRecord {
        client_id: client_id.clone(),
        client_secret_hash: secret.as_deref().map(sha256_b64),
        client_name: optional_string(&meta, "client_name", MAX_NAME_LEN)?,
        redirect_uris,
        token_endpoint_auth_method: auth_method,
        grant_types,
        response_types,
        scope,
        client_uri: https_url(&meta, "client_uri")?,
        logo_uri: https_url(&meta, "logo_uri")?,
        jwks_uri,
        jwks,
        created_at: now,
        renewed_at: now,
    };
    put_json(
        services.store,
        &ClientRecord::key(&client_id),
        &record,
        Some(state.config.client_ttl),
    )
    .await?;
    // The client's next step (/authorize) usually lands on this isolate: it needs no KV read.
    state.clients.insert(&client_id, record.clone(), now + super::client::CLIENT_CACHE_SECS);

    let mut body = json!({
        "client_id": client_id,
        "client_id_issued_at": now,
        "redirect_uris": record.redirect_uris,
        "token_endpoint_auth_method": record.token_endpoint_auth_method,
        "grant_types": record.grant_types,
        "response_types": record.response_types,
    });
    for (k, v) in [
        ("client_name", &record.client_name),
        ("scope", &record.scope),
        ("client_uri", &record.client_uri),
        ("logo_uri", &record.logo_uri),
        ("jwks_uri", &record.jwks_uri),
    ] {
        if let Some(v) = v {
            body[k] = json!(v);
        }
    }
    if let Some(jwks) = &record.jwks {
        body["jwks"] = jwks.clone();
    }
    if let Some(secret) = secret {
        body["client_secret"] = json!(secret);
        body["client_secret_expires_at"] = json!(0);
    }
    Ok(Some(body))
}
