//! MCP 2026-07-28 authorization details: `iss` in authorization responses is advertised
//! (RFC 9207); `offline_access` (SEP-2207) is accepted wherever a scope is, with stray
//! whitespace, never required and never granted (refresh tokens are issued anyway), and the
//! resource never mentions it; every 403 `insufficient_scope` names all scopes the call needs.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mcp_edge::crypto::jwt::AccessClaims;
use mcp_edge::env::RustCrypto;
use serde_json::{json, Value};

/// Every `WWW-Authenticate` value in a response, joined.
fn challenges(res: &mcp_edge::web::Response) -> String {
    res.headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join(" | ")
}

#[tokio::test]
async fn metadata_advertises_iss_and_the_resource_never_offline_access() {
    let t = TestApp::new().await;
    let asm = json(&t.get("/.well-known/oauth-authorization-server").await);
    assert_eq!(asm["authorization_response_iss_parameter_supported"], true);
    for path in
        ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"]
    {
        let prm = json(&t.get(path).await);
        let scopes: Vec<&str> =
            prm["scopes_supported"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        // The engine's scopes, then the catalogue's (whatever tools the worker adds).
        let mut expected = vec!["mcp", "admin"];
        expected.extend(mcp_edge_worker::CATALOG.scopes().into_iter().filter(|s| *s != "admin"));
        assert_eq!(scopes, expected, "{path}");
    }
}

/// Registers a client, signs alice in with `scope` on the authorization request and redeems
/// the code; returns (client id, token response).
async fn tokens_with_scope(t: &TestApp, scope: &str) -> (String, Value) {
    let client_id = register(t).await;
    let extra = format!("&scope={}", mcp_edge::web::percent_encode(scope));
    let location = sign_in_and_approve(t, &client_id, "alice", &extra).await;
    let res = exchange_code(t, &client_id, &location).await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    (client_id, json(&res))
}

#[tokio::test]
async fn offline_access_is_accepted_with_stray_whitespace_and_never_needed() {
    let t = TestApp::new().await;
    // (asked, granted to alice): offline_access alone means the client's default (every scope).
    let cases = [
        (" offline_access", "mcp admin"),
        ("offline_access", "mcp admin"),
        ("mcp offline_access", "mcp"),
        ("  mcp\toffline_access  admin ", "mcp admin"),
        ("offline_access offline_access mcp", "mcp"),
        ("mcp", "mcp"),
    ];
    for (asked, granted) in cases {
        let (_, tokens) = tokens_with_scope(&t, asked).await;
        assert_eq!(tokens["scope"], granted, "asked {asked:?}");
        assert!(tokens["refresh_token"].is_string(), "a refresh token for {asked:?}");
        let claims = t
            .app
            .state
            .keys
            .verify(
                &RustCrypto,
                tokens["access_token"].as_str().unwrap(),
                NOW,
                BASE,
                &format!("{BASE}/mcp"),
            )
            .await
            .unwrap();
        assert_eq!(claims.scope, granted);
    }
    // Unknown scopes are still refused (a page: a registered client is not trusted with an
    // error redirect before sign-in).
    let client_id = register(&t).await;
    let res = t.get(&authorize_path(&client_id, "&scope=offline_access%20root")).await;
    assert_eq!(res.status(), 400);
    assert!(text(&res).contains("invalid_scope"), "{}", text(&res));

    // At refresh, offline_access in `scope` is ignored, a narrower scope still works.
    let (client_id, tokens) = tokens_with_scope(&t, "mcp admin offline_access").await;
    let rt = tokens["refresh_token"].as_str().unwrap();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt),
        ("client_id", client_id.as_str()),
        ("scope", " mcp offline_access"),
    ];
    let res = t.post_form("/token", &form, "").await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    assert_eq!(json(&res)["scope"], "mcp");
}

#[tokio::test]
async fn registration_accepts_offline_access_and_keeps_only_real_scopes() {
    let t = TestApp::new().await;
    for (scope, kept) in [
        ("mcp offline_access", Some("mcp")),
        (" offline_access", None),
        ("mcp  admin ", Some("mcp admin")),
    ] {
        let res =
            t.post_json("/register", &json!({"redirect_uris": [REDIRECT], "scope": scope})).await;
        assert_eq!(res.status(), 201, "{scope:?}: {}", text(&res));
        assert_eq!(json(&res)["scope"].as_str(), kept, "{scope:?}");
    }
    let res =
        t.post_json("/register", &json!({"redirect_uris": [REDIRECT], "scope": "mcp root"})).await;
    assert_eq!(json(&res)["error"], "invalid_client_metadata");
}

async fn sign(t: &TestApp, scope: &str) -> String {
    let claims = AccessClaims {
        iss: BASE.into(),
        sub: "user-alice".into(),
        aud: format!("{BASE}/mcp"),
        client_id: "c".into(),
        scope: scope.into(),
        jti: "j".into(),
        name: None,
        gid: None,
        cnf: None,
    };
    t.app.state.keys.sign(&RustCrypto, claims, NOW, 3600).await.unwrap()
}

#[tokio::test]
async fn no_challenge_mentions_offline_access_and_403s_name_every_scope_needed() {
    let t = TestApp::new().await;
    let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}});
    let mut seen = Vec::new();

    // 401: no token, a bad scheme, a bad token.
    let res = t.send(mcp_request(&init, None, None)).await;
    assert_eq!(res.status(), 401);
    seen.push(challenges(&res));
    let bad_scheme = request("POST", "/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("authorization", "Basic YWxpY2U6YWxpY2U=")
        .body(init.to_string().into_bytes())
        .unwrap();
    let res = t.send(bad_scheme).await;
    assert_eq!(res.status(), 401);
    seen.push(challenges(&res));
    let res = t.send(mcp_request(&init, Some("not-a-token"), None)).await;
    assert_eq!(res.status(), 401);
    seen.push(challenges(&res));
    for www in &seen {
        assert!(www.contains("scope=\"mcp\""), "{www}");
    }

    // 403: a token without the base scope needs `mcp`.
    let res = t.send(mcp_request(&init, Some(&sign(&t, "admin").await), None)).await;
    assert_eq!(res.status(), 403);
    let www = challenges(&res);
    assert!(www.contains("error=\"insufficient_scope\"") && www.contains("scope=\"mcp\""), "{www}");
    seen.push(www);

    // 403: bob (mcp only) calling an admin tool needs `mcp admin`, on both protocol eras.
    let bob = sign(&t, "mcp").await;
    let session = initialize(&t, Some(&bob)).await;
    let call = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_clients","arguments":{}}});
    let res = t.send(mcp_request(&call, Some(&bob), Some(&session))).await;
    assert_eq!(res.status(), 403);
    let www = challenges(&res);
    assert!(www.contains("scope=\"mcp admin\""), "{www}");
    seen.push(www);
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}});
    let body = json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_clients","arguments":{},"_meta":meta}});
    let modern = request("POST", "/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "list_clients")
        .header("authorization", format!("Bearer {bob}"))
        .body(body.to_string().into_bytes())
        .unwrap();
    let res = t.send(modern).await;
    assert_eq!(res.status(), 403, "{}", text(&res));
    let www = challenges(&res);
    assert!(www.contains("scope=\"mcp admin\""), "{www}");
    seen.push(www);

    for www in &seen {
        assert!(!www.contains("offline_access"), "{www}");
    }
}
