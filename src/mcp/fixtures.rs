//! The conformance suite's fixture tools, resources and prompts (names and values as the
//! `@modelcontextprotocol/conformance` scenarios expect). Served only in the `conformance`
//! environment.

use super::tools::{parse_static, Tool, ToolContext, ToolFuture, ToolResult};
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
            scope: None,
            call: $body,
        }
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
        "Would ask the client to sample (needs server-to-client requests)",
        r#"{"type":"object","properties":{"prompt":{"type":"string"}},"required":["prompt"]}"#,
        |_, _| {
            done(ToolResult::error(
                "Sampling needs server-to-client requests, which this server does not send yet.",
            ))
        }
    ),
    fixture_tool!(
        "test_elicitation",
        "Would elicit input (needs server-to-client requests)",
        r#"{"type":"object","properties":{"message":{"type":"string"}},"required":["message"]}"#,
        |_, _| {
            done(ToolResult::error(
                "Elicitation needs server-to-client requests, which this server does not send yet.",
            ))
        }
    ),
];

fn content(items: Vec<Value>) -> ToolResult {
    ToolResult { content: items, structured: None, is_error: false }
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
        {"name":"test_prompt_with_image","description":"A prompt with an image"}]"#,
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
