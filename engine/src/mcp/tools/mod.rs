//! Tools: what a catalogue entry is ([`Tool`]), what a call may use ([`ToolContext`]) and
//! returns ([`ToolResult`]), and typed tools ([`TypedTool`]), the way to write one. The tools
//! themselves belong to the deployment (the worker crate hands its [`Catalog`] to the engine);
//! the engine brings only [`list_clients`], an operator's tool over its own records.

mod fetch;
pub mod list_clients;
mod storage;
mod typed;

pub use fetch::{TOOL_FETCH_MAX_BYTES, TOOL_FETCH_TIMEOUT_MS};
pub use storage::ToolStorage;
pub use typed::{
    parse_args, schema_of, Annotations, Elicited, Json, NoArgs, Root, ToolError, ToolOutput,
    TypedTool,
};

use super::envelope::ClientCapabilities;
use super::mrtr::InputRequired;
use super::Identity;
use crate::store::Store;
use serde_json::{json, Map, Value};
use std::future::Future;
use std::pin::Pin;

pub type ToolFuture<'a> = Pin<Box<dyn Future<Output = ToolResult> + 'a>>;

/// A tool: its `tools/list` entry and its handler. Write one with [`Tool::typed`]; the fields
/// are public for tools that build their definition by hand.
pub struct Tool {
    /// The name clients call it by.
    pub name: &'static str,
    /// The full `tools/list` entry (name, title, description, inputSchema, ...).
    pub definition: fn() -> Value,
    /// Scopes the caller's token must carry beyond the base `mcp` scope (403 step-up otherwise).
    pub scopes: &'static [&'static str],
    /// Wrangler vars and secrets the tool reads ([`ToolContext::var`]).
    pub vars: &'static [&'static str],
    /// Whether a call may run as a task (the Tasks extension, `mcp::tasks`).
    pub task: TaskSupport,
    /// How a session call's result travels ([`Delivery`]).
    pub delivery: Delivery,
    /// The handler: the call's `arguments` and context.
    pub call: for<'a> fn(&'a Map<String, Value>, &'a ToolContext<'a>) -> ToolFuture<'a>,
}

/// What a deployment serves: its tools, in `tools/list` order, and how their scopes show.
#[derive(Debug, Clone, Copy)]
pub struct Catalog {
    /// The tools.
    pub tools: &'static [Tool],
    /// Leave tools a caller's token lacks the scopes for out of that caller's `tools/list`
    /// (they are refused with the 403 step-up either way). Off by default: clients that list
    /// tools once never learn about a scope they could step up to.
    pub hide_unauthorized: bool,
}

impl Catalog {
    /// No tools (a configuration not yet given its catalogue).
    pub const EMPTY: Catalog = Catalog { tools: &[], hide_unauthorized: false };

    /// A catalogue of `tools`.
    pub const fn new(tools: &'static [Tool]) -> Catalog {
        Catalog { tools, hide_unauthorized: false }
    }

    /// The scopes the tools declare, in catalogue order, without repeats.
    pub fn scopes(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for s in self.tools.iter().flat_map(|t| t.scopes.iter()) {
            if !out.contains(s) {
                out.push(s);
            }
        }
        out
    }

    /// The wrangler vars and secrets the tools read, without repeats.
    pub fn vars(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for v in self.tools.iter().flat_map(|t| t.vars.iter()) {
            if !out.contains(v) {
                out.push(v);
            }
        }
        out
    }
}

/// The server's instructions (`initialize`, `server/discover`): each tool with the first
/// sentence of its description (from its definition), and the scope it needs.
pub(crate) fn instructions<'a>(tools: impl Iterator<Item = (&'a Tool, &'a Value)>) -> String {
    let described: Vec<String> = tools
        .map(|(t, d)| {
            let text = d["description"].as_str().unwrap_or("");
            let first = text.split_inclusive(". ").next().unwrap_or(text).trim();
            let first = first.trim_end_matches('.');
            let scopes = if t.scopes.is_empty() {
                String::new()
            } else {
                format!(" [scope: {}]", t.scopes.join(" "))
            };
            format!("{} ({first}){scopes}", t.name)
        })
        .collect();
    if described.is_empty() {
        return "No tools.".into();
    }
    format!("Tools: {}.", described.join("; "))
}

/// How the result of a call on a legacy session's stream travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// On the call's own SSE stream (or as its JSON response): the default.
    Stream,
    /// After the call's stream closes with only its priming event: the client fetches the
    /// result by resuming with `Last-Event-ID` (SEP-1699 polling). For long calls whose
    /// clients should not hold a connection open.
    Resume,
}

/// A tool's `execution.taskSupport` (SEP-2663).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskSupport {
    /// Always answered within the request.
    Forbidden,
    /// Runs as a task when the tool continues later ([`ToolResult::later`]) and the client
    /// declared the extension; otherwise its steps run back to back within the request.
    Optional,
    /// Only as a task: a client without the extension is refused (-32021).
    Required,
}

impl TaskSupport {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskSupport::Forbidden => "forbidden",
            TaskSupport::Optional => "optional",
            TaskSupport::Required => "required",
        }
    }
}

impl std::fmt::Debug for Tool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tool").field("name", &self.name).field("scopes", &self.scopes).finish()
    }
}

/// What a tool may use: who is calling, storage (not on stdio), time, progress/log output, and
/// for multi-round-trip calls (`mcp::mrtr`) what the client can answer and what it answered.
///
/// A tool is written once, in multi-round-trip form: it may return
/// [`ToolResult::input_required`] when `client` declares the capability the question needs, and
/// finds the answers in `input` (and its own `state`) when the call comes back.
pub struct ToolContext<'a> {
    /// The tool being called (its storage is namespaced by it).
    pub tool: &'a str,
    /// Who is calling: the signed-in person and their client (`None` on stdio, or with
    /// authorization off).
    pub identity: Option<&'a Identity>,
    /// The whole store, for the engine's own tools. Deployers' tools use
    /// [`ToolContext::storage`], which cannot reach the authorization server's records.
    pub(crate) store: Option<&'a dyn Store>,
    /// Outbound HTTP ([`ToolContext::fetch`]) and whether loopback URLs may be fetched.
    pub(crate) outbound: Option<(&'a dyn crate::env::Fetch, bool)>,
    /// The values of the vars the catalogue's tools declare ([`ToolContext::var`]).
    pub(crate) vars: Option<&'a std::collections::BTreeMap<String, String>>,
    /// Unix seconds.
    pub now: u64,
    /// Emits a server notification (progress, log message) before the result.
    pub notify: &'a dyn Fn(&str, Value),
    pub progress_token: Option<&'a Value>,
    /// The capabilities this request's client declared (2026-07-28); `None` when the client
    /// cannot be asked for input (sessions of earlier revisions, stdio).
    pub client: Option<&'a ClientCapabilities>,
    /// `inputResponses` of a retried call.
    pub input: Option<&'a Map<String, Value>>,
    /// The state this tool handed out in the previous round (already unsealed and checked).
    pub state: Option<&'a Value>,
    /// Running as a step of a task (`mcp::tasks`), not within the client's request.
    pub in_task: bool,
}

impl ToolContext<'_> {
    /// A context with no client to ask (stdio, sessions of earlier revisions).
    pub fn simple<'a>(
        identity: Option<&'a Identity>,
        store: Option<&'a dyn Store>,
        now: u64,
        notify: &'a dyn Fn(&str, Value),
    ) -> ToolContext<'a> {
        ToolContext {
            tool: "",
            identity,
            store,
            outbound: None,
            vars: None,
            now,
            notify,
            progress_token: None,
            client: None,
            input: None,
            state: None,
            in_task: false,
        }
    }

    /// A wrangler var or secret the tool declared (`TypedTool::VARS`), if it is set.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars?.get(name).map(String::as_str)
    }

    /// May this call ask the client for input with `method` (`elicitation/create`, …)?
    pub fn can_ask(&self, method: &str) -> bool {
        self.client.is_some_and(|c| c.allows(method))
    }

    /// Sends `notifications/progress` when the caller asked for progress.
    pub fn progress(&self, progress: f64, total: Option<f64>, message: Option<&str>) {
        if let Some(token) = self.progress_token {
            let mut p = json!({ "progressToken": token, "progress": progress });
            if let Some(t) = total {
                p["total"] = json!(t);
            }
            if let Some(m) = message {
                p["message"] = json!(m);
            }
            (self.notify)("notifications/progress", p);
        }
    }
}

/// A `tools/call` result (`CallToolResult`). Failures are results with `isError`, not protocol
/// errors, so the model can read and react to them. A tool may instead need something first
/// ([`Need`]): input from the client, or a capability the client did not declare.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolResult {
    pub content: Vec<Value>,
    pub structured: Option<Value>,
    pub is_error: bool,
    pub need: Option<Need>,
}

/// What a tool needs before it can complete.
#[derive(Debug, Clone, PartialEq)]
pub enum Need {
    /// Ask the client (`input_required`, 2026-07-28).
    Input(InputRequired),
    /// The client must declare this capability (`-32021`), e.g. `sampling`.
    Capability(&'static str),
    /// Not done yet: continue with `state` after `after_ms` (as a task when the client can
    /// poll one, else at once within the request).
    Later { after_ms: u64, state: Value },
    /// A failure that is not the tool's answer (a task ends `failed`, a call with a
    /// JSON-RPC error).
    Failure(String),
}

impl ToolResult {
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            content: vec![json!({"type": "text", "text": text.into()})],
            structured: None,
            is_error: false,
            need: None,
        }
    }

    /// The call cannot complete until the client answers `input`.
    pub fn input_required(input: InputRequired) -> Self {
        Self { need: Some(Need::Input(input)), ..Self::text("") }
    }

    /// The call needs a client capability (`sampling`, `elicitation`, `roots`) this request's
    /// client did not declare.
    pub fn requires_capability(capability: &'static str) -> Self {
        Self { need: Some(Need::Capability(capability)), ..Self::text("") }
    }

    /// Continue later: the tool is called again with `state` (and no new input) after
    /// `after_ms`. Long work in steps, each within one request's limits.
    pub fn later(after_ms: u64, state: Value) -> Self {
        Self { need: Some(Need::Later { after_ms, state }), ..Self::text("") }
    }

    /// A failure of the call itself rather than a result (`failed` for a task).
    pub fn failure(message: impl Into<String>) -> Self {
        Self { need: Some(Need::Failure(message.into())), ..Self::text("") }
    }

    pub fn error(text: impl Into<String>) -> Self {
        Self { is_error: true, ..Self::text(text) }
    }

    pub fn with_structured(mut self, value: Value) -> Self {
        self.structured = Some(value);
        self
    }

    pub fn to_json(&self) -> Value {
        let mut v = json!({ "content": self.content, "isError": self.is_error });
        if let Some(s) = &self.structured {
            v["structuredContent"] = s.clone();
        }
        v
    }
}

/// Parses JSON written into the binary as text. Static catalogue entries are kept as JSON text
/// rather than `json!` literals: the text compresses well, the builder code did not (bundle size).
pub fn parse_static(text: &'static str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// A required string argument, or the `isError` result naming it.
pub fn string_arg<'a>(args: &'a Map<String, Value>, name: &str) -> Result<&'a str, ToolResult> {
    match args.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(ToolResult::error(format!("Argument `{name}` must be a string."))),
        None => Err(ToolResult::error(format!("Missing required argument `{name}`."))),
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds (proleptic Gregorian, no leap seconds).
pub fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-from-civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::format_utc;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_utc(1_795_000_000), "2026-11-18T11:06:40Z");
    }
}
