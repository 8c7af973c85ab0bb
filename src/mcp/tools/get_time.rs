//! `get_time`: the current UTC time, as text and structured content, with an MCP App UI
//! (SEP-1865) that hosts supporting the extension render from `ui://get-time/mcp-app.html`.

use super::{TaskSupport, Tool, ToolContext, ToolFuture, ToolResult};
use serde_json::{json, Map, Value};

pub(super) const TOOL: Tool =
    Tool { name: "get_time", definition, scope: None, task: TaskSupport::Forbidden, call };

fn definition() -> Value {
    // `_meta.ui.resourceUri` links the MCP App (`ui/resourceUri` is the older key some hosts read,
    // `openai/outputTemplate` ChatGPT's); the view loads nothing from elsewhere (CSP in both
    // spellings: `ui.csp` and `openai/widgetCSP`).
    super::parse_static(
        r#"{"name":"get_time","title":"Get time","description":"Returns the current time in UTC (ISO 8601).",
        "inputSchema":{"type":"object","properties":{}},
        "outputSchema":{"type":"object","properties":{"utc":{"type":"string","description":"ISO 8601 UTC timestamp"},"unix":{"type":"integer"}},"required":["utc","unix"]},
        "annotations":{"readOnlyHint":true,"destructiveHint":false,"idempotentHint":false,"openWorldHint":false},
        "_meta":{"ui":{"resourceUri":"ui://get-time/mcp-app.html","csp":{"connectDomains":[],"resourceDomains":[]}},"ui/resourceUri":"ui://get-time/mcp-app.html",
        "openai/outputTemplate":"ui://get-time/mcp-app.html","openai/widgetCSP":{"connect_domains":[],"resource_domains":[]}}}"#,
    )
}

fn call<'a>(_args: &'a Map<String, Value>, ctx: &'a ToolContext<'a>) -> ToolFuture<'a> {
    Box::pin(async move {
        let utc = format_utc(ctx.now);
        ToolResult::text(format!("The current UTC time is {utc}."))
            .with_structured(json!({ "utc": utc, "unix": ctx.now }))
    })
}

/// `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds (proleptic Gregorian, no leap seconds).
pub fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-from-civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::format_utc;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_utc(1_795_000_000), "2026-11-18T11:06:40Z");
    }
}
