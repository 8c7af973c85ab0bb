//! The rmcp [`ServerHandler`] serving [`crate::tools::catalog`] (and the `get_time` MCP App
//! view it points at). Tool definitions and results are the shared code's JSON, converted to
//! rmcp's model types with serde.
//!
//! Two protocol eras on one handler. A client that `initialize`s (up to 2025-11-25) gets the
//! results it always got. A request of 2026-07-28 (per-request `_meta`, after
//! `server/discover`) gets what that revision requires of every result: `resultType`, cache
//! hints (`ttlMs`, `cacheScope`) on lists and `resources/read`, and the server's identity in
//! `_meta`. rmcp removes `resultType: "complete"` for older peers and fills in missing cache
//! hints for newer ones, but never adds a missing `resultType`: a result deserialized from the
//! shared JSON (which has none) must be given one here.

use crate::tools;
use mcp_edge::mcp::app_ui::GET_TIME_URI;
use mcp_edge::mcp::resources;
use mcp_edge::mcp::tools::Tool;
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, DiscoverResult,
    Implementation, ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, MetaObject,
    PaginatedRequestParams, ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse,
    ReadResourceResult, ResultType, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, Peer, RoleServer, ServerHandler};
use serde_json::{json, Value};

pub const SERVER_NAME: &str = "mcp-edge-local";
pub const SERVER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// How long a 2026-07-28 client may reuse a `server/discover`, list or `resources/read` result:
/// what this binary serves changes only with a new binary (the worker uses the same value).
pub const CACHE_TTL_MS: u64 = 300_000;

/// The result `_meta` key naming the server (2026-07-28: SHOULD be on every result).
pub const SERVER_INFO_META: &str = "io.modelcontextprotocol/serverInfo";

const INSTRUCTIONS: &str = "Local tools: get_current_time (the local time in a city or IANA \
time zone), get_guid (a new random UUID v4), echo (repeats a message), get_time (the current \
UTC time).";

/// The stdio server: its tools, with their `tools/list` entries converted once.
pub struct LocalServer {
    tools: Vec<&'static Tool>,
    listed: Vec<rmcp::model::Tool>,
}

impl LocalServer {
    pub fn new() -> Result<LocalServer, String> {
        let tools = tools::catalog();
        let listed = tools
            .iter()
            .map(|t| {
                serde_json::from_value((t.definition)()).map_err(|e| {
                    format!("tool {}: definition is not a valid MCP Tool: {e}", t.name)
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(LocalServer { tools, listed })
    }

    fn tool(&self, name: &str) -> Option<&'static Tool> {
        self.tools.iter().copied().find(|t| t.name == name)
    }
}

fn implementation() -> Implementation {
    Implementation::new(SERVER_NAME, SERVER_VERSION).with_title("mcp-edge (local)")
}

/// Is this request answered under 2026-07-28 or later? The same test rmcp applies (the
/// version the request's own `_meta` names, else the one `initialize` negotiated), so this
/// agrees with when rmcp strips `resultType` for older peers and fills cache hints for newer.
fn is_modern(context: &RequestContext<RoleServer>) -> bool {
    context.protocol_version().is_some_and(|v| v >= ProtocolVersion::V_2026_07_28)
}

/// `_meta` of a 2026-07-28 result: whatever it had, plus the server's identity.
fn with_server_info(meta: Option<MetaObject>) -> Option<MetaObject> {
    let mut meta = meta.unwrap_or_default();
    meta.insert(SERVER_INFO_META.to_owned(), json!(implementation()));
    Some(meta)
}

/// A 2026-07-28 cacheable result's `resultType`, cache hints and `_meta`. Nothing this server
/// lists or reads depends on who asks, so any cache may share it.
macro_rules! modern_cacheable {
    ($result:expr) => {{
        let mut r = $result;
        r.result_type = Some(ResultType::COMPLETE);
        r.ttl_ms = Some(CACHE_TTL_MS);
        r.cache_scope = Some(CacheScope::Public);
        r.meta = with_server_info(r.meta.take());
        r
    }};
}

impl ServerHandler for LocalServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_resources().build())
            .with_server_info(implementation())
            .with_instructions(INSTRUCTIONS)
    }

    /// rmcp's answer (every version rmcp knows, capabilities and instructions from
    /// [`Self::get_info`], the server in `_meta`) with this server's cache hints.
    async fn discover(
        &self,
        _context: RequestContext<RoleServer>,
    ) -> Result<DiscoverResult, McpError> {
        let versions = ServerHandler::supported_protocol_versions(self).into_owned();
        Ok(DiscoverResult::from_server_info(versions, self.get_info())
            .with_ttl_ms(CACHE_TTL_MS)
            .with_cache_scope(CacheScope::Public))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let result = ListToolsResult::with_all_items(self.listed.clone());
        Ok(if is_modern(&context) { modern_cacheable!(result) } else { result })
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let modern = is_modern(&context);
        // Unknown tool is a protocol error (-32602), as in the worker; everything a tool
        // reports itself (missing argument, unknown city) is an `isError` result.
        let tool = self.tool(&request.name).ok_or_else(|| {
            McpError::invalid_params(format!("Unknown tool: {}", request.name), None)
        })?;
        let args = request.arguments.unwrap_or_default();
        let token = context.meta.get_progress_token().and_then(|t| serde_json::to_value(t).ok());
        let now = unix_now();
        let (result, emitted) =
            tokio::task::spawn_blocking(move || tools::run(tool, &args, now, token.as_ref()))
                .await
                .map_err(|e| {
                    McpError::internal_error(format!("{} failed: {e}", tool.name), None)
                })?;
        for (method, params) in emitted {
            forward(&context.peer, &method, params).await;
        }
        let mut result: CallToolResult = serde_json::from_value(result).map_err(|e| {
            McpError::internal_error(format!("{} returned an invalid result: {e}", tool.name), None)
        })?;
        // The shared JSON has no `resultType`, so serde leaves it absent, and a 2026-07-28
        // client rejects the result. Set it as rmcp's constructors do; rmcp removes it again
        // for peers of earlier versions.
        result.result_type = Some(ResultType::COMPLETE);
        if modern {
            result.meta = with_server_info(result.meta.take());
        }
        Ok(result.into())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        // Only the get_time view: the worker's other resources describe the worker.
        let list = resources::list().into_iter().filter(|r| r["uri"] == GET_TIME_URI).collect();
        let result = ListResourcesResult::with_all_items(from_json(Value::Array(list))?);
        Ok(if is_modern(&context) { modern_cacheable!(result) } else { result })
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        let result = ListResourceTemplatesResult::with_all_items(Vec::new());
        Ok(if is_modern(&context) { modern_cacheable!(result) } else { result })
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        match resources::read(&request.uri).filter(|_| request.uri == GET_TIME_URI) {
            Some(contents) => {
                let result = ReadResourceResult::new(from_json(Value::Array(contents))?);
                Ok(if is_modern(&context) { modern_cacheable!(result) } else { result }.into())
            }
            None => Err(McpError::resource_not_found(
                "Resource not found",
                Some(json!({ "uri": request.uri })),
            )),
        }
    }
}

fn from_json<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, McpError> {
    serde_json::from_value(value).map_err(|e| McpError::internal_error(e.to_string(), None))
}

/// Sends a notification a tool emitted (progress, log message) to the client.
// `notifications/message` is deprecated from protocol 2026-07-28 (SEP-2577) but is what the
// versions hosts negotiate today carry; the shared tools may emit it.
#[allow(deprecated)]
async fn forward(peer: &Peer<RoleServer>, method: &str, params: Value) {
    let sent = match method {
        "notifications/progress" => match serde_json::from_value(params) {
            Ok(p) => peer.notify_progress(p).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        },
        "notifications/message" => match serde_json::from_value(params) {
            Ok(p) => peer.notify_logging_message(p).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        },
        _ => Err("not supported on stdio".to_owned()),
    };
    if let Err(e) = sent {
        eprintln!("local-stdio: dropped {method} notification: {e}");
    }
}

/// Unix seconds now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
