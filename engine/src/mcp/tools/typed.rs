//! Typed tools: arguments are a `Deserialize` type, results a `Serialize` type (or text), and
//! both JSON Schemas are generated from the types by `schemars` (JSON Schema 2020-12), never
//! written by hand. One definition serves every transport and era (HTTP 2026-07-28 and the
//! session revisions, stdio).
//!
//! ```
//! use mcp_edge::mcp::tools::{Annotations, Json, Tool, ToolContext, ToolError, TypedTool};
//! use schemars::JsonSchema;
//! use serde::{Deserialize, Serialize};
//!
//! /// Counts the words of a text.
//! pub struct WordCount;
//!
//! #[derive(Deserialize, JsonSchema)]
//! pub struct Args {
//!     /// The text to count.
//!     text: String,
//! }
//!
//! #[derive(Serialize, JsonSchema)]
//! pub struct Counted {
//!     words: usize,
//! }
//!
//! impl TypedTool for WordCount {
//!     const NAME: &'static str = "word_count";
//!     const DESCRIPTION: &'static str = "Counts the words of a text.";
//!     const SCOPES: &'static [&'static str] = &["stats"];
//!     const ANNOTATIONS: Annotations = Annotations::READ_ONLY;
//!     type Args = Args;
//!     type Output = Json<Counted>;
//!
//!     async fn call(args: Args, _ctx: &ToolContext<'_>) -> Result<Json<Counted>, ToolError> {
//!         Ok(Json::new(Counted { words: args.text.split_whitespace().count() }))
//!     }
//! }
//!
//! pub const WORD_COUNT: Tool = Tool::typed::<WordCount>();
//! ```

use super::{Delivery, TaskSupport, Tool, ToolContext, ToolFuture, ToolResult};
use crate::mcp::mrtr::{self, InputRequired};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::future::Future;

/// A tool whose arguments and result are Rust types. Implement it on a unit struct and list
/// `Tool::typed::<YourTool>()` in the worker's catalogue.
pub trait TypedTool: 'static {
    /// The name clients call it by (`tools/call`).
    const NAME: &'static str;
    /// A human-readable name for hosts to show.
    const TITLE: Option<&'static str> = None;
    /// What it does, for the model: the first sentence also goes into the server's
    /// instructions.
    const DESCRIPTION: &'static str;
    /// Scopes a caller's token must carry besides `mcp` (403 step-up otherwise). Every scope
    /// named here becomes one the authorization server supports and grants.
    const SCOPES: &'static [&'static str] = &[];
    /// Wrangler vars and secrets the tool reads with [`ToolContext::var`] (API keys, say):
    /// read once at start-up.
    const VARS: &'static [&'static str] = &[];
    /// Whether a call may run as a task (the Tasks extension).
    const TASK: TaskSupport = TaskSupport::Forbidden;
    /// How a session call's result travels (on its stream, or by resuming).
    const DELIVERY: Delivery = Delivery::Stream;
    /// Hints for hosts (`readOnlyHint`, …).
    const ANNOTATIONS: Annotations = Annotations::NONE;
    /// The arguments: deserialized from `tools/call` `arguments`; its schema is the
    /// `inputSchema`. Use [`NoArgs`] for a tool without any.
    type Args: DeserializeOwned + JsonSchema;
    /// The result: `String` (text), [`Json<T>`] (structured content with an `outputSchema`),
    /// or a [`ToolResult`] built by hand.
    type Output: ToolOutput;

    /// Extra members of the `tools/list` entry: `icons`, `_meta` (MCP Apps `ui`, `openai/*`).
    fn extra() -> Option<Value> {
        None
    }

    /// Runs the call. `?` works on anything that converts into a [`ToolError`].
    fn call(
        args: Self::Args,
        ctx: &ToolContext<'_>,
    ) -> impl Future<Output = Result<Self::Output, ToolError>>;
}

/// Tool annotations (hints for hosts; `None` leaves a hint out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Annotations {
    /// `readOnlyHint`: the tool changes nothing.
    pub read_only: Option<bool>,
    /// `destructiveHint`: an update may destroy something.
    pub destructive: Option<bool>,
    /// `idempotentHint`: calling it twice with the same arguments does nothing more.
    pub idempotent: Option<bool>,
    /// `openWorldHint`: it reaches things outside the server (the web, other services).
    pub open_world: Option<bool>,
}

impl Annotations {
    /// No hints.
    pub const NONE: Annotations =
        Annotations { read_only: None, destructive: None, idempotent: None, open_world: None };
    /// Reads and changes nothing outside the server: read-only, not destructive, closed world.
    pub const READ_ONLY: Annotations = Annotations {
        read_only: Some(true),
        destructive: Some(false),
        idempotent: None,
        open_world: Some(false),
    };

    fn to_json(self) -> Option<Value> {
        let mut m = Map::new();
        for (key, hint) in [
            ("readOnlyHint", self.read_only),
            ("destructiveHint", self.destructive),
            ("idempotentHint", self.idempotent),
            ("openWorldHint", self.open_world),
        ] {
            if let Some(h) = hint {
                m.insert(key.into(), Value::Bool(h));
            }
        }
        (!m.is_empty()).then_some(Value::Object(m))
    }
}

/// The arguments of a tool that takes none (`{"type": "object", "properties": {}}`).
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema)]
pub struct NoArgs {}

/// What a typed tool returns.
pub trait ToolOutput {
    /// The `outputSchema`, for results with structured content.
    fn output_schema() -> Option<Value> {
        None
    }
    /// The `tools/call` result.
    fn into_result(self) -> ToolResult;
}

impl ToolOutput for ToolResult {
    fn into_result(self) -> ToolResult {
        self
    }
}

impl ToolOutput for String {
    fn into_result(self) -> ToolResult {
        ToolResult::text(self)
    }
}

/// A structured result: `structuredContent` is `value` (its schema the `outputSchema`), and the
/// text content is `text`, or the JSON itself for clients that read only text.
#[derive(Debug, Clone, PartialEq)]
pub struct Json<T> {
    /// The structured content.
    pub value: T,
    /// The text content shown beside it (the JSON when `None`).
    pub text: Option<String>,
}

impl<T> Json<T> {
    /// `value` as structured content, with its JSON as the text content.
    pub fn new(value: T) -> Self {
        Json { value, text: None }
    }
    /// Text content to show instead of the JSON.
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }
}

impl<T: Serialize + JsonSchema> ToolOutput for Json<T> {
    fn output_schema() -> Option<Value> {
        Some(schema_of::<T>())
    }
    fn into_result(self) -> ToolResult {
        match serde_json::to_value(&self.value) {
            Ok(value) => {
                let text = self.text.unwrap_or_else(|| value.to_string());
                ToolResult::text(text).with_structured(value)
            }
            Err(e) => ToolResult::error(format!("The result could not be serialized: {e}")),
        }
    }
}

/// Why a typed tool did not produce its output. `?` converts into it; each kind has its own
/// shape on the wire.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolError {
    /// The tool's answer is a failure the model should read and react to: an `isError`
    /// result. `String` and `&str` convert into this.
    Tool(String),
    /// The call itself failed (storage down, a bug): a JSON-RPC error, or a `failed` task.
    Internal(String),
    /// The client must answer first: an input request (2026-07-28 `input_required`, or a
    /// server-to-client request on a session). [`ToolContext::elicit`] returns it.
    Input(InputRequired),
    /// The client must declare a capability first (`-32021`), e.g. `sampling`.
    Capability(&'static str),
}

impl ToolError {
    fn into_result(self) -> ToolResult {
        match self {
            ToolError::Tool(message) => ToolResult::error(message),
            ToolError::Internal(message) => ToolResult::failure(message),
            ToolError::Input(input) => ToolResult::input_required(input),
            ToolError::Capability(c) => ToolResult::requires_capability(c),
        }
    }
}

impl From<String> for ToolError {
    fn from(message: String) -> Self {
        ToolError::Tool(message)
    }
}

impl From<&str> for ToolError {
    fn from(message: &str) -> Self {
        ToolError::Tool(message.to_owned())
    }
}

impl From<InputRequired> for ToolError {
    fn from(input: InputRequired) -> Self {
        ToolError::Input(input)
    }
}

impl From<crate::store::StoreError> for ToolError {
    fn from(e: crate::store::StoreError) -> Self {
        ToolError::Internal(format!("storage failed: {e}"))
    }
}

impl From<serde_json::Error> for ToolError {
    fn from(e: serde_json::Error) -> Self {
        ToolError::Tool(e.to_string())
    }
}

/// A root the client shares (`roots/list`): a `file://` URI and maybe a name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Root {
    /// The root's URI.
    pub uri: String,
    /// A name for it, if the client gave one.
    #[serde(default)]
    pub name: Option<String>,
}

/// The answer to an elicitation ([`ToolContext::elicit`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Elicited<T> {
    /// The person filled in the form.
    Accepted(T),
    /// The person said no.
    Declined,
    /// The person dismissed the form.
    Cancelled,
    /// This client cannot be asked (it declared no elicitation, or the call runs where
    /// nobody can answer).
    CannotAsk,
}

impl ToolContext<'_> {
    /// Asks the person for a `T` (a form whose schema is generated from `T`) under `key`.
    ///
    /// The first time, when the client can answer, this returns `Err(ToolError::Input)`: pass
    /// it on with `?` and the engine asks; the call comes back with the answer, and the same
    /// line then returns it. So a handler reads top to bottom. Each question needs its own
    /// `key`.
    pub fn elicit<T: DeserializeOwned + JsonSchema>(
        &self,
        key: &str,
        message: &str,
    ) -> Result<Elicited<T>, ToolError> {
        if let Some(answer) = self.input.and_then(|i| i.get(key)) {
            return match answer.get("action").and_then(Value::as_str) {
                Some("accept") => {
                    let content = answer.get("content").cloned().unwrap_or(json!({}));
                    match serde_json::from_value(content) {
                        Ok(value) => Ok(Elicited::Accepted(value)),
                        Err(e) => Err(ToolError::Tool(format!(
                            "The answer to {key:?} is not what was asked for: {e}"
                        ))),
                    }
                }
                Some("decline") => Ok(Elicited::Declined),
                _ => Ok(Elicited::Cancelled),
            };
        }
        if !self.can_ask("elicitation/create") {
            return Ok(Elicited::CannotAsk);
        }
        Err(ToolError::Input(
            InputRequired::new().ask(key, mrtr::elicit(message, schema_of::<T>())),
        ))
    }

    /// Asks the client's model (`sampling/createMessage`) to answer `prompt`, under `key`: the
    /// model's text, or `None` when this client cannot be asked (it declared no sampling).
    /// As with [`ToolContext::elicit`], the first time returns `Err(ToolError::Input)` for `?`.
    pub fn sample(
        &self,
        key: &str,
        prompt: &str,
        max_tokens: u32,
    ) -> Result<Option<String>, ToolError> {
        if let Some(answer) = self.input.and_then(|i| i.get(key)) {
            return match answer.pointer("/content/text").and_then(Value::as_str) {
                Some(text) => Ok(Some(text.to_owned())),
                None => Err(ToolError::Tool(format!("The model's answer to {key:?} has no text."))),
            };
        }
        if !self.can_ask("sampling/createMessage") {
            return Ok(None);
        }
        Err(ToolError::Input(InputRequired::new().ask(key, mrtr::sample(prompt, max_tokens))))
    }

    /// The client's roots (`roots/list`), under `key`: `None` when this client cannot be asked.
    /// The first time returns `Err(ToolError::Input)` for `?`, as [`ToolContext::elicit`] does.
    pub fn roots(&self, key: &str) -> Result<Option<Vec<Root>>, ToolError> {
        if let Some(answer) = self.input.and_then(|i| i.get(key)) {
            let roots = answer.get("roots").cloned().unwrap_or(json!([]));
            return serde_json::from_value(roots)
                .map(Some)
                .map_err(|e| ToolError::Tool(format!("The client's roots cannot be read: {e}")));
        }
        if !self.can_ask("roots/list") {
            return Ok(None);
        }
        Err(ToolError::Input(InputRequired::new().ask(key, mrtr::list_roots())))
    }

    /// The signed-in person's subject (`sub`), if anyone signed in.
    pub fn subject(&self) -> Option<&str> {
        self.identity.map(|i| i.sub.as_str())
    }
}

/// The JSON Schema (2020-12) of `T`, as MCP wants it in `inputSchema`, `outputSchema` and
/// elicitation forms: no `$schema`, and no `title` or `description` from the Rust type's name
/// and doc comment (the tool's own title and description say what it is); the fields' doc
/// comments stay as their descriptions.
pub fn schema_of<T: JsonSchema>() -> Value {
    let settings = schemars::generate::SchemaSettings::draft2020_12();
    let mut schema = settings.into_generator().into_root_schema_for::<T>().to_value();
    drop_integer_formats(&mut schema);
    if let Some(m) = schema.as_object_mut() {
        m.remove("$schema");
        m.remove("title");
        m.remove("description");
        // Argument and form schemas are objects: say so even for a struct with no fields.
        m.entry("type").or_insert_with(|| json!("object"));
        if m.get("type") == Some(&json!("object")) {
            m.entry("properties").or_insert_with(|| json!({}));
        }
    }
    schema
}

/// schemars marks Rust integer widths as `format` (`uint64`, `int32`, …), which are not JSON
/// Schema formats: validators in clients warn about each (the TypeScript SDK's Ajv does). The
/// `minimum`/`maximum` schemars adds already say the range, so the format goes.
fn drop_integer_formats(schema: &mut Value) {
    match schema {
        Value::Object(m) => {
            let integer = match m.get("type") {
                Some(Value::String(t)) => t == "integer",
                Some(Value::Array(ts)) => ts.iter().any(|t| t == "integer"),
                _ => false,
            };
            if integer {
                m.remove("format");
            }
            m.values_mut().for_each(drop_integer_formats);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_integer_formats),
        _ => {}
    }
}

/// The `tools/list` entry of `T`.
fn definition_of<T: TypedTool>() -> Value {
    let mut d = Map::new();
    d.insert("name".into(), json!(T::NAME));
    if let Some(title) = T::TITLE {
        d.insert("title".into(), json!(title));
    }
    d.insert("description".into(), json!(T::DESCRIPTION));
    d.insert("inputSchema".into(), schema_of::<T::Args>());
    if let Some(schema) = T::Output::output_schema() {
        d.insert("outputSchema".into(), schema);
    }
    if let Some(a) = T::ANNOTATIONS.to_json() {
        d.insert("annotations".into(), a);
    }
    if let Some(Value::Object(extra)) = T::extra() {
        d.extend(extra);
    }
    Value::Object(d)
}

/// Arguments as `T`, or the `isError` text naming the argument that is wrong.
pub fn parse_args<T: DeserializeOwned>(args: &Map<String, Value>) -> Result<T, String> {
    let value = Value::Object(args.clone());
    serde_path_to_error::deserialize(&value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            format!("Invalid arguments: {inner}.")
        } else {
            format!("Invalid argument `{path}`: {inner}.")
        }
    })
}

fn call_of<'a, T: TypedTool>(
    args: &'a Map<String, Value>,
    ctx: &'a ToolContext<'a>,
) -> ToolFuture<'a> {
    Box::pin(async move {
        let args: T::Args = match parse_args(args) {
            Ok(a) => a,
            Err(message) => return ToolResult::error(message),
        };
        match T::call(args, ctx).await {
            Ok(output) => output.into_result(),
            Err(e) => e.into_result(),
        }
    })
}

impl Tool {
    /// The catalogue entry of a [`TypedTool`].
    pub const fn typed<T: TypedTool>() -> Tool {
        Tool {
            name: T::NAME,
            definition: definition_of::<T>,
            scopes: T::SCOPES,
            vars: T::VARS,
            task: T::TASK,
            delivery: T::DELIVERY,
            call: call_of::<T>,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::envelope::ClientCapabilities;

    #[derive(Debug, PartialEq, Deserialize, JsonSchema)]
    struct Place {
        location: String,
    }

    fn caps(all: bool) -> ClientCapabilities {
        ClientCapabilities { sampling: all, elicitation: all, roots: all, tasks: false }
    }

    #[test]
    fn asking_reads_top_to_bottom_across_rounds() {
        let notify = |_: &str, _: Value| {};
        let can = caps(true);
        let mut ctx = ToolContext::simple(None, None, 0, &notify);
        // Nobody to ask: values, not errors.
        assert_eq!(ctx.elicit::<Place>("p", "Where?"), Ok(Elicited::CannotAsk));
        assert_eq!(ctx.sample("s", "Hi", 10), Ok(None));
        assert_eq!(ctx.roots("r"), Ok(None));
        // A client that can answer: the first round asks, with the schema from the type.
        ctx.client = Some(&can);
        let Err(ToolError::Input(asked)) = ctx.elicit::<Place>("p", "Where?") else { panic!() };
        let request = &asked.requests["p"];
        assert_eq!(request["method"], "elicitation/create");
        assert_eq!(request["params"]["requestedSchema"]["required"], json!(["location"]));
        assert!(matches!(ctx.sample("s", "Hi", 10), Err(ToolError::Input(_))));
        assert!(matches!(ctx.roots("r"), Err(ToolError::Input(_))));
        // The next round carries the answers.
        let answers = json!({
            "p": {"action": "accept", "content": {"location": "Oslo"}},
            "d": {"action": "decline"},
            "c": {"action": "cancel"},
            "bad": {"action": "accept", "content": {"location": 5}},
            "s": {"role": "assistant", "content": {"type": "text", "text": "Hello!"}, "model": "m"},
            "r": {"roots": [{"uri": "file:///home/a", "name": "home"}, {"uri": "file:///tmp"}]},
        });
        let answers = answers.as_object().unwrap().clone();
        ctx.input = Some(&answers);
        assert_eq!(
            ctx.elicit::<Place>("p", "Where?"),
            Ok(Elicited::Accepted(Place { location: "Oslo".into() }))
        );
        assert_eq!(ctx.elicit::<Place>("d", "Where?"), Ok(Elicited::Declined));
        assert_eq!(ctx.elicit::<Place>("c", "Where?"), Ok(Elicited::Cancelled));
        assert!(
            matches!(ctx.elicit::<Place>("bad", "Where?"), Err(ToolError::Tool(m)) if m.contains("bad"))
        );
        assert_eq!(ctx.sample("s", "Hi", 10), Ok(Some("Hello!".into())));
        let roots = ctx.roots("r").unwrap().unwrap();
        assert_eq!(roots[0], Root { uri: "file:///home/a".into(), name: Some("home".into()) });
        assert_eq!(roots[1].name, None);
    }

    #[test]
    fn integer_widths_are_ranges_not_formats() {
        #[derive(JsonSchema)]
        #[allow(dead_code)]
        struct T {
            a: u64,
            b: Option<u8>,
            c: Vec<i32>,
        }
        let s = schema_of::<T>();
        assert!(!s.to_string().contains("format"), "{s}");
        assert_eq!(s["properties"]["a"]["minimum"], 0);
        assert_eq!(s["properties"]["b"]["maximum"], 255);
    }

    #[test]
    fn argument_errors_name_the_argument() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Args {
            text: String,
            top: Option<u8>,
        }
        let args = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(
            parse_args::<Args>(&args(json!({}))).unwrap_err(),
            "Invalid arguments: missing field `text`."
        );
        assert_eq!(
            parse_args::<Args>(&args(json!({"text": "x", "top": -1}))).unwrap_err(),
            "Invalid argument `top`: invalid value: integer `-1`, expected u8."
        );
        assert!(parse_args::<Args>(&args(json!({"text": "x", "top": 3}))).is_ok());
    }
}
