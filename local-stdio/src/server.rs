//! The rmcp [`ServerHandler`] serving [`crate::tools::catalog`] (and the `get_time` MCP App
//! view it points at). Tool definitions and results are the shared code's JSON, converted to
//! rmcp's model types with serde.

use crate::tools;
use mcp_edge::mcp::app_ui::GET_TIME_URI;
use mcp_edge::mcp::resources;
use mcp_edge::mcp::tools::Tool;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, Implementation, ListResourcesResult,
    ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse,
    ReadResourceResult, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, Peer, RoleServer, ServerHandler};
use serde_json::{json, Value};

pub const SERVER_NAME: &str = "mcp-edge-local";
pub const SERVER_VERSION: &str = env!("CARGO_PKG_VERSION");

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

impl ServerHandler for LocalServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_resources().build())
            .with_server_info(
                Implementation::new(SERVER_NAME, SERVER_VERSION).with_title("mcp-edge (local)"),
            )
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.listed.clone()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
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
        let result: CallToolResult = serde_json::from_value(result).map_err(|e| {
            McpError::internal_error(format!("{} returned an invalid result: {e}", tool.name), None)
        })?;
        Ok(result.into())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        // Only the get_time view: the worker's other resources describe the worker.
        let list = resources::list().into_iter().filter(|r| r["uri"] == GET_TIME_URI).collect();
        let list = from_json(Value::Array(list))?;
        Ok(ListResourcesResult::with_all_items(list))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        match resources::read(&request.uri).filter(|_| request.uri == GET_TIME_URI) {
            Some(contents) => {
                Ok(ReadResourceResult::new(from_json(Value::Array(contents))?).into())
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
