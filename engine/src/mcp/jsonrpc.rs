//! JSON-RPC 2.0 messages as MCP uses them. Shapes match `rmcp::model` (proven by the
//! round-trip tests in `tests/rmcp_compat.rs`), without its size in the wasm bundle.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const PARSE_ERROR: i32 = -32700;
pub const INVALID_REQUEST: i32 = -32600;
pub const METHOD_NOT_FOUND: i32 = -32601;
pub const INVALID_PARAMS: i32 = -32602;
pub const INTERNAL_ERROR: i32 = -32603;
/// Implementation-defined server error, used by the transport (missing session and the like).
pub const SERVER_ERROR: i32 = -32000;
/// MCP: the requested resource does not exist.
pub const RESOURCE_NOT_FOUND: i32 = -32002;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    pub code: i32,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ErrorObject {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), data: None }
    }
}

/// One incoming message, classified.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Request {
        id: Value,
        method: String,
        params: Option<Value>,
    },
    Notification {
        method: String,
        params: Option<Value>,
    },
    /// A client's response to a server-to-client request: `result` or `error` kept as sent.
    Response {
        id: Value,
        /// `{"result": …}` or `{"error": …}`.
        outcome: serde_json::Map<String, Value>,
    },
}

impl Message {
    /// Classifies a parsed JSON value; `Err` is the JSON-RPC error to send back (with the id,
    /// when one could be read).
    pub fn classify(value: Value) -> Result<Message, (Value, ErrorObject)> {
        let invalid = |id: Value, why: &str| {
            Err((id, ErrorObject::new(INVALID_REQUEST, format!("Invalid Request: {why}"))))
        };
        let Value::Object(mut obj) = value else {
            return invalid(Value::Null, "expected a JSON object");
        };
        let id = obj.remove("id");
        if let Some(id) = &id {
            if !(id.is_string() || id.is_i64() || id.is_u64()) {
                return invalid(Value::Null, "id must be a string or an integer");
            }
        }
        if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            return invalid(id.unwrap_or(Value::Null), "jsonrpc must be \"2.0\"");
        }
        let params = obj.remove("params");
        if params.as_ref().is_some_and(|p| !(p.is_object() || p.is_array())) {
            return invalid(id.unwrap_or(Value::Null), "params must be an object or an array");
        }
        match (obj.remove("method"), id) {
            (Some(Value::String(method)), Some(id)) => Ok(Message::Request { id, method, params }),
            (Some(Value::String(method)), None) => Ok(Message::Notification { method, params }),
            (Some(_), id) => invalid(id.unwrap_or(Value::Null), "method must be a string"),
            (None, Some(id)) if obj.contains_key("result") || obj.contains_key("error") => {
                obj.retain(|k, _| k == "result" || k == "error");
                Ok(Message::Response { id, outcome: obj })
            }
            (None, id) => invalid(id.unwrap_or(Value::Null), "missing method"),
        }
    }
}

pub fn result(id: &Value, result: Value) -> Value {
    serde_json::json!({ "jsonrpc": "2.0", "id": id, "result": result })
}

pub fn error(id: &Value, error: ErrorObject) -> Value {
    serde_json::json!({ "jsonrpc": "2.0", "id": id, "error": error })
}

pub fn notification(method: &str, params: Value) -> Value {
    serde_json::json!({ "jsonrpc": "2.0", "method": method, "params": params })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn classifies_each_message_kind() {
        assert!(matches!(
            Message::classify(json!({"jsonrpc":"2.0","id":1,"method":"ping"})),
            Ok(Message::Request { .. })
        ));
        assert!(matches!(
            Message::classify(json!({"jsonrpc":"2.0","method":"notifications/initialized"})),
            Ok(Message::Notification { .. })
        ));
        assert!(matches!(
            Message::classify(json!({"jsonrpc":"2.0","id":"a","result":{}})),
            Ok(Message::Response { .. })
        ));
    }

    #[test]
    fn malformed_shapes_are_invalid_requests_keeping_the_id() {
        for bad in [
            json!([]),
            json!("x"),
            json!({"id":1,"method":"ping"}),
            json!({"jsonrpc":"1.0","id":1,"method":"ping"}),
            json!({"jsonrpc":"2.0","id":1,"method":5}),
            json!({"jsonrpc":"2.0","id":1}),
            json!({"jsonrpc":"2.0","id":1,"method":"ping","params":3}),
            json!({"jsonrpc":"2.0","id":{"x":1},"method":"ping"}),
            json!({"jsonrpc":"2.0","id":1.5,"method":"ping"}),
        ] {
            let (_, e) = Message::classify(bad.clone()).unwrap_err();
            assert_eq!(e.code, INVALID_REQUEST, "{bad}");
        }
        let (id, _) =
            Message::classify(json!({"jsonrpc":"1.0","id":7,"method":"ping"})).unwrap_err();
        assert_eq!(id, json!(7));
    }
}
