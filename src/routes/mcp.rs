//! The MCP endpoint over Streamable HTTP (MCP 2025-11-25 §Transports): header rules, sessions,
//! bearer authentication, and JSON or SSE responses around the transport-free [`Server`].

use crate::app::{App, Urls, SESSION_RECHECK_SECS};
use crate::crypto::sha256_b64;
use crate::env::{Clock, Services};
use crate::mcp::jsonrpc::{self, ErrorObject, Message, INVALID_REQUEST, PARSE_ERROR, SERVER_ERROR};
use crate::mcp::server::{CallContext, Server};
use crate::mcp::{session, version, Identity};
use crate::oauth::bearer;
use crate::store::records::dead_session_key;
use crate::web::{self, request_header, Request, Response};
use http::{HeaderValue, Method, StatusCode};
use serde_json::Value;
use std::cell::RefCell;

const ALLOW: &str = "POST, DELETE, OPTIONS";
const SESSION_HEADER: &str = "mcp-session-id";

pub async fn handle(
    app: &App,
    server: &Server,
    req: Request,
    services: &Services<'_>,
    urls: &Urls,
) -> Response {
    let origin = match check_host_and_origin(app, &req, urls) {
        Ok(origin) => origin,
        Err(res) => return *res,
    };
    let res = match *req.method() {
        Method::OPTIONS => web::empty(StatusCode::NO_CONTENT),
        Method::POST => post(app, server, &req, services, urls).await,
        Method::DELETE => delete(app, &req, services, urls).await,
        // Server-initiated streams are not offered (yet): 405 tells clients to carry on without.
        _ => web::method_not_allowed(ALLOW),
    };
    with_cors(res, origin.as_deref(), req.method() == Method::OPTIONS)
}

/// The answers that need neither the body nor the store: Host/Origin refusals, preflights,
/// 405, and 401/403 for a missing or invalid bearer token. `None`: authenticated (or
/// authorization is off), so [`handle`] must read the body.
pub fn handle_now(app: &App, req: &Request, urls: &Urls, clock: &dyn Clock) -> Option<Response> {
    let origin = match check_host_and_origin(app, req, urls) {
        Ok(origin) => origin,
        Err(res) => return Some(*res),
    };
    let res = match *req.method() {
        Method::OPTIONS => web::empty(StatusCode::NO_CONTENT),
        Method::POST | Method::DELETE => match identity(app, req, urls, clock) {
            Ok(_) => return None,
            Err(res) => *res,
        },
        _ => web::method_not_allowed(ALLOW),
    };
    Some(with_cors(res, origin.as_deref(), req.method() == Method::OPTIONS))
}

/// DNS-rebinding protection: the Host must be one we serve (enforced where the set of hosts is
/// known: local development, conformance, or a configured public URL), and a browser Origin
/// must be our own or allow-listed. Requests without Origin (non-browser clients) pass.
fn check_host_and_origin(
    app: &App,
    req: &Request,
    urls: &Urls,
) -> Result<Option<String>, Box<Response>> {
    let forbidden = |why: &str| {
        Box::new(web::json(
            StatusCode::FORBIDDEN,
            &jsonrpc::error(
                &Value::Null,
                ErrorObject::new(SERVER_ERROR, format!("Forbidden: {why}")),
            ),
        ))
    };
    let config = &app.config;
    // Outside production, `App::handle` has already refused unknown hosts.
    if config.mode == crate::config::Mode::Production && !app.host_allowed(req) {
        return Err(forbidden("unknown Host"));
    }
    let request_host = web::host_of(&web::request_origin(req));
    let Some(origin) = request_header(req, "origin") else {
        return Ok(None);
    };
    let origin = origin.trim_end_matches('/');
    let ok = origin == urls.origin
        || config.allowed_origins.iter().any(|o| o == origin || o == "*")
        || (config.mode != crate::config::Mode::Production
            && web::is_loopback(&web::host_of(origin))
            && web::is_loopback(&request_host));
    if ok {
        Ok(Some(origin.to_owned()))
    } else {
        Err(forbidden("Origin not allowed"))
    }
}

fn with_cors(mut res: Response, origin: Option<&str>, preflight: bool) -> Response {
    let Some(origin) = origin else { return res };
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(origin) {
        h.insert("access-control-allow-origin", v);
    }
    h.insert("vary", HeaderValue::from_static("Origin"));
    h.insert(
        "access-control-expose-headers",
        HeaderValue::from_static("mcp-session-id, www-authenticate, mcp-protocol-version"),
    );
    if preflight {
        h.insert("access-control-allow-methods", HeaderValue::from_static(ALLOW));
        h.insert(
            "access-control-allow-headers",
            HeaderValue::from_static("authorization, content-type, accept, mcp-protocol-version, mcp-session-id, last-event-id"),
        );
        h.insert("access-control-max-age", HeaderValue::from_static("86400"));
    }
    res
}

fn rpc_error(status: StatusCode, code: i32, message: &str) -> Response {
    web::json(status, &jsonrpc::error(&Value::Null, ErrorObject::new(code, message)))
}

fn identity(
    app: &App,
    req: &Request,
    urls: &Urls,
    clock: &dyn Clock,
) -> Result<Option<Identity>, Box<Response>> {
    if app.config.auth_enabled() {
        bearer::authenticate(app, req, urls, clock).map(Some)
    } else {
        Ok(None)
    }
}

/// Checks the `MCP-Protocol-Version` header: unsupported → 400; absent → the assumed default.
fn protocol_version(req: &Request) -> Result<&'static str, Box<Response>> {
    match request_header(req, "mcp-protocol-version") {
        None => Ok(version::ASSUMED_WITHOUT_HEADER),
        Some(v) => version::find(v.trim()).ok_or_else(|| {
            Box::new(rpc_error(
                StatusCode::BAD_REQUEST,
                INVALID_REQUEST,
                &format!("Bad Request: unsupported MCP-Protocol-Version {v:?}"),
            ))
        }),
    }
}

/// Verifies the session header (missing: 400; unknown, expired or terminated: 404).
async fn check_session(
    app: &App,
    req: &Request,
    services: &Services<'_>,
    sub: Option<&str>,
) -> Result<String, Box<Response>> {
    let Some(id) = request_header(req, SESSION_HEADER) else {
        return Err(Box::new(rpc_error(
            StatusCode::BAD_REQUEST,
            SERVER_ERROR,
            "Bad Request: Mcp-Session-Id header is required",
        )));
    };
    let not_found = || {
        Box::new(rpc_error(
            StatusCode::NOT_FOUND,
            SERVER_ERROR,
            "Session not found: initialize a new session",
        ))
    };
    let now = services.clock.now();
    session::verify(&app.secret, id, now, app.config.session_ttl, sub).map_err(|_| not_found())?;
    if app.live_sessions.get(id, now).is_some() {
        return Ok(id.to_owned());
    }
    match services.store.get(&dead_session_key(&sha256_b64(id))).await {
        Ok(None) => {
            app.live_sessions.insert(id, (), now + SESSION_RECHECK_SECS);
            Ok(id.to_owned())
        }
        Ok(Some(_)) => Err(not_found()),
        Err(e) => Err(Box::new(web::unavailable(&e.to_string()))),
    }
}

fn accepts_json_and_sse(req: &Request) -> bool {
    let accept = request_header(req, "accept").unwrap_or("").to_ascii_lowercase();
    let has =
        |t: &str| accept.split(',').any(|p| p.split(';').next().is_some_and(|m| m.trim() == t));
    (has("application/json") && has("text/event-stream")) || has("*/*")
}

fn is_json_content(req: &Request) -> bool {
    request_header(req, "content-type")
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

async fn post(
    app: &App,
    server: &Server,
    req: &Request,
    services: &Services<'_>,
    urls: &Urls,
) -> Response {
    let now = services.clock.now();
    let identity = match identity(app, req, urls, services.clock) {
        Ok(i) => i,
        Err(res) => return *res,
    };
    if !accepts_json_and_sse(req) {
        return rpc_error(
            StatusCode::NOT_ACCEPTABLE,
            SERVER_ERROR,
            "Not Acceptable: Accept must include application/json and text/event-stream",
        );
    }
    if !is_json_content(req) {
        return rpc_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            SERVER_ERROR,
            "Unsupported Media Type: Content-Type must be application/json",
        );
    }
    if req.body().len() > app.config.max_body_bytes {
        return rpc_error(StatusCode::PAYLOAD_TOO_LARGE, SERVER_ERROR, "Payload Too Large");
    }
    let body: Value = match serde_json::from_slice(req.body()) {
        Ok(v) => v,
        Err(_) => {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                PARSE_ERROR,
                "Parse error: the body is not valid JSON",
            )
        }
    };
    let sub = identity.as_ref().map(|i| i.sub.as_str());

    if let Value::Array(batch) = body {
        let version = match protocol_version(req) {
            Ok(v) => v,
            Err(res) => return *res,
        };
        if !version::allows_batches(version) || batch.is_empty() {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                INVALID_REQUEST,
                "Invalid Request: JSON-RPC batches are not supported in this protocol version",
            );
        }
        if let Err(res) = check_session(app, req, services, sub).await {
            return *res;
        }
        return run_batch(server, batch, identity.as_ref(), services, urls).await;
    }

    let message = match Message::classify(body) {
        Ok(m) => m,
        Err((id, error)) => return web::json(StatusCode::BAD_REQUEST, &jsonrpc::error(&id, error)),
    };
    if let Message::Request { id, method, params } = &message {
        if method == "initialize" {
            if let Some(v) = request_header(req, "mcp-protocol-version") {
                if version::find(v.trim()).is_none() {
                    return rpc_error(
                        StatusCode::BAD_REQUEST,
                        INVALID_REQUEST,
                        &format!("Bad Request: unsupported MCP-Protocol-Version {v:?}"),
                    );
                }
            }
            let (result, version) = server.initialize(params.as_ref());
            let session_id = session::issue(&app.secret, services.random, now, version, sub);
            let mut res = web::json(StatusCode::OK, &jsonrpc::result(id, result));
            if let Ok(v) = HeaderValue::from_str(&session_id) {
                res.headers_mut().insert(SESSION_HEADER, v);
            }
            return res;
        }
    }
    if let Err(res) = protocol_version(req) {
        return *res;
    }
    if let Err(res) = check_session(app, req, services, sub).await {
        return *res;
    }
    match message {
        Message::Notification { .. } | Message::Response { .. } => web::empty(StatusCode::ACCEPTED),
        Message::Request { id, method, params } => {
            if let (Some(who), Some(scope)) =
                (&identity, server.required_scope(&method, params.as_ref()))
            {
                if !who.has_scope(scope) {
                    return bearer::insufficient_scope(urls, scope);
                }
            }
            let notes = RefCell::new(Vec::new());
            let notify = |m: &str, p: Value| notes.borrow_mut().push(jsonrpc::notification(m, p));
            let ctx = CallContext { identity: identity.as_ref(), store: Some(services.store), now };
            let response = server.request(&id, &method, params, &ctx, &notify).await;
            let mut messages = notes.into_inner();
            if messages.is_empty() {
                web::json(StatusCode::OK, &response)
            } else {
                messages.push(response);
                sse(&messages)
            }
        }
    }
}

async fn run_batch(
    server: &Server,
    batch: Vec<Value>,
    identity: Option<&Identity>,
    services: &Services<'_>,
    urls: &Urls,
) -> Response {
    let notes = RefCell::new(Vec::new());
    let notify = |m: &str, p: Value| notes.borrow_mut().push(jsonrpc::notification(m, p));
    let ctx = CallContext { identity, store: Some(services.store), now: services.clock.now() };
    let mut responses = Vec::new();
    for item in batch {
        match Message::classify(item) {
            Err((id, error)) => responses.push(jsonrpc::error(&id, error)),
            Ok(Message::Request { id, method, params }) => {
                if method == "initialize" {
                    responses.push(jsonrpc::error(
                        &id,
                        ErrorObject::new(INVALID_REQUEST, "initialize must not be part of a batch"),
                    ));
                    continue;
                }
                if let (Some(who), Some(scope)) =
                    (identity, server.required_scope(&method, params.as_ref()))
                {
                    if !who.has_scope(scope) {
                        return bearer::insufficient_scope(urls, scope);
                    }
                }
                responses.push(server.request(&id, &method, params, &ctx, &notify).await);
            }
            Ok(_) => {}
        }
    }
    let mut messages = notes.into_inner();
    if responses.is_empty() && messages.is_empty() {
        return web::empty(StatusCode::ACCEPTED);
    }
    if messages.is_empty() {
        return web::json(StatusCode::OK, &responses);
    }
    messages.push(Value::Array(responses));
    sse(&messages)
}

/// A complete SSE response: each message as one `message` event, then the stream ends.
fn sse(messages: &[Value]) -> Response {
    let mut body = String::new();
    for m in messages {
        body.push_str("event: message\ndata: ");
        body.push_str(&m.to_string());
        body.push_str("\n\n");
    }
    let mut res = web::respond(StatusCode::OK, "text/event-stream", body);
    res.headers_mut().insert(http::header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}

async fn delete(app: &App, req: &Request, services: &Services<'_>, urls: &Urls) -> Response {
    let identity = match identity(app, req, urls, services.clock) {
        Ok(i) => i,
        Err(res) => return *res,
    };
    let id =
        match check_session(app, req, services, identity.as_ref().map(|i| i.sub.as_str())).await {
            Ok(id) => id,
            Err(res) => return *res,
        };
    app.live_sessions.remove(&id);
    let ttl = app.config.session_ttl.max(crate::store::MIN_TTL_SECS);
    match services.store.put(&dead_session_key(&sha256_b64(&id)), "1", Some(ttl)).await {
        Ok(()) => web::empty(StatusCode::NO_CONTENT),
        Err(e) => web::unavailable(&e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use crate::web::host_of;

    #[test]
    fn hosts_are_extracted() {
        assert_eq!(host_of("http://LOCALHOST:8787"), "localhost");
        assert_eq!(host_of("http://[::1]:8787/x"), "[::1]");
        assert_eq!(host_of("https://evil.example.com"), "evil.example.com");
        assert_eq!(host_of("https://user@evil.example.com"), "user@evil.example.com");
    }
}
