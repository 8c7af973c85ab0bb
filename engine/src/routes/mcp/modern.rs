//! Requests of the stateless revision (MCP 2026-07-28, `basic/index.mdx`,
//! `transports/streamable-http.mdx`): every request carries its version and the client's
//! capabilities in `params._meta`, so any isolate answers any request. Checked in the order the
//! conformance suite and the TypeScript SDK expect: the envelope (-32602), `MCP-Protocol-Version`
//! against it (-32020), the version (-32022), `Mcp-Method` / `Mcp-Name` / `Mcp-Param-*`
//! (-32020), the method (404 -32601), then the call (400 -32021 for an undeclared capability).
//! `Mcp-Session-Id` and `Last-Event-ID` are ignored.

use super::sse;
use crate::crypto::unb64_standard;
use crate::env::{random_token, Services};
use crate::mcp::envelope::{self, Envelope, LOG_LEVELS};
use crate::mcp::jsonrpc::{self, ErrorObject, Message, INVALID_PARAMS, METHOD_NOT_FOUND};
use crate::mcp::server::{
    method_exists, CallContext, Modern, Refusal, Request as McpRequest, Server,
};
use crate::mcp::{tasks, version, Identity};
use crate::oauth::bearer;
use crate::state::State;
use crate::urls::Urls;
use crate::web::{self, request_header, Request, Response};
use http::StatusCode;
use serde_json::{json, Map, Value};
use std::cell::RefCell;

/// The standard-header mismatch code (`HeaderMismatchError`).
pub(crate) const HEADER_MISMATCH: i32 = -32020;
/// A capability the request's client did not declare (`MissingRequiredClientCapabilityError`).
pub(crate) const MISSING_CAPABILITY: i32 = -32021;
/// `UnsupportedProtocolVersionError`.
pub(crate) const UNSUPPORTED_VERSION: i32 = -32022;

/// A JSON-RPC error for request `id` with an HTTP status.
fn refuse(status: StatusCode, id: &Value, error: ErrorObject) -> Response {
    web::json(status, &jsonrpc::error(id, error))
}

fn mismatch(id: &Value, message: String) -> Response {
    refuse(StatusCode::BAD_REQUEST, id, ErrorObject::new(HEADER_MISMATCH, message))
}

/// A header value with surrounding spaces and tabs removed (RFC 9110 §5.5).
fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    request_header(req, name).map(|v| v.trim_matches([' ', '\t']))
}

/// `Mcp-Name` / `Mcp-Param-*` values: `=?base64?…?=` is decoded (strictly: padded standard
/// base64 of UTF-8), anything else is literal. `None`: an invalid encoded form.
fn decode_value(value: &str) -> Option<String> {
    match value.strip_prefix("=?base64?").and_then(|v| v.strip_suffix("?=")) {
        Some(encoded) => String::from_utf8(unb64_standard(encoded)?).ok(),
        None => Some(value.to_owned()),
    }
}

/// The value `Mcp-Name` must mirror for `method`, if any.
fn name_source<'a>(method: &str, params: Option<&'a Value>) -> Option<&'a str> {
    let key = match method {
        "tools/call" | "prompts/get" => "name",
        "resources/read" => "uri",
        // The Tasks extension: `Mcp-Name` is the task id (SEP-2663).
        "tasks/get" | "tasks/update" | "tasks/cancel" => "taskId",
        _ => return None,
    };
    params?.get(key)?.as_str()
}

/// Checks the `Mcp-Param-*` headers of a `tools/call` against the tool's `x-mcp-header`
/// properties (streamable-http.mdx, "Server Behavior for Custom Headers").
fn check_param_headers(
    req: &Request,
    schema: &Value,
    arguments: &Map<String, Value>,
) -> Result<(), String> {
    let Some(properties) =
        schema.get("inputSchema").and_then(|s| s.get("properties")).and_then(Value::as_object)
    else {
        return Ok(());
    };
    for (property, spec) in properties {
        let Some(name) = spec.get("x-mcp-header").and_then(Value::as_str) else { continue };
        let expected = match arguments.get(property) {
            None | Some(Value::Null) => continue,
            Some(Value::String(s)) => s.clone(),
            Some(Value::Bool(b)) => b.to_string(),
            // `x-mcp-header` is allowed on integer properties, not on numbers in general.
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
            Some(_) => return Err(format!("argument {property} cannot be mirrored in a header")),
        };
        let header_name = format!("mcp-param-{}", name.to_ascii_lowercase());
        let Some(raw) = header(req, &header_name) else {
            return Err(format!("Mcp-Param-{name} is required when `{property}` is set"));
        };
        let value =
            decode_value(raw).ok_or_else(|| format!("Mcp-Param-{name} is not valid base64"))?;
        // Integers compare numerically ("042" mirrors 42).
        let same = value == expected
            || (arguments.get(property).is_some_and(Value::is_number)
                && value
                    .parse::<i64>()
                    .ok()
                    .is_some_and(|v| Some(v) == expected.parse::<i64>().ok()));
        if !same {
            return Err(format!("Mcp-Param-{name} does not match the `{property}` argument"));
        }
    }
    Ok(())
}

/// A POST classified as modern (the body is parsed; Accept and Content-Type are checked).
pub(super) async fn post(
    state: &State,
    server: &Server,
    req: &Request,
    body: Value,
    identity: Option<Identity>,
    services: &Services<'_>,
    urls: &Urls,
) -> Response {
    let (id, method, params) = match Message::classify(body) {
        Ok(Message::Request { id, method, params }) => (id, method, params),
        // Notifications of this revision are accepted without a body.
        Ok(Message::Notification { .. } | Message::Response { .. }) => {
            return web::empty(StatusCode::ACCEPTED)
        }
        Err((id, error)) => return refuse(StatusCode::BAD_REQUEST, &id, error),
    };
    let envelope = match envelope::parse(params.as_ref()) {
        Ok(e) => e,
        Err(why) => {
            return refuse(StatusCode::BAD_REQUEST, &id, ErrorObject::new(INVALID_PARAMS, why))
        }
    };
    if let Err(res) = check_headers(req, &id, &method, params.as_ref(), &envelope) {
        return *res;
    }
    if !method_exists(&method, true) {
        return refuse(
            StatusCode::NOT_FOUND,
            &id,
            ErrorObject::new(
                METHOD_NOT_FOUND,
                format!("Method not found: {method} (not part of protocol revision 2026-07-28)"),
            ),
        );
    }
    let request = match McpRequest::parse(server, &method, params) {
        Ok(request) => request,
        Err(e) if e.code == METHOD_NOT_FOUND => return refuse(StatusCode::NOT_FOUND, &id, e),
        // Bad params and unknown tools are answered in-band.
        Err(e) => return web::json(StatusCode::OK, &jsonrpc::error(&id, e)),
    };
    if let McpRequest::ToolsCall(call) = &request {
        if let Err(why) = check_param_headers(req, &server.definition(call.tool), &call.arguments) {
            return mismatch(&id, why);
        }
    }
    if let McpRequest::Listen(listen) = &request {
        return subscriptions_listen(&id, &listen.notifications);
    }

    let principal =
        identity.as_ref().map(|i| format!("{}|{}", i.sub, i.client_id)).unwrap_or_default();
    let ctx = CallContext {
        identity: identity.as_ref(),
        store: Some(services.store),
        fetch: Some((services.fetch, crate::oauth::cimd::loopback_allowed(state))),
        vars: Some(&state.config.tool_vars),
        now: services.clock.now(),
        modern: Some(Modern {
            envelope: &envelope,
            secret: &state.secret,
            principal,
            tasks: services.tasks,
            // A tools/call may become a task (only tasks-capable calls pay for the id).
            new_task_id: if envelope.capabilities.tasks
                && matches!(request, McpRequest::ToolsCall(_))
            {
                random_token(services.random, 16)
            } else {
                String::new()
            },
            now_ms: services.clock.now_ms(),
        }),
        asks: None,
    };
    let notes = RefCell::new(Vec::new());
    let threshold = envelope.log_level.and_then(|l| LOG_LEVELS.iter().position(|x| *x == l));
    let notify = |m: &str, p: Value| {
        // Log messages only when this request asked for them, at its level and above.
        if m == "notifications/message" {
            let level = p
                .get("level")
                .and_then(Value::as_str)
                .and_then(|l| LOG_LEVELS.iter().position(|x| *x == l));
            if !matches!((threshold, level), (Some(t), Some(l)) if l >= t) {
                return;
            }
        }
        notes.borrow_mut().push(jsonrpc::notification(m, p));
    };
    let response = match server.answer(&id, request, &ctx, &notify).await {
        Ok(response) => response,
        Err(Refusal::Scope(scopes)) => return bearer::insufficient_scope(urls, &scopes.join(" ")),
        // Never on this path: `asks` is for legacy sessions only.
        Err(Refusal::Input(_)) => {
            let error = ErrorObject::new(jsonrpc::SERVER_ERROR, "unexpected input request");
            return refuse(StatusCode::INTERNAL_SERVER_ERROR, &id, error);
        }
        Err(Refusal::Capability(capability)) => {
            let mut error = ErrorObject::new(
                MISSING_CAPABILITY,
                format!("this call needs the client capability `{capability}`, which the request does not declare"),
            );
            let required = if capability == tasks::EXTENSION {
                json!({ "extensions": { capability: {} } })
            } else {
                json!({ capability: {} })
            };
            error.data = Some(json!({ "requiredCapabilities": required }));
            return refuse(StatusCode::BAD_REQUEST, &id, error);
        }
    };
    let mut messages = notes.into_inner();
    if messages.is_empty() {
        return web::json(StatusCode::OK, &response);
    }
    messages.push(response);
    sse(&messages)
}

/// The standard headers against the body: `MCP-Protocol-Version` (present, equal to the
/// envelope's version, supported), `Mcp-Method`, and `Mcp-Name` where the method has one.
fn check_headers(
    req: &Request,
    id: &Value,
    method: &str,
    params: Option<&Value>,
    envelope: &Envelope,
) -> Result<(), Box<Response>> {
    let claimed = envelope.protocol_version.as_str();
    match header(req, "mcp-protocol-version") {
        None => return Err(Box::new(mismatch(id, "MCP-Protocol-Version header is required".into()))),
        Some(h) if h == claimed => {}
        // Reported of claude.ai (anthropics/claude-code#93290): a session revision in the header
        // with a supported modern envelope. The body decides (docs/clients.md).
        Some(h) if version::find(h).is_some() && version::find_modern(claimed).is_some() => {}
        Some(h) => {
            return Err(Box::new(mismatch(
                id,
                format!("MCP-Protocol-Version {h:?} does not match params._meta protocolVersion {claimed:?}"),
            )))
        }
    }
    if version::find_modern(claimed).is_none() {
        let mut error = ErrorObject::new(
            UNSUPPORTED_VERSION,
            format!("unsupported protocol version {claimed:?}"),
        );
        error.data = Some(json!({ "supported": version::MODERN, "requested": claimed }));
        return Err(Box::new(refuse(StatusCode::BAD_REQUEST, id, error)));
    }
    match header(req, "mcp-method") {
        Some(m) if m == method => {}
        Some(m) => {
            return Err(Box::new(mismatch(
                id,
                format!("Mcp-Method {m:?} does not match the method {method:?}"),
            )))
        }
        None => return Err(Box::new(mismatch(id, "Mcp-Method header is required".into()))),
    }
    if let Some(expected) = name_source(method, params) {
        let Some(raw) = header(req, "mcp-name") else {
            return Err(Box::new(mismatch(
                id,
                "Mcp-Name header is required for this method".into(),
            )));
        };
        match decode_value(raw) {
            Some(name) if name == expected => {}
            Some(_) => {
                return Err(Box::new(mismatch(id, "Mcp-Name does not match the request".into())))
            }
            None => return Err(Box::new(mismatch(id, "Mcp-Name is not valid base64".into()))),
        }
    }
    Ok(())
}

/// `subscriptions/listen` (`basic/patterns/subscriptions.mdx`): the acknowledgement with the
/// honoured filter, then the final result, and the stream closes. Nothing here changes while a
/// stream could be open (the catalogue changes only with a deploy, and no capability advertises
/// `listChanged` or `subscribe`), so no notification type is honoured and holding the stream open
/// would only bill wall time.
fn subscriptions_listen(id: &Value, _requested: &Map<String, Value>) -> Response {
    let tag = json!({ envelope::SUBSCRIPTION_ID: id });
    let ack = jsonrpc::notification(
        "notifications/subscriptions/acknowledged",
        json!({ "_meta": tag, "notifications": {} }),
    );
    let done = jsonrpc::result(id, json!({ "resultType": "complete", "_meta": tag }));
    sse(&[ack, done])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_decode_strictly() {
        assert_eq!(decode_value("Hello").as_deref(), Some("Hello"));
        assert_eq!(decode_value("=?base64?SGVsbG8=?=").as_deref(), Some("Hello"));
        assert_eq!(decode_value("SGVsbG8=").as_deref(), Some("SGVsbG8="));
        assert_eq!(decode_value("=?base64?SGVsbG8=").as_deref(), Some("=?base64?SGVsbG8="));
        assert_eq!(decode_value("=?base64?SGVsbG8?="), None, "padding is required");
        assert_eq!(decode_value("=?base64?SGVs!!!bG8=?="), None);
        assert_eq!(decode_value("=?base64?/w==?="), None, "not UTF-8");
    }
}
