//! `GET|POST /authorize`: the authorization endpoint (RFC 6749 §4.1, OAuth 2.1, RFC 8707,
//! RFC 9207). GET validates the request and shows sign-in (or consent, with a session cookie);
//! POST handles the sign-in and consent forms and redirects back with `code`, `state`, `iss`.
//!
//! The validated request travels between the pages sealed (HMAC) in a hidden field, so the
//! flow needs no server-side state until a code is issued.

use super::client;
use super::error::{ErrorCode, OAuthError};
use super::pages::{self, describe_scope, ClientView};
use super::pkce;
use super::ratelimit::Limit;
use crate::config::{User, SCOPES, SCOPE_MCP};
use crate::crypto::password::PasswordHash;
use crate::crypto::{b64, seal, sha256_b64, unb64, unseal};
use crate::env::{random_token, Services};
use crate::state::State;
use crate::store::put_json;
use crate::store::records::{ClientRecord, CodeState, GrantRecord, CODE_LIFETIME, CODE_RECORD_TTL};
use crate::urls::audience_covers;
use crate::urls::Urls;
use crate::web::{self, percent_encode, Params, Request, Response};
use http::{HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};

/// How long the sign-in/consent pages stay usable.
const REQUEST_LIFETIME: u64 = 900;
/// How long a sign-in lasts in the browser (skips the password on the next authorization).
const SIGNIN_LIFETIME: u64 = 8 * 3600;
/// Failed sign-ins tolerated per user and per client address in a window.
const SIGNIN_FAILURES: u64 = 10;
const SIGNIN_WINDOW: u64 = 900;

/// A validated authorization request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthzRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub code_challenge: String,
    /// Space-separated scopes asked for (always including the base scope).
    pub scope: String,
    pub resource: String,
    pub exp: u64,
}

/// How a request failed: before the redirect URI is trusted only a page can be shown; after,
/// errors go back to the client (RFC 6749 §4.1.2.1).
enum Failure {
    Page(StatusCode, String),
    Redirect(OAuthError, String, Option<String>),
}

pub async fn get(state: &State, req: &Request, services: &Services<'_>, urls: &Urls) -> Response {
    let params = Params::parse(req.uri().query().unwrap_or(""));
    let (request, client) = match validate(state, &params, services, urls).await {
        Ok(v) => v,
        Err(f) => return fail(f, urls),
    };
    let sealed = seal_request(state, &request);
    match signed_in_user(state, req, services.clock.now()) {
        Some(user) => consent_page(state, req, services, &client, user, &request, &sealed),
        None => sign_in_page(state, req, services, &client, &request, &sealed, None),
    }
}

pub async fn post(state: &State, req: &Request, services: &Services<'_>, urls: &Urls) -> Response {
    let form = Params::parse(&String::from_utf8_lossy(req.body()));
    let now = services.clock.now();
    let Some(request) = form.get("request").and_then(|r| open_request(state, r, now)) else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "Sign-in expired",
            "This sign-in page has expired or was tampered with. Start again from your app.",
        );
    };
    if !csrf_ok(state, req, form.get("csrf")) {
        return pages::error(StatusCode::FORBIDDEN, "Request refused", "The form could not be verified (missing or foreign CSRF token). Reload the page and try again.");
    }
    let client = match client::find(state, services, &request.client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "Unknown application",
                "The application asking for access is no longer registered.",
            )
        }
        Err(e) => {
            return fail(
                Failure::Redirect(e, request.redirect_uri.clone(), request.state.clone()),
                urls,
            )
        }
    };
    let sealed = form.get("request").unwrap_or_default().to_owned();
    match form.get("action") {
        Some("signin") => sign_in(state, req, services, &form, &client, &request, &sealed).await,
        Some("approve") => {
            let Some(user) = signed_in_user(state, req, now) else {
                return sign_in_page(
                    state,
                    req,
                    services,
                    &client,
                    &request,
                    &sealed,
                    Some("Your sign-in expired. Please sign in again."),
                );
            };
            approve(state, services, urls, &request, user).await
        }
        Some("deny") => fail(
            Failure::Redirect(
                OAuthError::new(ErrorCode::AccessDenied, "the user denied access"),
                request.redirect_uri,
                request.state,
            ),
            urls,
        ),
        _ => pages::error(StatusCode::BAD_REQUEST, "Bad request", "Unknown form action."),
    }
}

async fn validate(
    state: &State,
    params: &Params,
    services: &Services<'_>,
    urls: &Urls,
) -> Result<(AuthzRequest, ClientRecord), Failure> {
    let page = |msg: &str| Failure::Page(StatusCode::BAD_REQUEST, msg.to_owned());
    let client_id = params
        .get("client_id")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| page("The request names no client (client_id is missing)."))?;
    let client = match client::find(state, services, client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return Err(page("This application is not registered with this server (unknown client_id). It may have expired: reconnect from your app to register again.")),
        Err(_) => return Err(Failure::Page(StatusCode::SERVICE_UNAVAILABLE, "The server's storage is temporarily unavailable. Please retry in a moment.".into())),
    };
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri) if client::redirect_uri_matches(&client.redirect_uris, uri) => uri.to_owned(),
        Some(_) => return Err(page("The redirect URI is not registered for this application, so the server will not send you there.")),
        None if client.redirect_uris.len() == 1 && !client.redirect_uris[0].starts_with("http://") => client.redirect_uris[0].clone(),
        None => return Err(page("The request has no redirect_uri and the application registered several (or a loopback one).")),
    };
    let client_state = params.get("state").map(str::to_owned);
    let redirect = |code: ErrorCode, msg: &str| {
        Failure::Redirect(OAuthError::new(code, msg), redirect_uri.clone(), client_state.clone())
    };
    if let Some(dup) = params.duplicate() {
        return Err(redirect(ErrorCode::InvalidRequest, &format!("parameter {dup} is repeated")));
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
        Some(s) => s.split(' ').filter(|s| !s.is_empty()).collect(),
        None => SCOPES.to_vec(),
    };
    let mut scopes: Vec<&str> = match params.get("scope").map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => s.split(' ').filter(|s| !s.is_empty()).collect(),
        None => allowed.clone(),
    };
    if let Some(bad) = scopes.iter().find(|s| !SCOPES.contains(s)) {
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

fn fail(failure: Failure, urls: &Urls) -> Response {
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

fn redirect_to(redirect_uri: &str, params: &[(&str, String)]) -> Response {
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

fn seal_request(state: &State, request: &AuthzRequest) -> String {
    let json = serde_json::to_vec(request).unwrap_or_default();
    seal(&state.secret, "authz-request", &b64(&json))
}

fn open_request(state: &State, sealed: &str, now: u64) -> Option<AuthzRequest> {
    let data = unseal(&state.secret, "authz-request", sealed)?;
    let request: AuthzRequest = serde_json::from_slice(&unb64(data)?).ok()?;
    (request.exp >= now).then_some(request)
}

// --- cookies -------------------------------------------------------------------------------

/// Cookie names: `__Host-` prefixed (Secure, host-only, Path=/) on https; plain on local http.
fn cookie_name(req: &Request, base: &str) -> String {
    if is_https(req) {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

fn is_https(req: &Request) -> bool {
    crate::urls::request_origin(req).starts_with("https://")
}

fn cookie(req: &Request, name: &str) -> Option<String> {
    let wanted = cookie_name(req, name);
    req.headers()
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == wanted)
        .map(|(_, v)| v.to_owned())
}

fn set_cookie(res: &mut Response, req: &Request, name: &str, value: &str, max_age: u64) {
    let secure = if is_https(req) { "; Secure" } else { "" };
    let text = format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        cookie_name(req, name)
    );
    if let Ok(v) = HeaderValue::from_str(&text) {
        res.headers_mut().append(http::header::SET_COOKIE, v);
    }
}

/// The browser's CSRF secret (set on first page view) and the form token derived from it.
fn csrf_token(state: &State, req: &Request, services: &Services<'_>) -> (String, Option<String>) {
    match cookie(req, "mcp_edge_csrf") {
        Some(c) if c.len() >= 16 => (seal(&state.secret, "csrf", &c), None),
        _ => {
            let fresh = random_token(services.random, 18);
            (seal(&state.secret, "csrf", &fresh), Some(fresh))
        }
    }
}

fn csrf_ok(state: &State, req: &Request, token: Option<&str>) -> bool {
    match (cookie(req, "mcp_edge_csrf"), token.and_then(|t| unseal(&state.secret, "csrf", t))) {
        (Some(cookie), Some(bound)) => {
            crate::crypto::constant_time_eq(cookie.as_bytes(), bound.as_bytes())
        }
        _ => false,
    }
}

/// The user whose sign-in cookie is valid, if any (and still configured).
fn signed_in_user<'a>(state: &'a State, req: &Request, now: u64) -> Option<&'a User> {
    let value = cookie(req, "mcp_edge_session")?;
    let data = unseal(&state.secret, "signin", &value)?;
    let mut parts = data.split('~');
    let sub = parts.next()?;
    let exp: u64 = parts.next()?.parse().ok()?;
    if exp < now {
        return None;
    }
    state.config.users.iter().find(|u| u.sub == sub)
}

// --- pages ---------------------------------------------------------------------------------

fn view(client: &ClientRecord, request: &AuthzRequest) -> (String, String) {
    let name =
        client.client_name.clone().unwrap_or_else(|| format!("Application {}", client.client_id));
    (name, crate::urls::redirect_host(&request.redirect_uri))
}

fn sign_in_page(
    state: &State,
    req: &Request,
    services: &Services<'_>,
    client: &ClientRecord,
    request: &AuthzRequest,
    sealed: &str,
    error: Option<&str>,
) -> Response {
    let (csrf, fresh) = csrf_token(state, req, services);
    let (name, host) = view(client, request);
    let dev = state.config.mode != crate::config::Mode::Production;
    let mut res = pages::sign_in(
        &ClientView { name: &name, redirect_host: &host },
        sealed,
        &csrf,
        error,
        dev,
    );
    if let Some(fresh) = fresh {
        set_cookie(&mut res, req, "mcp_edge_csrf", &fresh, 86400);
    }
    res
}

fn consent_page(
    state: &State,
    req: &Request,
    services: &Services<'_>,
    client: &ClientRecord,
    user: &User,
    request: &AuthzRequest,
    sealed: &str,
) -> Response {
    let (csrf, fresh) = csrf_token(state, req, services);
    let (name, host) = view(client, request);
    let (granted, withheld) = split_scopes(&request.scope, user);
    let granted: Vec<(&str, &str)> = granted.iter().map(|s| (*s, describe_scope(s))).collect();
    let mut res = pages::consent(
        &ClientView { name: &name, redirect_host: &host },
        &user.name,
        &granted,
        &withheld,
        sealed,
        &csrf,
    );
    if let Some(fresh) = fresh {
        set_cookie(&mut res, req, "mcp_edge_csrf", &fresh, 86400);
    }
    res
}

/// Requested scopes the user holds, and those they do not.
fn split_scopes<'a>(requested: &'a str, user: &User) -> (Vec<&'a str>, Vec<&'a str>) {
    requested.split(' ').filter(|s| !s.is_empty()).partition(|s| user.scopes.iter().any(|u| u == s))
}

async fn sign_in(
    state: &State,
    req: &Request,
    services: &Services<'_>,
    form: &Params,
    client: &ClientRecord,
    request: &AuthzRequest,
    sealed: &str,
) -> Response {
    let now = services.clock.now();
    let username = form.get("username").unwrap_or("").trim();
    let password = form.get("password").unwrap_or("");
    let limits = [
        Limit {
            bucket: format!("signin-user:{}", sha256_b64(&username.to_lowercase())),
            max: SIGNIN_FAILURES,
            window: SIGNIN_WINDOW,
        },
        Limit {
            bucket: format!("signin-ip:{}", sha256_b64(&web::client_address(req))),
            max: SIGNIN_FAILURES * 3,
            window: SIGNIN_WINDOW,
        },
    ];
    for limit in &limits {
        match limit.exceeded(services.store, now).await {
            Ok(false) => {}
            Ok(true) => {
                let mut res = sign_in_page(
                    state,
                    req,
                    services,
                    client,
                    request,
                    sealed,
                    Some("Too many failed sign-in attempts. Wait 15 minutes and try again."),
                );
                *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
                res.headers_mut().insert("retry-after", HeaderValue::from_static("900"));
                return res;
            }
            Err(e) => return web::unavailable(&e.to_string()),
        }
    }
    let user = state.config.users.iter().find(|u| u.username.eq_ignore_ascii_case(username));
    // Unknown users are checked against a decoy as costly as the dearest configured hash, so
    // timing does not reveal who exists.
    let verified = match user {
        Some(u) => PasswordHash::parse(&u.password_hash).is_some_and(|h| h.verify(password)),
        None => {
            let users = state.config.users.iter().map(|u| u.password_hash.as_str());
            let _ = PasswordHash::decoy(users).verify(password);
            false
        }
    };
    let Some(user) = user.filter(|_| verified) else {
        for limit in &limits {
            if let Err(e) = limit.hit(services.store, now).await {
                return web::unavailable(&e.to_string());
            }
        }
        return sign_in_page(
            state,
            req,
            services,
            client,
            request,
            sealed,
            Some("Wrong username or password."),
        );
    };
    // A fresh session value at every sign-in (no fixation), bound to this user.
    let session = seal(
        &state.secret,
        "signin",
        &format!("{}~{}~{}", user.sub, now + SIGNIN_LIFETIME, random_token(services.random, 12)),
    );
    let mut res = consent_page(state, req, services, client, user, request, sealed);
    set_cookie(&mut res, req, "mcp_edge_session", &session, SIGNIN_LIFETIME);
    res
}

async fn approve(
    state: &State,
    services: &Services<'_>,
    urls: &Urls,
    request: &AuthzRequest,
    user: &User,
) -> Response {
    let (granted, _) = split_scopes(&request.scope, user);
    if !granted.contains(&SCOPE_MCP) {
        let err = OAuthError::new(ErrorCode::AccessDenied, "your account may not use this server");
        return fail(
            Failure::Redirect(err, request.redirect_uri.clone(), request.state.clone()),
            urls,
        );
    }
    let now = services.clock.now();
    let code = random_token(services.random, 32);
    let grant = GrantRecord {
        grant_id: GrantRecord::id_for_code(&state.secret, &code),
        client_id: request.client_id.clone(),
        sub: user.sub.clone(),
        name: Some(user.name.clone()),
        scope: granted.join(" "),
        resource: request.resource.clone(),
        created_at: now,
        refresh_hash: String::new(),
        previous_refresh_hash: None,
        code: Some(CodeState {
            redirect_uri: request.redirect_uri.clone(),
            code_challenge: request.code_challenge.clone(),
            expires_at: now + CODE_LIFETIME,
            used: false,
        }),
    };
    if let Err(e) =
        put_json(services.store, &GrantRecord::key(&grant.grant_id), &grant, Some(CODE_RECORD_TTL))
            .await
    {
        return fail(
            Failure::Redirect(e.into(), request.redirect_uri.clone(), request.state.clone()),
            urls,
        );
    }
    let mut params = vec![("code", code)];
    if let Some(s) = &request.state {
        params.push(("state", s.clone()));
    }
    params.push(("iss", urls.issuer.clone()));
    redirect_to(&request.redirect_uri, &params)
}
