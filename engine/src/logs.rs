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
    /// Every request.
    All,
    /// Failures (the default): responses with status 400 and above, except the bare `401`
    /// challenge every client meets before it has a token (RFC 6750 §3.1: no error code).
    Errors,
    Off,
}

impl RequestLog {
    pub fn wants(self, res: &Response) -> bool {
        match self {
            RequestLog::All => true,
            RequestLog::Errors => res.status().as_u16() >= 400 && !is_bare_challenge(res),
            RequestLog::Off => false,
        }
    }
}

/// A `401` that asks for a token without saying anything was wrong with one.
fn is_bare_challenge(res: &Response) -> bool {
    res.status() == http::StatusCode::UNAUTHORIZED
        && res
            .headers()
            .get(http::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Bearer ") && !v.contains("error="))
}

/// Who a response was for, attached to it by the handler that knows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Note {
    pub client_id: Option<String>,
    pub sub: Option<String>,
    /// The trace id a JSON-RPC request carried in `params._meta.traceparent` (SEP-414).
    pub trace: Option<String>,
}

/// Attaches who a response was for.
pub fn note(mut res: Response, client_id: Option<&str>, sub: Option<&str>) -> Response {
    let trace = res.extensions_mut().remove::<Note>().and_then(|n| n.trace);
    let (client_id, sub) = (client_id.map(str::to_owned), sub.map(str::to_owned));
    res.extensions_mut().insert(Note { client_id, sub, trace });
    res
}

/// Attaches the trace id of a JSON-RPC request's `params._meta.traceparent` (SEP-414), when
/// `body` has a valid one and the request had no `traceparent` header. Only a body that
/// mentions `traceparent` is parsed again.
pub fn note_meta_trace(mut res: Response, body: &[u8]) -> Response {
    if !body.windows(11).any(|w| w == b"traceparent") {
        return res;
    }
    let Ok(message) = serde_json::from_slice::<Value>(body) else { return res };
    let trace = message
        .pointer("/params/_meta/traceparent")
        .and_then(Value::as_str)
        .and_then(trace_id)
        .map(str::to_owned);
    if trace.is_some() {
        let mut note = res.extensions_mut().remove::<Note>().unwrap_or_default();
        note.trace = trace;
        res.extensions_mut().insert(note);
    }
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
    /// The W3C trace context's trace id (`traceparent`), when the client sent a valid one.
    trace: Option<String>,
}

impl Head {
    /// The request's head, with Cloudflare's `cf-ray` and the W3C `traceparent` when there
    /// are.
    pub fn of(req: &Request) -> Head {
        Head {
            method: req.method().as_str().to_owned(),
            path: req.uri().path().chars().take(256).collect(),
            ray: header(req.headers(), "cf-ray").map(|r| r.chars().take(64).collect()),
            trace: header(req.headers(), "traceparent").and_then(trace_id).map(str::to_owned),
        }
    }
}

/// The trace id of a W3C `traceparent` (`00-{32 hex}-{16 hex}-{2 hex}`, version 00 or a later
/// one of the same prefix; all-zero ids are invalid): what links our line to the client's trace.
pub fn trace_id(traceparent: &str) -> Option<&str> {
    let mut parts = traceparent.trim().split('-');
    let (version, trace, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| {
        s.len() == n && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    let valid = hex(version, 2)
        && version != "ff"
        && (version != "00" || parts.next().is_none())
        && hex(trace, 32)
        && hex(parent, 16)
        && hex(flags, 2)
        && trace.bytes().any(|b| b != b'0')
        && parent.bytes().any(|b| b != b'0');
    valid.then_some(trace)
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

/// Appends `s` as a JSON string.
fn push_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                use std::fmt::Write;
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends `,"key":` and `s` as a JSON string.
fn push_field(out: &mut String, key: &str, s: &str) {
    out.push_str(",\"");
    out.push_str(key);
    out.push_str("\":");
    push_str(out, s);
}

/// The access line of a request: one JSON object, written straight into one string (no JSON
/// tree; this runs on every request, docs/benchmarks.md "The request log").
pub fn access_line(head: &Head, res: &Response, unix_ms: u64, duration_ms: u64) -> String {
    use std::fmt::Write;
    let note = res.extensions().get::<Note>();
    let mut line = String::with_capacity(160);
    let _ = write!(line, "{{\"t\":{unix_ms},\"kind\":\"request\"");
    push_field(&mut line, "method", &head.method);
    push_field(&mut line, "path", &head.path);
    let _ = write!(line, ",\"status\":{},\"ms\":{duration_ms}", res.status().as_u16());
    if let Some(ray) = &head.ray {
        push_field(&mut line, "ray", ray);
    }
    if let Some(trace) = head.trace.as_ref().or(note.and_then(|n| n.trace.as_ref())) {
        push_field(&mut line, "trace", trace);
    }
    if let Some(client) = note.and_then(|n| n.client_id.as_deref()) {
        push_field(&mut line, "client", client);
    }
    if let Some(sub) = note.and_then(|n| n.sub.as_deref()) {
        push_field(&mut line, "sub", &subject_tag(sub));
    }
    if let Some(code) = error_code(res) {
        let _ = write!(line, ",\"error\":{code}");
    }
    line.push('}');
    line
}

/// A request id for lines without a `cf-ray` (local runs): a random prefix drawn once per
/// isolate and a counter, so no request pays for randomness.
fn local_request_id(random: &dyn crate::env::Random) -> String {
    thread_local! {
        static NEXT: std::cell::RefCell<(String, u64)> = const { std::cell::RefCell::new((String::new(), 0)) };
    }
    NEXT.with(|next| {
        let mut next = next.borrow_mut();
        if next.0.is_empty() {
            next.0 = crate::env::random_token(random, 6);
        }
        next.1 += 1;
        format!("{}-{}", next.0, next.1)
    })
}

/// Writes the access line of a request if `level` wants it; without a `cf-ray` (local runs)
/// the request gets a local id.
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
    let line = if head.ray.is_none() {
        let head = Head { ray: Some(local_request_id(random)), ..head.clone() };
        access_line(&head, res, unix_ms, duration_ms)
    } else {
        access_line(head, res, unix_ms, duration_ms)
    };
    log::info!(target: "access", "{line}");
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

    #[test]
    fn the_trace_context_is_carried_from_the_header_or_the_request_meta() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(trace_id(tp), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-\"},\"x\":\"-00f067aa0ba902b7-01",
        ] {
            assert_eq!(trace_id(bad), None, "{bad:?}");
        }
        let req = http::Request::builder()
            .method("POST")
            .uri("https://x.example/mcp")
            .header("traceparent", tp)
            .body(Vec::new())
            .unwrap();
        let ok = crate::web::json(StatusCode::OK, &json!({}));
        let line: Value = serde_json::from_str(&access_line(&Head::of(&req), &ok, 0, 0)).unwrap();
        assert_eq!(line["trace"], "4bf92f3577b34da6a3ce929d0e0e4736");
        // In `params._meta` (SEP-414), kept through the handler's note.
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "echo", "_meta": {"traceparent": tp}}});
        let plain = http::Request::builder().uri("https://x.example/mcp").body(Vec::new()).unwrap();
        let res = note_meta_trace(ok.clone(), body.to_string().as_bytes());
        let res = note(res, Some("c"), Some("s"));
        let line: Value =
            serde_json::from_str(&access_line(&Head::of(&plain), &res, 0, 0)).unwrap();
        assert_eq!(line["trace"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(line["client"], "c");
    }

    #[test]
    fn lines_are_json_whatever_the_path_holds() {
        let req = http::Request::builder()
            .method("GET")
            .uri("https://x.example/a%22b%5C%0A")
            .body(Vec::new())
            .unwrap();
        let mut head = Head::of(&req);
        head.path = "/q\"uote\\back\nline\u{1}\u{7f}é".into();
        let res = note(crate::web::json(StatusCode::OK, &json!({})), Some("cl\"ient"), None);
        let line: Value = serde_json::from_str(&access_line(&head, &res, 5, 6)).unwrap();
        assert_eq!(line["path"], "/q\"uote\\back\nline\u{1}\u{7f}é");
        assert_eq!(line["client"], "cl\"ient");
        assert_eq!((line["t"].as_u64(), line["ms"].as_u64()), (Some(5), Some(6)));
    }
}
