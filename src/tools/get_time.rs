//! `get_time`: the current UTC time, as text and structured content, with an MCP App UI
//! (SEP-1865) that hosts supporting the extension render from `ui://get-time/mcp-app.html`.

use mcp_edge::mcp::tools::{
    format_utc, Annotations, Json, NoArgs, ToolContext, ToolError, TypedTool,
};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{json, Value};

/// The `get_time` tool.
pub struct GetTime;

/// `get_time`'s result.
#[derive(Serialize, JsonSchema)]
pub struct Time {
    /// ISO 8601 UTC timestamp
    pub utc: String,
    /// Seconds since the Unix epoch
    pub unix: u64,
}

impl TypedTool for GetTime {
    const NAME: &'static str = "get_time";
    const TITLE: Option<&'static str> = Some("Get time");
    const DESCRIPTION: &'static str = "Returns the current time in UTC (ISO 8601).";
    const ANNOTATIONS: Annotations =
        Annotations { idempotent: Some(false), ..Annotations::READ_ONLY };
    type Args = NoArgs;
    type Output = Json<Time>;

    /// `_meta.ui.resourceUri` links the MCP App (`ui/resourceUri` is the older key some hosts
    /// read, `openai/outputTemplate` ChatGPT's); the view loads nothing from elsewhere (CSP in
    /// both spellings: `ui.csp` and `openai/widgetCSP`).
    fn extra() -> Option<Value> {
        Some(json!({ "_meta": {
            "ui": { "resourceUri": "ui://get-time/mcp-app.html", "csp": { "connectDomains": [], "resourceDomains": [] } },
            "ui/resourceUri": "ui://get-time/mcp-app.html",
            "openai/outputTemplate": "ui://get-time/mcp-app.html",
            "openai/widgetCSP": { "connect_domains": [], "resource_domains": [] }
        }}))
    }

    async fn call(_args: NoArgs, ctx: &ToolContext<'_>) -> Result<Json<Time>, ToolError> {
        let utc = format_utc(ctx.now);
        let text = format!("The current UTC time is {utc}.");
        Ok(Json::new(Time { utc, unix: ctx.now }).with_text(text))
    }
}
