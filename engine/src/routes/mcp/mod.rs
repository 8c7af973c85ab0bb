//! The MCP endpoint over Streamable HTTP, for both protocol eras on one URL: Host/Origin and
//! bearer authentication here, then each POST is classified by its body ([`classify`]) and served
//! by [`modern`] (2026-07-28: stateless, per-request `_meta`) or [`legacy`] (sessions of
//! 2025-11-25 and earlier). GET resumes a legacy stream (`Last-Event-ID`, [`bridge`]); without
//! one it is not offered (405). DELETE ends a legacy session.

mod bridge;
mod legacy;
mod modern;

use crate::cold::boxed;
use crate::crypto::jwt::AccessClaims;
use crate::env::{Clock, Services};
use crate::logs;
use crate::mcp::jsonrpc::{self, ErrorObject, PARSE_ERROR, SERVER_ERROR};
use crate::mcp::server::Server;
use crate::mcp::{envelope, version, Identity};
use crate::oauth::{bearer, dpop};
use crate::state::{State, GRANT_RECHECK_SECS};
use crate::store::records::GrantRecord;
use crate::urls::{host_of, is_loopback, request_origin, Urls};
use crate::web::{self, request_header, Reply, Request, Response};
use http::{HeaderValue, Method, StatusCode};
use serde_json::Value;

const ALLOW: &str = "GET, POST, DELETE, OPTIONS";
/// How soon a client whose stream closed should reconnect (the SSE `retry` field).
const SSE_RETRY_MS: u64 = 1000;
const SESSION_HEADER: &str = "mcp-session-id";

/// What phase 1 checked: the browser Origin (allowed) and the access token (`None` when
/// authorization is off), whose signatures (the token's, unless this isolate verified it
/// before, and a bound token's DPoP proof) phase 2 verifies before anything else.
#[derive(Debug, PartialEq)]
pub(super) struct Checked {
    origin: Option<String>,
    bearer: Option<bearer::Bearer>,
}

/// Phase 2: a POST or DELETE that passed [`handle_now`].
pub(super) async fn handle<'a>(
    state: &'a State,
    server: &'a Server,
    req: Request,
    checked: Checked,
    services: &'a Services<'a>,
    urls: &Urls,
) -> Reply<'a> {
    let Checked { origin, mut bearer } = checked;
    let origin = origin.as_deref();
    if let Some(bearer) = bearer.as_mut() {
        let now = services.clock.now();
        if let Err(res) = bearer::finish(state, services.verifier, &req, urls, now, bearer).await {
            return with_cors(*res, origin, false).into();
        }
    }
    if let Some(proof) = bearer.as_ref().and_then(|b| b.dpop.as_ref()) {
        if let Err(res) = dpop::at_resource_finish(state, services, urls, proof).await {
            return with_cors(*res, origin, false).into();
        }
    }
    let claims = bearer.map(|b| b.claims);
    if let Some(claims) = &claims {
        if let Some(gid) = claims.gid.as_deref() {
            // The token is verified: its grant's liveness and its session's (legacy era) are
            // looked up together.
            let (alive, ()) = futures::join!(
                grant_alive(state, gid, services, urls),
                legacy::prefetch_session(state, &req, services, &claims.sub),
            );
            if let Err(res) = alive {
                return with_cors(*res, origin, false).into();
            }
        }
    }
    let who = claims.as_ref().map(|c| (c.client_id.clone(), c.sub.clone()));
    let identity = claims.map(identity);
    let reply = match *req.method() {
        Method::POST => post(state, server, &req, identity, services, urls).await,
        Method::GET => boxed(legacy::resume(state, &req, identity, services)).await.into(),
        _ => boxed(legacy::delete(state, &req, identity, services)).await.into(),
    };
    let traced = req.headers().contains_key("traceparent");
    let finish = |res: Response| {
        let mut res = with_cors(res, origin, false);
        if !traced {
            res = logs::note_meta_trace(res, req.body());
        }
        match &who {
            Some((client, sub)) => logs::note(res, Some(client), Some(sub)),
            None => res,
        }
    };
    match reply {
        Reply::Whole(res) => Reply::Whole(finish(res)),
        Reply::Streamed { head, body, rest } => Reply::Streamed { head: finish(head), body, rest },
    }
}

/// Is the grant behind the token still there? Checked in KV once per grant and isolate every
/// [`GRANT_RECHECK_SECS`] (a revoked grant's tokens stop working within that time).
async fn grant_alive(
    state: &State,
    gid: &str,
    services: &Services<'_>,
    urls: &Urls,
) -> Result<(), Box<Response>> {
    let now = services.clock.now();
    if state.live_grants.get(gid, now).is_some() {
        return Ok(());
    }
    match services.store.get(&GrantRecord::key(gid)).await {
        Ok(Some(_)) => {
            state.live_grants.insert(gid, (), now + GRANT_RECHECK_SECS);
            Ok(())
        }
        Ok(None) => Err(Box::new(bearer::revoked(urls))),
        Err(e) => Err(Box::new(web::unavailable(&e.to_string()))),
    }
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
        // GET only resumes a stream (`Last-Event-ID`): there is no standalone stream, and a
        // probe for one gets 405 before authentication (clients read a 401 as a challenge).
        Method::GET if request_header(req, "last-event-id").is_none() => {
            web::method_not_allowed(ALLOW)
        }
        Method::GET | Method::POST | Method::DELETE if !state.config.auth_enabled() => {
            return Ok(Checked { origin, bearer: None })
        }
        Method::GET | Method::POST | Method::DELETE => {
            match bearer::authenticate(state, req, urls, clock) {
                Ok(bearer) => return Ok(Checked { origin, bearer: Some(bearer) }),
                Err(res) => *res,
            }
        }
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
        HeaderValue::from_static(
            "mcp-session-id, www-authenticate, mcp-protocol-version, dpop-nonce",
        ),
    );
    if preflight {
        h.insert("access-control-allow-methods", HeaderValue::from_static(ALLOW));
        h.insert("access-control-allow-headers", HeaderValue::from_static(web::CORS_ALLOW_HEADERS));
        h.insert("access-control-max-age", HeaderValue::from_static("86400"));
    }
    res
}

pub(super) fn rpc_error(status: StatusCode, code: i32, message: &str) -> Response {
    web::json(status, &jsonrpc::error(&Value::Null, ErrorObject::new(code, message)))
}

/// Accept must allow both JSON and SSE (or anything).
fn accepts_json_and_sse(req: &Request) -> bool {
    let accept = request_header(req, "accept").unwrap_or("");
    let has = |t: &str| web::media_types(accept).any(|m| m.eq_ignore_ascii_case(t));
    (has(web::JSON) && has("text/event-stream")) || has("*/*")
}

/// Which protocol era a POST belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Era {
    Modern,
    Legacy,
}

/// The era of a POST, from its body first (spec `basic/versioning.mdx`; the TypeScript SDK's
/// inbound classification): a request whose `params._meta` claims a protocol version is modern;
/// `initialize` without that claim, posted responses and batches are legacy; a request without
/// the claim is modern only if its `MCP-Protocol-Version` header names a modern revision (it is
/// then refused for the missing `_meta`, never answered as a legacy server would).
fn classify(body: &Value, header: Option<&str>) -> Era {
    let Value::Object(message) = body else { return Era::Legacy };
    let Some(method) = message.get("method").and_then(Value::as_str) else { return Era::Legacy };
    let claim = envelope::claim(message.get("params"));
    match (method, claim) {
        (_, Some(_)) => Era::Modern,
        ("initialize", None) => Era::Legacy,
        (_, None) if header.is_some_and(|h| version::is_modern(h.trim())) => Era::Modern,
        _ => Era::Legacy,
    }
}

async fn post<'a>(
    state: &'a State,
    server: &'a Server,
    req: &Request,
    identity: Option<Identity>,
    services: &'a Services<'a>,
    urls: &Urls,
) -> Reply<'a> {
    if !accepts_json_and_sse(req) {
        return rpc_error(
            StatusCode::NOT_ACCEPTABLE,
            SERVER_ERROR,
            "Not Acceptable: Accept must include application/json and text/event-stream",
        )
        .into();
    }
    if !web::content_type_is(req, web::JSON) {
        return rpc_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            SERVER_ERROR,
            "Unsupported Media Type: Content-Type must be application/json",
        )
        .into();
    }
    let body: Value = match serde_json::from_slice(req.body()) {
        Ok(v) => v,
        Err(_) => {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                PARSE_ERROR,
                "Parse error: the body is not valid JSON",
            )
            .into()
        }
    };
    // Each era's handling is boxed: a cold isolate compiles only the era it is asked in.
    match classify(&body, request_header(req, "mcp-protocol-version")) {
        Era::Modern => {
            boxed(modern::post(state, server, req, body, identity, services, urls)).await.into()
        }
        Era::Legacy => {
            boxed(legacy::post(state, server, req, body, identity, services, urls)).await
        }
    }
}

/// A complete SSE response: each message as one `message` event, then the stream ends.
pub(super) fn sse(messages: &[Value]) -> Response {
    let mut body = String::new();
    for m in messages {
        body.push_str("event: message\ndata: ");
        body.push_str(&m.to_string());
        body.push_str("\n\n");
    }
    sse_body(body)
}

/// An SSE response with this body.
pub(super) fn sse_body(body: String) -> Response {
    let mut res = web::respond(StatusCode::OK, "text/event-stream", body);
    res.headers_mut().insert(http::header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Proxies must not hold back events (streamable-http.mdx).
    res.headers_mut().insert("x-accel-buffering", HeaderValue::from_static("no"));
    res
}

/// The head of a streamed SSE response (the body follows as it is written).
pub(super) fn sse_head() -> Response {
    sse_body(String::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_body_decides_the_era() {
        let modern_meta = json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}}});
        let req = |method: &str, params: Value| json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        assert_eq!(classify(&req("tools/list", modern_meta.clone()), None), Era::Modern);
        // A modern envelope on initialize is modern (and refused there: -32601).
        assert_eq!(classify(&req("initialize", modern_meta.clone()), None), Era::Modern);
        assert_eq!(classify(&req("initialize", json!({})), Some("2026-07-28")), Era::Legacy);
        assert_eq!(classify(&req("tools/list", json!({})), Some("2025-11-25")), Era::Legacy);
        assert_eq!(classify(&req("tools/list", json!({})), None), Era::Legacy);
        // No envelope but a modern header: modern, so the missing _meta is reported.
        assert_eq!(classify(&req("tools/list", json!({})), Some(" 2026-07-28 ")), Era::Modern);
        assert_eq!(classify(&json!([req("tools/list", modern_meta)]), None), Era::Legacy);
        assert_eq!(
            classify(&json!({"jsonrpc": "2.0", "id": 1, "result": {}}), Some("2026-07-28")),
            Era::Legacy
        );
    }
}
