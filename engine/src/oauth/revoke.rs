//! `POST /revoke` (RFC 7009): revokes a refresh token and with it the whole grant. Access
//! tokens are self-contained JWTs and expire on their own (`ACCESS_TOKEN_TTL`); revoking one
//! is answered with 200 as the RFC requires, and does nothing.

use super::client;
use super::error::OAuthResult;
use super::refresh_token::{self, Presented};
use super::token::form_params;
use crate::env::Services;
use crate::state::State;
use crate::store::get_json;
use crate::store::records::GrantRecord;
use crate::web::{self, Request, Response};
use http::StatusCode;

pub async fn post(state: &State, req: &Request, services: &Services<'_>) -> Response {
    match revoke(state, req, services).await {
        Ok(()) => web::no_store(web::cors(web::empty(StatusCode::OK))),
        Err(e) => e.response(),
    }
}

async fn revoke(state: &State, req: &Request, services: &Services<'_>) -> OAuthResult<()> {
    let form = form_params(req)?;
    let token =
        form.get("token").ok_or_else(|| super::error::invalid_request("token is required"))?;
    let client = client::authenticate(state, services, req, &form).await?;
    // Invalid or unknown tokens are not an error (RFC 7009 §2.2).
    let Some((grant_id, _)) =
        token.split_once('.').filter(|(g, _)| !g.is_empty() && g.len() <= 64 && !g.contains(':'))
    else {
        return Ok(());
    };
    let key = GrantRecord::key(grant_id);
    if let Some(grant) = get_json::<GrantRecord>(services.store, &key).await? {
        let rest = token.split_once('.').map_or("", |(_, s)| s);
        let now = services.clock.now();
        let matches = !grant.is_pending()
            && !matches!(
                refresh_token::classify(&state.secret, &grant, rest, now),
                Presented::Replay | Presented::Invalid
            );
        if grant.client_id == client.client_id && matches {
            super::admission::revoke(state, services, &grant, "revocation").await?;
        }
    }
    Ok(())
}
