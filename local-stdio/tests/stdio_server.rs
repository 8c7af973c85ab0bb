//! The stdio server end to end in process: `LocalServer` and an rmcp client over an in-memory
//! pipe (`tokio::io::duplex`), then the built binary itself over real stdin/stdout.

#![allow(clippy::unwrap_used)]

use local_stdio::LocalServer;
use rmcp::model::{CallToolRequestParams, ReadResourceRequestParams};
use rmcp::service::{RoleClient, RunningService, ServiceError};
use rmcp::ServiceExt;
use serde_json::{json, Map, Value};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

type Client = RunningService<RoleClient, ()>;

async fn connect() -> (Client, tokio::task::JoinHandle<()>) {
    let (server_io, client_io) = tokio::io::duplex(64 * 1024);
    let server = tokio::spawn(async move {
        let running = LocalServer::new().unwrap().serve(server_io).await.unwrap();
        running.waiting().await.unwrap();
    });
    let client = ().serve(client_io).await.unwrap();
    (client, server)
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

/// A `tools/call` result as its wire JSON.
async fn call_json(client: &Client, name: &'static str, args: Value) -> Value {
    serde_json::to_value(client.call_tool(call(name, args)).await.unwrap()).unwrap()
}

fn text(result: &Value) -> &str {
    result["content"][0]["text"].as_str().unwrap()
}

fn now() -> u64 {
    local_stdio::server::unix_now()
}

#[tokio::test]
async fn initialize_reports_the_server_and_its_capabilities() {
    let (client, server) = connect().await;
    let info = serde_json::to_value(client.peer_info().unwrap().as_ref()).unwrap();
    assert_eq!(info["serverInfo"]["name"], "mcp-edge-local");
    assert_eq!(info["serverInfo"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(info["capabilities"]["tools"].is_object(), "{info}");
    assert!(info["capabilities"]["resources"].is_object(), "{info}");
    assert!(info["protocolVersion"].as_str().unwrap().starts_with("20"), "{info}");
    assert!(info["instructions"].as_str().unwrap().contains("get_current_time"));
    close(client, server).await;
}

#[tokio::test]
async fn lists_all_four_tools_with_the_workers_definitions() {
    let (client, server) = connect().await;
    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, ["echo", "get_time", "get_current_time", "get_guid"]);

    // echo and get_time are the worker's own definitions, byte for byte.
    let worker = mcp_edge_worker::TOOLS;
    for shared in worker.iter().filter(|t| ["echo", "get_time"].contains(&t.name)) {
        let listed = tools.iter().find(|t| t.name == shared.name).unwrap();
        assert_eq!(serde_json::to_value(listed).unwrap(), (shared.definition)(), "{}", shared.name);
    }
    let get_time = tools.iter().find(|t| t.name == "get_time").unwrap();
    let get_time = serde_json::to_value(get_time).unwrap();
    assert_eq!(get_time["_meta"]["ui"]["resourceUri"], "ui://get-time/mcp-app.html");

    let current = tools.iter().find(|t| t.name == "get_current_time").unwrap();
    let current = serde_json::to_value(current).unwrap();
    assert_eq!(current["inputSchema"]["required"], json!(["city"]));
    assert_eq!(current["annotations"]["readOnlyHint"], true);
    close(client, server).await;
}

#[tokio::test]
async fn calls_every_tool() {
    let (client, server) = connect().await;

    let r = call_json(&client, "echo", json!({"message": "hello stdio"})).await;
    assert_eq!(text(&r), "Echo: hello stdio");
    assert_ne!(r["isError"], true);

    let before = now();
    let r = call_json(&client, "get_time", json!({})).await;
    let unix = r["structuredContent"]["unix"].as_u64().unwrap();
    assert!(unix >= before && unix <= now(), "{r}");
    assert_eq!(r["structuredContent"]["utc"], mcp_edge::mcp::tools::format_utc(unix));
    assert!(text(&r).starts_with("The current UTC time is "));

    let r = call_json(&client, "get_current_time", json!({"city": "Tokyo"})).await;
    assert_ne!(r["isError"], true, "{r}");
    let s = &r["structuredContent"];
    assert_eq!(s["timezone"], "Asia/Tokyo");
    assert_eq!(s["city"], "Tokyo");
    assert_eq!(s["utc_offset"], "+09:00");
    assert_eq!(s["abbreviation"], "JST");
    assert!(s["datetime"].as_str().unwrap().ends_with("+09:00"), "{s}");
    assert!(text(&r).contains("in Tokyo (Asia/Tokyo, JST, UTC+09:00)"), "{r}");

    for (city, zone) in [
        ("New York", "America/New_York"),
        ("são paulo", "America/Sao_Paulo"),
        ("Beijing", "Asia/Shanghai"),
        ("Europe/Paris", "Europe/Paris"),
    ] {
        let r = call_json(&client, "get_current_time", json!({ "city": city })).await;
        assert_eq!(r["structuredContent"]["timezone"], zone, "{city}: {r}");
    }

    let r = call_json(&client, "get_guid", json!({})).await;
    let guid = r["structuredContent"]["guid"].as_str().unwrap();
    assert_eq!(text(&r), guid);
    let uuid = uuid::Uuid::parse_str(guid).unwrap();
    assert_eq!(uuid.get_version_num(), 4);
    let r2 = call_json(&client, "get_guid", json!({})).await;
    assert_ne!(r2["structuredContent"]["guid"], guid);

    close(client, server).await;
}

#[tokio::test]
async fn unknown_city_is_a_tool_error_with_suggestions() {
    let (client, server) = connect().await;
    let r = call_json(&client, "get_current_time", json!({"city": "Tokio"})).await;
    assert_eq!(r["isError"], true);
    let msg = text(&r);
    assert!(msg.contains("Unknown city or time zone \"Tokio\""), "{msg}");
    assert!(msg.contains("Did you mean: Tokyo (Asia/Tokyo)"), "{msg}");
    assert!(r.get("structuredContent").is_none());

    let r = call_json(&client, "get_current_time", json!({"city": "Xqzzyvw"})).await;
    assert_eq!(r["isError"], true);
    assert!(text(&r).contains("No close matches"), "{r}");
    close(client, server).await;
}

#[tokio::test]
async fn missing_or_wrong_arguments_are_tool_errors() {
    let (client, server) = connect().await;
    let r = call_json(&client, "get_current_time", Value::Null).await;
    assert_eq!(r["isError"], true);
    assert_eq!(text(&r), "Invalid arguments: missing field `city`.");

    let r = call_json(&client, "get_current_time", json!({"city": 42})).await;
    assert_eq!(r["isError"], true);
    assert_eq!(text(&r), "Invalid argument `city`: invalid type: integer `42`, expected a string.");

    // The worker's typed tools: the error names the argument (from the typed arguments).
    let r = call_json(&client, "echo", json!({})).await;
    assert_eq!(r["isError"], true);
    assert_eq!(text(&r), "Invalid arguments: missing field `message`.");
    let r = call_json(&client, "echo", json!({"message": 5})).await;
    assert_eq!(r["isError"], true);
    assert_eq!(
        text(&r),
        "Invalid argument `message`: invalid type: integer `5`, expected a string."
    );
    close(client, server).await;
}

#[tokio::test]
async fn unknown_tool_is_a_protocol_error() {
    let (client, server) = connect().await;
    let err = client.call_tool(call("get_vibe", json!({}))).await.unwrap_err();
    match err {
        ServiceError::McpError(e) => {
            assert_eq!(e.code.0, -32602);
            assert_eq!(e.message, "Unknown tool: get_vibe");
        }
        other => panic!("expected an MCP error, got {other:?}"),
    }
    // The session survives it.
    let r = call_json(&client, "echo", json!({"message": "still here"})).await;
    assert_eq!(text(&r), "Echo: still here");
    close(client, server).await;
}

#[tokio::test]
async fn serves_the_get_time_app_view() {
    let (client, server) = connect().await;
    let resources = client.list_all_resources().await.unwrap();
    let uris: Vec<&str> = resources.iter().map(|r| r.uri.as_str()).collect();
    assert_eq!(uris, ["ui://get-time/mcp-app.html"]);

    let r = client
        .read_resource(ReadResourceRequestParams::new("ui://get-time/mcp-app.html"))
        .await
        .unwrap();
    let r = serde_json::to_value(r).unwrap();
    assert_eq!(r["contents"][0]["mimeType"], "text/html;profile=mcp-app");
    assert!(r["contents"][0]["text"].as_str().unwrap().contains("ui/initialize"));

    let err =
        client.read_resource(ReadResourceRequestParams::new("mcp-edge://about")).await.unwrap_err();
    assert!(matches!(err, ServiceError::McpError(e) if e.code.0 == -32002));
    close(client, server).await;
}

// ---- The built binary over real stdio ----

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_local-stdio"))
}

/// `local-stdio mcp` as an MCP host runs it: stdout carries only JSON-RPC messages.
#[test]
fn the_binary_speaks_only_json_rpc_on_stdout() {
    let mut child = bin()
        .arg("mcp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let messages = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "test", "version": "0"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
               "params": {"name": "get_current_time", "arguments": {"city": "New York"}}}),
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "nope"}}),
    ];
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut by_id: Map<String, Value> = Map::new();
    for m in &messages {
        writeln!(stdin, "{m}").unwrap();
        stdin.flush().unwrap();
        if let Some(id) = m.get("id") {
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            let reply: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line:?}"));
            assert_eq!(reply["jsonrpc"], "2.0");
            assert_eq!(&reply["id"], id);
            by_id.insert(id.to_string(), reply);
        }
    }
    drop(stdin); // EOF: the server exits
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(rest, "", "nothing but responses on stdout");
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");

    assert_eq!(by_id["1"]["result"]["protocolVersion"], "2025-06-18");
    assert_eq!(by_id["2"]["result"]["tools"].as_array().unwrap().len(), 4);
    assert_eq!(by_id["3"]["result"]["structuredContent"]["timezone"], "America/New_York");
    assert_eq!(by_id["4"]["error"]["code"], -32602);
}

#[test]
fn the_people_verbs() {
    let out = bin().args(["time", "New", "York"]).output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("in New York (America/New_York, "), "{stdout}");

    let out = bin().args(["time", "Tokio"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stderr).unwrap().contains("Did you mean: Tokyo (Asia/Tokyo)"));

    let out = bin().arg("guid").output().unwrap();
    assert!(out.status.success());
    let guid = String::from_utf8(out.stdout).unwrap();
    assert_eq!(uuid::Uuid::parse_str(guid.trim()).unwrap().get_version_num(), 4);

    for verb in ["mcp", "time", "guid", "claude-config"] {
        let out = bin().args([verb, "--help"]).output().unwrap();
        assert!(out.status.success(), "{verb} --help");
        assert!(String::from_utf8(out.stdout).unwrap().contains("Usage: local-stdio"), "{verb}");
    }
    let out = bin().arg("--help").output().unwrap();
    assert!(String::from_utf8(out.stdout).unwrap().contains("claude-config"));
    assert_eq!(bin().output().unwrap().status.code(), Some(2));
    assert_eq!(bin().arg("frobnicate").output().unwrap().status.code(), Some(2));
    assert_eq!(bin().args(["guid", "extra"]).output().unwrap().status.code(), Some(2));
}

/// Command-line mistakes: a message on stderr naming the problem, nothing on stdout, exit 2.
#[test]
fn bad_command_lines_exit_2_with_a_message() {
    for (args, message) in [
        (&["frobnicate"][..], "no command \"frobnicate\""),
        (&["--bogus"], "invalid option '--bogus'"),
        (&["time", "--utc", "Tokyo"], "time: invalid option '--utc'"),
        (&["claude-config", "--bogus"], "claude-config: invalid option '--bogus'"),
        (&["claude-config", "--config"], "missing argument for option '--config'"),
        (
            &["claude-config", "--write", "--remote-url"],
            "missing argument for option '--remote-url'",
        ),
        (&["mcp", "extra"], "mcp: unexpected argument \"extra\""),
    ] {
        let out = bin().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.starts_with("local-stdio: "), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(stderr.contains("--help`"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    for args in [&["-h"][..], &["help", "time"], &["claude-config", "--bogus", "-h"]] {
        let out = bin().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        assert!(String::from_utf8(out.stdout).unwrap().contains("Usage: local-stdio"), "{args:?}");
        assert!(out.stderr.is_empty(), "{args:?}");
    }
}

#[test]
fn claude_config_prints_and_writes() {
    let out = bin()
        .args(["claude-config", "--remote-url", "https://mcp-edge.example.workers.dev"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_local-stdio")).unwrap();
    let command = doc["mcpServers"]["mcp-edge-local"]["command"].as_str().unwrap();
    assert_eq!(std::fs::canonicalize(command).unwrap(), exe);
    assert_eq!(doc["mcpServers"]["mcp-edge-local"]["args"], json!(["mcp"]));
    assert_eq!(
        doc["mcpServers"]["mcp-edge"],
        json!({"command": "npx", "args": ["mcp-remote", "https://mcp-edge.example.workers.dev/mcp"]})
    );

    let dir = std::env::temp_dir().join(format!("local-stdio-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("claude_desktop_config.json");
    std::fs::write(&path, r#"{"theme": "dark", "mcpServers": {"other": {"command": "x"}}}"#)
        .unwrap();
    let out = bin().args(["claude-config", "--write", "--config"]).arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(doc["theme"], "dark");
    assert_eq!(doc["mcpServers"]["other"], json!({"command": "x"}));
    assert_eq!(doc["mcpServers"]["mcp-edge-local"]["args"], json!(["mcp"]));
    let backups = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".bak"))
        .count();
    assert_eq!(backups, 1);

    std::fs::write(&path, "{not json").unwrap();
    let out = bin().args(["claude-config", "--write", "--config"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stderr).unwrap().contains("not valid JSON"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{not json");
    let _ = std::fs::remove_dir_all(&dir);
}
