//! What an isolate holds between requests: the configuration, the signing keys and secret, and
//! the per-isolate memos. Built once ([`State::new`]) and passed to every handler.

use crate::config::{Config, Mode};
use crate::crypto::jwt::{decode_seed, AccessClaims, KeySet};
use crate::env::{random_token, Services};
use crate::memo::Memo;
use crate::store::records::ClientRecord;
use crate::store::{get_json, put_json, StoreError};
use crate::urls::{host_of, is_loopback, request_origin};
use crate::web::{Request, Response};
use serde::{Deserialize, Serialize};

pub struct State {
    pub config: Config,
    pub keys: KeySet,
    /// HMAC key for cookies, CSRF tokens, sealed forms and MCP session ids.
    pub secret: Vec<u8>,
    /// Access tokens already verified in this isolate, until their `exp` (+ leeway): repeat
    /// calls skip the parse and the Ed25519 check.
    pub verified_tokens: Memo<AccessClaims>,
    /// MCP sessions seen alive (no tombstone in KV) in the last [`SESSION_RECHECK_SECS`].
    pub live_sessions: Memo<()>,
    /// Grants seen alive (not revoked) in the last [`GRANT_RECHECK_SECS`]: an access token
    /// stops working at most that long after its grant is revoked, with one KV read per grant
    /// and isolate per interval instead of one per call.
    pub live_grants: Memo<()>,
    /// DPoP proofs seen recently (`{jkt}:{jti}`), until they are too old to be accepted anyway
    /// (`oauth::dpop`): the per-isolate replay cache.
    pub dpop_proofs: Memo<()>,
    /// Registered clients recently read from KV (`oauth::client::CLIENT_CACHE_SECS`).
    pub clients: Memo<ClientRecord>,
    /// Responses that depend only on the origin (discovery documents, the 401 challenge),
    /// built once per origin: see [`State::memo_response`].
    responses: Memo<Response>,
    /// The host `PUBLIC_BASE_URL` names, lowercased.
    public_host: Option<String>,
}

/// Secrets generated on first use in development and kept in (local) KV.
#[derive(Serialize, Deserialize)]
struct DevSecretsRecord {
    kid: String,
    seed: String,
    cookie_secret: String,
}

const DEV_SECRETS_KEY: &str = "dev:secrets";

/// How long an isolate trusts that a grant it saw alive has not been revoked since.
pub const GRANT_RECHECK_SECS: u64 = 60;

/// How long an isolate trusts that a session it saw alive has not been terminated elsewhere.
/// Shorter than KV's own propagation delay (up to 60 s), so it adds no new staleness.
pub const SESSION_RECHECK_SECS: u64 = 30;

impl State {
    /// Builds the state. In development, missing secrets are generated once and kept in KV,
    /// with a warning; production configuration has already insisted on them.
    pub async fn new(config: Config, services: &Services<'_>) -> Result<State, StoreError> {
        let mut seeds: Vec<(String, [u8; 32])> = config
            .signing_keys
            .iter()
            .filter_map(|k| decode_seed(&k.seed).map(|s| (k.kid.clone(), s)))
            .collect();
        let mut secret = config.cookie_secret.clone();
        if seeds.is_empty() || secret.is_none() {
            let dev = match get_json::<DevSecretsRecord>(services.store, DEV_SECRETS_KEY).await? {
                Some(dev) => dev,
                None => {
                    let dev = DevSecretsRecord {
                        kid: format!("dev-{}", &random_token(services.random, 6)),
                        seed: random_token(services.random, 32),
                        cookie_secret: random_token(services.random, 32),
                    };
                    put_json(services.store, DEV_SECRETS_KEY, &dev, None).await?;
                    dev
                }
            };
            log::warn!(
                "development mode: using a signing key and cookie secret generated into KV (dev:secrets); \
                 set JWT_SIGNING_KEYS and COOKIE_SECRET for a real deployment"
            );
            if seeds.is_empty() {
                if let Some(seed) = decode_seed(&dev.seed) {
                    seeds.push((dev.kid, seed));
                }
            }
            secret.get_or_insert(dev.cookie_secret.into_bytes());
        }
        if let Some((kid, _)) = seeds.first() {
            crate::logs::event(
                "signing_key",
                serde_json::json!({ "kid": kid, "published": seeds.len() }),
            );
        }
        // Deriving the public keys (WebCrypto on Workers) fails only if the platform refuses
        // Ed25519; the isolate then answers 503 with the reason, like an unreachable store.
        let keys = KeySet::new(&seeds, services.signer).await.map_err(|e| {
            StoreError(format!("the Ed25519 signing keys could not be loaded: {}", e.0))
        })?;
        Ok(State {
            keys,
            secret: secret.unwrap_or_default(),
            verified_tokens: Memo::new(1024),
            live_sessions: Memo::new(4096),
            live_grants: Memo::new(4096),
            responses: Memo::new(64),
            clients: Memo::new(1024),
            dpop_proofs: Memo::new(16384),
            public_host: config.public_base_url.as_deref().map(host_of),
            config,
        })
    }

    /// The response cached under `key` (which must name everything the response depends on,
    /// e.g. the kind and the origin), built by `build` on first use in this isolate.
    pub fn memo_response(&self, key: &str, build: impl FnOnce() -> Response) -> Response {
        self.responses.get(key, 0).unwrap_or_else(|| {
            let res = build();
            self.responses.insert(key, res.clone(), u64::MAX);
            res
        })
    }

    /// Is the request's Host one this deployment serves? Always true in production without
    /// `PUBLIC_BASE_URL` (Cloudflare only routes our own hostnames to us); otherwise loopback,
    /// the public host and the hosts of `ALLOWED_ORIGINS` (DNS-rebinding protection).
    pub fn host_allowed(&self, req: &Request) -> bool {
        if self.config.mode == Mode::Production && self.public_host.is_none() {
            return true;
        }
        let host = host_of(&request_origin(req));
        is_loopback(&host)
            || self.public_host.as_deref() == Some(host.as_str())
            || self.config.allowed_origins.iter().any(|o| host_of(o) == host)
    }
}
