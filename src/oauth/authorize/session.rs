//! The browser's side of sign-in: cookies (`__Host-` on https), the CSRF token bound to a
//! cookie, and the signed-in session.

use crate::config::User;
use crate::crypto::{seal, unseal};
use crate::env::random_token;
use crate::env::Services;
use crate::state::State;
use crate::web::{Request, Response};
use http::HeaderValue;

/// How long a sign-in lasts in the browser (skips the password on the next authorization).
pub(super) const SIGNIN_LIFETIME: u64 = 8 * 3600;

/// Cookie names: `__Host-` prefixed (Secure, host-only, Path=/) on https; plain on local http.
pub(super) fn cookie_name(req: &Request, base: &str) -> String {
    if is_https(req) {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

pub(super) fn is_https(req: &Request) -> bool {
    crate::urls::request_origin(req).starts_with("https://")
}

pub(super) fn cookie(req: &Request, name: &str) -> Option<String> {
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

pub(super) fn set_cookie(res: &mut Response, req: &Request, name: &str, value: &str, max_age: u64) {
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
pub(super) fn csrf_token(
    state: &State,
    req: &Request,
    services: &Services<'_>,
) -> (String, Option<String>) {
    match cookie(req, "mcp_edge_csrf") {
        Some(c) if c.len() >= 16 => (seal(&state.secret, "csrf", &c), None),
        _ => {
            let fresh = random_token(services.random, 18);
            (seal(&state.secret, "csrf", &fresh), Some(fresh))
        }
    }
}

pub(super) fn csrf_ok(state: &State, req: &Request, token: Option<&str>) -> bool {
    match (cookie(req, "mcp_edge_csrf"), token.and_then(|t| unseal(&state.secret, "csrf", t))) {
        (Some(cookie), Some(bound)) => {
            crate::crypto::constant_time_eq(cookie.as_bytes(), bound.as_bytes())
        }
        _ => false,
    }
}

/// The user whose sign-in cookie is valid, if any (and still configured).
pub(super) fn signed_in_user<'a>(state: &'a State, req: &Request, now: u64) -> Option<&'a User> {
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

/// A fresh session value (no fixation) for `user`, valid until `now + SIGNIN_LIFETIME`.
pub(super) fn new_session(state: &State, services: &Services<'_>, user: &User, now: u64) -> String {
    let nonce = crate::env::random_token(services.random, 12);
    seal(&state.secret, "signin", &format!("{}~{}~{nonce}", user.sub, now + SIGNIN_LIFETIME))
}
