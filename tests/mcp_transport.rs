//! The Streamable HTTP transport through the whole app: every header rule, session rule,
//! authentication answer and error path of the MCP endpoint.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use mcp_edge::config::Config;
use serde_json::json;

fn call(id: u64, method: &str, params: serde_json::Value) -> serde_json::Value {
    json!({"jsonrpc":"2.0","id":id,"method":method,"params":params})
}

#[tokio::test]
async fn unauthenticated_requests_get_a_discoverable_401() {
    let t = TestApp::new().await;
    let res = t.send(mcp_request(&call(1, "initialize", json!({})), None, None)).await;
    assert_eq!(res.status(), 401);
    let www = header(&res, "www-authenticate");
    assert!(www.starts_with("Bearer "), "{www}");
    assert!(
        www.contains(&format!(
            "resource_metadata=\"{BASE}/.well-known/oauth-protected-resource/mcp\""
        )),
        "{www}"
    );
    assert!(www.contains("scope=\"mcp\""));
    assert!(!www.contains("error="));
    let res = t.send(mcp_request(&call(1, "initialize", json!({})), Some("garbage"), None)).await;
    assert_eq!(res.status(), 401);
    assert!(header(&res, "www-authenticate").contains("error=\"invalid_token\""));
}

#[tokio::test]
async fn tokens_for_other_audiences_or_expired_are_refused() {
    let t = TestApp::new().await;
    let (_, tokens) = tokens_for(&t, "alice").await;
    let access = tokens["access_token"].as_str().unwrap();
    // The same signing key behind another MCP path: the token's audience does not cover it.
    let mut cfg = Config::development();
    cfg.mcp_path = "/other".into();
    let other = TestApp::with_config(cfg).await;
    let mut req = mcp_request(&call(1, "initialize", json!({})), Some(access), None);
    *req.uri_mut() = format!("{BASE}/other").parse().unwrap();
    let res = other.send(req).await;
    assert_eq!(res.status(), 401);
    assert!(header(&res, "www-authenticate").contains("invalid_token"));
    assert_eq!(
        t.send(mcp_request(&call(1, "initialize", json!({})), Some(access), None)).await.status(),
        200
    );
    t.clock.advance(3600 + 31);
    let res = t.send(mcp_request(&call(1, "initialize", json!({})), Some(access), None)).await;
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn alice_gets_her_vibe_and_bob_is_refused_admin_with_403() {
    let t = TestApp::new().await;
    let (_, tokens) = tokens_for(&t, "alice").await;
    let alice = tokens["access_token"].as_str().unwrap().to_owned();
    let session = initialize(&t, Some(&alice)).await;
    let res = t
        .send(mcp_request(
            &call(2, "tools/call", json!({"name":"get_vibe","arguments":{"location":"Berlin"}})),
            Some(&alice),
            Some(&session),
        ))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(json(&res)["result"]["content"][0]["text"], "Curious vibes for Alice in Berlin.");
    let res = t
        .send(mcp_request(
            &call(3, "tools/call", json!({"name":"list_clients"})),
            Some(&alice),
            Some(&session),
        ))
        .await;
    assert_eq!(res.status(), 200);
    assert!(json(&res)["result"]["content"][0]["text"].as_str().unwrap().contains("Test Client"));

    let (_, tokens) = tokens_for(&t, "bob").await;
    assert_eq!(tokens["scope"], "mcp");
    let bob = tokens["access_token"].as_str().unwrap().to_owned();
    let session = initialize(&t, Some(&bob)).await;
    let res = t
        .send(mcp_request(
            &call(4, "tools/call", json!({"name":"list_clients"})),
            Some(&bob),
            Some(&session),
        ))
        .await;
    assert_eq!(res.status(), 403);
    let www = header(&res, "www-authenticate");
    assert!(
        www.contains("error=\"insufficient_scope\"")
            && www.contains("scope=\"mcp admin\"")
            && www.contains("resource_metadata="),
        "{www}"
    );
}

async fn conformance() -> TestApp {
    TestApp::with_config(
        Config::from_lookup(|k| (k == "MCP_EDGE_ENV").then(|| "conformance".into())).unwrap(),
    )
    .await
}

#[tokio::test]
async fn header_rules() {
    let t = conformance().await;
    let init = call(1, "initialize", json!({"protocolVersion":"2025-06-18"}));
    // 406: Accept without SSE.
    let req = request("POST", "/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .body(init.to_string().into_bytes())
        .unwrap();
    assert_eq!(t.send(req).await.status(), 406);
    // 415: not JSON.
    let req = request("POST", "/mcp")
        .header("content-type", "text/plain")
        .header("accept", "application/json, text/event-stream")
        .body(init.to_string().into_bytes())
        .unwrap();
    assert_eq!(t.send(req).await.status(), 415);
    // 403: foreign Origin; 403: foreign Host (DNS rebinding).
    let mut req = mcp_request(&init, None, None);
    req.headers_mut().insert("origin", "https://evil.example".parse().unwrap());
    assert_eq!(t.send(req).await.status(), 403);
    let mut req = mcp_request(&init, None, None);
    *req.uri_mut() = "http://evil.example.com/mcp".parse().unwrap();
    req.headers_mut().insert("origin", "http://evil.example.com".parse().unwrap());
    assert_eq!(t.send(req).await.status(), 403);
    // Our own origin is fine, and gets CORS headers.
    let mut req = mcp_request(&init, None, None);
    req.headers_mut().insert("origin", BASE.parse().unwrap());
    let res = t.send(req).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "access-control-allow-origin"), BASE);
    // Version negotiation: the client's supported version is echoed.
    assert_eq!(json(&res)["result"]["protocolVersion"], "2025-06-18");
    // 413: body over the limit.
    let big =
        json!({"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"y".repeat(1024 * 1024)}});
    assert_eq!(t.send(mcp_request(&big, None, None)).await.status(), 413);
    // GET: 405 with Allow.
    let res = t
        .send(
            request("GET", "/mcp").header("accept", "text/event-stream").body(Vec::new()).unwrap(),
        )
        .await;
    assert_eq!(res.status(), 405);
    assert!(header(&res, "allow").contains("POST"));
}

#[tokio::test]
async fn session_rules() {
    let t = conformance().await;
    let session = initialize(&t, None).await;
    assert!(!session.is_empty());
    // Missing session: 400; unknown: 404; bad protocol version: 400.
    assert_eq!(t.send(mcp_request(&call(2, "ping", json!({})), None, None)).await.status(), 400);
    assert_eq!(
        t.send(mcp_request(&call(2, "ping", json!({})), None, Some("forged.session")))
            .await
            .status(),
        404
    );
    let mut req = mcp_request(&call(2, "ping", json!({})), None, Some(&session));
    req.headers_mut().insert("mcp-protocol-version", "1999-01-01".parse().unwrap());
    assert_eq!(t.send(req).await.status(), 400);
    // Missing version header: assumed 2025-03-26, accepted.
    let mut req = mcp_request(&call(2, "ping", json!({})), None, Some(&session));
    req.headers_mut().remove("mcp-protocol-version");
    assert_eq!(t.send(req).await.status(), 200);
    // Notifications: 202, no body.
    let res = t
        .send(mcp_request(
            &json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
            None,
            Some(&session),
        ))
        .await;
    assert_eq!(res.status(), 202);
    assert!(res.body().is_empty());
    // DELETE terminates; afterwards 404.
    let res = t
        .send(
            request("DELETE", "/mcp").header("mcp-session-id", &session).body(Vec::new()).unwrap(),
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(
        t.send(mcp_request(&call(3, "ping", json!({})), None, Some(&session))).await.status(),
        404
    );
}

#[tokio::test]
async fn sessions_are_bound_to_the_user() {
    let t = TestApp::new().await;
    let (_, a) = tokens_for(&t, "alice").await;
    let (_, b) = tokens_for(&t, "bob").await;
    let session = initialize(&t, a["access_token"].as_str()).await;
    let res = t
        .send(mcp_request(&call(2, "ping", json!({})), b["access_token"].as_str(), Some(&session)))
        .await;
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn json_rpc_errors() {
    let t = conformance().await;
    let session = initialize(&t, None).await;
    let raw = |body: &str| {
        request("POST", "/mcp")
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .header("mcp-session-id", &session)
            .body(body.as_bytes().to_vec())
            .unwrap()
    };
    let res = t.send(raw("{not json")).await;
    assert_eq!(res.status(), 400);
    assert_eq!(json(&res)["error"]["code"], -32700);
    let res = t.send(raw(r#"{"jsonrpc":"2.0","id":1}"#)).await;
    assert_eq!(json(&res)["error"]["code"], -32600);
    // Batches were removed in 2025-06-18.
    let res = t.send(raw(r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#)).await;
    assert_eq!(res.status(), 400);
    assert_eq!(json(&res)["error"]["code"], -32600);
    let res = t.send(raw(r#"{"jsonrpc":"2.0","id":1,"method":"nope"}"#)).await;
    assert_eq!(json(&res)["error"]["code"], -32601);
    // Deep nesting does not crash the parser.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(t.send(raw(&deep)).await.status(), 400);
}

#[tokio::test]
async fn batches_work_for_2025_03_26() {
    let t = conformance().await;
    let session = initialize(&t, None).await;
    let body = json!([call(1, "ping", json!({})), {"jsonrpc":"2.0","method":"notifications/initialized"}, call(2, "tools/list", json!({}))]);
    let mut req = mcp_request(&body, None, Some(&session));
    req.headers_mut().insert("mcp-protocol-version", "2025-03-26".parse().unwrap());
    let res = t.send(req).await;
    assert_eq!(res.status(), 200);
    let arr = json(&res);
    assert_eq!(arr.as_array().unwrap().len(), 2);
    assert_eq!(arr[0]["id"], 1);
}

#[tokio::test]
async fn progress_streams_as_sse_before_the_result() {
    let t = conformance().await;
    let session = initialize(&t, None).await;
    let res = t.send(mcp_request(&call(5, "tools/call", json!({"name":"test_tool_with_progress","arguments":{},"_meta":{"progressToken":"p-1"}})), None, Some(&session))).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "content-type"), "text/event-stream");
    let events: Vec<serde_json::Value> = text(&res)
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("event: message\ndata: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(events.len(), 4);
    assert_eq!(events[0]["method"], "notifications/progress");
    assert_eq!(events[0]["params"]["progressToken"], "p-1");
    assert_eq!(events[3]["id"], 5);
    // Without a token: plain JSON.
    let res = t
        .send(mcp_request(
            &call(6, "tools/call", json!({"name":"echo","arguments":{"message":"x"}})),
            None,
            Some(&session),
        ))
        .await;
    assert_eq!(header(&res, "content-type"), "application/json");
}

#[tokio::test]
async fn a_failing_store_gives_503_on_the_mcp_endpoint() {
    let t = conformance().await;
    let session = initialize(&t, None).await;
    t.store.failing.set(true);
    let res = t.send(mcp_request(&call(2, "ping", json!({})), None, Some(&session))).await;
    assert_eq!(res.status(), 503);
}

#[tokio::test]
async fn cached_verification_still_expires_tokens_and_checks_the_audience() {
    let t = TestApp::new().await;
    let (_, tokens) = tokens_for(&t, "alice").await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let session = initialize(&t, Some(&access)).await; // verified and cached
    let ping = || mcp_request(&call(2, "ping", json!({})), Some(&access), Some(&session));
    assert_eq!(t.send(ping()).await.status(), 200);
    // Same token, another host: the cached claims do not cover that audience.
    let mut req = ping();
    *req.uri_mut() = "http://localhost:8787/mcp".parse().unwrap();
    assert_eq!(t.send(req).await.status(), 401);
    // Past exp + leeway: refused although cached.
    t.clock.advance(3600 + 31);
    assert_eq!(t.send(ping()).await.status(), 401);
}

#[tokio::test]
async fn production_with_a_public_base_url_refuses_other_hosts_on_mcp() {
    let cfg = Config::from_lookup(|k| match k {
        "USERS" => Some(r#"[{"username":"a","password_hash":"pbkdf2-sha256$1000$WOFSdwrcuNuORaFg8TO5FQ$PdoCBgTOelh7fRkXfajJPaOPrYUfv0bvNqI2ZwWLDpo","sub":"a","name":"A","scopes":["mcp"]}]"#.into()),
        "JWT_SIGNING_KEYS" => Some(r#"[{"kid":"k","seed":"7W2y4CDZgIctbKxepUXu0E_7igZqMLMvOP8a6IJ5ljs"}]"#.into()),
        "COOKIE_SECRET" => Some("0123456789abcdef0123456789abcdef".into()),
        "PUBLIC_BASE_URL" => Some("https://mcp.example.com".into()),
        _ => None,
    })
    .unwrap();
    let t = TestApp::with_config(cfg).await;
    let mut req = mcp_request(&call(1, "initialize", json!({})), None, None);
    *req.uri_mut() = "https://rebound.example.net/mcp".parse().unwrap();
    assert_eq!(t.send(req).await.status(), 403);
    let mut req = mcp_request(&call(1, "initialize", json!({})), None, None);
    *req.uri_mut() = "https://mcp.example.com/mcp".parse().unwrap();
    assert_eq!(t.send(req).await.status(), 401, "our own host reaches authentication");
}

/// A store that records the reads in flight at once (each read waits for the executor once).
struct Overlaps<'a> {
    inner: &'a dyn mcp_edge::store::Store,
    in_flight: std::cell::RefCell<Vec<String>>,
    together: std::cell::RefCell<Vec<Vec<String>>>,
}

#[async_trait::async_trait(?Send)]
impl mcp_edge::store::Store for Overlaps<'_> {
    async fn get(&self, key: &str) -> Result<Option<String>, mcp_edge::store::StoreError> {
        self.in_flight.borrow_mut().push(key.to_owned());
        if self.in_flight.borrow().len() > 1 {
            self.together.borrow_mut().push(self.in_flight.borrow().clone());
        }
        yield_now().await;
        self.in_flight.borrow_mut().retain(|k| k != key);
        self.inner.get(key).await
    }
    async fn put(
        &self,
        key: &str,
        value: &str,
        ttl: Option<u64>,
    ) -> Result<(), mcp_edge::store::StoreError> {
        self.inner.put(key, value, ttl).await
    }
    async fn delete(&self, key: &str) -> Result<(), mcp_edge::store::StoreError> {
        self.inner.delete(key).await
    }
    async fn list(
        &self,
        p: &str,
        l: usize,
        c: Option<&str>,
    ) -> Result<mcp_edge::store::ListPage, mcp_edge::store::StoreError> {
        self.inner.list(p, l, c).await
    }
}

/// A session call in an isolate that has seen neither the grant nor the session: both are
/// looked up in KV at once (one round trip of waiting, not two), and the call is answered.
/// A session ended meanwhile is still refused.
#[tokio::test]
async fn a_new_isolate_looks_up_the_grant_and_the_session_together() {
    let mut t = TestApp::new().await;
    let (_, tokens) = tokens_for(&t, "alice").await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let session = initialize(&t, Some(&access)).await;
    let echo = call(2, "tools/call", json!({"name":"echo","arguments":{"message":"hi"}}));
    for ended in [false, true] {
        // A new isolate: no memo of the token, the grant or the session.
        t.restart(Config::development()).await;
        if ended {
            let delete = request("DELETE", "/mcp")
                .header("authorization", format!("Bearer {access}"))
                .header("mcp-session-id", &session)
                .body(Vec::new())
                .unwrap();
            let res = t.send(delete).await;
            assert_eq!(res.status(), 204, "{}", text(&res));
            t.restart(Config::development()).await;
        }
        let store = Overlaps {
            inner: &t.store,
            in_flight: Default::default(),
            together: Default::default(),
        };
        let services = mcp_edge::env::Services { store: &store, ..t.services() };
        let res = t.app.handle(mcp_request(&echo, Some(&access), Some(&session)), &services).await;
        let together = store.together.borrow().clone();
        assert_eq!(together.len(), 1, "{together:?}");
        assert!(together[0][0].starts_with("grant:"), "{together:?}");
        assert!(together[0][1].starts_with("session-dead:"), "{together:?}");
        assert_eq!(res.status(), if ended { 404 } else { 200 }, "{}", text(&res));
    }
}
