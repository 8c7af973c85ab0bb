//! Typed tools through the whole app: schemas generated from the types, structured results
//! that match their `outputSchema`, argument errors that name the argument in both eras, and a
//! scope declared by a tool becoming one the authorization server supports, grants and demands.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mcp_edge::config::Config;
use mcp_edge::mcp::tools::{
    schema_of, Annotations, Catalog, Json, Tool, ToolContext, ToolError, TypedTool,
};
use mcp_edge::web::{Request, Response};
use mcp_edge_worker::tools::{echo, get_time};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The README's example tool ("Your own tools"): two arguments, structured output, own scope.
struct WordStats;

#[derive(Deserialize, JsonSchema)]
struct WordStatsArgs {
    /// The text to analyse
    text: String,
    /// How many of the most frequent words to list (default 3)
    #[serde(default)]
    top: Option<u8>,
}

#[derive(Serialize, JsonSchema)]
struct Stats {
    words: usize,
    unique: usize,
    top: Vec<String>,
}

impl TypedTool for WordStats {
    const NAME: &'static str = "word_stats";
    const DESCRIPTION: &'static str = "Counts the words of a text and lists the most frequent.";
    const SCOPES: &'static [&'static str] = &["stats"];
    const ANNOTATIONS: Annotations = Annotations::READ_ONLY;
    type Args = WordStatsArgs;
    type Output = Json<Stats>;

    async fn call(args: WordStatsArgs, _ctx: &ToolContext<'_>) -> Result<Json<Stats>, ToolError> {
        let words: Vec<String> = args.text.split_whitespace().map(str::to_lowercase).collect();
        let mut counts = std::collections::BTreeMap::<&str, usize>::new();
        for w in &words {
            *counts.entry(w).or_default() += 1;
        }
        let mut ranked: Vec<(&str, usize)> = counts.iter().map(|(w, n)| (*w, *n)).collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let top = ranked.iter().take(args.top.unwrap_or(3).into()).map(|(w, _)| w.to_string());
        Ok(Json::new(Stats { words: words.len(), unique: counts.len(), top: top.collect() }))
    }
}

const TOOLS: &[Tool] =
    &[Tool::typed::<echo::Echo>(), Tool::typed::<get_time::GetTime>(), Tool::typed::<WordStats>()];

const ALICE: &str =
    "pbkdf2-sha256$10000$ZGVtby1zYWx0LWFsaWNlIQ$X1FUXCI8tlMifGCJHrJylYGwcvBuk1hExgOKMTF83jw";
const BOB: &str =
    "pbkdf2-sha256$10000$ZGVtby1zYWx0LWJvYiEhIQ$0ctyFdJR45Y4GEuyhTuluT_IOFO8bnYPBWqfqxkWcMc";

/// Development settings serving [`TOOLS`], with alice granted the tool's `stats` scope.
async fn app() -> TestApp {
    let users = format!(
        r#"[{{"username":"alice","password_hash":"{ALICE}","sub":"user-alice","name":"Alice","scopes":["mcp","stats"]}},
            {{"username":"bob","password_hash":"{BOB}","sub":"user-bob","name":"Bob","scopes":["mcp"]}}]"#
    );
    let get = |k: &str| match k {
        "MCP_EDGE_ENV" => Some("development".to_owned()),
        "USERS" => Some(users.clone()),
        _ => None,
    };
    TestApp::with_config(Config::from_lookup_with(get, Catalog::new(TOOLS)).unwrap()).await
}

fn rpc(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
}

/// A 2026-07-28 request (per-request `_meta`, standard headers).
fn modern(method: &str, mut params: Value, token: Option<&str>) -> Request {
    params["_meta"] = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"}});
    let mut b = request("POST", "/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", method);
    if let Some(name) = params.get("name").and_then(Value::as_str) {
        b = b.header("mcp-name", name);
    }
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    b.body(rpc(method, params).to_string().into_bytes()).unwrap()
}

/// The JSON-RPC message of a response (plain JSON or one SSE event).
fn message(res: &Response) -> Value {
    let body = text(res);
    match body.lines().find_map(|l| l.strip_prefix("data: ")) {
        Some(data) => serde_json::from_str(data).unwrap(),
        None => serde_json::from_str(&body).unwrap_or_else(|_| panic!("{body}")),
    }
}

/// Does `value` satisfy `schema`? The subset schemars emits for these types: `type`
/// (one or several), `properties`, `required`, `items`, `minimum`, `maximum`.
fn valid(schema: &Value, value: &Value) -> Result<(), String> {
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let is = |t: &str| match t {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => false,
    };
    if !types.is_empty() && !types.iter().any(|t| is(t)) {
        return Err(format!("{value} is not of type {types:?}"));
    }
    if let Some(min) = schema["minimum"].as_f64() {
        if value.as_f64().is_some_and(|v| v < min) {
            return Err(format!("{value} < {min}"));
        }
    }
    if let Some(max) = schema["maximum"].as_f64() {
        if value.as_f64().is_some_and(|v| v > max) {
            return Err(format!("{value} > {max}"));
        }
    }
    if let Some(obj) = value.as_object() {
        for r in schema["required"].as_array().into_iter().flatten() {
            let r = r.as_str().unwrap();
            if !obj.contains_key(r) {
                return Err(format!("missing required {r:?}"));
            }
        }
        if let Some(props) = schema["properties"].as_object() {
            for (k, v) in obj {
                match props.get(k) {
                    Some(s) => valid(s, v).map_err(|e| format!("{k}: {e}"))?,
                    None if schema["additionalProperties"] == false => {
                        return Err(format!("unexpected {k:?}"))
                    }
                    None => {}
                }
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for v in array {
            valid(items, v)?;
        }
    }
    Ok(())
}

#[tokio::test]
async fn schemas_are_generated_from_the_types() {
    let t = app().await;
    let (_, tokens) = tokens_for(&t, "alice").await;
    let res = t.send(modern("tools/list", json!({}), tokens["access_token"].as_str())).await;
    let list = message(&res);
    let tools = list["result"]["tools"].as_array().unwrap();
    let find = |n: &str| tools.iter().find(|t| t["name"] == n).unwrap().clone();
    assert_eq!(find("echo")["inputSchema"], schema_of::<echo::Args>());
    assert_eq!(
        find("echo")["inputSchema"],
        json!({"type": "object", "properties": {"message": {"type": "string", "description": "Text to echo back"}}, "required": ["message"]})
    );
    assert_eq!(find("get_time")["outputSchema"], schema_of::<get_time::Time>());
    assert_eq!(find("get_time")["inputSchema"], json!({"type": "object", "properties": {}}));
    let stats = find("word_stats");
    assert_eq!(stats["inputSchema"]["required"], json!(["text"]));
    assert_eq!(stats["inputSchema"]["properties"]["top"]["maximum"], 255);
    assert_eq!(stats["outputSchema"], schema_of::<Stats>());
    assert_eq!(
        stats["annotations"],
        json!({"readOnlyHint": true, "destructiveHint": false, "openWorldHint": false})
    );
    assert_eq!(find("get_time")["_meta"]["ui"]["resourceUri"], "ui://get-time/mcp-app.html");
}

#[tokio::test]
async fn every_structured_result_matches_its_output_schema() {
    let t = app().await;
    let (_, tokens) = tokens_for(&t, "alice").await;
    let token = tokens["access_token"].as_str().unwrap();
    let list = message(&t.send(modern("tools/list", json!({}), Some(token))).await);
    let args = json!({"echo": {"message": "x"}, "get_time": {}, "word_stats": {"text": "a b a c a b", "top": 2}});
    let mut checked = 0;
    for tool in list["result"]["tools"].as_array().unwrap() {
        let Some(schema) = tool.get("outputSchema") else { continue };
        let name = tool["name"].as_str().unwrap();
        let call = json!({"name": name, "arguments": args[name]});
        let r = message(&t.send(modern("tools/call", call, Some(token))).await);
        let content = &r["result"]["structuredContent"];
        assert_eq!(r["result"]["isError"], false, "{name}: {r}");
        valid(schema, content).unwrap_or_else(|e| panic!("{name}: {e} ({content})"));
        // The validator can fail: a result missing a required member does not pass.
        let mut broken = content.clone();
        let first = schema["required"][0].as_str().unwrap();
        broken.as_object_mut().unwrap().remove(first);
        assert!(valid(schema, &broken).is_err(), "{name}");
        checked += 1;
    }
    assert_eq!(checked, 2, "get_time and word_stats have an outputSchema");
    let r = message(
        &t.send(modern(
            "tools/call",
            json!({"name": "word_stats", "arguments": {"text": "a b a c a b", "top": 2}}),
            Some(token),
        ))
        .await,
    );
    assert_eq!(
        r["result"]["structuredContent"],
        json!({"words": 6, "unique": 3, "top": ["a", "b"]})
    );
}

#[tokio::test]
async fn invalid_arguments_are_tool_errors_naming_the_argument_in_both_eras() {
    let t = app().await;
    let (_, tokens) = tokens_for(&t, "alice").await;
    let token = tokens["access_token"].as_str().unwrap();
    let cases = [
        ("echo", json!({}), "Invalid arguments: missing field `message`."),
        (
            "echo",
            json!({"message": 5}),
            "Invalid argument `message`: invalid type: integer `5`, expected a string.",
        ),
        (
            "word_stats",
            json!({"text": "x", "top": 1000}),
            "Invalid argument `top`: invalid value: integer `1000`, expected u8.",
        ),
    ];
    let session = initialize(&t, Some(token)).await;
    for (name, args, expected) in cases {
        let call = json!({"name": name, "arguments": args});
        let modern = message(&t.send(modern("tools/call", call.clone(), Some(token))).await);
        let legacy = message(
            &t.send(mcp_request(&rpc("tools/call", call), Some(token), Some(&session))).await,
        );
        for (era, r) in [("2026-07-28", modern), ("session", legacy)] {
            assert!(
                r.get("error").is_none(),
                "{era} {name}: a tool error, not a protocol error: {r}"
            );
            assert_eq!(r["result"]["isError"], true, "{era} {name}: {r}");
            assert_eq!(r["result"]["content"][0]["text"], expected, "{era} {name}");
        }
    }
}

#[tokio::test]
async fn a_scope_declared_by_a_tool_is_supported_granted_and_demanded() {
    let t = app().await;
    // Advertised by both metadata documents.
    for path in
        ["/.well-known/oauth-authorization-server", "/.well-known/oauth-protected-resource/mcp"]
    {
        let doc = json(&t.get(path).await);
        assert_eq!(doc["scopes_supported"], json!(["mcp", "admin", "stats"]), "{path}");
    }
    // A client may register for it; an unknown one is still refused.
    let res =
        t.post_json("/register", &json!({"redirect_uris": [REDIRECT], "scope": "mcp stats"})).await;
    assert_eq!(res.status(), 201, "{}", text(&res));
    let res =
        t.post_json("/register", &json!({"redirect_uris": [REDIRECT], "scope": "mcp nope"})).await;
    assert_eq!(json(&res)["error"], "invalid_client_metadata");

    // Consent grants it to alice, who has it, and not to bob.
    let (_, alice) = tokens_for(&t, "alice").await;
    assert_eq!(alice["scope"], "mcp stats");
    let (_, bob) = tokens_for(&t, "bob").await;
    assert_eq!(bob["scope"], "mcp");

    // Without it: 403 with the step-up challenge naming it; with it: the tool answers.
    let call = json!({"name": "word_stats", "arguments": {"text": "hi"}});
    let res = t.send(modern("tools/call", call.clone(), bob["access_token"].as_str())).await;
    assert_eq!(res.status(), 403, "{}", text(&res));
    let challenge = header(&res, "www-authenticate");
    assert!(
        challenge.contains("insufficient_scope") && challenge.contains("scope=\"mcp stats\""),
        "{challenge}"
    );
    let res = t.send(modern("tools/call", call, alice["access_token"].as_str())).await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    assert_eq!(message(&res)["result"]["structuredContent"]["words"], 1);
}

#[tokio::test]
async fn a_scope_no_tool_declares_is_refused_in_users() {
    let get = |k: &str| match k {
        "MCP_EDGE_ENV" => Some("development".to_owned()),
        "USERS" => Some(format!(
            r#"[{{"username":"a","password_hash":"{ALICE}","sub":"a","name":"A","scopes":["mcp","stats"]}}]"#
        )),
        _ => None,
    };
    let err = Config::from_lookup_with(get, Catalog::new(&TOOLS[..2])).unwrap_err();
    assert!(err.to_string().contains("unknown scope \"stats\""), "{err}");
    assert!(Config::from_lookup_with(get, Catalog::new(TOOLS)).is_ok());
}

/// A tool that calls an API with a key from a wrangler secret.
struct Weather;

impl TypedTool for Weather {
    const NAME: &'static str = "weather";
    const DESCRIPTION: &'static str = "The weather now, from an API that needs a key.";
    const VARS: &'static [&'static str] = &["WEATHER_API_KEY"];
    type Args = mcp_edge::mcp::tools::NoArgs;
    type Output = String;

    async fn call(
        _: mcp_edge::mcp::tools::NoArgs,
        ctx: &ToolContext<'_>,
    ) -> Result<String, ToolError> {
        // Only what the catalogue's tools declared is readable.
        assert_eq!(ctx.var("COOKIE_SECRET"), None);
        let key = ctx.var("WEATHER_API_KEY").ok_or("WEATHER_API_KEY is not set")?;
        let req = http::Request::get(format!("https://api.example.com/v1/now?key={key}"))
            .body(Vec::new())
            .map_err(|e| ToolError::Internal(e.to_string()))?;
        let res = ctx.fetch(req).await.map_err(|e| format!("the weather API failed: {e:?}"))?;
        Ok(String::from_utf8_lossy(res.body()).into_owned())
    }
}

#[tokio::test]
async fn a_tool_reads_its_declared_secret_and_calls_its_api() {
    const WEATHER: &[Tool] = &[Tool::typed::<Weather>()];
    let get = |k: &str| match k {
        "MCP_EDGE_ENV" => Some("development".to_owned()),
        "WEATHER_API_KEY" => Some("k123".to_owned()),
        "COOKIE_SECRET" => Some("not-for-tools-".repeat(4)),
        _ => None,
    };
    let t =
        TestApp::with_config(Config::from_lookup_with(get, Catalog::new(WEATHER)).unwrap()).await;
    t.fetch.answer("https://api.example.com/v1/now?key=k123", 200, &[], b"sunny, 21 C".to_vec());
    let (_, tokens) = tokens_for(&t, "bob").await;
    let call = json!({"name": "weather", "arguments": {}});
    let r = message(&t.send(modern("tools/call", call, tokens["access_token"].as_str())).await);
    assert_eq!(r["result"]["content"][0]["text"], "sunny, 21 C", "{r}");
    assert_eq!(t.fetch.seen.borrow().len(), 1);
}
