//! Sign-in through an upstream identity provider (any OpenID Connect provider, GitHub): the
//! provider only proves who the person is; our pages, codes and tokens stay ours.
//!
//! [`start`] (a button on our sign-in page) keeps the validated authorization request in KV under
//! a random `state`, bound to the browser by a cookie, and sends the person to the provider with
//! PKCE S256 (and a `nonce` for OpenID Connect). [`finish`] (`/oauth/callback`) takes that record
//! once, checks the binding, the expiry and RFC 9207's `iss`, exchanges the code ([`oidc`],
//! [`github`]) and lets [`rules`] decide who gets in with which scopes. Upstream tokens are used
//! for that one request and never stored.

pub(crate) mod github;
pub(crate) mod jwks;
pub(crate) mod oidc;
mod outcome;
pub(crate) mod rules;
mod signin;

use outcome::refusal;
pub(crate) use outcome::to_account;
pub(crate) use signin::{admitted_now, session_identity, signed_in};
use signin::{new_session, user_of};

use super::authorize::request::AuthzRequest;
use super::pages;
use super::session::{cookie, set_cookie};
use crate::config::{Config, User};
use crate::crypto::{b64, sha256_b64};
use crate::env::{random_token, FetchError, FetchLimits, Services};
use crate::state::State;
use crate::store::{get_json, put_json};
use crate::urls::Urls;
use crate::web::{self, html_escape as e, Params, Request, Response};
use http::{HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};

/// How long a person has to finish signing in at the provider (the pending record's life).
pub(crate) const PENDING_LIFETIME: u64 = 600;
/// The cookie binding a pending sign-in to the browser that started it.
const BINDING_COOKIE: &str = "mcp_edge_upstream";
/// Limits of every request to a provider.
pub(crate) const LIMITS: FetchLimits = FetchLimits { max_bytes: 256 * 1024, timeout_ms: 8000 };

/// Which upstream provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Provider {
    Oidc,
    Github,
}

impl Provider {
    fn parse(value: &str) -> Option<Provider> {
        match value {
            "oidc" => Some(Provider::Oidc),
            "github" => Some(Provider::Github),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Provider::Oidc => "oidc",
            Provider::Github => "github",
        }
    }

    /// The name people know it by.
    pub(crate) fn label(self, config: &Config) -> String {
        match (self, &config.upstream_oidc) {
            (Provider::Oidc, Some(o)) => o.name.clone(),
            (Provider::Oidc, None) => "your identity provider".into(),
            (Provider::Github, _) => "GitHub".into(),
        }
    }
}

/// The providers this deployment offers, in the order of their buttons.
pub(crate) fn offered(config: &Config) -> Vec<Provider> {
    let mut out = Vec::new();
    if config.upstream_oidc.is_some() {
        out.push(Provider::Oidc);
    }
    if config.upstream_github.is_some() {
        out.push(Provider::Github);
    }
    out
}

/// `upstream-pending:{sha256(state)}`: a sign-in waiting for the provider to send the person
/// back. TTL [`PENDING_LIFETIME`]; deleted by the first callback that names it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PendingRecord {
    pub(crate) provider: Provider,
    /// Our client's validated authorization request, resumed after the callback; absent for a
    /// sign-in to `/account`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) request: Option<AuthzRequest>,
    /// PKCE verifier of our request to the provider.
    pub(crate) verifier: String,
    /// OpenID Connect `nonce` the ID token must carry.
    pub(crate) nonce: String,
    /// base64url(SHA-256(binding cookie)) of the browser that started the sign-in.
    pub(crate) browser: String,
    pub(crate) expires_at: u64,
}

pub(crate) fn pending_key(state_param: &str) -> String {
    format!("upstream-pending:{}", sha256_b64(state_param))
}

/// Who the provider says the person is (also what their session cookie holds, so the access
/// rules are applied afresh at every authorization).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Identity {
    pub(crate) provider: Provider,
    /// Our stable id for them, scoped by provider: `oidc:<issuer>#<sub>`, `github:<id>`.
    pub(crate) subject: String,
    pub(crate) email: Option<String>,
    /// The provider vouches for `email`.
    pub(crate) email_verified: bool,
    pub(crate) name: Option<String>,
    /// GitHub's login (changeable: matched by rules, never the key).
    pub(crate) login: Option<String>,
    /// The OpenID provider's `groups` claim, or the GitHub organizations the person is an active
    /// member of (lowercase); only those some access rule names (a sign-in cookie stays small,
    /// and no more is kept than the rules use).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) groups: Vec<String>,
}

/// Why a sign-in at the provider did not produce an identity: each is a page for the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UpstreamError {
    /// The provider could not be reached or answered with a server error: 503.
    Down(String),
    /// The provider answered, but not with something we accept: 502 (never trusted).
    Invalid(String),
    /// The provider refused our code: 400.
    Refused(String),
}

impl UpstreamError {
    pub(crate) fn from_fetch(provider: &str, e: FetchError) -> Self {
        UpstreamError::Down(format!("{provider} could not be reached ({e})."))
    }

    fn page(&self, label: &str) -> Response {
        match self {
            UpstreamError::Down(why) => {
                let mut res = pages::error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &format!("{label} is unavailable"),
                    &format!("{why} Nothing was saved; try again in a moment."),
                );
                res.headers_mut().insert("retry-after", HeaderValue::from_static("30"));
                res
            }
            UpstreamError::Invalid(why) => pages::error(
                StatusCode::BAD_GATEWAY,
                "Sign-in could not be verified",
                &format!("{label} answered with something this server does not accept: {why}"),
            ),
            UpstreamError::Refused(why) => pages::error(
                StatusCode::BAD_REQUEST,
                "Sign-in failed",
                &format!("{label} did not accept the sign-in: {why} Start again from your app."),
            ),
        }
    }
}

/// Where providers send people back.
pub(crate) fn callback_url(urls: &Urls) -> String {
    format!("{}/oauth/callback", urls.origin)
}

/// The buttons of a sign-in page: one form per configured provider, posting the CSRF token
/// (and on `/authorize` the sealed request) back to the page's own path.
pub(crate) fn buttons(config: &Config, sealed: Option<&str>, csrf: &str) -> String {
    let (action, request) = match sealed {
        Some(sealed) => (
            "/authorize",
            format!("<input type=\"hidden\" name=\"request\" value=\"{}\">", e(sealed)),
        ),
        None => ("/account", String::new()),
    };
    offered(config)
        .into_iter()
        .map(|p| {
            format!(
                "<form method=\"post\" action=\"{action}\">{request}<input type=\"hidden\" name=\"csrf\" value=\"{}\">\
                 <input type=\"hidden\" name=\"action\" value=\"upstream\"><input type=\"hidden\" name=\"provider\" value=\"{}\">\
                 <div class=\"row\"><button class=\"secondary\" type=\"submit\">Continue with {}</button></div></form>",
                e(csrf), p.as_str(), e(&p.label(config))
            )
        })
        .collect()
}

/// Sends the person to the provider chosen on our sign-in page (`provider` form field), with the
/// validated `request` kept in KV until they come back (`None`: signing in to `/account`).
pub(crate) async fn start(
    state: &State,
    req: &Request,
    services: &Services<'_>,
    urls: &Urls,
    provider: Option<&str>,
    request: Option<AuthzRequest>,
) -> Response {
    let Some(provider) =
        provider.and_then(Provider::parse).filter(|p| offered(&state.config).contains(p))
    else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "That sign-in provider is not configured here.",
        );
    };
    let label = provider.label(&state.config);
    let state_param = random_token(services.random, 32);
    let verifier = random_token(services.random, 32);
    let nonce = random_token(services.random, 24);
    let challenge = b64(&<sha2::Sha256 as sha2::Digest>::digest(verifier.as_bytes()));
    let redirect_uri = callback_url(urls);
    let location = match provider {
        Provider::Oidc => {
            let Some(oidc) = &state.config.upstream_oidc else {
                return UpstreamError::Down("not configured".into()).page(&label);
            };
            let discovery = match oidc::discover(state, services, oidc).await {
                Ok(d) => d,
                Err(e) => return e.page(&label),
            };
            oidc::authorization_url(
                &discovery,
                oidc,
                &redirect_uri,
                &state_param,
                &nonce,
                &challenge,
            )
        }
        Provider::Github => match &state.config.upstream_github {
            Some(gh) => github::authorization_url(
                gh,
                &redirect_uri,
                &state_param,
                &challenge,
                rules::names_github_orgs(&state.config.access_rules),
            ),
            None => return UpstreamError::Down("not configured".into()).page(&label),
        },
    };
    let binding = match cookie(req, BINDING_COOKIE) {
        Some(b) if b.len() >= 22 && b.len() <= 64 => b,
        _ => random_token(services.random, 24),
    };
    let now = services.clock.now();
    let record = PendingRecord {
        provider,
        request,
        verifier,
        nonce,
        browser: sha256_b64(&binding),
        expires_at: now + PENDING_LIFETIME,
    };
    if let Err(e) =
        put_json(services.store, &pending_key(&state_param), &record, Some(PENDING_LIFETIME)).await
    {
        return web::unavailable(&e.to_string());
    }
    crate::logs::event(
        "upstream_started",
        serde_json::json!({ "provider": provider.as_str(), "client": record.request.as_ref().map_or("account", |r| r.client_id.as_str()) }),
    );
    let mut res = web::empty(StatusCode::SEE_OTHER);
    match HeaderValue::from_str(&location) {
        Ok(v) => res.headers_mut().insert(http::header::LOCATION, v),
        Err(_) => {
            return UpstreamError::Invalid("an unusable authorization endpoint".into()).page(&label)
        }
    };
    res.headers_mut().insert(http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    set_cookie(&mut res, req, BINDING_COOKIE, &binding, PENDING_LIFETIME);
    res
}

/// A finished upstream sign-in: the request to resume (none for `/account`), the person, and
/// their session cookie.
pub(crate) struct SignedIn {
    pub(crate) request: Option<AuthzRequest>,
    pub(crate) user: User,
    /// A fresh sealed `mcp_edge_session` value (no fixation).
    pub(crate) session: String,
}

/// The callback's outcome: who signed in, or the page to show.
pub(crate) async fn finish(
    state: &State,
    req: &Request,
    services: &Services<'_>,
    urls: &Urls,
) -> Result<SignedIn, Response> {
    let params = Params::parse(req.uri().query().unwrap_or(""));
    let bad = |title: &str, msg: &str| pages::error(StatusCode::BAD_REQUEST, title, msg);
    if let Some(problem) = params.problem() {
        return Err(bad(
            "Sign-in failed",
            &format!("The provider's answer cannot be read: {problem}."),
        ));
    }
    let Some(state_param) = params.get("state").filter(|s| !s.is_empty() && s.len() <= 256) else {
        return Err(bad(
            "Sign-in failed",
            "The provider sent you back without the sign-in's state. Start again from your app.",
        ));
    };
    let key = pending_key(state_param);
    let pending: PendingRecord = match get_json(services.store, &key).await {
        Ok(Some(p)) => p,
        Ok(None) => return Err(bad("Sign-in expired", "This sign-in was already used, has expired (sign-ins last 10 minutes), or was not started here. Start again from your app.")),
        Err(e) => return Err(web::unavailable(&e.to_string())),
    };
    // Single use: whatever happens next, this state is spent.
    if let Err(e) = services.store.delete(&key).await {
        return Err(web::unavailable(&e.to_string()));
    }
    let label = pending.provider.label(&state.config);
    let bound = cookie(req, BINDING_COOKIE).is_some_and(|b| {
        crate::crypto::constant_time_eq(sha256_b64(&b).as_bytes(), pending.browser.as_bytes())
    });
    if !bound {
        crate::logs::event(
            "upstream_refused",
            serde_json::json!({ "provider": pending.provider.as_str(), "reason": "browser" }),
        );
        return Err(pages::error(StatusCode::FORBIDDEN, "Sign-in refused", "This sign-in was started in another browser (or its cookie is gone), so it cannot be finished here. Start again from your app in this browser."));
    }
    if pending.expires_at < services.clock.now() {
        return Err(bad("Sign-in expired", "Sign-ins last 10 minutes. Start again from your app."));
    }
    let request = pending.request.clone();
    if let Some(error) = params.get("error") {
        let (title, why) = if error == "access_denied" {
            (
                "Sign-in cancelled",
                format!("You cancelled signing in at {label}, so the app gets no access."),
            )
        } else {
            let detail = params.get("error_description").unwrap_or(error);
            ("Sign-in failed", format!("{label} reported an error: {detail}."))
        };
        crate::logs::event(
            "upstream_refused",
            serde_json::json!({ "provider": pending.provider.as_str(), "reason": error.chars().take(40).collect::<String>() }),
        );
        return Err(refusal(urls, request.as_ref(), StatusCode::FORBIDDEN, title, &why));
    }
    let Some(code) = params.get("code").filter(|c| !c.is_empty()) else {
        return Err(bad(
            "Sign-in failed",
            "The provider sent you back without a code. Start again from your app.",
        ));
    };
    let redirect_uri = callback_url(urls);
    let identity = match pending.provider {
        Provider::Oidc => {
            let Some(oidc) = &state.config.upstream_oidc else {
                return Err(bad("Sign-in failed", "That provider is no longer configured."));
            };
            // RFC 9207: an `iss` that is not our provider's means a mix-up; refuse.
            if params.get("iss").is_some_and(|iss| iss != oidc.issuer) {
                crate::logs::event(
                    "upstream_refused",
                    serde_json::json!({ "provider": "oidc", "reason": "iss" }),
                );
                return Err(pages::error(StatusCode::BAD_REQUEST, "Sign-in refused", "The answer names another identity provider than the one this sign-in went to (RFC 9207 iss). Start again from your app."));
            }
            oidc::exchange(state, services, oidc, code, &redirect_uri, &pending).await
        }
        Provider::Github => match &state.config.upstream_github {
            Some(gh) => {
                let orgs = rules::names_github_orgs(&state.config.access_rules);
                github::exchange(services, gh, code, &redirect_uri, &pending, orgs).await
            }
            None => return Err(bad("Sign-in failed", "That provider is no longer configured.")),
        },
    };
    let identity = match identity {
        Ok(i) => rules::keep_named_groups(&state.config.access_rules, i),
        Err(e) => {
            crate::logs::event(
                "upstream_failed",
                serde_json::json!({ "provider": pending.provider.as_str(), "error": format!("{e:?}").chars().take(200).collect::<String>() }),
            );
            return Err(e.page(&label));
        }
    };
    match rules::admit(&state.config.access_rules, &identity) {
        Ok(scopes) => {
            crate::logs::event(
                "upstream_signed_in",
                serde_json::json!({ "provider": pending.provider.as_str(), "sub": crate::logs::subject_tag(&identity.subject) }),
            );
            let session = new_session(state, services, &identity);
            Ok(SignedIn { request, user: user_of(&identity, scopes), session })
        }
        Err(why) => {
            crate::logs::event(
                "upstream_refused",
                serde_json::json!({ "provider": pending.provider.as_str(), "sub": crate::logs::subject_tag(&identity.subject), "reason": "rules" }),
            );
            Err(refusal(urls, request.as_ref(), StatusCode::FORBIDDEN, "Access not allowed", &why))
        }
    }
}

/// `GET url` at the provider called `label` (with the `bearer` token, if any), its JSON answer
/// read as `what` ([`json_answer`]).
pub(crate) async fn get_json_from<T: serde::de::DeserializeOwned>(
    services: &Services<'_>,
    label: &str,
    what: &str,
    url: &str,
    bearer: Option<&str>,
) -> Result<T, UpstreamError> {
    let mut req = http::Request::get(url).header("accept", "application/json");
    if let Some(token) = bearer {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    let req = req.body(Vec::new()).map_err(|e| UpstreamError::Invalid(e.to_string()))?;
    let res =
        services.fetch.fetch(req, LIMITS).await.map_err(|e| UpstreamError::from_fetch(label, e))?;
    json_answer(what, &res)
}

/// Reads a provider's JSON answer: 2xx parsed, 5xx down, anything else refused or invalid.
pub(crate) fn json_answer<T: serde::de::DeserializeOwned>(
    what: &str,
    res: &http::Response<Vec<u8>>,
) -> Result<T, UpstreamError> {
    let status = res.status();
    if status.is_server_error() {
        return Err(UpstreamError::Down(format!("its {what} answered {status}.")));
    }
    if status.is_redirection() {
        return Err(UpstreamError::Invalid(format!(
            "its {what} answered {status} (redirects are not followed: check the URL)."
        )));
    }
    if !status.is_success() {
        let detail: serde_json::Value = serde_json::from_slice(res.body()).unwrap_or_default();
        let code = detail["error"].as_str().unwrap_or("no error code");
        return Err(UpstreamError::Refused(format!("its {what} answered {status} ({code}).")));
    }
    serde_json::from_slice(res.body())
        .map_err(|e| UpstreamError::Invalid(format!("its {what} sent malformed JSON ({e})")))
}
