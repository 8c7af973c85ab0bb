//! The stored records and their keys: the storage contract documented in
//! `docs/storage-schema.md`. Secrets and tokens are only ever stored as SHA-256 hashes.

use serde::{Deserialize, Serialize};

pub const CLIENT_PREFIX: &str = "client:";

/// `client:{client_id}`: a dynamically registered client (RFC 7591). TTL: `CLIENT_TTL`,
/// renewed when the client is used, so unused registrations expire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientRecord {
    pub client_id: String,
    /// base64url(SHA-256(secret)); absent for public clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_hash: Option<String>,
    pub client_name: Option<String>,
    pub redirect_uris: Vec<String>,
    pub token_endpoint_auth_method: String,
    pub grant_types: Vec<String>,
    pub response_types: Vec<String>,
    /// Scopes the client registered for; `None` = every scope (clients that register none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    /// `private_key_jwt` clients (RFC 7523): where their public keys are published, or the
    /// keys themselves (RFC 7591 §2; never both, never private members).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    pub created_at: u64,
    /// Last time the TTL was renewed.
    #[serde(default)]
    pub renewed_at: u64,
}

impl ClientRecord {
    pub fn key(client_id: &str) -> String {
        format!("{CLIENT_PREFIX}{client_id}")
    }

    /// Hosts of the redirect URIs (or the scheme, for private-use URIs like `cursor://`).
    pub fn redirect_hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> =
            self.redirect_uris.iter().map(|u| crate::urls::redirect_host(u)).collect();
        hosts.dedup();
        hosts
    }

    pub fn is_confidential(&self) -> bool {
        self.client_secret_hash.is_some()
    }
}

/// How long an authorization code can be redeemed.
pub const CODE_LIFETIME: u64 = 300;
/// KV TTL of a grant that waits for its code (the code's lifetime, with room for replays).
pub const CODE_RECORD_TTL: u64 = 600;

/// `grant:{grant_id}`: what a user approved for a client, the authorization code that creates
/// it, and its refresh token state. Written at approval (pending, TTL [`CODE_RECORD_TTL`]); the
/// code exchange activates it in the same record (TTL: `REFRESH_TOKEN_TTL`, renewed on every
/// rotation), so redeeming a code is one read and one write.
///
/// For a grant created by a code, `grant_id` is [`crate::crypto::keyed_id`] of the code under
/// the server secret: the code finds its grant, and a code leaked from a redirect URL does not
/// reveal the grant id that refresh tokens carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrantRecord {
    pub grant_id: String,
    pub client_id: String,
    pub sub: String,
    pub name: Option<String>,
    pub scope: String,
    pub resource: String,
    pub created_at: u64,
    /// base64url(SHA-256(secret part)) of the newest refresh token; empty while the grant waits
    /// for its code to be exchanged.
    #[serde(default)]
    pub refresh_hash: String,
    /// The previous refresh token: still accepted until the newest one is first used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_refresh_hash: Option<String>,
    /// The authorization code behind the grant, kept until it expires so a replay is detected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<CodeState>,
    /// When a refresh token of this grant was last used (shown at /account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refreshed_at: Option<u64>,
    /// The generation of the newest refresh token: 0 from the code exchange, one more at each
    /// rotation. Refresh tokens are derived from the grant id and the generation under the
    /// server secret (`oauth::refresh_token`), so concurrent rotations of one token write the
    /// same state and hand out the same new token. Absent on grants whose tokens were random
    /// (issued before derived tokens); their next refresh moves them to generation 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<u64>,
    /// When the newest generation was issued: the token before it is accepted (and answered
    /// with the newest) for [`REFRESH_REUSE_SECS`] after that, then it counts as a replay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_at: Option<u64>,
    /// RFC 9449 §5: a public client's refresh tokens are bound to the DPoP key (its thumbprint)
    /// used at the code exchange; refreshing needs a proof signed by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
    /// Who signed in upstream, as the sign-in kept them (provider, subject, the email and
    /// groups the access rules read): every refresh applies the access rules to it again.
    /// Absent for `USERS` accounts (looked up by `sub` instead) and on grants made before it
    /// was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<serde_json::Value>,
}

/// How long after a rotation the refresh token it replaced still works (it is answered with
/// the same newest token): racing requests, a retry after a lost response, and KV's
/// propagation delay between locations (up to 60 s). Later, presenting it revokes the grant.
pub const REFRESH_REUSE_SECS: u64 = 60;

/// An authorization code (single use, valid [`CODE_LIFETIME`]); the code itself is not stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeState {
    pub redirect_uri: String,
    pub code_challenge: String,
    pub expires_at: u64,
    /// Set by the exchange; a second exchange of the same code revokes the grant.
    #[serde(default)]
    pub used: bool,
}

impl GrantRecord {
    /// The id of the grant an authorization code creates: a keyed hash of the code, so a leaked
    /// code URL does not reveal the grant id.
    pub fn id_for_code(secret: &[u8], code: &str) -> String {
        crate::crypto::keyed_id(secret, "code-grant", code)
    }

    pub fn key(grant_id: &str) -> String {
        format!("grant:{grant_id}")
    }

    /// Still waiting for its code to be exchanged (no refresh token yet).
    pub fn is_pending(&self) -> bool {
        self.refresh_hash.is_empty()
    }
}

/// `user-grant:{subject tag}:{grant_id}` → `""`: the grants a person gave, listed by prefix at
/// /account. TTL: the grant's (renewed with it, best effort); a key whose grant is gone is skipped.
/// How long an account index entry lives from its last renewal: two days longer than a grant's
/// record, since refreshes renew it only at the first refresh of a UTC day (and a consent just
/// before midnight is renewed at the first refresh of the day after the next).
pub fn index_ttl(config: &crate::config::Config) -> u64 {
    config.refresh_token_ttl.saturating_add(2 * 86_400)
}

pub fn user_grant_key(sub: &str, grant_id: &str) -> String {
    format!("{}{grant_id}", user_grant_prefix(sub))
}

pub fn user_grant_prefix(sub: &str) -> String {
    format!("user-grant:{}:", crate::logs::subject_tag(sub))
}

/// `session-dead:{sha256(session id)}`: an MCP session terminated by DELETE. TTL: until the
/// session id would have expired anyway.
pub fn dead_session_key(session_hash: &str) -> String {
    format!("session-dead:{session_hash}")
}

#[cfg(test)]
mod tests {
    use super::GrantRecord;

    #[test]
    fn grants_stored_before_codes_moved_into_them_still_load() {
        let old = r#"{"grant_id":"g","client_id":"c","sub":"user-alice","name":"Alice","scope":"mcp","resource":"https://x/mcp","created_at":1,"refresh_hash":"h"}"#;
        let grant: GrantRecord = serde_json::from_str(old).unwrap_or_else(|e| panic!("{e}"));
        assert!(grant.code.is_none());
        assert!(!grant.is_pending());
        // And a record without a code serializes without the field.
        assert!(!serde_json::to_string(&grant).unwrap_or_default().contains("\"code\""));
    }
}
