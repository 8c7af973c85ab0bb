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
pub(crate) const SIGNIN_LIFETIME: u64 = 8 * 3600;

/// Cookie names: `__Host-` prefixed (Secure, host-only, Path=/) on https; plain on local http.
pub(crate) fn cookie_name(req: &Request, base: &str) -> String {
    if is_https(req) {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

pub(crate) fn is_https(req: &Request) -> bool {
    crate::urls::request_origin(req).starts_with("https://")
}

pub(crate) fn cookie(req: &Request, name: &str) -> Option<String> {
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

pub(crate) fn set_cookie(res: &mut Response, req: &Request, name: &str, value: &str, max_age: u64) {
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
pub(crate) fn csrf_token(
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

pub(crate) fn csrf_ok(state: &State, req: &Request, token: Option<&str>) -> bool {
    match (cookie(req, "mcp_edge_csrf"), token.and_then(|t| unseal(&state.secret, "csrf", t))) {
        (Some(cookie), Some(bound)) => {
            crate::crypto::constant_time_eq(cookie.as_bytes(), bound.as_bytes())
        }
        _ => false,
    }
}

/// The user whose sign-in cookie is valid, if any (and still configured).
pub(crate) fn signed_in_user<'a>(state: &'a State, req: &Request, now: u64) -> Option<&'a User> {
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
pub(crate) fn new_session(state: &State, services: &Services<'_>, user: &User, now: u64) -> String {
    let nonce = crate::env::random_token(services.random, 12);
    seal(&state.secret, "signin", &format!("{}~{}~{nonce}", user.sub, now + SIGNIN_LIFETIME))
}

/// Failed sign-ins tolerated per user (from browsers without a device cookie), per device
/// cookie, and (times three) per client address, in a window.
const SIGNIN_FAILURES: u64 = 10;
const SIGNIN_WINDOW: u64 = 900;

/// How long a browser stays known for a user after a sign-in there (renewed at each sign-in).
pub(crate) const DEVICE_LIFETIME: u64 = 180 * 86400;

/// The device cookie's name for `username`: one per user, so a shared browser keeps one for
/// each person who signs in there (OWASP "device cookies").
fn device_cookie_base(username: &str) -> String {
    format!("mcp_edge_device_{}", username_tag(username))
}

fn username_tag(username: &str) -> String {
    crate::logs::subject_tag(&username.to_lowercase())
}

/// The device this browser is for `username`: the hash of its device cookie's nonce, when the
/// browser carries a valid, unexpired device cookie issued at a sign-in as that user.
fn known_device(state: &State, req: &Request, username: &str, now: u64) -> Option<String> {
    let value = cookie(req, &device_cookie_base(username))?;
    let data = unseal(&state.secret, "device", &value)?;
    let mut parts = data.split('~');
    let (tag, nonce, exp) = (parts.next()?, parts.next()?, parts.next()?);
    let exp: u64 = exp.parse().ok()?;
    (tag == username_tag(username) && exp > now && !nonce.is_empty())
        .then(|| crate::crypto::sha256_b64(nonce))
}

/// Sets the cookies of a successful sign-in as `user` on `res`: a fresh session (no fixation)
/// and a fresh device cookie, which lets this browser sign in as `user` while strangers'
/// failed guesses throttle everyone else.
pub(crate) fn signed_in(
    res: &mut Response,
    state: &State,
    req: &Request,
    services: &Services<'_>,
    user: &User,
) {
    let now = services.clock.now();
    set_cookie(
        res,
        req,
        "mcp_edge_session",
        &new_session(state, services, user, now),
        SIGNIN_LIFETIME,
    );
    let nonce = random_token(services.random, 16);
    let data = format!("{}~{nonce}~{}", username_tag(&user.username), now + DEVICE_LIFETIME);
    let device = seal(&state.secret, "device", &data);
    set_cookie(res, req, &device_cookie_base(&user.username), &device, DEVICE_LIFETIME);
}

/// Why a sign-in was refused.
pub(crate) enum SignInRefusal {
    Wrong,
    /// Too many failures: for the user from unknown browsers (`device: false`), or from this
    /// browser's device cookie (`device: true`).
    Throttled {
        device: bool,
    },
    Unavailable(Response),
}

impl SignInRefusal {
    /// What the sign-in page says.
    pub(crate) fn message(&self) -> &'static str {
        match self {
            SignInRefusal::Wrong => "Wrong username or password.",
            SignInRefusal::Throttled { device: false } => {
                "Too many failed sign-in attempts for this account. Wait 15 minutes and try again. \
                 A browser where this account has signed in before is not held back: \
                 sign in from it now."
            }
            SignInRefusal::Throttled { device: true } => {
                "Too many failed sign-in attempts from this browser. Wait 15 minutes and try again."
            }
            SignInRefusal::Unavailable(_) => {
                "The server's storage is unavailable; try again shortly."
            }
        }
    }

    /// The sign-in page (showing [`SignInRefusal::message`]) with the refusal's status.
    pub(crate) fn finish(self, mut page: Response) -> Response {
        match self {
            SignInRefusal::Wrong => page,
            SignInRefusal::Throttled { .. } => {
                *page.status_mut() = http::StatusCode::TOO_MANY_REQUESTS;
                page.headers_mut().insert("retry-after", HeaderValue::from_static("900"));
                page
            }
            SignInRefusal::Unavailable(res) => res,
        }
    }
}

/// Checks a username and password, throttled (attempts counted in the ledger) as OWASP's device
/// cookies describe: a browser holding a device cookie for this user (it signed in as them
/// before) counts its failures against that cookie only; every other browser counts against
/// the user and its client address. So strangers' guesses lock out strangers, not the owner,
/// and a stolen device cookie is not an unlimited oracle. Unknown users are checked against a
/// decoy as costly as the dearest configured hash, so timing does not reveal who exists.
/// `client` names who asked, for the log.
pub(crate) async fn check_password<'a>(
    state: &'a State,
    req: &Request,
    services: &Services<'_>,
    username: &str,
    password: &str,
    client: &str,
) -> Result<&'a User, SignInRefusal> {
    use crate::crypto::password::PasswordHash;
    use crate::crypto::sha256_b64;
    let now = services.clock.now();
    let device = known_device(state, req, username, now);
    let buckets: Vec<(String, u64)> = match &device {
        Some(device) => vec![(format!("signin-device:{device}"), SIGNIN_FAILURES)],
        None => vec![
            (format!("signin-user:{}", sha256_b64(&username.to_lowercase())), SIGNIN_FAILURES),
            (
                format!("signin-ip:{}", sha256_b64(&crate::web::client_address(req))),
                SIGNIN_FAILURES * 3,
            ),
        ],
    };
    // Every attempt is counted before the password is checked, atomically in the ledger, so
    // parallel guesses are all counted (a KV counter written after the handler counted 60 at
    // once as about 4); an attempt that succeeds, or is refused unchecked, takes its count back,
    // so what stays counted is the failures (and the checks in flight).
    let expires = now + SIGNIN_WINDOW;
    let unavailable = |e: crate::store::StoreError| {
        SignInRefusal::Unavailable(crate::web::unavailable(&e.to_string()))
    };
    let mut over = None;
    for (bucket, max) in &buckets {
        let n = services.ledger.add(bucket, expires).await.map_err(unavailable)?;
        if n > *max && over.is_none() {
            over = Some(bucket.split(':').next().unwrap_or_default().to_owned());
        }
    }
    if let Some(bucket) = over {
        for (bucket, _) in &buckets {
            services.ledger.take_back(bucket).await.map_err(unavailable)?;
        }
        crate::logs::event(
            "signin_throttled",
            serde_json::json!({ "client": client, "bucket": bucket }),
        );
        return Err(SignInRefusal::Throttled { device: device.is_some() });
    }
    let user = state.config.users.iter().find(|u| u.username.eq_ignore_ascii_case(username));
    let verified = match user {
        Some(u) => match PasswordHash::parse(&u.password_hash) {
            Some(h) => h.verify_with(services.hasher, password).await,
            None => false,
        },
        None => {
            let users = state.config.users.iter().map(|u| u.password_hash.as_str());
            let _ = PasswordHash::decoy(users).verify_with(services.hasher, password).await;
            false
        }
    };
    match user.filter(|_| verified) {
        Some(user) => {
            for (bucket, _) in &buckets {
                services.ledger.take_back(bucket).await.map_err(unavailable)?;
            }
            Ok(user)
        }
        None => {
            crate::logs::event(
                "signin_failed",
                serde_json::json!({ "client": client, "user": crate::logs::subject_tag(&username.to_lowercase()) }),
            );
            Err(SignInRefusal::Wrong)
        }
    }
}
