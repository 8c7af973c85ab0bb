//! `list_clients` (admin scope): the registered OAuth clients, for the operator. The engine's
//! own tool, because it reads the authorization server's records, which deployers' tools cannot
//! reach; a catalogue lists [`TOOL`] to serve it.

use super::{
    Annotations, NoArgs, TaskSupport, Tool, ToolContext, ToolError, ToolResult, TypedTool,
};
use crate::store::get_json;
use crate::store::records::{ClientRecord, CLIENT_PREFIX};
use serde_json::{json, Value};

/// The catalogue entry.
pub const TOOL: Tool = Tool::typed::<ListClients>();

/// The `list_clients` tool.
pub struct ListClients;

impl TypedTool for ListClients {
    const NAME: &'static str = "list_clients";
    const TITLE: Option<&'static str> = Some("List OAuth clients");
    const DESCRIPTION: &'static str = "Lists dynamically registered OAuth clients (id, name, redirect hosts, created). Requires the admin scope. With a client that supports tasks it runs as a task, a page per step, so deployments with thousands of clients list them all.";
    const SCOPES: &'static [&'static str] = &[crate::config::SCOPE_ADMIN];
    const TASK: TaskSupport = TaskSupport::Optional;
    const ANNOTATIONS: Annotations = Annotations::READ_ONLY;
    type Args = NoArgs;
    /// A hand-built result: it may continue later (a task), a page per step.
    type Output = ToolResult;

    async fn call(_args: NoArgs, ctx: &ToolContext<'_>) -> Result<ToolResult, ToolError> {
        Ok(list(ctx).await)
    }
}

/// Listing stops here within one request; the result says when there were more.
const MAX_LISTED: usize = 200;
/// As a task, the list goes on to here, one page per step.
const MAX_LISTED_AS_TASK: usize = 5000;
/// Clients read per task step: one KV list and this many reads stay within the Workers Free
/// plan's 50 subrequests per request.
const PAGE: usize = 40;

/// Where a listing that runs as a task is between steps.
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct Progress {
    cursor: Option<String>,
    clients: Vec<Value>,
}

async fn list(ctx: &ToolContext<'_>) -> ToolResult {
    let Some(store) = ctx.store else {
        return ToolResult::error(
            "list_clients needs the worker's storage; it is not available here.",
        );
    };
    let can_poll = ctx.client.is_some_and(|c| c.tasks);
    if !ctx.in_task {
        if can_poll {
            // Thousands of clients take more reads than one request may make: a task.
            return ToolResult::later(0, json!(Progress::default()));
        }
        return match read(store, None, MAX_LISTED, 100, true).await {
            Ok((clients, _, truncated)) => report(&clients, truncated, MAX_LISTED),
            Err(e) => e,
        };
    }
    let mut progress: Progress =
        ctx.state.and_then(|s| serde_json::from_value(s.clone()).ok()).unwrap_or_default();
    let room = MAX_LISTED_AS_TASK.saturating_sub(progress.clients.len());
    match read(store, progress.cursor.as_deref(), room.min(PAGE), PAGE, false).await {
        Ok((mut page, next, _)) => {
            progress.clients.append(&mut page);
            match next {
                // The next page in the next request (1 ms: not due within this one).
                Some(cursor) if progress.clients.len() < MAX_LISTED_AS_TASK => {
                    progress.cursor = Some(cursor);
                    ToolResult::later(1, json!(progress))
                }
                more => report(&progress.clients, more.is_some(), MAX_LISTED_AS_TASK),
            }
        }
        Err(e) => e,
    }
}

/// Reads up to `max` clients from `cursor` in pages of `page`; with `all`, page after page.
/// The clients, the cursor after them, and whether some were left out.
async fn read(
    store: &dyn crate::store::Store,
    mut cursor: Option<&str>,
    max: usize,
    page: usize,
    all: bool,
) -> Result<(Vec<Value>, Option<String>, bool), ToolResult> {
    let mut clients = Vec::new();
    let mut owned: Option<String>;
    loop {
        let listed = store
            .list(CLIENT_PREFIX, page, cursor)
            .await
            .map_err(|e| ToolResult::error(format!("Could not read clients: {e}")))?;
        for key in &listed.keys {
            if clients.len() >= max {
                return Ok((clients, listed.cursor, true));
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
        match listed.cursor {
            Some(next) if all => {
                owned = Some(next);
                cursor = owned.as_deref();
            }
            next => return Ok((clients, next, false)),
        }
    }
}

fn report(clients: &[Value], truncated: bool, cap: usize) -> ToolResult {
    let mut text = format!("{} registered client(s)", clients.len());
    if truncated {
        text.push_str(&format!(" (first {cap} shown)"));
    }
    for c in clients {
        text.push_str(&format!(
            "\n- {} ({}) → {}",
            c["client_name"].as_str().unwrap_or("unnamed"),
            c["client_id"].as_str().unwrap_or(""),
            c["redirect_hosts"]
        ));
    }
    ToolResult::text(text).with_structured(json!({ "clients": clients, "truncated": truncated }))
}
