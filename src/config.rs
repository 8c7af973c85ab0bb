//! Typed configuration, parsed once from wrangler vars and secrets.
//!
//! Every setting has one name (the wrangler var or secret), a default where one is safe, and a
//! clear error naming the setting when it is missing or malformed.

use serde::Deserialize;

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
    /// Dynamic registrations allowed per client address per hour (0 = unlimited).
    pub registration_limit: u64,
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

pub const SCOPE_MCP: &str = "mcp";
pub const SCOPE_ADMIN: &str = "admin";
/// Every scope this server knows, in the order it advertises them.
pub const SCOPES: &[&str] = &[SCOPE_MCP, SCOPE_ADMIN];

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
    /// Parses the configuration from a variable lookup (wrangler vars and secrets).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut errors = Vec::new();
        let get = |name: &str| get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());

        let mode = match get("MCP_EDGE_ENV").as_deref() {
            None | Some("production") => Mode::Production,
            Some("development") => Mode::Development,
            Some("conformance") => Mode::Conformance,
            Some(other) => {
                errors.push(format!(
                    "MCP_EDGE_ENV: unknown value {other:?} (expected production, development or conformance)"
                ));
                Mode::Production
            }
        };
        let relaxed = mode != Mode::Production;

        let public_base_url = get("PUBLIC_BASE_URL").and_then(|url| {
            let url = url.trim_end_matches('/').to_owned();
            let ok = (url.starts_with("https://") || url.starts_with("http://"))
                && !url.split_once("://").is_some_and(|(_, rest)| rest.is_empty() || rest.contains(['/', '?', '#']));
            if ok {
                Some(url)
            } else {
                errors.push(format!(
                    "PUBLIC_BASE_URL: {url:?} must be an origin like https://mcp.example.com (no path)"
                ));
                None
            }
        });

        let mcp_path = get("MCP_PATH").unwrap_or_else(|| "/mcp".into());
        let mcp_path = mcp_path.trim_end_matches('/').to_owned();
        if !mcp_path.starts_with('/')
            || mcp_path.len() < 2
            || mcp_path.contains(['?', '#', ' '])
            || mcp_path.starts_with("/.well-known")
        {
            errors.push(format!("MCP_PATH: {mcp_path:?} must be a path like /mcp"));
        }

        let allowed_origins = get("ALLOWED_ORIGINS")
            .map(|v| {
                v.split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_owned())
                    .filter(|o| !o.is_empty())
                    .collect()
            })
            .unwrap_or_default();

        let mut number = |name: &str, default: u64, min: u64| -> u64 {
            match get(name) {
                None => default,
                Some(v) => match v.parse::<u64>() {
                    Ok(n) if n >= min => n,
                    _ => {
                        errors.push(format!("{name}: {v:?} is not a whole number ≥ {min}"));
                        default
                    }
                },
            }
        };
        let max_body_bytes = number("MAX_BODY_BYTES", 1024 * 1024, 1024) as usize;
        let access_token_ttl = number("ACCESS_TOKEN_TTL", 3600, 60);
        let refresh_token_ttl = number("REFRESH_TOKEN_TTL", 30 * 86400, 3600);
        let client_ttl = number("CLIENT_TTL", 90 * 86400, 86400);
        let session_ttl = number("SESSION_TTL", 7 * 86400, 3600);
        let registration_limit = number("REGISTRATION_LIMIT", 100, 0);

        let users: Vec<User> = match get("USERS") {
            Some(json) => parse_json("USERS", &json, &mut errors),
            None if relaxed => parse_json("built-in demo users", DEMO_USERS, &mut errors),
            None => {
                errors.push("USERS: missing (a JSON array of {username, password_hash, sub, name, scopes}; set it with `wrangler secret put USERS`)".into());
                Vec::new()
            }
        };
        for u in &users {
            if let Some(bad) = u.scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
                errors.push(format!("USERS: user {:?} has unknown scope {bad:?}", u.username));
            }
            if crate::oauth::password::PasswordHash::parse(&u.password_hash).is_none() {
                errors.push(format!("USERS: user {:?} has a malformed password_hash", u.username));
            }
        }

        let static_clients: Vec<StaticClient> = match get("STATIC_CLIENTS") {
            Some(json) => parse_json("STATIC_CLIENTS", &json, &mut errors),
            None => parse_json("built-in static clients", DEFAULT_STATIC_CLIENTS, &mut errors),
        };

        let signing_keys: Vec<SigningKeySeed> = match get("JWT_SIGNING_KEYS") {
            Some(json) => parse_json("JWT_SIGNING_KEYS", &json, &mut errors),
            None if relaxed => Vec::new(),
            None => {
                errors.push("JWT_SIGNING_KEYS: missing (a JSON array of {kid, seed}; generate one with `make keygen`)".into());
                Vec::new()
            }
        };
        for k in &signing_keys {
            if crate::oauth::jwt::decode_seed(&k.seed).is_none() {
                errors.push(format!(
                    "JWT_SIGNING_KEYS: key {:?} needs a seed of 32 bytes, base64url",
                    k.kid
                ));
            }
        }

        let cookie_secret = match get("COOKIE_SECRET") {
            Some(s) if s.len() >= 32 => Some(s.into_bytes()),
            Some(_) => {
                errors.push("COOKIE_SECRET: must be at least 32 characters".into());
                None
            }
            None if relaxed => None,
            None => {
                errors.push("COOKIE_SECRET: missing (32+ random characters; `wrangler secret put COOKIE_SECRET`)".into());
                None
            }
        };

        if errors.is_empty() {
            Ok(Config {
                mode,
                public_base_url,
                mcp_path,
                allowed_origins,
                max_body_bytes,
                users,
                static_clients,
                signing_keys,
                cookie_secret,
                access_token_ttl,
                refresh_token_ttl,
                client_ttl,
                session_ttl,
                registration_limit,
            })
        } else {
            Err(ConfigError(errors))
        }
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

fn parse_json<T: serde::de::DeserializeOwned + Default>(
    name: &str,
    json: &str,
    errors: &mut Vec<String>,
) -> T {
    serde_json::from_str(json).unwrap_or_else(|e| {
        errors.push(format!("{name}: invalid JSON: {e}"));
        T::default()
    })
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
    fn custom_mcp_path_is_accepted() {
        let c =
            Config::from_lookup(lookup(&[("MCP_EDGE_ENV", "development"), ("MCP_PATH", "/bot/")]))
                .unwrap();
        assert_eq!(c.mcp_path, "/bot");
    }
}
