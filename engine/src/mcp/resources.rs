//! Resources and resource templates served by every deployment.

use super::app_ui::{GET_TIME_HTML, GET_TIME_URI, MIME};
use serde_json::{json, Value};

pub const ABOUT_URI: &str = "mcp-edge://about";
const ABOUT_TEXT: &str = "mcp-edge: a remote MCP server on Cloudflare Workers that is its own OAuth 2.1 authorization server.\nTools: echo, get_vibe, get_time (with an MCP App), list_clients (admin).";
const ECHO_TEMPLATE: &str = "mcp-edge://echo/{message}";

pub fn list() -> Vec<Value> {
    vec![
        json!({ "uri": GET_TIME_URI, "name": "get-time-app", "title": "Current time (MCP App)",
                "description": "The interactive view of the get_time tool", "mimeType": MIME }),
        json!({ "uri": ABOUT_URI, "name": "about", "title": "About this server",
                "description": "What this server is and which tools it offers", "mimeType": "text/plain" }),
    ]
}

pub fn templates() -> Vec<Value> {
    vec![json!({ "uriTemplate": ECHO_TEMPLATE, "name": "echo", "title": "Echo",
                 "description": "Echoes the last path segment", "mimeType": "text/plain" })]
}

/// The contents of `uri`, or `None` when it names nothing here.
pub fn read(uri: &str) -> Option<Vec<Value>> {
    if uri == GET_TIME_URI {
        return Some(vec![json!({ "uri": uri, "mimeType": MIME, "text": GET_TIME_HTML,
            "_meta": { "ui": { "prefersBorder": true } } })]);
    }
    if uri == ABOUT_URI {
        return Some(vec![json!({ "uri": uri, "mimeType": "text/plain", "text": ABOUT_TEXT })]);
    }
    let message =
        uri.strip_prefix("mcp-edge://echo/").filter(|m| !m.is_empty() && !m.contains('/'))?;
    Some(vec![json!({ "uri": uri, "mimeType": "text/plain", "text": format!("Echo: {message}") })])
}
