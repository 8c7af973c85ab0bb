//! Upstream identity providers (any OpenID Connect provider, GitHub) and the access rules that
//! decide who of their users gets in, with which scopes. Without the engine's `upstream`
//! feature the settings are not read: setting any of them is a configuration error ([`absent`]).

// Without the `upstream` feature only `absent` and the types are used.
#![cfg_attr(not(feature = "upstream"), allow(dead_code))]

use serde::Deserialize;

/// An OpenID Connect provider people sign in with (`UPSTREAM_OIDC_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamOidc {
    /// Exactly as the provider's discovery document states it (no trailing slash added or removed).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Space-separated, always including `openid`.
    pub scopes: String,
    /// The sign-in button's label.
    pub name: String,
}

/// A GitHub OAuth app (`UPSTREAM_GITHUB_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamGithub {
    pub client_id: String,
    pub client_secret: String,
}

/// One entry of `ACCESS_RULES`: every condition it names must hold; the first rule that
/// matches decides the scopes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRule {
    /// A verified email address, compared case-insensitively.
    #[serde(default)]
    pub email: Option<String>,
    /// The domain of a verified email address (`example.com` matches `a@example.com` only).
    #[serde(default)]
    pub domain: Option<String>,
    /// A GitHub login, compared case-insensitively.
    #[serde(default)]
    pub github: Option<String>,
    /// The stable id we give the person (`oidc:<issuer>#<sub>` or `github:<numeric id>`).
    #[serde(default)]
    pub subject: Option<String>,
    /// `oidc` or `github`: only people from this provider.
    #[serde(default)]
    pub provider: Option<String>,
    /// A group the OpenID provider lists in the `groups` claim (ID token or userinfo), compared
    /// exactly (Entra lists group object ids).
    #[serde(default)]
    pub group: Option<String>,
    /// A GitHub organization (its login, case-insensitive) the person is an active member of.
    /// Naming one makes the GitHub sign-in ask for `read:org`.
    #[serde(default)]
    pub github_org: Option<String>,
    /// Space-separated scopes granted (at most: the client may ask for fewer).
    pub scopes: String,
}

impl AccessRule {
    pub fn scope_list(&self) -> Vec<String> {
        self.scopes.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect()
    }
}

/// What the upstream settings parse to.
#[derive(Debug)]
pub(super) struct Upstreams {
    pub oidc: Option<UpstreamOidc>,
    pub github: Option<UpstreamGithub>,
    pub rules: Vec<AccessRule>,
}

/// Parses the upstream settings from `get` (set, trimmed, non-blank values), adding a message
/// naming the setting to `errors` for each problem. `relaxed`: not production. `known_scopes`:
/// the scopes a rule may grant.
pub(super) fn parse(
    get: &dyn Fn(&str) -> Option<String>,
    relaxed: bool,
    known_scopes: &[&str],
    errors: &mut Vec<String>,
) -> Upstreams {
    let mut vars = Vars { get, errors: Vec::new(), known_scopes };
    let out = vars.upstreams(relaxed);
    errors.append(&mut vars.errors);
    out
}

/// Every setting of the upstream sign-in.
pub(super) const SETTINGS: &[&str] = &[
    "UPSTREAM_OIDC_ISSUER",
    "UPSTREAM_OIDC_CLIENT_ID",
    "UPSTREAM_OIDC_CLIENT_SECRET",
    "UPSTREAM_OIDC_SCOPES",
    "UPSTREAM_NAME",
    "UPSTREAM_GITHUB_CLIENT_ID",
    "UPSTREAM_GITHUB_CLIENT_SECRET",
    "ACCESS_RULES",
];

/// A build without the `upstream` feature: no provider, and an error naming each upstream
/// setting that is set anyway (a deployment must not silently lose a sign-in method it was
/// configured for).
pub(super) fn absent(get: &dyn Fn(&str) -> Option<String>, errors: &mut Vec<String>) -> Upstreams {
    for name in SETTINGS.iter().filter(|name| get(name).is_some()) {
        errors.push(format!(
            "{name}: this build has no upstream sign-in; build it with the `upstream` feature \
             (put `upstream` back in `default` under `[features]` in the worker's Cargo.toml)"
        ));
    }
    Upstreams { oidc: None, github: None, rules: Vec::new() }
}

struct Vars<'a> {
    get: &'a dyn Fn(&str) -> Option<String>,
    errors: Vec<String>,
    known_scopes: &'a [&'a str],
}

impl Vars<'_> {
    fn get(&self, name: &str) -> Option<String> {
        (self.get)(name)
    }

    fn upstreams(&mut self, relaxed: bool) -> Upstreams {
        let oidc = self.upstream_oidc(relaxed);
        let github = self
            .pair("UPSTREAM_GITHUB_CLIENT_ID", "UPSTREAM_GITHUB_CLIENT_SECRET")
            .map(|(client_id, client_secret)| UpstreamGithub { client_id, client_secret });
        let rules = self.access_rules(oidc.is_some() || github.is_some());
        Upstreams { oidc, github, rules }
    }

    /// Both settings of a client id and secret, or neither (naming the missing one).
    fn pair(&mut self, id: &str, secret: &str) -> Option<(String, String)> {
        match (self.get(id), self.get(secret)) {
            (Some(i), Some(s)) => Some((i, s)),
            (None, None) => None,
            (Some(_), None) => {
                self.errors.push(format!(
                    "{secret}: missing (set it with `wrangler secret put {secret}`; {id} is set)"
                ));
                None
            }
            (None, Some(_)) => {
                self.errors.push(format!("{id}: missing ({secret} is set)"));
                None
            }
        }
    }

    fn upstream_oidc(&mut self, relaxed: bool) -> Option<UpstreamOidc> {
        let issuer = self.get("UPSTREAM_OIDC_ISSUER");
        let pair = self.pair("UPSTREAM_OIDC_CLIENT_ID", "UPSTREAM_OIDC_CLIENT_SECRET");
        let issuer = match (issuer, &pair) {
            (None, None) => {
                for name in ["UPSTREAM_OIDC_SCOPES", "UPSTREAM_NAME"] {
                    if self.get(name).is_some() {
                        self.errors.push(format!("{name}: set, but UPSTREAM_OIDC_ISSUER is not"));
                    }
                }
                return None;
            }
            (None, Some(_)) => {
                self.errors.push("UPSTREAM_OIDC_ISSUER: missing (the provider's issuer URL, e.g. https://accounts.google.com; UPSTREAM_OIDC_CLIENT_ID is set)".into());
                return None;
            }
            (Some(_), None) if !self.errors.iter().any(|e| e.starts_with("UPSTREAM_OIDC_")) => {
                self.errors
                    .push("UPSTREAM_OIDC_CLIENT_ID: missing (UPSTREAM_OIDC_ISSUER is set)".into());
                return None;
            }
            (Some(i), _) => i,
        };
        if !issuer_ok(&issuer, relaxed) {
            self.errors.push(format!(
                "UPSTREAM_OIDC_ISSUER: {issuer:?} must be an https URL without query or fragment{}",
                if relaxed {
                    " (or http on 127.0.0.1/localhost)"
                } else {
                    " (http only in development)"
                }
            ));
            return None;
        }
        if let Some(why) = multi_tenant(&issuer) {
            self.errors.push(format!("UPSTREAM_OIDC_ISSUER: {issuer:?} {why}"));
            return None;
        }
        let (client_id, client_secret) = pair?;
        let mut scopes: Vec<String> = self
            .get("UPSTREAM_OIDC_SCOPES")
            .unwrap_or_else(|| "openid email profile".into())
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if !scopes.iter().any(|s| s == "openid") {
            scopes.insert(0, "openid".into());
        }
        let name = self.get("UPSTREAM_NAME").unwrap_or_else(|| default_name(&issuer));
        Some(UpstreamOidc { issuer, client_id, client_secret, scopes: scopes.join(" "), name })
    }

    fn access_rules(&mut self, upstream: bool) -> Vec<AccessRule> {
        let rules: Vec<AccessRule> = match self.get("ACCESS_RULES") {
            Some(json) => serde_json::from_str(&json).unwrap_or_else(|e| {
                self.errors.push(format!("ACCESS_RULES: invalid JSON: {e}"));
                Vec::new()
            }),
            None if upstream => {
                self.errors.push("ACCESS_RULES: missing (with an upstream provider set, say who may sign in, e.g. [{\"domain\":\"example.com\",\"scopes\":\"mcp\"}])".into());
                Vec::new()
            }
            None => Vec::new(),
        };
        for (i, r) in rules.iter().enumerate() {
            let n = i + 1;
            if r.email.is_none()
                && r.domain.is_none()
                && r.github.is_none()
                && r.subject.is_none()
                && r.provider.is_none()
                && r.group.is_none()
                && r.github_org.is_none()
            {
                self.errors.push(format!("ACCESS_RULES: rule {n} names no condition (email, domain, github, github_org, subject, provider or group)"));
            }
            for (name, value) in [("group", &r.group), ("github_org", &r.github_org)] {
                if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                    self.errors.push(format!("ACCESS_RULES: rule {n}: {name} is empty"));
                }
            }
            if let Some(p) = r.provider.as_deref().filter(|p| !matches!(*p, "oidc" | "github")) {
                self.errors.push(format!(
                    "ACCESS_RULES: rule {n} has unknown provider {p:?} (oidc or github)"
                ));
            }
            if r.domain.as_deref().is_some_and(|d| d.contains('@') || d.is_empty()) {
                self.errors.push(format!(
                    "ACCESS_RULES: rule {n}: domain is a bare domain like example.com"
                ));
            }
            let scopes = r.scope_list();
            if let Some(bad) = scopes.iter().find(|s| !self.known_scopes.contains(&s.as_str())) {
                self.errors.push(format!("ACCESS_RULES: rule {n} has unknown scope {bad:?}"));
            }
            if scopes.is_empty() {
                self.errors.push(format!("ACCESS_RULES: rule {n} grants no scope"));
            }
        }
        rules
    }
}

/// https, or (in development) http on a loopback host; no query, fragment or userinfo.
fn issuer_ok(issuer: &str, relaxed: bool) -> bool {
    crate::urls::split(issuer).is_some_and(|p| {
        let scheme_ok = p.scheme == "https"
            || (relaxed
                && p.scheme == "http"
                && crate::urls::is_loopback(&p.host.to_ascii_lowercase()));
        scheme_ok
            && !p.host.is_empty()
            && p.userinfo.is_none()
            && crate::urls::port_ok(p.port)
            && !p.rest.contains(['?', '#'])
    })
}

/// Microsoft's multi-tenant endpoints (`common`, `organizations`, `consumers`) publish an issuer
/// template, and their ID tokens name each person's own tenant in `iss`: no sign-in would ever
/// pass the issuer check, so the setting is refused at start-up with the fix.
fn multi_tenant(issuer: &str) -> Option<&'static str> {
    let parts = crate::urls::split(issuer)?;
    if !parts.host.eq_ignore_ascii_case("login.microsoftonline.com") {
        return None;
    }
    let tenant = parts.rest.trim_start_matches('/').split('/').next().unwrap_or_default();
    ["common", "organizations", "consumers"].iter().any(|t| tenant.eq_ignore_ascii_case(t)).then_some(
        "is Microsoft's multi-tenant endpoint: its ID tokens name each person's own tenant as their issuer, so none would match. Use your tenant's issuer: https://login.microsoftonline.com/<tenant id>/v2.0",
    )
}

/// The button's label when `UPSTREAM_NAME` is unset: the issuer's host.
fn default_name(issuer: &str) -> String {
    crate::urls::split(issuer).map(|p| p.host.to_owned()).unwrap_or_else(|| issuer.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Upstreams, String> {
        let dev = pairs.iter().any(|(k, v)| *k == "MCP_EDGE_ENV" && *v == "development");
        let get = |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned());
        let mut errors = Vec::new();
        let out = parse(&get, dev, &["mcp", "admin"], &mut errors);
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors.join("; "))
        }
    }

    const DEV: (&str, &str) = ("MCP_EDGE_ENV", "development");

    #[test]
    fn oidc_settings_parse_with_defaults() {
        let c = config(&[
            DEV,
            ("UPSTREAM_OIDC_ISSUER", "https://accounts.google.com"),
            ("UPSTREAM_OIDC_CLIENT_ID", "cid"),
            ("UPSTREAM_OIDC_CLIENT_SECRET", "sec"),
            ("ACCESS_RULES", r#"[{"domain":"example.com","scopes":"mcp"}]"#),
        ])
        .unwrap();
        let o = c.oidc.unwrap();
        assert_eq!(o.scopes, "openid email profile");
        assert_eq!(o.name, "accounts.google.com");
        assert_eq!(c.rules.len(), 1);
        assert!(c.github.is_none());
        let c = config(&[
            ("UPSTREAM_OIDC_ISSUER", "https://idp.example/tenant/v2.0"),
            ("UPSTREAM_OIDC_CLIENT_ID", "cid"),
            ("UPSTREAM_OIDC_CLIENT_SECRET", "sec"),
            ("UPSTREAM_OIDC_SCOPES", "email profile"),
            ("UPSTREAM_NAME", "Contoso"),
            ("ACCESS_RULES", r#"[{"provider":"oidc","scopes":"mcp"}]"#),
        ])
        .unwrap();
        let o = c.oidc.unwrap();
        assert_eq!((o.scopes.as_str(), o.name.as_str()), ("openid email profile", "Contoso"));
    }

    #[test]
    fn an_upstream_needs_rules_and_production_needs_https() {
        let gh = [("UPSTREAM_GITHUB_CLIENT_ID", "gh"), ("UPSTREAM_GITHUB_CLIENT_SECRET", "ghs")];
        let err = config(&gh).unwrap_err();
        assert!(err.contains("ACCESS_RULES: missing"), "{err}");
        let mut with_rules = gh.to_vec();
        with_rules.push(("ACCESS_RULES", r#"[{"github":"octocat","scopes":"mcp"}]"#));
        assert!(config(&with_rules).unwrap().github.is_some());
        with_rules.push(("UPSTREAM_OIDC_ISSUER", "http://127.0.0.1:9000"));
        with_rules.push(("UPSTREAM_OIDC_CLIENT_ID", "c"));
        with_rules.push(("UPSTREAM_OIDC_CLIENT_SECRET", "s"));
        let err = config(&with_rules).unwrap_err();
        assert!(err.contains("UPSTREAM_OIDC_ISSUER") && err.contains("development"), "{err}");
    }

    #[test]
    fn development_allows_a_loopback_http_issuer_only() {
        let with = |issuer: &str| {
            config(&[
                DEV,
                ("UPSTREAM_OIDC_ISSUER", issuer),
                ("UPSTREAM_OIDC_CLIENT_ID", "c"),
                ("UPSTREAM_OIDC_CLIENT_SECRET", "s"),
                ("ACCESS_RULES", r#"[{"provider":"oidc","scopes":"mcp"}]"#),
            ])
        };
        assert!(with("http://127.0.0.1:9000").is_ok());
        assert!(with("http://localhost:9000/realms/x").is_ok());
        assert!(with("http://idp.example").unwrap_err().contains("UPSTREAM_OIDC_ISSUER"));
        assert!(with("https://idp.example/?x=1").unwrap_err().contains("UPSTREAM_OIDC_ISSUER"));
        // Entra: a tenant's issuer, never a multi-tenant endpoint.
        let tenant = "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0";
        assert!(with(tenant).is_ok());
        for shared in ["common", "organizations", "Consumers"] {
            let err =
                with(&format!("https://login.microsoftonline.com/{shared}/v2.0")).unwrap_err();
            assert!(err.contains("UPSTREAM_OIDC_ISSUER") && err.contains("<tenant id>"), "{err}");
        }
    }

    #[test]
    fn half_set_providers_and_bad_rules_are_named() {
        let err = config(&[
            DEV,
            ("UPSTREAM_OIDC_ISSUER", "https://idp.example"),
            ("UPSTREAM_GITHUB_CLIENT_ID", "gh"),
            ("ACCESS_RULES", r#"[{"emial":"x","scopes":"mcp"}]"#),
        ])
        .unwrap_err();
        for needle in [
            "UPSTREAM_OIDC_CLIENT_ID: missing",
            "UPSTREAM_GITHUB_CLIENT_SECRET: missing",
            "ACCESS_RULES: invalid JSON",
        ] {
            assert!(err.contains(needle), "{needle} not in {err}");
        }
        let err = config(&[
            DEV,
            ("ACCESS_RULES", r#"[{"scopes":"mcp"},{"email":"a@b.c","scopes":"root"},{"domain":"@b.c","scopes":"mcp"},{"provider":"gitlab","scopes":"mcp"},{"github":"x","scopes":""},{"group":" ","scopes":"mcp"},{"github_org":"","scopes":"mcp"}]"#),
        ])
        .unwrap_err();
        for needle in [
            "rule 1 names no condition",
            "rule 2 has unknown scope \"root\"",
            "rule 3: domain",
            "rule 4 has unknown provider",
            "rule 5 grants no scope",
            "rule 6: group is empty",
            "rule 7: github_org is empty",
        ] {
            assert!(err.contains(needle), "{needle} not in {err}");
        }
        let err = config(&[DEV, ("UPSTREAM_NAME", "Okta")]).unwrap_err();
        assert!(err.contains("UPSTREAM_NAME"), "{err}");
    }

    /// `SETTINGS` (what a build without the feature refuses) is exactly what the parser reads.
    #[test]
    fn settings_lists_every_setting_the_parser_reads() {
        let read = std::cell::RefCell::new(Vec::<String>::new());
        let get = |k: &str| {
            read.borrow_mut().push(k.to_owned());
            Some(match k {
                "UPSTREAM_OIDC_ISSUER" => "https://idp.example".to_owned(),
                "ACCESS_RULES" => r#"[{"domain":"example.com","scopes":"mcp"}]"#.to_owned(),
                _ => "value".to_owned(),
            })
        };
        let mut errors = Vec::new();
        let out = parse(&get, false, &["mcp"], &mut errors);
        assert!(errors.is_empty() && out.oidc.is_some() && out.github.is_some(), "{errors:?}");
        let mut read = read.into_inner();
        read.sort();
        read.dedup();
        let mut listed: Vec<String> = SETTINGS.iter().map(|s| (*s).to_owned()).collect();
        listed.sort();
        assert_eq!(read, listed);
    }
}
