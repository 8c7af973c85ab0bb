//! The per-request envelope of the stateless revision (2026-07-28, `basic/index.mdx`): every
//! request carries its protocol version and the client's capabilities in `params._meta`, and the
//! server infers nothing from earlier requests.

use serde_json::{Map, Value};

pub const PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
pub const CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
pub const LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
pub const SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
pub const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

/// The levels of `notifications/message`, least severe first.
pub const LOG_LEVELS: &[&str] =
    &["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];

/// The Tasks extension's identifier in `capabilities.extensions` (`mcp::tasks`).
pub const TASKS_EXTENSION: &str = "io.modelcontextprotocol/tasks";

/// What this request's client can do for the server: only declared capabilities may be used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientCapabilities {
    pub sampling: bool,
    pub elicitation: bool,
    pub roots: bool,
    /// Declares the Tasks extension (`capabilities.extensions["io.modelcontextprotocol/tasks"]`).
    pub tasks: bool,
}

impl ClientCapabilities {
    pub fn from_json(caps: &Map<String, Value>) -> Self {
        let has = |name: &str| caps.get(name).is_some_and(Value::is_object);
        let tasks = caps
            .get("extensions")
            .and_then(Value::as_object)
            .is_some_and(|e| e.get(TASKS_EXTENSION).is_some_and(Value::is_object));
        Self {
            sampling: has("sampling"),
            elicitation: has("elicitation"),
            roots: has("roots"),
            tasks,
        }
    }

    /// The input requests (by key) that this client declared it can answer. A server never asks
    /// for more: the others are dropped.
    pub fn answerable(&self, requests: Map<String, Value>) -> Map<String, Value> {
        requests
            .into_iter()
            .filter(|(_, r)| {
                r.get("method").and_then(Value::as_str).is_some_and(|m| self.allows(m))
            })
            .collect()
    }

    /// Does the client declare what an input request with this method needs?
    pub fn allows(&self, method: &str) -> bool {
        match method {
            "elicitation/create" => self.elicitation,
            "sampling/createMessage" => self.sampling,
            "roots/list" => self.roots,
            _ => false,
        }
    }
}

/// A checked envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub protocol_version: String,
    pub capabilities: ClientCapabilities,
    /// `notifications/message` may be sent for this request at this level and above.
    pub log_level: Option<&'static str>,
}

/// The protocol version a request claims in `params._meta` (what makes it modern), if any.
pub fn claim(params: Option<&Value>) -> Option<&str> {
    params?.get("_meta")?.get(PROTOCOL_VERSION)?.as_str()
}

/// Reads the envelope; `Err` names what is missing or malformed (→ -32602).
pub fn parse(params: Option<&Value>) -> Result<Envelope, String> {
    let meta = params
        .and_then(|p| p.get("_meta"))
        .and_then(Value::as_object)
        .ok_or("params._meta is required in protocol revision 2026-07-28")?;
    let version = meta
        .get(PROTOCOL_VERSION)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("params._meta[\"{PROTOCOL_VERSION}\"] is required"))?;
    let caps = meta.get(CLIENT_CAPABILITIES).and_then(Value::as_object).ok_or_else(|| {
        format!("params._meta[\"{CLIENT_CAPABILITIES}\"] is required (an object)")
    })?;
    let log_level = match meta.get(LOG_LEVEL) {
        None => None,
        Some(level) => Some(
            level
                .as_str()
                .and_then(|l| LOG_LEVELS.iter().copied().find(|known| *known == l))
                .ok_or_else(|| format!("params._meta[\"{LOG_LEVEL}\"] is not a log level"))?,
        ),
    };
    Ok(Envelope {
        protocol_version: version.to_owned(),
        capabilities: ClientCapabilities::from_json(caps),
        log_level,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_envelope_needs_version_and_capabilities() {
        let ok = json!({"_meta": {PROTOCOL_VERSION: "2026-07-28", CLIENT_CAPABILITIES: {"elicitation": {}}}});
        let e = parse(Some(&ok)).unwrap();
        assert_eq!(e.protocol_version, "2026-07-28");
        assert!(e.capabilities.elicitation && !e.capabilities.sampling);
        assert!(e.capabilities.allows("elicitation/create"));
        assert!(!e.capabilities.allows("sampling/createMessage"));
        assert_eq!(claim(Some(&ok)), Some("2026-07-28"));
        for bad in [
            json!({}),
            json!({"_meta": {}}),
            json!({"_meta": {PROTOCOL_VERSION: "2026-07-28"}}),
            json!({"_meta": {CLIENT_CAPABILITIES: {}}}),
            json!({"_meta": {PROTOCOL_VERSION: "2026-07-28", CLIENT_CAPABILITIES: {}, LOG_LEVEL: "loud"}}),
        ] {
            assert!(parse(Some(&bad)).is_err(), "{bad}");
        }
        assert!(parse(None).is_err());
    }
}
