//! Wire compatibility with the official Rust SDK: every message our MCP core produces
//! deserializes into `rmcp::model` types with the same meaning, and requests rmcp clients
//! produce are understood by our core. (We do not ship rmcp in the worker: it would add about
//! 155 KB gzip to the bundle; see the README.)
#![allow(clippy::unwrap_used)]

use mcp_edge::mcp::jsonrpc::Message;
use mcp_edge::mcp::server::{CallContext, Request as McpRequest, Server};
use rmcp::model::*;
use serde_json::{json, Value};
use std::cell::RefCell;

async fn ask(server: &Server, method: &str, params: Value) -> (Value, Vec<Value>) {
    let notes = RefCell::new(Vec::new());
    let notify =
        |m: &str, p: Value| notes.borrow_mut().push(mcp_edge::mcp::jsonrpc::notification(m, p));
    let ctx = CallContext {
        identity: None,
        store: None,
        fetch: None,
        vars: None,
        now: 1_800_000_000,
        modern: None,
        asks: None,
    };
    let res = answer(server, &json!(7), method, Some(params), &ctx, &notify).await;
    (res, notes.into_inner())
}

/// Parses and answers one request, as a transport without step-up authorization does.
async fn answer(
    server: &Server,
    id: &Value,
    method: &str,
    params: Option<Value>,
    ctx: &CallContext<'_>,
    notify: &dyn Fn(&str, Value),
) -> Value {
    match McpRequest::parse(server, method, params) {
        Ok(request) => server.answer(id, request, ctx, notify).await.unwrap(),
        Err(error) => mcp_edge::mcp::jsonrpc::error(id, error),
    }
}

fn as_rmcp<T: serde::de::DeserializeOwned + serde::Serialize>(v: &Value) -> Value {
    let typed: T =
        serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("rmcp rejects {v}: {e}"));
    serde_json::to_value(typed).unwrap()
}

#[tokio::test]
async fn results_deserialize_into_rmcp_types() {
    let s = Server::new(&mcp_edge_worker::CATALOG, true);
    let (init, _) = ask(&s, "initialize", json!({"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}})).await;
    let back = as_rmcp::<InitializeResult>(&init["result"]);
    assert_eq!(back["protocolVersion"], "2025-06-18");
    assert_eq!(back["serverInfo"]["name"], "mcp-edge");

    let (tools, _) = ask(&s, "tools/list", json!({})).await;
    let back = as_rmcp::<ListToolsResult>(&tools["result"]);
    let names: Vec<&str> =
        back["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"echo") && names.contains(&"get_time"));
    let get_time =
        back["tools"].as_array().unwrap().iter().find(|t| t["name"] == "get_time").unwrap();
    assert_eq!(get_time["_meta"]["ui"]["resourceUri"], "ui://get-time/mcp-app.html");
    assert!(get_time["outputSchema"].is_object());

    for (name, args) in [
        ("echo", json!({"message":"hi"})),
        ("echo", json!({})),
        ("get_time", json!({})),
        ("test_image_content", json!({})),
        ("test_audio_content", json!({})),
        ("test_multiple_content_types", json!({})),
    ] {
        let (call, _) = ask(&s, "tools/call", json!({"name": name, "arguments": args})).await;
        let back = as_rmcp::<CallToolResult>(&call["result"]);
        assert_eq!(back["isError"], call["result"]["isError"], "{name}");
        assert_eq!(back["content"], call["result"]["content"], "{name}");
    }

    let (r, _) = ask(&s, "resources/list", json!({})).await;
    as_rmcp::<ListResourcesResult>(&r["result"]);
    let (r, _) = ask(&s, "resources/templates/list", json!({})).await;
    as_rmcp::<ListResourceTemplatesResult>(&r["result"]);
    for uri in ["ui://get-time/mcp-app.html", "test://static-binary", "test://template/1/data"] {
        let (r, _) = ask(&s, "resources/read", json!({"uri": uri})).await;
        let back = as_rmcp::<ReadResourceResult>(&r["result"]);
        assert_eq!(back["contents"][0]["uri"], uri);
    }
    let (r, _) = ask(&s, "prompts/list", json!({})).await;
    as_rmcp::<ListPromptsResult>(&r["result"]);
    for (name, args) in [
        ("vibe_check", json!({"location":"Oslo"})),
        ("test_prompt_with_image", json!({})),
        ("test_prompt_with_embedded_resource", json!({"resourceUri":"test://x"})),
    ] {
        let (r, _) = ask(&s, "prompts/get", json!({"name": name, "arguments": args})).await;
        as_rmcp::<GetPromptResult>(&r["result"]);
    }
    let (r, _) = ask(&s, "completion/complete", json!({"ref":{"type":"ref/prompt","name":"vibe_check"},"argument":{"name":"location","value":"B"}})).await;
    let back = as_rmcp::<CompleteResult>(&r["result"]);
    assert_eq!(back["completion"]["values"], json!(["Berlin", "Boston", "Buenos Aires"]));
}

#[tokio::test]
async fn whole_messages_parse_as_rmcp_server_messages() {
    let s = Server::new(&mcp_edge_worker::CATALOG, true);
    let (ok, _) = ask(&s, "ping", json!({})).await;
    let (err, _) = ask(&s, "nope", json!({})).await;
    let (_, notes) = ask(
        &s,
        "tools/call",
        json!({"name":"test_tool_with_progress","_meta":{"progressToken":"t"}}),
    )
    .await;
    let (_, logs) = ask(&s, "tools/call", json!({"name":"test_tool_with_logging"})).await;
    for msg in [ok, err].into_iter().chain(notes).chain(logs) {
        let parsed: ServerJsonRpcMessage = serde_json::from_value(msg.clone())
            .unwrap_or_else(|e| panic!("rmcp rejects {msg}: {e}"));
        let again = serde_json::to_value(&parsed).unwrap();
        assert_eq!(again["jsonrpc"], "2.0");
        assert_eq!(again.get("id"), msg.get("id"));
        assert_eq!(again.get("method"), msg.get("method"));
    }
}

#[tokio::test]
async fn requests_built_by_rmcp_are_understood() {
    let s = Server::new(&mcp_edge_worker::CATALOG, false);
    let call = CallToolRequestParams::new("echo")
        .with_arguments(json!({"message":"from rmcp"}).as_object().unwrap().clone());
    let request = ClientJsonRpcMessage::request(
        ClientRequest::CallToolRequest(Request::new(call)),
        NumberOrString::Number(3),
    );
    let wire = serde_json::to_value(&request).unwrap();
    let Ok(Message::Request { id, method, params }) = Message::classify(wire.clone()) else {
        panic!("not a request: {wire}")
    };
    assert_eq!(method, "tools/call");
    let ctx = CallContext {
        identity: None,
        store: None,
        fetch: None,
        vars: None,
        now: 0,
        modern: None,
        asks: None,
    };
    let res = answer(&s, &id, &method, params, &ctx, &|_, _| {}).await;
    assert_eq!(res["id"], 3);
    assert_eq!(res["result"]["content"][0]["text"], "Echo: from rmcp");
}
