//! OpenID Connect (Core 1.0, Discovery 1.0) as a relying party: the discovery document (cached in
//! KV), the authorization URL, the code exchange and the ID token's checks.
//!
//! The ID token's signature is checked against the provider's published keys ([`super::jwks`]:
//! RS256 or EdDSA), then `iss`, `aud` (and `azp`), `exp` and `nonce` (docs/security.md).

use super::{get_json_from, json_answer, Identity, PendingRecord, Provider, UpstreamError, LIMITS};
use crate::config::UpstreamOidc;
use crate::crypto::{sha256_b64, unb64};
use crate::env::Services;
use crate::state::State;
use crate::store::{get_json, put_json_best_effort};
use crate::web::percent_encode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How long a provider's discovery document is trusted from KV.
pub(crate) const DISCOVERY_TTL: u64 = 3600;
/// Clock skew tolerated on `exp`.
const LEEWAY: u64 = 60;

/// What we use of a provider's discovery document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Discovery {
    pub(crate) issuer: String,
    pub(crate) authorization_endpoint: String,
    pub(crate) token_endpoint: String,
    /// The provider's signing keys (required: ID token signatures are checked).
    pub(crate) jwks_uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) userinfo_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) token_endpoint_auth_methods_supported: Option<Vec<String>>,
}

/// `upstream-discovery:{sha256(issuer)}`: the provider's discovery document (the fields of
/// [`Discovery`]). TTL [`DISCOVERY_TTL`].
pub(crate) fn discovery_key(issuer: &str) -> String {
    format!("upstream-discovery:{}", sha256_b64(issuer))
}

/// `{issuer}/.well-known/openid-configuration` (Discovery §4).
pub(crate) fn discovery_url(issuer: &str) -> String {
    format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'))
}

/// The provider's discovery document: from KV when cached, else fetched, checked and cached.
pub(crate) async fn discover(
    state: &State,
    services: &Services<'_>,
    oidc: &UpstreamOidc,
) -> Result<Discovery, UpstreamError> {
    let key = discovery_key(&oidc.issuer);
    if let Ok(Some(d)) = get_json::<Discovery>(services.store, &key).await {
        if d.issuer == oidc.issuer {
            return Ok(d);
        }
    }
    let url = discovery_url(&oidc.issuer);
    let d: Discovery =
        get_json_from(services, &oidc.name, "discovery document", &url, None).await?;
    // Discovery §4.3: the document must name exactly the issuer it was fetched for.
    if d.issuer != oidc.issuer {
        return Err(UpstreamError::Invalid(format!(
            "its discovery document names issuer {:?}, not {:?}",
            d.issuer, oidc.issuer
        )));
    }
    let dev = state.config.mode != crate::config::Mode::Production;
    for (name, url) in [
        ("authorization_endpoint", Some(&d.authorization_endpoint)),
        ("token_endpoint", Some(&d.token_endpoint)),
        ("jwks_uri", Some(&d.jwks_uri)),
        ("userinfo_endpoint", d.userinfo_endpoint.as_ref()),
    ] {
        if let Some(url) = url {
            if !endpoint_ok(url, dev) {
                return Err(UpstreamError::Invalid(format!("its {name} {url:?} is not https")));
            }
        }
    }
    if let Err(e) = put_json_best_effort(services.store, &key, &d, Some(DISCOVERY_TTL)).await {
        log::warn!("upstream discovery not cached: {e}");
    }
    Ok(d)
}

/// An endpoint we send people or requests to: https, or http on loopback in development.
fn endpoint_ok(url: &str, dev: bool) -> bool {
    crate::urls::split(url).is_some_and(|p| {
        p.userinfo.is_none()
            && !p.host.is_empty()
            && (p.scheme == "https"
                || (dev
                    && p.scheme == "http"
                    && crate::urls::is_loopback(&p.host.to_ascii_lowercase())))
    })
}

pub(crate) fn authorization_url(
    d: &Discovery,
    oidc: &UpstreamOidc,
    redirect_uri: &str,
    state: &str,
    nonce: &str,
    challenge: &str,
) -> String {
    let sep = if d.authorization_endpoint.contains('?') { '&' } else { '?' };
    format!(
        "{}{sep}response_type=code&client_id={}&redirect_uri={}&scope={}&state={state}&nonce={nonce}&code_challenge={challenge}&code_challenge_method=S256",
        d.authorization_endpoint,
        percent_encode(&oidc.client_id),
        percent_encode(redirect_uri),
        percent_encode(&oidc.scopes),
    )
}

#[derive(Deserialize)]
struct TokenAnswer {
    id_token: Option<String>,
    access_token: Option<String>,
}

/// Exchanges the code at the token endpoint, checks the ID token and reads who signed in
/// (from the ID token, completed from the UserInfo endpoint when it lacks email or name).
pub(crate) async fn exchange(
    state: &State,
    services: &Services<'_>,
    oidc: &UpstreamOidc,
    code: &str,
    redirect_uri: &str,
    pending: &PendingRecord,
) -> Result<Identity, UpstreamError> {
    let d = discover(state, services, oidc).await?;
    let mut form = format!(
        "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={}",
        percent_encode(code),
        percent_encode(redirect_uri),
        percent_encode(&pending.verifier)
    );
    // client_secret_basic is the default (RFC 8414 §2); _post only when that is all it takes.
    let basic = d.token_endpoint_auth_methods_supported.as_ref().is_none_or(|m| {
        m.iter().any(|m| m == "client_secret_basic") || !m.iter().any(|m| m == "client_secret_post")
    });
    let mut req = http::Request::post(&d.token_endpoint)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json");
    if basic {
        let pair =
            format!("{}:{}", percent_encode(&oidc.client_id), percent_encode(&oidc.client_secret));
        use base64::Engine;
        let value = base64::engine::general_purpose::STANDARD.encode(pair);
        req = req.header("authorization", format!("Basic {value}"));
    } else {
        form.push_str(&format!(
            "&client_id={}&client_secret={}",
            percent_encode(&oidc.client_id),
            percent_encode(&oidc.client_secret)
        ));
    }
    let req = req.body(form.into_bytes()).map_err(|e| UpstreamError::Invalid(e.to_string()))?;
    let res = services
        .fetch
        .fetch(req, LIMITS)
        .await
        .map_err(|e| UpstreamError::from_fetch(&oidc.name, e))?;
    let answer: TokenAnswer = json_answer("token endpoint", &res)?;
    let id_token = answer
        .id_token
        .ok_or_else(|| UpstreamError::Invalid("its token endpoint sent no ID token".into()))?;
    let alg = super::jwks::verify(services, &oidc.name, &d.jwks_uri, &id_token).await?;
    crate::logs::event("upstream_id_token", serde_json::json!({ "alg": alg, "verified": true }));
    let claims = check_id_token(&id_token, oidc, &pending.nonce, services.clock.now())?;
    let sub = claims["sub"].as_str().unwrap_or_default().to_owned();
    let mut who = identity(&oidc.issuer, &sub, &claims);
    // Userinfo completes what the ID token leaves out: email, name, and groups when rules use them
    // (providers often put `groups` only there).
    let wants_groups = state.config.access_rules.iter().any(|r| r.group.is_some());
    let incomplete =
        who.email.is_none() || who.name.is_none() || (wants_groups && who.groups.is_empty());
    if let (true, Some(userinfo), Some(token)) =
        (incomplete, &d.userinfo_endpoint, &answer.access_token)
    {
        let info: Value =
            get_json_from(services, &oidc.name, "userinfo endpoint", userinfo, Some(token)).await?;
        // Core §5.3.2: the UserInfo `sub` must be the ID token's, or nothing in it is used.
        if info["sub"].as_str() != Some(sub.as_str()) {
            return Err(UpstreamError::Invalid(
                "its userinfo is about another person than the ID token".into(),
            ));
        }
        let extra = identity(&oidc.issuer, &sub, &info);
        if who.email.is_none() {
            who.email = extra.email;
            who.email_verified = extra.email_verified;
        }
        who.name = who.name.or(extra.name);
        if who.groups.is_empty() {
            who.groups = extra.groups;
        }
    }
    Ok(who)
}

fn identity(issuer: &str, sub: &str, claims: &Value) -> Identity {
    // Microsoft Entra ID sends no `email_verified`. Its optional claim `xms_edov` ("email domain
    // owner verified", a boolean) says the tenant has proven it owns the address's domain, which
    // is what email and domain rules need; it counts only when `email_verified` is absent (a
    // provider that says `false` is believed) and only as the JSON `true`.
    let verified = match (&claims["email_verified"], &claims["xms_edov"]) {
        (Value::Bool(b), _) => *b,
        (Value::String(s), _) => s == "true",
        (Value::Null, Value::Bool(true)) => true,
        _ => false,
    };
    let text =
        |k: &str| claims[k].as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    Identity {
        provider: Provider::Oidc,
        subject: format!("oidc:{issuer}#{sub}"),
        email: text("email"),
        email_verified: verified,
        name: text("name").or_else(|| text("preferred_username")),
        login: text("preferred_username"),
        groups: claims["groups"]
            .as_array()
            .map(|g| g.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default(),
    }
}

/// The ID token's claims, when it is for us (Core §3.1.3.7): `iss` is the provider, `aud`
/// includes our client id (and `azp` names us when there are several), it has not expired, and
/// it carries the `nonce` of this sign-in. The signature is checked before ([`super::jwks`]).
pub(crate) fn check_id_token(
    token: &str,
    oidc: &UpstreamOidc,
    nonce: &str,
    now: u64,
) -> Result<Value, UpstreamError> {
    let invalid = |why: &str| UpstreamError::Invalid(format!("its ID token {why}"));
    let mut parts = token.split('.');
    let (Some(head), Some(body), Some(_sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("is not a signed JWT"));
    };
    let head: Value = unb64(head)
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or_else(|| invalid("has a malformed header"))?;
    if head["alg"].as_str().is_none_or(|a| a == "none") {
        return Err(invalid("is unsigned (alg none)"));
    }
    let claims: Value = unb64(body)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| invalid("has malformed claims"))?;
    // Google's ID tokens may name their issuer without the scheme (Google's OpenID Connect
    // documentation says so); no other provider gets this allowance.
    let google = oidc.issuer == "https://accounts.google.com"
        && claims["iss"].as_str() == Some("accounts.google.com");
    if claims["iss"].as_str() != Some(oidc.issuer.as_str()) && !google {
        return Err(invalid("was issued by someone else (iss)"));
    }
    let audiences: Vec<&str> = match &claims["aud"] {
        Value::String(a) => vec![a.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&oidc.client_id.as_str()) {
        return Err(invalid("is for another application (aud)"));
    }
    if audiences.len() > 1 && claims["azp"].as_str() != Some(oidc.client_id.as_str()) {
        return Err(invalid("was issued to another party (azp)"));
    }
    match claims["exp"].as_u64() {
        Some(exp) if exp + LEEWAY >= now => {}
        Some(_) => return Err(invalid("has expired (exp)")),
        None => return Err(invalid("has no expiry (exp)")),
    }
    if claims["nonce"].as_str() != Some(nonce) {
        return Err(invalid("belongs to another sign-in (nonce)"));
    }
    if claims["sub"].as_str().is_none_or(|s| s.is_empty() || s.len() > 255) {
        return Err(invalid("names nobody (sub)"));
    }
    Ok(claims)
}

/// An unsigned-header test helper's twin: builds a JWT-shaped token from claims (tests only).
#[cfg(test)]
pub(crate) fn fake_jwt(claims: &Value) -> String {
    use crate::crypto::b64;
    format!("{}.{}.c2ln", b64(br#"{"alg":"RS256","kid":"k"}"#), b64(claims.to_string().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::b64;
    use serde_json::json;

    fn oidc() -> UpstreamOidc {
        UpstreamOidc {
            issuer: "https://idp.example".into(),
            client_id: "cid".into(),
            client_secret: "s".into(),
            scopes: "openid email".into(),
            name: "IdP".into(),
        }
    }

    fn good() -> Value {
        json!({"iss":"https://idp.example","aud":"cid","exp":1000,"nonce":"n1","sub":"42"})
    }

    #[test]
    fn email_verified_counts_and_entras_xms_edov_only_in_its_absence() {
        let verified =
            |claims: Value| identity("https://idp.example", "42", &claims).email_verified;
        assert!(verified(json!({"email": "a@x.example", "email_verified": true})));
        assert!(verified(json!({"email": "a@x.example", "email_verified": "true"})));
        assert!(!verified(json!({"email": "a@x.example"})));
        assert!(!verified(json!({"email": "a@x.example", "email_verified": "yes"})));
        // Entra: no email_verified, the domain owner verified.
        assert!(verified(json!({"email": "a@x.example", "xms_edov": true})));
        assert!(!verified(json!({"email": "a@x.example", "xms_edov": false})));
        assert!(!verified(json!({"email": "a@x.example", "xms_edov": "true"})));
        assert!(!verified(json!({"email": "a@x.example", "xms_edov": 1})));
        assert!(!verified(
            json!({"email": "a@x.example", "email_verified": false, "xms_edov": true})
        ));
    }

    #[test]
    fn a_good_id_token_passes_and_each_check_bites() {
        assert!(check_id_token(&fake_jwt(&good()), &oidc(), "n1", 1000).is_ok());
        assert!(check_id_token(&fake_jwt(&good()), &oidc(), "n1", 1060).is_ok());
        let cases: [(&str, Value, &str); 7] = [
            ("iss", json!("https://evil.example"), "iss"),
            ("aud", json!("other"), "aud"),
            ("aud", json!(["other", "cid"]), "azp"),
            ("exp", json!(900), "exp"),
            ("nonce", json!("n2"), "nonce"),
            ("sub", json!(""), "sub"),
            ("exp", Value::Null, "exp"),
        ];
        for (claim, value, why) in cases {
            let mut c = good();
            c[claim] = value;
            let err = check_id_token(&fake_jwt(&c), &oidc(), "n1", 1000).unwrap_err();
            assert!(format!("{err:?}").contains(why), "{claim}: {err:?}");
        }
        let mut c = good();
        c["aud"] = json!(["other", "cid"]);
        c["azp"] = json!("cid");
        assert!(check_id_token(&fake_jwt(&c), &oidc(), "n1", 1000).is_ok());
        let none = format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(good().to_string().as_bytes()));
        assert!(check_id_token(&none, &oidc(), "n1", 1000).is_err());
        for junk in ["", "a.b", "a.b.c.d", "!.!.!"] {
            assert!(check_id_token(junk, &oidc(), "n1", 1000).is_err(), "{junk}");
        }
    }

    #[test]
    fn only_google_may_name_its_issuer_without_the_scheme() {
        let mut c = good();
        c["iss"] = json!("idp.example");
        assert!(check_id_token(&fake_jwt(&c), &oidc(), "n1", 1000).is_err());
        let google = UpstreamOidc { issuer: "https://accounts.google.com".into(), ..oidc() };
        c["iss"] = json!("accounts.google.com");
        assert!(check_id_token(&fake_jwt(&c), &google, "n1", 1000).is_ok());
        c["iss"] = json!("https://accounts.google.com");
        assert!(check_id_token(&fake_jwt(&c), &google, "n1", 1000).is_ok());
    }

    #[test]
    fn endpoints_must_be_https_except_loopback_in_development() {
        assert!(endpoint_ok("https://idp.example/auth", false));
        assert!(!endpoint_ok("http://idp.example/auth", true));
        assert!(!endpoint_ok("http://127.0.0.1:9/auth", false));
        assert!(endpoint_ok("http://127.0.0.1:9/auth", true));
        assert!(!endpoint_ok("https://user@idp.example/auth", false));
    }
}
