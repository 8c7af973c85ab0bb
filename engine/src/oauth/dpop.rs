//! DPoP (RFC 9449): proofs of possession of a client's key. At /token a `DPoP` proof binds the
//! access token to the key (`cnf.jkt`, `token_type: DPoP`) and, for public clients, the refresh
//! token too; at the MCP endpoint a bound token is accepted only as `Authorization: DPoP` with a
//! proof for that request (`htm`, `htu`, `ath`), signed by that key, fresh (`iat`) and not seen
//! before (`jti`).
//!
//! The `jti` replay cache is per isolate ([`State::dpop_proofs`]): a proof replayed to another
//! isolate or Cloudflare location within its [`MAX_AGE_SECS`] is not detected there. The proof
//! still only works for the same method and URL, with the same access token, for that short
//! time; RFC 9449 §11.1 accepts this trade-off. With `DPOP_NONCES=on` every proof must also
//! carry a server nonce (§8 at /token, §9 at the resource): stateless, an HMAC of the current
//! [`NONCE_WINDOW_SECS`] window, accepted for that window and the one before, so a proof cannot
//! be made ahead of time; a proof without a valid one is refused with `use_dpop_nonce` and a
//! fresh nonce in `DPoP-Nonce`, which every answer to a DPoP request carries.

use super::error::{ErrorCode, OAuthError, OAuthResult};
use crate::crypto::jws::{self, ALGS};
use crate::crypto::{b64, sha256_b64};
use crate::env::{Services, SignatureVerifier};
use crate::state::State;
use crate::urls::{split, Urls};
use crate::web::{self, Request, Response};
use http::{HeaderValue, StatusCode};
use jwt_compact::UntrustedToken;
use serde::Deserialize;
use serde_json::Value;

/// How old a proof may be (its `iat`), and how long its `jti` is remembered.
pub const MAX_AGE_SECS: u64 = 120;
/// How far in the future a proof's `iat` may be (clock skew).
const SKEW_SECS: u64 = 30;
/// A server nonce is issued for a window of this many seconds and accepted in that window and
/// the next (so between 5 and 10 minutes).
pub const NONCE_WINDOW_SECS: u64 = 300;

/// The server nonce of the window `now` is in.
pub fn nonce(secret: &[u8], now: u64) -> String {
    nonce_of(secret, now / NONCE_WINDOW_SECS)
}

fn nonce_of(secret: &[u8], window: u64) -> String {
    let mac = crate::crypto::keyed_mac(secret, "dpop-nonce", &window.to_string());
    format!("{window}.{}", b64(&mac[..18]))
}

/// Whether `nonce` is one this server issued for the current window or the one before.
fn nonce_valid(secret: &[u8], nonce: &str, now: u64) -> bool {
    let Some((window, _)) = nonce.split_once('.') else { return false };
    let Ok(window) = window.parse::<u64>() else { return false };
    let current = now / NONCE_WINDOW_SECS;
    (window == current || window + 1 == current)
        && crate::crypto::constant_time_eq(nonce.as_bytes(), nonce_of(secret, window).as_bytes())
}

/// `res` with a `DPoP-Nonce` header, readable by browsers.
pub fn with_nonce(res: Response, nonce: &str) -> Response {
    web::with_exposed_header(res, "dpop-nonce", nonce)
}

/// The nonce check of a proof when `DPOP_NONCES` is on: `Err(fresh nonce)` when it has none or
/// one that is not (or no longer) ours.
fn check_nonce(state: &State, proof: &Proof, now: u64) -> Result<(), String> {
    if !state.config.dpop_nonces
        || proof.nonce.as_deref().is_some_and(|n| nonce_valid(&state.secret, n, now))
    {
        return Ok(());
    }
    Err(nonce(&state.secret, now))
}

#[derive(Debug, Clone, Deserialize)]
struct ProofHeader {
    jwk: Value,
}

#[derive(Debug, Clone, Deserialize)]
struct ProofClaims {
    jti: String,
    htm: String,
    htu: String,
    #[serde(default)]
    ath: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
}

/// The `DPoP` header's proof: `None` without one; an error when there are several.
fn proof_header(req: &Request) -> Result<Option<&str>, String> {
    let mut values = req.headers().get_all("dpop").iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(v), None) => v.to_str().map(Some).map_err(|_| "the DPoP header is not ASCII".into()),
        _ => Err("more than one DPoP header".into()),
    }
}

/// The URL a proof must name for this request: the public origin and the path (RFC 9449 §4.3:
/// without query and fragment).
fn request_url(req: &Request, urls: &Urls) -> String {
    format!("{}{}", urls.origin, req.uri().path())
}

/// Same scheme, host (both case-insensitively), port and path; query and fragment ignored.
fn same_url(claimed: &str, expected: &str) -> bool {
    let strip = |u: &str| u.split(['?', '#']).next().unwrap_or("").to_owned();
    let (claimed, expected) = (strip(claimed), strip(expected));
    match (split(&claimed), split(&expected)) {
        (Some(a), Some(b)) => {
            a.scheme.eq_ignore_ascii_case(b.scheme)
                && a.userinfo.is_none()
                && a.host.eq_ignore_ascii_case(b.host)
                && a.port == b.port
                && a.rest == b.rest
        }
        _ => false,
    }
}

/// A proof that passed every check but its signature and the replay cache, which `finish`
/// makes (the signature asynchronously, by the injected verifier: on the MCP endpoint that is in
/// phase 2, after the synchronous phase 1 has checked the rest).
#[derive(Debug, Clone, PartialEq)]
pub struct Proof {
    signed: jws::Signed,
    /// The thumbprint of the proof's key.
    jkt: String,
    /// Its replay cache key, and until when it is remembered.
    seen: String,
    until: u64,
    /// The server nonce it carries (RFC 9449 §8), checked when `DPOP_NONCES` is on.
    nonce: Option<String>,
}

/// Checks a proof for `method` and `url` (and `access_token`'s hash, at the resource), all but
/// its signature and the recording of its `jti` ([`finish`]).
fn precheck(
    state: &State,
    proof: &str,
    method: &str,
    url: &str,
    access_token: Option<&str>,
    now: u64,
) -> Result<Proof, String> {
    let token = UntrustedToken::<ProofHeader>::try_from(proof)
        .map_err(|_| "the DPoP proof is not a JWT with a jwk header".to_owned())?;
    if token.header().token_type.as_deref() != Some("dpop+jwt") {
        return Err("the DPoP proof's typ is not dpop+jwt".into());
    }
    if !ALGS.contains(&token.algorithm()) {
        return Err(format!("the DPoP proof's alg must be one of {}", ALGS.join(", ")));
    }
    let jwk = &token.header().other_fields.jwk;
    let jkt = jws::thumbprint(jwk).ok_or("the DPoP proof's jwk is not a public key")?;
    let signed = jws::prepare(proof, &token, jwk)
        .map_err(|e| format!("the DPoP proof does not verify ({e:?})"))?;
    let claims = token
        .deserialize_claims_unchecked::<ProofClaims>()
        .map_err(|_| "the DPoP proof's claims are malformed".to_owned())?;
    let c = &claims.custom;
    if c.htm != method {
        return Err(format!("the DPoP proof's htm is not {method}"));
    }
    if !same_url(&c.htu, url) {
        return Err(format!("the DPoP proof's htu is not {url}"));
    }
    let iat =
        claims.issued_at.map(|t| t.timestamp().max(0) as u64).ok_or("the DPoP proof has no iat")?;
    if iat + MAX_AGE_SECS < now || iat > now + SKEW_SECS {
        return Err("the DPoP proof's iat is not recent".into());
    }
    if let Some(token) = access_token {
        if c.ath.as_deref() != Some(sha256_b64(token).as_str()) {
            return Err("the DPoP proof's ath does not match the access token".into());
        }
    }
    if c.jti.is_empty() || c.jti.len() > 256 {
        return Err("the DPoP proof needs a jti".into());
    }
    let seen = format!("{jkt}:{}", b64(c.jti.as_bytes()));
    // Checked again by `finish`, which records it: this only refuses a replay early.
    if state.dpop_proofs.get(&seen, now).is_some() {
        return Err("the DPoP proof was already used (jti)".into());
    }
    let nonce = c.nonce.clone().filter(|n| n.len() <= 128);
    Ok(Proof { signed, jkt, seen, until: iat + MAX_AGE_SECS + SKEW_SECS, nonce })
}

/// The rest of a [`precheck`]ed proof: its signature, then its `jti` against the isolate's
/// replay cache, where it is recorded. Returns the thumbprint of its key.
async fn finish(
    state: &State,
    verifier: &dyn SignatureVerifier,
    proof: &Proof,
    now: u64,
) -> Result<String, String> {
    proof
        .signed
        .verify(verifier)
        .await
        .map_err(|e| format!("the DPoP proof does not verify ({e:?})"))?;
    // No `await` between this check and the insert: two uses of one proof cannot both pass.
    if state.dpop_proofs.get(&proof.seen, now).is_some() {
        return Err("the DPoP proof was already used (jti)".into());
    }
    state.dpop_proofs.insert(&proof.seen, (), proof.until);
    Ok(proof.jkt.clone())
}

/// At /token: the thumbprint of the key a valid `DPoP` proof was signed with, `None` when the
/// request has no proof (RFC 9449 §5), or 400 `invalid_dpop_proof`.
pub async fn at_token(
    state: &State,
    services: &Services<'_>,
    req: &Request,
    urls: &Urls,
) -> OAuthResult<Option<String>> {
    let invalid = |why: String| OAuthError::new(ErrorCode::InvalidDpopProof, why);
    let Some(proof) = proof_header(req).map_err(invalid)? else {
        return Ok(None);
    };
    let now = services.clock.now();
    let proof =
        precheck(state, proof, "POST", &request_url(req, urls), None, now).map_err(invalid)?;
    if let Err(fresh) = check_nonce(state, &proof, now) {
        let mut e = OAuthError::new(
            ErrorCode::UseDpopNonce,
            "the DPoP proof must carry the nonce this server sent in DPoP-Nonce",
        );
        e.dpop_nonce = Some(fresh);
        return Err(e);
    }
    finish(state, services.verifier, &proof, now).await.map(Some).map_err(invalid)
}

/// At the resource, phase 1 (synchronous): is `req` a use of `access_token`, bound to `jkt`, with
/// a proof for it? Everything is checked but the proof's signature and replay, which
/// [`at_resource_finish`] checks in phase 2.
pub fn at_resource(
    state: &State,
    req: &Request,
    urls: &Urls,
    access_token: &str,
    jkt: &str,
    now: u64,
) -> Result<Proof, Box<Response>> {
    let refuse = |why: String| Box::new(challenge(urls, "invalid_dpop_proof", &why));
    let proof = proof_header(req)
        .map_err(refuse)?
        .ok_or_else(|| refuse("a DPoP proof is required".into()))?;
    let url = request_url(req, urls);
    let proof = precheck(state, proof, req.method().as_str(), &url, Some(access_token), now)
        .map_err(refuse)?;
    if proof.jkt != jkt {
        return Err(refuse("the DPoP proof is not signed by the key the token is bound to".into()));
    }
    if let Err(fresh) = check_nonce(state, &proof, now) {
        let why = "the DPoP proof must carry the nonce this server sent in DPoP-Nonce";
        return Err(Box::new(with_nonce(challenge(urls, "use_dpop_nonce", why), &fresh)));
    }
    Ok(proof)
}

/// At the resource, phase 2: the signature and replay checks of a proof [`at_resource`] passed.
pub async fn at_resource_finish(
    state: &State,
    services: &Services<'_>,
    urls: &Urls,
    proof: &Proof,
) -> Result<(), Box<Response>> {
    finish(state, services.verifier, proof, services.clock.now())
        .await
        .map(|_| ())
        .map_err(|why| Box::new(challenge(urls, "invalid_dpop_proof", &why)))
}

/// 401 with a `DPoP` challenge (RFC 9449 §7.1): the error, the algorithms accepted, and where
/// the resource's metadata is (RFC 9728 §5.1).
pub fn challenge(urls: &Urls, error: &str, description: &str) -> Response {
    let value = format!(
        r#"DPoP algs="{}", resource_metadata="{}", error="{error}", error_description="{}""#,
        ALGS.join(" "),
        urls.resource_metadata,
        description.replace(['"', '\\'], "'")
    );
    let mut res = web::error(StatusCode::UNAUTHORIZED, error, description);
    if let Ok(v) = HeaderValue::from_str(&value) {
        res.headers_mut().insert(http::header::WWW_AUTHENTICATE, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::{nonce, nonce_valid, same_url, NONCE_WINDOW_SECS};

    #[test]
    fn nonces_are_ours_and_live_two_windows() {
        let (k, t) = (b"secret".as_slice(), 1_000 * NONCE_WINDOW_SECS + 7);
        let n = nonce(k, t);
        assert!(nonce_valid(k, &n, t));
        assert!(nonce_valid(k, &n, t + NONCE_WINDOW_SECS), "the next window still takes it");
        assert!(!nonce_valid(k, &n, t + 2 * NONCE_WINDOW_SECS), "then it is stale");
        assert!(!nonce_valid(k, &nonce(k, t + NONCE_WINDOW_SECS), t), "not from the future");
        assert!(!nonce_valid(b"other", &n, t), "another server's");
        for bad in
            ["", "1000", "1000.", "x.y", "1000.AAAAAAAAAAAAAAAAAAAAAAAA", "99999999999999999999.x"]
        {
            assert!(!nonce_valid(k, bad, t), "{bad:?}");
        }
    }

    #[test]
    fn htu_compares_scheme_host_port_and_path_only() {
        let u = "https://mcp.example.com/mcp";
        assert!(same_url("https://mcp.example.com/mcp", u));
        assert!(same_url("HTTPS://MCP.example.com/mcp?x=1#f", u));
        for bad in [
            "https://mcp.example.com/mcp/",
            "https://mcp.example.com/MCP",
            "http://mcp.example.com/mcp",
            "https://mcp.example.com:8443/mcp",
            "https://evil.example/mcp",
            "https://u@mcp.example.com/mcp",
            "/mcp",
            "",
        ] {
            assert!(!same_url(bad, u), "{bad}");
        }
    }
}
