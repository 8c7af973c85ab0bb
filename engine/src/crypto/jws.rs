//! JWS compact tokens signed by others, verified with their public JWK: client assertions
//! (RFC 7523) and DPoP proofs (RFC 9449). ES256 and RS256 only (RSA keys of 2048 bits or more);
//! the algorithm comes from the key's type, never the other way round, so a header cannot pick
//! `none`, HMAC or another curve. Also the RFC 7638 thumbprint of a key.

use super::sig::{self, Refusal};
use crate::env::{SigAlg, SignatureVerifier};
use jwt_compact::{Claims, UntrustedToken};
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

/// The RFC 7638 SHA-256 thumbprint of a public JWK, base64url (DPoP's `jkt`): the members its
/// key type requires (EC, RSA, OKP), in lexicographic order, with no whitespace, each base64url
/// value as it decodes (so padding or stray bits cannot give one key two thumbprints). `None`
/// for a private or symmetric key, another key type, or a member missing or not base64url.
pub fn thumbprint(jwk: &Value) -> Option<String> {
    use sha2::{Digest, Sha256};
    let obj = jwk.as_object()?;
    if sig::PRIVATE_MEMBERS.iter().any(|m| obj.contains_key(*m)) {
        return None;
    }
    let text = |m: &str| obj.get(m).and_then(Value::as_str);
    let bytes = |m: &str| text(m).and_then(super::unb64).map(|v| super::b64(&v));
    // Every value below is base64url or a curve name of ours: nothing to escape.
    let canonical = match text("kty")? {
        "EC" => {
            let crv = text("crv").filter(|c| ["P-256", "P-384", "P-521"].contains(c))?;
            let (x, y) = (bytes("x")?, bytes("y")?);
            format!(r#"{{"crv":"{crv}","kty":"EC","x":"{x}","y":"{y}"}}"#)
        }
        "RSA" => {
            let (e, n) = (bytes("e")?, bytes("n")?);
            format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#)
        }
        "OKP" => {
            let crv = text("crv").filter(|c| ["Ed25519", "Ed448", "X25519", "X448"].contains(c))?;
            let x = bytes("x")?;
            format!(r#"{{"crv":"{crv}","kty":"OKP","x":"{x}"}}"#)
        }
        _ => return None,
    };
    Some(super::b64(&Sha256::digest(canonical.as_bytes())))
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

/// A token whose algorithm and key passed every check but the signature's, which
/// [`Signed::verify`] makes (asynchronously: the injected [`SignatureVerifier`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Signed {
    alg: SigAlg,
    /// The key as [`sig::import`] reduced it.
    key: Value,
    signing_input: String,
    signature: Vec<u8>,
}

/// Checks `compact` (the token `token` was parsed from) and `jwk` for everything but the
/// signature: an accepted algorithm, a key of the matching type that is a usable public key.
pub fn prepare<H>(
    compact: &str,
    token: &UntrustedToken<'_, H>,
    jwk: &Value,
) -> Result<Signed, JwsError> {
    let alg = match token.algorithm() {
        "ES256" => SigAlg::Es256,
        "RS256" => SigAlg::Rs256,
        _ => return Err(JwsError::Algorithm),
    };
    if !alg_fits(jwk, token.algorithm()) {
        return Err(JwsError::Algorithm);
    }
    let key = sig::import(alg, jwk).ok_or(JwsError::Key)?;
    let (signing_input, _) = compact.rsplit_once('.').ok_or(JwsError::Malformed)?;
    Ok(Signed {
        alg,
        key,
        signing_input: signing_input.to_owned(),
        signature: token.signature_bytes().to_vec(),
    })
}

impl Signed {
    /// Does the signature verify?
    pub async fn verify(&self, verifier: &dyn SignatureVerifier) -> Result<(), JwsError> {
        let input = self.signing_input.as_bytes();
        sig::verify_imported(verifier, self.alg, &self.key, input, &self.signature).await.map_err(
            |r| match r {
                Refusal::Key => JwsError::Key,
                Refusal::BadSignature => JwsError::BadSignature,
            },
        )
    }
}

/// Verifies the signature of `token` (parsed from `compact`) with `jwk`; returns its claims
/// (time claims unchecked).
pub async fn verify<T: DeserializeOwned, H>(
    verifier: &dyn SignatureVerifier,
    compact: &str,
    token: &UntrustedToken<'_, H>,
    jwk: &Value,
) -> Result<Claims<T>, JwsError> {
    prepare(compact, token, jwk)?.verify(verifier).await?;
    token.deserialize_claims_unchecked::<T>().map_err(|_| JwsError::Malformed)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::env::RustCrypto;
    use futures::executor::block_on;
    use jwt_compact::alg::Es256;
    use jwt_compact::jwk::JsonWebKey;
    use jwt_compact::{AlgorithmExt, Header};
    use serde_json::json;

    fn check(token: &str, jwk: &Value) -> Result<Claims<Value>, JwsError> {
        let untrusted = UntrustedToken::new(token).map_err(|_| JwsError::Malformed)?;
        block_on(verify(&RustCrypto, token, &untrusted, jwk))
    }

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
        let claims = check(&token, &jwk).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(claims.custom["a"], 1);
        assert_eq!(check(&token, &other).err(), Some(JwsError::BadSignature));
        // An RSA key cannot verify an ES256 token, whatever it claims.
        let rsa = json!({"kty": "RSA", "n": "AQAB", "e": "AQAB", "alg": "ES256"});
        assert_eq!(check(&token, &rsa).err(), Some(JwsError::Algorithm));
        // Private members are never accepted as a verification key.
        let mut private = jwk.clone();
        private["d"] = json!("AAAA");
        assert_eq!(check(&token, &private).err(), Some(JwsError::Key));
        // alg=none and HS256 headers are refused.
        let (_, rest) = token.split_once('.').unwrap_or_default();
        for header in [r#"{"alg":"none"}"#, r#"{"alg":"HS256"}"#, r#"{"alg":"ES384"}"#] {
            let forged = format!("{}.{rest}", crate::crypto::b64(header.as_bytes()));
            assert!(check(&forged, &jwk).is_err(), "{header}");
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
        // EC and OKP agree with jwt-compact's own RFC 7638 implementation; private keys,
        // unknown types and broken members have none.
        for seed in [1, 7] {
            let (sk, ec) = es256_pair(seed);
            let theirs = JsonWebKey::from(sk.verifying_key()).thumbprint::<sha2::Sha256>();
            assert_eq!(thumbprint(&ec), Some(crate::crypto::b64(&theirs)));
            let mut reordered =
                json!({"y": ec["y"], "x": ec["x"], "kid": "k", "crv": "P-256", "kty": "EC"});
            assert_eq!(
                thumbprint(&reordered),
                thumbprint(&ec),
                "member order and extras do not matter"
            );
            reordered["d"] = json!("AAAA");
            assert_eq!(thumbprint(&reordered), None);
        }
        let pair = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([5; 32]));
        let okp = JsonWebKey::from(&pair.pk);
        let theirs = crate::crypto::b64(&okp.thumbprint::<sha2::Sha256>());
        assert_eq!(thumbprint(&serde_json::to_value(&okp).unwrap_or_default()), Some(theirs));
        for bad in [
            json!({"kty": "oct", "k": "AAAA"}),
            json!({"kty": "EC", "crv": "P-256", "x": "AAAA"}),
            json!({"kty": "EC", "crv": "P-256\"", "x": "AAAA", "y": "AAAA"}),
            json!({"kty": "RSA", "e": "AQAB", "n": "not base64!"}),
            json!("a string"),
        ] {
            assert_eq!(thumbprint(&bad), None, "{bad}");
        }
    }
}
