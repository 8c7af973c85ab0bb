//! `POST /token` (RFC 6749 §3.2, OAuth 2.1): the authorization-code grant with PKCE and the
//! refresh-token grant with rotation. Access tokens are RFC 9068 JWTs bound to the MCP resource.
//!
//! Refresh rotation (`super::refresh_token`): each refresh issues the next generation's token,
//! derived from the grant and the generation, so racing refreshes of one token all get the same
//! new one. The token it replaced is answered with that same token for `REFRESH_REUSE_SECS`
//! (races, retries after a lost response, KV's propagation delay); presenting it later, or any
//! older token, revokes the whole grant (replay detection, RFC 9700 §4.14.2).

use super::admission::{self, Admission};
use super::client;
use super::error::{invalid_request, ErrorCode, OAuthError, OAuthResult};
use super::pkce;
use super::refresh_token::{self, Presented};
use crate::crypto::jwt::AccessClaims;
use crate::env::{random_token, Services};
use crate::state::State;
use crate::store::ledger::{Advance, Claim};
use crate::store::records::{ClientRecord, GrantRecord, REFRESH_REUSE_SECS};
use crate::store::{get_json, put_json, put_json_best_effort};
use crate::urls::audience_covers;
use crate::urls::Urls;
use crate::web::{self, Params, Request, Response};
use http::StatusCode;
use serde_json::{json, Value};

/// Renew a registered client's TTL at most this often (on use).
const CLIENT_RENEW_INTERVAL: u64 = 86400;

pub async fn post(state: &State, req: &Request, services: &Services<'_>, urls: &Urls) -> Response {
    let form = match form_params(req) {
        Ok(form) => form,
        Err(e) => return e.response(),
    };
    let res = match token(state, req, &form, services, urls).await {
        Ok(body) => {
            let res = web::no_store(web::cors(web::json(StatusCode::OK, &body)));
            // The next proof's nonce, before the client needs it (RFC 9449 §8.2).
            if state.config.dpop_nonces && req.headers().contains_key("dpop") {
                super::dpop::with_nonce(
                    res,
                    &super::dpop::nonce(&state.secret, services.clock.now()),
                )
            } else {
                res
            }
        }
        Err(e) => e.response(),
    };
    // The client id as sent (authenticated or not): for the request log only.
    crate::logs::note(res, form.get("client_id"), None)
}

/// A form parameter that must be present and non-empty.
fn required<'a>(form: &'a Params, name: &str) -> OAuthResult<&'a str> {
    form.get(name)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| invalid_request(format!("{name} is required")))
}

fn invalid_grant(why: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, why)
}

pub fn form_params(req: &Request) -> OAuthResult<Params> {
    if !web::content_type_is(req, "application/x-www-form-urlencoded") {
        return Err(invalid_request("the body must be application/x-www-form-urlencoded"));
    }
    let form = Params::parse(&String::from_utf8_lossy(req.body()));
    match form.problem() {
        Some(problem) => Err(invalid_request(problem)),
        None => Ok(form),
    }
}

async fn token(
    state: &State,
    req: &Request,
    form: &Params,
    services: &Services<'_>,
    urls: &Urls,
) -> OAuthResult<Value> {
    let grant_type =
        form.get("grant_type").ok_or_else(|| invalid_request("grant_type is required"))?;
    if !matches!(grant_type, "authorization_code" | "refresh_token") {
        return Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            format!("grant_type {grant_type:?} is not supported"),
        ));
    }
    let client = client::authenticate(state, services, req, form).await?;
    if !client.grant_types.iter().any(|g| g == grant_type) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!("this client did not register for {grant_type}"),
        ));
    }
    if let Some(resource) = form.get("resource") {
        if !audience_covers(resource, &urls.resource) {
            return Err(OAuthError::new(
                ErrorCode::InvalidTarget,
                "resource does not name this MCP server",
            ));
        }
    }
    // RFC 9449: a DPoP proof binds what is issued to the client's key.
    let dpop = super::dpop::at_token(state, services, req, urls).await?;
    let dpop = dpop.as_deref();
    if grant_type == "authorization_code" {
        authorization_code(state, services, urls, form, &client, dpop).await
    } else {
        refresh(state, services, urls, form, &client, dpop).await
    }
}

/// Redeems a code: one read of `grant:{id}`, one claim in the ledger (the grant's shard), one
/// write of the grant (the client record comes from the per-isolate cache when recently seen).
/// The claim makes the redemption single, wherever the code is presented; the write both spends
/// the code in KV and activates the grant. A failed write releases the claim, so a retry is safe.
async fn authorization_code(
    state: &State,
    services: &Services<'_>,
    urls: &Urls,
    form: &Params,
    client: &ClientRecord,
    dpop: Option<&str>,
) -> OAuthResult<Value> {
    let code = required(form, "code")?;
    let verifier = form
        .get("code_verifier")
        .ok_or_else(|| invalid_request("code_verifier is required (PKCE)"))?;
    let now = services.clock.now();
    let invalid_code = || invalid_grant("the authorization code is invalid or expired");
    if code.len() > 256 {
        return Err(invalid_code());
    }
    let key = GrantRecord::key(&GrantRecord::id_for_code(&state.secret, code));
    let mut grant: GrantRecord = get_json(services.store, &key).await?.ok_or_else(invalid_code)?;
    let Some(code_state) = grant.code.clone() else { return Err(invalid_code()) };
    // Who presents the code is checked before anything else: a code presented by another
    // client, or without its verifier, is refused and touches nothing. Only the client the
    // code was issued to, proving PKCE, can show a replay (issue 23: anyone who saw a spent
    // code could otherwise revoke its grant).
    if grant.client_id != client.client_id {
        return Err(invalid_grant("the authorization code was issued to another client"));
    }
    if form.get("redirect_uri").is_some_and(|r| r != code_state.redirect_uri) {
        return Err(invalid_grant("redirect_uri does not match the authorization request"));
    }
    if !pkce::verifies(verifier, &code_state.code_challenge) {
        return Err(invalid_grant("code_verifier does not match the code_challenge"));
    }
    let replayed = || {
        invalid_grant("the authorization code was already used; the grant it produced is revoked")
    };
    if code_state.used {
        // Replay by its own client: the code was redeemed before; revoke what it produced
        // (RFC 6749 §4.1.2).
        admission::revoke(state, services, &grant, "code_replay").await?;
        return Err(replayed());
    }
    if code_state.expires_at < now {
        return Err(invalid_grant("the authorization code expired"));
    }
    // This location's KV may not have seen a redemption made elsewhere: the ledger has. The
    // claim lives past the code's life (no location accepts the code after it).
    let claim = admission::ledger_key(&grant, "code");
    let until = code_state.expires_at.saturating_add(crate::store::MIN_TTL_SECS);
    let revoked = admission::revoked_key(&grant);
    match services.ledger.claim(&claim, until, Some(&revoked)).await? {
        Claim::First => {}
        Claim::Taken { .. } => {
            admission::revoke(state, services, &grant, "code_replay").await?;
            return Err(replayed());
        }
        Claim::Blocked => return Err(invalid_code()),
    }
    grant.code = Some(crate::store::records::CodeState { used: true, ..code_state });
    grant.dpop_jkt = dpop_binding(client, dpop);
    let refresh = refresh_token::make(&state.secret, &grant.grant_id, 0);
    grant.refresh_hash = refresh_token::stored_hash(&refresh);
    grant.generation = Some(0);
    grant.rotated_at = Some(now);
    grant.created_at = now;
    // Written now, not after the answer: if it fails, the claim is released before answering.
    let record = crate::store::to_json(&grant)?;
    let ttl = Some(state.config.refresh_token_ttl);
    if let Err(e) = services.store.put_now(&key, &record, ttl).await {
        // Nothing was issued: the code stays redeemable (a retry of this request works).
        if let Err(e) = services.ledger.take_back(&claim).await {
            log::warn!("could not release the claim of a code whose grant was not written: {e}");
        }
        return Err(e.into());
    }
    renew_client(state, services, client, now).await;
    issue(state, services, urls, &grant, &grant.scope, &refresh, dpop).await
}

/// Rotates a refresh token: one read of `grant:{id}`, one step in the ledger (the grant's
/// generation advanced from `n` to `n + 1`, unless it is revoked), one write of the grant. The
/// ledger gives each generation exactly one successor at every location; KV's view only
/// refuses what it already knows is superseded.
async fn refresh(
    state: &State,
    services: &Services<'_>,
    urls: &Urls,
    form: &Params,
    client: &ClientRecord,
    dpop: Option<&str>,
) -> OAuthResult<Value> {
    let token = required(form, "refresh_token")?;
    let (grant_id, secret) =
        token.split_once('.').ok_or_else(|| invalid_grant("the refresh token is invalid"))?;
    if grant_id.is_empty() || grant_id.len() > 64 {
        return Err(invalid_grant("the refresh token is invalid"));
    }
    let key = GrantRecord::key(grant_id);
    let gone = || invalid_grant("the refresh token is invalid, expired or revoked");
    let mut grant: GrantRecord = get_json(services.store, &key).await?.ok_or_else(gone)?;
    if grant.client_id != client.client_id {
        return Err(invalid_grant("the refresh token was issued to another client"));
    }
    if grant.dpop_jkt.as_deref().is_some_and(|bound| dpop != Some(bound)) {
        // Checked before anything rotates or revokes: a stolen token without the key does nothing.
        return Err(invalid_grant(
            "the refresh token is bound to a DPoP key: send a DPoP proof signed by it",
        ));
    }
    let now = services.clock.now();
    // How long the grant lives from this refresh: not past its maximum age (the grant's record,
    // and the ledger's generation item, expire with its last day).
    let left = grant.created_at.saturating_add(state.config.max_grant_age).saturating_sub(now);
    let ttl = state.config.refresh_token_ttl.min(left).max(crate::store::MIN_TTL_SECS);
    let mut presented = refresh_token::classify(&state.secret, &grant, secret, now);
    if presented == Presented::Invalid {
        // Not a token we made: whoever sent it holds nothing, and the grant is untouched.
        return Err(invalid_grant("the refresh token is invalid"));
    }
    // The generation the token is of (a random token of an earlier version counts as 0).
    let generation = match presented {
        Presented::Rotate { generation } => generation,
        Presented::Reuse => grant.generation.unwrap_or(1).saturating_sub(1),
        _ => 0,
    };
    if presented != Presented::Replay {
        // The person, as the configuration says now: removed people lose the grant, people
        // who lost a scope keep the rest (issue 23: refresh used to renew whatever consent gave).
        let max_age = state.config.max_grant_age;
        if now >= grant.created_at.saturating_add(max_age) {
            admission::revoke(state, services, &grant, "max_grant_age").await?;
            return Err(invalid_grant(
                "the grant reached its maximum age (MAX_GRANT_AGE): sign in again",
            ));
        }
        match admission::check(state, &grant) {
            Admission::Scopes(scope) => grant.scope = scope,
            Admission::Removed(why) => {
                admission::revoke(state, services, &grant, "deprovisioned").await?;
                return Err(invalid_grant(&format!("{why}: the grant is revoked")));
            }
            Admission::Unchecked => {}
        }
        // What this location's KV cannot know: whether the generation was rotated elsewhere,
        // and whether the grant was revoked elsewhere. The ledger knows, in one atomic step.
        let until = now + ttl;
        let key = admission::ledger_key(&grant, "generation");
        let revoked = admission::revoked_key(&grant);
        presented =
            match services.ledger.advance(&key, generation + 1, until, Some(&revoked)).await? {
                Advance::Blocked => return Err(gone()),
                // A generation rotated before the ledger guarded rotations, answered again.
                Advance::Moved if presented == Presented::Reuse => Presented::Reuse,
                Advance::Moved => presented,
                // Rotated before, to the same successor: within the reuse window the same answer
                // again, otherwise a replay.
                Advance::Already { at } if now < at.saturating_add(REFRESH_REUSE_SECS) => {
                    grant.generation = Some(generation + 1);
                    Presented::Reuse
                }
                Advance::Already { .. } => Presented::Replay,
                // Its successor was rotated too: two generations behind.
                Advance::Past => Presented::Replay,
            };
    }
    if presented == Presented::Replay {
        if grant.is_pending() {
            // No refresh token was issued from it yet: nothing to rotate, nothing to revoke.
            return Err(invalid_grant("the refresh token is invalid"));
        }
        admission::revoke(state, services, &grant, "refresh_replay").await?;
        return Err(invalid_grant("the refresh token was already rotated; the grant is revoked"));
    }
    // A narrower scope may be asked for (RFC 6749 §6); `offline_access` is ignored.
    let asked = form.get("scope").map(crate::config::scope_list).unwrap_or_default();
    let scope = if asked.is_empty() {
        grant.scope.clone()
    } else {
        let held: Vec<&str> = grant.scope.split(' ').collect();
        if let Some(bad) = asked.iter().find(|s| !held.contains(s)) {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                format!("scope {bad:?} was not granted"),
            ));
        }
        asked.join(" ")
    };
    let secret = &state.secret;
    let gid = grant.grant_id.clone();
    let (next, previous) = match presented {
        // The one before the newest, within the reuse window: a racing or retried request gets
        // what the first one got. Nothing is written: the state is already right, and a write
        // here could only overwrite a newer rotation made elsewhere.
        Presented::Reuse => {
            let newest = refresh_token::make(secret, &gid, grant.generation.unwrap_or(0));
            return issue(state, services, urls, &grant, &scope, &newest, dpop).await;
        }
        Presented::Rotate { generation } => (
            generation + 1,
            refresh_token::stored_hash(&refresh_token::make(secret, &gid, generation)),
        ),
        // The random newest token of an earlier version becomes the previous one.
        Presented::Migrate => (1, grant.refresh_hash.clone()),
        Presented::Replay | Presented::Invalid => {
            return Err(invalid_grant("the refresh token is invalid"))
        }
    };
    let newest = refresh_token::make(secret, &gid, next);
    grant.previous_refresh_hash = Some(previous);
    grant.refresh_hash = refresh_token::stored_hash(&newest);
    grant.generation = Some(next);
    grant.rotated_at = Some(now);
    // A grant still pending here had its code exchanged at a location whose write has not
    // reached this one yet: the token (only we can make one) proves it, so the code is spent.
    // Its DPoP binding (if any) is not visible here either: this refresh's proof binds it.
    if grant.code.as_ref().is_some_and(|c| !c.used) && grant.dpop_jkt.is_none() {
        grant.dpop_jkt = dpop_binding(client, dpop);
    }
    if let Some(code) = grant.code.as_mut() {
        code.used = true;
    }
    // The code's replay record is only needed while the code could still be presented.
    if grant.code.as_ref().is_some_and(|c| c.expires_at < now) {
        grant.code = None;
    }
    // The account index is renewed at the first refresh of a UTC day, not at every one: it was
    // written (or renewed) earlier that day otherwise, and outlives the grant's record to
    // cover that (`records::index_ttl`).
    let last = grant.refreshed_at.unwrap_or(grant.created_at);
    let renew_index = last / 86_400 != now / 86_400;
    grant.refreshed_at = Some(now);
    // A failed write leaves the claim: a retry within the reuse window gets this same token,
    // and the next rotation (from it) brings KV up to date.
    put_json(services.store, &key, &grant, Some(ttl)).await?;
    // Keeps the grant listed at /account as long as the grant lives.
    if renew_index {
        let index = crate::store::records::user_grant_key(&grant.sub, &grant.grant_id);
        let ttl = Some(crate::store::records::index_ttl(&state.config));
        if let Err(e) = services.store.put_best_effort(&index, "", ttl).await {
            log::warn!("could not renew the account index of a grant: {e}");
        }
    }
    issue(state, services, urls, &grant, &scope, &newest, dpop).await
}

/// The key a grant's refresh tokens are bound to: a public client's DPoP key (RFC 9449 §5);
/// confidential clients' refresh tokens are already bound to their authentication.
fn dpop_binding(client: &ClientRecord, dpop: Option<&str>) -> Option<String> {
    let public = client.client_secret_hash.is_none() && client.token_endpoint_auth_method == "none";
    dpop.filter(|_| public).map(str::to_owned)
}

async fn issue(
    state: &State,
    services: &Services<'_>,
    urls: &Urls,
    grant: &GrantRecord,
    scope: &str,
    refresh_token: &str,
    dpop: Option<&str>,
) -> OAuthResult<Value> {
    let now = services.clock.now();
    let claims = AccessClaims {
        iss: urls.issuer.clone(),
        sub: grant.sub.clone(),
        aud: grant.resource.clone(),
        client_id: grant.client_id.clone(),
        scope: scope.to_owned(),
        jti: random_token(services.random, 12),
        name: grant.name.clone(),
        gid: Some(grant.grant_id.clone()),
        cnf: dpop.map(|jkt| crate::crypto::jwt::Confirmation { jkt: jkt.to_owned() }),
    };
    let access_token = state
        .keys
        .sign(services.signer, claims, now, state.config.access_token_ttl)
        .await
        .ok_or_else(|| {
            OAuthError::new(ErrorCode::ServerError, "the access token could not be signed")
        })?;
    Ok(json!({
        "access_token": access_token,
        "token_type": if dpop.is_some() { "DPoP" } else { "Bearer" },
        "expires_in": state.config.access_token_ttl,
        "refresh_token": refresh_token,
        "scope": scope,
    }))
}

/// Keeps a registered client alive while it is used (registrations expire when unused).
/// Best effort: the tokens are already granted, so a failed write is logged, not returned.
async fn renew_client(state: &State, services: &Services<'_>, client: &ClientRecord, now: u64) {
    if client.renewed_at == u64::MAX
        || now.saturating_sub(client.renewed_at) < CLIENT_RENEW_INTERVAL
    {
        return;
    }
    let mut renewed = client.clone();
    renewed.renewed_at = now;
    let key = ClientRecord::key(&client.client_id);
    match put_json_best_effort(services.store, &key, &renewed, Some(state.config.client_ttl)).await
    {
        Ok(()) => {
            state.clients.insert(&client.client_id, renewed, now + super::client::CLIENT_CACHE_SECS)
        }
        Err(e) => log::warn!("could not renew client {}: {e}", client.client_id),
    }
}
