//! `echo`: returns its message. The smallest complete tool, and the benchmark's hot path.

use mcp_edge::mcp::tools::{Annotations, ToolContext, ToolError, TypedTool};
use schemars::JsonSchema;
use serde::Deserialize;

/// The `echo` tool.
pub struct Echo;

/// `echo`'s arguments.
#[derive(Deserialize, JsonSchema)]
pub struct Args {
    /// Text to echo back
    pub message: String,
}

impl TypedTool for Echo {
    const NAME: &'static str = "echo";
    const TITLE: Option<&'static str> = Some("Echo");
    const DESCRIPTION: &'static str = "Echoes the message back, prefixed with \"Echo: \".";
    const ANNOTATIONS: Annotations =
        Annotations { idempotent: Some(true), ..Annotations::READ_ONLY };
    type Args = Args;
    type Output = String;

    async fn call(args: Args, _ctx: &ToolContext<'_>) -> Result<String, ToolError> {
        Ok(format!("Echo: {}", args.message))
    }
}
