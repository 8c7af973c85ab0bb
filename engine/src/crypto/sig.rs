//! The one way signatures of others are checked (RS256, ES256, EdDSA), for client assertions
//! and DPoP proofs ([`super::jws`]) and upstream ID tokens ([`super::jwk`]): the key is validated here,
//! reduced to its public members, and handed with the signature to the injected
//! [`SignatureVerifier`] (the runtime's WebCrypto on Workers, `env::RustCrypto` natively).

use super::{b64, unb64};
use crate::env::{SigAlg, SignatureVerifier};
use serde_json::{json, Value};

/// The smallest RSA modulus trusted, in bytes (2048 bits, RFC 7518 §3.3; leading zero bytes do
/// not count).
const MIN_RSA_BYTES: usize = 256;
/// The largest RSA modulus taken (16384 bits): bounds the work one signature costs.
const MAX_RSA_BYTES: usize = 2048;

/// Members only private or symmetric keys have.
pub(crate) const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// The JWK to verify `alg` signatures with, as the verifier takes it (`kty` and the key's
/// public numbers only), or `None` when `jwk` is not one: another key type or curve, private
/// members, an RSA modulus under 2048 bits, an exponent that is not a small odd number, P-256
/// coordinates or an Ed25519 key that are not 32 bytes.
pub fn import(alg: SigAlg, jwk: &Value) -> Option<Value> {
    let obj = jwk.as_object()?;
    if PRIVATE_MEMBERS.iter().any(|m| obj.contains_key(*m)) {
        return None;
    }
    let member = |m: &str| obj.get(m).and_then(Value::as_str);
    let bytes = |m: &str| member(m).and_then(unb64);
    match alg {
        SigAlg::Rs256 => {
            if member("kty") != Some("RSA") {
                return None;
            }
            let (n, e) = (bytes("n")?, bytes("e")?);
            let (n, e) = (strip_zeros(&n), strip_zeros(&e));
            if !(MIN_RSA_BYTES..=MAX_RSA_BYTES).contains(&n.len()) || n.last()? & 1 == 0 {
                return None;
            }
            // 3 ≤ e < 2^32, odd.
            if e.is_empty() || e.len() > 4 || e.last()? & 1 == 0 || (e.len() == 1 && e[0] < 3) {
                return None;
            }
            Some(json!({"kty": "RSA", "n": b64(n), "e": b64(e)}))
        }
        SigAlg::Es256 => {
            if member("kty") != Some("EC") || member("crv") != Some("P-256") {
                return None;
            }
            let (x, y) = (bytes("x")?, bytes("y")?);
            if x.len() != 32 || y.len() != 32 {
                return None;
            }
            Some(json!({"kty": "EC", "crv": "P-256", "x": b64(&x), "y": b64(&y)}))
        }
        SigAlg::EdDsa => {
            if member("kty") != Some("OKP") || member("crv") != Some("Ed25519") {
                return None;
            }
            let x = bytes("x")?;
            (x.len() == 32).then(|| json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&x)}))
        }
    }
}

/// Why [`verify`] said no.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not a key [`import`] accepts, or one the verifier could not import.
    Key,
    BadSignature,
}

/// Does `signature` sign `signing_input` with `alg` under `key`, a JWK that [`import`] returned?
pub async fn verify_imported(
    verifier: &dyn SignatureVerifier,
    alg: SigAlg,
    key: &Value,
    signing_input: &[u8],
    signature: &[u8],
) -> Result<(), Refusal> {
    // A signature of the wrong size cannot verify: no need to ask.
    let size = match alg {
        SigAlg::Es256 | SigAlg::EdDsa => 64,
        SigAlg::Rs256 => {
            key["n"].as_str().and_then(unb64).map(|n| strip_zeros(&n).len()).unwrap_or(0)
        }
    };
    if signature.len() != size {
        return Err(Refusal::BadSignature);
    }
    match verifier.verify(alg, key, signing_input, signature).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(Refusal::BadSignature),
        Err(e) => {
            log::warn!("a {alg:?} key could not be used: {}", e.0);
            Err(Refusal::Key)
        }
    }
}

/// [`import`] then [`verify_imported`].
pub async fn verify(
    verifier: &dyn SignatureVerifier,
    alg: SigAlg,
    jwk: &Value,
    signing_input: &[u8],
    signature: &[u8],
) -> Result<(), Refusal> {
    let key = import(alg, jwk).ok_or(Refusal::Key)?;
    verify_imported(verifier, alg, &key, signing_input, signature).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rsa(n_bytes: usize, e: &[u8]) -> Value {
        let mut n = vec![0xC5; n_bytes];
        n[n_bytes - 1] = 0x01;
        json!({"kty": "RSA", "n": b64(&n), "e": b64(e), "alg": "RS256", "kid": "k"})
    }

    #[test]
    fn keys_are_validated_and_reduced_to_their_public_members() {
        let ok = import(SigAlg::Rs256, &rsa(256, &[1, 0, 1])).unwrap_or_default();
        assert_eq!(ok.as_object().map(|o| o.len()), Some(3));
        assert!(import(SigAlg::Rs256, &rsa(255, &[1, 0, 1])).is_none(), "2040 bits");
        assert!(import(SigAlg::Rs256, &rsa(2049, &[1, 0, 1])).is_none(), "too large");
        assert!(import(SigAlg::Rs256, &rsa(256, &[1])).is_none(), "e = 1");
        assert!(import(SigAlg::Rs256, &rsa(256, &[1, 0, 0])).is_none(), "even e");
        assert!(import(SigAlg::Rs256, &rsa(256, &[1, 0, 0, 0, 1])).is_none(), "e ≥ 2^32");
        assert!(import(SigAlg::Es256, &rsa(256, &[1, 0, 1])).is_none(), "RSA for ES256");
        let mut private = rsa(256, &[1, 0, 1]);
        private["d"] = json!("AQAB");
        assert!(import(SigAlg::Rs256, &private).is_none());
        let ec = |crv: &str, len: usize| json!({"kty": "EC", "crv": crv, "x": b64(&vec![1; len]), "y": b64(&vec![2; len])});
        assert!(import(SigAlg::Es256, &ec("P-256", 32)).is_some());
        assert!(import(SigAlg::Es256, &ec("P-384", 48)).is_none());
        assert!(import(SigAlg::Es256, &ec("P-256", 31)).is_none());
        assert!(import(SigAlg::Rs256, &ec("P-256", 32)).is_none());
        let okp =
            |crv: &str, len: usize| json!({"kty": "OKP", "crv": crv, "x": b64(&vec![3; len])});
        assert_eq!(
            import(SigAlg::EdDsa, &okp("Ed25519", 32)),
            Some(json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&[3; 32])}))
        );
        assert!(import(SigAlg::EdDsa, &okp("Ed448", 32)).is_none());
        assert!(import(SigAlg::EdDsa, &okp("Ed25519", 31)).is_none());
        assert!(import(SigAlg::EdDsa, &ec("P-256", 32)).is_none());
        let mut private = okp("Ed25519", 32);
        private["d"] = json!(b64(&[4; 32]));
        assert!(import(SigAlg::EdDsa, &private).is_none());
    }
}
