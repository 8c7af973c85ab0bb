//! PKCE (RFC 7636) with the S256 method, the only one we accept (OAuth 2.1 §4.1.1).

use crate::crypto::{b64, constant_time_eq};
use sha2::{Digest, Sha256};

/// The only `code_challenge_method` accepted.
pub const METHOD: &str = "S256";

/// Is `challenge` syntactically a S256 challenge (43 base64url characters)?
pub fn challenge_ok(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
}

/// base64url(SHA-256(verifier)) = challenge, with the verifier's RFC 7636 §4.1 syntax checked.
pub fn verifies(verifier: &str, challenge: &str) -> bool {
    let syntax_ok = (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    syntax_ok
        && constant_time_eq(
            b64(&Sha256::digest(verifier.as_bytes())).as_bytes(),
            challenge.as_bytes(),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_rfc7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(verifies(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(!verifies(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"));
        assert!(!verifies("short", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(!verifies("", ""));
        assert!(challenge_ok("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(!challenge_ok("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c="));
    }
}
