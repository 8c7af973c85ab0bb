//! MCP 2026-07-28 on the same endpoint as the session revisions: classification, every error
//! code of the stateless revision, multi-round-trip requests with sealed state, cache hints, and
//! replays of Claude Code's and claude.ai's modern habits.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mcp_edge::config::Config;
use serde_json::{json, Value};

const V: &str = "2026-07-28";

fn caps(c: Value) -> Value {
    json!({"io.modelcontextprotocol/protocolVersion": V, "io.modelcontextprotocol/clientCapabilities": c,
           "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "1"}})
}

/// A modern request with the standard headers derived from the body (as the SDK does).
fn modern(
    id: Value,
    method: &str,
    mut params: Value,
    token: Option<&str>,
) -> http::request::Builder {
    if params.get("_meta").is_none() {
        params["_meta"] = caps(json!({"elicitation": {}, "sampling": {}, "roots": {}}));
    }
    let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    let mut b = request("POST", "/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", V)
        .header("mcp-method", method)
        .extension(Body(body.to_string()));
    let name = match method {
        "tools/call" | "prompts/get" => params.get("name").and_then(Value::as_str),
        "resources/read" => params.get("uri").and_then(Value::as_str),
        _ => None,
    };
    if let Some(n) = name {
        b = b.header("mcp-name", n);
    }
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    b
}

#[derive(Clone)]
struct Body(String);

async fn send(t: &TestApp, b: http::request::Builder) -> (u16, Value) {
    let body = b.extensions_ref().and_then(|e| e.get::<Body>()).unwrap().0.clone();
    let res = t.send(b.body(body.into_bytes()).unwrap()).await;
    (res.status().as_u16(), json(&res))
}

async fn conformance() -> TestApp {
    TestApp::with_config(
        Config::from_lookup(|k| (k == "MCP_EDGE_ENV").then(|| "conformance".into())).unwrap(),
    )
    .await
}

#[tokio::test]
async fn discover_names_the_versions_and_the_server() {
    let t = conformance().await;
    let (status, body) = send(&t, modern(json!(1), "server/discover", json!({}), None)).await;
    assert_eq!(status, 200, "{body}");
    let r = &body["result"];
    assert_eq!(r["resultType"], "complete");
    assert_eq!(r["supportedVersions"], json!([V]));
    assert_eq!(r["cacheScope"], "public");
    assert!(r["ttlMs"].as_u64().unwrap() > 0);
    assert_eq!(r["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "mcp-edge");
    assert!(r["capabilities"]["tools"].is_object());
    // Nothing can change while a stream is open: nothing is advertised as changing.
    assert!(r["capabilities"]["resources"].get("subscribe").is_none());
    assert!(r["capabilities"]["tools"].get("listChanged").is_none());
}

#[tokio::test]
async fn every_error_of_the_stateless_revision_has_its_code_and_status() {
    let t = conformance().await;
    let id = json!("req-7");
    // Missing _meta keys: 400 -32602 with the id.
    for meta in [
        json!({}),
        json!({"io.modelcontextprotocol/protocolVersion": V}),
        json!({"io.modelcontextprotocol/clientCapabilities": {}}),
    ] {
        let b = modern(id.clone(), "tools/list", json!({"_meta": meta}), None);
        let (status, body) = send(&t, b).await;
        assert_eq!((status, body["error"]["code"].as_i64()), (400, Some(-32602)), "{body}");
        assert_eq!(body["id"], id);
    }
    // clientInfo is optional.
    let b = modern(
        json!(1),
        "tools/list",
        json!({"_meta": {"io.modelcontextprotocol/protocolVersion": V, "io.modelcontextprotocol/clientCapabilities": {}}}),
        None,
    );
    assert_eq!(send(&t, b).await.0, 200);
    // A modern header without an envelope is modern, and refused for the missing _meta.
    let b = modern(json!(1), "tools/list", json!({"_meta": {"other": 1}}), None);
    assert_eq!(send(&t, b).await.1["error"]["code"], -32602);
    // Header missing, or different from the envelope: -32020 (before the version check).
    let mut b = modern(json!(1), "tools/list", json!({}), None);
    b.headers_mut().unwrap().remove("mcp-protocol-version");
    let (status, body) = send(&t, b).await;
    assert_eq!((status, body["error"]["code"].as_i64()), (400, Some(-32020)));
    let b = modern(
        json!(1),
        "tools/list",
        json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "v999.0.0", "io.modelcontextprotocol/clientCapabilities": {}}}),
        None,
    );
    assert_eq!(send(&t, b).await.1["error"]["code"], -32020);
    // Unsupported version: -32022 naming what is supported and what was asked.
    let b = modern(json!(1), "tools/list", json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "v999.0.0", "io.modelcontextprotocol/clientCapabilities": {}}}), None)
        .header("mcp-protocol-version", "v999.0.0");
    let mut b = b;
    b.headers_mut().unwrap().insert("mcp-protocol-version", "v999.0.0".parse().unwrap());
    let (status, body) = send(&t, b).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], -32022);
    assert_eq!(body["error"]["data"], json!({"supported": [V], "requested": "v999.0.0"}));
    // Mcp-Method missing or different (values are case-sensitive): -32020.
    let mut b = modern(json!(1), "tools/list", json!({}), None);
    b.headers_mut().unwrap().insert("mcp-method", "TOOLS/LIST".parse().unwrap());
    assert_eq!(send(&t, b).await.1["error"]["code"], -32020);
    let mut b = modern(json!(1), "tools/list", json!({}), None);
    b.headers_mut().unwrap().remove("mcp-method");
    assert_eq!(send(&t, b).await.0, 400);
    // Mcp-Name: whitespace trimmed, base64 form decoded strictly, mismatch refused.
    let call = json!({"name": "test_simple_text"});
    let mut b = modern(json!(1), "tools/call", call.clone(), None);
    b.headers_mut().unwrap().insert("mcp-name", "  test_simple_text  ".parse().unwrap());
    assert_eq!(send(&t, b).await.0, 200);
    let mut b = modern(json!(1), "tools/call", call.clone(), None);
    b.headers_mut()
        .unwrap()
        .insert("mcp-name", "=?base64?dGVzdF9zaW1wbGVfdGV4dA==?=".parse().unwrap());
    assert_eq!(send(&t, b).await.0, 200);
    for bad in ["wrong_tool_name", "=?base64?dGVzdF9zaW1wbGVfdGV4dA?="] {
        let mut b = modern(json!(1), "tools/call", call.clone(), None);
        b.headers_mut().unwrap().insert("mcp-name", bad.parse().unwrap());
        assert_eq!(send(&t, b).await.1["error"]["code"], -32020, "{bad}");
    }
    // Removed and unknown methods: 404 -32601.
    for m in [
        "initialize",
        "ping",
        "logging/setLevel",
        "resources/subscribe",
        "resources/unsubscribe",
        "unknown/method",
    ] {
        let (status, body) = send(
            &t,
            modern(json!(9), m, json!({"uri": "test://static-text", "level": "info"}), None),
        )
        .await;
        assert_eq!((status, body["error"]["code"].as_i64()), (404, Some(-32601)), "{m}: {body}");
        assert_eq!(body["id"], 9);
    }
    // An undeclared capability: 400 -32021 with the capability as an object.
    let b = modern(
        json!(1),
        "tools/call",
        json!({"name": "test_missing_capability", "_meta": caps(json!({}))}),
        None,
    );
    let (status, body) = send(&t, b).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], -32021);
    assert_eq!(body["error"]["data"], json!({"requiredCapabilities": {"sampling": {}}}));
    // A missing resource: -32602 with the uri (never -32002 in this revision).
    let (_, body) =
        send(&t, modern(json!(1), "resources/read", json!({"uri": "test://nope"}), None)).await;
    assert_eq!(body["error"]["code"], -32602);
    assert_eq!(body["error"]["data"]["uri"], "test://nope");
}

#[tokio::test]
async fn x_mcp_header_parameters_are_mirrored_and_checked() {
    let t = conformance().await;
    let call = json!({"name": "test_header_param", "arguments": {"region": "Hello"}});
    let with = |value: Option<&str>| {
        let mut b = modern(json!(1), "tools/call", call.clone(), None);
        if let Some(v) = value {
            b.headers_mut().unwrap().insert("mcp-param-region", v.parse().unwrap());
        }
        b
    };
    assert_eq!(send(&t, with(Some("Hello"))).await.0, 200);
    assert_eq!(send(&t, with(Some("=?base64?SGVsbG8=?="))).await.0, 200);
    for bad in [None, Some("Goodbye"), Some("=?base64?SGVsbG8?="), Some("=?base64?SGVs!!!bG8=?=")] {
        let (status, body) = send(&t, with(bad)).await;
        assert_eq!((status, body["error"]["code"].as_i64()), (400, Some(-32020)), "{bad:?}");
    }
}

#[tokio::test]
async fn results_carry_result_type_and_cache_hints() {
    let t = conformance().await;
    for m in ["tools/list", "prompts/list", "resources/list", "resources/templates/list"] {
        let (_, body) = send(&t, modern(json!(1), m, json!({}), None)).await;
        assert_eq!(body["result"]["resultType"], "complete", "{m}");
        assert_eq!(body["result"]["cacheScope"], "public", "{m}");
        assert!(body["result"]["ttlMs"].is_u64(), "{m}");
    }
    let (_, body) =
        send(&t, modern(json!(1), "resources/read", json!({"uri": "test://static-text"}), None))
            .await;
    assert!(body["result"]["ttlMs"].is_u64());
    let (_, body) =
        send(&t, modern(json!(1), "tools/call", json!({"name": "test_simple_text"}), None)).await;
    assert_eq!(body["result"]["resultType"], "complete");
    assert!(body["result"].get("ttlMs").is_none(), "tool results are not cacheable");
    // The session revision is untouched: no resultType there.
    let session = initialize(&t, None).await;
    let res = t
        .send(mcp_request(
            &json!({"jsonrpc":"2.0","id":2,"method":"tools/list"}),
            None,
            Some(&session),
        ))
        .await;
    assert!(json(&res)["result"].get("resultType").is_none());
}

#[tokio::test]
async fn log_messages_only_when_the_request_asks_for_a_level() {
    let t = conformance().await;
    let res = t
        .send({
            let b = modern(json!(1), "tools/call", json!({"name": "test_logging_tool"}), None);
            let body = b.extensions_ref().unwrap().get::<Body>().unwrap().0.clone();
            b.body(body.into_bytes()).unwrap()
        })
        .await;
    assert!(!text(&res).contains("notifications/message"), "{}", text(&res));
    let mut meta = caps(json!({}));
    meta["io.modelcontextprotocol/logLevel"] = json!("info");
    let b =
        modern(json!(1), "tools/call", json!({"name": "test_logging_tool", "_meta": meta}), None);
    let body = b.extensions_ref().unwrap().get::<Body>().unwrap().0.clone();
    let res = t.send(b.body(body.into_bytes()).unwrap()).await;
    assert_eq!(header(&res, "content-type"), "text/event-stream");
    assert!(text(&res).contains("notifications/message"));
}

/// Runs a multi-round-trip call: `answers` are given in order to each `input_required` round.
async fn rounds(
    t: &TestApp,
    token: Option<&str>,
    name: &str,
    mut reply: impl FnMut(&Value) -> Value,
) -> Vec<Value> {
    let mut seen = Vec::new();
    let mut params = json!({"name": name, "arguments": {}});
    for round in 0..5 {
        let (status, body) =
            send(t, modern(json!(round), "tools/call", params.clone(), token)).await;
        assert_eq!(status, 200, "{body}");
        seen.push(body.clone());
        let r = &body["result"];
        if r["resultType"] != "input_required" {
            return seen;
        }
        params["inputResponses"] = reply(r);
        match r.get("requestState") {
            Some(s) => params["requestState"] = s.clone(),
            None => drop(params.as_object_mut().unwrap().remove("requestState")),
        }
    }
    panic!("no completion in 5 rounds: {seen:?}");
}

#[tokio::test]
async fn multi_round_trip_calls_complete_and_state_is_sealed() {
    let t = conformance().await;
    let seen = rounds(&t, None, "test_input_required_result_elicitation", |r| {
        assert_eq!(r["inputRequests"]["user_name"]["method"], "elicitation/create");
        json!({"user_name": {"action": "accept", "content": {"name": "Alice"}}})
    })
    .await;
    assert_eq!(seen.last().unwrap()["result"]["content"][0]["text"], "Hello, Alice!");

    let mut states = Vec::new();
    let seen = rounds(&t, None, "test_input_required_result_multi_round", |r| {
        states.push(r["requestState"].as_str().unwrap().to_owned());
        let key = r["inputRequests"].as_object().unwrap().keys().next().unwrap().clone();
        json!({ key: {"action": "accept", "content": {"name": "A", "color": "blue"}} })
    })
    .await;
    assert_eq!(seen.len(), 3);
    assert_ne!(states[0], states[1], "each round has its own state");

    // Tampered, replayed on another tool's call, or expired state: a JSON-RPC error.
    let first = send(
        &t,
        modern(
            json!(1),
            "tools/call",
            json!({"name": "test_input_required_result_tampered_state"}),
            None,
        ),
    )
    .await
    .1;
    let state = first["result"]["requestState"].as_str().unwrap().to_owned();
    let answers = json!({"confirm": {"action": "accept", "content": {"ok": true}}});
    let retry = |name: &str, state: String| json!({"name": name, "inputResponses": answers.clone(), "requestState": state});
    let (_, body) = send(
        &t,
        modern(
            json!(2),
            "tools/call",
            retry("test_input_required_result_tampered_state", format!("{state}-TAMPERED")),
            None,
        ),
    )
    .await;
    assert_eq!(body["error"]["code"], -32602, "{body}");
    let (_, body) = send(
        &t,
        modern(
            json!(3),
            "tools/call",
            retry("test_input_required_result_request_state", state.clone()),
            None,
        ),
    )
    .await;
    assert_eq!(body["error"]["code"], -32602, "another call's state: {body}");
    let (_, body) = send(
        &t,
        modern(
            json!(4),
            "tools/call",
            retry("test_input_required_result_tampered_state", state.clone()),
            None,
        ),
    )
    .await;
    assert!(body["result"]["content"][0]["text"].as_str().unwrap().contains("state-ok"), "{body}");
    t.clock.advance(mcp_edge::mcp::mrtr::STATE_LIFETIME_SECS + 1);
    let (_, body) = send(
        &t,
        modern(
            json!(5),
            "tools/call",
            retry("test_input_required_result_tampered_state", state),
            None,
        ),
    )
    .await;
    assert_eq!(body["error"]["code"], -32602, "expired: {body}");
}

#[tokio::test]
async fn only_declared_capabilities_are_asked_for() {
    let t = conformance().await;
    let b = modern(
        json!(1),
        "tools/call",
        json!({"name": "test_input_required_result_capabilities", "_meta": caps(json!({"sampling": {}}))}),
        None,
    );
    let (_, body) = send(&t, b).await;
    let requests = body["result"]["inputRequests"].as_object().unwrap();
    assert!(!requests.is_empty());
    assert!(requests.values().all(|r| r["method"] == "sampling/createMessage"), "{body}");
    // Removed input requests the client cannot answer even when a tool asks: the multiple
    // inputs fixture asks for all three; an elicitation-only client sees only elicitation.
    let b = modern(
        json!(2),
        "tools/call",
        json!({"name": "test_input_required_result_multiple_inputs", "_meta": caps(json!({"elicitation": {}}))}),
        None,
    );
    let (_, body) = send(&t, b).await;
    let requests = body["result"]["inputRequests"].as_object().unwrap();
    assert_eq!(requests.keys().collect::<Vec<_>>(), ["user_name"]);
}

#[tokio::test]
async fn get_vibe_asks_for_a_place_when_it_can_and_is_bound_to_the_user() {
    let t = TestApp::new().await;
    let (_, alice) = tokens_for(&t, "alice").await;
    let alice = alice["access_token"].as_str().unwrap().to_owned();
    let seen = rounds(&t, Some(&alice), "get_vibe", |r| {
        assert_eq!(r["inputRequests"]["location"]["method"], "elicitation/create");
        json!({"location": {"action": "accept", "content": {"location": "Lisbon"}}})
    })
    .await;
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1]["result"]["content"][0]["text"], "Curious vibes for Alice in Lisbon.");
    // A client without elicitation is answered at once.
    let b = modern(
        json!(1),
        "tools/call",
        json!({"name": "get_vibe", "_meta": caps(json!({}))}),
        Some(&alice),
    );
    let (_, body) = send(&t, b).await;
    assert_eq!(body["result"]["content"][0]["text"], "Curious vibes for Alice, wherever you are.");
    // A session client (2025-11-25) is answered without asking too.
    let session = initialize(&t, Some(&alice)).await;
    let res = t
        .send(mcp_request(
            &json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_vibe"}}),
            Some(&alice),
            Some(&session),
        ))
        .await;
    assert_eq!(
        json(&res)["result"]["content"][0]["text"],
        "Curious vibes for Alice, wherever you are."
    );
}

#[tokio::test]
async fn state_sealed_for_one_user_is_refused_for_another() {
    use mcp_edge::mcp::mrtr::{digest, seal_state, Binding};
    let t = TestApp::new().await;
    let (alice_client, alice) = tokens_for(&t, "alice").await;
    let (_, bob) = tokens_for(&t, "bob").await;
    let (alice, bob) =
        (alice["access_token"].as_str().unwrap(), bob["access_token"].as_str().unwrap());
    let call = json!({"name": "get_vibe", "arguments": {}});
    let principal = format!("user-alice|{alice_client}");
    let binding = Binding {
        principal: &principal,
        method: "tools/call",
        digest: digest(call.as_object().unwrap()),
    };
    let state = seal_state(&t.app.state.secret, &binding, &json!({}), NOW);
    let mut retry = call.clone();
    retry["requestState"] = json!(state);
    retry["inputResponses"] =
        json!({"location": {"action": "accept", "content": {"location": "Oslo"}}});
    let (_, body) = send(&t, modern(json!(1), "tools/call", retry.clone(), Some(alice))).await;
    assert_eq!(body["result"]["content"][0]["text"], "Curious vibes for Alice in Oslo.", "{body}");
    let (_, body) = send(&t, modern(json!(2), "tools/call", retry, Some(bob))).await;
    assert_eq!(body["error"]["code"], -32602, "bob replaying alice's state: {body}");
}

#[tokio::test]
async fn claude_code_probe_sequence_and_claude_ai_header_habit() {
    let t = TestApp::new().await;
    let (_, tokens) = tokens_for(&t, "alice").await;
    let token = tokens["access_token"].as_str().unwrap();
    // Claude Code: server/discover, then tools/list, modern throughout.
    let (status, body) = send(
        &t,
        modern(json!("server-discover-probe-1"), "server/discover", json!({}), Some(token)),
    )
    .await;
    assert_eq!((status, body["result"]["supportedVersions"][0].as_str()), (200, Some(V)));
    let (_, body) = send(&t, modern(json!(2), "tools/list", json!({}), Some(token))).await;
    let names: Vec<&str> = body["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    // The worker's catalogue, in its order (a deployer's new tool joins it).
    let catalogue: Vec<&str> = mcp_edge_worker::TOOLS.iter().map(|t| t.name).collect();
    assert_eq!(names, catalogue);
    for demo in ["echo", "get_vibe", "get_time", "list_clients"] {
        assert!(catalogue.contains(&demo), "{demo}");
    }
    // The demo tools carry what directory reviews ask for (a deployer's own tools are theirs).
    let demos = body["result"]["tools"].as_array().unwrap().iter();
    for tool in demos.filter(|t| {
        ["echo", "get_vibe", "get_time", "list_clients"].contains(&t["name"].as_str().unwrap())
    }) {
        let a = &tool["annotations"];
        assert!(
            tool["title"].is_string()
                && a["readOnlyHint"].is_boolean()
                && a["destructiveHint"].is_boolean()
                && a["openWorldHint"].is_boolean(),
            "{tool}"
        );
    }
    // Unauthenticated discover: the 401 challenge, as for every request.
    assert_eq!(send(&t, modern(json!(1), "server/discover", json!({}), None)).await.0, 401);
    // claude.ai: header 2025-11-25 with a 2026-07-28 envelope is served as 2026-07-28.
    let mut b = modern(
        json!(3),
        "tools/call",
        json!({"name": "echo", "arguments": {"message": "hi"}}),
        Some(token),
    );
    b.headers_mut().unwrap().insert("mcp-protocol-version", "2025-11-25".parse().unwrap());
    let (status, body) = send(&t, b).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["resultType"], "complete");
    assert_eq!(body["result"]["content"][0]["text"], "Echo: hi");
}

#[tokio::test]
async fn subscriptions_listen_acknowledges_with_the_request_id_and_closes() {
    let t = conformance().await;
    let b = modern(
        json!("listen:1"),
        "subscriptions/listen",
        json!({"notifications": {"toolsListChanged": true}}),
        None,
    );
    let body = b.extensions_ref().unwrap().get::<Body>().unwrap().0.clone();
    let res = t.send(b.body(body.into_bytes()).unwrap()).await;
    assert_eq!(header(&res, "content-type"), "text/event-stream");
    let frames: Vec<Value> = text(&res)
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(frames[0]["method"], "notifications/subscriptions/acknowledged");
    assert_eq!(frames[0]["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], "listen:1");
    assert_eq!(
        frames[0]["params"]["notifications"],
        json!({}),
        "nothing can change here, so nothing is honoured"
    );
    assert_eq!(frames[1]["id"], "listen:1");
    assert_eq!(frames[1]["result"]["resultType"], "complete");
}
