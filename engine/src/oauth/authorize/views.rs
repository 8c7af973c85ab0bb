//! The sign-in and consent pages of the flow, with their CSRF token.

use super::super::cimd;
use super::super::pages::{self, describe_scope, ClientView};
use super::super::session::{csrf_token, set_cookie};
use super::request::AuthzRequest;
use crate::config::User;
use crate::env::Services;
use crate::state::State;
use crate::store::records::ClientRecord;
use crate::web::{Request, Response};

pub(super) fn view(client: &ClientRecord, request: &AuthzRequest) -> (String, String) {
    let name =
        client.client_name.clone().unwrap_or_else(|| format!("Application {}", client.client_id));
    (name, crate::urls::redirect_host(&request.redirect_uri))
}

/// The page's view of the client: name, redirect host, and for a metadata document its
/// publisher and whether it only returns to loopback.
fn client_view<'a>(
    client: &ClientRecord,
    name: &'a str,
    host: &'a str,
    publisher: &'a Option<String>,
) -> ClientView<'a> {
    ClientView {
        name,
        redirect_host: host,
        publisher: publisher.as_deref(),
        loopback_only: cimd::loopback_only(client),
    }
}

pub(super) fn sign_in_page(
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
    let config = &state.config;
    let dev = config.mode != crate::config::Mode::Production && !config.users.is_empty();
    let providers = super::super::upstream::buttons(config, Some(sealed), &csrf);
    let publisher = cimd::publisher(&client.client_id);
    let mut res = pages::sign_in(
        &client_view(client, &name, &host, &publisher),
        sealed,
        &csrf,
        error,
        dev,
        (&providers, !config.users.is_empty()),
    );
    if let Some(fresh) = fresh {
        set_cookie(&mut res, req, "mcp_edge_csrf", &fresh, 86400);
    }
    res
}

pub(super) fn consent_page(
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
    let publisher = cimd::publisher(&client.client_id);
    let mut res = pages::consent(
        &client_view(client, &name, &host, &publisher),
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
pub(super) fn split_scopes<'a>(requested: &'a str, user: &User) -> (Vec<&'a str>, Vec<&'a str>) {
    requested.split(' ').filter(|s| !s.is_empty()).partition(|s| user.scopes.iter().any(|u| u == s))
}
