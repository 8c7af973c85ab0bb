//! JWT access tokens (RFC 9068) signed with Ed25519 (`EdDSA`), and the key set behind them.
//!
//! The first key signs; every key is published at the JWKS endpoint so tokens signed by a key
//! being rotated out keep verifying until they expire.

use crate::crypto::{b64, unb64};
use chrono::{DateTime, Utc};
use ed25519_compact::{KeyPair, PublicKey, SecretKey, Seed};
use jwt_compact::alg::Ed25519;
use jwt_compact::{AlgorithmExt, Claims, Header, TimeOptions, UntrustedToken};
use serde::{Deserialize, Serialize};

/// Seconds of clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECS: i64 = 30;

/// The claims of our access tokens besides `exp` / `iat` (which jwt-compact manages).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub scope: String,
    pub jti: String,
    /// The user's display name, so tools can greet them without a lookup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The grant the token was issued from: revoking the grant ends its access tokens within
    /// `state::GRANT_RECHECK_SECS` (tokens issued before this claim existed lack it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
    /// RFC 9449 §6.1: the key a DPoP-bound token is bound to (`{"jkt": thumbprint}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// The confirmation claim (RFC 7800) of a DPoP-bound access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    pub jkt: String,
}

struct Key {
    kid: String,
    secret: SecretKey,
    public: PublicKey,
}

pub struct KeySet {
    keys: Vec<Key>,
}

/// Why a token was refused. All map to 401 `invalid_token`; the detail goes to the log only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    Malformed,
    UnknownKey,
    BadSignature,
    Expired,
    NotYetValid,
    WrongIssuer,
    WrongAudience,
}

pub fn decode_seed(text: &str) -> Option<[u8; 32]> {
    unb64(text).and_then(|v| v.try_into().ok())
}

fn at(secs: u64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs.min(i64::MAX as u64 / 2) as i64, 0).unwrap_or_default()
}

impl KeySet {
    /// Builds the set from `(kid, seed)` pairs; the first signs.
    pub fn from_seeds(seeds: &[(String, [u8; 32])]) -> KeySet {
        let keys = seeds
            .iter()
            .map(|(kid, seed)| {
                let pair = KeyPair::from_seed(Seed::new(*seed));
                Key { kid: kid.clone(), secret: pair.sk, public: pair.pk }
            })
            .collect();
        KeySet { keys }
    }

    /// The public keys as a JWK Set (RFC 7517).
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<_> = self
            .keys
            .iter()
            .map(|k| {
                serde_json::json!({
                    "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA",
                    "kid": k.kid, "x": b64(k.public.as_ref()),
                })
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// Signs an access token valid from `now` for `ttl` seconds.
    pub fn sign(&self, claims: AccessClaims, now: u64, ttl: u64) -> Option<String> {
        let key = self.keys.first()?;
        let header = Header::empty().with_key_id(key.kid.clone()).with_token_type("at+jwt");
        let mut claims = Claims::new(claims);
        claims.issued_at = Some(at(now));
        claims.expiration = Some(at(now + ttl));
        Ed25519.token(&header, &claims, &key.secret).ok()
    }

    /// Verifies signature, `typ`, `exp`, `nbf`, `iss` and audience; returns the claims.
    pub fn verify(
        &self,
        token: &str,
        now: u64,
        issuer: &str,
        resource: &str,
    ) -> Result<AccessClaims, TokenError> {
        self.verify_with_expiry(token, now, issuer, resource).map(|(claims, _)| claims)
    }

    /// [`KeySet::verify`], also returning `exp` (Unix seconds), for callers that cache.
    pub fn verify_with_expiry(
        &self,
        token: &str,
        now: u64,
        issuer: &str,
        resource: &str,
    ) -> Result<(AccessClaims, u64), TokenError> {
        let untrusted = UntrustedToken::new(token).map_err(|_| TokenError::Malformed)?;
        if untrusted.header().token_type.as_deref() != Some("at+jwt") {
            return Err(TokenError::Malformed);
        }
        let kid = untrusted.header().key_id.as_deref().ok_or(TokenError::UnknownKey)?;
        let key = self.keys.iter().find(|k| k.kid == kid).ok_or(TokenError::UnknownKey)?;
        let token = Ed25519.validator::<AccessClaims>(&key.public).validate(&untrusted).map_err(
            |e| match e {
                jwt_compact::ValidationError::AlgorithmMismatch { .. }
                | jwt_compact::ValidationError::InvalidSignature
                | jwt_compact::ValidationError::InvalidSignatureLen { .. }
                | jwt_compact::ValidationError::MalformedSignature(_) => TokenError::BadSignature,
                _ => TokenError::Malformed,
            },
        )?;
        let options = TimeOptions::new(chrono::Duration::seconds(LEEWAY_SECS), move || at(now));
        let claims = token.claims();
        claims.validate_expiration(&options).map_err(|e| match e {
            jwt_compact::ValidationError::NoClaim(_) => TokenError::Malformed,
            _ => TokenError::Expired,
        })?;
        if claims.not_before.is_some() {
            claims.validate_maturity(&options).map_err(|_| TokenError::NotYetValid)?;
        }
        if claims.issued_at.is_some_and(|iat| iat > at(now + LEEWAY_SECS as u64)) {
            return Err(TokenError::NotYetValid);
        }
        let custom = &claims.custom;
        if custom.iss != issuer {
            return Err(TokenError::WrongIssuer);
        }
        if !crate::urls::audience_covers(&custom.aud, resource) {
            return Err(TokenError::WrongAudience);
        }
        let exp = claims.expiration.map(|e| e.timestamp().max(0) as u64).unwrap_or(0);
        Ok((custom.clone(), exp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> KeySet {
        KeySet::from_seeds(&[("k2".into(), [2; 32]), ("k1".into(), [1; 32])])
    }

    fn claims() -> AccessClaims {
        AccessClaims {
            iss: "https://as.example".into(),
            sub: "user-alice".into(),
            aud: "https://as.example/mcp".into(),
            client_id: "c1".into(),
            scope: "mcp".into(),
            jti: "j1".into(),
            name: Some("Alice".into()),
            gid: None,
            cnf: None,
        }
    }

    const NOW: u64 = 1_800_000_000;

    #[test]
    fn signed_tokens_verify_and_expire() {
        let k = keys();
        let t = k.sign(claims(), NOW, 3600).unwrap();
        assert_eq!(
            k.verify(&t, NOW + 10, "https://as.example", "https://as.example/mcp"),
            Ok(claims())
        );
        assert_eq!(
            k.verify(&t, NOW + 3600 + 31, "https://as.example", "https://as.example/mcp"),
            Err(TokenError::Expired)
        );
        assert_eq!(
            k.verify(&t, NOW - 3600, "https://as.example", "https://as.example/mcp"),
            Err(TokenError::NotYetValid)
        );
    }

    #[test]
    fn wrong_issuer_audience_and_key_are_refused() {
        let k = keys();
        let t = k.sign(claims(), NOW, 3600).unwrap();
        assert_eq!(
            k.verify(&t, NOW, "https://evil.example", "https://as.example/mcp"),
            Err(TokenError::WrongIssuer)
        );
        assert_eq!(
            k.verify(&t, NOW, "https://as.example", "https://as.example/other"),
            Err(TokenError::WrongAudience)
        );
        let other = KeySet::from_seeds(&[("k2".into(), [9; 32])]);
        assert_eq!(
            other.verify(&t, NOW, "https://as.example", "https://as.example/mcp"),
            Err(TokenError::BadSignature)
        );
        let rotated = KeySet::from_seeds(&[("k3".into(), [3; 32])]);
        assert_eq!(
            rotated.verify(&t, NOW, "https://as.example", "https://as.example/mcp"),
            Err(TokenError::UnknownKey)
        );
    }

    #[test]
    fn old_keys_still_verify_after_rotation() {
        let old = KeySet::from_seeds(&[("k1".into(), [1; 32])]);
        let t = old.sign(claims(), NOW, 3600).unwrap();
        assert!(keys().verify(&t, NOW, "https://as.example", "https://as.example/mcp").is_ok());
        assert_eq!(keys().jwks()["keys"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn garbage_and_alg_none_are_refused() {
        let k = keys();
        for bad in [
            "",
            "a.b.c",
            "x",
            "....",
            "eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0Iiwia2lkIjoiazIifQ.e30.",
        ] {
            assert!(
                k.verify(bad, NOW, "https://as.example", "https://as.example/mcp").is_err(),
                "{bad}"
            );
        }
        // A validly signed token with its header swapped for alg=none.
        let t = k.sign(claims(), NOW, 3600).unwrap();
        let (_, rest) = t.split_once('.').unwrap();
        let none = format!("{}.{rest}", b64(br#"{"alg":"none","typ":"at+jwt","kid":"k2"}"#));
        assert!(k.verify(&none, NOW, "https://as.example", "https://as.example/mcp").is_err());
        let hs = format!("{}.{rest}", b64(br#"{"alg":"HS256","typ":"at+jwt","kid":"k2"}"#));
        assert!(k.verify(&hs, NOW, "https://as.example", "https://as.example/mcp").is_err());
        // Key confusion: HS256 with the *public* key as the HMAC secret, correctly computed.
        use hmac::Mac;
        let public = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([2; 32])).pk;
        let (head, body) =
            (b64(br#"{"alg":"HS256","typ":"at+jwt","kid":"k2"}"#), rest.split('.').next().unwrap());
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(public.as_ref()).unwrap();
        mac.update(format!("{head}.{body}").as_bytes());
        let forged = format!("{head}.{body}.{}", b64(&mac.finalize().into_bytes()));
        assert_eq!(
            k.verify(&forged, NOW, "https://as.example", "https://as.example/mcp"),
            Err(TokenError::BadSignature)
        );
        // Truncated signature.
        assert!(k
            .verify(&t[..t.len() - 5], NOW, "https://as.example", "https://as.example/mcp")
            .is_err());
    }
}
