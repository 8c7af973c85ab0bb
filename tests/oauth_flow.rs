//! The authorization server through the whole app: discovery, registration, authorization,
//! tokens, refresh rotation, revocation, and every error path the spec names.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use serde_json::json;

#[tokio::test]
async fn metadata_documents_are_consistent() {
    let t = TestApp::new().await;
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server/mcp",
    ] {
        let res = t.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
        let doc = json(&res);
        assert_eq!(doc["issuer"], BASE);
        assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
        assert_eq!(
            doc["token_endpoint_auth_methods_supported"],
            json!(["none", "client_secret_basic", "client_secret_post", "private_key_jwt"])
        );
        assert_eq!(doc["client_id_metadata_document_supported"], true);
        assert_eq!(
            doc["token_endpoint_auth_signing_alg_values_supported"],
            json!(["ES256", "RS256"])
        );
    }
    let prm = json(&t.get("/.well-known/oauth-protected-resource/mcp").await);
    assert_eq!(prm["resource"], format!("{BASE}/mcp"));
    let jwks = json(&t.get("/.well-known/jwks.json").await);
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
}

#[tokio::test]
async fn full_flow_gives_a_bound_jwt_and_refresh_rotation_works() {
    let t = TestApp::new().await;
    let (client_id, tokens) = tokens_for(&t, "alice").await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "mcp admin");
    let access = tokens["access_token"].as_str().unwrap();
    let claims = t
        .app
        .state
        .keys
        .verify(&mcp_edge::env::RustCrypto, access, NOW, BASE, &format!("{BASE}/mcp"))
        .await
        .unwrap();
    assert_eq!(claims.sub, "user-alice");
    assert_eq!(claims.client_id, client_id);

    // Rotation: r1 -> r2; r1 again within the reuse window gets r2 again (a lost response, a
    // race); r2 -> r3; r1 is now two generations old: replay, the grant is revoked.
    let r1 = tokens["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |rt: String| {
        let cid = client_id.clone();
        let t = &t;
        async move {
            t.post_form(
                "/token",
                &[("grant_type", "refresh_token"), ("refresh_token", &rt), ("client_id", &cid)],
                "",
            )
            .await
        }
    };
    let res = refresh(r1.clone()).await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    assert_eq!(header(&res, "cache-control"), "no-store");
    let r2 = json(&res)["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r2, r1);
    let res = refresh(r1.clone()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(json(&res)["refresh_token"], r2.as_str(), "the same newest token, not another");
    let res = refresh(r2.clone()).await;
    assert_eq!(res.status(), 200);
    let r3 = json(&res)["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r3, r2);
    let res = refresh(r1).await;
    assert_eq!(res.status(), 400);
    assert_eq!(json(&res)["error"], "invalid_grant");
    // Replay revoked the grant: even the newest token is dead.
    assert_eq!(json(&refresh(r3).await)["error"], "invalid_grant");
}

#[tokio::test]
async fn code_is_single_use_and_replay_revokes_the_grant() {
    let t = TestApp::new().await;
    let client_id = register(&t).await;
    let location = sign_in_and_approve(&t, &client_id, "alice", "").await;
    assert_eq!(query_param(&location, "state").as_deref(), Some("xyz"));
    assert_eq!(query_param(&location, "iss").as_deref(), Some(BASE));
    let code = query_param(&location, "code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("client_id", &client_id),
    ];
    let first = t.post_form("/token", &form, "").await;
    assert_eq!(first.status(), 200);
    let refresh_token = json(&first)["refresh_token"].as_str().unwrap().to_owned();
    let second = t.post_form("/token", &form, "").await;
    assert_eq!(json(&second)["error"], "invalid_grant");
    let res = t
        .post_form(
            "/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh_token),
                ("client_id", &client_id),
            ],
            "",
        )
        .await;
    assert_eq!(json(&res)["error"], "invalid_grant", "grant from a replayed code must be revoked");
}

#[tokio::test]
async fn token_endpoint_errors() {
    let t = TestApp::new().await;
    let client_id = register(&t).await;
    let location = sign_in_and_approve(&t, &client_id, "alice", "").await;
    let code = query_param(&location, "code").unwrap();
    type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![("grant_type", "password"), ("client_id", &client_id)],
            400,
            "unsupported_grant_type",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", VERIFIER),
                ("client_id", "nobody"),
            ],
            401,
            "invalid_client",
        ),
        (
            vec![("grant_type", "authorization_code"), ("code", &code), ("client_id", &client_id)],
            400,
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", "x".repeat(43).as_str().to_owned().leak()),
                ("client_id", &client_id),
            ],
            400,
            "invalid_grant",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", VERIFIER),
                ("redirect_uri", "http://127.0.0.1:9999/other"),
                ("client_id", &client_id),
            ],
            400,
            "invalid_grant",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", VERIFIER),
                ("resource", "https://elsewhere.example/mcp"),
                ("client_id", &client_id),
            ],
            400,
            "invalid_target",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("code", "nope"),
                ("code_verifier", VERIFIER),
                ("client_id", &client_id),
            ],
            400,
            "invalid_grant",
        ),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", "garbage"),
                ("client_id", &client_id),
            ],
            400,
            "invalid_grant",
        ),
    ];
    for (form, status, error) in cases {
        let res = t.post_form("/token", &form, "").await;
        assert_eq!(res.status(), status, "{form:?}: {}", text(&res));
        assert_eq!(json(&res)["error"], error, "{form:?}");
        assert_eq!(header(&res, "cache-control"), "no-store");
    }
    // The failed attempts above did not spend the code.
    let ok = t
        .post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", VERIFIER),
                ("client_id", &client_id),
            ],
            "",
        )
        .await;
    assert_eq!(ok.status(), 200, "{}", text(&ok));
    // Wrong content type.
    let res = t.post_json("/token", &json!({"grant_type":"authorization_code"})).await;
    assert_eq!(json(&res)["error"], "invalid_request");
}

#[tokio::test]
async fn expired_code_is_refused() {
    let t = TestApp::new().await;
    let client_id = register(&t).await;
    let location = sign_in_and_approve(&t, &client_id, "alice", "").await;
    t.clock.advance(301);
    let res = exchange_code(&t, &client_id, &location).await;
    assert_eq!(json(&res)["error"], "invalid_grant");
}

#[tokio::test]
async fn confidential_clients_must_authenticate() {
    let t = TestApp::new().await;
    let res = t
        .post_json(
            "/register",
            &json!({"redirect_uris":[REDIRECT],"token_endpoint_auth_method":"client_secret_post"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let reg = json(&res);
    let (id, secret) = (
        reg["client_id"].as_str().unwrap().to_owned(),
        reg["client_secret"].as_str().unwrap().to_owned(),
    );
    // Stored hashed, never in the clear.
    let stored = t.store.keys().into_iter().find(|k| k.ends_with(&id)).unwrap();
    let raw = mcp_edge::store::Store::get(&t.store, &stored).await.unwrap().unwrap();
    assert!(!raw.contains(&secret));
    let location = sign_in_and_approve(&t, &id, "alice", "").await;
    let code = query_param(&location, "code").unwrap();
    let res = t
        .post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", VERIFIER),
                ("client_id", &id),
                ("client_secret", "wrong"),
            ],
            "",
        )
        .await;
    assert_eq!(res.status(), 401);
    assert_eq!(json(&res)["error"], "invalid_client");
    let res = t
        .post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", VERIFIER),
                ("client_id", &id),
            ],
            "",
        )
        .await;
    assert_eq!(res.status(), 401);
    // HTTP Basic works.
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    let body = encode_form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("code_verifier", VERIFIER),
    ]);
    let req = request("POST", "/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", format!("Basic {basic}"))
        .body(body.into_bytes())
        .unwrap();
    let res = t.send(req).await;
    assert_eq!(res.status(), 200, "{}", text(&res));
}

#[tokio::test]
async fn registration_validation() {
    let t = TestApp::new().await;
    let cases = [
        (json!({}), "invalid_redirect_uri"),
        (json!({"redirect_uris":["javascript:alert(1)"]}), "invalid_redirect_uri"),
        (json!({"redirect_uris":["data:text/html,x"]}), "invalid_redirect_uri"),
        (json!({"redirect_uris":["https://x.example/cb#f"]}), "invalid_redirect_uri"),
        (json!({"redirect_uris":["http://x.example/cb"]}), "invalid_redirect_uri"),
        (json!({"redirect_uris":"https://x.example/cb"}), "invalid_client_metadata"),
        (
            json!({"redirect_uris":["https://x.example/cb"],"grant_types":["client_credentials"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris":["https://x.example/cb"],"scope":"root"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris":["https://x.example/cb"],"token_endpoint_auth_method":"private_key_jwt"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris":["https://x.example/cb"],"client_name":"x".repeat(500)}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris":(0..11).map(|i| format!("https://x.example/{i}")).collect::<Vec<_>>()}),
            "invalid_redirect_uri",
        ),
    ];
    for (body, error) in cases {
        let res = t.post_json("/register", &body).await;
        assert_eq!(res.status(), 400, "{body}");
        assert_eq!(json(&res)["error"], error, "{body}");
    }
    // The seed's quirks: no scope, require_client_secret.
    let res = t
        .post_json(
            "/register",
            &json!({"redirect_uris":["cursor://anysphere.cursor-retrieval/oauth/callback"]}),
        )
        .await;
    assert_eq!(res.status(), 201);
    assert!(json(&res).get("client_secret").is_none());
    let res = t
        .post_json(
            "/register",
            &json!({"redirect_uris":["https://x.example/cb"],"require_client_secret":true}),
        )
        .await;
    assert_eq!(json(&res)["token_endpoint_auth_method"], "client_secret_basic");
    assert!(json(&res)["client_secret"].is_string());
    // Registrations expire (TTL set).
    let key = t.store.keys().into_iter().find(|k| k.starts_with("client:")).unwrap();
    assert!(t.store.expiry(&key).is_some());
}

#[tokio::test]
async fn authorize_errors_show_pages_before_redirect_is_trusted() {
    let t = TestApp::new().await;
    let client_id = register(&t).await;
    // Unknown client and unregistered redirect: a page, never a redirect.
    let res = t.get(&authorize_path("nobody", "")).await;
    assert_eq!(res.status(), 400);
    assert!(header(&res, "location").is_empty());
    let res =
        t.get(&authorize_path(&client_id, "").replace("9999%2Fcallback", "9999%2Fevil")).await;
    assert_eq!(res.status(), 400);
    assert!(header(&res, "location").is_empty());
    assert_eq!(header(&res, "x-frame-options"), "DENY");
    // A dynamically registered client names whatever redirect URI its author likes: its
    // invalid requests show a page naming the error, never a redirect (RFC 9700 §4.11.2; issue
    // 23 item 5: this was an open redirect on `main`, each of these answered 302).
    let plain = authorize_path(&client_id, "")
        .replace("code_challenge_method=S256", "code_challenge_method=plain");
    let nopkce =
        authorize_path(&client_id, "").split("&code_challenge=").next().unwrap().to_owned();
    let token = authorize_path(&client_id, "").replace("response_type=code", "response_type=token");
    let untrusted = [
        (
            authorize_path(&client_id, "&resource=https%3A%2F%2Fother.example%2Fmcp"),
            "invalid_target",
        ),
        (authorize_path(&client_id, "&scope=root"), "invalid_scope"),
        (authorize_path(&client_id, "&state=again"), "invalid_request"),
        (plain, "invalid_request"),
        (nopkce, "invalid_request"),
        (token, "unsupported_response_type"),
    ];
    for (path, error) in &untrusted {
        let res = t.get(path).await;
        assert_eq!(res.status(), 400, "{path}");
        assert!(header(&res, "location").is_empty(), "{path}: {}", header(&res, "location"));
        assert!(text(&res).contains(error), "{path}: {}", text(&res));
    }
    // A pre-registered client (configuration, not anonymous registration) is trusted with the
    // RFC 6749 §4.1.2.1 error redirect, with state and iss.
    let mcp_remote = |extra: &str| {
        format!("/authorize?response_type=code&client_id=mcp-remote&redirect_uri=http%3A%2F%2F127.0.0.1%3A5555%2Foauth%2Fcallback&state=xyz&code_challenge={}&code_challenge_method=S256{extra}", challenge(VERIFIER))
    };
    for (extra, error) in [
        ("&resource=https%3A%2F%2Fother.example%2Fmcp", "invalid_target"),
        ("&scope=root", "invalid_scope"),
        ("&state=again", "invalid_request"),
    ] {
        let res = t.get(&mcp_remote(extra)).await;
        assert_eq!(res.status(), 302, "{extra}");
        let loc = header(&res, "location");
        assert!(loc.starts_with("http://127.0.0.1:5555/oauth/callback?"), "{loc}");
        assert_eq!(query_param(loc, "error").as_deref(), Some(error));
        assert_eq!(query_param(loc, "state").as_deref(), Some("xyz"));
        assert_eq!(query_param(loc, "iss").as_deref(), Some(BASE));
    }
    // More parameters than any request needs: a page, for every client, read in linear time.
    let many: String = (0..5_000).map(|i| format!("&k{i}=v")).collect();
    let res = t.get(&mcp_remote(&many)).await;
    assert_eq!(res.status(), 400);
    assert!(header(&res, "location").is_empty());
    // The resource with the endpoint's path (ChatGPT) and the origin are both accepted.
    for r in ["http%3A%2F%2F127.0.0.1%3A8787%2Fmcp", "http%3A%2F%2F127.0.0.1%3A8787"] {
        assert_eq!(
            t.get(&authorize_path(&client_id, &format!("&resource={r}"))).await.status(),
            200
        );
    }
}

#[tokio::test]
async fn csrf_wrong_password_deny_and_static_clients() {
    let t = TestApp::new().await;
    let client_id = register(&t).await;
    let page = t.get(&authorize_path(&client_id, "")).await;
    let jar = cookies(&page, "");
    let html = text(&page);
    let sealed = hidden(&html, "request");
    // No CSRF token, or a token bound to another browser: refused.
    let res = t
        .post_form(
            "/authorize",
            &[
                ("request", &sealed),
                ("action", "signin"),
                ("username", "alice"),
                ("password", "alice"),
            ],
            &jar,
        )
        .await;
    assert_eq!(res.status(), 403);
    let other = t.get(&authorize_path(&client_id, "")).await;
    let foreign = hidden(&text(&other), "csrf");
    let res = post_sign_in(&t, &sealed, &foreign, "alice", "alice", &jar).await;
    assert_eq!(res.status(), 403);
    // Wrong password: 401 page with a message, no session cookie.
    let res = post_sign_in(&t, &sealed, &hidden(&html, "csrf"), "alice", "nope", &jar).await;
    assert_eq!(res.status(), 401);
    assert!(text(&res).contains("Wrong username or password"));
    // Deny: access_denied back to the client.
    let res = post_sign_in(&t, &sealed, &hidden(&html, "csrf"), "bob", "bob", &jar).await;
    let jar2 = cookies(&res, &jar);
    assert!(jar2.contains("mcp_edge_session="));
    let res = t
        .post_form(
            "/authorize",
            &[("request", &sealed), ("csrf", &hidden(&html, "csrf")), ("action", "deny")],
            &jar2,
        )
        .await;
    assert_eq!(query_param(header(&res, "location"), "error").as_deref(), Some("access_denied"));
    // Signed in: the next authorization skips the password and shows consent.
    let res = t
        .send(
            request("GET", &authorize_path(&client_id, ""))
                .header("cookie", &jar2)
                .body(Vec::new())
                .unwrap(),
        )
        .await;
    assert!(text(&res).contains("Allow access?"));
    // The static mcp-remote client with a loopback redirect on any port.
    let path = format!("/authorize?response_type=code&client_id=mcp-remote&redirect_uri=http%3A%2F%2Flocalhost%3A63113%2Foauth%2Fcallback&code_challenge={}&code_challenge_method=S256", challenge(VERIFIER));
    assert_eq!(t.get(&path).await.status(), 200);
}

#[tokio::test]
async fn sign_in_brute_force_is_throttled() {
    let t = TestApp::new().await;
    let client_id = register(&t).await;
    let page = t.get(&authorize_path(&client_id, "")).await;
    let jar = cookies(&page, "");
    let html = text(&page);
    let form = |pw: &'static str| {
        [
            ("request", hidden(&html, "request")),
            ("csrf", hidden(&html, "csrf")),
            ("action", "signin".into()),
            ("username", "alice".into()),
            ("password", pw.into()),
        ]
    };
    for _ in 0..10 {
        let f = form("wrong");
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(t.post_form("/authorize", &f, &jar).await.status(), 401);
    }
    let f = form("alice");
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = t.post_form("/authorize", &f, &jar).await;
    assert_eq!(res.status(), 429, "even the right password waits out the lock");
    assert!(text(&res).contains("Too many failed sign-in attempts"));
}

#[tokio::test]
async fn client_name_is_escaped_on_pages() {
    let t = TestApp::new().await;
    let res = t
        .post_json(
            "/register",
            &json!({"redirect_uris":[REDIRECT],"client_name":"<script>alert(1)</script>"}),
        )
        .await;
    let id = json(&res)["client_id"].as_str().unwrap().to_owned();
    let page = text(&t.get(&authorize_path(&id, "")).await);
    assert!(!page.contains("<script>alert(1)"));
    assert!(page.contains("&lt;script&gt;"));
}

#[tokio::test]
async fn revocation_kills_the_grant() {
    let t = TestApp::new().await;
    let (client_id, tokens) = tokens_for(&t, "alice").await;
    let rt = tokens["refresh_token"].as_str().unwrap();
    let res = t.post_form("/revoke", &[("token", rt), ("client_id", &client_id)], "").await;
    assert_eq!(res.status(), 200);
    let res = t
        .post_form(
            "/token",
            &[("grant_type", "refresh_token"), ("refresh_token", rt), ("client_id", &client_id)],
            "",
        )
        .await;
    assert_eq!(json(&res)["error"], "invalid_grant");
    // Unknown tokens: still 200 (RFC 7009 §2.2).
    assert_eq!(
        t.post_form("/revoke", &[("token", "nonsense"), ("client_id", &client_id)], "")
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn failing_store_gives_503_not_500() {
    let t = TestApp::new().await;
    let client_id = register(&t).await;
    // Past the per-isolate client cache, so the steps below need the store.
    t.clock.advance(mcp_edge::oauth::client::CLIENT_CACHE_SECS + 1);
    t.store.failing.set(true);
    let res = t.post_json("/register", &json!({"redirect_uris":[REDIRECT]})).await;
    assert_eq!(res.status(), 503);
    assert_eq!(json(&res)["error"], "temporarily_unavailable");
    let res = t.get(&authorize_path(&client_id, "")).await;
    assert_eq!(res.status(), 503);
    let res = t
        .post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", "x"),
                ("code_verifier", VERIFIER),
                ("client_id", &client_id),
            ],
            "",
        )
        .await;
    assert_eq!(res.status(), 503);
}

#[tokio::test]
async fn registration_floods_are_throttled_per_address_and_redirect_host() {
    let mut t = TestApp::new().await;
    t.limiter = mcp_edge::env::CountingLimiter::new(5)
        .with(mcp_edge::env::Bucket::RegistrationsPerAddress, 100);
    let reg = |ip: &'static str, redirect: &str| {
        request("POST", "/register")
            .header("content-type", "application/json")
            .header("cf-connecting-ip", ip)
            .body(json!({"redirect_uris":[redirect]}).to_string().into_bytes())
            .unwrap()
    };
    for _ in 0..5 {
        assert_eq!(t.send(reg("203.0.113.9", REDIRECT)).await.status(), 201);
    }
    let res = t.send(reg("203.0.113.9", REDIRECT)).await;
    assert_eq!(res.status(), 429);
    assert_eq!(header(&res, "retry-after"), "60");
    assert_eq!(json(&res)["error"], "too_many_requests");
    assert_eq!(
        t.send(reg("203.0.113.10", REDIRECT)).await.status(),
        201,
        "other addresses are unaffected"
    );
    // The same address registering for another host (a team's claude.ai connector next to a
    // local tool) has its own bucket.
    assert_eq!(
        t.send(reg("203.0.113.9", "https://claude.ai/api/mcp/auth_callback")).await.status(),
        201
    );
    assert_eq!(t.store.keys().iter().filter(|k| k.starts_with("client:")).count(), 7);
    // The next window.
    t.limiter.reset();
    assert_eq!(t.send(reg("203.0.113.9", REDIRECT)).await.status(), 201);
}

/// Issue 23 item 6: on `main` one address rotating redirect hosts registered 1,200 clients
/// without a refusal (the only key was host + address). The per-address bucket counts them all.
#[tokio::test]
async fn one_address_rotating_redirect_hosts_is_limited_too() {
    use mcp_edge::env::{Bucket, CountingLimiter};
    let mut t = TestApp::new().await;
    t.limiter = CountingLimiter::new(60).with(Bucket::RegistrationsPerAddress, 120);
    let reg = |ip: &str, host: usize| {
        request("POST", "/register")
            .header("content-type", "application/json")
            .header("cf-connecting-ip", ip)
            .body(
                json!({"redirect_uris":[format!("https://h{host}.attacker.example/cb")]})
                    .to_string()
                    .into_bytes(),
            )
            .unwrap()
    };
    let mut created = 0;
    for host in 0..1_200 {
        if t.send(reg("198.51.100.7", host)).await.status() == 201 {
            created += 1;
        }
    }
    assert_eq!(created, 120, "the per-address limit");
    let res = t.send(reg("198.51.100.7", 5_000)).await;
    assert_eq!(res.status(), 429);
    assert_eq!(header(&res, "retry-after"), "60");
    assert_eq!(t.store.keys().iter().filter(|k| k.starts_with("client:")).count(), 120);
    // Another address (a hosted client's egress, say) is not affected.
    assert_eq!(t.send(reg("198.51.100.8", 1)).await.status(), 201);
}

/// Issue 23 item 1: 238,000 distinct form keys at `/token` took 78 s of CPU on `main`. The
/// form is refused after [`mcp_edge::web::MAX_PARAMS`] parameters, in linear time.
#[tokio::test]
async fn a_form_of_128000_parameters_is_refused_quickly() {
    let t = TestApp::new().await;
    let mut body = String::from("grant_type=refresh_token&client_id=x");
    for i in 0..128_000 {
        body.push_str(&format!("&{i}"));
    }
    for path in ["/token", "/revoke"] {
        let req = request("POST", path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone().into_bytes())
            .unwrap();
        let started = std::time::Instant::now();
        let res = t.send(req).await;
        let took = started.elapsed();
        assert_eq!(res.status(), 400, "{path}: {}", text(&res));
        assert_eq!(json(&res)["error"], "invalid_request");
        assert!(text(&res).contains("too many parameters"), "{}", text(&res));
        // A bound far above the linear cost (milliseconds) and far below the quadratic one
        // (tens of seconds), so a busy machine cannot make it flaky.
        assert!(took < std::time::Duration::from_secs(2), "{path} took {took:?}");
    }
}

#[tokio::test]
async fn a_failed_write_during_a_code_exchange_is_safe_to_retry() {
    let t = TestApp::new().await;
    let client_id = register(&t).await;
    let location = sign_in_and_approve(&t, &client_id, "alice", "").await;
    let code = query_param(&location, "code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("code_verifier", VERIFIER),
        ("client_id", client_id.as_str()),
    ];
    // Redeeming is one write (the grant, code spent and refresh token set together).
    *t.store.failing_puts.borrow_mut() = Some("grant:".into());
    let res = t.post_form("/token", &form, "").await;
    assert_eq!(res.status(), 503);
    assert_eq!(json(&res)["error"], "temporarily_unavailable");
    assert!(json(&res).get("access_token").is_none());
    *t.store.failing_puts.borrow_mut() = None;
    let res = t.post_form("/token", &form, "").await;
    assert_eq!(res.status(), 200, "the retry succeeds: {}", text(&res));
    let rt = json(&res)["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(t.store.keys().iter().filter(|k| k.starts_with("grant:")).count(), 1);
    let res = t
        .post_form(
            "/token",
            &[("grant_type", "refresh_token"), ("refresh_token", &rt), ("client_id", &client_id)],
            "",
        )
        .await;
    assert_eq!(res.status(), 200, "the grant written by the retry is the live one");
}

#[tokio::test]
async fn the_sign_in_cookie_is_new_at_every_sign_in() {
    let t = TestApp::new().await;
    let client_id = register(&t).await;
    let mut seen = Vec::new();
    for _ in 0..2 {
        let page = t.get(&authorize_path(&client_id, "")).await;
        let jar = cookies(&page, "mcp_edge_session=attacker-fixed-value");
        let html = text(&page);
        let res = post_sign_in(
            &t,
            &hidden(&html, "request"),
            &hidden(&html, "csrf"),
            "alice",
            "alice",
            &jar,
        )
        .await;
        let jar = cookies(&res, &jar);
        let session =
            jar.split("; ").find(|c| c.starts_with("mcp_edge_session=")).unwrap().to_owned();
        assert_ne!(session, "mcp_edge_session=attacker-fixed-value");
        seen.push(session);
    }
    assert_ne!(seen[0], seen[1]);
    // A forged session cookie does not skip the password.
    let res = t
        .send(
            request("GET", &authorize_path(&client_id, ""))
                .header("cookie", "mcp_edge_session=user-alice~9999999999~x.forged")
                .body(Vec::new())
                .unwrap(),
        )
        .await;
    assert!(text(&res).contains("<h1>Sign in</h1>"));
}

#[tokio::test]
async fn a_client_registered_with_one_scope_can_step_up() {
    let t = TestApp::new().await;
    let res = t.post_json("/register", &json!({"redirect_uris":[REDIRECT],"scope":"mcp"})).await;
    let id = json(&res)["client_id"].as_str().unwrap().to_owned();
    // No scope asked: the registered one is the default.
    let location = sign_in_and_approve(&t, &id, "alice", "").await;
    let res = exchange_code(&t, &id, &location).await;
    assert_eq!(json(&res)["scope"], "mcp");
    // Step-up after a 403: the user's scopes, not the registration, decide.
    let location = sign_in_and_approve(&t, &id, "alice", "&scope=mcp%20admin").await;
    let res = exchange_code(&t, &id, &location).await;
    assert_eq!(json(&res)["scope"], "mcp admin");
}

#[tokio::test]
async fn development_settings_refuse_public_hosts() {
    let t = TestApp::new().await;
    let req = http::Request::builder()
        .uri("https://mcp-edge.example.workers.dev/authorize")
        .body(Vec::new())
        .unwrap();
    let res = t.send(req).await;
    assert_eq!(res.status(), 403);
    assert_eq!(json(&res)["error"], "development_settings");
    // Production settings serve any host Cloudflare routes to them.
    let prod = mcp_edge::config::Config::from_lookup(|k| match k {
        "USERS" => Some(r#"[{"username":"a","password_hash":"pbkdf2-sha256$1000$WOFSdwrcuNuORaFg8TO5FQ$PdoCBgTOelh7fRkXfajJPaOPrYUfv0bvNqI2ZwWLDpo","sub":"a","name":"A","scopes":["mcp"]}]"#.into()),
        "JWT_SIGNING_KEYS" => Some(r#"[{"kid":"k","seed":"7W2y4CDZgIctbKxepUXu0E_7igZqMLMvOP8a6IJ5ljs"}]"#.into()),
        "COOKIE_SECRET" => Some("0123456789abcdef0123456789abcdef".into()),
        _ => None,
    })
    .unwrap();
    let p = TestApp::with_config(prod).await;
    let req = http::Request::builder()
        .uri("https://mcp-edge.example.workers.dev/.well-known/oauth-protected-resource")
        .body(Vec::new())
        .unwrap();
    let res = p.send(req).await;
    assert_eq!(res.status(), 200);
    assert_eq!(json(&res)["resource"], "https://mcp-edge.example.workers.dev/mcp");
}

#[tokio::test]
async fn a_failed_client_renewal_does_not_fail_the_exchange() {
    let t = TestApp::new().await;
    let client_id = register(&t).await;
    // Renewal is due a day after registration; the exchange must not depend on it.
    t.clock.advance(2 * 86400);
    let location = sign_in_and_approve(&t, &client_id, "alice", "").await;
    *t.store.failing_puts.borrow_mut() = Some("client:".into());
    let res = exchange_code(&t, &client_id, &location).await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    assert!(json(&res)["access_token"].is_string());
}

#[tokio::test]
async fn a_code_exchange_is_one_read_and_one_write() {
    let t = TestApp::new().await;
    let client_id = register(&t).await;
    let location = sign_in_and_approve(&t, &client_id, "alice", "").await;
    let (reads, writes) = (t.store.reads(), t.store.writes());
    let res = exchange_code(&t, &client_id, &location).await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    // The client was read moments ago by /authorize: the isolate's cache serves it.
    assert_eq!((t.store.reads() - reads, t.store.writes() - writes), (1, 1));
    // The code does not reveal the grant id that refresh tokens carry.
    let code = query_param(&location, "code").unwrap();
    let grant_id =
        json(&res)["refresh_token"].as_str().unwrap().split('.').next().unwrap().to_owned();
    assert!(!code.contains(&grant_id));
    assert_ne!(mcp_edge::crypto::sha256_b64(&code), grant_id);
    assert!(t.store.keys().contains(&format!("grant:{grant_id}")));
}

#[tokio::test]
async fn a_pending_grant_cannot_be_refreshed_or_revoked_by_guessing() {
    let t = TestApp::new().await;
    let client_id = register(&t).await;
    let location = sign_in_and_approve(&t, &client_id, "alice", "").await;
    let grant_key = t.store.keys().into_iter().find(|k| k.starts_with("grant:")).unwrap();
    let grant_id = grant_key.trim_start_matches("grant:").to_owned();
    // A made-up refresh token naming the pending grant: refused, and the grant survives.
    let fake = format!("{grant_id}.made-up");
    let res = t
        .post_form(
            "/token",
            &[("grant_type", "refresh_token"), ("refresh_token", &fake), ("client_id", &client_id)],
            "",
        )
        .await;
    assert_eq!(res.status(), 400);
    assert_eq!(json(&res)["error"], "invalid_grant");
    let res = t.post_form("/revoke", &[("token", &fake), ("client_id", &client_id)], "").await;
    assert_eq!(res.status(), 200);
    assert!(t.store.keys().contains(&grant_key));
    // The code still redeems.
    assert_eq!(exchange_code(&t, &client_id, &location).await.status(), 200);
}

/// Issue 23 item 4: on `main` a forged refresh token naming a grant (`{gid}.0.AAAA`; the grant
/// id is in every access token) and a spent code sent by another client with a junk verifier
/// each revoked the grant. Only its own client, proving what it holds, can show a replay now.
#[tokio::test]
async fn nobody_kills_a_grant_they_do_not_hold() {
    let t = TestApp::new().await;
    let client_id = register(&t).await;
    let location = sign_in_and_approve(&t, &client_id, "alice", "").await;
    let code = query_param(&location, "code").unwrap();
    let res = exchange_code(&t, &client_id, &location).await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    let mut refresh_token = json(&res)["refresh_token"].as_str().unwrap().to_owned();
    let gid = refresh_token.split('.').next().unwrap().to_owned();
    let attacker = register(&t).await;
    let refresh = |token: String, client: String| {
        let t = &t;
        async move {
            let form = [
                ("grant_type", "refresh_token"),
                ("refresh_token", token.as_str()),
                ("client_id", client.as_str()),
            ];
            t.post_form("/token", &form, "").await
        }
    };
    let redeem = |client: String, verifier: &'static str| {
        let (t, code) = (&t, code.clone());
        async move {
            let form = [
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("code_verifier", verifier),
                ("client_id", client.as_str()),
            ];
            t.post_form("/token", &form, "").await
        }
    };
    let junk_verifier = "x".repeat(43).leak() as &'static str;
    let attempts = [
        refresh(format!("{gid}.0.AAAA"), client_id.clone()).await,
        refresh(format!("{gid}.1.AAAA"), client_id.clone()).await,
        refresh(format!("{gid}.junk"), client_id.clone()).await,
        refresh(format!("{gid}.0.AAAA"), attacker.clone()).await,
        redeem(attacker.clone(), junk_verifier).await,
        redeem(attacker.clone(), VERIFIER).await,
        redeem(client_id.clone(), junk_verifier).await,
    ];
    for (i, res) in attempts.iter().enumerate() {
        assert_eq!(res.status(), 400, "attempt {i}: {}", text(res));
        assert_eq!(json(res)["error"], "invalid_grant", "attempt {i}");
        assert!(!text(res).contains("revoked"), "attempt {i}: {}", text(res));
    }
    // The grant is untouched: its holder refreshes as before.
    let res = refresh(refresh_token.clone(), client_id.clone()).await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    refresh_token = json(&res)["refresh_token"].as_str().unwrap().to_owned();
    // Its own client with its verifier replaying the code: a real replay, the grant is revoked.
    let res = redeem(client_id.clone(), VERIFIER).await;
    assert_eq!(json(&res)["error"], "invalid_grant");
    assert!(text(&res).contains("revoked"), "{}", text(&res));
    let res = refresh(refresh_token, client_id.clone()).await;
    assert_eq!(json(&res)["error"], "invalid_grant", "the replay revoked the grant");
}

/// The MCP endpoint checks a token it has not seen in two phases: its claims before the body is
/// read, its signature (WebCrypto on Workers) after, and only then what the claims decide (the
/// base scope, a DPoP binding). A token with our `kid` and valid claims but another key's
/// signature is `invalid_token` every time, whatever its claims say, before or after the real
/// token was verified and remembered, and is never remembered itself.
#[tokio::test]
async fn a_token_with_our_claims_and_a_foreign_signature_is_refused_at_mcp() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine;
    let t = TestApp::new().await;
    let (_, tokens) = tokens_for(&t, "alice").await;
    let good = tokens["access_token"].as_str().unwrap();
    let other = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([9; 32]));
    let forge = |input: &str| {
        format!("{input}.{}", B64.encode(other.sk.sign(input.as_bytes(), None).as_ref()))
    };
    let (input, _) = good.rsplit_once('.').unwrap();
    let forged = forge(input);
    // The same header, with claims that would be refused for something else if they were ours:
    // no `mcp` scope (403), a DPoP binding sent as a bearer token (a DPoP challenge).
    let (head, claims) = input.split_once('.').unwrap();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&B64.decode(claims).unwrap()).unwrap();
    claims["scope"] = json!("admin");
    let unscoped = forge(&format!("{head}.{}", B64.encode(claims.to_string())));
    claims["scope"] = json!("mcp");
    claims["cnf"] = json!({"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"});
    let bound = forge(&format!("{head}.{}", B64.encode(claims.to_string())));

    let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}});
    let refused = |res: &mcp_edge::web::Response, which: &str| {
        assert_eq!(res.status(), 401, "{which}");
        let www = header(res, "www-authenticate");
        assert!(
            www.starts_with("Bearer ") && www.contains("error=\"invalid_token\""),
            "{which}: {www}"
        );
    };
    for _ in 0..2 {
        for (which, token) in [("forged", &forged), ("unscoped", &unscoped), ("bound", &bound)] {
            refused(&t.send(mcp_request(&init, Some(token), None)).await, which);
        }
    }
    assert_eq!(t.send(mcp_request(&init, Some(good), None)).await.status(), 200);
    refused(&t.send(mcp_request(&init, Some(&forged), None)).await, "forged, after the real one");
    assert_eq!(t.send(mcp_request(&init, Some(good), None)).await.status(), 200);
}
