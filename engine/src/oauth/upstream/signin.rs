//! The signed-in session of a person who came through an upstream provider: the sealed
//! `mcp_edge_session` cookie holds what the provider said (not scopes), and the access rules in
//! force decide at every authorization whether, and with which scopes, they get in.

use super::{offered, rules, Identity};
use crate::config::User;
use crate::crypto::{b64, seal, unb64, unseal};
use crate::env::{random_token, Services};
use crate::oauth::session::{cookie, signed_in_user, SIGNIN_LIFETIME};
use crate::state::State;
use crate::web::Request;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// The seal purpose of a session cookie holding an upstream identity.
const SESSION_PURPOSE: &str = "signin-upstream";

/// The person as our pages and tokens know them.
pub(super) fn user_of(who: &Identity, scopes: Vec<String>) -> User {
    let name = who
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .or_else(|| who.login.clone())
        .or_else(|| who.email.clone())
        .unwrap_or_else(|| who.subject.clone());
    User {
        username: who.login.clone().or_else(|| who.email.clone()).unwrap_or_default(),
        password_hash: String::new(),
        sub: who.subject.clone(),
        name,
        scopes,
    }
}

#[derive(Serialize, Deserialize)]
struct SessionData {
    who: Identity,
    exp: u64,
    n: String,
}

/// A sealed session cookie value for a person who signed in upstream.
pub(super) fn new_session(state: &State, services: &Services<'_>, who: &Identity) -> String {
    let data = SessionData {
        who: who.clone(),
        exp: services.clock.now() + SIGNIN_LIFETIME,
        n: random_token(services.random, 12),
    };
    let json = serde_json::to_vec(&data).unwrap_or_default();
    seal(&state.secret, SESSION_PURPOSE, &b64(&json))
}

/// The provider's identity of a person signed in upstream (what a grant keeps, so every
/// refresh applies the access rules to it again), if that is who this browser signed in as.
pub(crate) fn session_identity(state: &State, req: &Request, now: u64) -> Option<Identity> {
    if signed_in_user(state, req, now).is_some() {
        return None;
    }
    let value = cookie(req, "mcp_edge_session")?;
    let data = unseal(&state.secret, SESSION_PURPOSE, &value)?;
    let data: SessionData = serde_json::from_slice(&unb64(data)?).ok()?;
    (data.exp >= now).then_some(data.who)
}

/// The scopes the access rules (as configured now) give the person a grant kept the identity
/// of (`GrantRecord::upstream`): `None` when their provider is no longer offered or no rule
/// admits them any more.
pub(crate) fn admitted_now(state: &State, kept: &serde_json::Value) -> Option<Vec<String>> {
    let who: Identity = serde_json::from_value(kept.clone()).ok()?;
    if !offered(&state.config).contains(&who.provider) {
        return None;
    }
    rules::admit(&state.config.access_rules, &who).ok()
}

/// The signed-in person: a `USERS` account, or someone who signed in upstream and whom the
/// access rules (as configured now) still admit, with the scopes they grant now.
pub(crate) fn signed_in<'a>(state: &'a State, req: &Request, now: u64) -> Option<Cow<'a, User>> {
    if let Some(user) = signed_in_user(state, req, now) {
        return Some(Cow::Borrowed(user));
    }
    let value = cookie(req, "mcp_edge_session")?;
    let data = unseal(&state.secret, SESSION_PURPOSE, &value)?;
    let data: SessionData = serde_json::from_slice(&unb64(data)?).ok()?;
    if data.exp < now || !offered(&state.config).contains(&data.who.provider) {
        return None;
    }
    let scopes = rules::admit(&state.config.access_rules, &data.who).ok()?;
    Some(Cow::Owned(user_of(&data.who, scopes)))
}
