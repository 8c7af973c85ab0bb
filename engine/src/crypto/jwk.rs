//! Checking a JWS signature (RFC 7515) against a provider's published key (RFC 7517): RS256
//! (RSASSA-PKCS1-v1_5 with SHA-256, the algorithm every OpenID provider must support and the
//! default for ID tokens) and EdDSA over Ed25519 (RFC 8037). Verification only: we never hold
//! these keys' private halves. Both go through the injected [`SignatureVerifier`]
//! ([`super::sig`], shared with [`super::jws`]).

use crate::env::{SigAlg, SignatureVerifier};
use serde::{Deserialize, Serialize};

/// The JWS algorithms we verify.
pub const ALGORITHMS: &[&str] = &["RS256", "EdDSA"];

/// A public key from a JWK Set, with the members we use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub usage: Option<String>,
    /// RSA modulus and exponent (base64url, big-endian).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// OKP curve and public key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
}

impl Jwk {
    /// Can this key check a signature made with `alg`? (Its type fits, it is not an
    /// encryption key, and it is not pinned to another algorithm.)
    pub fn fits(&self, alg: &str) -> bool {
        let kind = match alg {
            "RS256" => self.kty == "RSA",
            "EdDSA" => self.kty == "OKP" && self.crv.as_deref() == Some("Ed25519"),
            _ => false,
        };
        kind && self.usage.as_deref().is_none_or(|u| u == "sig")
            && self.alg.as_deref().is_none_or(|a| a == alg)
    }

    /// Does `signature` sign `message` with `alg` under this key?
    pub async fn verifies(
        &self,
        verifier: &dyn SignatureVerifier,
        alg: &str,
        message: &[u8],
        signature: &[u8],
    ) -> bool {
        if !self.fits(alg) {
            return false;
        }
        let alg = match alg {
            "RS256" => SigAlg::Rs256,
            "EdDSA" => SigAlg::EdDsa,
            _ => return false,
        };
        let Ok(jwk) = serde_json::to_value(self) else { return false };
        super::sig::verify(verifier, alg, &jwk, message, signature).await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::b64;
    use crate::env::RustCrypto;
    use futures::executor::block_on;

    fn verifies(jwk: &Jwk, alg: &str, message: &[u8], signature: &[u8]) -> bool {
        block_on(jwk.verifies(&RustCrypto, alg, message, signature))
    }

    fn ed_key(seed: u8) -> (ed25519_compact::KeyPair, Jwk) {
        let pair = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([seed; 32]));
        let jwk = Jwk {
            kty: "OKP".into(),
            kid: Some("k".into()),
            alg: None,
            usage: None,
            n: None,
            e: None,
            crv: Some("Ed25519".into()),
            x: Some(b64(pair.pk.as_ref())),
        };
        (pair, jwk)
    }

    #[test]
    fn ed25519_signatures_verify_and_tampering_fails() {
        let (pair, jwk) = ed_key(3);
        let sig = pair.sk.sign(b"head.body", None);
        assert!(verifies(&jwk, "EdDSA", b"head.body", sig.as_ref()));
        assert!(!verifies(&jwk, "EdDSA", b"head.bodY", sig.as_ref()));
        assert!(!verifies(&jwk, "RS256", b"head.body", sig.as_ref()));
        let (_, other) = ed_key(4);
        assert!(!verifies(&other, "EdDSA", b"head.body", sig.as_ref()));
        let enc = Jwk { usage: Some("enc".into()), ..jwk.clone() };
        assert!(!verifies(&enc, "EdDSA", b"head.body", sig.as_ref()));
    }

    #[test]
    fn rs256_signatures_verify_and_tampering_fails() {
        use rsa::pkcs1v15::SigningKey;
        use rsa::signature::{SignatureEncoding, Signer};
        use rsa::traits::PublicKeyParts;
        let mut rng = rsa::rand_core::OsRng;
        let private = rsa::RsaPrivateKey::new(&mut rng, 2048).unwrap_or_else(|e| panic!("{e}"));
        let public = private.to_public_key();
        let jwk = Jwk {
            kty: "RSA".into(),
            kid: Some("r".into()),
            alg: Some("RS256".into()),
            usage: Some("sig".into()),
            n: Some(b64(&public.n().to_bytes_be())),
            e: Some(b64(&public.e().to_bytes_be())),
            crv: None,
            x: None,
        };
        let sig = SigningKey::<sha2::Sha256>::new(private).sign(b"head.body").to_vec();
        assert!(verifies(&jwk, "RS256", b"head.body", &sig));
        assert!(!verifies(&jwk, "RS256", b"head.bodx", &sig));
        let mut bad = sig.clone();
        bad[10] ^= 1;
        assert!(!verifies(&jwk, "RS256", b"head.body", &bad));
        assert!(!verifies(&jwk, "EdDSA", b"head.body", &sig));
        assert!(!verifies(&jwk, "HS256", b"head.body", &sig));
    }
}
