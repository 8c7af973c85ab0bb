//! Sessions of the revisions before 2026-07-28 (2025-11-25 and earlier, Streamable HTTP):
//! `initialize` opens a signed session, every later request carries `Mcp-Session-Id` and
//! `MCP-Protocol-Version`, batches where the revision has them, DELETE ends a session.

use super::{rpc_error, sse, SESSION_HEADER};
use crate::crypto::sha256_b64;
use crate::env::Services;
use crate::mcp::jsonrpc::{self, ErrorObject, Message, INVALID_REQUEST, SERVER_ERROR};
use crate::mcp::server::{CallContext, Refusal, Request as McpRequest, Server};
use crate::mcp::{session, version, Identity};
use crate::oauth::bearer;
use crate::state::{State, SESSION_RECHECK_SECS};
use crate::store::records::dead_session_key;
use crate::urls::Urls;
use crate::web::{self, request_header, Request, Response};
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

/// A POST of a session revision (the body is already parsed; Accept and Content-Type checked).
pub(super) async fn post(
    state: &State,
    server: &Server,
    req: &Request,
    body: Value,
    identity: Option<Identity>,
    services: &Services<'_>,
    urls: &Urls,
) -> Response {
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
        modern: None,
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
        Err(Refusal::Scope(scope) | Refusal::Capability(scope)) => {
            return bearer::insufficient_scope(urls, scope)
        }
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
            Err(Refusal::Scope(scope) | Refusal::Capability(scope)) => {
                return bearer::insufficient_scope(urls, scope)
            }
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
