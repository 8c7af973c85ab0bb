//! The conformance suite's fixture tools, resources and prompts (names and values as the
//! `@modelcontextprotocol/conformance` scenarios expect). Served only in the `conformance`
//! environment.

use super::mrtr::{self, accepted, elicit, list_roots, sample, InputRequired};
use super::tools::{
    parse_static, Delivery, TaskSupport, Tool, ToolContext, ToolFuture, ToolResult,
};
use serde_json::{json, Map, Value};

pub const TEST_IMAGE_BASE64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
pub const TEST_AUDIO_BASE64: &str = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

macro_rules! fixture_tool {
    ($name:literal, $desc:literal, $schema:literal, $body:expr) => {
        Tool {
            name: $name,
            definition: || {
                parse_static(concat!(
                    r#"{"name":""#,
                    $name,
                    r#"","description":""#,
                    $desc,
                    r#"","inputSchema":"#,
                    $schema,
                    "}"
                ))
            },
            scopes: &[],
            vars: &[],
            task: TaskSupport::Forbidden,
            delivery: Delivery::Stream,
            call: $body,
        }
    };
    ($name:literal, $desc:literal, $schema:literal, $task:expr, $body:expr) => {
        Tool { task: $task, ..fixture_tool!($name, $desc, $schema, $body) }
    };
}

fn done(result: ToolResult) -> ToolFuture<'static> {
    Box::pin(async move { result })
}

pub const TOOLS: &[Tool] = &[
    // Not a suite fixture: makes the instance trap (a panic aborts in release wasm), so the
    // end-to-end tests can check that the next request is answered (tests/e2e/trap.test.mjs).
    fixture_tool!(
        "debug_trap",
        "Panics on purpose (conformance settings only): tests recovery after a trap",
        r#"{"type":"object","properties":{}}"#,
        |_, _| {
            #[allow(clippy::panic)]
            {
                panic!("debug_trap called: trapping on purpose")
            }
        }
    ),
    fixture_tool!(
        "test_simple_text",
        "Returns simple text content",
        r#"{"type":"object","properties":{}}"#,
        |_, _| { done(ToolResult::text("This is a simple text response for testing.")) }
    ),
    fixture_tool!(
        "test_image_content",
        "Returns image content",
        r#"{"type":"object","properties":{}}"#,
        |_, _| {
            done(content(vec![
                json!({"type":"image","data":TEST_IMAGE_BASE64,"mimeType":"image/png"}),
            ]))
        }
    ),
    fixture_tool!(
        "test_audio_content",
        "Returns audio content",
        r#"{"type":"object","properties":{}}"#,
        |_, _| {
            done(content(vec![
                json!({"type":"audio","data":TEST_AUDIO_BASE64,"mimeType":"audio/wav"}),
            ]))
        }
    ),
    fixture_tool!(
        "test_embedded_resource",
        "Returns an embedded resource",
        r#"{"type":"object","properties":{}}"#,
        |_, _| {
            done(content(vec![
                json!({"type":"resource","resource":{"uri":"test://embedded-resource","mimeType":"text/plain","text":"This is an embedded resource content."}}),
            ]))
        }
    ),
    fixture_tool!(
        "test_multiple_content_types",
        "Returns text, image and resource content",
        r#"{"type":"object","properties":{}}"#,
        |_, _| {
            done(content(vec![
                json!({"type":"text","text":"Multiple content types test:"}),
                json!({"type":"image","data":TEST_IMAGE_BASE64,"mimeType":"image/png"}),
                json!({"type":"resource","resource":{"uri":"test://mixed-content-resource","mimeType":"application/json","text":"{\"test\":\"data\",\"value\":123}"}}),
            ]))
        }
    ),
    fixture_tool!(
        "test_tool_with_logging",
        "Emits log messages while it runs",
        r#"{"type":"object","properties":{}}"#,
        logging
    ),
    fixture_tool!(
        "test_tool_with_progress",
        "Reports progress while it runs",
        r#"{"type":"object","properties":{}}"#,
        progress
    ),
    fixture_tool!(
        "test_error_handling",
        "Always fails, as a result with isError",
        r#"{"type":"object","properties":{}}"#,
        |_, _| { done(ToolResult::error("This tool intentionally returns an error for testing",)) }
    ),
    fixture_tool!(
        "test_sampling",
        "Asks the client to sample a completion of the prompt",
        r#"{"type":"object","properties":{"prompt":{"type":"string"}},"required":["prompt"]}"#,
        legacy_sampling
    ),
    fixture_tool!(
        "test_elicitation",
        "Asks the user for their information by elicitation",
        r#"{"type":"object","properties":{"message":{"type":"string"}},"required":["message"]}"#,
        legacy_elicitation
    ),
    fixture_tool!(
        "test_elicitation_sep1034_defaults",
        "Elicits with default values for every primitive type (SEP-1034)",
        r#"{"type":"object","properties":{}}"#,
        |_, ctx| elicit_then_echo(ctx, "Please confirm your details", sep1034_schema())
    ),
    fixture_tool!(
        "test_elicitation_sep1330_enums",
        "Elicits with every enum schema form (SEP-1330)",
        r#"{"type":"object","properties":{}}"#,
        |_, ctx| elicit_then_echo(ctx, "Please pick your options", sep1330_schema())
    ),
    // `server-sse-polling`: the POST stream closes before the result.
    Tool {
        delivery: Delivery::Resume,
        ..fixture_tool!(
            "test_reconnection",
            "Answers only on a resumed stream: the POST stream closes before the result (SEP-1699)",
            r#"{"type":"object","properties":{}}"#,
            |_, _| done(ToolResult::text(
                "Reconnection test completed: the result arrived after resuming"
            ))
        )
    },
];

fn legacy_sampling<'a>(args: &'a Map<String, Value>, ctx: &'a ToolContext<'a>) -> ToolFuture<'a> {
    let answer = ctx.input.and_then(|i| i.get("sample")).and_then(|r| r.get("content"));
    match answer.and_then(|c| c.get("text")).and_then(Value::as_str) {
        Some(text) => done(ToolResult::text(format!("LLM response: {text}"))),
        None => {
            let prompt = args.get("prompt").and_then(Value::as_str).unwrap_or("Hello");
            ask(InputRequired::new().ask("sample", sample(prompt, 100)))
        }
    }
}

fn legacy_elicitation<'a>(
    args: &'a Map<String, Value>,
    ctx: &'a ToolContext<'a>,
) -> ToolFuture<'a> {
    let message =
        args.get("message").and_then(Value::as_str).unwrap_or("Please provide your information");
    let schema = json!({
        "type": "object",
        "properties": {
            "username": { "type": "string", "description": "Your username" },
            "email": { "type": "string", "description": "Your email address" }
        },
        "required": ["username", "email"]
    });
    elicit_then_echo(ctx, message, schema)
}

/// Asks once by elicitation, then reports the user's action and content.
fn elicit_then_echo<'a>(ctx: &'a ToolContext<'a>, message: &str, schema: Value) -> ToolFuture<'a> {
    match ctx.input.and_then(|i| i.get("form")) {
        Some(answer) => {
            let action = answer.get("action").and_then(Value::as_str).unwrap_or("unknown");
            let content = answer.get("content").cloned().unwrap_or(Value::Null);
            done(ToolResult::text(format!("User response: action={action}, content={content}")))
        }
        None => ask(InputRequired::new().ask("form", elicit(message, schema))),
    }
}

fn sep1034_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "name": { "type": "string", "description": "Your name", "default": "John Doe" },
            "age": { "type": "integer", "description": "Your age", "default": 30 },
            "score": { "type": "number", "description": "Your score", "default": 95.5 },
            "status": { "type": "string", "description": "Your status",
                "enum": ["active", "inactive", "pending"], "default": "active" },
            "verified": { "type": "boolean", "description": "Verified?", "default": true }
        }
    })
}

fn sep1330_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "untitledSingle": { "type": "string", "enum": ["option1", "option2", "option3"] },
            "titledSingle": { "type": "string", "oneOf": [
                { "const": "value1", "title": "First Option" },
                { "const": "value2", "title": "Second Option" },
                { "const": "value3", "title": "Third Option" }
            ] },
            "legacyEnum": { "type": "string", "enum": ["opt1", "opt2", "opt3"],
                "enumNames": ["Option One", "Option Two", "Option Three"] },
            "untitledMulti": { "type": "array", "items": { "type": "string",
                "enum": ["option1", "option2", "option3"] } },
            "titledMulti": { "type": "array", "items": { "anyOf": [
                { "const": "value1", "title": "First Choice" },
                { "const": "value2", "title": "Second Choice" },
                { "const": "value3", "title": "Third Choice" }
            ] } }
        }
    })
}

/// The conformance suite's 2026-07-28 fixtures: multi-round-trip tools, the diagnostics of its
/// `server-stateless` scenario, and schema fixtures.
pub const MODERN_TOOLS: &[Tool] = &[
    fixture_tool!(
        "test_input_required_result_elicitation",
        "Asks for the user's name by elicitation, then greets them",
        r#"{"type":"object","properties":{}}"#,
        ir_elicitation
    ),
    fixture_tool!(
        "test_input_required_result_sampling",
        "Asks the client to sample an answer",
        r#"{"type":"object","properties":{}}"#,
        ir_sampling
    ),
    fixture_tool!(
        "test_input_required_result_list_roots",
        "Asks the client for its roots",
        r#"{"type":"object","properties":{}}"#,
        ir_roots
    ),
    fixture_tool!(
        "test_input_required_result_request_state",
        "Asks for a confirmation and carries request state",
        r#"{"type":"object","properties":{}}"#,
        ir_request_state
    ),
    fixture_tool!(
        "test_input_required_result_multiple_inputs",
        "Asks for elicitation, sampling and roots at once",
        r#"{"type":"object","properties":{}}"#,
        ir_multiple
    ),
    fixture_tool!(
        "test_input_required_result_multi_round",
        "Asks in two rounds, with new state each round",
        r#"{"type":"object","properties":{}}"#,
        ir_multi_round
    ),
    fixture_tool!(
        "test_input_required_result_tampered_state",
        "Asks for a confirmation with integrity-protected state",
        r#"{"type":"object","properties":{}}"#,
        ir_request_state
    ),
    fixture_tool!(
        "test_input_required_result_capabilities",
        "Asks only for what the client declared",
        r#"{"type":"object","properties":{}}"#,
        ir_capabilities
    ),
    fixture_tool!(
        "test_missing_capability",
        "Needs the client's sampling capability",
        r#"{"type":"object","properties":{}}"#,
        |_, ctx| {
            done(if ctx.can_ask("sampling/createMessage") {
                ToolResult::text("Success")
            } else {
                ToolResult::requires_capability("sampling")
            })
        }
    ),
    fixture_tool!(
        "test_streaming_elicitation",
        "Streams progress, then completes (never sends a request on the stream)",
        r#"{"type":"object","properties":{}}"#,
        |_, ctx| {
            ctx.progress(50.0, Some(100.0), Some("streaming"));
            done(ToolResult::text("Streaming complete"))
        }
    ),
    fixture_tool!(
        "test_logging_tool",
        "Logs at info level (sent only when the request asks for a log level)",
        r#"{"type":"object","properties":{}}"#,
        |_, ctx| {
            (ctx.notify)(
                "notifications/message",
                json!({ "level": "info", "logger": "test_logging_tool", "data": "logged" }),
            );
            done(ToolResult::text("Logging tool done"))
        }
    ),
    fixture_tool!(
        "test_trigger_tool_change",
        "Would announce a tool list change (nothing changes here, so nothing is announced)",
        r#"{"type":"object","properties":{}}"#,
        |_, _| done(ToolResult::text(
            "No subscription is honoured for tool changes on this server."
        ))
    ),
    fixture_tool!(
        "test_header_param",
        "Echoes a value that clients mirror in the Mcp-Param-Region header",
        r#"{"type":"object","properties":{"region":{"type":"string","description":"Any text","x-mcp-header":"Region"}},"required":["region"]}"#,
        |args, _| {
            let region = args.get("region").and_then(Value::as_str).unwrap_or_default();
            done(ToolResult::text(format!("Region: {region}")))
        }
    ),
    fixture_tool!(
        "json_schema_2020_12_tool",
        "Has a JSON Schema 2020-12 input schema, kept verbatim",
        r##"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","$defs":{"address":{"$anchor":"addressDef","type":"object","properties":{"street":{"type":"string"},"city":{"type":"string"}}}},"properties":{"name":{"type":"string"},"address":{"$ref":"#/$defs/address"},"phone":{"type":"string"},"email":{"type":"string"},"contactMethod":{"type":"string","enum":["phone","email"]}},"additionalProperties":false,"allOf":[{"anyOf":[{"required":["phone"]},{"required":["email"]}]}],"if":{"properties":{"contactMethod":{"const":"phone"}}},"then":{"required":["phone"]},"else":{"required":["email"]}}"##,
        |_, _| done(ToolResult::text("ok"))
    ),
    // The Tasks extension's fixtures (SEP-2663 scenarios of the conformance suite).
    fixture_tool!(
        "greet",
        "Greets by name, at once (never a task)",
        r#"{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}"#,
        |args, _| {
            let name = args.get("name").and_then(Value::as_str).unwrap_or("World");
            done(ToolResult::text(format!("Hello, {name}!")))
        }
    ),
    fixture_tool!(
        "slow_compute",
        "Finishes after `seconds` seconds (a task when the client can poll one)",
        r#"{"type":"object","properties":{"seconds":{"type":"integer","minimum":0},"label":{"type":"string"}}}"#,
        TaskSupport::Optional,
        |args, ctx| {
            let seconds = args.get("seconds").and_then(Value::as_u64).unwrap_or(1).min(3600);
            let label = args.get("label").and_then(Value::as_str).unwrap_or("job").to_owned();
            done(match ctx.state {
                None => ToolResult::later(seconds * 1000, json!({ "started": ctx.now })),
                Some(_) => ToolResult::text(format!("Computed {label} after {seconds}s")),
            })
        }
    ),
    fixture_tool!(
        "failing_job",
        "Fails as a tool (isError) after about a second; only as a task",
        r#"{"type":"object","properties":{}}"#,
        TaskSupport::Required,
        |_, ctx| {
            done(match ctx.state {
                None => ToolResult::later(1000, json!({})),
                Some(_) => ToolResult::error("The job failed: the input could not be processed"),
            })
        }
    ),
    fixture_tool!(
        "protocol_error_job",
        "Fails with a protocol error (the task ends failed)",
        r#"{"type":"object","properties":{}}"#,
        TaskSupport::Optional,
        |_, ctx| {
            done(match ctx.state {
                None => ToolResult::later(0, json!({})),
                Some(_) => ToolResult::failure("internal error while running the job"),
            })
        }
    ),
    fixture_tool!(
        "confirm_delete",
        "Asks for confirmation (elicitation) before deleting a file; as a task",
        r#"{"type":"object","properties":{"filename":{"type":"string"}},"required":["filename"]}"#,
        TaskSupport::Optional,
        confirm_delete
    ),
    fixture_tool!(
        "multi_input",
        "Asks two questions at once; as a task",
        r#"{"type":"object","properties":{}}"#,
        TaskSupport::Optional,
        multi_input
    ),
    fixture_tool!(
        "test_tool_with_task",
        "Asks for a name (multi-round-trip), then continues as a task",
        r#"{"type":"object","properties":{}}"#,
        TaskSupport::Required,
        tool_with_task
    ),
];

fn name_schema() -> Value {
    json!({"type":"object","properties":{"name":{"type":"string"}},"required":["name"]})
}

fn confirm_schema() -> Value {
    json!({"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"]})
}

fn ask(input: InputRequired) -> ToolFuture<'static> {
    done(ToolResult::input_required(input))
}

fn ir_elicitation<'a>(_: &'a Map<String, Value>, ctx: &'a ToolContext<'a>) -> ToolFuture<'a> {
    match accepted(ctx.input, "user_name").and_then(|c| c.get("name")).and_then(Value::as_str) {
        Some(name) => done(ToolResult::text(format!("Hello, {name}!"))),
        None => {
            ask(InputRequired::new().ask("user_name", elicit("What is your name?", name_schema())))
        }
    }
}

fn ir_sampling<'a>(_: &'a Map<String, Value>, ctx: &'a ToolContext<'a>) -> ToolFuture<'a> {
    let answer = ctx.input.and_then(|i| i.get("sample_request")).and_then(|r| r.get("content"));
    match answer.and_then(|c| c.get("text")).and_then(Value::as_str) {
        Some(text) => done(ToolResult::text(format!("The model said: {text}"))),
        None => ask(InputRequired::new()
            .ask("sample_request", sample("What is the capital of France?", 100))),
    }
}

fn ir_roots<'a>(_: &'a Map<String, Value>, ctx: &'a ToolContext<'a>) -> ToolFuture<'a> {
    let roots = ctx.input.and_then(|i| i.get("roots_request")).and_then(|r| r.get("roots"));
    match roots.and_then(Value::as_array) {
        Some(roots) => done(ToolResult::text(format!("The client has {} root(s).", roots.len()))),
        None => ask(InputRequired::new().ask("roots_request", list_roots())),
    }
}

fn ir_request_state<'a>(_: &'a Map<String, Value>, ctx: &'a ToolContext<'a>) -> ToolFuture<'a> {
    let confirmed =
        accepted(ctx.input, "confirm").and_then(|c| c.get("ok")).and_then(Value::as_bool);
    match (ctx.state, confirmed) {
        (Some(state), Some(ok)) if state["round"] == 1 => {
            done(ToolResult::text(format!("state-ok: confirmed={ok}")))
        }
        _ => ask(InputRequired::new()
            .ask("confirm", elicit("Please confirm", confirm_schema()))
            .with_state(json!({ "round": 1 }))),
    }
}

fn ir_multiple<'a>(_: &'a Map<String, Value>, ctx: &'a ToolContext<'a>) -> ToolFuture<'a> {
    let input = ctx.input;
    let all = ["user_name", "greeting", "client_roots"]
        .iter()
        .all(|k| input.is_some_and(|i| i.contains_key(*k)));
    if ctx.state.is_some() && all {
        return done(ToolResult::text("Received all three inputs."));
    }
    ask(InputRequired::new()
        .ask("user_name", elicit("What is your name?", name_schema()))
        .ask("greeting", sample("Write a one-line greeting.", 50))
        .ask("client_roots", list_roots())
        .with_state(json!({ "round": 1 })))
}

fn ir_multi_round<'a>(_: &'a Map<String, Value>, ctx: &'a ToolContext<'a>) -> ToolFuture<'a> {
    let round = ctx.state.and_then(|s| s.get("round")).and_then(Value::as_u64).unwrap_or(0);
    match round {
        1 if accepted(ctx.input, "step1").is_some() => ask(
            InputRequired::new()
                .ask(
                    "step2",
                    elicit(
                        "What is your favourite colour?",
                        json!({"type":"object","properties":{"color":{"type":"string"}},"required":["color"]}),
                    ),
                )
                .with_state(json!({ "round": 2 })),
        ),
        2 if accepted(ctx.input, "step2").is_some() => done(ToolResult::text("Both rounds complete.")),
        _ => ask(
            InputRequired::new()
                .ask("step1", elicit("What is your name?", name_schema()))
                .with_state(json!({ "round": 1 })),
        ),
    }
}

fn ir_capabilities<'a>(_: &'a Map<String, Value>, ctx: &'a ToolContext<'a>) -> ToolFuture<'a> {
    if ctx.input.is_some_and(|i| !i.is_empty()) {
        return done(ToolResult::text("Thanks."));
    }
    let mut input = InputRequired::new();
    if ctx.can_ask("elicitation/create") {
        input = input.ask("name", elicit("What is your name?", name_schema()));
    }
    if ctx.can_ask("sampling/createMessage") {
        input = input.ask("sample", sample("Say hello.", 20));
    }
    if ctx.can_ask("roots/list") {
        input = input.ask("roots", list_roots());
    }
    if input.requests.is_empty() {
        return done(ToolResult::error("This client declared no capability to ask with."));
    }
    ask(input)
}

/// The multi-round-trip prompt fixture.
pub fn is_mrtr_prompt(name: &str) -> bool {
    name == "test_input_required_result_prompt"
}

/// `test_input_required_result_prompt`: asks for context, then returns messages.
pub fn mrtr_prompt(input: Option<&Map<String, Value>>) -> Result<Value, InputRequired> {
    match accepted(input, "user_context").and_then(|c| c.get("context")).and_then(Value::as_str) {
        Some(context) => Ok(json!({ "messages": [{ "role": "user", "content": { "type": "text",
            "text": format!("Context: {context}") } }] })),
        None => Err(InputRequired::new().ask(
            "user_context",
            mrtr::elicit(
                "What context should the prompt use?",
                json!({"type":"object","properties":{"context":{"type":"string"}},"required":["context"]}),
            ),
        )),
    }
}

fn content(items: Vec<Value>) -> ToolResult {
    ToolResult { content: items, ..ToolResult::text("") }
}

fn logging<'a>(_: &'a Map<String, Value>, ctx: &'a ToolContext<'a>) -> ToolFuture<'a> {
    Box::pin(async move {
        for data in ["Tool execution started", "Tool processing data", "Tool execution completed"] {
            (ctx.notify)(
                "notifications/message",
                json!({ "level": "info", "logger": "test_tool_with_logging", "data": data }),
            );
        }
        ToolResult::text("Tool with logging executed successfully")
    })
}

fn progress<'a>(_: &'a Map<String, Value>, ctx: &'a ToolContext<'a>) -> ToolFuture<'a> {
    Box::pin(async move {
        for step in [0.0, 50.0, 100.0] {
            ctx.progress(step, Some(100.0), None);
        }
        ToolResult::text("Progress tool completed")
    })
}

pub fn resources() -> Vec<Value> {
    list(
        r#"[
        {"uri":"test://static-text","name":"static-text","mimeType":"text/plain","description":"A static text resource for testing"},
        {"uri":"test://static-binary","name":"static-binary","mimeType":"image/png","description":"A static binary resource for testing"},
        {"uri":"test://watched-resource","name":"watched-resource","mimeType":"text/plain","description":"A resource clients can subscribe to"}]"#,
    )
}

pub fn templates() -> Vec<Value> {
    list(
        r#"[{"uriTemplate":"test://template/{id}/data","name":"template","mimeType":"application/json","description":"A templated resource for testing"}]"#,
    )
}

fn list(text: &'static str) -> Vec<Value> {
    match parse_static(text) {
        Value::Array(items) => items,
        _ => Vec::new(),
    }
}

pub fn read(uri: &str) -> Option<Vec<Value>> {
    match uri {
        "test://static-text" => Some(vec![
            json!({"uri":uri,"mimeType":"text/plain","text":"This is the content of the static text resource."}),
        ]),
        "test://static-binary" => {
            Some(vec![json!({"uri":uri,"mimeType":"image/png","blob":TEST_IMAGE_BASE64})])
        }
        "test://watched-resource" => {
            Some(vec![json!({"uri":uri,"mimeType":"text/plain","text":"Watched resource content"})])
        }
        _ => {
            let id = uri
                .strip_prefix("test://template/")?
                .strip_suffix("/data")
                .filter(|id| !id.is_empty() && !id.contains('/'))?;
            let text =
                json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")})
                    .to_string();
            Some(vec![json!({"uri":uri,"mimeType":"application/json","text":text})])
        }
    }
}

pub fn prompts() -> Vec<Value> {
    list(
        r#"[
        {"name":"test_simple_prompt","description":"A simple prompt without arguments"},
        {"name":"test_prompt_with_arguments","description":"A prompt with required arguments",
         "arguments":[{"name":"arg1","description":"First test argument","required":true},{"name":"arg2","description":"Second test argument","required":true}]},
        {"name":"test_prompt_with_embedded_resource","description":"A prompt with an embedded resource",
         "arguments":[{"name":"resourceUri","description":"URI of the resource to embed","required":true}]},
        {"name":"test_prompt_with_image","description":"A prompt with an image"},
        {"name":"test_input_required_result_prompt","description":"A prompt that asks for context first (2026-07-28)"}]"#,
    )
}

pub fn get_prompt(name: &str, args: &Map<String, Value>) -> Result<Option<Value>, String> {
    let arg = |n: &str| {
        args.get(n)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or(format!("missing required argument `{n}`"))
    };
    let user = |content: Value| json!({"role":"user","content":content});
    let messages = match name {
        "test_simple_prompt" => {
            vec![user(json!({"type":"text","text":"This is a simple prompt for testing."}))]
        }
        "test_prompt_with_arguments" => {
            let (a1, a2) = (arg("arg1")?, arg("arg2")?);
            vec![user(
                json!({"type":"text","text":format!("Prompt with arguments: arg1='{a1}', arg2='{a2}'")}),
            )]
        }
        "test_prompt_with_embedded_resource" => {
            let uri = arg("resourceUri")?;
            vec![
                user(
                    json!({"type":"resource","resource":{"uri":uri,"mimeType":"text/plain","text":"Embedded resource content for testing."}}),
                ),
                user(json!({"type":"text","text":"Please process the embedded resource above."})),
            ]
        }
        "test_prompt_with_image" => vec![
            user(json!({"type":"image","data":TEST_IMAGE_BASE64,"mimeType":"image/png"})),
            user(json!({"type":"text","text":"Please analyze the image above."})),
        ],
        _ => return Ok(None),
    };
    Ok(Some(json!({ "messages": messages })))
}

fn confirm_delete<'a>(args: &'a Map<String, Value>, ctx: &'a ToolContext<'a>) -> ToolFuture<'a> {
    let file = args.get("filename").and_then(Value::as_str).unwrap_or("the file");
    if !ctx.in_task {
        return done(ToolResult::later(0, json!({})));
    }
    match accepted(ctx.input, "confirm").map(|c| c.get("confirm").and_then(Value::as_bool)) {
        Some(Some(true)) => done(ToolResult::text(format!("Deleted {file}"))),
        Some(_) => done(ToolResult::text(format!("Kept {file}"))),
        None if ctx.input.is_some() => done(ToolResult::text(format!("Kept {file} (declined)"))),
        None => ask(InputRequired::new().ask(
            "confirm",
            elicit(
                &format!("Delete {file}?"),
                json!({"type": "object", "properties": {"confirm": {"type": "boolean"}}, "required": ["confirm"]}),
            ),
        )),
    }
}

fn multi_input<'a>(_: &'a Map<String, Value>, ctx: &'a ToolContext<'a>) -> ToolFuture<'a> {
    if !ctx.in_task {
        return done(ToolResult::later(0, json!({})));
    }
    let name = accepted(ctx.input, "name").and_then(|c| c.get("name")).and_then(Value::as_str);
    let ok = accepted(ctx.input, "confirm").and_then(|c| c.get("confirm")).and_then(Value::as_bool);
    match (name, ok) {
        (Some(name), Some(ok)) => done(ToolResult::text(format!("name={name}, confirm={ok}"))),
        _ => ask(InputRequired::new()
            .ask("name", elicit("Your name?", name_schema()))
            .ask(
                "confirm",
                elicit(
                    "Confirm?",
                    json!({"type": "object", "properties": {"confirm": {"type": "boolean"}}, "required": ["confirm"]}),
                ),
            )),
    }
}

fn tool_with_task<'a>(_: &'a Map<String, Value>, ctx: &'a ToolContext<'a>) -> ToolFuture<'a> {
    if let Some(name) = ctx.state.and_then(|s| s.get("name")).and_then(Value::as_str) {
        return done(ToolResult::text(format!("Hello, {name}! (finished as a task)")));
    }
    match accepted(ctx.input, "user_name").and_then(|c| c.get("name")).and_then(Value::as_str) {
        Some(name) => done(ToolResult::later(0, json!({ "name": name }))),
        None => {
            ask(InputRequired::new().ask("user_name", elicit("What is your name?", name_schema())))
        }
    }
}
