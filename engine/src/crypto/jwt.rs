//! JWT access tokens (RFC 9068) signed with Ed25519 (`EdDSA`), and the key set behind them.
//!
//! The first key signs; every key is published at the JWKS endpoint so tokens signed by a key
//! being rotated out keep verifying until they expire.

use crate::crypto::{b64, unb64};
use crate::env::{CryptoError, SigAlg, SignatureVerifier, Signer};
use chrono::{DateTime, Utc};
use jwt_compact::{Claims, TimeOptions, UntrustedToken};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

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
    seed: [u8; 32],
    /// The public key as a JWK (`kty`, `crv`, `x`), as the verifier takes it.
    public: Value,
    /// The encoded JOSE header of the tokens this key signs (the same for every token).
    header: String,
}

/// Our signing keys. The signatures themselves are the injected [`Signer`]'s and
/// [`SignatureVerifier`]'s (the runtime's WebCrypto on Workers: no Ed25519 code in the wasm).
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

/// A token whose header and claims passed every check ([`KeySet::check_claims`]), its signature
/// still to verify ([`KeySet::check_signature`]): nothing may act on `claims` before that.
#[derive(Debug, Clone, PartialEq)]
pub struct Unverified {
    pub claims: AccessClaims,
    /// `exp`, Unix seconds (for callers that cache).
    pub exp: u64,
    /// The token as presented (what a cache of verified tokens is keyed by).
    pub token: String,
    key: usize,
    signature: Vec<u8>,
}

pub fn decode_seed(text: &str) -> Option<[u8; 32]> {
    unb64(text).and_then(|v| v.try_into().ok())
}

fn at(secs: u64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs.min(i64::MAX as u64 / 2) as i64, 0).unwrap_or_default()
}

impl KeySet {
    /// Builds the set from `(kid, seed)` pairs; the first signs. Derives each public key once.
    pub async fn new(
        seeds: &[(String, [u8; 32])],
        signer: &dyn Signer,
    ) -> Result<KeySet, CryptoError> {
        let mut keys = Vec::with_capacity(seeds.len());
        for (kid, seed) in seeds {
            let x = signer.ed25519_public_key(seed).await?;
            let public = json!({ "kty": "OKP", "crv": "Ed25519", "x": b64(&x) });
            let header = json!({ "alg": "EdDSA", "kid": kid, "typ": "at+jwt" });
            let header = b64(header.to_string().as_bytes());
            keys.push(Key { kid: kid.clone(), seed: *seed, public, header });
        }
        Ok(KeySet { keys })
    }

    /// The public keys as a JWK Set (RFC 7517).
    pub fn jwks(&self) -> Value {
        let keys: Vec<_> = self
            .keys
            .iter()
            .map(|k| {
                json!({
                    "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA",
                    "kid": k.kid, "x": k.public["x"],
                })
            })
            .collect();
        json!({ "keys": keys })
    }

    /// Signs an access token valid from `now` for `ttl` seconds (`None` without a key or when
    /// the signer fails).
    pub async fn sign(
        &self,
        signer: &dyn Signer,
        claims: AccessClaims,
        now: u64,
        ttl: u64,
    ) -> Option<String> {
        let key = self.keys.first()?;
        let mut claims = Claims::new(claims);
        claims.issued_at = Some(at(now));
        claims.expiration = Some(at(now + ttl));
        let signing_input = format!("{}.{}", key.header, b64(&serde_json::to_vec(&claims).ok()?));
        match signer.ed25519_sign(&key.seed, signing_input.as_bytes()).await {
            Ok(signature) => Some(format!("{signing_input}.{}", b64(&signature))),
            Err(e) => {
                log::warn!("signing an access token failed: {}", e.0);
                None
            }
        }
    }

    /// Verifies signature, `typ`, `exp`, `nbf`, `iss` and audience; returns the claims.
    pub async fn verify(
        &self,
        verifier: &dyn SignatureVerifier,
        token: &str,
        now: u64,
        issuer: &str,
        resource: &str,
    ) -> Result<AccessClaims, TokenError> {
        let unverified = self.check_claims(token, now, issuer, resource)?;
        self.check_signature(verifier, &unverified).await?;
        Ok(unverified.claims)
    }

    /// Everything [`KeySet::verify`] checks but the signature: `alg`, `typ`, `kid`, `exp`,
    /// `nbf`, `iat`, `iss` and audience.
    pub fn check_claims(
        &self,
        token: &str,
        now: u64,
        issuer: &str,
        resource: &str,
    ) -> Result<Unverified, TokenError> {
        let untrusted = UntrustedToken::new(token).map_err(|_| TokenError::Malformed)?;
        if untrusted.algorithm() != "EdDSA" {
            return Err(TokenError::BadSignature);
        }
        if untrusted.header().token_type.as_deref() != Some("at+jwt") {
            return Err(TokenError::Malformed);
        }
        let kid = untrusted.header().key_id.as_deref().ok_or(TokenError::UnknownKey)?;
        let key = self.keys.iter().position(|k| k.kid == kid).ok_or(TokenError::UnknownKey)?;
        if untrusted.signature_bytes().len() != 64 {
            return Err(TokenError::BadSignature);
        }
        let claims = untrusted
            .deserialize_claims_unchecked::<AccessClaims>()
            .map_err(|_| TokenError::Malformed)?;
        let options = TimeOptions::new(chrono::Duration::seconds(LEEWAY_SECS), move || at(now));
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
        if claims.custom.iss != issuer {
            return Err(TokenError::WrongIssuer);
        }
        if !crate::urls::audience_covers(&claims.custom.aud, resource) {
            return Err(TokenError::WrongAudience);
        }
        let exp = claims.expiration.map(|e| e.timestamp().max(0) as u64).unwrap_or(0);
        Ok(Unverified {
            claims: claims.custom,
            exp,
            token: token.to_owned(),
            key,
            signature: untrusted.signature_bytes().to_vec(),
        })
    }

    /// The signature of a token [`KeySet::check_claims`] passed.
    pub async fn check_signature(
        &self,
        verifier: &dyn SignatureVerifier,
        token: &Unverified,
    ) -> Result<(), TokenError> {
        let key = self.keys.get(token.key).ok_or(TokenError::UnknownKey)?;
        // `check_claims` parsed it: header.claims.signature.
        let input = token.token.rsplit_once('.').map(|(input, _)| input).unwrap_or_default();
        let input = input.as_bytes();
        match verifier.verify(SigAlg::EdDsa, &key.public, input, &token.signature).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(TokenError::BadSignature),
            Err(e) => {
                log::warn!("our own key could not verify: {}", e.0);
                Err(TokenError::BadSignature)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::RustCrypto;
    use futures::executor::block_on;

    fn set(seeds: &[(&str, u8)]) -> KeySet {
        let seeds: Vec<_> = seeds.iter().map(|(kid, b)| (kid.to_string(), [*b; 32])).collect();
        block_on(KeySet::new(&seeds, &RustCrypto)).unwrap()
    }

    fn keys() -> KeySet {
        set(&[("k2", 2), ("k1", 1)])
    }

    impl KeySet {
        fn sign_now(&self, claims: AccessClaims, now: u64, ttl: u64) -> Option<String> {
            block_on(self.sign(&RustCrypto, claims, now, ttl))
        }
        fn verify_now(
            &self,
            token: &str,
            now: u64,
            issuer: &str,
            resource: &str,
        ) -> Result<AccessClaims, TokenError> {
            block_on(self.verify(&RustCrypto, token, now, issuer, resource))
        }
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
        let t = k.sign_now(claims(), NOW, 3600).unwrap();
        assert_eq!(
            k.verify_now(&t, NOW + 10, "https://as.example", "https://as.example/mcp"),
            Ok(claims())
        );
        assert_eq!(
            k.verify_now(&t, NOW + 3600 + 31, "https://as.example", "https://as.example/mcp"),
            Err(TokenError::Expired)
        );
        assert_eq!(
            k.verify_now(&t, NOW - 3600, "https://as.example", "https://as.example/mcp"),
            Err(TokenError::NotYetValid)
        );
    }

    #[test]
    fn wrong_issuer_audience_and_key_are_refused() {
        let k = keys();
        let t = k.sign_now(claims(), NOW, 3600).unwrap();
        assert_eq!(
            k.verify_now(&t, NOW, "https://evil.example", "https://as.example/mcp"),
            Err(TokenError::WrongIssuer)
        );
        assert_eq!(
            k.verify_now(&t, NOW, "https://as.example", "https://as.example/other"),
            Err(TokenError::WrongAudience)
        );
        let other = set(&[("k2", 9)]);
        assert_eq!(
            other.verify_now(&t, NOW, "https://as.example", "https://as.example/mcp"),
            Err(TokenError::BadSignature)
        );
        let rotated = set(&[("k3", 3)]);
        assert_eq!(
            rotated.verify_now(&t, NOW, "https://as.example", "https://as.example/mcp"),
            Err(TokenError::UnknownKey)
        );
    }

    #[test]
    fn old_keys_still_verify_after_rotation() {
        let old = set(&[("k1", 1)]);
        let t = old.sign_now(claims(), NOW, 3600).unwrap();
        assert!(keys().verify_now(&t, NOW, "https://as.example", "https://as.example/mcp").is_ok());
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
                k.verify_now(bad, NOW, "https://as.example", "https://as.example/mcp").is_err(),
                "{bad}"
            );
        }
        // A validly signed token with its header swapped for alg=none.
        let t = k.sign_now(claims(), NOW, 3600).unwrap();
        let (_, rest) = t.split_once('.').unwrap();
        let none = format!("{}.{rest}", b64(br#"{"alg":"none","typ":"at+jwt","kid":"k2"}"#));
        assert!(k.verify_now(&none, NOW, "https://as.example", "https://as.example/mcp").is_err());
        let hs = format!("{}.{rest}", b64(br#"{"alg":"HS256","typ":"at+jwt","kid":"k2"}"#));
        assert!(k.verify_now(&hs, NOW, "https://as.example", "https://as.example/mcp").is_err());
        // Key confusion: HS256 with the *public* key as the HMAC secret, correctly computed.
        use hmac::Mac;
        let public = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([2; 32])).pk;
        let (head, body) =
            (b64(br#"{"alg":"HS256","typ":"at+jwt","kid":"k2"}"#), rest.split('.').next().unwrap());
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(public.as_ref()).unwrap();
        mac.update(format!("{head}.{body}").as_bytes());
        let forged = format!("{head}.{body}.{}", b64(&mac.finalize().into_bytes()));
        assert_eq!(
            k.verify_now(&forged, NOW, "https://as.example", "https://as.example/mcp"),
            Err(TokenError::BadSignature)
        );
        // Truncated signature.
        assert!(k
            .verify_now(&t[..t.len() - 5], NOW, "https://as.example", "https://as.example/mcp")
            .is_err());
    }
}
