//! Prompts, and argument completion for them.

use serde_json::{json, Map, Value};

const CITIES: &[&str] = &[
    "Amsterdam",
    "Berlin",
    "Boston",
    "Buenos Aires",
    "Cairo",
    "Lisbon",
    "London",
    "Madrid",
    "New York",
    "Paris",
    "San Francisco",
    "São Paulo",
    "Seoul",
    "Sydney",
    "Tokyo",
    "Toronto",
];

pub fn list() -> Vec<Value> {
    vec![json!({
        "name": "vibe_check",
        "title": "Vibe check",
        "description": "Asks for the vibe of a place, using the get_vibe tool",
        "arguments": [{ "name": "location", "description": "A city", "required": true }]
    })]
}

/// `prompts/get`: `Ok(None)` for an unknown prompt, `Err` for bad arguments.
pub fn get(name: &str, args: &Map<String, Value>) -> Result<Option<Value>, String> {
    if name != "vibe_check" {
        return Ok(None);
    }
    let location = args
        .get("location")
        .and_then(Value::as_str)
        .ok_or("missing required argument `location`".to_owned())?;
    Ok(Some(json!({
        "description": "Vibe check",
        "messages": [{ "role": "user", "content": { "type": "text",
            "text": format!("What is the vibe in {location}? Use the get_vibe tool.") } }]
    })))
}

/// Completion values for a prompt argument (empty when there is nothing to suggest).
pub fn complete(prompt: &str, argument: &str, prefix: &str) -> Vec<String> {
    if prompt != "vibe_check" || argument != "location" {
        return Vec::new();
    }
    let prefix = prefix.to_lowercase();
    CITIES
        .iter()
        .filter(|c| c.to_lowercase().starts_with(&prefix))
        .map(|c| (*c).to_owned())
        .collect()
}
