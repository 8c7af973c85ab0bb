//! `get_vibe`: greets the signed-in user by name, so a client can see whose token it holds.

use super::{string_arg, Tool, ToolContext, ToolFuture, ToolResult};
use serde_json::{Map, Value};

pub(super) const TOOL: Tool = Tool { name: "get_vibe", definition, scope: None, call };

fn definition() -> Value {
    super::parse_static(
        r#"{"name": "get_vibe", "title": "Get vibe", "description": "Tells the signed-in user the vibe of a location.", "inputSchema": {"type": "object", "properties": {"location": {"type": "string", "description": "A place, e.g. Berlin"}}, "required": ["location"]}, "annotations": {"readOnlyHint": true, "openWorldHint": false}}"#,
    )
}

fn call<'a>(args: &'a Map<String, Value>, ctx: &'a ToolContext<'a>) -> ToolFuture<'a> {
    Box::pin(async move {
        let location = match string_arg(args, "location") {
            Ok(l) => l,
            Err(e) => return e,
        };
        match ctx.identity {
            Some(who) => {
                let name = who.name.as_deref().unwrap_or(&who.sub);
                ToolResult::text(format!("Curious vibes for {name} in {location}."))
            }
            None => {
                ToolResult::error("No user is signed in: get_vibe needs an authenticated session.")
            }
        }
    })
}
