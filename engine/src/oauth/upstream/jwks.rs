//! The provider's signing keys (its `jwks_uri`), cached in KV, and the check of an ID token's
//! signature against them. A key id we have not seen sends us back to the provider once (key
//! rotation), at most every [`REFETCH_AFTER`] seconds.

use super::{get_json_from, UpstreamError};
use crate::crypto::jwk::{Jwk, ALGORITHMS};
use crate::crypto::{sha256_b64, unb64};
use crate::env::Services;
use crate::store::{get_json, put_json_best_effort};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How long a provider's keys are trusted from KV.
pub(crate) const JWKS_TTL: u64 = 3600;
/// A key id missing from keys at least this old makes us fetch them again.
const REFETCH_AFTER: u64 = 60;

/// `upstream-jwks:{sha256(jwks_uri)}`: the provider's public keys and when we fetched them.
/// TTL [`JWKS_TTL`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct JwksRecord {
    pub(crate) keys: Vec<Jwk>,
    pub(crate) fetched_at: u64,
}

pub(crate) fn jwks_key(jwks_uri: &str) -> String {
    format!("upstream-jwks:{}", sha256_b64(jwks_uri))
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Value>,
}

async fn fetch(
    services: &Services<'_>,
    label: &str,
    jwks_uri: &str,
) -> Result<JwksRecord, UpstreamError> {
    let set: JwkSet = get_json_from(services, label, "key set (jwks_uri)", jwks_uri, None).await?;
    // Keys we cannot use (other types, private members we ignore) are skipped, not fatal.
    let keys: Vec<Jwk> =
        set.keys.into_iter().filter_map(|k| serde_json::from_value(k).ok()).collect();
    let record = JwksRecord { keys, fetched_at: services.clock.now() };
    if let Err(e) =
        put_json_best_effort(services.store, &jwks_key(jwks_uri), &record, Some(JWKS_TTL)).await
    {
        log::warn!("upstream keys not cached: {e}");
    }
    Ok(record)
}

/// Checks the signature of the compact JWS `token` against the keys at `jwks_uri`; answers the
/// algorithm that verified it.
pub(crate) async fn verify(
    services: &Services<'_>,
    label: &str,
    jwks_uri: &str,
    token: &str,
) -> Result<&'static str, UpstreamError> {
    let invalid = |why: String| UpstreamError::Invalid(format!("its ID token {why}"));
    let mut parts = token.splitn(3, '.');
    let (Some(head), Some(body), Some(sig)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid("is not a signed JWT".into()));
    };
    let header: Value = unb64(head)
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or_else(|| invalid("has a malformed header".into()))?;
    let named = header["alg"].as_str().unwrap_or("none");
    let Some(alg) = ALGORITHMS.iter().copied().find(|a| *a == named) else {
        let alg = named;
        return Err(invalid(format!(
            "is signed with {alg:?}; this server verifies {} (ask the provider for RS256)",
            ALGORITHMS.join(" or ")
        )));
    };
    let kid = header["kid"].as_str();
    let signature = unb64(sig).ok_or_else(|| invalid("has a malformed signature".into()))?;
    let message = format!("{head}.{body}");
    let candidates = |record: &JwksRecord| -> Vec<Jwk> {
        record
            .keys
            .iter()
            .filter(|k| k.fits(alg) && (kid.is_none() || k.kid.as_deref() == kid))
            .cloned()
            .collect()
    };
    let now = services.clock.now();
    let cached = get_json::<JwksRecord>(services.store, &jwks_key(jwks_uri)).await.ok().flatten();
    let mut keys = cached.as_ref().map(candidates).unwrap_or_default();
    let stale = cached.as_ref().is_none_or(|c| c.fetched_at + REFETCH_AFTER <= now);
    if keys.is_empty() && stale {
        keys = candidates(&fetch(services, label, jwks_uri).await?);
    }
    if keys.is_empty() {
        return Err(invalid(format!(
            "names a key ({}) the provider does not publish",
            kid.unwrap_or("no kid")
        )));
    }
    for key in &keys {
        if key.verifies(services.verifier, alg, message.as_bytes(), &signature).await {
            return Ok(alg);
        }
    }
    Err(invalid("signature does not verify against the provider's published keys".into()))
}
