//! The resource server's side of OAuth: reading and verifying bearer tokens on `/mcp`
//! (RFC 6750, RFC 9068, RFC 9728 §5.1), and the `WWW-Authenticate` challenges.

use super::dpop;
use crate::config::SCOPE_MCP;
use crate::crypto::jwt::{AccessClaims, Unverified, LEEWAY_SECS};
use crate::env::{Clock, SignatureVerifier};
use crate::state::State;
use crate::urls::audience_covers;
use crate::urls::Urls;
use crate::web::{self, request_header, Request, Response};
use http::{HeaderValue, StatusCode};

/// What phase 1 made of a request's bearer token: its claims, with what phase 2 must still
/// verify before anything acts on them: the token's signature unless this isolate verified it
/// before ([`finish`]), and the DPoP proof of a bound token ([`dpop::at_resource_finish`]).
#[derive(Debug, PartialEq)]
pub struct Bearer {
    pub claims: AccessClaims,
    /// A token new to this isolate: its signature, then what its claims decide (`decide`:
    /// the DPoP binding, the base scope), wait for phase 2, so that a forged token is
    /// `invalid_token` whatever its claims say.
    pub signature: Option<Box<Unverified>>,
    /// Sent with the `DPoP` scheme.
    pub dpop_scheme: bool,
    pub dpop: Option<dpop::Proof>,
}

/// Phase 1 of a bearer token: everything but the signatures (see [`Bearer`]), or the 401/403 to
/// send back.
pub fn authenticate(
    state: &State,
    req: &Request,
    urls: &Urls,
    clock: &dyn Clock,
) -> Result<Bearer, Box<Response>> {
    let Some(auth) = request_header(req, "authorization") else {
        // The most common 401 (every client's first request) is the same for every request to
        // an origin: built once.
        return Err(Box::new(
            state.memo_response(&format!("401|{}", urls.resource_metadata), || {
                challenge(urls, StatusCode::UNAUTHORIZED, None, "no bearer token")
            }),
        ));
    };
    let (dpop_scheme, token) = match auth.split_once(' ') {
        Some((scheme, token))
            if (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("dpop"))
                && !token.trim().is_empty() =>
        {
            (scheme.eq_ignore_ascii_case("dpop"), token.trim())
        }
        _ => {
            return Err(Box::new(challenge(
                urls,
                StatusCode::UNAUTHORIZED,
                Some("invalid_request"),
                "expected `Authorization: Bearer <token>`",
            )))
        }
    };
    let now = clock.now();
    let cached = state
        .verified_tokens
        .get(token, now)
        .filter(|c| c.iss == urls.issuer && audience_covers(&c.aud, &urls.resource));
    let Some(claims) = cached else {
        let unverified =
            state.keys.check_claims(token, now, &urls.issuer, &urls.resource).map_err(|e| {
                log::warn!("bearer token refused: {e:?}");
                Box::new(invalid_token(urls))
            })?;
        let claims = unverified.claims.clone();
        return Ok(Bearer {
            claims,
            signature: Some(Box::new(unverified)),
            dpop_scheme,
            dpop: None,
        });
    };
    let dpop = decide(state, req, urls, token, dpop_scheme, &claims, now)?;
    Ok(Bearer { claims, signature: None, dpop_scheme, dpop })
}

/// What a verified token's claims decide: the DPoP binding (the proof whose signature phase 2
/// checks), and that the token carries the base `mcp` scope.
fn decide(
    state: &State,
    req: &Request,
    urls: &Urls,
    token: &str,
    dpop_scheme: bool,
    claims: &AccessClaims,
    now: u64,
) -> Result<Option<dpop::Proof>, Box<Response>> {
    // RFC 9449 §7: a DPoP-bound token only with its proof, never as a bearer token.
    let proof = match (&claims.cnf, dpop_scheme) {
        (Some(cnf), true) => Some(dpop::at_resource(state, req, urls, token, &cnf.jkt, now)?),
        (Some(_), false) => return Err(Box::new(dpop::challenge(
            urls,
            "invalid_token",
            "this access token is DPoP-bound: send it as `Authorization: DPoP` with a DPoP proof",
        ))),
        (None, true) => {
            return Err(Box::new(dpop::challenge(
                urls,
                "invalid_token",
                "this access token is not DPoP-bound: send it as `Authorization: Bearer`",
            )))
        }
        (None, false) => None,
    };
    if !claims.scope.split(' ').any(|s| s == SCOPE_MCP) {
        return Err(Box::new(insufficient_scope(urls, SCOPE_MCP)));
    }
    Ok(proof)
}

/// Phase 2 of a token [`authenticate`] had not seen: its signature, then what its claims decide
/// (`decide`). A verified token is remembered in this isolate until it expires.
pub async fn finish(
    state: &State,
    verifier: &dyn SignatureVerifier,
    req: &Request,
    urls: &Urls,
    now: u64,
    bearer: &mut Bearer,
) -> Result<(), Box<Response>> {
    let Some(token) = bearer.signature.take() else { return Ok(()) };
    if let Err(e) = state.keys.check_signature(verifier, &token).await {
        log::warn!("bearer token refused: {e:?}");
        return Err(Box::new(invalid_token(urls)));
    }
    let expires = token.exp + LEEWAY_SECS as u64;
    state.verified_tokens.insert(&token.token, token.claims.clone(), expires);
    bearer.dpop = decide(state, req, urls, &token.token, bearer.dpop_scheme, &token.claims, now)?;
    Ok(())
}

fn invalid_token(urls: &Urls) -> Response {
    challenge(
        urls,
        StatusCode::UNAUTHORIZED,
        Some("invalid_token"),
        "the access token is invalid or expired",
    )
}

/// 401 `invalid_token` for a token whose grant was revoked.
pub fn revoked(urls: &Urls) -> Response {
    challenge(urls, StatusCode::UNAUTHORIZED, Some("invalid_token"), "the access was revoked")
}

/// 403 `insufficient_scope` for a call that needs `scope` (one or more, space-separated): the
/// challenge names every scope the call needs, the base `mcp` scope included, so a client
/// that asks for exactly those gets a token that works (step-up authorization).
pub fn insufficient_scope(urls: &Urls, scope: &str) -> Response {
    let needed = crate::config::scope_list(&format!("{SCOPE_MCP} {scope}")).join(" ");
    challenge_with_scope(
        urls,
        StatusCode::FORBIDDEN,
        Some("insufficient_scope"),
        &format!("this call needs the scopes `{needed}`"),
        &needed,
    )
}

fn challenge(urls: &Urls, status: StatusCode, error: Option<&str>, description: &str) -> Response {
    challenge_with_scope(urls, status, error, description, SCOPE_MCP)
}

fn challenge_with_scope(
    urls: &Urls,
    status: StatusCode,
    error: Option<&str>,
    description: &str,
    scope: &str,
) -> Response {
    let mut value = format!(
        r#"Bearer realm="mcp-edge", resource_metadata="{}", scope="{scope}""#,
        urls.resource_metadata
    );
    if let Some(e) = error {
        value.push_str(&format!(r#", error="{e}", error_description="{description}""#));
    }
    let mut res = web::error(status, error.unwrap_or("unauthorized"), description);
    if let Ok(v) = HeaderValue::from_str(&value) {
        res.headers_mut().insert(http::header::WWW_AUTHENTICATE, v);
    }
    res
}
