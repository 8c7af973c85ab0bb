//! The MCP method dispatcher: one JSON-RPC request in, one response out, with notifications
//! (progress, log messages) handed to the transport as they are emitted.

use super::jsonrpc::{self, ErrorObject, INVALID_PARAMS, METHOD_NOT_FOUND, RESOURCE_NOT_FOUND};
use super::tools::{Tool, ToolContext};
use super::{fixtures, prompts, resources, tools, version, Identity};
use crate::store::Store;
use serde::Deserialize;
use serde_json::{json, Map, Value};

pub const SERVER_NAME: &str = "mcp-edge";
pub const SERVER_VERSION: &str = env!("CARGO_PKG_VERSION");

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

/// A request this server understands, with its params checked and typed: parsed once
/// ([`Request::parse`]), then answered ([`Server::answer`]).
#[derive(Debug)]
pub enum Request {
    Initialize(InitializeParams),
    Ping,
    ToolsList,
    ToolsCall(ToolCall),
    ResourcesList,
    ResourceTemplatesList,
    ResourcesRead(UriParams),
    /// `resources/subscribe` and `resources/unsubscribe`: our resources never change.
    ResourcesSubscription(UriParams),
    PromptsList,
    PromptsGet(PromptParams),
    Complete(CompleteParams),
    SetLevel(SetLevelParams),
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeParams {
    #[serde(default)]
    pub protocol_version: Option<String>,
}

/// `tools/call` with its tool looked up.
#[derive(Debug)]
pub struct ToolCall {
    pub tool: &'static Tool,
    pub arguments: Map<String, Value>,
    progress_token: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub struct UriParams {
    pub uri: String,
}

#[derive(Debug, Deserialize)]
pub struct PromptParams {
    pub name: String,
    #[serde(default, deserialize_with = "object_or_null")]
    pub arguments: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
pub struct CompleteParams {
    #[serde(rename = "ref")]
    reference: CompletionRef,
    argument: CompletionArgument,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type")]
enum CompletionRef {
    #[serde(rename = "ref/prompt")]
    Prompt { name: String },
    #[serde(rename = "ref/resource")]
    Resource {},
}

#[derive(Debug, Deserialize)]
struct CompletionArgument {
    name: String,
    #[serde(default)]
    value: String,
}

#[derive(Debug, Deserialize)]
pub struct SetLevelParams {
    /// Checked by deserializing; this server emits no log messages to filter.
    #[serde(rename = "level")]
    _level: LogLevel,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum LogLevel {
    Debug,
    Info,
    Notice,
    Warning,
    Error,
    Critical,
    Alert,
    Emergency,
}

#[derive(Deserialize)]
struct CallParams {
    name: String,
    #[serde(default, deserialize_with = "object_or_null")]
    arguments: Map<String, Value>,
    #[serde(default, rename = "_meta")]
    meta: Option<RequestMeta>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestMeta {
    #[serde(default)]
    progress_token: Option<Value>,
}

/// An absent or `null` object parameter is empty; anything but an object is refused.
fn object_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Map<String, Value>, D::Error> {
    Ok(Option::<Map<String, Value>>::deserialize(d)?.unwrap_or_default())
}

impl Request {
    /// Parses `method` and `params` (-32601 for an unknown method, -32602 for bad params or
    /// an unknown tool: the tool is looked up here, once).
    pub fn parse(
        server: &Server,
        method: &str,
        params: Option<Value>,
    ) -> Result<Request, ErrorObject> {
        let params = match params {
            None => Value::Object(Map::new()),
            Some(p @ Value::Object(_)) => p,
            Some(_) => return Err(invalid("params must be an object")),
        };
        fn typed<T: serde::de::DeserializeOwned>(params: Value) -> Result<T, ErrorObject> {
            serde_json::from_value(params).map_err(|e| invalid(&format!("Invalid params: {e}")))
        }
        Ok(match method {
            "initialize" => Request::Initialize(typed(params)?),
            "ping" => Request::Ping,
            "tools/list" => Request::ToolsList,
            "tools/call" => {
                let CallParams { name, arguments, meta } = typed(params)?;
                let tool =
                    server.tool(&name).ok_or_else(|| invalid(&format!("Unknown tool: {name}")))?;
                let progress_token = meta
                    .and_then(|m| m.progress_token)
                    .filter(|t| t.is_string() || t.is_i64() || t.is_u64());
                Request::ToolsCall(ToolCall { tool, arguments, progress_token })
            }
            "resources/list" => Request::ResourcesList,
            "resources/templates/list" => Request::ResourceTemplatesList,
            "resources/read" => Request::ResourcesRead(typed(params)?),
            "resources/subscribe" | "resources/unsubscribe" => {
                Request::ResourcesSubscription(typed(params)?)
            }
            "prompts/list" => Request::PromptsList,
            "prompts/get" => Request::PromptsGet(typed(params)?),
            "completion/complete" => Request::Complete(typed(params)?),
            "logging/setLevel" => Request::SetLevel(typed(params)?),
            _ => {
                return Err(ErrorObject::new(
                    METHOD_NOT_FOUND,
                    format!("Method not found: {method}"),
                ))
            }
        })
    }
}

/// The answer to a request whose caller lacks a scope it needs: the transport asks for it
/// (HTTP: 403 `insufficient_scope`, step-up authorization).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeedsScope(pub &'static str);

impl Server {
    /// Every tool; with `fixtures`, also the conformance suite's fixtures.
    pub fn new(fixtures: bool) -> Server {
        let mut tools: Vec<&'static Tool> = tools::catalog().iter().collect();
        if fixtures {
            tools.extend(fixtures::TOOLS.iter());
        }
        Server { tools, fixtures }
    }

    pub fn tool(&self, name: &str) -> Option<&'static Tool> {
        self.tools.iter().copied().find(|t| t.name == name)
    }

    /// The `initialize` result and the negotiated protocol version.
    pub fn initialize(&self, params: &InitializeParams) -> (Value, &'static str) {
        let version = version::negotiate(params.protocol_version.as_deref());
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

    /// Answers one request with its JSON-RPC response; `notify` receives notifications emitted
    /// before the result. The one place scopes are checked: a signed-in caller without a tool's
    /// scope gets [`NeedsScope`] (ask for it); with no sign-in (stdio, authorization off) the
    /// call is an `isError` result.
    pub async fn answer(
        &self,
        id: &Value,
        request: Request,
        ctx: &CallContext<'_>,
        notify: &dyn Fn(&str, Value),
    ) -> Result<Value, NeedsScope> {
        if let Request::ToolsCall(ToolCall {
            tool: Tool { scope: Some(scope), name, .. }, ..
        }) = &request
        {
            match ctx.identity {
                Some(who) if who.has_scope(scope) => {}
                Some(_) => return Err(NeedsScope(scope)),
                None => {
                    let refusal =
                        tools::ToolResult::error(format!("{name} requires the `{scope}` scope."));
                    return Ok(jsonrpc::result(id, refusal.to_json()));
                }
            }
        }
        Ok(match self.dispatch(request, ctx, notify).await {
            Ok(result) => jsonrpc::result(id, result),
            Err(error) => jsonrpc::error(id, error),
        })
    }

    async fn dispatch(
        &self,
        request: Request,
        ctx: &CallContext<'_>,
        notify: &dyn Fn(&str, Value),
    ) -> Result<Value, ErrorObject> {
        match request {
            Request::Initialize(params) => Ok(self.initialize(&params).0),
            Request::Ping | Request::SetLevel(_) | Request::ResourcesSubscription(_) => {
                Ok(json!({}))
            }
            Request::ToolsList => Ok(
                json!({ "tools": self.tools.iter().map(|t| (t.definition)()).collect::<Vec<_>>() }),
            ),
            Request::ToolsCall(call) => {
                let tctx = ToolContext {
                    identity: ctx.identity,
                    store: ctx.store,
                    now: ctx.now,
                    notify,
                    progress_token: call.progress_token.as_ref(),
                };
                Ok((call.tool.call)(&call.arguments, &tctx).await.to_json())
            }
            Request::ResourcesList => {
                let mut list = resources::list();
                if self.fixtures {
                    list.extend(fixtures::resources());
                }
                Ok(json!({ "resources": list }))
            }
            Request::ResourceTemplatesList => {
                let mut list = resources::templates();
                if self.fixtures {
                    list.extend(fixtures::templates());
                }
                Ok(json!({ "resourceTemplates": list }))
            }
            Request::ResourcesRead(UriParams { uri }) => {
                let contents = resources::read(&uri)
                    .or_else(|| self.fixtures.then(|| fixtures::read(&uri)).flatten());
                match contents {
                    Some(contents) => Ok(json!({ "contents": contents })),
                    None => Err(ErrorObject {
                        code: RESOURCE_NOT_FOUND,
                        message: "Resource not found".into(),
                        data: Some(json!({ "uri": uri })),
                    }),
                }
            }
            Request::PromptsList => {
                let mut list = prompts::list();
                if self.fixtures {
                    list.extend(fixtures::prompts());
                }
                Ok(json!({ "prompts": list }))
            }
            Request::PromptsGet(PromptParams { name, arguments }) => {
                let found = match prompts::get(&name, &arguments).map_err(|e| invalid(&e))? {
                    Some(p) => Some(p),
                    None if self.fixtures => {
                        fixtures::get_prompt(&name, &arguments).map_err(|e| invalid(&e))?
                    }
                    None => None,
                };
                found.ok_or_else(|| invalid(&format!("Unknown prompt: {name}")))
            }
            Request::Complete(CompleteParams { reference, argument }) => {
                let values = match reference {
                    CompletionRef::Prompt { name } => {
                        prompts::complete(&name, &argument.name, &argument.value)
                    }
                    CompletionRef::Resource {} => Vec::new(),
                };
                let total = values.len();
                let values: Vec<String> = values.into_iter().take(100).collect();
                Ok(
                    json!({ "completion": { "values": values, "total": total, "hasMore": total > 100 } }),
                )
            }
        }
    }
}

fn invalid(message: &str) -> ErrorObject {
    ErrorObject::new(INVALID_PARAMS, message)
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
        let res = match Request::parse(server, method, Some(params)) {
            Ok(request) => server.answer(&json!(1), request, &ctx, &notify).await.unwrap(),
            Err(e) => jsonrpc::error(&json!(1), e),
        };
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
        let (r, _) = call(&s, "tools/call", json!({"name":"list_clients"}), None).await;
        assert_eq!(r["result"]["isError"], true);
        let bob = Identity { scopes: vec!["mcp".into()], ..alice() };
        let ctx = CallContext { identity: Some(&bob), store: None, now: 0 };
        let request =
            |name: &str| Request::parse(&s, "tools/call", Some(json!({ "name": name }))).unwrap();
        let answer = s.answer(&json!(1), request("list_clients"), &ctx, &|_, _| {}).await;
        assert_eq!(answer, Err(NeedsScope("admin")));
        let answer = s.answer(&json!(1), request("echo"), &ctx, &|_, _| {}).await;
        assert!(answer.is_ok());
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
