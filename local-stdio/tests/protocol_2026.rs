//! MCP 2026-07-28 over stdio. rmcp's client pinned to that revision (`server/discover`, then
//! self-contained `_meta` on every request, no `initialize`) against `LocalServer`, with every
//! message on the pipe captured: rmcp's client accepts a result without `resultType` or cache
//! hints, so the assertions read the JSON the server sent. Then the same against the built
//! binary, and the binary answering `initialize` after `server/discover` on one connection (what
//! a client that probes and falls back, such as Claude Code's, does).

#![allow(clippy::unwrap_used)]

use local_stdio::server::CACHE_TTL_MS;
use local_stdio::LocalServer;
use rmcp::model::{CallToolRequestParams, ProtocolVersion, ReadResourceRequestParams, ResultType};
use rmcp::service::{
    ClientLifecycleMode, ClientServiceExt, RoleClient, RunningService, ServiceError,
};
use rmcp::ServiceExt;
use serde_json::{json, Map, Value};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt};

const SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
const PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";

type Client = RunningService<RoleClient, ()>;

/// Which way a message went.
#[derive(Clone, Copy, PartialEq, Debug)]
enum To {
    Server,
    Client,
}

/// Every message that crossed the pipe, in order.
#[derive(Clone, Default)]
struct Wire(Arc<Mutex<Vec<(To, Value)>>>);

impl Wire {
    fn all(&self, to: To) -> Vec<Value> {
        self.0.lock().unwrap().iter().filter(|(t, _)| *t == to).map(|(_, m)| m.clone()).collect()
    }

    /// The client's requests (not notifications), in order.
    fn requests(&self) -> Vec<Value> {
        self.all(To::Server).into_iter().filter(|m| m.get("id").is_some()).collect()
    }

    /// The last `method` request the client sent.
    fn last_request(&self, method: &str) -> Value {
        let requests = self.requests();
        let found = requests.iter().rev().find(|m| m["method"] == method);
        found.unwrap_or_else(|| panic!("no {method} request in {requests:?}")).clone()
    }

    /// The server's reply (`result` or `error` object) to the last `method` request.
    fn reply(&self, method: &str, part: &str) -> Value {
        let id = self.last_request(method)["id"].clone();
        let to_client = self.all(To::Client);
        let reply = to_client.iter().find(|m| m["id"] == id && m.get("method").is_none());
        let reply = reply.unwrap_or_else(|| panic!("no reply to {method} {id} in {to_client:?}"));
        reply.get(part).unwrap_or_else(|| panic!("{method}: no {part} in {reply}")).clone()
    }

    fn result(&self, method: &str) -> Value {
        self.reply(method, "result")
    }
}

/// Copies newline-delimited messages from `from` to `to`, recording each before passing it on
/// (so it is recorded by the time the receiver can act on it); closes `to` at end of input.
async fn tap(from: impl AsyncRead + Unpin, mut to: impl AsyncWrite + Unpin, wire: Wire, dir: To) {
    let mut lines = tokio::io::BufReader::new(from).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let message = serde_json::from_str(&line).unwrap_or(Value::String(line.clone()));
        wire.0.lock().unwrap().push((dir, message));
        let sent = async {
            to.write_all(line.as_bytes()).await?;
            to.write_all(b"\n").await?;
            to.flush().await
        };
        if sent.await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// `LocalServer` and an rmcp client over in-memory pipes with a tap in between.
async fn connect(lifecycle: ClientLifecycleMode) -> (Client, Wire, tokio::task::JoinHandle<()>) {
    let (server_io, server_end) = tokio::io::duplex(64 * 1024);
    let (client_io, client_end) = tokio::io::duplex(64 * 1024);
    let server = tokio::spawn(async move {
        let running = LocalServer::new().unwrap().serve(server_io).await.unwrap();
        running.waiting().await.unwrap();
    });
    let wire = Wire::default();
    let (server_read, server_write) = tokio::io::split(server_end);
    let (client_read, client_write) = tokio::io::split(client_end);
    tokio::spawn(tap(client_read, server_write, wire.clone(), To::Server));
    tokio::spawn(tap(server_read, client_write, wire.clone(), To::Client));
    let client = ().serve_with_lifecycle(client_io, lifecycle).await.unwrap();
    (client, wire, server)
}

/// rmcp's client pinned to 2026-07-28: it probes with `server/discover` and fails (rather than
/// falling back to `initialize`) unless that revision is agreed.
async fn connect_2026() -> (Client, Wire, tokio::task::JoinHandle<()>) {
    connect(ClientLifecycleMode::Discover {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
    })
    .await
}

async fn close(client: Client, server: tokio::task::JoinHandle<()>) {
    client.cancel().await.unwrap();
    server.await.unwrap();
}

fn call(name: &'static str, args: Value) -> CallToolRequestParams {
    let params = CallToolRequestParams::new(name);
    match args {
        Value::Object(m) => params.with_arguments(m),
        _ => params,
    }
}

fn text(result: &Value) -> &str {
    result["content"][0]["text"].as_str().unwrap()
}

/// What 2026-07-28 requires of a complete result: `resultType`, and on `server/discover`,
/// lists and `resources/read` the cache hints; and what it asks (SHOULD): the server in `_meta`.
fn assert_2026_result(result: &Value, cacheable: bool) {
    assert_eq!(result["resultType"], "complete", "{result}");
    let server = &result["_meta"][SERVER_INFO];
    assert_eq!(server["name"], "mcp-edge-local", "{result}");
    assert_eq!(server["version"], env!("CARGO_PKG_VERSION"), "{result}");
    if cacheable {
        assert_eq!(result["ttlMs"], CACHE_TTL_MS, "{result}");
        assert_eq!(result["cacheScope"], "public", "{result}");
    } else {
        assert!(result.get("ttlMs").is_none() && result.get("cacheScope").is_none(), "{result}");
    }
}

/// A result of an `initialize`d (≤ 2025-11-25) session: none of the 2026-07-28 additions.
fn assert_legacy_result(result: &Value) {
    for field in ["resultType", "ttlMs", "cacheScope"] {
        assert!(result.get(field).is_none(), "{field} in a legacy result: {result}");
    }
    assert!(result["_meta"].get(SERVER_INFO).is_none(), "{result}");
}

#[tokio::test]
async fn discover_negotiates_2026_07_28_and_nothing_initializes() {
    let (client, wire, server) = connect_2026().await;
    let info = client.peer_info().unwrap();
    assert_eq!(info.protocol_version, ProtocolVersion::V_2026_07_28);
    assert_eq!(info.server_info.as_ref().unwrap().name, "mcp-edge-local");
    assert!(info.capabilities.tools.is_some() && info.capabilities.resources.is_some());
    assert!(info.instructions.as_deref().unwrap().contains("get_current_time"));

    let discover = wire.result("server/discover");
    assert_2026_result(&discover, true);
    let versions = discover["supportedVersions"].as_array().unwrap();
    assert!(versions.contains(&json!("2026-07-28")), "{discover}");
    assert!(versions.contains(&json!("2025-11-25")), "{discover}");
    assert!(discover["capabilities"]["tools"].is_object(), "{discover}");
    assert!(discover.get("serverInfo").is_none(), "serverInfo belongs in _meta: {discover}");

    client.list_all_tools().await.unwrap();
    let methods: Vec<Value> = wire.requests().iter().map(|m| m["method"].clone()).collect();
    assert_eq!(methods, [json!("server/discover"), json!("tools/list")]);
    assert!(wire.all(To::Server).iter().all(|m| m["method"] != "notifications/initialized"));
    close(client, server).await;
}

#[tokio::test]
async fn every_2026_tool_result_carries_result_type() {
    let (client, wire, server) = connect_2026().await;

    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, ["echo", "get_time", "get_current_time", "get_guid"]);
    let list = wire.result("tools/list");
    assert_2026_result(&list, true);
    assert_eq!(list["tools"].as_array().unwrap().len(), 4);

    let calls = [
        ("echo", json!({"message": "hello 2026"})),
        ("get_time", json!({})),
        ("get_current_time", json!({"city": "Tokyo"})),
        ("get_guid", json!({})),
    ];
    for (name, args) in calls {
        let typed = client.call_tool(call(name, args)).await.unwrap();
        assert_eq!(typed.result_type, Some(ResultType::COMPLETE), "{name}");
        let request = wire.last_request("tools/call");
        assert_eq!(request["params"]["name"], name);
        assert_eq!(request["params"]["_meta"][PROTOCOL_VERSION], "2026-07-28", "{request}");
        let r = wire.result("tools/call");
        assert_2026_result(&r, false);
        assert_ne!(r["isError"], true, "{name}: {r}");
        // The rest is the result it always was.
        match name {
            "echo" => assert_eq!(text(&r), "Echo: hello 2026"),
            "get_time" => assert!(text(&r).starts_with("The current UTC time is "), "{r}"),
            "get_current_time" => assert_eq!(r["structuredContent"]["timezone"], "Asia/Tokyo"),
            _ => assert_eq!(text(&r), r["structuredContent"]["guid"].as_str().unwrap()),
        }
    }

    // What a tool reports itself is a result too, and carries the same.
    client.call_tool(call("get_current_time", json!({"city": "Tokio"}))).await.unwrap();
    let r = wire.result("tools/call");
    assert_2026_result(&r, false);
    assert_eq!(r["isError"], true);
    assert!(text(&r).contains("Did you mean: Tokyo (Asia/Tokyo)"), "{r}");

    // An unknown tool is still a protocol error.
    let err = client.call_tool(call("get_vibe", json!({}))).await.unwrap_err();
    assert!(matches!(err, ServiceError::McpError(e) if e.code.0 == -32602));
    close(client, server).await;
}

#[tokio::test]
async fn resource_results_carry_cache_hints() {
    let (client, wire, server) = connect_2026().await;
    let resources = client.list_all_resources().await.unwrap();
    assert_eq!(resources.len(), 1);
    assert_2026_result(&wire.result("resources/list"), true);

    client.list_all_resource_templates().await.unwrap();
    let templates = wire.result("resources/templates/list");
    assert_2026_result(&templates, true);
    assert_eq!(templates["resourceTemplates"], json!([]));

    client
        .read_resource(ReadResourceRequestParams::new("ui://get-time/mcp-app.html"))
        .await
        .unwrap();
    let read = wire.result("resources/read");
    assert_2026_result(&read, true);
    assert_eq!(read["contents"][0]["mimeType"], "text/html;profile=mcp-app");

    // 2026-07-28: an unknown resource is -32602 with the uri (not -32002).
    client.read_resource(ReadResourceRequestParams::new("mcp-edge://about")).await.unwrap_err();
    let error = wire.reply("resources/read", "error");
    assert_eq!(error["code"], -32602, "{error}");
    assert_eq!(error["data"]["uri"], "mcp-edge://about", "{error}");
    close(client, server).await;
}

/// The same server, `initialize`d: results keep the shape they had before 2026-07-28.
#[tokio::test]
async fn initialized_sessions_get_results_without_2026_fields() {
    let (client, wire, server) = connect(ClientLifecycleMode::Initialize).await;
    let init = wire.result("initialize");
    assert_eq!(init["protocolVersion"], "2025-11-25");
    assert_eq!(init["serverInfo"]["name"], "mcp-edge-local");

    client.list_all_tools().await.unwrap();
    assert_legacy_result(&wire.result("tools/list"));
    for (name, args) in [
        ("echo", json!({"message": "m"})),
        ("get_time", json!({})),
        ("get_current_time", json!({"city": "Paris"})),
        ("get_guid", json!({})),
        ("get_current_time", json!({"city": "Tokio"})),
    ] {
        let typed = client.call_tool(call(name, args)).await.unwrap();
        assert_eq!(typed.result_type, None, "{name}");
        let r = wire.result("tools/call");
        assert_legacy_result(&r);
        assert!(r["content"][0]["text"].is_string(), "{r}");
    }
    client.list_all_resources().await.unwrap();
    assert_legacy_result(&wire.result("resources/list"));
    client.list_all_resource_templates().await.unwrap();
    assert_legacy_result(&wire.result("resources/templates/list"));
    client
        .read_resource(ReadResourceRequestParams::new("ui://get-time/mcp-app.html"))
        .await
        .unwrap();
    assert_legacy_result(&wire.result("resources/read"));
    client.read_resource(ReadResourceRequestParams::new("mcp-edge://about")).await.unwrap_err();
    assert_eq!(wire.reply("resources/read", "error")["code"], -32002);
    close(client, server).await;
}

// ---- The built binary over real stdio ----

fn meta_2026() -> Value {
    json!({
        PROTOCOL_VERSION: "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "protocol-2026-test", "version": "0"},
    })
}

fn request(id: u64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// Runs `local-stdio mcp`, writes `messages` one at a time (waiting for the reply to each
/// request), closes stdin and returns the replies by id. Fails on anything else on stdout.
fn exchange(messages: &[Value]) -> Map<String, Value> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_local-stdio"))
        .arg("mcp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut by_id = Map::new();
    for m in messages {
        writeln!(stdin, "{m}").unwrap();
        stdin.flush().unwrap();
        if let Some(id) = m.get("id") {
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            let reply: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line:?}"));
            assert_eq!(&reply["id"], id, "{reply}");
            by_id.insert(id.to_string(), reply);
        }
    }
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(rest, "", "nothing but replies on stdout");
    assert!(child.wait().unwrap().success());
    by_id
}

fn result_of(replies: &Map<String, Value>, id: u64) -> &Value {
    let reply = &replies[&id.to_string()];
    reply.get("result").unwrap_or_else(|| panic!("no result: {reply}"))
}

#[test]
fn the_binary_serves_2026_07_28() {
    let with_meta = |mut params: Value| {
        params["_meta"] = meta_2026();
        params
    };
    let replies = exchange(&[
        request(1, "server/discover", with_meta(json!({}))),
        request(2, "tools/list", with_meta(json!({}))),
        request(3, "tools/call", with_meta(json!({"name": "echo", "arguments": {"message": "x"}}))),
        request(4, "tools/call", with_meta(json!({"name": "get_time", "arguments": {}}))),
        request(
            5,
            "tools/call",
            with_meta(json!({"name": "get_current_time", "arguments": {"city": "Berlin"}})),
        ),
        request(6, "tools/call", with_meta(json!({"name": "get_guid"}))),
        request(7, "resources/read", with_meta(json!({"uri": "ui://get-time/mcp-app.html"}))),
    ]);
    assert!(result_of(&replies, 1)["supportedVersions"]
        .as_array()
        .unwrap()
        .contains(&json!("2026-07-28")));
    for id in [1, 2, 7] {
        assert_2026_result(result_of(&replies, id), true);
    }
    for id in 3..=6 {
        let r = result_of(&replies, id);
        assert_2026_result(r, false);
        assert_ne!(r["isError"], true, "{r}");
    }
    assert_eq!(result_of(&replies, 5)["structuredContent"]["timezone"], "Europe/Berlin");
}

/// A client that probes with `server/discover` and then starts a session the old way anyway
/// (Claude Code's stdio client does): the probe is answered, and so is the `initialize`.
#[test]
fn the_binary_answers_initialize_after_discover() {
    let mut discover = request(1, "server/discover", json!({}));
    discover["params"]["_meta"] = meta_2026();
    let replies = exchange(&[
        discover,
        request(
            2,
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "probe-then-initialize", "version": "0"}}),
        ),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        request(3, "tools/list", json!({})),
        request(
            4,
            "tools/call",
            json!({"name": "get_current_time", "arguments": {"city": "Lima"}}),
        ),
        request(5, "tools/call", json!({"name": "get_guid", "arguments": {}})),
    ]);
    let discover = result_of(&replies, 1);
    assert_2026_result(discover, true);

    let init = result_of(&replies, 2);
    assert_eq!(init["protocolVersion"], "2025-11-25", "{init}");
    assert_eq!(init["serverInfo"]["name"], "mcp-edge-local");
    assert!(init["capabilities"]["tools"].is_object(), "{init}");

    let list = result_of(&replies, 3);
    assert_legacy_result(list);
    assert_eq!(list["tools"].as_array().unwrap().len(), 4);
    let lima = result_of(&replies, 4);
    assert_legacy_result(lima);
    assert_eq!(lima["structuredContent"]["timezone"], "America/Lima");
    assert_legacy_result(result_of(&replies, 5));
}
