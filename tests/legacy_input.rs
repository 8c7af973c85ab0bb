//! Input for legacy sessions (routes::mcp::bridge): a tool written in multi-round-trip form asks
//! a 2025-11-25 client by server-to-client requests on the call's SSE stream; the answers arrive
//! as separate POSTs, here served by a second app instance (another isolate) that shares only
//! the store and the meeting point (the Durable Object's twin).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mcp_edge::app::App;
use mcp_edge::config::Config;
use mcp_edge::web::{BodyReader, Reply};
use serde_json::{json, Value};

async fn conformance() -> TestApp {
    TestApp::with_config(
        Config::from_lookup(|k| (k == "MCP_EDGE_ENV").then(|| "conformance".into())).unwrap(),
    )
    .await
}

/// A second instance of the same deployment: same store (so the same secrets), same objects.
async fn other_isolate(t: &TestApp) -> App {
    let config =
        Config::from_lookup(|k| (k == "MCP_EDGE_ENV").then(|| "conformance".into())).unwrap();
    App::new(config, &t.services()).await.unwrap()
}

async fn open_session(t: &TestApp, capabilities: Value) -> String {
    let res = t
        .send(mcp_request(
            &json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":capabilities,"clientInfo":{"name":"t","version":"1"}}}),
            None,
            None,
        ))
        .await;
    assert_eq!(res.status(), 200);
    header(&res, "mcp-session-id").to_owned()
}

fn call(tool: &str, args: Value) -> Value {
    json!({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":tool,"arguments":args}})
}

/// Reads SSE events (id, data) from a streamed body until one satisfies `until`.
async fn read_until(
    body: &BodyReader,
    buf: &mut String,
    until: impl Fn(&Value) -> bool,
) -> Vec<(Option<String>, String)> {
    let mut events = Vec::new();
    loop {
        while let Some(end) = buf.find("\n\n") {
            let raw: String = buf.drain(..end + 2).collect();
            let id = raw.lines().find_map(|l| l.strip_prefix("id: ")).map(str::to_owned);
            let data = raw.lines().find_map(|l| l.strip_prefix("data: ")).unwrap_or("").to_owned();
            let parsed = serde_json::from_str::<Value>(&data).unwrap_or(Value::Null);
            events.push((id, data));
            if until(&parsed) {
                return events;
            }
        }
        match body.next().await {
            Some(chunk) => buf.push_str(std::str::from_utf8(&chunk).unwrap()),
            None => return events,
        }
    }
}

fn answer(id: &Value, result: Value) -> Value {
    json!({"jsonrpc":"2.0","id":id,"result":result})
}

#[tokio::test]
async fn elicitation_is_asked_on_the_stream_and_answered_through_another_isolate() {
    let t = conformance().await;
    let other = other_isolate(&t).await;
    let session = open_session(&t, json!({"elicitation": {}, "sampling": {}})).await;
    let services = t.services();
    let reply = t
        .app
        .serve(
            mcp_request(
                &call("test_elicitation", json!({"message": "Who are you?"})),
                None,
                Some(&session),
            ),
            &services,
        )
        .await;
    let Reply::Streamed { head, body, rest } = reply else { panic!("expected a streamed reply") };
    assert_eq!(header(&head, "content-type"), "text/event-stream");
    let client = async {
        let mut buf = String::new();
        let events = read_until(&body, &mut buf, |m| m["method"] == "elicitation/create").await;
        // The priming event comes first: an id and no data.
        assert!(events[0].0.is_some() && events[0].1.is_empty(), "{events:?}");
        let request: Value = serde_json::from_str(&events.last().unwrap().1).unwrap();
        assert_eq!(request["params"]["message"], "Who are you?");
        let id = request["id"].clone();
        let content =
            json!({"action": "accept", "content": {"username": "ada", "email": "ada@example.com"}});
        let res = other
            .handle(mcp_request(&answer(&id, content.clone()), None, Some(&session)), &services)
            .await;
        assert_eq!(res.status(), 202, "{}", text(&res));
        // A second answer to the same request finds nobody waiting.
        let res =
            other.handle(mcp_request(&answer(&id, content), None, Some(&session)), &services).await;
        assert_eq!(res.status(), 404, "{}", text(&res));
        let events = read_until(&body, &mut buf, |m| m["id"] == 7).await;
        let response: Value = serde_json::from_str(&events.last().unwrap().1).unwrap();
        let text = response["result"]["content"][0]["text"].as_str().unwrap().to_owned();
        assert!(text.contains("action=accept") && text.contains("ada@example.com"), "{text}");
        assert!(body.next().await.is_none(), "the stream ends after the result");
    };
    tokio::join!(rest, client);
}

#[tokio::test]
async fn sampling_answers_reach_the_tool_and_undeclared_capabilities_are_never_asked() {
    let t = conformance().await;
    let services = t.services();
    // Sampling declared: asked, answered, used.
    let session = open_session(&t, json!({"sampling": {}})).await;
    let reply = t
        .app
        .serve(
            mcp_request(&call("test_sampling", json!({"prompt": "Say hi"})), None, Some(&session)),
            &services,
        )
        .await;
    let Reply::Streamed { body, rest, .. } = reply else { panic!("expected a streamed reply") };
    let client = async {
        let mut buf = String::new();
        let events = read_until(&body, &mut buf, |m| m["method"] == "sampling/createMessage").await;
        let request: Value = serde_json::from_str(&events.last().unwrap().1).unwrap();
        assert_eq!(request["params"]["messages"][0]["content"]["text"], "Say hi");
        let result =
            json!({"role": "assistant", "content": {"type": "text", "text": "hi!"}, "model": "m"});
        let res = t.send(mcp_request(&answer(&request["id"], result), None, Some(&session))).await;
        assert_eq!(res.status(), 202);
        let events = read_until(&body, &mut buf, |m| m["id"] == 7).await;
        let response: Value = serde_json::from_str(&events.last().unwrap().1).unwrap();
        assert_eq!(response["result"]["content"][0]["text"], "LLM response: hi!");
    };
    tokio::join!(rest, client);

    // Elicitation not declared by this session: never asked, a clear isError instead.
    let res = t
        .send(mcp_request(&call("test_elicitation", json!({"message": "x"})), None, Some(&session)))
        .await;
    assert_eq!(res.status(), 200);
    let result = &json(&res)["result"];
    assert_eq!(result["isError"], true);
    assert!(result["content"][0]["text"].as_str().unwrap().contains("did not declare"));
}

#[tokio::test]
async fn a_client_that_never_answers_gets_a_timeout_error_and_nothing_is_left_behind() {
    let t = conformance().await;
    let session = open_session(&t, json!({"elicitation": {}})).await;
    let services = t.services();
    let reply = t
        .app
        .serve(
            mcp_request(&call("test_elicitation", json!({"message": "?"})), None, Some(&session)),
            &services,
        )
        .await;
    let Reply::Streamed { body, rest, .. } = reply else { panic!("expected a streamed reply") };
    let client = async {
        let mut buf = String::new();
        let events = read_until(&body, &mut buf, |m| m["method"] == "elicitation/create").await;
        let request: Value = serde_json::from_str(&events.last().unwrap().1).unwrap();
        // 61 s pass (INPUT_TIMEOUT defaults to 60 s).
        t.clock.advance(61);
        t.rendezvous.tick();
        let events = read_until(&body, &mut buf, |m| m["id"] == 7).await;
        let response: Value = serde_json::from_str(&events.last().unwrap().1).unwrap();
        assert_eq!(response["error"]["code"], -32001, "{response}");
        assert!(response["error"]["message"].as_str().unwrap().contains("60 s"));
        // A late answer finds nobody.
        let late = answer(&request["id"], json!({"action": "accept", "content": {}}));
        let res = t.send(mcp_request(&late, None, Some(&session))).await;
        assert_eq!(res.status(), 404);
    };
    tokio::join!(rest, client);
    // The wait is gone; only the stream's log remains, until it expires.
    assert_eq!(t.rendezvous.held(), 1);
    t.clock.advance(601);
    assert_eq!(t.rendezvous.held(), 0);
}

#[tokio::test]
async fn a_stream_closed_before_the_result_is_resumed_with_last_event_id() {
    let t = conformance().await;
    let session = open_session(&t, json!({})).await;
    let res =
        t.send(mcp_request(&call("test_reconnection", json!({})), None, Some(&session))).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "content-type"), "text/event-stream");
    let body = text(&res);
    assert!(body.contains("retry: ") && !body.contains("\"result\""), "{body}");
    let last = body.lines().find_map(|l| l.strip_prefix("id: ")).unwrap().to_owned();

    let get = |last: &str, session: &str| {
        request("GET", "/mcp")
            .header("accept", "text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .header("mcp-session-id", session)
            .header("last-event-id", last)
            .body(Vec::new())
            .unwrap()
    };
    let res = t.send(get(&last, &session)).await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    let replayed = text(&res);
    assert!(replayed.contains("Reconnection test completed"), "{replayed}");

    // Another session cannot read it; an unknown event id is a clear 400; GET without one, 405.
    let other = open_session(&t, json!({})).await;
    assert_eq!(t.send(get(&last, &other)).await.status(), 400);
    assert_eq!(t.send(get("nonsense", &session)).await.status(), 400);
    let plain =
        request("GET", "/mcp").header("accept", "text/event-stream").body(Vec::new()).unwrap();
    assert_eq!(t.send(plain).await.status(), 405);
}
