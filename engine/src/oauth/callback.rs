//! `GET /oauth/callback`: where an upstream identity provider sends the person back
//! (`upstream::finish`); on success our own consent page follows, as after a password
//! sign-in, and the MCP client gets our code from there (or `/account`, when that is where the
//! person signed in).

use super::authorize;
use super::upstream;
use crate::env::Services;
use crate::state::State;
use crate::urls::Urls;
use crate::web::{Request, Response};

pub async fn get(state: &State, req: &Request, services: &Services<'_>, urls: &Urls) -> Response {
    match upstream::finish(state, req, services, urls).await {
        Ok(upstream::SignedIn { request: Some(request), user, session }) => {
            authorize::resume_upstream(state, req, services, request, &user, &session).await
        }
        Ok(signed) => upstream::to_account(req, &signed.session),
        Err(page) => page,
    }
}
