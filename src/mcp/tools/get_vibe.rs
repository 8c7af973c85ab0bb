//! `get_vibe`: greets the signed-in user by name, so a client can see whose token it holds.
//! Without a location it asks for one by elicitation when the client can answer (2026-07-28
//! multi-round trip), and otherwise answers for "where you are" without asking.

use super::{TaskSupport, Tool, ToolContext, ToolFuture, ToolResult};
use crate::mcp::mrtr::{accepted, elicit, InputRequired};
use serde_json::{json, Map, Value};

pub(super) const TOOL: Tool =
    Tool { name: "get_vibe", definition, scope: None, task: TaskSupport::Forbidden, call };

fn definition() -> Value {
    super::parse_static(
        r#"{"name": "get_vibe", "title": "Get vibe", "description": "Tells the signed-in user the vibe of a location (asks for one if none is given and the client can answer).", "inputSchema": {"type": "object", "properties": {"location": {"type": "string", "description": "A place, e.g. Berlin"}}}, "annotations": {"readOnlyHint": true, "destructiveHint": false, "openWorldHint": false}}"#,
    )
}

/// The key of the elicitation that asks for a location.
const ASK: &str = "location";

fn call<'a>(args: &'a Map<String, Value>, ctx: &'a ToolContext<'a>) -> ToolFuture<'a> {
    Box::pin(async move {
        let Some(who) = ctx.identity else {
            return ToolResult::error(
                "No user is signed in: get_vibe needs an authenticated session.",
            );
        };
        let name = who.name.as_deref().unwrap_or(&who.sub);
        let given = match args.get("location") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim()),
            Some(_) => return ToolResult::error("Argument `location` must be a non-empty string."),
        };
        let answered = accepted(ctx.input, ASK)
            .and_then(|c| c.get("location"))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|l| !l.is_empty());
        match given.or(answered) {
            Some(location) => ToolResult::text(format!("Curious vibes for {name} in {location}.")),
            // Asked before and declined or cancelled: answer without a place.
            None if ctx.input.is_some_and(|i| i.contains_key(ASK)) || !ctx.can_ask("elicitation/create") => {
                ToolResult::text(format!("Curious vibes for {name}, wherever you are."))
            }
            None => ToolResult::input_required(InputRequired::new().ask(
                ASK,
                elicit(
                    "Which place should I check the vibe of?",
                    json!({"type": "object", "properties": {"location": {"type": "string", "title": "Location", "description": "A city or place"}}, "required": ["location"]}),
                ),
            )),
        }
    })
}
