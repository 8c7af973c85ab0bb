//! The authorization request (RFC 6749 §4.1.1, OAuth 2.1 §4.1.1, RFC 7636, RFC 8707): its
//! validation, its sealed form between the pages, and how a failure is reported (a page before
//! the redirect URI is trusted, a redirect with `error` after it, RFC 6749 §4.1.2.1).

use super::super::client;
use super::super::error::{ErrorCode, OAuthError};
use super::super::pages;
use super::super::pkce;
use crate::config::{scope_list, SCOPE_MCP};
use crate::crypto::{b64, seal, unb64, unseal};
use crate::env::Services;
use crate::state::State;
use crate::store::records::ClientRecord;
use crate::urls::{audience_covers, Urls};
use crate::web::{self, percent_encode, Params, Response};
use http::{HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};

/// How long the sign-in/consent pages stay usable.
pub(super) const REQUEST_LIFETIME: u64 = 900;

/// A validated authorization request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct AuthzRequest {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) state: Option<String>,
    pub(crate) code_challenge: String,
    /// Space-separated scopes asked for (always including the base scope).
    pub(crate) scope: String,
    pub(crate) resource: String,
    pub(crate) exp: u64,
}

/// How a request failed: before the redirect URI is trusted only a page can be shown; after,
/// errors go back to the client (RFC 6749 §4.1.2.1).
pub(super) enum Failure {
    Page(StatusCode, String),
    Redirect(OAuthError, String, Option<String>),
}

/// Validates the query of `GET /authorize`.
pub(super) async fn validate(
    state: &State,
    params: &Params,
    services: &Services<'_>,
    urls: &Urls,
) -> Result<(AuthzRequest, ClientRecord), Failure> {
    let page = |msg: &str| Failure::Page(StatusCode::BAD_REQUEST, msg.to_owned());
    if params.too_many() {
        return Err(page(&format!(
            "The request cannot be read: it has more than {} parameters.",
            web::MAX_PARAMS
        )));
    }
    let client_id = params
        .get("client_id")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| page("The request names no client (client_id is missing)."))?;
    let client = match client::find(state, services, client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return Err(page("This application is not registered with this server (unknown client_id). It may have expired: reconnect from your app to register again.")),
        Err(e) if e.code == ErrorCode::InvalidClient => {
            return Err(Failure::Page(StatusCode::BAD_REQUEST, format!("This application identifies itself with a client metadata document that cannot be used: {}", e.description)))
        }
        Err(_) => return Err(Failure::Page(StatusCode::SERVICE_UNAVAILABLE, "The server's storage is temporarily unavailable. Please retry in a moment.".into())),
    };
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri) if client::redirect_uri_matches(&client.redirect_uris, uri) => uri.to_owned(),
        Some(_) => return Err(page("The redirect URI is not registered for this application, so the server will not send you there.")),
        None if client.redirect_uris.len() == 1 && !client.redirect_uris[0].starts_with("http://") => client.redirect_uris[0].clone(),
        None => return Err(page("The request has no redirect_uri and the application registered several (or a loopback one).")),
    };
    let client_state = params.get("state").map(str::to_owned);
    // RFC 9700 §4.11.2: nobody is sent automatically to a redirect URI we cannot vouch for.
    // Anyone can register one (or publish a metadata document naming one), so for those
    // clients an invalid request is a page here; only pre-registered clients get the RFC 6749
    // §4.1.2.1 error redirect. After sign-in and consent every client is redirected.
    let trusted = client::is_preregistered(state, &client.client_id);
    let redirect = |code: ErrorCode, msg: &str| {
        let err = OAuthError::new(code, msg);
        if trusted {
            Failure::Redirect(err, redirect_uri.clone(), client_state.clone())
        } else {
            Failure::Page(
                StatusCode::BAD_REQUEST,
                format!(
                    "The application sent an invalid sign-in request ({}): {}. Nothing was shared with it.",
                    err.code.as_str(),
                    err.description
                ),
            )
        }
    };
    if let Some(problem) = params.problem() {
        return Err(redirect(ErrorCode::InvalidRequest, &problem));
    }
    if client_state.as_ref().is_some_and(|s| s.len() > 2000) {
        return Err(redirect(ErrorCode::InvalidRequest, "state is too long"));
    }
    match params.get("response_type") {
        Some("code") => {}
        None => return Err(redirect(ErrorCode::InvalidRequest, "response_type is required")),
        Some(_) => {
            return Err(redirect(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ))
        }
    }
    let challenge = params.get("code_challenge").ok_or_else(|| {
        redirect(ErrorCode::InvalidRequest, "PKCE is required: code_challenge is missing")
    })?;
    match params.get("code_challenge_method") {
        Some(pkce::METHOD) => {}
        None | Some("plain") => {
            return Err(redirect(
                ErrorCode::InvalidRequest,
                "code_challenge_method must be S256 (plain is not accepted)",
            ))
        }
        Some(_) => {
            return Err(redirect(
                ErrorCode::InvalidRequest,
                "unsupported code_challenge_method; use S256",
            ))
        }
    }
    if !pkce::challenge_ok(challenge) {
        return Err(redirect(
            ErrorCode::InvalidRequest,
            "code_challenge must be a base64url SHA-256 digest (43 characters)",
        ));
    }
    let resource = match params.get("resource") {
        None => urls.resource.clone(),
        Some(r) if audience_covers(r, &urls.resource) => urls.resource.clone(),
        Some(_) => {
            return Err(redirect(
                ErrorCode::InvalidTarget,
                "resource does not name this MCP server",
            ))
        }
    };
    let allowed: Vec<&str> = match &client.scope {
        Some(s) => scope_list(s),
        None => state.config.scopes.clone(),
    };
    // `offline_access` alone (claude.ai sends `" offline_access"`) asks for nothing else: the
    // client's default applies, and refresh tokens are issued anyway.
    let asked = params.get("scope").map(scope_list).unwrap_or_default();
    let mut scopes: Vec<&str> = if asked.is_empty() { allowed.clone() } else { asked };
    if let Some(bad) = scopes.iter().find(|s| !state.config.scopes.contains(s)) {
        return Err(redirect(ErrorCode::InvalidScope, &format!("unknown scope {bad:?}")));
    }
    // A registered `scope` only sets the default. It is not a ceiling: registration is
    // anonymous (a client could simply register again), and clients register with whatever
    // scope they first saw, then need to step up (403 insufficient_scope → `mcp admin`). The
    // user's own scopes bound what is granted, at consent.
    if !scopes.contains(&SCOPE_MCP) {
        scopes.insert(0, SCOPE_MCP);
    }
    scopes.dedup();
    let request = AuthzRequest {
        client_id: client.client_id.clone(),
        redirect_uri,
        state: client_state,
        code_challenge: challenge.to_owned(),
        scope: scopes.join(" "),
        resource,
        exp: services.clock.now() + REQUEST_LIFETIME,
    };
    Ok((request, client))
}

pub(super) fn fail(failure: Failure, urls: &Urls) -> Response {
    match failure {
        Failure::Page(status, msg) => pages::error(status, "Cannot continue", &msg),
        Failure::Redirect(err, redirect_uri, state) => {
            let mut params = vec![
                ("error", err.code.as_str().to_owned()),
                ("error_description", err.description),
            ];
            if let Some(s) = state {
                params.push(("state", s));
            }
            params.push(("iss", urls.issuer.clone()));
            redirect_to(&redirect_uri, &params)
        }
    }
}

pub(super) fn redirect_to(redirect_uri: &str, params: &[(&str, String)]) -> Response {
    let query: Vec<String> =
        params.iter().map(|(k, v)| format!("{k}={}", percent_encode(v))).collect();
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    let location = format!("{redirect_uri}{sep}{}", query.join("&"));
    let mut res = web::empty(StatusCode::FOUND);
    match HeaderValue::from_str(&location) {
        Ok(v) => {
            res.headers_mut().insert(http::header::LOCATION, v);
            res.headers_mut()
                .insert(http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(_) => pages::error(
            StatusCode::BAD_REQUEST,
            "Cannot continue",
            "The redirect URI cannot be used.",
        ),
    }
}

pub(super) fn seal_request(state: &State, request: &AuthzRequest) -> String {
    let json = serde_json::to_vec(request).unwrap_or_default();
    seal(&state.secret, "authz-request", &b64(&json))
}

pub(super) fn open_request(state: &State, sealed: &str, now: u64) -> Option<AuthzRequest> {
    let data = unseal(&state.secret, "authz-request", sealed)?;
    let request: AuthzRequest = serde_json::from_slice(&unb64(data)?).ok()?;
    (request.exp >= now).then_some(request)
}
