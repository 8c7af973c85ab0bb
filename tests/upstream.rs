//! Sign-in through an upstream identity provider (issue 16), natively: an OpenID Connect
//! provider and GitHub answered by `CannedFetch` (GitHub's own endpoints with recorded response
//! shapes: they cannot be reached from the test machines), every failure path, and the access
//! rules. The e2e twin against a real OpenID provider is tests/e2e/upstream.test.mjs.
#![cfg(feature = "upstream")]
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mcp_edge::config::Config;
use serde_json::{json, Value};

const ISSUER: &str = "https://idp.example";
const DISCOVERY: &str = "https://idp.example/.well-known/openid-configuration";
const TOKEN: &str = "https://idp.example/token";
const USERINFO: &str = "https://idp.example/userinfo";
const RULES: &str = r#"[{"email":"ada@example.com","scopes":"mcp admin"},{"domain":"example.com","scopes":"mcp"},{"github":"octocat","scopes":"mcp"}]"#;

async fn app(extra: &[(&str, &str)]) -> TestApp {
    let mut vars: Vec<(String, String)> = [
        ("MCP_EDGE_ENV", "development"),
        ("UPSTREAM_OIDC_ISSUER", ISSUER),
        ("UPSTREAM_OIDC_CLIENT_ID", "our-client"),
        ("UPSTREAM_OIDC_CLIENT_SECRET", "our-secret"),
        ("UPSTREAM_NAME", "Example ID"),
        ("UPSTREAM_GITHUB_CLIENT_ID", "gh-client"),
        ("UPSTREAM_GITHUB_CLIENT_SECRET", "gh-secret"),
        ("ACCESS_RULES", RULES),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    for (k, v) in extra {
        vars.retain(|(n, _)| n != k);
        vars.push(((*k).to_owned(), (*v).to_owned()));
    }
    let config =
        Config::from_lookup(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())).unwrap();
    let t = TestApp::with_config(config).await;
    t.fetch.answer(
        DISCOVERY,
        200,
        &[("content-type", "application/json")],
        json!({
            "issuer": ISSUER,
            "authorization_endpoint": "https://idp.example/authorize",
            "token_endpoint": TOKEN,
            "userinfo_endpoint": USERINFO,
            "jwks_uri": JWKS,
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        })
        .to_string(),
    );
    publish_keys(&t, &[("k1", 1)]);
    t
}

const JWKS: &str = "https://idp.example/jwks";

/// The provider's Ed25519 signing key seeded by `seed`.
fn idp_key(seed: u8) -> ed25519_compact::KeyPair {
    ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([seed; 32]))
}

/// Publishes the provider's keys `(kid, seed)` at its jwks_uri.
fn publish_keys(t: &TestApp, keys: &[(&str, u8)]) {
    let keys: Vec<Value> = keys
        .iter()
        .map(|(kid, seed)| json!({"kty": "OKP", "crv": "Ed25519", "use": "sig", "kid": kid, "x": mcp_edge::crypto::b64(idp_key(*seed).pk.as_ref())}))
        .collect();
    t.fetch.answer(
        JWKS,
        200,
        &[("content-type", "application/json")],
        json!({ "keys": keys }).to_string(),
    );
}

/// An ID token with these claims, signed by the provider's key "k1".
fn id_token(claims: &Value) -> String {
    signed("k1", 1, "EdDSA", claims)
}

/// A compact JWS of `claims` with header `{alg, kid}`, signed by the Ed25519 key of `seed`.
fn signed(kid: &str, seed: u8, alg: &str, claims: &Value) -> String {
    let b = |v: &[u8]| mcp_edge::crypto::b64(v);
    let input = format!(
        "{}.{}",
        b(json!({"alg": alg, "kid": kid}).to_string().as_bytes()),
        b(claims.to_string().as_bytes())
    );
    let sig = idp_key(seed).sk.sign(input.as_bytes(), None);
    format!("{input}.{}", b(sig.as_ref()))
}

/// Where a started sign-in was sent, with the cookies the browser now holds.
struct Started {
    client_id: String,
    location: String,
    jar: String,
}

impl Started {
    fn param(&self, name: &str) -> String {
        query_param(&self.location, name).unwrap_or_default()
    }
}

/// "Continue with …" for `provider` on the sign-in `page` of our /authorize.
async fn press(
    t: &TestApp,
    page: &mcp_edge::web::Response,
    provider: &str,
) -> mcp_edge::web::Response {
    let html = text(page);
    let form = [
        ("request", hidden(&html, "request")),
        ("csrf", hidden(&html, "csrf")),
        ("action", "upstream".into()),
        ("provider", provider.into()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    t.post_form("/authorize", &form, &cookies(page, "")).await
}

/// Our /authorize → the sign-in page → "Continue with …" for `provider`.
async fn start(t: &TestApp, provider: &str) -> Started {
    let client_id = register(t).await;
    let page = t.get(&authorize_path(&client_id, "")).await;
    assert_eq!(page.status(), 200, "{}", text(&page));
    let html = text(&page);
    assert!(
        html.contains("Continue with Example ID") && html.contains("Continue with GitHub"),
        "{html}"
    );
    assert!(html.contains("name=\"password\""), "USERS sign-in stays beside the providers");
    let res = press(t, &page, provider).await;
    assert_eq!(res.status(), 303, "{}", text(&res));
    let location = header(&res, "location").to_owned();
    let jar = cookies(&res, &cookies(&page, ""));
    Started { client_id, location, jar }
}

fn answer_token(t: &TestApp, claims: Value) {
    t.fetch.answer(
        TOKEN,
        200,
        &[("content-type", "application/json")],
        json!({"access_token": "upstream-at", "token_type": "Bearer", "id_token": id_token(&claims)}).to_string(),
    );
}

fn claims(s: &Started, extra: Value) -> Value {
    let mut c = json!({"iss": ISSUER, "aud": "our-client", "exp": NOW + 86400, "iat": NOW, "nonce": s.param("nonce"), "sub": "248289761001"});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

async fn callback(t: &TestApp, s: &Started, query: &str) -> mcp_edge::web::Response {
    let req = request("GET", &format!("/oauth/callback?{query}"))
        .header("cookie", &s.jar)
        .body(Vec::new())
        .unwrap();
    t.send(req).await
}

/// Approves our consent page; returns our token response.
async fn approve(t: &TestApp, s: &Started, consent: &mcp_edge::web::Response) -> Value {
    let res = approve_consent(t, &text(consent), &cookies(consent, &s.jar)).await;
    assert_eq!(res.status(), 302, "{}", text(&res));
    let location = header(&res, "location").to_owned();
    assert!(location.starts_with(REDIRECT), "{location}");
    let res = exchange_code(t, &s.client_id, &location).await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    json(&res)
}

async fn dump(t: &TestApp) -> Vec<(String, String)> {
    use mcp_edge::store::Store;
    let mut out = Vec::new();
    for k in t.store.keys() {
        if let Ok(Some(v)) = t.store.get(&k).await {
            out.push((k, v));
        }
    }
    out
}

fn jwt_claims(token: &str) -> Value {
    let body = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&mcp_edge::crypto::unb64(body).unwrap()).unwrap()
}

#[tokio::test]
async fn oidc_sign_in_reaches_our_consent_and_a_token_with_the_rules_scopes() {
    let t = app(&[]).await;
    let s = start(&t, "oidc").await;
    // To the provider's authorization endpoint, with PKCE S256, state and nonce.
    assert!(
        s.location
            .starts_with("https://idp.example/authorize?response_type=code&client_id=our-client"),
        "{}",
        s.location
    );
    assert_eq!(s.param("redirect_uri"), format!("{BASE}/oauth/callback"));
    assert_eq!(s.param("scope"), "openid email profile");
    assert_eq!(s.param("code_challenge_method"), "S256");
    assert!(s.param("state").len() >= 43 && s.param("nonce").len() >= 32);
    assert!(s.jar.contains("mcp_edge_upstream="), "the browser binding cookie: {}", s.jar);
    // The pending request is in KV under the state's hash, for 10 minutes.
    let key = format!("upstream-pending:{}", mcp_edge::crypto::sha256_b64(&s.param("state")));
    assert!(t.store.keys().contains(&key));

    answer_token(
        &t,
        claims(
            &s,
            json!({"email": "ada@example.com", "email_verified": true, "name": "Ada Lovelace"}),
        ),
    );
    let consent = callback(
        &t,
        &s,
        &format!(
            "code=the-code&state={}&iss={}",
            s.param("state"),
            mcp_edge::web::percent_encode(ISSUER)
        ),
    )
    .await;
    assert_eq!(consent.status(), 200, "{}", text(&consent));
    assert!(text(&consent).contains("Signed in as <b>Ada Lovelace</b>"), "{}", text(&consent));
    assert!(!t.store.keys().contains(&key), "the pending request is spent");
    // The code exchange: basic auth (not visible here), our redirect URI and the PKCE verifier.
    let seen = t.fetch.seen.borrow().clone();
    let (method, url, body) = seen.iter().find(|(_, u, _)| u == TOKEN).unwrap().clone();
    assert_eq!(method, "POST");
    let body = String::from_utf8(body).unwrap();
    let verifier = query_param(&format!("?{body}"), "code_verifier").unwrap();
    assert_eq!(challenge(&verifier), s.param("code_challenge"), "{url}");
    assert!(body.contains("code=the-code") && !body.contains("client_secret"), "{body}");
    // Everything was in the ID token: no userinfo call.
    assert!(!seen.iter().any(|(_, u, _)| u == USERINFO));

    let tokens = approve(&t, &s, &consent).await;
    assert_eq!(tokens["scope"], "mcp admin");
    let at = jwt_claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(at["sub"], "oidc:https://idp.example#248289761001");
    // get_vibe greets them by the name their provider gave.
    let token = tokens["access_token"].as_str().unwrap();
    let session = initialize(&t, Some(token)).await;
    let res = t
        .send(mcp_request(&json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_vibe","arguments":{"location":"London"}}}), Some(token), Some(&session)))
        .await;
    assert_eq!(
        json(&res)["result"]["content"][0]["text"],
        "Curious vibes for Ada Lovelace in London."
    );
    // Upstream tokens are not kept: nothing in KV mentions them.
    assert!(dump(&t).await.iter().all(|(_, v)| !v.contains("upstream-at")));

    // A replay of the same callback finds nothing.
    let again = callback(&t, &s, &format!("code=the-code&state={}", s.param("state"))).await;
    assert_eq!(again.status(), 400);
    assert!(text(&again).contains("already used"), "{}", text(&again));
}

#[tokio::test]
async fn claims_missing_from_the_id_token_come_from_userinfo_for_the_same_subject() {
    let t = app(&[]).await;
    let s = start(&t, "oidc").await;
    answer_token(&t, claims(&s, json!({})));
    t.fetch.answer(USERINFO, 200, &[], json!({"sub": "248289761001", "email": "bob@example.com", "email_verified": true, "name": "Bob"}).to_string());
    let consent = callback(&t, &s, &format!("code=c&state={}", s.param("state"))).await;
    assert_eq!(consent.status(), 200, "{}", text(&consent));
    let tokens = approve(&t, &s, &consent).await;
    assert_eq!(tokens["scope"], "mcp", "the domain rule, not the admin one");
    // Userinfo about somebody else is refused.
    let s = start(&t, "oidc").await;
    answer_token(&t, claims(&s, json!({})));
    t.fetch.answer(
        USERINFO,
        200,
        &[],
        json!({"sub": "someone-else", "email": "ada@example.com", "email_verified": true})
            .to_string(),
    );
    let res = callback(&t, &s, &format!("code=c&state={}", s.param("state"))).await;
    assert_eq!(res.status(), 502, "{}", text(&res));
}

#[tokio::test]
async fn the_rules_refuse_unknown_and_unverified_people_with_a_reason() {
    let t = app(&[]).await;
    for (email, verified, reason) in [
        ("eve@evil.example", true, "no access rule admits"),
        ("ada@example.com", false, "not verified"),
    ] {
        let s = start(&t, "oidc").await;
        answer_token(
            &t,
            claims(&s, json!({"email": email, "email_verified": verified, "name": "X"})),
        );
        let res = callback(&t, &s, &format!("code=c&state={}", s.param("state"))).await;
        assert_eq!(res.status(), 403, "{}", text(&res));
        let html = text(&res);
        assert!(html.contains(reason), "{html}");
        // Continuing tells the client access_denied, with its state and our issuer.
        let link = hidden_href(&html);
        assert!(link.starts_with(REDIRECT), "{link}");
        assert_eq!(query_param(&link, "error").as_deref(), Some("access_denied"));
        assert_eq!(query_param(&link, "state").as_deref(), Some("xyz"));
        assert_eq!(query_param(&link, "iss").as_deref(), Some(BASE));
        assert!(
            !res.headers()
                .get_all("set-cookie")
                .iter()
                .any(|c| c.to_str().unwrap().contains("mcp_edge_session=")),
            "no session for a refused person"
        );
    }
}

#[tokio::test]
async fn an_entra_id_token_without_email_verified_counts_its_domain_owner_claim() {
    // Entra ID (v2.0) sends `email` with no `email_verified`; with the optional claim `xms_edov`
    // the domain rule admits them, without it they are refused as unverified.
    let t = app(&[]).await;
    for (extra, admitted) in [
        (json!({"email": "pat@example.com", "name": "Pat", "xms_edov": true}), true),
        (json!({"email": "pat@example.com", "name": "Pat"}), false),
        (json!({"email": "pat@example.com", "name": "Pat", "xms_edov": "1"}), false),
    ] {
        let s = start(&t, "oidc").await;
        answer_token(&t, claims(&s, extra.clone()));
        let res = callback(&t, &s, &format!("code=c&state={}", s.param("state"))).await;
        let html = text(&res);
        if admitted {
            assert_eq!(res.status(), 200, "{extra}: {html}");
            assert!(html.contains("Allow access?"), "{html}");
        } else {
            assert_eq!(res.status(), 403, "{extra}: {html}");
            assert!(html.contains("not verified"), "{html}");
        }
    }
}

#[tokio::test]
async fn group_rules_admit_by_the_providers_groups_claim() {
    let rules = r#"[{"group":"mcp-admins","scopes":"mcp admin"},{"group":"staff","scopes":"mcp"}]"#;
    let t = app(&[("ACCESS_RULES", rules)]).await;
    // Userinfo (asked when the ID token lists no groups) knows of none either.
    t.fetch.answer(USERINFO, 200, &[], json!({"sub": "248289761001"}).to_string());
    for (groups, granted) in [
        (json!(["staff", "mcp-admins", "sales"]), Some("mcp admin")),
        (json!(["staff"]), Some("mcp")),
        (json!(["sales", 7]), None),
        (json!("mcp-admins"), None),
    ] {
        let s = start(&t, "oidc").await;
        // An address the provider does not vouch for: the groups alone decide.
        answer_token(
            &t,
            claims(&s, json!({"email": "gil@elsewhere.example", "name": "Gil", "groups": groups})),
        );
        let res = callback(&t, &s, &format!("code=c&state={}", s.param("state"))).await;
        let Some(granted) = granted else {
            assert_eq!(res.status(), 403, "{groups}: {}", text(&res));
            assert!(text(&res).contains("no access rule admits"), "{}", text(&res));
            continue;
        };
        assert_eq!(res.status(), 200, "{groups}: {}", text(&res));
        let token = approve(&t, &s, &res).await;
        assert_eq!(token["scope"], granted, "{groups}");
    }
    // An ID token with email and name but no groups: they come from userinfo (about the same
    // person), because a rule names a group.
    let s = start(&t, "oidc").await;
    answer_token(
        &t,
        claims(
            &s,
            json!({"email": "gil@elsewhere.example", "email_verified": true, "name": "Gil"}),
        ),
    );
    t.fetch.answer(
        USERINFO,
        200,
        &[],
        json!({"sub": "248289761001", "groups": ["mcp-admins"]}).to_string(),
    );
    let res = callback(&t, &s, &format!("code=c&state={}", s.param("state"))).await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    assert_eq!(approve(&t, &s, &res).await["scope"], "mcp admin");
}

fn hidden_href(html: &str) -> String {
    let start = html.find("id=\"continue\" href=\"").unwrap() + "id=\"continue\" href=\"".len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].replace("&amp;", "&")
}

#[tokio::test]
async fn failure_paths_show_pages_and_leave_nothing_behind() {
    let t = app(&[]).await;
    let expect = |res: &mcp_edge::web::Response, status: u16, words: &str| {
        assert_eq!(res.status(), status, "{}", text(res));
        assert!(text(res).contains(words), "{words:?} not in {}", text(res));
        assert!(!res
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().contains("mcp_edge_session=")));
    };
    // Cancelled at the provider.
    let s = start(&t, "oidc").await;
    let res = callback(&t, &s, &format!("error=access_denied&state={}", s.param("state"))).await;
    expect(&res, 403, "You cancelled signing in at Example ID");
    assert_eq!(query_param(&hidden_href(&text(&res)), "error").as_deref(), Some("access_denied"));
    // A foreign state (never issued), and one issued to another browser.
    let res = callback(&t, &s, "code=c&state=forged-state-value").await;
    expect(&res, 400, "already used, has expired");
    let s = start(&t, "oidc").await;
    answer_token(
        &t,
        claims(&s, json!({"email": "ada@example.com", "email_verified": true, "name": "Ada"})),
    );
    let stranger = Started { jar: "mcp_edge_upstream=another-browsers-binding-cookie".into(), ..s };
    let res = callback(&t, &stranger, &format!("code=c&state={}", stranger.param("state"))).await;
    expect(&res, 403, "started in another browser");
    assert!(
        !t.fetch.seen.borrow().iter().any(|(_, u, _)| u == TOKEN),
        "no code exchanged for a stranger"
    );
    // Expired: more than 10 minutes at the provider.
    let s = start(&t, "oidc").await;
    t.clock.advance(601);
    let res = callback(&t, &s, &format!("code=c&state={}", s.param("state"))).await;
    assert_eq!(res.status(), 400, "{}", text(&res));
    assert!(text(&res).contains("expired"), "{}", text(&res));
    // A mix-up: iss names another provider (RFC 9207).
    let s = start(&t, "oidc").await;
    let res = callback(
        &t,
        &s,
        &format!("code=c&state={}&iss=https%3A%2F%2Fevil.example", s.param("state")),
    )
    .await;
    expect(&res, 400, "RFC 9207");
    // The provider's token endpoint is down.
    let s = start(&t, "oidc").await;
    t.fetch.forget(TOKEN);
    let res = callback(&t, &s, &format!("code=c&state={}", s.param("state"))).await;
    expect(&res, 503, "Example ID is unavailable");
    t.fetch.answer(TOKEN, 502, &[], "bad gateway");
    let s = start(&t, "oidc").await;
    let res = callback(&t, &s, &format!("code=c&state={}", s.param("state"))).await;
    expect(&res, 503, "answered 502");
    // The provider refuses our code.
    t.fetch.answer(TOKEN, 400, &[], r#"{"error":"invalid_grant"}"#);
    let s = start(&t, "oidc").await;
    let res = callback(&t, &s, &format!("code=c&state={}", s.param("state"))).await;
    expect(&res, 400, "invalid_grant");
    // ID tokens for another audience, with the wrong nonce, from another issuer, expired.
    for (bad, why) in [
        (json!({"aud": "someone-else"}), "another application (aud)"),
        (json!({"nonce": "not-this-sign-in"}), "another sign-in (nonce)"),
        (json!({"iss": "https://evil.example"}), "someone else (iss)"),
        (json!({"exp": NOW - 3600}), "expired (exp)"),
    ] {
        let s = start(&t, "oidc").await;
        let mut c = claims(&s, json!({"email": "ada@example.com", "email_verified": true}));
        for (k, v) in bad.as_object().unwrap() {
            c[k] = v.clone();
        }
        answer_token(&t, c);
        let res = callback(&t, &s, &format!("code=c&state={}", s.param("state"))).await;
        expect(&res, 502, why);
    }
    // A signature that does not verify, a key the provider does not publish, an HMAC "signature".
    for ((kid, seed, alg), why) in [
        (("k1", 2, "EdDSA"), "does not verify"),
        (("k9", 1, "EdDSA"), "does not publish"),
        (("k1", 1, "HS256"), "this server verifies RS256 or EdDSA"),
    ] {
        let s = start(&t, "oidc").await;
        let c =
            claims(&s, json!({"email": "ada@example.com", "email_verified": true, "name": "Ada"}));
        t.fetch.answer(
            TOKEN,
            200,
            &[],
            json!({"access_token": "a", "id_token": signed(kid, seed, alg, &c)}).to_string(),
        );
        t.clock.advance(120);
        let res = callback(&t, &s, &format!("code=c&state={}", s.param("state"))).await;
        expect(&res, 502, why);
    }
    // No grant was written by any of this.
    assert!(dump(&t).await.iter().all(|(k, _)| !k.starts_with("grant:")), "{:?}", dump(&t).await);
}

#[tokio::test]
async fn a_provider_down_at_the_start_is_a_503_page_and_nothing_is_kept() {
    let t = app(&[]).await;
    t.fetch.forget(DISCOVERY);
    let client_id = register(&t).await;
    let page = t.get(&authorize_path(&client_id, "")).await;
    let res = press(&t, &page, "oidc").await;
    assert_eq!(res.status(), 503, "{}", text(&res));
    assert!(text(&res).contains("Example ID is unavailable"));
    assert!(dump(&t).await.iter().all(|(k, _)| !k.starts_with("upstream-pending:")));
    // A discovery document for another issuer is refused too.
    t.fetch.answer(DISCOVERY, 200, &[], json!({"issuer": "https://evil.example", "authorization_endpoint": "https://evil.example/a", "token_endpoint": "https://evil.example/t"}).to_string());
    let res = press(&t, &page, "oidc").await;
    assert_eq!(res.status(), 502, "{}", text(&res));
    // A discovery URL that redirects (an issuer set without its trailing slash, say) is not followed.
    t.fetch.answer(
        DISCOVERY,
        301,
        &[("location", "https://idp.example/x/.well-known/openid-configuration")],
        "",
    );
    let res = press(&t, &page, "oidc").await;
    assert_eq!(res.status(), 502, "{}", text(&res));
    assert!(text(&res).contains("redirects are not followed"), "{}", text(&res));
    // And a provider that is not configured is not offered.
    let res = press(&t, &page, "gitlab").await;
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn keys_are_cached_and_a_rotated_key_is_fetched_once() {
    let t = app(&[]).await;
    let fetched = |t: &TestApp| t.fetch.seen.borrow().iter().filter(|(_, u, _)| u == JWKS).count();
    for round in 1..=2 {
        let s = start(&t, "oidc").await;
        answer_token(
            &t,
            claims(&s, json!({"email": "ada@example.com", "email_verified": true, "name": "Ada"})),
        );
        let res = callback(&t, &s, &format!("code=c&state={}", s.param("state"))).await;
        assert_eq!(res.status(), 200, "{}", text(&res));
        assert_eq!(fetched(&t), 1, "round {round}: the keys come from KV after the first fetch");
    }
    // The provider rotates to k2: the unknown kid sends us back to its jwks_uri once.
    publish_keys(&t, &[("k2", 2)]);
    t.clock.advance(61);
    let s = start(&t, "oidc").await;
    let c = claims(&s, json!({"email": "ada@example.com", "email_verified": true, "name": "Ada"}));
    t.fetch.answer(
        TOKEN,
        200,
        &[],
        json!({"access_token": "a", "id_token": signed("k2", 2, "EdDSA", &c)}).to_string(),
    );
    let res = callback(&t, &s, &format!("code=c&state={}", s.param("state"))).await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    assert_eq!(fetched(&t), 2);
    // A token naming a key nobody publishes does not make us hammer the provider.
    let s = start(&t, "oidc").await;
    let c = claims(&s, json!({"email": "ada@example.com", "email_verified": true}));
    t.fetch.answer(
        TOKEN,
        200,
        &[],
        json!({"access_token": "a", "id_token": signed("k7", 7, "EdDSA", &c)}).to_string(),
    );
    let res = callback(&t, &s, &format!("code=c&state={}", s.param("state"))).await;
    assert_eq!(res.status(), 502, "{}", text(&res));
    assert_eq!(fetched(&t), 2, "keys fetched under a minute ago are not fetched again");
}

#[tokio::test]
async fn the_discovery_document_is_cached_in_kv() {
    let t = app(&[]).await;
    let s = start(&t, "oidc").await;
    let fetched =
        |t: &TestApp| t.fetch.seen.borrow().iter().filter(|(_, u, _)| u == DISCOVERY).count();
    assert_eq!(fetched(&t), 1);
    answer_token(
        &t,
        claims(&s, json!({"email": "ada@example.com", "email_verified": true, "name": "Ada"})),
    );
    let res = callback(&t, &s, &format!("code=c&state={}", s.param("state"))).await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    let _ = start(&t, "oidc").await;
    assert_eq!(fetched(&t), 1, "read from KV, not fetched again");
    t.clock.advance(3601);
    let _ = start(&t, "oidc").await;
    assert_eq!(fetched(&t), 2, "refetched after its hour");
}

// GitHub: the response shapes recorded from GitHub's documentation of the OAuth app flow,
// `GET /user` and `GET /user/emails` (api.github.com cannot be reached from the test machines).
const GH_TOKEN: &str = "https://github.com/login/oauth/access_token";
const GH_USER: &str = "https://api.github.com/user";
const GH_EMAILS: &str = "https://api.github.com/user/emails";

fn github_answers(t: &TestApp, login: &str, emails: Value) {
    t.fetch.answer(GH_TOKEN, 200, &[("content-type", "application/json; charset=utf-8")], r#"{"access_token":"gho_16C7e42F292c6912E7710c838347Ae178B4a","token_type":"bearer","scope":"read:user,user:email"}"#);
    t.fetch.answer(GH_USER, 200, &[("content-type", "application/json; charset=utf-8")], json!({"login": login, "id": 583231, "node_id": "MDQ6VXNlcjU4MzIzMQ==", "type": "User", "site_admin": false, "name": "The Octocat", "company": "@github", "email": null}).to_string());
    t.fetch.answer(
        GH_EMAILS,
        200,
        &[("content-type", "application/json; charset=utf-8")],
        emails.to_string(),
    );
}

#[tokio::test]
async fn github_sign_in_uses_the_numeric_id_and_the_verified_primary_email() {
    let t = app(&[]).await;
    let s = start(&t, "github").await;
    assert!(
        s.location.starts_with("https://github.com/login/oauth/authorize?client_id=gh-client"),
        "{}",
        s.location
    );
    assert_eq!(s.param("code_challenge_method"), "S256");
    assert_eq!(s.param("scope"), "read:user user:email");
    github_answers(
        &t,
        "octocat",
        json!([
            {"email": "octocat@github.com", "verified": true, "primary": true, "visibility": "public"},
            {"email": "ada@example.com", "verified": false, "primary": false, "visibility": null}
        ]),
    );
    let consent = callback(&t, &s, &format!("code=gh-code&state={}", s.param("state"))).await;
    assert_eq!(consent.status(), 200, "{}", text(&consent));
    assert!(text(&consent).contains("The Octocat"));
    let body = t
        .fetch
        .seen
        .borrow()
        .iter()
        .find(|(_, u, _)| u == GH_TOKEN)
        .map(|(_, _, b)| String::from_utf8(b.clone()).unwrap())
        .unwrap();
    assert!(body.contains("client_secret=gh-secret") && body.contains("code_verifier="), "{body}");
    let tokens = approve(&t, &s, &consent).await;
    assert_eq!(tokens["scope"], "mcp");
    assert_eq!(jwt_claims(tokens["access_token"].as_str().unwrap())["sub"], "github:583231");

    // An unverified address does not satisfy an email rule, even when it is the primary one.
    let s = start(&t, "github").await;
    github_answers(
        &t,
        "someone",
        json!([{"email": "ada@example.com", "verified": false, "primary": true}]),
    );
    let res = callback(&t, &s, &format!("code=gh-code&state={}", s.param("state"))).await;
    assert_eq!(res.status(), 403, "{}", text(&res));
    assert!(text(&res).contains("verified email"), "{}", text(&res));

    // GitHub refuses a code with 200 and an error body.
    let s = start(&t, "github").await;
    t.fetch.answer(GH_TOKEN, 200, &[], r#"{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired."}"#);
    let res = callback(&t, &s, &format!("code=gh-code&state={}", s.param("state"))).await;
    assert_eq!(res.status(), 400, "{}", text(&res));
    assert!(text(&res).contains("bad_verification_code"));
}

const GH_MEMBERSHIPS: &str =
    "https://api.github.com/user/memberships/orgs?state=active&per_page=100&page=1";
const GH_MEMBERSHIPS_2: &str =
    "https://api.github.com/user/memberships/orgs?state=active&per_page=100&page=2";

/// A membership in GitHub's documented shape (`GET /user/memberships/orgs`).
fn membership(org: &str, state: &str) -> Value {
    json!({"url": format!("https://api.github.com/orgs/{org}/memberships/octocat"), "state": state, "role": "member",
           "organization_url": format!("https://api.github.com/orgs/{org}"),
           "organization": {"login": org, "id": 1, "node_id": "MDEyOk9yZ2FuaXphdGlvbjE=", "url": format!("https://api.github.com/orgs/{org}")},
           "user": {"login": "octocat", "id": 583231}})
}

#[tokio::test]
async fn github_org_rules_ask_for_read_org_and_admit_active_members() {
    let rules =
        r#"[{"github_org":"Acme-Corp","scopes":"mcp admin"},{"github":"octocat","scopes":"mcp"}]"#;
    let t = app(&[("ACCESS_RULES", rules)]).await;
    for (memberships, granted) in [
        (json!([membership("other", "active"), membership("acme-corp", "active")]), "mcp admin"),
        // A pending invitation is not membership: the login rule decides.
        (json!([membership("acme-corp", "pending")]), "mcp"),
    ] {
        let s = start(&t, "github").await;
        assert_eq!(s.param("scope"), "read:user user:email read:org");
        github_answers(
            &t,
            "octocat",
            json!([{"email": "o@github.com", "verified": true, "primary": true}]),
        );
        t.fetch.answer(
            GH_MEMBERSHIPS,
            200,
            &[("content-type", "application/json; charset=utf-8")],
            memberships.to_string(),
        );
        let consent = callback(&t, &s, &format!("code=gh-code&state={}", s.param("state"))).await;
        assert_eq!(consent.status(), 200, "{}", text(&consent));
        assert_eq!(approve(&t, &s, &consent).await["scope"], granted, "{memberships}");
    }
    // Someone else, in no named organization: refused.
    let s = start(&t, "github").await;
    github_answers(
        &t,
        "hubot",
        json!([{"email": "h@github.com", "verified": true, "primary": true}]),
    );
    t.fetch.answer(GH_MEMBERSHIPS, 200, &[], json!([membership("other", "active")]).to_string());
    let res = callback(&t, &s, &format!("code=gh-code&state={}", s.param("state"))).await;
    assert_eq!(res.status(), 403, "{}", text(&res));
    // GitHub failing the memberships call fails the sign-in (never admits without knowing).
    let s = start(&t, "github").await;
    github_answers(
        &t,
        "octocat",
        json!([{"email": "o@github.com", "verified": true, "primary": true}]),
    );
    t.fetch.answer(GH_MEMBERSHIPS, 503, &[], "unavailable");
    let res = callback(&t, &s, &format!("code=gh-code&state={}", s.param("state"))).await;
    assert_eq!(res.status(), 503, "{}", text(&res));

    // A member of more than 100 organizations: the one the rule names is on the second page.
    let s = start(&t, "github").await;
    github_answers(
        &t,
        "octocat",
        json!([{"email": "o@github.com", "verified": true, "primary": true}]),
    );
    let first: Vec<Value> = (0..100).map(|i| membership(&format!("org-{i}"), "active")).collect();
    t.fetch.answer(GH_MEMBERSHIPS, 200, &[], Value::Array(first).to_string());
    t.fetch.answer(
        GH_MEMBERSHIPS_2,
        200,
        &[],
        json!([membership("acme-corp", "active")]).to_string(),
    );
    let consent = callback(&t, &s, &format!("code=gh-code&state={}", s.param("state"))).await;
    assert_eq!(consent.status(), 200, "{}", text(&consent));
    assert_eq!(approve(&t, &s, &consent).await["scope"], "mcp admin", "found on page 2");

    // Without an organization rule, GitHub is neither asked for read:org nor for memberships.
    let t = app(&[]).await;
    let s = start(&t, "github").await;
    assert_eq!(s.param("scope"), "read:user user:email");
    github_answers(
        &t,
        "octocat",
        json!([{"email": "o@github.com", "verified": true, "primary": true}]),
    );
    let consent = callback(&t, &s, &format!("code=gh-code&state={}", s.param("state"))).await;
    assert_eq!(consent.status(), 200, "{}", text(&consent));
    assert!(t.fetch.seen.borrow().iter().all(|(_, u, _)| !u.contains("/memberships/")));
}

#[tokio::test]
async fn only_the_configured_ways_in_are_offered_and_an_upstream_session_is_remembered() {
    // Production-like: no USERS, only the OpenID provider.
    let t = app(&[
        ("UPSTREAM_GITHUB_CLIENT_ID", ""),
        ("UPSTREAM_GITHUB_CLIENT_SECRET", ""),
        ("USERS", "[]"),
    ])
    .await;
    let client_id = register(&t).await;
    let page = t.get(&authorize_path(&client_id, "")).await;
    let html = text(&page);
    assert!(html.contains("Continue with Example ID"));
    assert!(
        !html.contains("GitHub")
            && !html.contains("name=\"password\"")
            && !html.contains("demo users"),
        "{html}"
    );
    // Signed in once: the next authorization goes straight to consent.
    let s = start_from(&t, &client_id, &page).await;
    answer_token(
        &t,
        claims(&s, json!({"email": "ada@example.com", "email_verified": true, "name": "Ada"})),
    );
    let consent = callback(&t, &s, &format!("code=c&state={}", s.param("state"))).await;
    assert_eq!(consent.status(), 200);
    let jar = cookies(&consent, &s.jar);
    let again = t
        .send(
            request("GET", &authorize_path(&client_id, ""))
                .header("cookie", &jar)
                .body(Vec::new())
                .unwrap(),
        )
        .await;
    assert!(text(&again).contains("Signed in as <b>Ada</b>"), "{}", text(&again));
    // And /account knows them.
    let account =
        t.send(request("GET", "/account").header("cookie", &jar).body(Vec::new()).unwrap()).await;
    assert!(text(&account).contains("Signed in as <b>Ada</b>"), "{}", text(&account));
}

async fn start_from(t: &TestApp, client_id: &str, page: &mcp_edge::web::Response) -> Started {
    let res = press(t, page, "oidc").await;
    assert_eq!(res.status(), 303, "{}", text(&res));
    Started {
        client_id: client_id.to_owned(),
        location: header(&res, "location").to_owned(),
        jar: cookies(&res, &cookies(page, "")),
    }
}

#[tokio::test]
async fn an_upstream_session_is_judged_by_the_rules_in_force_now() {
    let mut t = app(&[]).await;
    let s = start(&t, "oidc").await;
    answer_token(
        &t,
        claims(&s, json!({"email": "ada@example.com", "email_verified": true, "name": "Ada"})),
    );
    let consent = callback(&t, &s, &format!("code=c&state={}", s.param("state"))).await;
    assert_eq!(consent.status(), 200, "{}", text(&consent));
    let jar = cookies(&consent, &s.jar);
    let path = authorize_path(&s.client_id, "&scope=mcp%20admin");
    async fn page(t: &TestApp, path: &str, jar: &str) -> String {
        let req = request("GET", path).header("cookie", jar).body(Vec::new()).unwrap();
        text(&t.send(req).await)
    }
    assert!(page(&t, &path, &jar).await.contains("Signed in as <b>Ada</b>"));
    // The operator narrows the rules: the same cookie now gets mcp only …
    let reconfigure = |rules: &str| {
        let rules = rules.to_owned();
        Config::from_lookup(move |k| match k {
            "MCP_EDGE_ENV" => Some("development".into()),
            "UPSTREAM_OIDC_ISSUER" => Some(ISSUER.into()),
            "UPSTREAM_OIDC_CLIENT_ID" => Some("our-client".into()),
            "UPSTREAM_OIDC_CLIENT_SECRET" => Some("our-secret".into()),
            "ACCESS_RULES" => Some(rules.clone()),
            _ => None,
        })
        .unwrap()
    };
    t.app = mcp_edge::App::new(
        reconfigure(r#"[{"domain":"example.com","scopes":"mcp"}]"#),
        &t.services(),
    )
    .await
    .unwrap();
    let html = page(&t, &path, &jar).await;
    assert!(
        html.contains("Signed in as <b>Ada</b>")
            && html.contains("Not available to your account: admin"),
        "{html}"
    );
    // … and removing them from the rules signs them out.
    t.app = mcp_edge::App::new(
        reconfigure(r#"[{"domain":"other.example","scopes":"mcp"}]"#),
        &t.services(),
    )
    .await
    .unwrap();
    let html = page(&t, &path, &jar).await;
    assert!(html.contains("<h1>Sign in</h1>"), "{html}");
    // The callback spends its state on GET only: HEAD is refused without touching it.
    let res =
        t.send(request("HEAD", "/oauth/callback?state=x&code=y").body(Vec::new()).unwrap()).await;
    assert_eq!(res.status(), 405);
}

#[tokio::test]
async fn account_sign_in_goes_through_the_provider_too() {
    let t = app(&[
        ("USERS", "[]"),
        ("UPSTREAM_GITHUB_CLIENT_ID", ""),
        ("UPSTREAM_GITHUB_CLIENT_SECRET", ""),
    ])
    .await;
    let form = t.get("/account").await;
    let html = text(&form);
    assert!(
        html.contains("Continue with Example ID") && !html.contains("name=\"password\""),
        "{html}"
    );
    for (email, admitted) in [("ada@example.com", true), ("eve@evil.example", false)] {
        let jar = cookies(&form, "");
        let csrf = hidden(&html, "csrf");
        let res = t
            .post_form(
                "/account",
                &[("csrf", &csrf), ("action", "upstream"), ("provider", "oidc")],
                &jar,
            )
            .await;
        assert_eq!(res.status(), 303, "{}", text(&res));
        let s = Started {
            client_id: String::new(),
            location: header(&res, "location").to_owned(),
            jar: cookies(&res, &jar),
        };
        assert!(s.location.starts_with("https://idp.example/authorize?"), "{}", s.location);
        answer_token(
            &t,
            claims(&s, json!({"email": email, "email_verified": true, "name": "Ada"})),
        );
        let back = callback(&t, &s, &format!("code=c&state={}", s.param("state"))).await;
        if admitted {
            assert_eq!(back.status(), 303, "{}", text(&back));
            assert_eq!(header(&back, "location"), "/account");
            let jar = cookies(&back, &s.jar);
            let page = t
                .send(request("GET", "/account").header("cookie", &jar).body(Vec::new()).unwrap())
                .await;
            assert!(text(&page).contains("Signed in as <b>Ada</b>"), "{}", text(&page));
        } else {
            assert_eq!(back.status(), 403, "{}", text(&back));
            assert!(
                text(&back).contains("no access rule admits")
                    && !text(&back).contains("id=\"continue\"")
            );
        }
    }
}

/// Issue 23 item 2: the access rules apply again at every refresh, to the identity the
/// sign-in kept in the grant (on 1664b2e the refresh kept `mcp admin` whatever the rules said).
#[tokio::test]
async fn a_refresh_applies_the_access_rules_as_they_are_now() {
    let mut t = app(&[]).await;
    let s = start(&t, "oidc").await;
    answer_token(
        &t,
        claims(&s, json!({"email": "ada@example.com", "email_verified": true, "name": "Ada"})),
    );
    let q =
        format!("code=c&state={}&iss={}", s.param("state"), mcp_edge::web::percent_encode(ISSUER));
    let consent = callback(&t, &s, &q).await;
    let tokens = approve(&t, &s, &consent).await;
    assert_eq!(tokens["scope"], "mcp admin");
    async fn refresh(t: &TestApp, client_id: &str, token: &str) -> Value {
        let form =
            [("grant_type", "refresh_token"), ("refresh_token", token), ("client_id", client_id)];
        json(&t.post_form("/token", &form, "").await)
    }
    let vars = |rules: &'static str| {
        move |k: &str| match k {
            "MCP_EDGE_ENV" => Some("development".to_owned()),
            "UPSTREAM_OIDC_ISSUER" => Some(ISSUER.to_owned()),
            "UPSTREAM_OIDC_CLIENT_ID" => Some("our-client".to_owned()),
            "UPSTREAM_OIDC_CLIENT_SECRET" => Some("our-secret".to_owned()),
            "ACCESS_RULES" => Some(rules.to_owned()),
            _ => None,
        }
    };
    // The rule that gave `admin` is gone; her domain still admits her with `mcp`.
    t.restart(Config::from_lookup(vars(r#"[{"domain":"example.com","scopes":"mcp"}]"#)).unwrap())
        .await;
    let r = refresh(&t, &s.client_id, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(r["scope"], "mcp", "{r}");
    // No rule admits her any more.
    t.restart(Config::from_lookup(vars(r#"[{"github":"octocat","scopes":"mcp"}]"#)).unwrap()).await;
    let r = refresh(&t, &s.client_id, r["refresh_token"].as_str().unwrap()).await;
    assert_eq!(r["error"], "invalid_grant", "{r}");
    assert!(r["error_description"].as_str().unwrap().contains("no access rule"), "{r}");
}
