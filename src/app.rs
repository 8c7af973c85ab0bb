//! The whole application as one value: configuration and keys, built once per isolate, and
//! [`App::handle`], which turns an `http::Request` into an `http::Response`.

use crate::config::{Config, Mode};
use crate::env::{random_token, Clock, Services};
use crate::memo::Memo;
use crate::oauth::jwt::{decode_seed, AccessClaims, KeySet};
use crate::store::{get_json, put_json, StoreError};
use crate::web::{log_warn, request_origin, Request, Response};
use serde::{Deserialize, Serialize};

pub struct App {
    pub config: Config,
    pub keys: KeySet,
    /// The MCP catalogue (with the conformance fixtures only in the conformance environment).
    pub server: crate::mcp::server::Server,
    /// Access tokens already verified in this isolate, until their `exp` (+ leeway): repeat
    /// calls skip the Ed25519 check, the main CPU cost of an authenticated MCP call.
    pub verified_tokens: Memo<AccessClaims>,
    /// MCP sessions seen alive (no tombstone in KV) in the last [`SESSION_RECHECK_SECS`].
    pub live_sessions: Memo<()>,
    /// Registered clients recently read from KV ([`crate::oauth::client::CLIENT_CACHE_SECS`]).
    pub clients: Memo<crate::store::records::ClientRecord>,
    /// Responses that depend only on the origin (discovery documents, the 401 challenge),
    /// built once per origin: see [`App::memo_response`].
    pub responses: Memo<Response>,
    /// HMAC key for cookies, CSRF tokens, sealed forms and MCP session ids.
    pub secret: Vec<u8>,
}

/// Secrets generated on first use in development and kept in (local) KV.
#[derive(Serialize, Deserialize)]
struct DevSecretsRecord {
    kid: String,
    seed: String,
    cookie_secret: String,
}

const DEV_SECRETS_KEY: &str = "dev:secrets";

/// How long an isolate trusts that a session it saw alive has not been terminated elsewhere.
/// Shorter than KV's own propagation delay (up to 60 s), so it adds no new staleness.
pub const SESSION_RECHECK_SECS: u64 = 30;

impl App {
    /// Builds the app. In development, missing secrets are generated once and kept in KV, with
    /// a warning; production configuration has already insisted on them.
    pub async fn new(config: Config, services: &Services<'_>) -> Result<App, StoreError> {
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
            log_warn(
                "development mode: using a signing key and cookie secret generated into KV (dev:secrets); \
                 set JWT_SIGNING_KEYS and COOKIE_SECRET for a real deployment",
            );
            if seeds.is_empty() {
                if let Some(seed) = decode_seed(&dev.seed) {
                    seeds.push((dev.kid, seed));
                }
            }
            secret.get_or_insert(dev.cookie_secret.into_bytes());
        }
        let server = crate::mcp::server::Server::new(config.mode == Mode::Conformance);
        Ok(App {
            keys: KeySet::from_seeds(&seeds),
            secret: secret.unwrap_or_default(),
            server,
            verified_tokens: Memo::new(1024),
            live_sessions: Memo::new(4096),
            responses: Memo::new(64),
            clients: Memo::new(1024),
            config,
        })
    }

    /// Answers a request: [`App::respond_now`] if it can, else [`App::respond_later`].
    /// `respond_now` sees only the request's head, exactly as on Workers.
    pub async fn handle(&self, req: Request, services: &Services<'_>) -> Response {
        match self.respond_now(&crate::web::head_only(&req), services.clock) {
            Some(res) => res,
            None => self.respond_later(req, services).await,
        }
    }

    /// The answer to a request that needs neither its body nor the store (see
    /// [`crate::routes::route_now`]), from its method, URI and [`crate::web::HEAD_HEADERS`]
    /// (a [`crate::web::head_only`] request). `None`: call [`App::respond_later`] with the whole
    /// request.
    pub fn respond_now(&self, req: &Request, clock: &dyn Clock) -> Option<Response> {
        // Development and conformance settings (demo users, generated keys, or no auth at all)
        // only answer on loopback or an explicitly configured host: an accidental
        // `wrangler deploy` without `--env production` must not expose alice/alice.
        if self.config.mode != Mode::Production && !self.host_allowed(req) {
            return Some(crate::web::error(
                http::StatusCode::FORBIDDEN,
                "development_settings",
                "this deployment runs development settings (demo users) and only answers on localhost; deploy with `wrangler deploy --env production`",
            ));
        }
        if self.config.mode == Mode::Conformance {
            log_warn(
                "AUTHORIZATION IS OFF (MCP_EDGE_ENV=conformance): never expose this deployment",
            );
        }
        crate::routes::route_now(self, req, clock)
    }

    /// The answer to a request [`App::respond_now`] returned `None` for.
    pub async fn respond_later(&self, req: Request, services: &Services<'_>) -> Response {
        crate::routes::route(self, req, services).await
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
        use crate::web::{host_of, is_loopback};
        let public_host = self.config.public_base_url.as_deref().map(host_of);
        if self.config.mode == Mode::Production && public_host.is_none() {
            return true;
        }
        let host = host_of(&request_origin(req));
        is_loopback(&host)
            || public_host.as_deref() == Some(host.as_str())
            || self.config.allowed_origins.iter().any(|o| host_of(o) == host)
    }

    /// The URLs this deployment publishes, for the origin the request came to.
    pub fn urls(&self, req: &Request) -> Urls {
        let origin = self.config.public_base_url.clone().unwrap_or_else(|| request_origin(req));
        Urls::new(&origin, &self.config.mcp_path)
    }
}

/// Absolute URLs derived from the public origin.
#[derive(Debug, Clone)]
pub struct Urls {
    pub origin: String,
    /// The authorization server's issuer: the origin exactly.
    pub issuer: String,
    /// The MCP endpoint's absolute URL: the protected resource and every token's audience.
    pub resource: String,
    /// Where the Protected Resource Metadata lives (RFC 9728 §3.1, path-suffixed form).
    pub resource_metadata: String,
    pub jwks: String,
}

impl Urls {
    pub fn new(origin: &str, mcp_path: &str) -> Urls {
        Urls {
            origin: origin.to_owned(),
            issuer: origin.to_owned(),
            resource: format!("{origin}{mcp_path}"),
            resource_metadata: format!("{origin}/.well-known/oauth-protected-resource{mcp_path}"),
            jwks: format!("{origin}/.well-known/jwks.json"),
        }
    }
}
