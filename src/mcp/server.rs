//! The MCP method dispatcher: one JSON-RPC request in, one response out, with notifications
//! (progress, log messages) handed to the transport as they are emitted.

use super::jsonrpc::{self, ErrorObject, INVALID_PARAMS, METHOD_NOT_FOUND, RESOURCE_NOT_FOUND};
use super::tools::{Tool, ToolContext};
use super::{fixtures, prompts, resources, tools, version, Identity};
use crate::store::Store;
use serde_json::{json, Map, Value};

pub const SERVER_NAME: &str = "mcp-edge";
pub const SERVER_VERSION: &str = env!("CARGO_PKG_VERSION");

const LOG_LEVELS: &[&str] =
    &["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];

/// The catalogue a deployment serves.
pub struct Server {
    tools: Vec<&'static Tool>,
    fixtures: bool,
}

/// Who is asking, and what the tools may use.
pub struct CallContext<'a> {
    pub identity: Option<&'a Identity>,
    pub store: Option<&'a dyn Store>,
    pub now: u64,
}

impl Server {
    /// Every tool; with `fixtures`, also the conformance suite's fixtures.
    pub fn new(fixtures: bool) -> Server {
        let mut tools: Vec<&'static Tool> = tools::catalog().iter().collect();
        if fixtures {
            tools.extend(fixtures::TOOLS.iter());
        }
        Server { tools, fixtures }
    }

    /// A server with exactly these tools (the stdio binary's subset).
    pub fn with_tools(tools: &'static [Tool]) -> Server {
        Server { tools: tools.iter().collect(), fixtures: false }
    }

    pub fn tool(&self, name: &str) -> Option<&'static Tool> {
        self.tools.iter().copied().find(|t| t.name == name)
    }

    /// The scope a request needs beyond the base scope (for the HTTP layer's 403 step-up).
    pub fn required_scope(&self, method: &str, params: Option<&Value>) -> Option<&'static str> {
        if method != "tools/call" {
            return None;
        }
        let name = params?.get("name")?.as_str()?;
        self.tool(name)?.scope
    }

    /// The `initialize` result and the negotiated protocol version.
    pub fn initialize(&self, params: Option<&Value>) -> (Value, &'static str) {
        let requested = params.and_then(|p| p.get("protocolVersion")).and_then(Value::as_str);
        let version = version::negotiate(requested);
        let result = json!({
            "protocolVersion": version,
            "capabilities": {
                "tools": { "listChanged": false },
                "resources": { "subscribe": true, "listChanged": false },
                "prompts": { "listChanged": false },
                "completions": {},
                "logging": {}
            },
            "serverInfo": { "name": SERVER_NAME, "title": "mcp-edge", "version": SERVER_VERSION },
            "instructions": "Tools: echo (repeat a message), get_vibe (greets the signed-in user), get_time (UTC time, with an MCP App view), list_clients (admin only)."
        });
        (result, version)
    }

    /// Answers one request. `notify` receives notifications emitted before the result.
    pub async fn request(
        &self,
        id: &Value,
        method: &str,
        params: Option<Value>,
        ctx: &CallContext<'_>,
        notify: &dyn Fn(&str, Value),
    ) -> Value {
        match self.dispatch(method, params, ctx, notify).await {
            Ok(result) => jsonrpc::result(id, result),
            Err(error) => jsonrpc::error(id, error),
        }
    }

    async fn dispatch(
        &self,
        method: &str,
        params: Option<Value>,
        ctx: &CallContext<'_>,
        notify: &dyn Fn(&str, Value),
    ) -> Result<Value, ErrorObject> {
        let params = match params {
            None => Map::new(),
            Some(Value::Object(m)) => m,
            Some(_) => return Err(invalid("params must be an object")),
        };
        match method {
            "initialize" => Ok(self.initialize(Some(&Value::Object(params))).0),
            "ping" => Ok(json!({})),
            "tools/list" => Ok(
                json!({ "tools": self.tools.iter().map(|t| (t.definition)()).collect::<Vec<_>>() }),
            ),
            "tools/call" => self.call_tool(params, ctx, notify).await,
            "resources/list" => {
                let mut list = resources::list();
                if self.fixtures {
                    list.extend(fixtures::resources());
                }
                Ok(json!({ "resources": list }))
            }
            "resources/templates/list" => {
                let mut list = resources::templates();
                if self.fixtures {
                    list.extend(fixtures::templates());
                }
                Ok(json!({ "resourceTemplates": list }))
            }
            "resources/read" => {
                let uri = str_param(&params, "uri")?;
                let contents = resources::read(uri)
                    .or_else(|| self.fixtures.then(|| fixtures::read(uri)).flatten());
                match contents {
                    Some(contents) => Ok(json!({ "contents": contents })),
                    None => Err(ErrorObject {
                        code: RESOURCE_NOT_FOUND,
                        message: "Resource not found".into(),
                        data: Some(json!({ "uri": uri })),
                    }),
                }
            }
            "resources/subscribe" | "resources/unsubscribe" => {
                // Our resources never change, so there is nothing to notify about; accept.
                str_param(&params, "uri")?;
                Ok(json!({}))
            }
            "prompts/list" => {
                let mut list = prompts::list();
                if self.fixtures {
                    list.extend(fixtures::prompts());
                }
                Ok(json!({ "prompts": list }))
            }
            "prompts/get" => {
                let name = str_param(&params, "name")?;
                let args = object_param(&params, "arguments")?;
                let found = match prompts::get(name, &args).map_err(|e| invalid(&e))? {
                    Some(p) => Some(p),
                    None if self.fixtures => {
                        fixtures::get_prompt(name, &args).map_err(|e| invalid(&e))?
                    }
                    None => None,
                };
                found.ok_or_else(|| invalid(&format!("Unknown prompt: {name}")))
            }
            "completion/complete" => {
                let reference = params
                    .get("ref")
                    .and_then(Value::as_object)
                    .ok_or_else(|| invalid("missing ref"))?;
                let argument = params
                    .get("argument")
                    .and_then(Value::as_object)
                    .ok_or_else(|| invalid("missing argument"))?;
                let arg_name = argument
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid("missing argument.name"))?;
                let value = argument.get("value").and_then(Value::as_str).unwrap_or("");
                let values = match reference.get("type").and_then(Value::as_str) {
                    Some("ref/prompt") => {
                        let name = reference
                            .get("name")
                            .and_then(Value::as_str)
                            .ok_or_else(|| invalid("missing ref.name"))?;
                        prompts::complete(name, arg_name, value)
                    }
                    Some("ref/resource") => Vec::new(),
                    _ => return Err(invalid("ref.type must be ref/prompt or ref/resource")),
                };
                let total = values.len();
                let values: Vec<String> = values.into_iter().take(100).collect();
                Ok(
                    json!({ "completion": { "values": values, "total": total, "hasMore": total > 100 } }),
                )
            }
            "logging/setLevel" => {
                let level = str_param(&params, "level")?;
                if !LOG_LEVELS.contains(&level) {
                    return Err(invalid(&format!("unknown log level {level:?}")));
                }
                Ok(json!({}))
            }
            _ => Err(ErrorObject::new(METHOD_NOT_FOUND, format!("Method not found: {method}"))),
        }
    }

    async fn call_tool(
        &self,
        params: Map<String, Value>,
        ctx: &CallContext<'_>,
        notify: &dyn Fn(&str, Value),
    ) -> Result<Value, ErrorObject> {
        let name = str_param(&params, "name")?;
        let tool = self.tool(name).ok_or_else(|| invalid(&format!("Unknown tool: {name}")))?;
        let args = object_param(&params, "arguments")?;
        if let Some(scope) = tool.scope {
            if !ctx.identity.is_some_and(|i| i.has_scope(scope)) {
                let msg = format!("{name} requires the `{scope}` scope.");
                return Ok(tools::ToolResult::error(msg).to_json());
            }
        }
        let progress_token = params
            .get("_meta")
            .and_then(|m| m.get("progressToken"))
            .filter(|t| t.is_string() || t.is_i64() || t.is_u64());
        let tctx = ToolContext {
            identity: ctx.identity,
            store: ctx.store,
            now: ctx.now,
            notify,
            progress_token,
        };
        Ok((tool.call)(&args, &tctx).await.to_json())
    }
}

fn invalid(message: &str) -> ErrorObject {
    ErrorObject::new(INVALID_PARAMS, message)
}

fn str_param<'a>(params: &'a Map<String, Value>, name: &str) -> Result<&'a str, ErrorObject> {
    params
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(&format!("missing string parameter `{name}`")))
}

fn object_param(
    params: &Map<String, Value>,
    name: &str,
) -> Result<Map<String, Value>, ErrorObject> {
    match params.get(name) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(_) => Err(invalid(&format!("`{name}` must be an object"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    async fn call(
        server: &Server,
        method: &str,
        params: Value,
        identity: Option<&Identity>,
    ) -> (Value, Vec<Value>) {
        let seen = RefCell::new(Vec::new());
        let notify = |m: &str, p: Value| seen.borrow_mut().push(json!({"method": m, "params": p}));
        let ctx = CallContext { identity, store: None, now: 1_795_000_000 };
        let res = server.request(&json!(1), method, Some(params), &ctx, &notify).await;
        (res, seen.into_inner())
    }

    fn alice() -> Identity {
        Identity {
            sub: "user-alice".into(),
            name: Some("Alice".into()),
            scopes: vec!["mcp".into(), "admin".into()],
            client_id: "c".into(),
        }
    }

    #[tokio::test]
    async fn echo_and_missing_argument() {
        let s = Server::new(false);
        let (r, _) =
            call(&s, "tools/call", json!({"name":"echo","arguments":{"message":"hi"}}), None).await;
        assert_eq!(r["result"]["content"][0]["text"], "Echo: hi");
        assert_eq!(r["result"]["isError"], false);
        let (r, _) = call(&s, "tools/call", json!({"name":"echo","arguments":{}}), None).await;
        assert_eq!(r["result"]["isError"], true);
        assert!(r["result"]["content"][0]["text"].as_str().unwrap().contains("message"));
    }

    #[tokio::test]
    async fn get_vibe_uses_the_identity() {
        let s = Server::new(false);
        let (r, _) = call(
            &s,
            "tools/call",
            json!({"name":"get_vibe","arguments":{"location":"Berlin"}}),
            Some(&alice()),
        )
        .await;
        assert_eq!(r["result"]["content"][0]["text"], "Curious vibes for Alice in Berlin.");
        let (r, _) = call(
            &s,
            "tools/call",
            json!({"name":"get_vibe","arguments":{"location":"Berlin"}}),
            None,
        )
        .await;
        assert_eq!(r["result"]["isError"], true);
    }

    #[tokio::test]
    async fn get_time_has_structured_content_and_an_app() {
        let s = Server::new(false);
        let (r, _) = call(&s, "tools/call", json!({"name":"get_time"}), None).await;
        assert_eq!(r["result"]["structuredContent"]["utc"], "2026-11-18T11:06:40Z");
        let (list, _) = call(&s, "tools/list", json!({}), None).await;
        let t = list["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "get_time")
            .unwrap()
            .clone();
        assert_eq!(t["_meta"]["ui"]["resourceUri"], "ui://get-time/mcp-app.html");
        let (r, _) =
            call(&s, "resources/read", json!({"uri":"ui://get-time/mcp-app.html"}), None).await;
        assert_eq!(r["result"]["contents"][0]["mimeType"], "text/html;profile=mcp-app");
        assert!(r["result"]["contents"][0]["text"].as_str().unwrap().contains("ui/initialize"));
    }

    #[tokio::test]
    async fn protocol_errors_use_the_right_codes() {
        let s = Server::new(false);
        assert_eq!(call(&s, "nope", json!({}), None).await.0["error"]["code"], -32601);
        assert_eq!(
            call(&s, "tools/call", json!({"name":"nope"}), None).await.0["error"]["code"],
            -32602
        );
        assert_eq!(
            call(&s, "tools/call", json!({"name":"echo","arguments":3}), None).await.0["error"]
                ["code"],
            -32602
        );
        assert_eq!(
            call(&s, "resources/read", json!({"uri":"x://y"}), None).await.0["error"]["code"],
            -32002
        );
        assert_eq!(
            call(&s, "logging/setLevel", json!({"level":"loud"}), None).await.0["error"]["code"],
            -32602
        );
        assert_eq!(
            call(&s, "prompts/get", json!({"name":"vibe_check"}), None).await.0["error"]["code"],
            -32602
        );
    }

    #[tokio::test]
    async fn ping_and_set_level_return_empty_objects() {
        let s = Server::new(false);
        assert_eq!(call(&s, "ping", json!({}), None).await.0["result"], json!({}));
        assert_eq!(
            call(&s, "logging/setLevel", json!({"level":"debug"}), None).await.0["result"],
            json!({})
        );
    }

    #[tokio::test]
    async fn admin_tool_refuses_without_scope() {
        let s = Server::new(false);
        assert_eq!(
            s.required_scope("tools/call", Some(&json!({"name":"list_clients"}))),
            Some("admin")
        );
        assert_eq!(s.required_scope("tools/call", Some(&json!({"name":"echo"}))), None);
        let (r, _) = call(&s, "tools/call", json!({"name":"list_clients"}), None).await;
        assert_eq!(r["result"]["isError"], true);
    }

    #[tokio::test]
    async fn progress_is_reported_only_with_a_token() {
        let s = Server::new(true);
        let (_, seen) = call(
            &s,
            "tools/call",
            json!({"name":"test_tool_with_progress","_meta":{"progressToken":"p1"}}),
            None,
        )
        .await;
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[2]["params"]["progressToken"], "p1");
        assert_eq!(seen[2]["params"]["progress"], 100.0);
        let (_, seen) =
            call(&s, "tools/call", json!({"name":"test_tool_with_progress"}), None).await;
        assert!(seen.is_empty());
    }

    #[tokio::test]
    async fn completion_and_prompts() {
        let s = Server::new(false);
        let (r, _) = call(&s, "completion/complete", json!({"ref":{"type":"ref/prompt","name":"vibe_check"},"argument":{"name":"location","value":"to"}}), None).await;
        assert_eq!(r["result"]["completion"]["values"], json!(["Tokyo", "Toronto"]));
        let (r, _) = call(
            &s,
            "prompts/get",
            json!({"name":"vibe_check","arguments":{"location":"Paris"}}),
            None,
        )
        .await;
        assert!(r["result"]["messages"][0]["content"]["text"].as_str().unwrap().contains("Paris"));
    }

    #[tokio::test]
    async fn fixtures_only_when_enabled() {
        assert!(Server::new(false).tool("test_simple_text").is_none());
        assert!(Server::new(true).tool("test_simple_text").is_some());
    }
}
