//! Multi-round-trip requests (2026-07-28, `basic/patterns/mrtr.mdx`): a `tools/call`,
//! `prompts/get` or `resources/read` may answer `input_required`, asking the client to run
//! `elicitation/create`, `sampling/createMessage` or `roots/list` and retry with the answers
//! (`inputResponses`) and the opaque `requestState` it was given.
//!
//! Our `requestState` is sealed (HMAC under the server secret, purpose `mrtr`) and bound to the
//! principal, the method, a digest of the request's own params and an expiry: a tampered,
//! expired or foreign state is refused with a JSON-RPC error.

use crate::crypto::{b64, seal, sha256_b64, unb64, unseal};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// How long a client has to come back with the answers.
pub const STATE_LIFETIME_SECS: u64 = 600;

/// What a tool (or prompt, or resource) needs before it can answer.
#[derive(Debug, Clone, PartialEq)]
pub struct InputRequired {
    /// Key → `{method, params}`: what to ask the client.
    pub requests: Map<String, Value>,
    /// Handed back on the retry (sealed in transit).
    pub state: Option<Value>,
}

impl InputRequired {
    pub fn new() -> Self {
        Self { requests: Map::new(), state: None }
    }

    pub fn ask(mut self, key: &str, request: Value) -> Self {
        self.requests.insert(key.to_owned(), request);
        self
    }

    pub fn with_state(mut self, state: Value) -> Self {
        self.state = Some(state);
        self
    }
}

impl Default for InputRequired {
    fn default() -> Self {
        Self::new()
    }
}

/// An `elicitation/create` form request.
pub fn elicit(message: &str, requested_schema: Value) -> Value {
    json!({ "method": "elicitation/create", "params": { "message": message, "requestedSchema": requested_schema } })
}

/// A `sampling/createMessage` request with one user text message.
pub fn sample(text: &str, max_tokens: u32) -> Value {
    json!({ "method": "sampling/createMessage", "params": {
        "messages": [{ "role": "user", "content": { "type": "text", "text": text } }],
        "maxTokens": max_tokens } })
}

/// A `roots/list` request.
pub fn list_roots() -> Value {
    json!({ "method": "roots/list", "params": {} })
}

/// The accepted content of an elicitation answer under `key`, if the user accepted.
pub fn accepted<'a>(
    responses: Option<&'a Map<String, Value>>,
    key: &str,
) -> Option<&'a Map<String, Value>> {
    let answer = responses?.get(key)?;
    (answer.get("action")?.as_str()? == "accept").then(|| answer.get("content")?.as_object())?
}

/// What a sealed state is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding<'a> {
    /// `sub` + `client_id` of the caller, or empty when authorization is off.
    pub principal: &'a str,
    pub method: &'a str,
    /// [`digest`] of the request's params (without `_meta`, `inputResponses`, `requestState`).
    pub digest: String,
}

/// A digest of the params that identify a request across its rounds.
pub fn digest(params: &Map<String, Value>) -> String {
    let mut salient = params.clone();
    for k in ["_meta", "inputResponses", "requestState"] {
        salient.remove(k);
    }
    sha256_b64(&Value::Object(salient).to_string())
}

#[derive(Serialize, Deserialize)]
struct Sealed {
    /// principal, method, digest
    p: String,
    m: String,
    d: String,
    exp: u64,
    v: Value,
}

/// Why a `requestState` was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateError {
    Tampered,
    Expired,
    Foreign,
}

impl StateError {
    pub fn message(&self) -> &'static str {
        match self {
            StateError::Tampered => "requestState integrity check failed",
            StateError::Expired => "requestState expired: start the request again",
            StateError::Foreign => "requestState belongs to another request or user",
        }
    }
}

pub fn seal_state(secret: &[u8], binding: &Binding<'_>, state: &Value, now: u64) -> String {
    let sealed = Sealed {
        p: binding.principal.to_owned(),
        m: binding.method.to_owned(),
        d: binding.digest.clone(),
        exp: now + STATE_LIFETIME_SECS,
        v: state.clone(),
    };
    let json = serde_json::to_vec(&sealed).unwrap_or_default();
    seal(secret, "mrtr", &b64(&json))
}

pub fn open_state(
    secret: &[u8],
    binding: &Binding<'_>,
    text: &str,
    now: u64,
) -> Result<Value, StateError> {
    let data = unseal(secret, "mrtr", text).ok_or(StateError::Tampered)?;
    let sealed: Sealed = unb64(data)
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(StateError::Tampered)?;
    if sealed.exp < now {
        return Err(StateError::Expired);
    }
    if sealed.p != binding.principal || sealed.m != binding.method || sealed.d != binding.digest {
        return Err(StateError::Foreign);
    }
    Ok(sealed.v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding<'a>(principal: &'a str, args: Value) -> Binding<'a> {
        let params =
            json!({ "name": "t", "arguments": args, "_meta": {"x": 1}, "requestState": "s" });
        Binding { principal, method: "tools/call", digest: digest(params.as_object().unwrap()) }
    }

    #[test]
    fn state_is_sealed_and_bound() {
        let key = b"k".repeat(32);
        let b = binding("alice|c1", json!({"a": 1}));
        let sealed = seal_state(&key, &b, &json!({"step": 2}), 1000);
        assert_eq!(open_state(&key, &b, &sealed, 1100), Ok(json!({"step": 2})));
        // Tampered, expired, another user, other params, another key.
        assert_eq!(
            open_state(&key, &b, &format!("{sealed}-TAMPERED"), 1100),
            Err(StateError::Tampered)
        );
        assert_eq!(
            open_state(&key, &b, &sealed, 1000 + STATE_LIFETIME_SECS + 1),
            Err(StateError::Expired)
        );
        assert_eq!(
            open_state(&key, &binding("bob|c1", json!({"a": 1})), &sealed, 1100),
            Err(StateError::Foreign)
        );
        assert_eq!(
            open_state(&key, &binding("alice|c1", json!({"a": 2})), &sealed, 1100),
            Err(StateError::Foreign)
        );
        assert_eq!(open_state(b"other-key", &b, &sealed, 1100), Err(StateError::Tampered));
    }

    #[test]
    fn the_digest_ignores_the_round_fields() {
        let a = json!({"name": "t", "arguments": {"x": 1}});
        let b = json!({"name": "t", "arguments": {"x": 1}, "_meta": {}, "inputResponses": {"k": 1}, "requestState": "z"});
        assert_eq!(digest(a.as_object().unwrap()), digest(b.as_object().unwrap()));
        let c = json!({"name": "t", "arguments": {"x": 2}});
        assert_ne!(digest(a.as_object().unwrap()), digest(c.as_object().unwrap()));
    }

    #[test]
    fn only_accepted_elicitations_count() {
        let r = json!({"a": {"action": "accept", "content": {"name": "Alice"}}, "b": {"action": "decline"}, "c": 5});
        let r = r.as_object();
        assert_eq!(accepted(r, "a").unwrap()["name"], "Alice");
        assert!(
            accepted(r, "b").is_none() && accepted(r, "c").is_none() && accepted(r, "x").is_none()
        );
    }
}
