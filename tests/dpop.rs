//! DPoP (RFC 9449): a proof at /token binds the access token (`cnf.jkt`, `token_type: DPoP`)
//! and a public client's refresh token to the client's key; /mcp then takes the token only as
//! `Authorization: DPoP` with a fresh, unseen proof for that request. Bearer clients are
//! unaffected.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use jwt_compact::alg::Es256;
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::{AlgorithmExt, Claims, Header};
use mcp_edge::crypto::{b64, sha256_b64};
use serde_json::{json, Value};

type EcKey = <Es256 as jwt_compact::Algorithm>::SigningKey;

struct Holder {
    sk: EcKey,
    jwk: Value,
    n: std::cell::Cell<u32>,
}

impl Holder {
    fn new(seed: u8) -> Holder {
        let sk = EcKey::from_slice(&[seed; 32]).unwrap();
        let jwk = serde_json::to_value(JsonWebKey::from(sk.verifying_key())).unwrap();
        Holder { sk, jwk, n: Default::default() }
    }

    fn jkt(&self) -> String {
        let jwk: JsonWebKey = serde_json::from_value(self.jwk.clone()).unwrap();
        b64(&jwk.thumbprint::<sha2::Sha256>())
    }

    /// A proof with these claims over the defaults (fresh jti, iat now).
    fn proof_with(&self, htm: &str, url: &str, token: Option<&str>, extra: Value) -> String {
        self.n.set(self.n.get() + 1);
        let mut c = json!({"jti": format!("p{}", self.n.get()), "htm": htm, "htu": url});
        if let Some(t) = token {
            c["ath"] = json!(sha256_b64(t));
        }
        let mut iat = NOW;
        for (k, v) in extra.as_object().unwrap() {
            if k == "iat" {
                iat = v.as_u64().unwrap();
            } else {
                c[k] = v.clone();
            }
        }
        let mut claims = Claims::new(c);
        claims.issued_at = chrono::DateTime::from_timestamp(iat as i64, 0);
        let header = Header::new(json!({"jwk": self.jwk})).with_token_type("dpop+jwt");
        Es256.token(&header, &claims, &self.sk).unwrap()
    }

    fn proof(&self, htm: &str, url: &str, token: Option<&str>) -> String {
        self.proof_with(htm, url, token, json!({}))
    }
}

fn form_request(path: &str, form: &[(&str, &str)], dpop: Option<&str>) -> mcp_edge::web::Request {
    let mut b = request("POST", path).header("content-type", "application/x-www-form-urlencoded");
    if let Some(p) = dpop {
        b = b.header("dpop", p);
    }
    b.body(encode_form(form).into_bytes()).unwrap()
}

/// A registered public client and a code alice approved for it.
async fn client_and_code(t: &TestApp) -> (String, String) {
    let client_id = register(t).await;
    let location = sign_in_and_approve(t, &client_id, "alice", "").await;
    (client_id, query_param(&location, "code").unwrap())
}

/// The form that redeems `code` for `client_id` (with the test PKCE verifier).
fn code_form<'a>(code: &'a str, client_id: &'a str) -> [(&'static str, &'a str); 4] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("code_verifier", VERIFIER),
        ("client_id", client_id),
    ]
}

/// Signs in with a registered public client and redeems the code with a DPoP proof.
async fn dpop_tokens(t: &TestApp, key: &Holder) -> (String, Value) {
    let (client_id, code) = client_and_code(t).await;
    let form = code_form(&code, &client_id);
    let proof = key.proof("POST", &format!("{BASE}/token"), None);
    let res = t.send(form_request("/token", &form, Some(&proof))).await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    (client_id, json(&res))
}

fn claims_of(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&mcp_edge::crypto::unb64(part).unwrap()).unwrap()
}

fn mcp_with(
    body: &Value,
    auth: &str,
    proof: Option<&str>,
    session: Option<&str>,
) -> mcp_edge::web::Request {
    let mut req = mcp_request(body, None, session);
    req.headers_mut().insert("authorization", auth.parse().unwrap());
    if let Some(p) = proof {
        req.headers_mut().insert("dpop", p.parse().unwrap());
    }
    req
}

fn init_body() -> Value {
    json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})
}

fn assert_dpop_refusal(res: &mcp_edge::web::Response, error: &str, why: &str) {
    assert_eq!(res.status(), 401, "{why}: {}", text(res));
    let challenge = header(res, "www-authenticate");
    assert!(challenge.starts_with("DPoP "), "{why}: {challenge}");
    assert!(challenge.contains(&format!("error=\"{error}\"")), "{why}: {challenge}");
    assert!(challenge.contains("algs=\"ES256 RS256\""), "{why}: {challenge}");
}

#[tokio::test]
async fn a_dpop_client_gets_a_bound_token_and_uses_it_with_proofs() {
    let t = TestApp::new().await;
    let key = Holder::new(11);
    let (_, tokens) = dpop_tokens(&t, &key).await;
    assert_eq!(tokens["token_type"], "DPoP");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims_of(&access)["cnf"]["jkt"], key.jkt());

    let mcp = format!("{BASE}/mcp");
    let auth = format!("DPoP {access}");
    let res = t
        .send(mcp_with(&init_body(), &auth, Some(&key.proof("POST", &mcp, Some(&access))), None))
        .await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    let session = header(&res, "mcp-session-id").to_owned();
    let call = json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"dpop"}}});
    let res = t
        .send(mcp_with(&call, &auth, Some(&key.proof("POST", &mcp, Some(&access))), Some(&session)))
        .await;
    assert!(text(&res).contains("Echo: dpop"), "{}", text(&res));
}

#[tokio::test]
async fn bad_proofs_and_bearer_use_of_a_bound_token_are_refused() {
    let t = TestApp::new().await;
    let key = Holder::new(12);
    let other = Holder::new(13);
    let (_, tokens) = dpop_tokens(&t, &key).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let mcp = format!("{BASE}/mcp");
    let auth = format!("DPoP {access}");
    let body = init_body();

    // Bearer use of a DPoP-bound token (RFC 9449 §7.2).
    let res = t.send(mcp_with(&body, &format!("Bearer {access}"), None, None)).await;
    assert_dpop_refusal(&res, "invalid_token", "Bearer use");
    let res = t
        .send(mcp_with(
            &body,
            &format!("Bearer {access}"),
            Some(&key.proof("POST", &mcp, Some(&access))),
            None,
        ))
        .await;
    assert_dpop_refusal(&res, "invalid_token", "Bearer use with a proof");

    let reused = key.proof("POST", &mcp, Some(&access));
    assert_eq!(t.send(mcp_with(&body, &auth, Some(&reused), None)).await.status(), 200);
    let typ_jwt = {
        let p = key.proof("POST", &mcp, Some(&access));
        let (_, rest) = p.split_once('.').unwrap();
        let header = json!({"alg": "ES256", "typ": "JWT", "jwk": key.jwk});
        format!("{}.{rest}", b64(header.to_string().as_bytes()))
    };
    let cases: Vec<(&str, Option<String>)> = vec![
        ("no proof", None),
        ("reused jti", Some(reused)),
        ("wrong htu", Some(key.proof("POST", &format!("{BASE}/token"), Some(&access)))),
        ("htu on another host", Some(key.proof("POST", "http://evil.example/mcp", Some(&access)))),
        ("wrong htm", Some(key.proof("DELETE", &mcp, Some(&access)))),
        ("wrong ath", Some(key.proof("POST", &mcp, Some("another-token")))),
        ("no ath", Some(key.proof("POST", &mcp, None))),
        ("stale iat", Some(key.proof_with("POST", &mcp, Some(&access), json!({"iat": NOW - 600})))),
        (
            "future iat",
            Some(key.proof_with("POST", &mcp, Some(&access), json!({"iat": NOW + 600}))),
        ),
        ("another key", Some(other.proof("POST", &mcp, Some(&access)))),
        ("typ JWT (header swapped, signature broken too)", Some(typ_jwt)),
        ("garbage", Some("x.y.z".into())),
    ];
    for (why, proof) in cases {
        let res = t.send(mcp_with(&body, &auth, proof.as_deref(), None)).await;
        assert_dpop_refusal(&res, "invalid_dpop_proof", why);
    }
    // A fresh good proof still works: nothing above poisoned the token.
    let res =
        t.send(mcp_with(&body, &auth, Some(&key.proof("POST", &mcp, Some(&access))), None)).await;
    assert_eq!(res.status(), 200, "{}", text(&res));
}

#[tokio::test]
async fn a_public_clients_refresh_token_is_bound_to_its_key() {
    let t = TestApp::new().await;
    let key = Holder::new(14);
    let other = Holder::new(15);
    let (client_id, tokens) = dpop_tokens(&t, &key).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let token_url = format!("{BASE}/token");
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
        ("client_id", client_id.as_str()),
    ];
    for (why, proof) in
        [("no proof", None), ("another key", Some(other.proof("POST", &token_url, None)))]
    {
        let res = t.send(form_request("/token", &form, proof.as_deref())).await;
        assert_eq!(res.status(), 400, "{why}: {}", text(&res));
        assert_eq!(json(&res)["error"], "invalid_grant", "{why}");
    }
    // A bad proof is invalid_dpop_proof (RFC 9449 §5).
    let res = t
        .send(form_request(
            "/token",
            &form,
            Some(&key.proof("POST", &format!("{BASE}/other"), None)),
        ))
        .await;
    assert_eq!(res.status(), 400);
    assert_eq!(json(&res)["error"], "invalid_dpop_proof");
    // The grant survived the attempts: the key holder refreshes.
    let res =
        t.send(form_request("/token", &form, Some(&key.proof("POST", &token_url, None)))).await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    let body = json(&res);
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(claims_of(body["access_token"].as_str().unwrap())["cnf"]["jkt"], key.jkt());
}

#[tokio::test]
async fn bearer_clients_keep_working_and_metadata_advertises_dpop() {
    let t = TestApp::new().await;
    let (_, tokens) = tokens_for(&t, "bob").await;
    assert_eq!(tokens["token_type"], "Bearer");
    let access = tokens["access_token"].as_str().unwrap();
    assert!(claims_of(access).get("cnf").is_none());
    initialize(&t, Some(access)).await;
    // The DPoP scheme with an unbound token is refused.
    let key = Holder::new(16);
    let proof = key.proof("POST", &format!("{BASE}/mcp"), Some(access));
    let res = t.send(mcp_with(&init_body(), &format!("DPoP {access}"), Some(&proof), None)).await;
    assert_dpop_refusal(&res, "invalid_token", "DPoP scheme, unbound token");
    for path in
        ["/.well-known/oauth-authorization-server", "/.well-known/oauth-protected-resource/mcp"]
    {
        let doc = json(&t.get(path).await);
        assert_eq!(doc["dpop_signing_alg_values_supported"], json!(["ES256", "RS256"]), "{path}");
    }
}

/// Registers, signs in and approves at location `at` of `w`; the client id and the code.
async fn code_at(w: &common::locations::World, at: usize) -> (String, String) {
    let res = w
        .post_json(at, "/register", &json!({"redirect_uris": [REDIRECT], "client_name": "Sim"}))
        .await;
    let client_id = json(&res)["client_id"].as_str().unwrap().to_owned();
    let page = w.get(at, &authorize_path(&client_id, "")).await;
    let (jar, html) = (cookies(&page, ""), text(&page));
    let (request, csrf) = (hidden(&html, "request"), hidden(&html, "csrf"));
    let form = [
        ("request", request.as_str()),
        ("csrf", csrf.as_str()),
        ("action", "signin"),
        ("username", "alice"),
        ("password", "alice"),
    ];
    let signed = w.post_form(at, "/authorize", &form, &jar).await;
    let (jar, html) = (cookies(&signed, &jar), text(&signed));
    let (request, csrf) = (hidden(&html, "request"), hidden(&html, "csrf"));
    let approve = [("request", request.as_str()), ("csrf", csrf.as_str()), ("action", "approve")];
    let approved = w.post_form(at, "/authorize", &approve, &jar).await;
    assert_eq!(approved.status(), 302, "{}", text(&approved));
    (client_id, query_param(header(&approved, "location"), "code").unwrap())
}

#[tokio::test]
async fn a_refresh_where_the_code_exchange_is_not_visible_yet_binds_to_its_own_proof() {
    let w = common::locations::World::new(2, 60).await;
    let (client_id, code) = code_at(&w, 0).await;
    w.settle();
    let key = Holder::new(21);
    let token_url = format!("{BASE}/token");
    // A proof made now (the world's clock moves as KV settles).
    let fresh = || key.proof_with("POST", &token_url, None, json!({"iat": w.clock.0.get()}));
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("code_verifier", VERIFIER),
        ("client_id", client_id.as_str()),
    ];
    let res = w.send(0, form_request("/token", &exchange, Some(&fresh()))).await;
    assert_eq!(json(&res)["token_type"], "DPoP", "{}", text(&res));
    let r0 = json(&res)["refresh_token"].as_str().unwrap().to_owned();
    w.clock.advance(2);
    // Location 1 still holds the grant as pending, without its binding: this refresh's proof
    // binds it there.
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", r0.as_str()),
        ("client_id", client_id.as_str()),
    ];
    let res = w.send(1, form_request("/token", &form, Some(&fresh()))).await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    assert_eq!(claims_of(json(&res)["access_token"].as_str().unwrap())["cnf"]["jkt"], key.jkt());
    let r1 = json(&res)["refresh_token"].as_str().unwrap().to_owned();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", r1.as_str()),
        ("client_id", client_id.as_str()),
    ];
    let res = w.send(1, form_request("/token", &form, None)).await;
    assert_eq!(json(&res)["error"], "invalid_grant", "{}", text(&res));
    // Once settled, both locations agree and the key holder goes on refreshing.
    w.settle();
    let res = w.send(0, form_request("/token", &form, Some(&fresh()))).await;
    assert_eq!(res.status(), 200, "{}", text(&res));
}

/// `DPOP_NONCES=on`: every proof must carry a nonce the server issued (RFC 9449 §8 at /token,
/// §9 at the resource); without one, or with a stale or foreign one, the answer is
/// `use_dpop_nonce` with a fresh nonce in `DPoP-Nonce`, and the retry with it works.
#[tokio::test]
async fn with_server_nonces_a_proof_needs_a_recent_nonce_of_ours() {
    let config = mcp_edge::config::Config::from_lookup(|k| match k {
        "MCP_EDGE_ENV" => Some("development".into()),
        "DPOP_NONCES" => Some("on".into()),
        _ => None,
    })
    .unwrap();
    let t = TestApp::with_config(config).await;
    let key = Holder::new(21);
    let (client_id, code) = client_and_code(&t).await;
    let form = code_form(&code, &client_id);
    let token_url = format!("{BASE}/token");
    // No nonce: refused, nothing spent, a nonce offered.
    let res =
        t.send(form_request("/token", &form, Some(&key.proof("POST", &token_url, None)))).await;
    assert_eq!(res.status(), 400, "{}", text(&res));
    assert_eq!(json(&res)["error"], "use_dpop_nonce");
    assert_eq!(header(&res, "cache-control"), "no-store");
    assert!(header(&res, "access-control-expose-headers").contains("dpop-nonce"));
    let nonce = header(&res, "dpop-nonce").to_owned();
    // A made-up nonce is no better.
    let forged = key.proof_with("POST", &token_url, None, json!({"nonce": "1.AAAA"}));
    let res = t.send(form_request("/token", &form, Some(&forged))).await;
    assert_eq!(json(&res)["error"], "use_dpop_nonce");
    // With the nonce: tokens, and the next nonce already.
    let proof = key.proof_with("POST", &token_url, None, json!({"nonce": nonce}));
    let res = t.send(form_request("/token", &form, Some(&proof))).await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    assert!(!header(&res, "dpop-nonce").is_empty());
    let access = json(&res)["access_token"].as_str().unwrap().to_owned();

    // At the resource: a proof without the nonce gets a 401 DPoP challenge with one.
    let mcp = format!("{BASE}/mcp");
    let auth = format!("DPoP {access}");
    let bare = key.proof("POST", &mcp, Some(&access));
    let res = t.send(mcp_with(&init_body(), &auth, Some(&bare), None)).await;
    assert_dpop_refusal(&res, "use_dpop_nonce", "no nonce at the resource");
    let fresh = header(&res, "dpop-nonce").to_owned();
    let proof = key.proof_with("POST", &mcp, Some(&access), json!({"nonce": fresh}));
    let res = t.send(mcp_with(&init_body(), &auth, Some(&proof), None)).await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    // Ten minutes later that nonce is stale (and the token still valid): asked again.
    t.clock.advance(2 * mcp_edge::oauth::dpop::NONCE_WINDOW_SECS);
    let late = key.proof_with(
        "POST",
        &mcp,
        Some(&access),
        json!({"nonce": fresh, "iat": NOW + 2 * mcp_edge::oauth::dpop::NONCE_WINDOW_SECS}),
    );
    let res = t.send(mcp_with(&init_body(), &auth, Some(&late), None)).await;
    assert_dpop_refusal(&res, "use_dpop_nonce", "a stale nonce");
}
