//! Refresh tokens that converge: `{grant_id}.{generation}.{mac}`, where the mac is an HMAC of
//! the grant id and the generation under the server secret. Every request that rotates the
//! same generation computes the same next token and writes the same grant state, so racing
//! refreshes (retries, tabs, Cloudflare locations that see KV up to 60 s late; KV has no
//! compare-and-swap) all succeed with one new token instead of leaving all but one client with
//! a token the next refresh treats as a replay (RFC 9700 §4.14.2).
//!
//! Only the server can make a token (the mac), so a token of a generation newer than the
//! stored one proves the store is stale at this location, not an attack. Tokens issued before
//! derived tokens (`{grant_id}.{random}`) are still recognised by their stored hash.

use crate::crypto::{b64, constant_time_eq, keyed_mac, sha256_b64};
use crate::store::records::{GrantRecord, REFRESH_REUSE_SECS};

/// What a presented refresh token is to a grant as this location stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presented {
    /// The newest token, or a newer one this location has not seen written yet: rotate to the
    /// generation after `generation`.
    Rotate { generation: u64 },
    /// A random token of an earlier version (the newest or the one before it) on a grant not
    /// yet moved to derived tokens: rotate to generation 1, the random newest becoming previous.
    Migrate,
    /// The token just before the newest, within [`REFRESH_REUSE_SECS`] of the rotation that
    /// replaced it: answer with the newest token again (no new generation).
    Reuse,
    /// A token we made for this grant (its mac is ours, or its hash is stored) of a generation
    /// already superseded and outside the reuse window: presented again, a replay.
    Replay,
    /// Not a token we made for this grant: a forged or mangled mac, another grant's or key's
    /// token, junk. Refused without touching the grant (the grant id is readable in any access
    /// token, so treating this as a replay would let anyone revoke anyone's grant).
    Invalid,
}

/// The token of `generation` for `grant_id`.
pub fn make(secret: &[u8], grant_id: &str, generation: u64) -> String {
    format!("{grant_id}.{generation}.{}", mac(secret, grant_id, generation))
}

/// What the server stores of a token: SHA-256 of everything after the grant id, as for the
/// random tokens of earlier versions (so `refresh_hash` keeps one meaning).
pub fn stored_hash(token: &str) -> String {
    sha256_b64(token.split_once('.').map_or("", |(_, rest)| rest))
}

fn mac(secret: &[u8], grant_id: &str, generation: u64) -> String {
    b64(&keyed_mac(secret, "refresh-token", &format!("{grant_id}.{generation}")))
}

/// The generation a derived token names, if its mac is ours (`rest` is what follows the grant id).
fn derived_generation(secret: &[u8], grant_id: &str, rest: &str) -> Option<u64> {
    let (generation, tag) = rest.split_once('.')?;
    if generation.is_empty()
        || generation.len() > 19
        || !generation.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let generation: u64 = generation.parse().ok()?;
    constant_time_eq(tag.as_bytes(), mac(secret, grant_id, generation).as_bytes())
        .then_some(generation)
}

/// Classifies `token` (already split: `grant_id`, `rest`) against the grant stored here.
pub fn classify(secret: &[u8], grant: &GrantRecord, rest: &str, now: u64) -> Presented {
    let within_reuse =
        grant.rotated_at.is_some_and(|at| now < at.saturating_add(REFRESH_REUSE_SECS));
    if let Some(n) = derived_generation(secret, &grant.grant_id, rest) {
        return match grant.generation {
            // Newer than what this location has seen (or a grant still pending here whose code
            // was exchanged elsewhere): the store is behind, the token is ours.
            Some(g) if n >= g => Presented::Rotate { generation: n },
            Some(g) if n + 1 == g && within_reuse => Presented::Reuse,
            Some(_) => Presented::Replay,
            None => Presented::Rotate { generation: n },
        };
    }
    // A random token from before derived tokens: known only by its hash.
    let presented = sha256_b64(rest);
    let is = |h: &str| !h.is_empty() && constant_time_eq(presented.as_bytes(), h.as_bytes());
    let is_previous = grant.previous_refresh_hash.as_deref().is_some_and(is);
    let is_newest = is(&grant.refresh_hash);
    match grant.generation {
        // Not migrated yet: the newest or the one before it moves the grant to generation 1.
        None if is_newest || is_previous => Presented::Migrate,
        // Migrated by a racing request: the random tokens are the previous generation.
        Some(1) if is_previous && within_reuse => Presented::Reuse,
        // A random token we stored, presented after it was superseded.
        Some(_) if is_previous => Presented::Replay,
        // Older random tokens are not stored, so they cannot be told from junk.
        _ => Presented::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(generation: Option<u64>, rotated_at: Option<u64>) -> GrantRecord {
        GrantRecord {
            grant_id: "g1".into(),
            client_id: "c".into(),
            sub: "user-alice".into(),
            name: None,
            scope: "mcp".into(),
            resource: "https://x/mcp".into(),
            created_at: 0,
            refresh_hash: "h".into(),
            previous_refresh_hash: None,
            code: None,
            refreshed_at: None,
            generation,
            rotated_at,
            dpop_jkt: None,
            upstream: None,
        }
    }

    fn rest(token: &str) -> &str {
        token.split_once('.').map_or("", |(_, r)| r)
    }

    #[test]
    fn generations_are_classified() {
        let k = b"secret";
        let g = grant(Some(5), Some(1000));
        let at = |n| make(k, "g1", n);
        assert_eq!(classify(k, &g, rest(&at(5)), 1000), Presented::Rotate { generation: 5 });
        assert_eq!(classify(k, &g, rest(&at(7)), 1000), Presented::Rotate { generation: 7 });
        assert_eq!(classify(k, &g, rest(&at(4)), 1059), Presented::Reuse);
        assert_eq!(classify(k, &g, rest(&at(4)), 1060), Presented::Replay, "reuse window over");
        assert_eq!(classify(k, &g, rest(&at(3)), 1000), Presented::Replay);
        // Another grant's token, another key, a forged mac, junk: never accepted, and never a
        // replay (which would revoke the grant).
        assert_eq!(classify(k, &g, rest(&make(k, "g2", 5)), 1000), Presented::Invalid);
        assert_eq!(classify(k, &g, rest(&make(b"other", "g1", 5)), 1000), Presented::Invalid);
        assert_eq!(classify(k, &g, "0.AAAA", 1000), Presented::Invalid);
        assert_eq!(classify(k, &g, "5.AAAA", 1000), Presented::Invalid);
        for junk in ["", ".", "5.", "-1.x", "99999999999999999999.x", "5.x.y"] {
            assert_eq!(classify(k, &g, junk, 1000), Presented::Invalid, "{junk:?}");
        }
    }

    #[test]
    fn tokens_are_deterministic_and_stored_as_a_hash() {
        assert_eq!(make(b"k", "g", 3), make(b"k", "g", 3));
        assert_ne!(make(b"k", "g", 3), make(b"k", "g", 4));
        let t = make(b"k", "g", 3);
        assert_eq!(stored_hash(&t), sha256_b64(rest(&t)));
    }

    #[test]
    fn random_tokens_of_earlier_versions_migrate_once() {
        let k = b"secret";
        let mut g = grant(None, None);
        g.refresh_hash = sha256_b64("newest");
        g.previous_refresh_hash = Some(sha256_b64("older"));
        assert_eq!(classify(k, &g, "newest", 1000), Presented::Migrate);
        assert_eq!(classify(k, &g, "older", 1000), Presented::Migrate);
        assert_eq!(classify(k, &g, "other", 1000), Presented::Invalid);
        // After the migration (generation 1), the random token is the previous one.
        let mut m = grant(Some(1), Some(1000));
        m.previous_refresh_hash = Some(sha256_b64("newest"));
        assert_eq!(classify(k, &m, "newest", 1030), Presented::Reuse);
        assert_eq!(classify(k, &m, "newest", 1060), Presented::Replay);
        // A pending grant (empty hash) never matches a random token.
        let mut p = grant(None, None);
        p.refresh_hash = String::new();
        assert_eq!(classify(k, &p, "", 1000), Presented::Invalid);
    }
}
