//! The stdio server's tools: the worker's sign-in-free tools (`echo`, `get_time`, the very same
//! typed definitions, from the worker crate) plus two that only make sense locally.
//! All four are [`Tool`]s, so one dispatch path serves them.

use crate::city::{self, Place};
use jiff::{tz, Timestamp};
use mcp_edge::mcp::tools::{
    parse_args, Annotations, Json, Need, NoArgs, Tool, ToolContext, ToolError, ToolOutput,
    ToolResult, TypedTool,
};
use mcp_edge_worker::tools::{echo::Echo, get_time::GetTime};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::cell::RefCell;

/// `get_current_time`: the local time in a city.
pub const GET_CURRENT_TIME: Tool = Tool::typed::<GetCurrentTime>();

/// `get_guid`: a new random UUID v4.
pub const GET_GUID: Tool = Tool::typed::<GetGuid>();

/// The worker's tools that need neither sign-in nor storage, and the two of the stdio server.
const TOOLS: &[Tool] =
    &[Tool::typed::<Echo>(), Tool::typed::<GetTime>(), GET_CURRENT_TIME, GET_GUID];

/// Every tool the stdio server serves, in `tools/list` order.
pub fn catalog() -> Vec<&'static Tool> {
    TOOLS.iter().collect()
}

/// Runs `tool` to completion on the current thread and returns its `CallToolResult` JSON and
/// the notifications (method, params) it emitted, in order.
///
/// The shared tools' futures are not `Send` (their context borrows the worker's single-threaded
/// store), and none of the sign-in-free ones waits on I/O, so they are driven by a plain
/// executor; the caller runs this off the async runtime.
pub fn run(
    tool: &Tool,
    args: &Map<String, Value>,
    now: u64,
    progress_token: Option<&Value>,
) -> (Value, Vec<(String, Value)>) {
    let emitted = RefCell::new(Vec::new());
    let result = {
        let notify = |method: &str, params: Value| {
            emitted.borrow_mut().push((method.to_owned(), params));
        };
        // A tool that continues later (long work in steps) runs its steps back to back here.
        let mut state = None;
        let mut steps = 0;
        loop {
            let mut ctx = ToolContext::simple(None, None, now, &notify);
            ctx.progress_token = progress_token;
            ctx.state = state.as_ref();
            let result = futures::executor::block_on((tool.call)(args, &ctx));
            match result.need {
                Some(Need::Later { state: next, .. }) if steps < 20 => {
                    state = Some(next);
                    steps += 1;
                }
                Some(Need::Later { .. }) => {
                    break ToolResult::error("the tool did not finish in 20 steps")
                }
                Some(Need::Failure(message)) => break ToolResult::error(message),
                _ => break result,
            }
        }
    };
    (result.to_json(), emitted.into_inner())
}

/// The `get_current_time` tool.
pub struct GetCurrentTime;

/// `get_current_time`'s arguments.
#[derive(Deserialize, JsonSchema)]
pub struct CityArgs {
    /// A city name ("Tokyo", "San Francisco") or an IANA time zone ("Asia/Tokyo")
    pub city: String,
}

/// The local time at a place, as structured content.
#[derive(Serialize, JsonSchema)]
pub struct CurrentTime {
    /// The city the query resolved to
    pub city: String,
    /// IANA time zone name
    pub timezone: String,
    /// Local time, ISO 8601 with UTC offset
    pub datetime: String,
    /// e.g. +09:00
    pub utc_offset: String,
    /// e.g. JST
    pub abbreviation: String,
    /// Whether daylight saving time is in effect
    pub is_dst: bool,
    /// e.g. Wednesday
    pub day_of_week: String,
}

impl TypedTool for GetCurrentTime {
    const NAME: &'static str = "get_current_time";
    const TITLE: Option<&'static str> = Some("Get current time in a city");
    const DESCRIPTION: &'static str = "Returns the current local time in a city or IANA time zone, e.g. \"Tokyo\", \"New York\", \"São Paulo\" or \"Europe/Paris\".";
    const ANNOTATIONS: Annotations =
        Annotations { idempotent: Some(false), ..Annotations::READ_ONLY };
    type Args = CityArgs;
    type Output = Json<CurrentTime>;

    async fn call(args: CityArgs, ctx: &ToolContext<'_>) -> Result<Json<CurrentTime>, ToolError> {
        local_time(&args.city, ctx.now)
    }
}

fn local_time(query: &str, now: u64) -> Result<Json<CurrentTime>, ToolError> {
    let place = city::resolve(query).map_err(|s| city::unknown_message(query, &s))?;
    let t = LocalTime::at(&place, now)?;
    Ok(Json::new(t.structured()).with_text(t.sentence()))
}

/// The `get_current_time` result for `args` at Unix second `now` (the CLI's `time` command).
pub fn current_time(args: &Map<String, Value>, now: u64) -> ToolResult {
    let result = parse_args::<CityArgs>(args)
        .map_err(ToolError::Tool)
        .and_then(|a| local_time(&a.city, now));
    match result {
        Ok(out) => out.into_result(),
        Err(ToolError::Tool(message)) => ToolResult::error(message),
        Err(other) => ToolResult::error(format!("{other:?}")),
    }
}

/// The wall-clock time at a place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalTime {
    pub place: Place,
    pub datetime: String,
    pub utc_offset: String,
    pub abbreviation: String,
    pub is_dst: bool,
    pub day_of_week: String,
    clock: String,
    date: String,
}

impl LocalTime {
    pub fn at(place: &Place, now: u64) -> Result<LocalTime, String> {
        let zone = tz::db()
            .get(&place.zone)
            .map_err(|e| format!("time zone {} is unavailable: {e}", place.zone))?;
        let secs = i64::try_from(now).map_err(|e| e.to_string())?;
        let ts = Timestamp::from_second(secs).map_err(|e| e.to_string())?;
        let info = zone.to_offset_info(ts);
        let zoned = ts.to_zoned_datetime(zone.clone());
        Ok(LocalTime {
            place: place.clone(),
            datetime: zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
            utc_offset: zoned.strftime("%:z").to_string(),
            abbreviation: info.abbreviation().to_owned(),
            is_dst: info.dst().is_dst(),
            day_of_week: zoned.strftime("%A").to_string(),
            clock: zoned.strftime("%H:%M:%S").to_string(),
            date: zoned.strftime("%A %-d %B %Y").to_string(),
        })
    }

    /// `It is 14:05:09 on Friday 1 May 2026 in Tokyo (Asia/Tokyo, JST, UTC+09:00).`
    pub fn sentence(&self) -> String {
        let abbreviation = if self.abbreviation.starts_with(['+', '-']) {
            String::new() // tzdb writes "+03" where there is no common abbreviation
        } else {
            format!("{}, ", self.abbreviation)
        };
        format!(
            "It is {} on {} in {} ({}, {abbreviation}UTC{}).",
            self.clock, self.date, self.place.name, self.place.zone, self.utc_offset
        )
    }

    pub fn structured(&self) -> CurrentTime {
        CurrentTime {
            city: self.place.name.clone(),
            timezone: self.place.zone.clone(),
            datetime: self.datetime.clone(),
            utc_offset: self.utc_offset.clone(),
            abbreviation: self.abbreviation.clone(),
            is_dst: self.is_dst,
            day_of_week: self.day_of_week.clone(),
        }
    }
}

/// The `get_guid` tool.
pub struct GetGuid;

/// A fresh GUID, as structured content.
#[derive(Serialize, JsonSchema)]
pub struct Guid {
    /// A random UUID, version 4
    #[schemars(extend("format" = "uuid"))]
    pub guid: String,
}

impl TypedTool for GetGuid {
    const NAME: &'static str = "get_guid";
    const TITLE: Option<&'static str> = Some("Get GUID");
    const DESCRIPTION: &'static str =
        "Returns a new random GUID (UUID version 4), e.g. 0b4ac3f2-6c1e-4b8f-9d3a-2f5e7c1a9b04.";
    const ANNOTATIONS: Annotations =
        Annotations { idempotent: Some(false), ..Annotations::READ_ONLY };
    type Args = NoArgs;
    type Output = Json<Guid>;

    async fn call(_args: NoArgs, _ctx: &ToolContext<'_>) -> Result<Json<Guid>, ToolError> {
        Ok(new_guid())
    }
}

/// The `get_guid` result: a fresh UUID v4 as text and structured content.
pub fn guid() -> ToolResult {
    new_guid().into_result()
}

fn new_guid() -> Json<Guid> {
    let guid = uuid::Uuid::new_v4().to_string();
    Json::new(Guid { guid: guid.clone() }).with_text(guid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: u64 = 1_795_000_000; // 2026-11-18T11:06:40Z

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn catalog_is_shared_plus_local() {
        let names: Vec<&str> = catalog().iter().map(|t| t.name).collect();
        assert_eq!(names, ["echo", "get_time", "get_current_time", "get_guid"]);
        for t in catalog() {
            assert_eq!((t.definition)()["name"], t.name);
            assert!(t.scopes.is_empty());
        }
    }

    #[test]
    fn current_time_in_tokyo_and_new_york() {
        let r = current_time(&args(json!({"city": "Tokyo"})), NOW);
        assert!(!r.is_error);
        assert_eq!(
            r.structured,
            Some(json!({
                "city": "Tokyo", "timezone": "Asia/Tokyo", "datetime": "2026-11-18T20:06:40+09:00",
                "utc_offset": "+09:00", "abbreviation": "JST", "is_dst": false, "day_of_week": "Wednesday"
            }))
        );
        assert_eq!(
            r.content[0]["text"],
            "It is 20:06:40 on Wednesday 18 November 2026 in Tokyo (Asia/Tokyo, JST, UTC+09:00)."
        );
        let r = current_time(&args(json!({"city": "new york"})), NOW);
        let s = r.structured.unwrap_or_default();
        assert_eq!(s["datetime"], "2026-11-18T06:06:40-05:00");
        assert_eq!(s["abbreviation"], "EST");
        // July: daylight saving time.
        let r = current_time(&args(json!({"city": "New York"})), 1_783_000_000);
        let s = r.structured.unwrap_or_default();
        assert_eq!((s["utc_offset"].as_str(), s["is_dst"].as_bool()), (Some("-04:00"), Some(true)));
    }

    #[test]
    fn zones_without_an_abbreviation_read_well() {
        let r = current_time(&args(json!({"city": "São Paulo"})), NOW);
        let text = r.content[0]["text"].as_str().unwrap_or_default().to_owned();
        assert!(text.ends_with("in São Paulo (America/Sao_Paulo, UTC-03:00)."), "{text}");
    }

    #[test]
    fn current_time_errors() {
        let r = current_time(&args(json!({"city": "Tokio"})), NOW);
        assert!(r.is_error);
        assert!(r.content[0]["text"].as_str().unwrap_or_default().contains("Tokyo (Asia/Tokyo)"));
        let r = current_time(&args(json!({})), NOW);
        assert!(r.is_error);
        assert_eq!(r.content[0]["text"], "Invalid arguments: missing field `city`.");
        let r = current_time(&args(json!({"city": 3})), NOW);
        assert!(r.is_error);
    }

    #[test]
    fn guids_are_fresh_v4() {
        let a =
            guid().structured.unwrap_or_default()["guid"].as_str().unwrap_or_default().to_owned();
        let b =
            guid().structured.unwrap_or_default()["guid"].as_str().unwrap_or_default().to_owned();
        assert_ne!(a, b);
        let u = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(u.get_version_num(), 4);
    }

    #[test]
    fn run_drives_shared_tools_and_collects_notifications() {
        let echo = TOOLS.iter().find(|t| t.name == "echo").unwrap();
        let (r, notes) = run(echo, &args(json!({"message": "hi"})), NOW, None);
        assert_eq!(r["content"][0]["text"], "Echo: hi");
        assert!(notes.is_empty());
        let get_time = TOOLS.iter().find(|t| t.name == "get_time").unwrap();
        let (r, _) = run(get_time, &Map::new(), NOW, Some(&json!("p")));
        assert_eq!(r["structuredContent"]["utc"], "2026-11-18T11:06:40Z");
    }
}
