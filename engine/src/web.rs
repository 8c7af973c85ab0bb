//! Plain `http` helpers shared by every endpoint: request/response aliases, JSON and error
//! responses, CORS, forms, query strings and the request's public origin.

use http::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderMap, StatusCode};
use serde::Serialize;

pub type Request = http::Request<Vec<u8>>;
pub type Response = http::Response<Vec<u8>>;

pub const JSON: &str = "application/json";

/// A response with a body and content type.
pub fn respond(status: StatusCode, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
    let mut res = http::Response::new(body.into());
    *res.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        res.headers_mut().insert(CONTENT_TYPE, v);
    }
    res
}

pub fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => respond(status, JSON, body),
        Err(_) => empty(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

pub fn empty(status: StatusCode) -> Response {
    let mut res = http::Response::new(Vec::new());
    *res.status_mut() = status;
    res
}

/// `{"error": code, "error_description": description}`: the OAuth error shape, also used for
/// plain HTTP errors so every client sees one format.
pub fn error(status: StatusCode, code: &str, description: &str) -> Response {
    json(status, &serde_json::json!({ "error": code, "error_description": description }))
}

pub fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

pub fn method_not_allowed(allow: &str) -> Response {
    let mut res = error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "method not allowed");
    if let Ok(v) = HeaderValue::from_str(allow) {
        res.headers_mut().insert(ALLOW, v);
    }
    res
}

/// 503 for storage failures: safe to retry, nothing half-written.
pub fn unavailable(detail: &str) -> Response {
    let mut res = error(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        "storage is temporarily unavailable; retry shortly",
    );
    res.headers_mut().insert("retry-after", HeaderValue::from_static("1"));
    log::error!("storage failure: {detail}");
    res
}

pub fn no_store(mut res: Response) -> Response {
    res.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res.headers_mut().insert("pragma", HeaderValue::from_static("no-cache"));
    res
}

/// Adds permissive CORS headers: metadata, registration and token endpoints are called from
/// browser-based clients (MCP Inspector) on other origins, and carry no ambient credentials.
pub fn cors(mut res: Response) -> Response {
    res.headers_mut().insert("access-control-allow-origin", HeaderValue::from_static("*"));
    res
}

/// `res` with the header `name: value`, readable by browsers cross-origin
/// (`Access-Control-Expose-Headers`).
pub fn with_exposed_header(mut res: Response, name: &'static str, value: &str) -> Response {
    let Ok(v) = HeaderValue::from_str(value) else { return res };
    res.headers_mut().insert(name, v);
    let expose = match res.headers().get("access-control-expose-headers") {
        Some(e) => format!("{}, {name}", e.to_str().unwrap_or_default()),
        None => name.to_owned(),
    };
    if let Ok(v) = HeaderValue::from_str(&expose) {
        res.headers_mut().insert("access-control-expose-headers", v);
    }
    res
}

/// The request headers browsers may send us cross-origin (every preflight answers with these).
pub const CORS_ALLOW_HEADERS: &str = "authorization, dpop, content-type, accept, mcp-protocol-version, mcp-session-id, last-event-id, mcp-method, mcp-name, mcp-param-region, traceparent";

/// The answer to a CORS preflight for `methods`.
pub fn preflight(methods: &str) -> Response {
    let mut res = empty(StatusCode::NO_CONTENT);
    let h = res.headers_mut();
    h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    if let Ok(v) = HeaderValue::from_str(methods) {
        h.insert("access-control-allow-methods", v);
    }
    h.insert("access-control-allow-headers", HeaderValue::from_static(CORS_ALLOW_HEADERS));
    h.insert("access-control-max-age", HeaderValue::from_static("86400"));
    res
}

pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The request headers the application reads. The Workers adapter (engine/src/edge) copies only these
/// into the `http::Request`: walking every header of a request costs more than the rest of a
/// metadata GET (docs/benchmarks.md). A handler that reads another header must add it here;
/// [`request_header`] checks that in debug builds, so every test would catch the omission.
pub const REQUEST_HEADERS: &[&str] = &[
    "accept",
    "authorization",
    "cf-connecting-ip",
    "cf-ray",
    "content-length",
    "content-type",
    "cookie",
    // RFC 9449 proofs (engine/src/oauth/dpop.rs), at /token and /mcp.
    "dpop",
    "host",
    "last-event-id",
    "mcp-method",
    "mcp-name",
    // `Mcp-Param-*` headers our tools declare with `x-mcp-header` (each must be listed).
    "mcp-param-region",
    "mcp-protocol-version",
    "mcp-session-id",
    "origin",
    // W3C trace context, carried into the access line (crate::logs).
    "traceparent",
];

/// The headers [`crate::app::App::respond_now`] may read: it sees a [`head_only`] copy of the
/// request, and the rest of [`REQUEST_HEADERS`] is copied only for requests it leaves.
pub const HEAD_HEADERS: &[&str] = &[
    "authorization",
    "cf-ray",
    "content-length",
    "dpop",
    "host",
    "last-event-id",
    "origin",
    "traceparent",
];

/// Marks a request that carries only [`HEAD_HEADERS`] and no body (see [`head_only`]).
#[derive(Clone, Copy, Debug)]
pub struct HeadOnly;

/// The method, URI and [`HEAD_HEADERS`] of `req`, marked [`HeadOnly`]: what the Workers adapter
/// gives [`crate::app::App::respond_now`].
pub fn head_only(req: &Request) -> Request {
    let mut head = http::Request::new(Vec::new());
    *head.method_mut() = req.method().clone();
    *head.uri_mut() = req.uri().clone();
    for name in HEAD_HEADERS {
        for value in req.headers().get_all(*name) {
            head.headers_mut().append(*name, value.clone());
        }
    }
    head.extensions_mut().insert(HeadOnly);
    head
}

/// A request header the application reads (one of [`REQUEST_HEADERS`], or of [`HEAD_HEADERS`]
/// on a [`HeadOnly`] request), if valid UTF-8.
pub fn request_header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    debug_assert!(
        REQUEST_HEADERS.contains(&name),
        "request header {name:?} is not listed in web::REQUEST_HEADERS"
    );
    debug_assert!(
        req.extensions().get::<HeadOnly>().is_none() || HEAD_HEADERS.contains(&name),
        "request header {name:?} is read before the body (App::respond_now) but is not listed in web::HEAD_HEADERS"
    );
    header(req.headers(), name)
}

/// The media types of a `Content-Type` or `Accept` value, without parameters (`a/b; q=1, c/d`
/// → `a/b`, `c/d`).
pub fn media_types(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(|part| part.split(';').next().unwrap_or("").trim())
}

/// Is the request's `Content-Type` `mime` (case-insensitive, parameters ignored)?
pub fn content_type_is(req: &Request, mime: &str) -> bool {
    request_header(req, "content-type")
        .and_then(|ct| media_types(ct).next())
        .is_some_and(|m| m.eq_ignore_ascii_case(mime))
}

/// Decodes `application/x-www-form-urlencoded` (also used for query strings). Later duplicates
/// are kept so callers can reject repeated parameters (RFC 6749 §3.1).
pub fn parse_form(input: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(input.as_bytes()).into_owned().collect()
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space).
pub fn form_decode(component: &str) -> String {
    let spaced = component.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

/// Encodes a component for a query string or form body (`application/x-www-form-urlencoded`).
pub fn percent_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The most parameters a form or query string may carry. Every form we serve has fewer than
/// 20; parsing stops after this many, so a body of a million keys costs what 65 cost.
pub const MAX_PARAMS: usize = 64;

/// Form parameters (at most [`MAX_PARAMS`]), for callers that refuse repeated ones.
pub struct Params {
    pairs: Vec<(String, String)>,
    /// More than [`MAX_PARAMS`] were sent (the rest were not parsed).
    too_many: bool,
}

impl Params {
    pub fn parse(input: &str) -> Self {
        let mut pairs: Vec<(String, String)> = form_urlencoded::parse(input.as_bytes())
            .take(MAX_PARAMS + 1)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let too_many = pairs.len() > MAX_PARAMS;
        pairs.truncate(MAX_PARAMS);
        Self { pairs, too_many }
    }
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
    /// The first parameter name that is repeated, if any (linear: one hash set).
    pub fn duplicate(&self) -> Option<&str> {
        let mut seen = std::collections::HashSet::with_capacity(self.pairs.len());
        self.pairs.iter().map(|(k, _)| k.as_str()).find(|k| !seen.insert(*k))
    }
    /// More than [`MAX_PARAMS`] were sent.
    pub fn too_many(&self) -> bool {
        self.too_many
    }
    /// Why these parameters cannot be used as a request: more than [`MAX_PARAMS`], or one
    /// repeated (RFC 6749 §3.1: parameters must not be included more than once).
    pub fn problem(&self) -> Option<String> {
        if self.too_many {
            return Some(format!("too many parameters (at most {MAX_PARAMS})"));
        }
        self.duplicate().map(|dup| format!("parameter {dup} is repeated"))
    }
}

/// The caller's address as Cloudflare reports it (`CF-Connecting-IP`), for rate limits.
pub fn client_address(req: &Request) -> String {
    request_header(req, "cf-connecting-ip").unwrap_or("unknown").chars().take(64).collect()
}

/// Escapes text for HTML element content and double-quoted attributes.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding_handles_plus_percent_and_garbage() {
        let p = Params::parse("a=1+2&b=%2Fx%20y&c=%zz&d=%4");
        assert_eq!(p.get("a"), Some("1 2"));
        assert_eq!(p.get("b"), Some("/x y"));
        assert_eq!(p.get("c"), Some("%zz"));
        assert_eq!(p.get("d"), Some("%4"));
        assert_eq!(p.duplicate(), None);
        assert_eq!(p.problem(), None);
        assert_eq!(Params::parse("a=1&b=2&a=3").duplicate(), Some("a"));
        assert_eq!(
            Params::parse("a=1&b=2&a=3").problem().as_deref(),
            Some("parameter a is repeated")
        );
    }

    /// Issue 23 item 1: 238,000 distinct keys took 78 s with the pairwise duplicate check.
    /// Now parsing stops after `MAX_PARAMS`, so 128,000 keys cost what 65 do.
    #[test]
    fn many_parameters_are_refused_at_linear_cost() {
        let body = |n: usize| (0..n).map(|i| format!("k{i}=v")).collect::<Vec<_>>().join("&");
        let exactly = Params::parse(&body(MAX_PARAMS));
        assert_eq!(exactly.problem(), None, "{MAX_PARAMS} distinct parameters are fine");
        let big = body(128_000);
        let started = std::time::Instant::now();
        let p = Params::parse(&big);
        let problem = p.problem();
        let took = started.elapsed();
        assert_eq!(problem.as_deref(), Some("too many parameters (at most 64)"));
        // Generous for a debug build on a busy machine: the quadratic check took tens of seconds.
        assert!(took < std::time::Duration::from_millis(500), "took {took:?}");
        // Distinct keys under the cap: the duplicate check is a hash set, not pairwise.
        let dup = format!("{}&k3=again", body(MAX_PARAMS - 1));
        assert_eq!(Params::parse(&dup).duplicate(), Some("k3"));
    }

    #[test]
    fn escaping_neutralises_markup() {
        assert_eq!(html_escape("<script>\"'&"), "&lt;script&gt;&quot;&#39;&amp;");
    }

    #[test]
    fn percent_encode_roundtrips() {
        for s in ["a b/c?d=é", "x&y=z+1", "%41", ""] {
            let form = format!("v={}", percent_encode(s));
            assert_eq!(Params::parse(&form).get("v"), Some(s), "{form}");
        }
    }
}

/// A response body written while its handler goes on: the SSE stream of a legacy call that
/// waits for its client (routes::mcp::bridge). The writer and reader share one queue; the
/// reader ends after the writer closes and the queue is drained.
#[derive(Default)]
struct Pipe {
    chunks: std::collections::VecDeque<Vec<u8>>,
    closed: bool,
    waker: Option<std::task::Waker>,
}

/// The writing end of a streamed body.
#[derive(Clone)]
pub struct BodyWriter(std::rc::Rc<std::cell::RefCell<Pipe>>);

/// The reading end of a streamed body (the transport's).
pub struct BodyReader(std::rc::Rc<std::cell::RefCell<Pipe>>);

/// A connected writer and reader.
pub fn pipe() -> (BodyWriter, BodyReader) {
    let shared = std::rc::Rc::new(std::cell::RefCell::new(Pipe::default()));
    (BodyWriter(shared.clone()), BodyReader(shared))
}

impl BodyWriter {
    pub fn write(&self, bytes: impl Into<Vec<u8>>) {
        let mut pipe = self.0.borrow_mut();
        if !pipe.closed {
            pipe.chunks.push_back(bytes.into());
        }
        if let Some(w) = pipe.waker.take() {
            w.wake();
        }
    }

    pub fn close(&self) {
        let mut pipe = self.0.borrow_mut();
        pipe.closed = true;
        if let Some(w) = pipe.waker.take() {
            w.wake();
        }
    }
}

impl BodyReader {
    /// The next chunk; `None` once the writer has closed and everything was read.
    pub async fn next(&self) -> Option<Vec<u8>> {
        std::future::poll_fn(|cx| {
            let mut pipe = self.0.borrow_mut();
            if let Some(chunk) = pipe.chunks.pop_front() {
                return std::task::Poll::Ready(Some(chunk));
            }
            if pipe.closed {
                return std::task::Poll::Ready(None);
            }
            pipe.waker = Some(cx.waker().clone());
            std::task::Poll::Pending
        })
        .await
    }
}

/// The rest of a streamed response's work.
pub type Rest<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + 'a>>;

/// What an endpoint answers: a whole response, or a head whose body is written by `rest` as it
/// runs (the transport releases `head` at once and streams `body`).
pub enum Reply<'a> {
    Whole(Response),
    Streamed { head: Response, body: BodyReader, rest: Rest<'a> },
}

impl From<Response> for Reply<'_> {
    fn from(res: Response) -> Self {
        Reply::Whole(res)
    }
}

impl Reply<'_> {
    /// The whole response: a streamed one is run to its end and collected (native callers).
    pub async fn collect(self) -> Response {
        match self {
            Reply::Whole(res) => res,
            Reply::Streamed { head, body, rest } => {
                rest.await;
                let mut res = head;
                while let Some(chunk) = body.next().await {
                    res.body_mut().extend_from_slice(&chunk);
                }
                res
            }
        }
    }
}
