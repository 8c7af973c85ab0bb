//! The conformance fixtures when the `conformance` feature is off (every production build):
//! none. The same items as `fixtures.rs`, empty, so the dispatcher needs no `cfg` of its own
//! and no fixture name or handler is compiled into the bundle.

use super::mrtr::InputRequired;
use super::tools::Tool;
use serde_json::{Map, Value};

/// No fixture tools.
pub const TOOLS: &[Tool] = &[];
/// No fixture tools of the 2026-07-28 set.
pub const MODERN_TOOLS: &[Tool] = &[];

/// No multi-round-trip prompt fixture.
pub fn is_mrtr_prompt(_name: &str) -> bool {
    false
}

/// Never called ([`is_mrtr_prompt`] is false).
pub fn mrtr_prompt(_input: Option<&Map<String, Value>>) -> Result<Value, InputRequired> {
    Ok(Value::Null)
}

/// No fixture resources.
pub fn resources() -> Vec<Value> {
    Vec::new()
}

/// No fixture resource templates.
pub fn templates() -> Vec<Value> {
    Vec::new()
}

/// No fixture resource to read.
pub fn read(_uri: &str) -> Option<Vec<Value>> {
    None
}

/// No fixture prompts.
pub fn prompts() -> Vec<Value> {
    Vec::new()
}

/// No fixture prompt to get.
pub fn get_prompt(_name: &str, _args: &Map<String, Value>) -> Result<Option<Value>, String> {
    Ok(None)
}
