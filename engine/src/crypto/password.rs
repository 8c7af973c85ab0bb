//! Password verification: PBKDF2-HMAC-SHA256 hashes in a self-describing string.

use crate::crypto::{b64, constant_time_eq, unb64};
use crate::env::{pbkdf2_sha256, PasswordHasher};

/// A parsed `pbkdf2-sha256$<iterations>$<salt>$<hash>` string.
pub struct PasswordHash {
    iterations: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl PasswordHash {
    pub fn parse(text: &str) -> Option<PasswordHash> {
        let mut parts = text.split('$');
        if parts.next()? != "pbkdf2-sha256" {
            return None;
        }
        let iterations: u32 =
            parts.next()?.parse().ok().filter(|n| (1000..=10_000_000).contains(n))?;
        let salt = unb64(parts.next()?)?;
        let hash = unb64(parts.next()?)?;
        (parts.next().is_none() && salt.len() >= 8 && hash.len() == 32).then_some(PasswordHash {
            iterations,
            salt,
            hash,
        })
    }

    /// Checks `password` with the injected PBKDF2 (WebCrypto on Workers).
    pub async fn verify_with(&self, hasher: &dyn PasswordHasher, password: &str) -> bool {
        let out = hasher.pbkdf2_sha256(password.as_bytes(), &self.salt, self.iterations).await;
        constant_time_eq(&out, &self.hash)
    }

    /// Checks `password` with the Rust PBKDF2.
    pub fn verify(&self, password: &str) -> bool {
        let out = pbkdf2_sha256(password.as_bytes(), &self.salt, self.iterations);
        constant_time_eq(&out, &self.hash)
    }

    /// What an unknown username is checked against, so refusing it takes as long as refusing
    /// a known one: the highest iteration count among `hashes` (the configured users'), or
    /// 10,000 when none parses. It matches no password.
    pub fn decoy<'a>(hashes: impl IntoIterator<Item = &'a str>) -> PasswordHash {
        let iterations = hashes
            .into_iter()
            .filter_map(PasswordHash::parse)
            .map(|h| h.iterations)
            .max()
            .unwrap_or(10_000);
        PasswordHash { iterations, salt: b"mcp-edge-decoy-salt".to_vec(), hash: vec![0; 32] }
    }

    /// Hashes `password` with `salt` (for the `hash-password` helper and tests).
    pub fn create(password: &str, salt: &[u8], iterations: u32) -> String {
        let out = pbkdf2_sha256(password.as_bytes(), salt, iterations);
        format!("pbkdf2-sha256${iterations}${}${}", b64(salt), b64(&out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_hashes_verify() {
        let h = PasswordHash::parse(
            "pbkdf2-sha256$10000$ZGVtby1zYWx0LWFsaWNlIQ$X1FUXCI8tlMifGCJHrJylYGwcvBuk1hExgOKMTF83jw",
        )
        .unwrap();
        assert!(h.verify("alice"));
        assert!(!h.verify("Alice"));
        assert!(!h.verify(""));
    }

    #[test]
    fn hashes_from_the_hash_password_script_verify() {
        // Produced by `node scripts/hash-password.mjs s3cret 1000` (Node's PBKDF2).
        let h = PasswordHash::parse(
            "pbkdf2-sha256$1000$WOFSdwrcuNuORaFg8TO5FQ$PdoCBgTOelh7fRkXfajJPaOPrYUfv0bvNqI2ZwWLDpo",
        )
        .unwrap();
        assert!(h.verify("s3cret"));
    }

    /// A hasher that answers what it was told to: proves `verify_with` uses the injected one.
    struct Fixed([u8; 32]);

    #[async_trait::async_trait(?Send)]
    impl PasswordHasher for Fixed {
        async fn pbkdf2_sha256(&self, _: &[u8], _: &[u8], _: u32) -> [u8; 32] {
            self.0
        }
    }

    #[tokio::test]
    async fn verification_goes_through_the_injected_hasher() {
        let h = PasswordHash::parse(&PasswordHash::create("s3cret", b"saltsalt", 1000)).unwrap();
        assert!(h.verify_with(&crate::env::RustPbkdf2, "s3cret").await);
        assert!(!h.verify_with(&crate::env::RustPbkdf2, "other").await);
        let mut right = [0u8; 32];
        right.copy_from_slice(&h.hash);
        assert!(h.verify_with(&Fixed(right), "anything").await);
        assert!(!h.verify_with(&Fixed([0; 32]), "s3cret").await);
    }

    #[test]
    fn the_decoy_costs_what_the_dearest_configured_hash_costs() {
        let users = [
            PasswordHash::create("a", b"saltsalt", 1000),
            PasswordHash::create("b", b"saltsalt", 12_000),
            "not a hash".to_owned(),
        ];
        let decoy = PasswordHash::decoy(users.iter().map(String::as_str));
        assert_eq!(decoy.iterations, 12_000);
        assert!(!decoy.verify("a") && !decoy.verify(""));
        assert_eq!(PasswordHash::decoy([]).iterations, 10_000);
    }

    #[test]
    fn created_hashes_roundtrip_and_garbage_is_rejected() {
        let text = PasswordHash::create("s3cret", b"saltsalt", 1000);
        assert!(PasswordHash::parse(&text).unwrap().verify("s3cret"));
        for bad in ["", "pbkdf2-sha256$1$c2FsdHNhbHQ$AAAA", "md5$1000$x$y", "pbkdf2-sha256$abc$x$y"]
        {
            assert!(PasswordHash::parse(bad).is_none(), "{bad}");
        }
    }
}
