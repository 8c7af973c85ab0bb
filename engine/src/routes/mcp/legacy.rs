//! Sessions of the revisions before 2026-07-28 (2025-11-25 and earlier, Streamable HTTP):
//! `initialize` opens a signed session, every later request carries `Mcp-Session-Id` and
//! `MCP-Protocol-Version`, batches where the revision has them, DELETE ends a session.

use super::bridge::{self, Pending};
use super::{rpc_error, sse, sse_body, SESSION_HEADER};
use crate::crypto::sha256_b64;
use crate::env::random_token;
use crate::env::Services;
use crate::mcp::envelope::ClientCapabilities;
use crate::mcp::jsonrpc::{self, ErrorObject, Message, INVALID_REQUEST, SERVER_ERROR};
use crate::mcp::server::{Asks, CallContext, Refusal, Request as McpRequest, Server};
use crate::mcp::session::Session;
use crate::mcp::tools::Delivery;
use crate::mcp::{session, version, Identity};
use crate::oauth::bearer;
use crate::state::{State, SESSION_RECHECK_SECS};
use crate::store::records::dead_session_key;
use crate::urls::Urls;
use crate::web::{self, request_header, Reply, Request, Response};
use http::{HeaderValue, StatusCode};
use serde_json::Value;
use std::cell::RefCell;

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
) -> Result<(String, Session), Box<Response>> {
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
    let session = session::verify(&state.secret, id, now, state.config.session_ttl, sub)
        .map_err(|_| not_found())?;
    match session_alive(state, id, services, now).await {
        Ok(true) => Ok((id.to_owned(), session)),
        Ok(false) => Err(not_found()),
        Err(e) => Err(Box::new(web::unavailable(&e.to_string()))),
    }
}

/// Has the (verified) session no tombstone? Looked up in KV once per session and isolate every
/// [`SESSION_RECHECK_SECS`].
async fn session_alive(
    state: &State,
    id: &str,
    services: &Services<'_>,
    now: u64,
) -> Result<bool, crate::store::StoreError> {
    if state.live_sessions.get(id, now).is_some() {
        return Ok(true);
    }
    let alive = services.store.get(&dead_session_key(&sha256_b64(id))).await?.is_none();
    if alive {
        state.live_sessions.insert(id, (), now + SESSION_RECHECK_SECS);
    }
    Ok(alive)
}

/// The session's liveness looked up beside the grant's (`routes::mcp::handle` awaits both at
/// once), so that [`check_session`] then finds it in this isolate's memo: a session this isolate
/// has not seen lately costs one KV round trip of waiting, not two. Only for a session header
/// that verifies for `sub` (nobody makes us read KV with a made-up one); any other outcome is
/// left to [`check_session`], which decides.
pub(super) async fn prefetch_session(
    state: &State,
    req: &Request,
    services: &Services<'_>,
    sub: &str,
) {
    let Some(id) = request_header(req, SESSION_HEADER) else { return };
    let now = services.clock.now();
    // Seen lately (every call but the first few of a session): nothing to look up, and the
    // session's seal is verified once, by `check_session`.
    if state.live_sessions.get(id, now).is_some() {
        return;
    }
    if session::verify(&state.secret, id, now, state.config.session_ttl, Some(sub)).is_ok() {
        let _ = session_alive(state, id, services, now).await;
    }
}

/// A POST of a session revision (the body is already parsed; Accept and Content-Type checked).
pub(super) async fn post<'a>(
    state: &'a State,
    server: &'a Server,
    req: &Request,
    body: Value,
    identity: Option<Identity>,
    services: &'a Services<'a>,
    urls: &Urls,
) -> Reply<'a> {
    // The header is checked once, for every message (also `initialize`).
    let version = match protocol_version(req) {
        Ok(v) => v,
        Err(res) => return (*res).into(),
    };
    let sub = identity.as_ref().map(|i| i.sub.as_str());
    let ctx = CallContext {
        identity: identity.as_ref(),
        store: Some(services.store),
        fetch: Some((services.fetch, crate::oauth::cimd::loopback_allowed(state))),
        vars: Some(&state.config.tool_vars),
        now: services.clock.now(),
        modern: None,
        asks: None,
    };

    if let Value::Array(batch) = body {
        if !version::allows_batches(version) || batch.is_empty() {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                INVALID_REQUEST,
                "Invalid Request: JSON-RPC batches are not supported in this protocol version",
            )
            .into();
        }
        if let Err(res) = check_session(state, req, services, sub).await {
            return (*res).into();
        }
        return run_batch(server, batch, &ctx, urls).await.into();
    }

    let message = match Message::classify(body) {
        Ok(m) => m,
        Err((id, error)) => {
            return web::json(StatusCode::BAD_REQUEST, &jsonrpc::error(&id, error)).into()
        }
    };
    let (id, method, params) = match message {
        Message::Request { id, method, params } => (id, method, params),
        // Notifications are acknowledged.
        Message::Notification { .. } => {
            return match check_session(state, req, services, sub).await {
                Ok(_) => web::empty(StatusCode::ACCEPTED),
                Err(res) => *res,
            }
            .into()
        }
        // An answer to one of our requests: to the call that waits for it, wherever it runs.
        Message::Response { id, outcome } => {
            return match check_session(state, req, services, sub).await {
                Ok((session_id, _)) => answer(services, &session_id, &id, outcome).await,
                Err(res) => *res,
            }
            .into()
        }
    };
    let request = match McpRequest::parse(server, &method, params) {
        // A new session: the only request without one.
        Ok(McpRequest::Initialize(params)) => {
            let (result, version) = server.initialize(&params);
            let caps = ClientCapabilities::from_json(&params.capabilities);
            let session_id =
                session::issue(&state.secret, services.random, ctx.now, version, sub, &caps);
            let mut res = web::json(StatusCode::OK, &jsonrpc::result(&id, result));
            if let Ok(v) = HeaderValue::from_str(&session_id) {
                res.headers_mut().insert(SESSION_HEADER, v);
            }
            return res.into();
        }
        request => request,
    };
    let (session_id, session) = match check_session(state, req, services, sub).await {
        Ok(found) => found,
        Err(res) => return (*res).into(),
    };
    let request = match request {
        Ok(request) => request,
        Err(error) => return web::json(StatusCode::OK, &jsonrpc::error(&id, error)).into(),
    };
    // A call of a client that can be asked for input may need the bridge: keep it to call again.
    let (call, asks) = match &request {
        McpRequest::ToolsCall(call) if session.capabilities != ClientCapabilities::default() => {
            (Some(call.clone()), true)
        }
        _ => (None, false),
    };
    let ctx = CallContext {
        asks: asks.then_some(Asks { capabilities: &session.capabilities, state: None }),
        ..ctx
    };
    let notes = RefCell::new(Vec::new());
    let notify = |m: &str, p: Value| notes.borrow_mut().push(jsonrpc::notification(m, p));
    // A tool that delivers by resumption: the POST stream closes after its priming event.
    let detach =
        matches!(&request, McpRequest::ToolsCall(c) if c.tool.delivery == Delivery::Resume);
    let response = match server.answer(&id, request, &ctx, &notify).await {
        Ok(response) => response,
        Err(Refusal::Scope(scopes)) => {
            return bearer::insufficient_scope(urls, &scopes.join(" ")).into()
        }
        Err(Refusal::Capability(scope)) => return bearer::insufficient_scope(urls, scope).into(),
        Err(Refusal::Input(first)) => {
            let Some(call) = call else {
                let error = ErrorObject::new(SERVER_ERROR, "unexpected input request");
                return web::json(StatusCode::OK, &jsonrpc::error(&id, error)).into();
            };
            let pending = Pending {
                session: sha256_b64(&session_id),
                call_id: random_token(services.random, 12),
                rpc_id: id,
                call,
                identity,
                capabilities: session.capabilities,
            };
            return bridge::start(state, server, services, pending, first, notes.into_inner());
        }
    };
    let mut messages = notes.into_inner();
    if detach {
        // The conformance fixture for resumption: the result only by resuming the stream.
        messages.push(response);
        let call_id = random_token(services.random, 12);
        return match bridge::detach(services, &sha256_b64(&session_id), &call_id, &messages).await {
            Ok(priming) => sse_body(priming).into(),
            Err(e) => web::unavailable(&e.to_string()).into(),
        };
    }
    if messages.is_empty() {
        web::json(StatusCode::OK, &response).into()
    } else {
        messages.push(response);
        sse(&messages).into()
    }
}

/// Delivers a client's answer: 202 when a call waited for it, else 404 (it ended or timed out).
async fn answer(
    services: &Services<'_>,
    session_id: &str,
    id: &Value,
    outcome: serde_json::Map<String, Value>,
) -> Response {
    match bridge::deliver(services, &sha256_b64(session_id), id, outcome).await {
        Ok(true) => web::empty(StatusCode::ACCEPTED),
        Ok(false) => rpc_error(
            StatusCode::NOT_FOUND,
            SERVER_ERROR,
            "No call waits for this answer: it ended, timed out or was answered already",
        ),
        Err(e) => web::unavailable(&e.to_string()),
    }
}

/// GET with `Last-Event-ID`: the events of a stream after that id ([`bridge::resume`]).
pub(super) async fn resume(
    state: &State,
    req: &Request,
    identity: Option<Identity>,
    services: &Services<'_>,
) -> Response {
    if let Err(res) = protocol_version(req) {
        return *res;
    }
    let sub = identity.as_ref().map(|i| i.sub.as_str());
    let (session_id, _) = match check_session(state, req, services, sub).await {
        Ok(found) => found,
        Err(res) => return *res,
    };
    let last = request_header(req, "last-event-id").unwrap_or_default().trim();
    match bridge::resume(services, &sha256_b64(&session_id), last).await {
        Ok(Some(body)) => sse_body(body),
        Ok(None) => rpc_error(
            StatusCode::BAD_REQUEST,
            SERVER_ERROR,
            "Bad Request: Last-Event-ID names no stream of this session (unknown or expired)",
        ),
        Err(e) => web::unavailable(&e.to_string()),
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
            Err(Refusal::Scope(scopes)) => {
                return bearer::insufficient_scope(urls, &scopes.join(" "))
            }
            Err(Refusal::Capability(scope)) => return bearer::insufficient_scope(urls, scope),
            // Batches (2025-03-26) carry no calls that wait for input (`asks` is off here).
            Err(Refusal::Input(_)) => responses.push(jsonrpc::error(
                &Value::Null,
                ErrorObject::new(SERVER_ERROR, "a call in a batch cannot ask for input"),
            )),
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

pub(super) async fn delete(
    state: &State,
    req: &Request,
    identity: Option<Identity>,
    services: &Services<'_>,
) -> Response {
    let sub = identity.as_ref().map(|i| i.sub.as_str());
    let id = match check_session(state, req, services, sub).await {
        Ok((id, _)) => id,
        Err(res) => return *res,
    };
    state.live_sessions.remove(&id);
    let ttl = state.config.session_ttl.max(crate::store::MIN_TTL_SECS);
    match services.store.put(&dead_session_key(&sha256_b64(&id)), "1", Some(ttl)).await {
        Ok(()) => web::empty(StatusCode::NO_CONTENT),
        Err(e) => web::unavailable(&e.to_string()),
    }
}
