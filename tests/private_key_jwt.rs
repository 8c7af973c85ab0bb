//! `private_key_jwt` (RFC 7523 §2.2, RFC 7521 §4.2): clients that authenticate at /token with a
//! JWT signed by a key from their `jwks_uri` (fetched and cached like metadata documents) or
//! inline `jwks`. ES256 and RS256; single-use `jti`; every failure is 401 `invalid_client`.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use jwt_compact::alg::{Es256, Rsa, RsaPrivateKey};
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::{AlgorithmExt, Claims, Header};
use mcp_edge::web::percent_encode;
use serde_json::{json, Value};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const CHATGPT: &str = "https://chatgpt.com/oauth/5f3c2a9e41d7b8c6/client.json";
const CHATGPT_JWKS: &str = "https://chatgpt.com/oauth/jwks.json";
const CHATGPT_REDIRECT: &str = "https://chatgpt.com/connector_platform_oauth_redirect";
const JSON: (&str, &str) = ("content-type", "application/json");

type EcKey = <Es256 as jwt_compact::Algorithm>::SigningKey;

fn ec_key(seed: u8) -> (EcKey, Value) {
    let sk = EcKey::from_slice(&[seed; 32]).unwrap();
    let mut jwk = serde_json::to_value(JsonWebKey::from(sk.verifying_key())).unwrap();
    jwk["kid"] = json!(format!("ec-{seed}"));
    (sk, jwk)
}

fn rsa_key() -> RsaPrivateKey {
    let jwk: JsonWebKey = serde_json::from_str(&fixture("test-rsa-private.jwk.json")).unwrap();
    RsaPrivateKey::try_from(&jwk).unwrap()
}

enum Key<'a> {
    Ec(&'a EcKey, &'a str),
    Rsa(&'a RsaPrivateKey, &'a str),
}

fn sign(key: &Key, claims: Value) -> String {
    let mut c = Claims::new(claims);
    c.issued_at = chrono::DateTime::from_timestamp(NOW as i64, 0);
    match key {
        Key::Ec(sk, kid) => Es256.token(&Header::empty().with_key_id(*kid), &c, sk).unwrap(),
        Key::Rsa(sk, kid) => {
            Rsa::rs256().token(&Header::empty().with_key_id(*kid), &c, sk).unwrap()
        }
    }
}

/// Claims for `client_id` at our token endpoint, expiring in 60 s, with a fresh jti.
fn claims(client_id: &str, jti: &str) -> Value {
    json!({"iss": client_id, "sub": client_id, "aud": format!("{BASE}/token"), "jti": jti, "exp": NOW + 60})
}

fn authorize_url(client_id: &str, redirect_uri: &str) -> String {
    format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={}&state=xyz&code_challenge={}&code_challenge_method=S256",
        percent_encode(client_id),
        percent_encode(redirect_uri),
        challenge(VERIFIER)
    )
}

/// Signs in as alice and approves; the code.
async fn code_for(t: &TestApp, client_id: &str, redirect_uri: &str) -> String {
    let location =
        sign_in_and_approve_at(t, &authorize_url(client_id, redirect_uri), "alice").await;
    query_param(&location, "code").unwrap()
}

async fn exchange(
    t: &TestApp,
    code: &str,
    assertion: &str,
    client_id: Option<&str>,
) -> mcp_edge::web::Response {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("code_verifier", VERIFIER),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion),
    ];
    if let Some(id) = client_id {
        form.push(("client_id", id));
    }
    t.post_form("/token", &form, "").await
}

async fn refresh(t: &TestApp, token: &str, assertion: &str) -> mcp_edge::web::Response {
    t.post_form(
        "/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion),
        ],
        "",
    )
    .await
}

fn assert_invalid_client(res: &mcp_edge::web::Response, why: &str) {
    assert_eq!(res.status(), 401, "{why}: {}", text(res));
    assert_eq!(json(res)["error"], "invalid_client", "{why}");
}

async fn call_echo(t: &TestApp, access: &str) {
    let session = initialize(t, Some(access)).await;
    let call = json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"pkjwt"}}});
    let res = t.send(mcp_request(&call, Some(access), Some(&session))).await;
    assert!(text(&res).contains("Echo: pkjwt"), "{}", text(&res));
}

#[tokio::test]
async fn chatgpt_replay_signs_in_with_rs256_from_its_jwks_uri() {
    let t = TestApp::new().await;
    t.fetch.answer(
        CHATGPT,
        200,
        &[JSON, ("cache-control", "max-age=3600")],
        fixture("chatgpt.json"),
    );
    t.fetch.answer(
        CHATGPT_JWKS,
        200,
        &[JSON, ("cache-control", "max-age=3600")],
        fixture("chatgpt-jwks.json"),
    );
    let sk = rsa_key();
    let key = Key::Rsa(&sk, "test-rsa-1");
    let code = code_for(&t, CHATGPT, CHATGPT_REDIRECT).await;
    // client_id is optional with an assertion (its sub names the client).
    let res = exchange(&t, &code, &sign(&key, claims(CHATGPT, "a1")), None).await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    let tokens = json(&res);
    call_echo(&t, tokens["access_token"].as_str().unwrap()).await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();

    // The same assertion again is a replay, whatever the grant.
    assert_invalid_client(
        &refresh(&t, &refresh_token, &sign(&key, claims(CHATGPT, "a1"))).await,
        "jti replay",
    );
    // A new one works; the issuer as audience too.
    let mut c = claims(CHATGPT, "a2");
    c["aud"] = json!([BASE]);
    let res = refresh(&t, &refresh_token, &sign(&key, c)).await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    // Without an assertion there is no fallback to `none`.
    let res = t
        .post_form(
            "/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", json(&res)["refresh_token"].as_str().unwrap()),
                ("client_id", CHATGPT),
            ],
            "",
        )
        .await;
    assert_invalid_client(&res, "no assertion");
    // The JWK set was fetched once (cached per its headers).
    let fetched = t.fetch.seen.borrow().iter().filter(|(_, u, _)| u == CHATGPT_JWKS).count();
    assert_eq!(fetched, 1);
    // Revocation authenticates the same way (aud: the revocation endpoint, the issuer or /token).
    let mut c = claims(CHATGPT, "rv1");
    c["aud"] = json!(format!("{BASE}/revoke"));
    let res = t
        .post_form(
            "/revoke",
            &[
                ("token", &refresh_token),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", &sign(&key, c)),
            ],
            "",
        )
        .await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    let res =
        t.post_form("/revoke", &[("token", &refresh_token), ("client_id", CHATGPT)], "").await;
    assert_invalid_client(&res, "revoke without an assertion");
}

/// Registers a client with private_key_jwt and these keys (inline `jwks`, or a `jwks_uri`).
async fn register_pkjwt(t: &TestApp, keys: Value) -> String {
    let mut meta = json!({"redirect_uris": [REDIRECT], "client_name": "Signed", "token_endpoint_auth_method": "private_key_jwt"});
    for (k, v) in keys.as_object().unwrap() {
        meta[k] = v.clone();
    }
    let res = t.post_json("/register", &meta).await;
    assert_eq!(res.status(), 201, "{}", text(&res));
    let body = json(&res);
    assert!(body.get("client_secret").is_none(), "no secret for private_key_jwt");
    assert_eq!(body["token_endpoint_auth_method"], "private_key_jwt");
    body["client_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn registered_clients_may_choose_private_key_jwt_with_es256() {
    let t = TestApp::new().await;
    let (sk, jwk) = ec_key(3);
    let client_id = register_pkjwt(&t, json!({"jwks": {"keys": [jwk]}})).await;
    let code = code_for(&t, &client_id, REDIRECT).await;
    let res = exchange(
        &t,
        &code,
        &sign(&Key::Ec(&sk, "ec-3"), claims(&client_id, "e1")),
        Some(&client_id),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    call_echo(&t, json(&res)["access_token"].as_str().unwrap()).await;

    // Registration refuses what cannot work.
    for (why, meta) in [
        ("no keys", json!({})),
        ("both", json!({"jwks": {"keys": [jwk]}, "jwks_uri": "https://x.example.com/jwks"})),
        (
            "private key",
            json!({"jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "d": "c"}]}}),
        ),
        ("jwks_uri on an address", json!({"jwks_uri": "https://10.0.0.1/jwks"})),
    ] {
        let mut m =
            json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "private_key_jwt"});
        for (k, v) in meta.as_object().unwrap() {
            m[k] = v.clone();
        }
        let res = t.post_json("/register", &m).await;
        assert_eq!(res.status(), 400, "{why}: {}", text(&res));
        assert_eq!(json(&res)["error"], "invalid_client_metadata", "{why}");
    }
}

#[tokio::test]
async fn bad_assertions_are_invalid_client() {
    let t = TestApp::new().await;
    let (sk, jwk) = ec_key(4);
    let (other, _) = ec_key(5);
    let client_id = register_pkjwt(&t, json!({"jwks": {"keys": [jwk]}})).await;
    let public = register(&t).await;
    let key = Key::Ec(&sk, "ec-4");
    let with = |k: &str, v: Value| {
        let mut c = claims(&client_id, &format!("bad-{k}"));
        c[k] = v;
        c
    };
    let cases: Vec<(&str, String)> = vec![
        ("another key", sign(&Key::Ec(&other, "ec-4"), claims(&client_id, "k"))),
        ("iss differs", sign(&key, with("iss", json!("someone")))),
        ("sub differs", sign(&key, with("sub", json!(public.clone())))),
        ("aud elsewhere", sign(&key, with("aud", json!("https://evil.example/token")))),
        ("aud the mcp endpoint", sign(&key, with("aud", json!(format!("{BASE}/mcp"))))),
        ("expired", sign(&key, with("exp", json!(NOW - 120)))),
        ("exp too far", sign(&key, with("exp", json!(NOW + 3600)))),
        (
            "no exp",
            sign(
                &key,
                json!({"iss": client_id, "sub": client_id, "aud": format!("{BASE}/token"), "jti": "x"}),
            ),
        ),
        (
            "no jti",
            sign(
                &key,
                json!({"iss": client_id, "sub": client_id, "aud": format!("{BASE}/token"), "exp": NOW + 60}),
            ),
        ),
        ("not yet valid", sign(&key, with("nbf", json!(NOW + 300)))),
        ("garbage", "not.a.jwt".into()),
        ("alg none", {
            let t = sign(&key, claims(&client_id, "n"));
            let rest = t.split_once('.').unwrap().1;
            format!(
                "{}.{}",
                mcp_edge::crypto::b64(br#"{"alg":"none"}"#),
                rest.rsplit_once('.').unwrap().0
            ) + "."
        }),
    ];
    for (why, assertion) in cases {
        let code = code_for(&t, &client_id, REDIRECT).await;
        let res = exchange(&t, &code, &assertion, None).await;
        assert_invalid_client(&res, why);
    }
    let code = code_for(&t, &client_id, REDIRECT).await;
    // The wrong assertion type, a mismatched client_id, and a public client using an assertion.
    let good = sign(&key, claims(&client_id, "g1"));
    let res = t
        .post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", VERIFIER),
                ("client_assertion_type", "urn:x"),
                ("client_assertion", &good),
            ],
            "",
        )
        .await;
    assert_invalid_client(&res, "wrong type");
    assert_invalid_client(&exchange(&t, &code, &good, Some(&public)).await, "client_id is not sub");
    let res = exchange(&t, &code, &sign(&key, claims(&public, "p1")), None).await;
    assert_invalid_client(&res, "a public client");
    // Basic and an assertion together: one method per request (RFC 6749 §2.3).
    let res = t
        .send(
            request("POST", "/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("authorization", "Basic eDp5")
                .body(
                    encode_form(&[
                        ("grant_type", "authorization_code"),
                        ("code", &code),
                        ("code_verifier", VERIFIER),
                        ("client_assertion_type", ASSERTION_TYPE),
                        ("client_assertion", &good),
                    ])
                    .into_bytes(),
                )
                .unwrap(),
        )
        .await;
    assert_eq!(res.status(), 400, "{}", text(&res));
    // And the untouched code still works with the good assertion.
    let res = exchange(&t, &code, &good, Some(&client_id)).await;
    assert_eq!(res.status(), 200, "{}", text(&res));
}

#[tokio::test]
async fn a_rotated_key_is_found_by_fetching_the_jwks_again() {
    let t = TestApp::new().await;
    let uri = "https://keys.example.com/jwks.json";
    let (old, old_jwk) = ec_key(6);
    let (new, new_jwk) = ec_key(7);
    t.fetch.answer(
        uri,
        200,
        &[JSON, ("cache-control", "max-age=86400")],
        json!({"keys": [old_jwk]}).to_string(),
    );
    let client_id = register_pkjwt(&t, json!({"jwks_uri": uri})).await;
    let code = code_for(&t, &client_id, REDIRECT).await;
    let res =
        exchange(&t, &code, &sign(&Key::Ec(&old, "ec-6"), claims(&client_id, "r1")), None).await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    let rt = json(&res)["refresh_token"].as_str().unwrap().to_owned();
    // The client rotates; our cached copy does not have the new key yet.
    t.fetch.answer(uri, 200, &[JSON], json!({"keys": [new_jwk]}).to_string());
    let res = refresh(&t, &rt, &sign(&Key::Ec(&new, "ec-7"), claims(&client_id, "r2"))).await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    assert_eq!(t.fetch.seen.borrow().iter().filter(|(_, u, _)| u == uri).count(), 2);
    // An unreachable jwks_uri is invalid_client, not a 500.
    t.fetch.forget(uri);
    let rt = json(&res)["refresh_token"].as_str().unwrap().to_owned();
    let res = refresh(&t, &rt, &sign(&Key::Ec(&old, "ec-6"), claims(&client_id, "r3"))).await;
    assert_invalid_client(&res, "unreachable keys");
}

/// Issue 23 item 7: the `jti` check read KV and wrote it after the handler, so concurrent
/// replays of one captured assertion all passed. The ledger's claim is atomic: one wins.
#[tokio::test]
async fn concurrent_replays_of_one_assertion_use_it_once() {
    let t = TestApp::new().await;
    let (sk, jwk) = ec_key(4);
    let client_id = register_pkjwt(&t, json!({"jwks": {"keys": [jwk]}})).await;
    let code = code_for(&t, &client_id, REDIRECT).await;
    let first = exchange(
        &t,
        &code,
        &sign(&Key::Ec(&sk, "ec-4"), claims(&client_id, "e0")),
        Some(&client_id),
    )
    .await;
    let rt = json(&first)["refresh_token"].as_str().unwrap().to_owned();
    let captured = sign(&Key::Ec(&sk, "ec-4"), claims(&client_id, "captured"));
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt.as_str()),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", captured.as_str()),
    ];
    let all = t
        .send_together(
            (0..8)
                .map(|_| {
                    request("POST", "/token")
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(encode_form(&form).into_bytes())
                        .unwrap()
                })
                .collect(),
        )
        .await;
    let ok = all.iter().filter(|r| r.status() == 200).count();
    assert_eq!(ok, 1, "{:?}", all.iter().map(text).collect::<Vec<_>>());
    for r in all.iter().filter(|r| r.status() != 200) {
        assert!(text(r).contains("jti replay"), "{}", text(r));
    }
}
