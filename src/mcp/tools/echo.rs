//! `echo`: returns its message. The smallest complete tool, and the benchmark's hot path.

use super::{string_arg, TaskSupport, Tool, ToolContext, ToolFuture, ToolResult};
use serde_json::{Map, Value};

pub(super) const TOOL: Tool =
    Tool { name: "echo", definition, scope: None, task: TaskSupport::Forbidden, call };

fn definition() -> Value {
    super::parse_static(
        r#"{"name": "echo", "title": "Echo", "description": "Echoes the message back, prefixed with \"Echo: \".", "inputSchema": {"type": "object", "properties": {"message": {"type": "string", "description": "Text to echo back"}}, "required": ["message"]}, "annotations": {"readOnlyHint": true, "destructiveHint": false, "idempotentHint": true, "openWorldHint": false}}"#,
    )
}

fn call<'a>(args: &'a Map<String, Value>, _ctx: &'a ToolContext<'a>) -> ToolFuture<'a> {
    Box::pin(async move {
        match string_arg(args, "message") {
            Ok(message) => ToolResult::text(format!("Echo: {message}")),
            Err(e) => e,
        }
    })
}
