//! The upstream sign-in when the engine's `upstream` feature is off: none. The items the sign-in
//! and account pages and the grant checks use from `upstream.rs`, answering as a deployment with
//! no provider configured does, so those callers need no `cfg` of their own and none of the
//! OpenID Connect or GitHub code is compiled in. Configuration refuses the upstream settings
//! in such a build (`config::upstream::absent`), and `/oauth/callback` is not routed.

use super::authorize::request::AuthzRequest;
use super::pages;
use super::session::signed_in_user;
use crate::config::{Config, User};
use crate::env::Services;
use crate::state::State;
use crate::urls::Urls;
use crate::web::{Request, Response};
use http::StatusCode;
use std::borrow::Cow;

/// No provider, so no buttons.
pub(crate) fn buttons(_config: &Config, _sealed: Option<&str>, _csrf: &str) -> String {
    String::new()
}

/// A form naming a provider (`action=upstream`) gets what it gets where none is configured.
pub(crate) async fn start(
    _state: &State,
    _req: &Request,
    _services: &Services<'_>,
    _urls: &Urls,
    _provider: Option<&str>,
    _request: Option<AuthzRequest>,
) -> Response {
    pages::error(
        StatusCode::BAD_REQUEST,
        "Bad request",
        "That sign-in provider is not configured here.",
    )
}

/// The signed-in person: a `USERS` account only.
pub(crate) fn signed_in<'a>(state: &'a State, req: &Request, now: u64) -> Option<Cow<'a, User>> {
    signed_in_user(state, req, now).map(Cow::Borrowed)
}

/// Nobody signed in upstream.
pub(crate) fn session_identity(_state: &State, _req: &Request, _now: u64) -> Option<()> {
    None
}

/// A grant that kept an upstream identity (made by a build with the feature): its provider is
/// not offered any more, so no scope.
pub(crate) fn admitted_now(_state: &State, _kept: &serde_json::Value) -> Option<Vec<String>> {
    None
}
