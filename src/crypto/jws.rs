//! JWS compact tokens signed by others, verified with their public JWK: client assertions
//! (RFC 7523) and DPoP proofs (RFC 9449). ES256 and RS256 only (RSA keys of 2048 bits or more);
//! the algorithm comes from the key's type, never the other way round, so a header cannot pick
//! `none`, HMAC or another curve. Also the RFC 7638 thumbprint of a key.

use jwt_compact::alg::{Es256, Rsa, RsaPublicKey};
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::{AlgorithmExt, Claims, UntrustedToken};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The signature algorithms accepted from clients, as advertised.
pub const ALGS: &[&str] = &["ES256", "RS256"];

/// Why a token was refused (the caller words the error for its protocol).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwsError {
    Malformed,
    /// Not ES256 or RS256, or not what the key is for.
    Algorithm,
    /// A key that is not a usable public key (private members, wrong curve, short RSA).
    Key,
    BadSignature,
}

/// A public key from a JWK: `None` for private or symmetric keys and anything unparseable.
pub fn public_jwk(jwk: &Value) -> Option<JsonWebKey<'static>> {
    let obj = jwk.as_object()?;
    if ["d", "p", "q", "dp", "dq", "qi", "oth", "k"].iter().any(|m| obj.contains_key(*m)) {
        return None;
    }
    serde_json::from_value(jwk.clone()).ok()
}

/// The RFC 7638 SHA-256 thumbprint of a public JWK, base64url (DPoP's `jkt`).
pub fn thumbprint(jwk: &Value) -> Option<String> {
    public_jwk(jwk).map(|k| crate::crypto::b64(&k.thumbprint::<sha2::Sha256>()))
}

/// Is `jwk` a key that `alg` (as named in a JWS header) can be verified with?
fn alg_fits(jwk: &Value, alg: &str) -> bool {
    let member = |m: &str| jwk.get(m).and_then(Value::as_str);
    let kty_ok = match alg {
        "ES256" => member("kty") == Some("EC") && member("crv") == Some("P-256"),
        "RS256" => member("kty") == Some("RSA"),
        _ => false,
    };
    kty_ok && member("alg").is_none_or(|a| a == alg) && member("use").is_none_or(|u| u == "sig")
}

/// The keys of a JWK Set that could have signed `token` (matching `kid` when it names one).
pub fn candidates<'a>(jwks: &'a Value, alg: &str, kid: Option<&str>) -> Vec<&'a Value> {
    let keys = jwks.get("keys").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    keys.iter()
        .filter(|k| alg_fits(k, alg))
        .filter(|k| kid.is_none_or(|kid| k.get("kid").and_then(Value::as_str) == Some(kid)))
        .collect()
}

/// Verifies the signature of `token` with `jwk`; returns its claims (time claims unchecked).
pub fn verify<T: DeserializeOwned + Clone, H: Clone>(
    token: &UntrustedToken<'_, H>,
    jwk: &Value,
) -> Result<Claims<T>, JwsError> {
    let alg = token.algorithm();
    if !ALGS.contains(&alg) {
        return Err(JwsError::Algorithm);
    }
    if !alg_fits(jwk, alg) {
        return Err(JwsError::Algorithm);
    }
    let key = public_jwk(jwk).ok_or(JwsError::Key)?;
    let result = match alg {
        "ES256" => {
            let key = <p256_key::VerifyingKey>::try_from(&key).map_err(|_| JwsError::Key)?;
            Es256.validator::<T>(&key).validate(token).map(|t| t.claims().clone())
        }
        _ => {
            if let JsonWebKey::Rsa { modulus, .. } = &key {
                // Leading zero bytes do not count toward the size.
                let bits = modulus.iter().skip_while(|b| **b == 0).count() * 8;
                if bits < 2048 {
                    return Err(JwsError::Key);
                }
            }
            let key = RsaPublicKey::try_from(&key).map_err(|_| JwsError::Key)?;
            Rsa::rs256().validator::<T>(&key).validate(token).map(|t| t.claims().clone())
        }
    };
    result.map_err(|e| match e {
        jwt_compact::ValidationError::AlgorithmMismatch { .. } => JwsError::Algorithm,
        jwt_compact::ValidationError::MalformedClaims(_) => JwsError::Malformed,
        _ => JwsError::BadSignature,
    })
}

/// The `p256` crate's verifying key as jwt-compact re-exports it.
mod p256_key {
    pub(super) type VerifyingKey =
        <jwt_compact::alg::Es256 as jwt_compact::Algorithm>::VerifyingKey;
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use jwt_compact::Header;
    use serde_json::json;

    /// A fixed P-256 key pair for tests: (private JWK, public JWK).
    pub(crate) fn es256_pair(seed: u8) -> (<Es256 as jwt_compact::Algorithm>::SigningKey, Value) {
        let sk = <Es256 as jwt_compact::Algorithm>::SigningKey::from_slice(&[seed; 32])
            .unwrap_or_else(|e| panic!("{e}"));
        let jwk = serde_json::to_value(JsonWebKey::from(sk.verifying_key())).unwrap_or_default();
        (sk, jwk)
    }

    fn sign_es256(sk: &<Es256 as jwt_compact::Algorithm>::SigningKey, claims: Value) -> String {
        let claims = Claims::new(claims);
        Es256.token(&Header::empty(), &claims, sk).unwrap_or_default()
    }

    #[test]
    fn es256_verifies_and_refuses_other_keys_and_algorithms() {
        let (sk, jwk) = es256_pair(7);
        let (_, other) = es256_pair(8);
        let token = sign_es256(&sk, json!({"a": 1}));
        let untrusted = UntrustedToken::new(&token).unwrap_or_else(|e| panic!("{e}"));
        let claims: Claims<Value> = verify(&untrusted, &jwk).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(claims.custom["a"], 1);
        assert_eq!(verify::<Value, _>(&untrusted, &other).err(), Some(JwsError::BadSignature));
        // An RSA key cannot verify an ES256 token, whatever it claims.
        let rsa = json!({"kty": "RSA", "n": "AQAB", "e": "AQAB", "alg": "ES256"});
        assert_eq!(verify::<Value, _>(&untrusted, &rsa).err(), Some(JwsError::Algorithm));
        // Private members are never accepted as a verification key.
        let mut private = jwk.clone();
        private["d"] = json!("AAAA");
        assert_eq!(verify::<Value, _>(&untrusted, &private).err(), Some(JwsError::Key));
        // alg=none and HS256 headers are refused.
        let (_, rest) = token.split_once('.').unwrap_or_default();
        for header in [r#"{"alg":"none"}"#, r#"{"alg":"HS256"}"#, r#"{"alg":"ES384"}"#] {
            let forged = format!("{}.{rest}", crate::crypto::b64(header.as_bytes()));
            let untrusted = UntrustedToken::new(&forged).unwrap_or_else(|e| panic!("{e}"));
            assert!(verify::<Value, _>(&untrusted, &jwk).is_err(), "{header}");
        }
    }

    #[test]
    fn thumbprints_follow_rfc_7638() {
        // RFC 7638 §3.1's example key and thumbprint.
        let jwk = json!({"kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"});
        assert_eq!(
            thumbprint(&jwk).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }
}
