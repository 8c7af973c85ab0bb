//! `private_key_jwt` client authentication (RFC 7523 §2.2 and §3, RFC 7521 §4.2, OpenID Connect
//! Core §9): the client proves itself with a short-lived JWT signed by a key it published
//! (`jwks_uri`, fetched under the same rules and cache as metadata documents, or inline `jwks`).
//! Each assertion is single-use: its `jti` is claimed in the ledger (a Durable Object) for its
//! lifetime.

use super::cimd;
use super::error::{ErrorCode, OAuthError, OAuthResult};
use crate::crypto::jws::{self, ALGS};
use crate::crypto::sha256_b64;
use crate::env::{Services, SignatureVerifier};
use crate::state::State;
use crate::store::records::ClientRecord;
use crate::store::{get_json, put_json_best_effort};
use jwt_compact::UntrustedToken;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The furthest in the future an assertion's `exp` may be ("short": RFC 7523 §3 leaves it to
/// the server).
pub const MAX_LIFETIME_SECS: u64 = 600;
/// Clock skew tolerated on `exp`, `nbf` and `iat`.
const LEEWAY_SECS: u64 = 30;

#[derive(Debug, Clone, Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    aud: Value,
    jti: String,
}

fn invalid(why: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClient, why)
}

/// The client an assertion claims to come from (its `sub`, unverified): how a request without
/// `client_id` finds its client.
pub fn claimed_client(assertion: &str) -> Option<String> {
    let token = UntrustedToken::new(assertion).ok()?;
    let claims = token.deserialize_claims_unchecked::<AssertionClaims>().ok()?;
    Some(claims.custom.sub)
}

/// `jti:{sha256(client_id, jti)}` → `"1"`: an assertion already used, until it expires.
pub(crate) fn replay_key(client_id: &str, jti: &str) -> String {
    format!("jti:{}", sha256_b64(&format!("{client_id}\0{jti}")))
}

/// Verifies `assertion` for `client`: signature with one of its keys, `iss` = `sub` = client
/// id, an `aud` among `audiences`, a short `exp`, and a `jti` not seen before (then remembered).
pub async fn verify(
    state: &State,
    services: &Services<'_>,
    client: &ClientRecord,
    assertion: &str,
    audiences: &[String],
) -> OAuthResult<()> {
    let token =
        UntrustedToken::new(assertion).map_err(|_| invalid("client_assertion is not a JWT"))?;
    let alg = token.algorithm().to_owned();
    if !ALGS.contains(&alg.as_str()) {
        return Err(invalid(format!(
            "client_assertion alg {alg:?} is not accepted (ES256, RS256)"
        )));
    }
    let kid = token.header().key_id.clone();
    let (jwks, fresh) = match (&client.jwks, &client.jwks_uri) {
        (Some(jwks), _) => (jwks.clone(), true),
        (None, Some(uri)) => load_jwks(state, services, uri, false).await?,
        (None, None) => return Err(invalid("the client has no keys (jwks_uri or jwks)")),
    };
    let verifier = services.verifier;
    let mut claims =
        check_signature(verifier, assertion, &token, &jwks, &alg, kid.as_deref()).await;
    if claims.is_none() && !fresh {
        // The client may have rotated its keys since we cached them: fetch once more.
        if let Some(uri) = &client.jwks_uri {
            let (jwks, _) = load_jwks(state, services, uri, true).await?;
            claims =
                check_signature(verifier, assertion, &token, &jwks, &alg, kid.as_deref()).await;
        }
    }
    let Some(claims) = claims else {
        return Err(invalid("client_assertion is not signed by a key of this client"));
    };
    let now = services.clock.now();
    let c = &claims.custom;
    if c.iss != client.client_id || c.sub != client.client_id {
        return Err(invalid("client_assertion iss and sub must both be the client_id"));
    }
    let aud_ok = match &c.aud {
        Value::String(a) => audiences.contains(a),
        Value::Array(list) => {
            list.iter().filter_map(Value::as_str).any(|a| audiences.iter().any(|x| x == a))
        }
        _ => false,
    };
    if !aud_ok {
        return Err(invalid("client_assertion aud is not this server's token endpoint or issuer"));
    }
    let secs = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.timestamp().max(0) as u64);
    let exp = secs(claims.expiration).ok_or_else(|| invalid("client_assertion has no exp"))?;
    if exp + LEEWAY_SECS < now {
        return Err(invalid("client_assertion expired"));
    }
    if exp > now + MAX_LIFETIME_SECS {
        return Err(invalid(format!(
            "client_assertion exp is more than {MAX_LIFETIME_SECS} s ahead"
        )));
    }
    if secs(claims.not_before).is_some_and(|nbf| nbf > now + LEEWAY_SECS)
        || secs(claims.issued_at).is_some_and(|iat| iat > now + LEEWAY_SECS)
    {
        return Err(invalid("client_assertion is not valid yet"));
    }
    if c.jti.is_empty() || c.jti.len() > 256 {
        return Err(invalid("client_assertion needs a jti (at most 256 characters)"));
    }
    // Single use, exactly: the claim is one atomic step in the ledger (a KV read-then-write
    // let concurrent replays of a captured assertion through, even at one location).
    let key = replay_key(&client.client_id, &c.jti);
    let expires = (exp + LEEWAY_SECS).max(now + crate::store::MIN_TTL_SECS);
    if services.ledger.claim(&key, expires, None).await? != crate::store::ledger::Claim::First {
        return Err(invalid("client_assertion was already used (jti replay)"));
    }
    Ok(())
}

/// The claims of `token` (parsed from `assertion`) if one of the candidate keys of `jwks`
/// verifies it.
async fn check_signature(
    verifier: &dyn SignatureVerifier,
    assertion: &str,
    token: &UntrustedToken<'_>,
    jwks: &Value,
    alg: &str,
    kid: Option<&str>,
) -> Option<jwt_compact::Claims<AssertionClaims>> {
    for key in jws::candidates(jwks, alg, kid) {
        if let Ok(claims) = jws::verify(verifier, assertion, token, key).await {
            return Some(claims);
        }
    }
    None
}

/// `jwks:{sha256(jwks_uri)}`: a client's fetched JWK Set, until `expires_at`.
#[derive(Serialize, Deserialize)]
struct CachedJwks {
    jwks: Value,
    expires_at: u64,
}

/// A client's JWK Set from `jwks_uri`: KV cache unless `refresh`, else fetched under the
/// metadata document rules. Returns it and whether it was fetched just now.
async fn load_jwks(
    state: &State,
    services: &Services<'_>,
    uri: &str,
    refresh: bool,
) -> OAuthResult<(Value, bool)> {
    let fail = |why: String| invalid(format!("the client's jwks_uri {uri}: {why}"));
    crate::urls::check_fetchable(uri, cimd::loopback_allowed(state)).map_err(fail)?;
    let now = services.clock.now();
    let key = format!("jwks:{}", sha256_b64(uri));
    if !refresh {
        if let Some(cached) = get_json::<CachedJwks>(services.store, &key).await? {
            if cached.expires_at > now {
                return Ok((cached.jwks, false));
            }
        }
    }
    let (doc, ttl) = cimd::fetch_json(services, uri).await.map_err(fail)?;
    let jwks = Value::Object(doc);
    cimd::check_public_jwks(&jwks).map_err(fail)?;
    let cached = CachedJwks { jwks: jwks.clone(), expires_at: now + ttl };
    if let Err(e) = put_json_best_effort(services.store, &key, &cached, Some(ttl)).await {
        log::warn!("could not cache the JWK set {uri}: {e}");
    }
    Ok((jwks, true))
}
