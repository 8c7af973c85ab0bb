//! `GET|POST /authorize`: the authorization endpoint (RFC 6749 §4.1, OAuth 2.1, RFC 8707,
//! RFC 9207). GET validates the request and shows sign-in (or consent, with a session cookie);
//! POST handles the sign-in and consent forms and redirects back with `code`, `state`, `iss`.
//!
//! The validated request travels between the pages sealed (HMAC) in a hidden field, so the
//! flow needs no server-side state until a code is issued. `request`: parsing and sealing the
//! request; [`session`]: cookies, CSRF and the signed-in session; `views`: the pages.

pub(crate) mod request;
mod views;

use super::client;
use super::error::{ErrorCode, OAuthError};
use super::pages;
use super::session::{self, csrf_ok};
use super::upstream;
use crate::config::{User, SCOPE_MCP};
use crate::env::{random_token, Services};
use crate::state::State;
use crate::store::put_json;
use crate::store::records::{
    user_grant_key, ClientRecord, CodeState, GrantRecord, CODE_LIFETIME, CODE_RECORD_TTL,
};
use crate::urls::Urls;
use crate::web::{Params, Request, Response};
use http::StatusCode;
use request::{fail, open_request, redirect_to, seal_request, validate, AuthzRequest, Failure};
use views::{consent_page, sign_in_page, split_scopes};

pub async fn get(state: &State, req: &Request, services: &Services<'_>, urls: &Urls) -> Response {
    let params = Params::parse(req.uri().query().unwrap_or(""));
    let (request, client) = match validate(state, &params, services, urls).await {
        Ok(v) => v,
        Err(f) => return fail(f, urls),
    };
    let sealed = seal_request(state, &request);
    match upstream::signed_in(state, req, services.clock.now()) {
        Some(user) => consent_page(state, req, services, &client, &user, &request, &sealed),
        None => sign_in_page(state, req, services, &client, &request, &sealed, None),
    }
}

pub async fn post(state: &State, req: &Request, services: &Services<'_>, urls: &Urls) -> Response {
    let form = Params::parse(&String::from_utf8_lossy(req.body()));
    if let Some(problem) = form.problem() {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "Bad request",
            &format!("The form cannot be read: {problem}."),
        );
    }
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
    let client = match registered_client(state, services, &request).await {
        Ok(c) => c,
        Err(page) => return page,
    };
    let sealed = form.get("request").unwrap_or_default().to_owned();
    match form.get("action") {
        Some("signin") => sign_in(state, req, services, &form, &client, &request, &sealed).await,
        Some("upstream") => {
            upstream::start(state, req, services, urls, form.get("provider"), Some(request)).await
        }
        Some("approve") => {
            let Some(user) = upstream::signed_in(state, req, now) else {
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
            let kept = upstream::session_identity(state, req, now)
                .and_then(|who| serde_json::to_value(who).ok());
            approve(state, services, urls, &request, &user, kept).await
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

async fn sign_in(
    state: &State,
    req: &Request,
    services: &Services<'_>,
    form: &Params,
    client: &ClientRecord,
    request: &AuthzRequest,
    sealed: &str,
) -> Response {
    let username = form.get("username").unwrap_or("").trim();
    let password = form.get("password").unwrap_or("");
    let user =
        match session::check_password(state, req, services, username, password, &client.client_id)
            .await
        {
            Ok(user) => user,
            Err(refusal) => {
                let page = sign_in_page(
                    state,
                    req,
                    services,
                    client,
                    request,
                    sealed,
                    Some(refusal.message()),
                );
                return refusal.finish(page);
            }
        };
    // A fresh session value at every sign-in (no fixation), bound to this user.
    let mut res = consent_page(state, req, services, client, user, request, sealed);
    session::signed_in(&mut res, state, req, services, user);
    res
}

/// After `/oauth/callback`: the consent page for the person who signed in upstream, with a
/// fresh session (no fixation) so the consent form's approval finds them.
#[cfg(feature = "upstream")]
pub(crate) async fn resume_upstream(
    state: &State,
    req: &Request,
    services: &Services<'_>,
    mut request: AuthzRequest,
    user: &User,
    session: &str,
) -> Response {
    let client = match registered_client(state, services, &request).await {
        Ok(c) => c,
        Err(page) => return page,
    };
    request.exp = services.clock.now() + request::REQUEST_LIFETIME;
    let sealed = seal_request(state, &request);
    let mut res = consent_page(state, req, services, &client, user, &request, &sealed);
    session::set_cookie(&mut res, req, "mcp_edge_session", session, session::SIGNIN_LIFETIME);
    res
}

async fn approve(
    state: &State,
    services: &Services<'_>,
    urls: &Urls,
    request: &AuthzRequest,
    user: &User,
    upstream: Option<serde_json::Value>,
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
        refreshed_at: None,
        generation: None,
        rotated_at: None,
        dpop_jkt: None,
        upstream,
    };
    let index = user_grant_key(&grant.sub, &grant.grant_id);
    let written = match put_json(
        services.store,
        &GrantRecord::key(&grant.grant_id),
        &grant,
        Some(CODE_RECORD_TTL),
    )
    .await
    {
        Ok(()) => {
            let ttl = Some(crate::store::records::index_ttl(&state.config));
            services.store.put(&index, "", ttl).await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = written {
        return fail(
            Failure::Redirect(e.into(), request.redirect_uri.clone(), request.state.clone()),
            urls,
        );
    }
    crate::logs::event(
        "grant_created",
        serde_json::json!({ "client": grant.client_id, "sub": crate::logs::subject_tag(&grant.sub), "scope": grant.scope }),
    );
    let mut params = vec![("code", code)];
    if let Some(s) = &request.state {
        params.push(("state", s.clone()));
    }
    params.push(("iss", urls.issuer.clone()));
    redirect_to(&request.redirect_uri, &params)
}

/// The client of a sealed request, or the page to answer with: it is gone (400), or the store
/// failed (503: the person has not consented yet, so nothing is sent to the client).
async fn registered_client(
    state: &State,
    services: &Services<'_>,
    request: &AuthzRequest,
) -> Result<ClientRecord, Response> {
    match client::find(state, services, &request.client_id).await {
        Ok(Some(c)) => Ok(c),
        Ok(None) => Err(pages::error(
            StatusCode::BAD_REQUEST,
            "Unknown application",
            "The application asking for access is no longer registered.",
        )),
        Err(e) if e.code == ErrorCode::InvalidClient => Err(pages::error(
            StatusCode::BAD_REQUEST,
            "Cannot continue",
            &format!("This application identifies itself with a client metadata document that cannot be used: {}", e.description),
        )),
        Err(_) => Err(pages::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Temporarily unavailable",
            "The server's storage is temporarily unavailable. Please retry in a moment.",
        )),
    }
}
