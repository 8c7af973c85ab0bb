//! The MCP method dispatcher: one JSON-RPC request in, one response out, with notifications
//! (progress, log messages) handed to the transport as they are emitted.

use super::envelope::{self, ClientCapabilities, Envelope};
use super::jsonrpc::{self, ErrorObject, INVALID_PARAMS, METHOD_NOT_FOUND, RESOURCE_NOT_FOUND};
use super::mrtr::{self, InputRequired};
use super::tasks::{self, Actor, Held, Status, Task};
use super::tools::{Need, TaskSupport, Tool, ToolContext};
use super::{fixtures, prompts, resources, tools, version, Identity};
use crate::cold::boxed;
use crate::store::tasks::TaskStore;
use crate::store::Store;
use serde::Deserialize;
use serde_json::{json, Map, Value};

pub const SERVER_NAME: &str = "mcp-edge";
pub const SERVER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The catalogue a deployment serves.
pub struct Server {
    tools: Vec<&'static Tool>,
    /// Each tool's `tools/list` entry, made on first use (a typed tool's schemas are generated
    /// from its types: once per isolate, not per `tools/list` or 2026-07-28 call).
    definitions: Vec<std::cell::OnceCell<Value>>,
    fixtures: bool,
    /// How many of `tools` are the catalogue's (the fixtures follow).
    catalogued: usize,
    /// From the catalogue's definitions ([`super::tools::instructions`]), made on first use:
    /// not when the isolate starts (a cold start's first request is rarely `initialize`).
    instructions: std::cell::OnceCell<String>,
    hide_unauthorized: bool,
}

/// Who is asking, and what the tools may use.
pub struct CallContext<'a> {
    pub identity: Option<&'a Identity>,
    pub store: Option<&'a dyn Store>,
    /// Outbound HTTP for tools ([`ToolContext::fetch`]), and whether loopback URLs may be
    /// fetched (development only).
    pub fetch: Option<(&'a dyn crate::env::Fetch, bool)>,
    /// The vars the catalogue's tools declared ([`ToolContext::var`]).
    pub vars: Option<&'a std::collections::BTreeMap<String, String>>,
    pub now: u64,
    /// `Some` for a request of the stateless revision (2026-07-28).
    pub modern: Option<Modern<'a>>,
    /// `Some` for a `tools/call` of a legacy session whose client can be asked for input by
    /// server-to-client requests (`routes::mcp::bridge`).
    pub asks: Option<Asks<'a>>,
}

/// What a legacy session's client can be asked, and the state of the round before.
#[derive(Clone, Copy)]
pub struct Asks<'a> {
    pub capabilities: &'a ClientCapabilities,
    /// The state the tool handed out with its last questions (kept by the server, never sent).
    pub state: Option<&'a Value>,
}

/// What a request of the stateless revision brings: its envelope, and what a `requestState` is
/// sealed with and bound to.
pub struct Modern<'a> {
    pub envelope: &'a Envelope,
    pub secret: &'a [u8],
    /// `sub|client_id` of the caller, or empty when authorization is off.
    pub principal: String,
    /// Where tasks live, and the id a task made by this request gets.
    pub tasks: &'a dyn TaskStore,
    pub new_task_id: String,
    /// Unix milliseconds (task timestamps).
    pub now_ms: u64,
}

/// A request this server understands, with its params checked and typed: parsed once
/// ([`Request::parse`]), then answered ([`Server::answer`]).
#[derive(Debug)]
pub enum Request {
    /// `server/discover` (2026-07-28).
    Discover,
    /// `subscriptions/listen` (2026-07-28).
    Listen(ListenParams),
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
    /// `tasks/get` and `tasks/cancel` (Tasks extension).
    TasksGet(TaskParams),
    TasksCancel(TaskParams),
    TasksUpdate(TaskUpdateParams),
    Complete(CompleteParams),
    SetLevel(SetLevelParams),
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeParams {
    #[serde(default)]
    pub protocol_version: Option<String>,
    #[serde(default, deserialize_with = "object_or_null")]
    pub capabilities: Map<String, Value>,
}

/// `tools/call` with its tool looked up.
#[derive(Debug, Clone)]
pub struct ToolCall {
    pub tool: &'static Tool,
    pub arguments: Map<String, Value>,
    progress_token: Option<Value>,
    rounds: Rounds,
}

/// The multi-round-trip fields of a retried request, and the digest that binds its state.
#[derive(Debug, Default, Clone)]
pub struct Rounds {
    input: Option<Map<String, Value>>,
    state: Option<String>,
    digest: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoundParams {
    #[serde(default, deserialize_with = "object_or_none")]
    input_responses: Option<Map<String, Value>>,
    #[serde(default)]
    request_state: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskParams {
    pub task_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskUpdateParams {
    pub task_id: String,
    #[serde(default, deserialize_with = "object_or_null")]
    pub input_responses: Map<String, Value>,
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
    #[serde(skip)]
    rounds: Rounds,
}

/// `subscriptions/listen`: which notifications the client wants.
#[derive(Debug, Deserialize)]
pub struct ListenParams {
    pub notifications: Map<String, Value>,
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

/// An absent `inputResponses` is `None`; `null` or a non-object is refused.
fn object_or_none<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Map<String, Value>>, D::Error> {
    Map::<String, Value>::deserialize(d).map(Some)
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
        fn typed<T: serde::de::DeserializeOwned>(params: &Value) -> Result<T, ErrorObject> {
            T::deserialize(params).map_err(|e| invalid(&format!("Invalid params: {e}")))
        }
        let rounds = |params: &Value| -> Result<Rounds, ErrorObject> {
            let RoundParams { input_responses, request_state } = typed(params)?;
            let digest = params.as_object().map(mrtr::digest).unwrap_or_default();
            Ok(Rounds { input: input_responses, state: request_state, digest })
        };
        let params = &params;
        Ok(match method {
            "server/discover" => Request::Discover,
            "subscriptions/listen" => Request::Listen(typed(params)?),
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
                let rounds = rounds(params)?;
                Request::ToolsCall(ToolCall { tool, arguments, progress_token, rounds })
            }
            "resources/list" => Request::ResourcesList,
            "resources/templates/list" => Request::ResourceTemplatesList,
            "resources/read" => Request::ResourcesRead(typed(params)?),
            "resources/subscribe" | "resources/unsubscribe" => {
                Request::ResourcesSubscription(typed(params)?)
            }
            "prompts/list" => Request::PromptsList,
            "prompts/get" => {
                let mut prompt: PromptParams = typed(params)?;
                prompt.rounds = rounds(params)?;
                Request::PromptsGet(prompt)
            }
            "tasks/get" => Request::TasksGet(typed(params)?),
            "tasks/cancel" => Request::TasksCancel(typed(params)?),
            "tasks/update" => Request::TasksUpdate(typed(params)?),
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

impl ToolCall {
    /// The same call again, with the client's answers to the last questions (the bridge's
    /// next round; the state travels in [`Asks`]).
    pub fn with_answers(mut self, input: Map<String, Value>) -> ToolCall {
        self.rounds.input = Some(input);
        self.rounds.state = None;
        self
    }
}

/// Requests the transport refuses or must carry on rather than answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// The signed-in caller lacks one of the tool's scopes (these): ask for all of them (HTTP:
    /// 403 `insufficient_scope`), so the token the client comes back with can call it.
    Scope(&'static [&'static str]),
    /// The client did not declare a capability the call needs (2026-07-28: 400 `-32021`).
    Capability(&'static str),
    /// A legacy session's call needs input ([`CallContext::asks`]): the transport asks the
    /// client (only what it declared) and calls again with the answers.
    Input(InputRequired),
}

/// -32021: a capability (or extension) the request does not declare.
const MISSING_CAPABILITY: i32 = -32021;
/// A call or task needs input, and none of what it asks is something the client declared.
const UNDECLARED_INPUT: &str =
    "this call needs input this client has not declared it can give (elicitation, sampling or roots)";

fn unknown_task(id: &str) -> ErrorObject {
    ErrorObject::new(INVALID_PARAMS, format!("unknown task: {id:?}"))
}

fn unavailable(e: crate::store::StoreError) -> ErrorObject {
    ErrorObject::new(jsonrpc::INTERNAL_ERROR, format!("task storage unavailable: {e}"))
}

/// Seconds clients may cache a list or a read: the catalogue changes only with a deploy.
pub const CACHE_TTL_MS: u64 = 300_000;

/// Methods of the stateless revision only, and methods it removed.
const MODERN_ONLY: &[&str] =
    &["server/discover", "subscriptions/listen", "tasks/get", "tasks/update", "tasks/cancel"];
const REMOVED_IN_MODERN: &[&str] =
    &["initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"];

/// Does the method exist in this era? (`-32601` otherwise, 404 in 2026-07-28.)
pub fn method_exists(method: &str, modern: bool) -> bool {
    if modern {
        !REMOVED_IN_MODERN.contains(&method)
    } else {
        !MODERN_ONLY.contains(&method)
    }
}

/// A dispatched request's result, before the era shapes it.
enum Answer {
    Complete(Value),
    /// Already the whole `input_required` result.
    InputRequired(Value),
    /// Questions for a legacy session's client ([`Refusal::Input`]).
    Ask(InputRequired),
    /// A `CreateTaskResult`, as it is.
    Task(Value),
}

impl Server {
    /// The catalogue's tools; with `fixtures`, also the conformance suite's fixtures.
    pub fn new(catalog: &tools::Catalog, fixtures: bool) -> Server {
        let mut tools: Vec<&'static Tool> = catalog.tools.iter().collect();
        let catalogued = tools.len();
        if fixtures {
            tools.extend(fixtures::TOOLS.iter());
            tools.extend(fixtures::MODERN_TOOLS.iter());
        }
        Server {
            definitions: tools.iter().map(|_| std::cell::OnceCell::new()).collect(),
            tools,
            fixtures,
            catalogued,
            instructions: std::cell::OnceCell::new(),
            hide_unauthorized: catalog.hide_unauthorized,
        }
    }

    pub fn tool(&self, name: &str) -> Option<&'static Tool> {
        self.tools.iter().copied().find(|t| t.name == name)
    }

    /// The `tools/list` entry of `tool` (one of this server's), made once.
    pub fn definition(&self, tool: &Tool) -> std::borrow::Cow<'_, Value> {
        use std::borrow::Cow;
        match self.tools.iter().position(|t| std::ptr::eq(*t, tool)) {
            Some(i) => Cow::Borrowed(self.definitions[i].get_or_init(|| (tool.definition)())),
            None => Cow::Owned((tool.definition)()),
        }
    }

    fn instructions(&self) -> &str {
        self.instructions.get_or_init(|| {
            let catalogued = &self.tools[..self.catalogued];
            let definitions: Vec<_> = catalogued.iter().map(|t| self.definition(t)).collect();
            tools::instructions(catalogued.iter().copied().zip(definitions.iter().map(|d| &**d)))
        })
    }

    /// The `server/discover` result (2026-07-28): no subscriptions or list changes are
    /// advertised, because the catalogue changes only with a deploy.
    /// The Tasks extension is advertised to clients that declare it.
    fn discover(&self, ctx: &CallContext<'_>) -> Value {
        let mut result = json!({
            "supportedVersions": version::MODERN,
            "capabilities": {
                "tools": {},
                "resources": {},
                "prompts": {},
                "completions": {},
                "logging": {}
            },
            "instructions": self.instructions(),
        });
        if ctx.modern.as_ref().is_some_and(|m| m.envelope.capabilities.tasks) {
            result["capabilities"]["extensions"] = json!({ tasks::EXTENSION: {} });
        }
        result
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
            "instructions": self.instructions()
        });
        (result, version)
    }

    /// Answers one request with its JSON-RPC response; `notify` receives notifications emitted
    /// before the result. The one place scopes are checked: a signed-in caller without a tool's
    /// scope is refused ([`Refusal::Scope`]: ask for it); with no sign-in (stdio, authorization
    /// off) the call is an `isError` result. Results of the stateless revision carry
    /// `resultType`, cache hints where they apply, and the server's identity.
    pub async fn answer(
        &self,
        id: &Value,
        request: Request,
        ctx: &CallContext<'_>,
        notify: &dyn Fn(&str, Value),
    ) -> Result<Value, Refusal> {
        if let Request::ToolsCall(ToolCall { tool, .. }) = &request {
            let lacks = |s: &&&str| !ctx.identity.is_some_and(|who| who.has_scope(s));
            if let Some(scope) = tool.scopes.iter().find(lacks) {
                if ctx.identity.is_some() {
                    return Err(Refusal::Scope(tool.scopes));
                }
                let refusal = tools::ToolResult::error(format!(
                    "{} requires the `{scope}` scope.",
                    tool.name
                ));
                return Ok(jsonrpc::result(id, self.complete(refusal.to_json(), false, ctx)));
            }
        }
        let cacheable = matches!(
            request,
            Request::Discover
                | Request::ToolsList
                | Request::ResourcesList
                | Request::ResourceTemplatesList
                | Request::ResourcesRead(_)
                | Request::PromptsList
        );
        Ok(match self.dispatch(request, ctx, notify).await? {
            Ok(Answer::Complete(result)) => {
                jsonrpc::result(id, self.complete(result, cacheable, ctx))
            }
            Ok(Answer::InputRequired(result)) => jsonrpc::result(id, result),
            Ok(Answer::Ask(input)) => return Err(Refusal::Input(input)),
            Ok(Answer::Task(created)) => jsonrpc::result(id, created),
            Err(error) => jsonrpc::error(id, error),
        })
    }

    /// A complete result, as the request's era wants it.
    fn complete(&self, mut result: Value, cacheable: bool, ctx: &CallContext<'_>) -> Value {
        if ctx.modern.is_none() {
            return result;
        }
        if let Value::Object(fields) = &mut result {
            fields.insert("resultType".into(), json!("complete"));
            if cacheable {
                fields.insert("ttlMs".into(), json!(CACHE_TTL_MS));
                // Nothing we list or read depends on who asks.
                fields.insert("cacheScope".into(), json!("public"));
            }
            let meta = fields.entry("_meta").or_insert_with(|| json!({}));
            if let Value::Object(meta) = meta {
                meta.insert(
                    envelope::SERVER_INFO.into(),
                    json!({ "name": SERVER_NAME, "title": "mcp-edge", "version": SERVER_VERSION }),
                );
            }
        }
        result
    }

    /// An `input_required` result with its state sealed, or the error for a tool that asked
    /// for nothing the client can answer.
    fn input_required(
        &self,
        input: InputRequired,
        method: &str,
        rounds: &Rounds,
        ctx: &CallContext<'_>,
    ) -> Result<Answer, ErrorObject> {
        let Some(modern) = &ctx.modern else {
            // Sessions of earlier revisions: the transport asks by server-to-client requests,
            // only what the client declared.
            let asked = ctx.asks.map(|a| {
                let mut input = input.clone();
                input.requests = a.capabilities.answerable(input.requests);
                input
            });
            return Ok(match asked {
                Some(input) if !input.requests.is_empty() => Answer::Ask(input),
                _ => {
                    let msg = "This call needs an answer from you (elicitation, sampling or roots), and your client did not declare it can give one. Connect with a client that does, or with protocol 2026-07-28.";
                    Answer::Complete(tools::ToolResult::error(msg).to_json())
                }
            });
        };
        let requests = modern.envelope.capabilities.answerable(input.requests);
        let mut result = Map::new();
        result.insert("resultType".into(), json!("input_required"));
        if !requests.is_empty() {
            result.insert("inputRequests".into(), Value::Object(requests));
        }
        if let Some(state) = &input.state {
            let binding = mrtr::Binding {
                principal: &modern.principal,
                method,
                digest: rounds.digest.clone(),
            };
            result.insert(
                "requestState".into(),
                json!(mrtr::seal_state(modern.secret, &binding, state, ctx.now)),
            );
        }
        if result.len() == 1 {
            return Err(ErrorObject::new(INVALID_PARAMS, UNDECLARED_INPUT));
        }
        Ok(Answer::InputRequired(Value::Object(result)))
    }

    /// The state handed out in the previous round, unsealed and checked.
    fn open_state(
        &self,
        method: &str,
        rounds: &Rounds,
        ctx: &CallContext<'_>,
    ) -> Result<Option<Value>, ErrorObject> {
        if let Some(asks) = ctx.asks {
            return Ok(asks.state.cloned());
        }
        let (Some(text), Some(modern)) = (&rounds.state, &ctx.modern) else { return Ok(None) };
        let binding =
            mrtr::Binding { principal: &modern.principal, method, digest: rounds.digest.clone() };
        mrtr::open_state(modern.secret, &binding, text, ctx.now)
            .map(Some)
            .map_err(|e| ErrorObject::new(INVALID_PARAMS, e.message()))
    }

    /// The task surface needs the extension declared on the request (-32021 otherwise).
    fn tasks_surface<'c>(&self, ctx: &'c CallContext<'_>) -> Result<&'c Modern<'c>, Refusal> {
        match &ctx.modern {
            Some(m) if m.envelope.capabilities.tasks => Ok(m),
            _ => Err(Refusal::Capability(tasks::EXTENSION)),
        }
    }

    /// Stores a new task (durable before the answer is sent) and answers `CreateTaskResult`.
    async fn create_task(
        &self,
        call: &ToolCall,
        state: Value,
        after_ms: u64,
        modern: &Modern<'_>,
        ctx: &CallContext<'_>,
    ) -> Result<Answer, ErrorObject> {
        let task = Task::new(
            modern.new_task_id.clone(),
            modern.principal.clone(),
            ctx.identity.map(Actor::of),
            call.tool.name,
            call.arguments.clone(),
            state,
            modern.now_ms,
            modern.now_ms + after_ms,
        );
        let held = Held { task, version: 0 };
        match tasks::save(modern.tasks, &held).await {
            Ok(true) => Ok(Answer::Task(held.task.created())),
            Ok(false) => Err(ErrorObject::new(jsonrpc::INTERNAL_ERROR, "task id collision; retry")),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Runs a task's due steps (in this request) and stores the outcome. A step that lost a
    /// race to another request's leaves the task as that one wrote it.
    async fn advance(
        &self,
        held: &mut Held,
        ctx: &CallContext<'_>,
        modern: &Modern<'_>,
        notify: &dyn Fn(&str, Value),
    ) -> Result<(), ErrorObject> {
        let Some(tool) = self.tool(&held.task.tool) else {
            return Err(ErrorObject::new(jsonrpc::INTERNAL_ERROR, "the task's tool is gone"));
        };
        // Steps act for the creator with no more than the polling token holds now: someone
        // whose scopes were narrowed since (deprovisioning at refresh) cannot keep a task
        // running on what they had when it started, and a revoked grant's tokens cannot poll
        // at all (refused within GRANT_RECHECK_SECS), so its tasks stop within that bound.
        let identity = held.task.actor.as_ref().map(|actor| {
            let mut identity = actor.identity();
            if let Some(now) = ctx.identity {
                identity.scopes.retain(|s| now.has_scope(s));
            }
            identity
        });
        if let Some(missing) =
            identity.as_ref().and_then(|i| tool.scopes.iter().find(|s| !i.has_scope(s)))
        {
            let task = &mut held.task;
            if task.status == Status::Working && task.due_ms <= modern.now_ms {
                task.status = Status::Failed;
                task.error = Some(json!({ "code": jsonrpc::INVALID_REQUEST, "message":
                    format!("the task's tool needs the scope {missing:?}, which the token polling it no longer holds") }));
                task.updated_ms = modern.now_ms;
                return self.store_step(held, modern).await;
            }
            return Ok(());
        }
        let mut stepped = false;
        for _ in 0..tasks::MAX_STEPS_PER_REQUEST {
            let task = &mut held.task;
            if task.status != Status::Working || task.due_ms > modern.now_ms {
                break;
            }
            stepped = true;
            let answers = std::mem::take(&mut task.answers);
            let tctx = ToolContext {
                tool: tool.name,
                identity: identity.as_ref(),
                store: ctx.store,
                outbound: ctx.fetch,
                vars: ctx.vars,
                now: ctx.now,
                notify,
                progress_token: None,
                client: Some(&modern.envelope.capabilities),
                input: (!answers.is_empty()).then_some(&answers),
                state: task.state.as_ref(),
                in_task: true,
            };
            let result = (tool.call)(&task.arguments, &tctx).await;
            match result.need {
                None => {
                    task.status = Status::Completed;
                    task.result = Some(result.to_json());
                }
                // Only what the polling request's client declared it can answer is asked.
                Some(Need::Input(asked)) => {
                    let pending = modern.envelope.capabilities.answerable(asked.requests);
                    if pending.is_empty() {
                        task.status = Status::Failed;
                        task.error =
                            Some(json!({ "code": INVALID_PARAMS, "message": UNDECLARED_INPUT }));
                    } else {
                        task.status = Status::InputRequired;
                        task.pending = pending;
                        task.state = asked.state.or(task.state.take());
                    }
                }
                Some(Need::Later { after_ms, state }) => {
                    task.due_ms = modern.now_ms + after_ms;
                    task.state = Some(state);
                }
                Some(Need::Failure(message)) => {
                    task.status = Status::Failed;
                    task.error =
                        Some(json!({ "code": jsonrpc::INTERNAL_ERROR, "message": message }));
                }
                Some(Need::Capability(capability)) => {
                    task.status = Status::Failed;
                    let message = format!("the task needs the client capability `{capability}`");
                    task.error = Some(json!({ "code": MISSING_CAPABILITY, "message": message }));
                }
            }
            task.updated_ms = modern.now_ms;
        }
        if !stepped {
            return Ok(());
        }
        self.store_step(held, modern).await
    }

    /// Stores a task a step changed; if another request stepped it first, what that one stored
    /// is the truth.
    async fn store_step(&self, held: &mut Held, modern: &Modern<'_>) -> Result<(), ErrorObject> {
        match tasks::save(modern.tasks, held).await {
            Ok(true) => Ok(()),
            // Another request stepped it first: what it stored is the truth.
            Ok(false) => match tasks::load(modern.tasks, &held.task.id, &modern.principal).await {
                Ok(Some(now)) => {
                    *held = now;
                    Ok(())
                }
                Ok(None) => Err(unknown_task(&held.task.id)),
                Err(e) => Err(unavailable(e)),
            },
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Applies `change` to a task (compare-and-set, retried on a race); acknowledges with an
    /// empty result whether or not it changed anything (`tasks/update`, `tasks/cancel`).
    async fn change_task(
        &self,
        modern: &Modern<'_>,
        task_id: &str,
        change: impl Fn(&mut Task, u64) -> bool,
    ) -> Result<Answer, ErrorObject> {
        for _ in 0..3 {
            let mut held = match tasks::load(modern.tasks, task_id, &modern.principal).await {
                Ok(Some(held)) => held,
                Ok(None) => return Err(unknown_task(task_id)),
                Err(e) => return Err(unavailable(e)),
            };
            if !change(&mut held.task, modern.now_ms) {
                return Ok(Answer::Complete(json!({})));
            }
            held.task.updated_ms = modern.now_ms;
            match tasks::save(modern.tasks, &held).await {
                Ok(true) => return Ok(Answer::Complete(json!({}))),
                Ok(false) => continue,
                Err(e) => return Err(unavailable(e)),
            }
        }
        Err(ErrorObject::new(jsonrpc::INTERNAL_ERROR, "the task kept changing; retry"))
    }

    async fn dispatch(
        &self,
        request: Request,
        ctx: &CallContext<'_>,
        notify: &dyn Fn(&str, Value),
    ) -> Result<Result<Answer, ErrorObject>, Refusal> {
        let complete = |v: Result<Value, ErrorObject>| Ok(v.map(Answer::Complete));
        match request {
            Request::ToolsCall(call) => {
                let mut state = match self.open_state("tools/call", &call.rounds, ctx) {
                    Ok(state) => state,
                    Err(e) => return Ok(Err(e)),
                };
                let tasks_ok = ctx.modern.as_ref().is_some_and(|m| m.envelope.capabilities.tasks);
                if call.tool.task == TaskSupport::Required && !tasks_ok {
                    if ctx.modern.is_some() {
                        return Err(Refusal::Capability(tasks::EXTENSION));
                    }
                    let msg = format!("{} runs only as a task: connect with protocol 2026-07-28 and the Tasks extension.", call.tool.name);
                    return complete(Ok(tools::ToolResult::error(msg).to_json()));
                }
                let client = ctx
                    .modern
                    .as_ref()
                    .map(|m| &m.envelope.capabilities)
                    .or(ctx.asks.map(|a| a.capabilities));
                let mut input = call.rounds.input.clone();
                // Steps run back to back here, unless the tool continues later and the client
                // can poll a task.
                for _ in 0..tasks::MAX_STEPS_PER_REQUEST {
                    let tctx = ToolContext {
                        tool: call.tool.name,
                        identity: ctx.identity,
                        store: ctx.store,
                        outbound: ctx.fetch,
                        vars: ctx.vars,
                        now: ctx.now,
                        notify,
                        progress_token: call.progress_token.as_ref(),
                        client,
                        input: input.as_ref(),
                        state: state.as_ref(),
                        in_task: false,
                    };
                    let result = (call.tool.call)(&call.arguments, &tctx).await;
                    return match result.need {
                        None => complete(Ok(result.to_json())),
                        Some(Need::Input(asked)) => {
                            Ok(self.input_required(asked, "tools/call", &call.rounds, ctx))
                        }
                        Some(Need::Capability(capability)) if ctx.modern.is_some() => {
                            Err(Refusal::Capability(capability))
                        }
                        Some(Need::Capability(capability)) => {
                            complete(Ok(tools::ToolResult::error(format!(
                                "This tool needs the client capability `{capability}`."
                            ))
                            .to_json()))
                        }
                        Some(Need::Failure(message)) => {
                            complete(Err(ErrorObject::new(jsonrpc::INTERNAL_ERROR, message)))
                        }
                        Some(Need::Later { after_ms, state: next }) => match &ctx.modern {
                            Some(modern)
                                if tasks_ok && call.tool.task != TaskSupport::Forbidden =>
                            {
                                Ok(boxed(self.create_task(&call, next, after_ms, modern, ctx))
                                    .await)
                            }
                            _ => {
                                state = Some(next);
                                input = None;
                                continue;
                            }
                        },
                    };
                }
                let msg = format!("{} did not finish within one request; a client with the Tasks extension can run it as a task.", call.tool.name);
                complete(Ok(tools::ToolResult::error(msg).to_json()))
            }
            Request::TasksGet(TaskParams { task_id }) => {
                let modern = self.tasks_surface(ctx)?;
                Ok(match boxed(tasks::load(modern.tasks, &task_id, &modern.principal)).await {
                    Ok(Some(mut held)) => {
                        match boxed(self.advance(&mut held, ctx, modern, notify)).await {
                            Ok(()) => Ok(Answer::Complete(held.task.detailed())),
                            Err(e) => Err(e),
                        }
                    }
                    Ok(None) => Err(unknown_task(&task_id)),
                    Err(e) => Err(unavailable(e)),
                })
            }
            Request::TasksUpdate(TaskUpdateParams { task_id, input_responses }) => {
                let modern = self.tasks_surface(ctx)?;
                Ok(boxed(self.change_task(modern, &task_id, |task, now| {
                    if task.status != Status::InputRequired {
                        return false;
                    }
                    for (key, answer) in &input_responses {
                        if task.pending.remove(key).is_some() {
                            task.answers.insert(key.clone(), answer.clone());
                        }
                    }
                    if task.pending.is_empty() {
                        task.status = Status::Working;
                        task.due_ms = now;
                    }
                    true
                }))
                .await)
            }
            Request::TasksCancel(TaskParams { task_id }) => {
                let modern = self.tasks_surface(ctx)?;
                Ok(boxed(self.change_task(modern, &task_id, |task, _| {
                    if task.status.is_terminal() {
                        return false;
                    }
                    task.status = Status::Cancelled;
                    true
                }))
                .await)
            }
            Request::PromptsGet(PromptParams { name, arguments, rounds })
                if self.fixtures && fixtures::is_mrtr_prompt(&name) =>
            {
                let state = match self.open_state("prompts/get", &rounds, ctx) {
                    Ok(state) => state,
                    Err(e) => return Ok(Err(e)),
                };
                let _ = (arguments, state);
                match fixtures::mrtr_prompt(rounds.input.as_ref()) {
                    Ok(prompt) => complete(Ok(prompt)),
                    Err(input) => Ok(self.input_required(input, "prompts/get", &rounds, ctx)),
                }
            }
            other => complete(boxed(self.dispatch_plain(other, ctx)).await),
        }
    }

    /// The requests that always complete in one round.
    async fn dispatch_plain(
        &self,
        request: Request,
        ctx: &CallContext<'_>,
    ) -> Result<Value, ErrorObject> {
        match request {
            Request::Discover => Ok(self.discover(ctx)),
            // Nothing here can change while a stream is open (the catalogue changes only with a
            // deploy), so no notification type is honoured: the transport acknowledges and closes.
            Request::Listen(_) => Ok(json!({})),
            Request::ToolsCall(_)
            | Request::TasksGet(_)
            | Request::TasksCancel(_)
            | Request::TasksUpdate(_) => Err(invalid("answered by Server::dispatch")),
            Request::Initialize(params) => Ok(self.initialize(&params).0),
            Request::Ping | Request::SetLevel(_) | Request::ResourcesSubscription(_) => {
                Ok(json!({}))
            }
            // `execution.taskSupport` only where we serve tasks (2026-07-28 with the extension):
            // a session client would take it for the 2025-11-25 experimental tasks.
            Request::ToolsList => Ok(json!({ "tools": self.tools.iter().filter(|t| {
                // A deployment may leave out what this caller cannot call.
                !self.hide_unauthorized
                    || ctx.identity.is_none_or(|who| t.scopes.iter().all(|s| who.has_scope(s)))
            }).map(|t| {
                let mut definition = self.definition(t).into_owned();
                if t.task != TaskSupport::Forbidden && ctx.modern.is_some() {
                    definition["execution"] = json!({ "taskSupport": t.task.as_str() });
                }
                definition
            }).collect::<Vec<_>>() })),
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
                    // 2026-07-28 uses -32602 (and forbids -32002); earlier revisions -32002.
                    None => Err(ErrorObject {
                        code: if ctx.modern.is_some() {
                            INVALID_PARAMS
                        } else {
                            RESOURCE_NOT_FOUND
                        },
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
            Request::PromptsGet(PromptParams { name, arguments, .. }) => {
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
    use crate::mcp::tools::{Catalog, ToolError, TypedTool};
    use std::cell::RefCell;

    /// The engine's tests serve their own tools, never the worker's.
    struct Echo;

    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct EchoArgs {
        message: String,
    }

    impl TypedTool for Echo {
        const NAME: &'static str = "echo";
        const DESCRIPTION: &'static str = "Echoes the message back. Test tool.";
        type Args = EchoArgs;
        type Output = String;
        async fn call(args: EchoArgs, _ctx: &ToolContext<'_>) -> Result<String, ToolError> {
            Ok(format!("Echo: {}", args.message))
        }
    }

    const TEST_TOOLS: &[Tool] = &[Tool::typed::<Echo>(), tools::list_clients::TOOL];

    fn server(fixtures: bool) -> Server {
        Server::new(&Catalog::new(TEST_TOOLS), fixtures)
    }

    async fn call(
        server: &Server,
        method: &str,
        params: Value,
        identity: Option<&Identity>,
    ) -> (Value, Vec<Value>) {
        let seen = RefCell::new(Vec::new());
        let notify = |m: &str, p: Value| seen.borrow_mut().push(json!({"method": m, "params": p}));
        let ctx = CallContext {
            identity,
            store: None,
            fetch: None,
            vars: None,
            now: 1_795_000_000,
            modern: None,
            asks: None,
        };
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
        let s = server(false);
        let (r, _) =
            call(&s, "tools/call", json!({"name":"echo","arguments":{"message":"hi"}}), None).await;
        assert_eq!(r["result"]["content"][0]["text"], "Echo: hi");
        assert_eq!(r["result"]["isError"], false);
        let (r, _) = call(&s, "tools/call", json!({"name":"echo","arguments":{}}), None).await;
        assert_eq!(r["result"]["isError"], true);
        assert!(r["result"]["content"][0]["text"].as_str().unwrap().contains("message"));
    }

    #[tokio::test]
    async fn the_app_view_is_a_resource() {
        let s = server(false);
        let (r, _) =
            call(&s, "resources/read", json!({"uri":"ui://get-time/mcp-app.html"}), None).await;
        assert_eq!(r["result"]["contents"][0]["mimeType"], "text/html;profile=mcp-app");
        assert!(r["result"]["contents"][0]["text"].as_str().unwrap().contains("ui/initialize"));
    }

    #[tokio::test]
    async fn instructions_come_from_the_catalogue() {
        let s = server(false);
        let (r, _) = call(&s, "server/discover", json!({}), None).await;
        assert_eq!(
            r["result"]["instructions"],
            "Tools: echo (Echoes the message back); list_clients (Lists dynamically registered OAuth clients (id, name, redirect hosts, created)) [scope: admin]."
        );
    }

    /// A tool's definition (its schemas, generated) is made when something first needs it, once:
    /// not when the isolate starts, and not again for `tools/list` after the instructions.
    #[tokio::test]
    async fn definitions_are_made_on_first_use_and_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static MADE: AtomicUsize = AtomicUsize::new(0);
        fn counted() -> Value {
            MADE.fetch_add(1, Ordering::SeqCst);
            (Tool::typed::<Echo>().definition)()
        }
        static COUNTED: [Tool; 1] = [Tool { definition: counted, ..Tool::typed::<Echo>() }];
        let s = Server::new(&Catalog::new(&COUNTED), false);
        assert_eq!(MADE.load(Ordering::SeqCst), 0, "nothing made at start");
        let (r, _) = call(&s, "server/discover", json!({}), None).await;
        assert_eq!(r["result"]["instructions"], "Tools: echo (Echoes the message back).");
        assert_eq!(MADE.load(Ordering::SeqCst), 1);
        let (r, _) = call(&s, "tools/list", json!({}), None).await;
        assert_eq!(r["result"]["tools"][0]["name"], "echo");
        call(&s, "server/discover", json!({}), None).await;
        assert_eq!(MADE.load(Ordering::SeqCst), 1, "made once");
    }

    #[tokio::test]
    async fn a_catalogue_may_hide_what_a_caller_cannot_call() {
        let names = |r: &Value| -> Vec<String> {
            r["result"]["tools"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_owned())
                .collect()
        };
        let bob = Identity { scopes: vec!["mcp".into()], ..alice() };
        let shown = server(false);
        assert_eq!(
            names(&call(&shown, "tools/list", json!({}), Some(&bob)).await.0),
            ["echo", "list_clients"]
        );
        let hiding =
            Server::new(&Catalog { hide_unauthorized: true, ..Catalog::new(TEST_TOOLS) }, false);
        assert_eq!(names(&call(&hiding, "tools/list", json!({}), Some(&bob)).await.0), ["echo"]);
        assert_eq!(
            names(&call(&hiding, "tools/list", json!({}), Some(&alice())).await.0),
            ["echo", "list_clients"]
        );
    }

    #[tokio::test]
    async fn protocol_errors_use_the_right_codes() {
        let s = server(false);
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
        let s = server(false);
        assert_eq!(call(&s, "ping", json!({}), None).await.0["result"], json!({}));
        assert_eq!(
            call(&s, "logging/setLevel", json!({"level":"debug"}), None).await.0["result"],
            json!({})
        );
    }

    #[tokio::test]
    async fn admin_tool_refuses_without_scope() {
        let s = server(false);
        let (r, _) = call(&s, "tools/call", json!({"name":"list_clients"}), None).await;
        assert_eq!(r["result"]["isError"], true);
        let bob = Identity { scopes: vec!["mcp".into()], ..alice() };
        let ctx = CallContext {
            identity: Some(&bob),
            store: None,
            fetch: None,
            vars: None,
            now: 0,
            modern: None,
            asks: None,
        };
        let request =
            |name: &str| Request::parse(&s, "tools/call", Some(json!({ "name": name }))).unwrap();
        let answer = s.answer(&json!(1), request("list_clients"), &ctx, &|_, _| {}).await;
        assert_eq!(answer, Err(Refusal::Scope(&["admin"])));
        let answer = s.answer(&json!(1), request("echo"), &ctx, &|_, _| {}).await;
        assert!(answer.is_ok());
    }

    #[cfg(feature = "conformance")]
    #[tokio::test]
    async fn progress_is_reported_only_with_a_token() {
        let s = server(true);
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
        let s = server(false);
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
        assert!(server(false).tool("test_simple_text").is_none());
        // Built into the conformance environment's wasm only (the `conformance` feature).
        assert_eq!(server(true).tool("test_simple_text").is_some(), cfg!(feature = "conformance"));
    }
}
