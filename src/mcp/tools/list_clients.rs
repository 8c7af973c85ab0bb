//! `list_clients` (admin scope): the registered OAuth clients, for the operator.

use super::{Tool, ToolContext, ToolFuture, ToolResult};
use crate::store::get_json;
use crate::store::records::{ClientRecord, CLIENT_PREFIX};
use serde_json::{json, Map, Value};

pub(super) const TOOL: Tool =
    Tool { name: "list_clients", definition, scope: Some(crate::config::SCOPE_ADMIN), call };

/// Listing stops here; the result says when there were more.
const MAX_LISTED: usize = 200;

fn definition() -> Value {
    super::parse_static(
        r#"{"name": "list_clients", "title": "List OAuth clients", "description": "Lists dynamically registered OAuth clients (id, name, redirect hosts, created). Requires the admin scope.", "inputSchema": {"type": "object", "properties": {}}, "annotations": {"readOnlyHint": true, "destructiveHint": false, "openWorldHint": false}}"#,
    )
}

fn call<'a>(_args: &'a Map<String, Value>, ctx: &'a ToolContext<'a>) -> ToolFuture<'a> {
    Box::pin(async move {
        let Some(store) = ctx.store else {
            return ToolResult::error(
                "list_clients needs the worker's storage; it is not available here.",
            );
        };
        let mut clients = Vec::new();
        let mut cursor: Option<String> = None;
        let mut truncated = false;
        loop {
            let page = match store.list(CLIENT_PREFIX, 100, cursor.as_deref()).await {
                Ok(p) => p,
                Err(e) => return ToolResult::error(format!("Could not read clients: {e}")),
            };
            for key in &page.keys {
                if clients.len() >= MAX_LISTED {
                    truncated = true;
                    break;
                }
                if let Ok(Some(c)) = get_json::<ClientRecord>(store, key).await {
                    clients.push(json!({
                        "client_id": c.client_id,
                        "client_name": c.client_name,
                        "redirect_hosts": c.redirect_hosts(),
                        "created": super::format_utc(c.created_at),
                    }));
                }
            }
            match page.cursor {
                Some(c) if !truncated => cursor = Some(c),
                _ => break,
            }
        }
        let mut text = format!("{} registered client(s)", clients.len());
        if truncated {
            text.push_str(&format!(" (first {MAX_LISTED} shown)"));
        }
        for c in &clients {
            text.push_str(&format!(
                "\n- {} ({}) → {}",
                c["client_name"].as_str().unwrap_or("unnamed"),
                c["client_id"].as_str().unwrap_or(""),
                c["redirect_hosts"]
            ));
        }
        ToolResult::text(text)
            .with_structured(json!({ "clients": clients, "truncated": truncated }))
    })
}
