//! Small cryptographic helpers: SHA-256 digests for values stored at rest, HMAC seals for
//! cookies, forms and session ids, base64url, and constant-time comparison.

pub mod jwk;
pub mod jws;
pub mod jwt;
pub mod password;
pub mod sig;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Standard base64 with the padding it requires, strictly (`Mcp-Name` / `Mcp-Param-*` values).
pub fn unb64_standard(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// base64url(SHA-256(text)): how secrets and tokens are keyed and stored at rest.
pub fn sha256_b64(text: &str) -> String {
    b64(&Sha256::digest(text.as_bytes()))
}

/// Compares without leaking where the first difference is (`subtle`).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// HMAC-SHA256 over `purpose`, a zero byte and `data`.
fn hmac(secret: &[u8], purpose: &str, data: &str) -> Hmac<Sha256> {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    #[allow(clippy::expect_used)]
    let mut m = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts any key length");
    m.update(purpose.as_bytes());
    m.update(&[0]);
    m.update(data.as_bytes());
    m
}

fn mac(secret: &[u8], purpose: &str, data: &str) -> Vec<u8> {
    hmac(secret, purpose, data).finalize().into_bytes().to_vec()
}

/// `data.mac`: data (already URL-safe) with an HMAC bound to `purpose`, so a value sealed for
/// one use (a cookie) can never be replayed as another (a session id).
pub fn seal(secret: &[u8], purpose: &str, data: &str) -> String {
    format!("{data}.{}", b64(&mac(secret, purpose, data)))
}

/// The full HMAC-SHA256 of `data` for `purpose` (32 bytes): a secret only the server can
/// compute, e.g. a refresh token derived from its grant and generation.
pub fn keyed_mac(secret: &[u8], purpose: &str, data: &str) -> Vec<u8> {
    mac(secret, purpose, data)
}

/// A 128-bit identifier derived from `data` under the secret (base64url, 22 characters): only
/// the server can compute it, so publishing `data` reveals nothing about the identifier.
pub fn keyed_id(secret: &[u8], purpose: &str, data: &str) -> String {
    let tag = mac(secret, purpose, data);
    b64(tag.get(..16).unwrap_or(&tag))
}

/// The data inside a sealed value, if its MAC is valid for `purpose`.
pub fn unseal<'a>(secret: &[u8], purpose: &str, sealed: &'a str) -> Option<&'a str> {
    let (data, tag) = sealed.rsplit_once('.')?;
    let tag = unb64(tag)?;
    hmac(secret, purpose, data).verify_slice(&tag).is_ok().then_some(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_binds_purpose_and_detects_tampering() {
        let s = seal(b"k", "cookie", "abc");
        assert_eq!(unseal(b"k", "cookie", &s), Some("abc"));
        assert_eq!(unseal(b"k", "session", &s), None);
        assert_eq!(unseal(b"other", "cookie", &s), None);
        assert_eq!(unseal(b"k", "cookie", &s.replacen("abc", "abd", 1)), None);
        assert_eq!(unseal(b"k", "cookie", "garbage"), None);
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
