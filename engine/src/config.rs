//! Typed configuration, parsed once from wrangler vars and secrets.
//!
//! Every setting has one name (the wrangler var or secret), a default where one is safe, and a
//! clear error naming the setting when it is missing or malformed.

use crate::crypto::jwt::decode_seed;
use crate::crypto::password::PasswordHash;
use crate::mcp::tools::Catalog;
use serde::Deserialize;

mod upstream;
pub use upstream::{AccessRule, UpstreamGithub, UpstreamOidc};

/// Which deployment this is. Only an explicit `MCP_EDGE_ENV` selects anything but production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `wrangler dev`: demo users, generated keys kept in local KV, warnings in the log.
    Development,
    /// The default: every secret must be set.
    Production,
    /// The MCP conformance suite: authorization OFF and fixture tools on. Never deploy this.
    Conformance,
}

/// A person who may sign in.
#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub username: String,
    /// `pbkdf2-sha256$<iterations>$<salt b64url>$<hash b64url>`.
    pub password_hash: String,
    pub sub: String,
    pub name: String,
    /// Scopes this user may be granted.
    pub scopes: Vec<String>,
}

/// A pre-registered public OAuth client (for clients that arrive with a fixed client id).
#[derive(Debug, Clone, Deserialize)]
pub struct StaticClient {
    pub client_id: String,
    pub client_name: String,
    pub redirect_uris: Vec<String>,
}

/// An Ed25519 signing key: a 32-byte seed and the `kid` it is published under.
#[derive(Debug, Clone, Deserialize)]
pub struct SigningKeySeed {
    pub kid: String,
    /// base64url (no padding) of 32 random bytes.
    pub seed: String,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    /// `https://mcp.example.com`: overrides the request's origin in every URL we publish.
    pub public_base_url: Option<String>,
    /// Path of the MCP endpoint, `/mcp` unless `MCP_PATH` says otherwise.
    pub mcp_path: String,
    /// Extra origins allowed to call the MCP endpoint from a browser.
    pub allowed_origins: Vec<String>,
    pub max_body_bytes: usize,
    pub users: Vec<User>,
    pub static_clients: Vec<StaticClient>,
    /// First key signs; all are published in the JWKS. Empty in development (generated).
    pub signing_keys: Vec<SigningKeySeed>,
    /// HMAC key for cookies, CSRF tokens and MCP session ids. None in development (generated).
    pub cookie_secret: Option<Vec<u8>>,
    pub access_token_ttl: u64,
    pub refresh_token_ttl: u64,
    pub client_ttl: u64,
    pub session_ttl: u64,
    /// The longest a grant lives from its code exchange, however often it is refreshed
    /// (`MAX_GRANT_AGE`, seconds; default 90 days): then its person signs in again.
    pub max_grant_age: u64,
    /// How long a legacy session's call waits for the client's answer to a server-to-client
    /// request (`INPUT_TIMEOUT`, seconds) before it ends with an error.
    pub input_timeout: u64,
    /// Which requests get an access line (`REQUEST_LOG`: all, errors, off).
    pub request_log: crate::logs::RequestLog,
    /// DPoP server nonces (`DPOP_NONCES`: on, off; RFC 9449 §8 and §9): every DPoP proof must
    /// carry a nonce this server issued in the last few minutes.
    pub dpop_nonces: bool,
    /// Sign-in through an OpenID Connect provider (`UPSTREAM_OIDC_*`).
    pub upstream_oidc: Option<UpstreamOidc>,
    /// Sign-in through GitHub (`UPSTREAM_GITHUB_*`).
    pub upstream_github: Option<UpstreamGithub>,
    /// Who of the upstream providers' users gets in (`ACCESS_RULES`; first match wins).
    pub access_rules: Vec<AccessRule>,
    /// The deployment's tools ([`Config::with_catalog`]).
    pub catalog: Catalog,
    /// The wrangler vars and secrets the tools declared (`TypedTool::VARS`) that are set.
    pub tool_vars: std::collections::BTreeMap<String, String>,
    /// Every scope this server supports, in the order it advertises them: [`BASE_SCOPES`],
    /// then the scopes the catalogue's tools declare.
    pub scopes: Vec<&'static str>,
}

/// Every problem found in the configuration, each naming its setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub Vec<String>);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid configuration: {}", self.0.join("; "))
    }
}

impl std::error::Error for ConfigError {}

/// The scope every token carries: using the MCP endpoint at all.
pub const SCOPE_MCP: &str = "mcp";
/// The operator's scope: every grant and client at `/account`, and the engine's
/// [`crate::mcp::tools::list_clients`] tool.
pub const SCOPE_ADMIN: &str = "admin";
/// The scopes the engine itself defines; the catalogue's tools add theirs.
pub const BASE_SCOPES: &[&str] = &[SCOPE_MCP, SCOPE_ADMIN];

/// [`BASE_SCOPES`], then the scopes `catalog` declares that are not among them.
fn scopes_with(catalog: &Catalog) -> Vec<&'static str> {
    let mut scopes = BASE_SCOPES.to_vec();
    for s in catalog.scopes() {
        if !scopes.contains(&s) {
            scopes.push(s);
        }
    }
    scopes
}
/// OIDC's request for a refresh token (MCP SEP-2207). Accepted wherever a scope is, never
/// required and never granted: refresh tokens are issued anyway. Not advertised by the
/// resource (protected resource metadata, `WWW-Authenticate`), which does not need it.
pub const SCOPE_OFFLINE_ACCESS: &str = "offline_access";

/// The scopes in a `scope` value that mean something here: split on any whitespace (clients
/// send stray spaces, claude.ai `" offline_access"`), without `offline_access`, in order,
/// without repeats.
pub fn scope_list(scope: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for s in scope.split_ascii_whitespace().filter(|s| *s != SCOPE_OFFLINE_ACCESS) {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

const DEMO_USERS: &str = r#"[
  {"username":"alice","password_hash":"pbkdf2-sha256$10000$ZGVtby1zYWx0LWFsaWNlIQ$X1FUXCI8tlMifGCJHrJylYGwcvBuk1hExgOKMTF83jw","sub":"user-alice","name":"Alice","scopes":["mcp","admin"]},
  {"username":"bob","password_hash":"pbkdf2-sha256$10000$ZGVtby1zYWx0LWJvYiEhIQ$0ctyFdJR45Y4GEuyhTuluT_IOFO8bnYPBWqfqxkWcMc","sub":"user-bob","name":"Bob","scopes":["mcp"]}
]"#;

/// The clients the seed document used with fixed ids. Loopback redirect URIs match any port.
const DEFAULT_STATIC_CLIENTS: &str = r#"[
  {"client_id":"mcp-remote","client_name":"mcp-remote","redirect_uris":["http://localhost/oauth/callback","http://127.0.0.1/oauth/callback"]},
  {"client_id":"mcp_inspector","client_name":"MCP Inspector","redirect_uris":["http://localhost:6274/oauth/callback","http://localhost:6274/oauth/callback/debug"]},
  {"client_id":"claude_desktop","client_name":"Claude","redirect_uris":["https://claude.ai/api/mcp/auth_callback","https://claude.com/api/mcp/auth_callback"]},
  {"client_id":"mcp_console","client_name":"MCP Console","redirect_uris":["http://localhost/callback","http://127.0.0.1/callback"]}
]"#;

impl Config {
    /// Parses the configuration from a variable lookup (wrangler vars and secrets), naming
    /// every problem found.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        Config::from_lookup_with(get, Catalog::EMPTY)
    }

    /// [`Config::from_lookup`] for a deployment serving `catalog`: the scopes its tools
    /// declare are scopes `USERS` and `ACCESS_RULES` may grant.
    pub fn from_lookup_with(
        get: impl Fn(&str) -> Option<String>,
        catalog: Catalog,
    ) -> Result<Config, ConfigError> {
        let mut vars = Vars { get: &get, errors: Vec::new() };
        let mode = vars.mode();
        let relaxed = mode != Mode::Production;
        let get = |name: &str| vars.get(name);
        let mut upstream_errors = Vec::new();
        let scopes = scopes_with(&catalog);
        let upstreams = if cfg!(feature = "upstream") {
            upstream::parse(&get, relaxed, &scopes, &mut upstream_errors)
        } else {
            upstream::absent(&get, &mut upstream_errors)
        };
        vars.errors.append(&mut upstream_errors);
        let has_upstream = upstreams.oidc.is_some() || upstreams.github.is_some();
        let config = Config {
            mode,
            public_base_url: vars.public_base_url(),
            mcp_path: vars.mcp_path(),
            allowed_origins: vars.allowed_origins(),
            max_body_bytes: vars.number("MAX_BODY_BYTES", 1024 * 1024, 1024) as usize,
            users: vars.users(relaxed, has_upstream, &scopes),
            static_clients: match vars.get("STATIC_CLIENTS") {
                Some(json) => vars.json("STATIC_CLIENTS", &json),
                None => vars.json("built-in static clients", DEFAULT_STATIC_CLIENTS),
            },
            signing_keys: vars.signing_keys(relaxed),
            cookie_secret: vars.cookie_secret(relaxed),
            access_token_ttl: vars.number("ACCESS_TOKEN_TTL", 3600, 60),
            refresh_token_ttl: vars.number("REFRESH_TOKEN_TTL", 30 * 86400, 3600),
            client_ttl: vars.number("CLIENT_TTL", 90 * 86400, 86400),
            session_ttl: vars.number("SESSION_TTL", 7 * 86400, 3600),
            max_grant_age: vars.number("MAX_GRANT_AGE", 90 * 86400, 3600),
            input_timeout: vars.number("INPUT_TIMEOUT", 60, 1),
            request_log: vars.request_log(),
            dpop_nonces: vars.switch("DPOP_NONCES", false),
            upstream_oidc: upstreams.oidc,
            upstream_github: upstreams.github,
            access_rules: upstreams.rules,
            tool_vars: catalog
                .vars()
                .into_iter()
                .filter_map(|name| vars.get(name).map(|v| (name.to_owned(), v)))
                .collect(),
            catalog,
            scopes,
        };
        if vars.errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError(vars.errors))
        }
    }

    /// This configuration serving `catalog`: its scopes join [`BASE_SCOPES`], and every scope
    /// `USERS` and `ACCESS_RULES` grant must be one of them.
    pub fn with_catalog(mut self, catalog: Catalog) -> Result<Config, ConfigError> {
        let scopes = scopes_with(&catalog);
        let mut errors = Vec::new();
        for u in &self.users {
            if let Some(bad) = u.scopes.iter().find(|s| !scopes.contains(&s.as_str())) {
                errors.push(format!(
                    "USERS: user {:?} has unknown scope {bad:?} (known: {})",
                    u.username,
                    scopes.join(" ")
                ));
            }
        }
        for (i, r) in self.access_rules.iter().enumerate() {
            if let Some(bad) = r.scope_list().into_iter().find(|s| !scopes.contains(&s.as_str())) {
                errors.push(format!(
                    "ACCESS_RULES: rule {} has unknown scope {bad:?} (known: {})",
                    i + 1,
                    scopes.join(" ")
                ));
            }
        }
        if !errors.is_empty() {
            return Err(ConfigError(errors));
        }
        self.catalog = catalog;
        self.scopes = scopes;
        Ok(self)
    }

    /// A development configuration with defaults, for tests.
    pub fn development() -> Config {
        #[allow(clippy::expect_used)]
        Config::from_lookup(|k| (k == "MCP_EDGE_ENV").then(|| "development".to_owned()))
            .expect("built-in defaults are valid")
    }

    pub fn auth_enabled(&self) -> bool {
        self.mode != Mode::Conformance
    }
}

/// The variables being read, and every problem found so far.
struct Vars<'a> {
    get: &'a dyn Fn(&str) -> Option<String>,
    errors: Vec<String>,
}

impl Vars<'_> {
    /// A set, non-blank variable, trimmed.
    fn get(&self, name: &str) -> Option<String> {
        (self.get)(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    fn json<T: serde::de::DeserializeOwned + Default>(&mut self, name: &str, json: &str) -> T {
        serde_json::from_str(json).unwrap_or_else(|e| {
            self.errors.push(format!("{name}: invalid JSON: {e}"));
            T::default()
        })
    }

    fn number(&mut self, name: &str, default: u64, min: u64) -> u64 {
        match self.get(name) {
            None => default,
            Some(v) => match v.parse::<u64>() {
                Ok(n) if n >= min => n,
                _ => {
                    self.errors.push(format!("{name}: {v:?} is not a whole number ≥ {min}"));
                    default
                }
            },
        }
    }

    /// An `on` / `off` setting (also `true` / `false`, `1` / `0`).
    fn switch(&mut self, name: &str, default: bool) -> bool {
        match self.get(name).as_deref() {
            None => default,
            Some("on" | "true" | "1") => true,
            Some("off" | "false" | "0") => false,
            Some(other) => {
                self.errors.push(format!("{name}: unknown value {other:?} (expected on or off)"));
                default
            }
        }
    }

    fn request_log(&mut self) -> crate::logs::RequestLog {
        use crate::logs::RequestLog;
        match self.get("REQUEST_LOG").as_deref() {
            // Errors by default: Cloudflare's invocation log already records every request
            // (method, URL, status, duration, CPU); ours adds who and why where it matters
            // (docs/benchmarks.md "The request log").
            None | Some("errors") => RequestLog::Errors,
            Some("all") => RequestLog::All,
            Some("off") => RequestLog::Off,
            Some(other) => {
                self.errors.push(format!(
                    "REQUEST_LOG: unknown value {other:?} (expected all, errors or off)"
                ));
                RequestLog::Errors
            }
        }
    }

    fn mode(&mut self) -> Mode {
        match self.get("MCP_EDGE_ENV").as_deref() {
            None | Some("production") => Mode::Production,
            Some("development") => Mode::Development,
            Some("conformance") => Mode::Conformance,
            Some(other) => {
                self.errors.push(format!(
                    "MCP_EDGE_ENV: unknown value {other:?} (expected production, development or conformance)"
                ));
                Mode::Production
            }
        }
    }

    fn public_base_url(&mut self) -> Option<String> {
        let url = self.get("PUBLIC_BASE_URL")?;
        let url = url.trim_end_matches('/').to_owned();
        let origin_only = crate::urls::split(&url).is_some_and(|p| {
            (p.scheme == "https" || p.scheme == "http")
                && !p.host.is_empty()
                && p.userinfo.is_none()
                && crate::urls::port_ok(p.port)
                && p.rest.is_empty()
        });
        if origin_only {
            return Some(url);
        }
        self.errors.push(format!(
            "PUBLIC_BASE_URL: {url:?} must be an origin like https://mcp.example.com (no path)"
        ));
        None
    }

    fn mcp_path(&mut self) -> String {
        let path = self.get("MCP_PATH").unwrap_or_else(|| "/mcp".into());
        let path = path.trim_end_matches('/').to_owned();
        if !path.starts_with('/')
            || path.len() < 2
            || path.contains(['?', '#', ' '])
            || path.starts_with("/.well-known")
        {
            self.errors.push(format!("MCP_PATH: {path:?} must be a path like /mcp"));
        }
        path
    }

    fn allowed_origins(&mut self) -> Vec<String> {
        let Some(list) = self.get("ALLOWED_ORIGINS") else { return Vec::new() };
        list.split(',')
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect()
    }

    /// `USERS`; optional in production when an upstream provider signs people in.
    fn users(&mut self, relaxed: bool, has_upstream: bool, scopes: &[&str]) -> Vec<User> {
        let users: Vec<User> = match self.get("USERS") {
            Some(json) => self.json("USERS", &json),
            None if relaxed => self.json("built-in demo users", DEMO_USERS),
            None if has_upstream => Vec::new(),
            None => {
                self.errors.push("USERS: missing (a JSON array of {username, password_hash, sub, name, scopes}; set it with `wrangler secret put USERS`)".into());
                Vec::new()
            }
        };
        for u in &users {
            if let Some(bad) = u.scopes.iter().find(|s| !scopes.contains(&s.as_str())) {
                self.errors.push(format!(
                    "USERS: user {:?} has unknown scope {bad:?} (known: {})",
                    u.username,
                    scopes.join(" ")
                ));
            }
            if PasswordHash::parse(&u.password_hash).is_none() {
                self.errors
                    .push(format!("USERS: user {:?} has a malformed password_hash", u.username));
            }
        }
        users
    }

    fn signing_keys(&mut self, relaxed: bool) -> Vec<SigningKeySeed> {
        let keys: Vec<SigningKeySeed> = match self.get("JWT_SIGNING_KEYS") {
            Some(json) => self.json("JWT_SIGNING_KEYS", &json),
            None if relaxed => Vec::new(),
            None => {
                self.errors.push("JWT_SIGNING_KEYS: missing (a JSON array of {kid, seed}; generate one with `make keygen`)".into());
                Vec::new()
            }
        };
        for k in &keys {
            if decode_seed(&k.seed).is_none() {
                self.errors.push(format!(
                    "JWT_SIGNING_KEYS: key {:?} needs a seed of 32 bytes, base64url",
                    k.kid
                ));
            }
        }
        keys
    }

    fn cookie_secret(&mut self, relaxed: bool) -> Option<Vec<u8>> {
        match self.get("COOKIE_SECRET") {
            Some(s) if s.len() >= 32 => Some(s.into_bytes()),
            Some(_) => {
                self.errors.push("COOKIE_SECRET: must be at least 32 characters".into());
                None
            }
            None if relaxed => None,
            None => {
                self.errors.push("COOKIE_SECRET: missing (32+ random characters; `wrangler secret put COOKIE_SECRET`)".into());
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn production_names_every_missing_secret() {
        let err = Config::from_lookup(lookup(&[])).unwrap_err();
        let text = err.to_string();
        for name in ["USERS", "JWT_SIGNING_KEYS", "COOKIE_SECRET"] {
            assert!(text.contains(name), "{text}");
        }
    }

    #[test]
    fn development_has_demo_users_and_defaults() {
        let c = Config::development();
        assert_eq!(c.mode, Mode::Development);
        assert_eq!(c.mcp_path, "/mcp");
        assert!(c
            .users
            .iter()
            .any(|u| u.username == "alice" && u.scopes.contains(&"admin".into())));
        assert!(c.static_clients.iter().any(|s| s.client_id == "mcp-remote"));
        assert!(c.auth_enabled());
    }

    #[test]
    fn malformed_settings_are_named() {
        let err = Config::from_lookup(lookup(&[
            ("MCP_EDGE_ENV", "developmnet"),
            ("MCP_PATH", "mcp"),
            ("MAX_BODY_BYTES", "lots"),
            ("PUBLIC_BASE_URL", "https://x.example/path"),
        ]))
        .unwrap_err();
        let text = err.to_string();
        for name in ["MCP_EDGE_ENV", "MCP_PATH", "MAX_BODY_BYTES", "PUBLIC_BASE_URL"] {
            assert!(text.contains(name), "{name} not named in {text}");
        }
    }

    #[test]
    fn only_the_explicit_conformance_env_turns_auth_off() {
        let c = Config::from_lookup(lookup(&[("MCP_EDGE_ENV", "conformance")])).unwrap();
        assert!(!c.auth_enabled());
        let c = Config::from_lookup(lookup(&[("MCP_EDGE_ENV", "development"), ("AUTH", "off")]))
            .unwrap();
        assert!(c.auth_enabled());
    }

    #[test]
    #[cfg(feature = "upstream")]
    fn production_needs_no_users_when_an_upstream_signs_people_in() {
        let c = Config::from_lookup(lookup(&[
            (
                "JWT_SIGNING_KEYS",
                r#"[{"kid":"k","seed":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}]"#,
            ),
            ("COOKIE_SECRET", "0123456789abcdef0123456789abcdef"),
            ("UPSTREAM_OIDC_ISSUER", "https://accounts.google.com"),
            ("UPSTREAM_OIDC_CLIENT_ID", "cid"),
            ("UPSTREAM_OIDC_CLIENT_SECRET", "secret"),
            ("ACCESS_RULES", r#"[{"domain":"example.com","scopes":"mcp"}]"#),
        ]))
        .unwrap();
        assert!(c.users.is_empty());
        assert_eq!(c.upstream_oidc.map(|o| o.client_id).as_deref(), Some("cid"));
        let err = Config::from_lookup(lookup(&[("UPSTREAM_OIDC_ISSUER", "http://127.0.0.1:1")]))
            .unwrap_err();
        assert!(err.to_string().contains("USERS: missing"), "{err}");
    }

    /// Without the `upstream` feature, a deployment configured for upstream sign-in does not
    /// start without it: each upstream setting is named.
    #[test]
    #[cfg(not(feature = "upstream"))]
    fn upstream_settings_are_refused_by_a_build_without_upstream_sign_in() {
        let err = Config::from_lookup(lookup(&[
            ("MCP_EDGE_ENV", "development"),
            ("UPSTREAM_GITHUB_CLIENT_ID", "cid"),
            ("UPSTREAM_GITHUB_CLIENT_SECRET", "secret"),
            ("ACCESS_RULES", r#"[{"github":"octocat","scopes":"mcp"}]"#),
        ]))
        .unwrap_err()
        .to_string();
        for name in ["UPSTREAM_GITHUB_CLIENT_ID", "UPSTREAM_GITHUB_CLIENT_SECRET", "ACCESS_RULES"] {
            assert!(err.contains(&format!("{name}: this build has no upstream sign-in")), "{err}");
        }
        assert!(!err.contains("UPSTREAM_OIDC_ISSUER"), "{err}");
        let c = Config::from_lookup(lookup(&[("MCP_EDGE_ENV", "development")])).unwrap();
        assert!(c.upstream_oidc.is_none() && c.upstream_github.is_none());
    }

    #[test]
    fn custom_mcp_path_is_accepted() {
        let c =
            Config::from_lookup(lookup(&[("MCP_EDGE_ENV", "development"), ("MCP_PATH", "/bot/")]))
                .unwrap();
        assert_eq!(c.mcp_path, "/bot");
    }
}
