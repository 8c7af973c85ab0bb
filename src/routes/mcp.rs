//! The MCP endpoint over Streamable HTTP (MCP 2025-11-25 §Transports): header rules, sessions,
//! bearer authentication, and JSON or SSE responses around the transport-free [`Server`].

use crate::crypto::jwt::AccessClaims;
use crate::crypto::sha256_b64;
use crate::env::{Clock, Services};
use crate::mcp::jsonrpc::{self, ErrorObject, Message, INVALID_REQUEST, PARSE_ERROR, SERVER_ERROR};
use crate::mcp::server::{CallContext, NeedsScope, Request as McpRequest, Server};
use crate::mcp::{session, version, Identity};
use crate::oauth::bearer;
use crate::state::{State, SESSION_RECHECK_SECS};
use crate::store::records::dead_session_key;
use crate::urls::{host_of, is_loopback, request_origin, Urls};
use crate::web::{self, request_header, Request, Response};
use http::{HeaderValue, Method, StatusCode};
use serde_json::Value;
use std::cell::RefCell;

const ALLOW: &str = "POST, DELETE, OPTIONS";
const SESSION_HEADER: &str = "mcp-session-id";

/// What phase 1 checked: the browser Origin (allowed) and the verified access token (`None`
/// when authorization is off).
#[derive(Debug, PartialEq)]
pub(super) struct Checked {
    origin: Option<String>,
    claims: Option<AccessClaims>,
}

/// Phase 2: a POST or DELETE that passed [`handle_now`].
pub(super) async fn handle(
    state: &State,
    server: &Server,
    req: Request,
    checked: Checked,
    services: &Services<'_>,
    urls: &Urls,
) -> Response {
    let identity = checked.claims.map(identity);
    let res = match *req.method() {
        Method::POST => post(state, server, &req, identity, services, urls).await,
        _ => delete(state, &req, identity, services).await,
    };
    with_cors(res, checked.origin.as_deref(), false)
}

/// Phase 1: Host/Origin refusals, preflights, 405, and 401/403 for a missing or invalid bearer
/// token are answered here; a POST or DELETE that passes continues with what was checked.
pub(super) fn handle_now(
    state: &State,
    req: &Request,
    urls: &Urls,
    clock: &dyn Clock,
) -> Result<Checked, Box<Response>> {
    let origin = check_host_and_origin(state, req, urls)?;
    let res = match *req.method() {
        Method::OPTIONS => web::empty(StatusCode::NO_CONTENT),
        Method::POST | Method::DELETE if !state.config.auth_enabled() => {
            return Ok(Checked { origin, claims: None })
        }
        Method::POST | Method::DELETE => match bearer::authenticate(state, req, urls, clock) {
            Ok(claims) => return Ok(Checked { origin, claims: Some(claims) }),
            Err(res) => *res,
        },
        _ => web::method_not_allowed(ALLOW),
    };
    Err(Box::new(with_cors(res, origin.as_deref(), req.method() == Method::OPTIONS)))
}

fn identity(claims: AccessClaims) -> Identity {
    let scopes = claims.scope.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect();
    Identity { sub: claims.sub, name: claims.name, scopes, client_id: claims.client_id }
}

/// DNS-rebinding protection: the Host must be one we serve (enforced where the set of hosts is
/// known: local development, conformance, or a configured public URL), and a browser Origin
/// must be our own or allow-listed. Requests without Origin (non-browser clients) pass.
fn check_host_and_origin(
    state: &State,
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
    let config = &state.config;
    // Outside production, `App::respond_now` has already refused unknown hosts.
    if config.mode == crate::config::Mode::Production && !state.host_allowed(req) {
        return Err(forbidden("unknown Host"));
    }
    let Some(origin) = request_header(req, "origin") else {
        return Ok(None);
    };
    let origin = origin.trim_end_matches('/');
    let ok = origin == urls.origin
        || config.allowed_origins.iter().any(|o| o == origin || o == "*")
        || (config.mode != crate::config::Mode::Production
            && is_loopback(&host_of(origin))
            && is_loopback(&host_of(&request_origin(req))));
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
        h.insert("access-control-allow-headers", HeaderValue::from_static(web::CORS_ALLOW_HEADERS));
        h.insert("access-control-max-age", HeaderValue::from_static("86400"));
    }
    res
}

fn rpc_error(status: StatusCode, code: i32, message: &str) -> Response {
    web::json(status, &jsonrpc::error(&Value::Null, ErrorObject::new(code, message)))
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
    state: &State,
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
    session::verify(&state.secret, id, now, state.config.session_ttl, sub)
        .map_err(|_| not_found())?;
    if state.live_sessions.get(id, now).is_some() {
        return Ok(id.to_owned());
    }
    match services.store.get(&dead_session_key(&sha256_b64(id))).await {
        Ok(None) => {
            state.live_sessions.insert(id, (), now + SESSION_RECHECK_SECS);
            Ok(id.to_owned())
        }
        Ok(Some(_)) => Err(not_found()),
        Err(e) => Err(Box::new(web::unavailable(&e.to_string()))),
    }
}

/// Accept must allow both JSON and SSE (or anything).
fn accepts_json_and_sse(req: &Request) -> bool {
    let accept = request_header(req, "accept").unwrap_or("");
    let has = |t: &str| web::media_types(accept).any(|m| m.eq_ignore_ascii_case(t));
    (has(web::JSON) && has("text/event-stream")) || has("*/*")
}

async fn post(
    state: &State,
    server: &Server,
    req: &Request,
    identity: Option<Identity>,
    services: &Services<'_>,
    urls: &Urls,
) -> Response {
    if !accepts_json_and_sse(req) {
        return rpc_error(
            StatusCode::NOT_ACCEPTABLE,
            SERVER_ERROR,
            "Not Acceptable: Accept must include application/json and text/event-stream",
        );
    }
    if !web::content_type_is(req, web::JSON) {
        return rpc_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            SERVER_ERROR,
            "Unsupported Media Type: Content-Type must be application/json",
        );
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
    // The header is checked once, for every message (also `initialize`).
    let version = match protocol_version(req) {
        Ok(v) => v,
        Err(res) => return *res,
    };
    let sub = identity.as_ref().map(|i| i.sub.as_str());
    let ctx = CallContext {
        identity: identity.as_ref(),
        store: Some(services.store),
        now: services.clock.now(),
    };

    if let Value::Array(batch) = body {
        if !version::allows_batches(version) || batch.is_empty() {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                INVALID_REQUEST,
                "Invalid Request: JSON-RPC batches are not supported in this protocol version",
            );
        }
        if let Err(res) = check_session(state, req, services, sub).await {
            return *res;
        }
        return run_batch(server, batch, &ctx, urls).await;
    }

    let message = match Message::classify(body) {
        Ok(m) => m,
        Err((id, error)) => return web::json(StatusCode::BAD_REQUEST, &jsonrpc::error(&id, error)),
    };
    let Message::Request { id, method, params } = message else {
        // Notifications and responses (to requests we never send) are acknowledged.
        return match check_session(state, req, services, sub).await {
            Ok(_) => web::empty(StatusCode::ACCEPTED),
            Err(res) => *res,
        };
    };
    let request = match McpRequest::parse(server, &method, params) {
        // A new session: the only request without one.
        Ok(McpRequest::Initialize(params)) => {
            let (result, version) = server.initialize(&params);
            let session_id = session::issue(&state.secret, services.random, ctx.now, version, sub);
            let mut res = web::json(StatusCode::OK, &jsonrpc::result(&id, result));
            if let Ok(v) = HeaderValue::from_str(&session_id) {
                res.headers_mut().insert(SESSION_HEADER, v);
            }
            return res;
        }
        request => request,
    };
    if let Err(res) = check_session(state, req, services, sub).await {
        return *res;
    }
    let request = match request {
        Ok(request) => request,
        Err(error) => return web::json(StatusCode::OK, &jsonrpc::error(&id, error)),
    };
    let notes = RefCell::new(Vec::new());
    let notify = |m: &str, p: Value| notes.borrow_mut().push(jsonrpc::notification(m, p));
    let response = match server.answer(&id, request, &ctx, &notify).await {
        Ok(response) => response,
        Err(NeedsScope(scope)) => return bearer::insufficient_scope(urls, scope),
    };
    let mut messages = notes.into_inner();
    if messages.is_empty() {
        web::json(StatusCode::OK, &response)
    } else {
        messages.push(response);
        sse(&messages)
    }
}

async fn run_batch(
    server: &Server,
    batch: Vec<Value>,
    ctx: &CallContext<'_>,
    urls: &Urls,
) -> Response {
    let notes = RefCell::new(Vec::new());
    let notify = |m: &str, p: Value| notes.borrow_mut().push(jsonrpc::notification(m, p));
    let mut responses = Vec::new();
    for item in batch {
        let (id, request) = match Message::classify(item) {
            Err((id, error)) => {
                responses.push(jsonrpc::error(&id, error));
                continue;
            }
            Ok(Message::Request { id, method, params }) => {
                let request = McpRequest::parse(server, &method, params);
                (id, request)
            }
            Ok(_) => continue,
        };
        let answer = match request {
            Ok(McpRequest::Initialize(_)) => Ok(jsonrpc::error(
                &id,
                ErrorObject::new(INVALID_REQUEST, "initialize must not be part of a batch"),
            )),
            Ok(request) => server.answer(&id, request, ctx, &notify).await,
            Err(error) => Ok(jsonrpc::error(&id, error)),
        };
        match answer {
            Ok(response) => responses.push(response),
            Err(NeedsScope(scope)) => return bearer::insufficient_scope(urls, scope),
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

async fn delete(
    state: &State,
    req: &Request,
    identity: Option<Identity>,
    services: &Services<'_>,
) -> Response {
    let sub = identity.as_ref().map(|i| i.sub.as_str());
    let id = match check_session(state, req, services, sub).await {
        Ok(id) => id,
        Err(res) => return *res,
    };
    state.live_sessions.remove(&id);
    let ttl = state.config.session_ttl.max(crate::store::MIN_TTL_SECS);
    match services.store.put(&dead_session_key(&sha256_b64(&id)), "1", Some(ttl)).await {
        Ok(()) => web::empty(StatusCode::NO_CONTENT),
        Err(e) => web::unavailable(&e.to_string()),
    }
}
