//! Request logs and notable events, one JSON line each (readable in `wrangler tail` and Workers
//! Logs). Lines carry identifiers, never secrets: no token, code, password, cookie, assertion or
//! query string; the subject only as a short hash.
//!
//! - Access lines (`log` target `access`): time, request id (Cloudflare's `cf-ray`, when there
//!   is one), method, path, status, duration, client id, subject hash, and the OAuth or
//!   JSON-RPC error code of an error response.
//! - Event lines (target `event`): sign-in failures, throttling, grants created and revoked, the
//!   signing key in use.
//!
//! Handlers say who a response was for with [`note`]; everything else is read from the
//! request head and the response.

use crate::crypto::sha256_b64;
use crate::web::{header, Request, Response};
use serde_json::{json, Value};

/// Which requests get an access line (`REQUEST_LOG`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestLog {
    /// Every request (the default).
    All,
    /// Only responses with status 400 and above.
    Errors,
    Off,
}

impl RequestLog {
    pub fn wants(self, res: &Response) -> bool {
        match self {
            RequestLog::All => true,
            RequestLog::Errors => res.status().as_u16() >= 400,
            RequestLog::Off => false,
        }
    }
}

/// Who a response was for, attached to it by the handler that knows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Note {
    pub client_id: Option<String>,
    pub sub: Option<String>,
}

/// Attaches who a response was for.
pub fn note(mut res: Response, client_id: Option<&str>, sub: Option<&str>) -> Response {
    res.extensions_mut()
        .insert(Note { client_id: client_id.map(str::to_owned), sub: sub.map(str::to_owned) });
    res
}

/// A short, stable, non-reversible tag of a subject (12 characters of SHA-256).
pub fn subject_tag(sub: &str) -> String {
    sha256_b64(sub).chars().take(12).collect()
}

/// What the access line needs from the request, taken before the request is consumed.
#[derive(Debug, Clone)]
pub struct Head {
    method: String,
    path: String,
    ray: Option<String>,
}

impl Head {
    /// The request's head, with Cloudflare's `cf-ray` when there is one.
    pub fn of(req: &Request) -> Head {
        Head {
            method: req.method().as_str().to_owned(),
            path: req.uri().path().chars().take(256).collect(),
            ray: header(req.headers(), "cf-ray").map(|r| r.chars().take(64).collect()),
        }
    }
}

/// The error code of an error response: OAuth's `error` string, or a JSON-RPC error's code.
fn error_code(res: &Response) -> Option<Value> {
    let body = res.body();
    if body.is_empty() || body.len() > 16 * 1024 || !body.windows(7).any(|w| w == b"\"error\"") {
        return None;
    }
    let value: Value = serde_json::from_slice(body).ok()?;
    match value.get("error")? {
        Value::String(code) => Some(json!(code)),
        Value::Object(e) => e.get("code").cloned(),
        _ => None,
    }
}

/// The access line of a request.
pub fn access_line(head: &Head, res: &Response, unix_ms: u64, duration_ms: u64) -> String {
    let note = res.extensions().get::<Note>();
    let mut line = json!({
        "t": unix_ms,
        "kind": "request",
        "method": head.method,
        "path": head.path,
        "status": res.status().as_u16(),
        "ms": duration_ms,
    });
    if let Some(ray) = &head.ray {
        line["ray"] = json!(ray);
    }
    if let Some(client) = note.and_then(|n| n.client_id.as_deref()) {
        line["client"] = json!(client);
    }
    if let Some(sub) = note.and_then(|n| n.sub.as_deref()) {
        line["sub"] = json!(subject_tag(sub));
    }
    if let Some(code) = error_code(res) {
        line["error"] = code;
    }
    line.to_string()
}

/// Writes the access line of a request if `level` wants it; without a `cf-ray` (local runs)
/// the request gets a random id.
pub fn access(
    level: RequestLog,
    head: &Head,
    res: &Response,
    unix_ms: u64,
    duration_ms: u64,
    random: &dyn crate::env::Random,
) {
    if !level.wants(res) {
        return;
    }
    if head.ray.is_none() {
        let head = Head { ray: Some(crate::env::random_token(random, 8)), ..head.clone() };
        log::info!(target: "access", "{}", access_line(&head, res, unix_ms, duration_ms));
    } else {
        log::info!(target: "access", "{}", access_line(head, res, unix_ms, duration_ms));
    }
}

/// Writes an event line: `kind` and its fields (identifiers only).
pub fn event(kind: &str, fields: Value) {
    let mut line = json!({ "kind": kind });
    if let (Value::Object(line), Value::Object(fields)) = (&mut line, fields) {
        line.extend(fields);
    }
    log::info!(target: "event", "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    #[test]
    fn lines_name_the_request_and_never_the_query() {
        let req = http::Request::builder()
            .method("POST")
            .uri("https://x.example/token?code=SECRET")
            .header("cf-ray", "8f00-LHR")
            .body(Vec::new())
            .unwrap();
        let head = Head::of(&req);
        let res = note(
            crate::web::error(StatusCode::BAD_REQUEST, "invalid_grant", "nope"),
            Some("client-1"),
            Some("user-alice"),
        );
        let line: Value = serde_json::from_str(&access_line(&head, &res, 1_000, 3)).unwrap();
        assert_eq!(line["path"], "/token");
        assert_eq!(line["ray"], "8f00-LHR");
        assert_eq!(line["status"], 400);
        assert_eq!(line["error"], "invalid_grant");
        assert_eq!(line["client"], "client-1");
        assert_eq!(line["sub"], subject_tag("user-alice"));
        assert!(!line.to_string().contains("SECRET") && !line.to_string().contains("user-alice"));
        let rpc = crate::web::json(
            StatusCode::OK,
            &json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32602, "message": "m"}}),
        );
        let line: Value = serde_json::from_str(&access_line(&head, &rpc, 0, 0)).unwrap();
        assert_eq!(line["error"], -32602);
    }
}
