//! The only wasm-only module: the Workers entry point and the Workers KV adapter. Nothing else
//! in the crate names a `worker::` type.

mod kv;

use crate::app::App;
use crate::config::Config;
use crate::env::{OsRandom, Services, SystemClock};
use crate::web::{self, Response};
use http::StatusCode;
use std::cell::{Cell, OnceCell};
use std::future::Future;
use std::rc::Rc;
use worker::wasm_bindgen::{self, prelude::wasm_bindgen, JsValue};
use worker::{wasm_bindgen_futures, web_sys, Env};

thread_local! {
    /// Built on the first request of an isolate and reused: configuration is parsed and keys
    /// are derived once, not per request.
    static APP: OnceCell<Rc<App>> = const { OnceCell::new() };
    /// Whether the JS side has [`web::REQUEST_HEADERS`] (sent once per instance).
    static HEADER_NAMES_SENT: Cell<bool> = const { Cell::new(false) };
    static PARKED: std::cell::RefCell<Parked> = std::cell::RefCell::new(Parked::default());
}

pub(crate) fn now_ms() -> f64 {
    worker::Date::now().as_millis() as f64
}

pub(crate) fn console_warn(msg: &str) {
    worker::console_warn!("{}", msg);
}

pub(crate) fn console_error(msg: &str) {
    worker::console_error!("{}", msg);
}

fn config_from(env: &Env) -> Result<Config, crate::config::ConfigError> {
    Config::from_lookup(|name| {
        env.secret(name)
            .map(|s| s.to_string())
            .or_else(|_| env.var(name).map(|v| v.to_string()))
            .ok()
    })
}

/// Step 1 of a request (src/edge/entry.mjs drives the steps). Returns
/// - a `Response` when the app answers from the request head alone ([`App::respond_now`]: no
///   body read, no `Promise`), or when the declared body is too large;
/// - a number: the request is parked under that handle, and the caller reads its body (with
///   the native `await`, cheaper than a Rust future per read) and calls [`serve_body`];
/// - `null` before the app is built in this isolate: the caller awaits [`init_app`] and retries.
///
/// It takes the raw `web_sys::Request` and builds the `http::Request` itself: the headers the
/// app reads in one crossing (two when the body is needed), no `request.cf` read, and a
/// fixed-length response (docs/benchmarks.md).
#[wasm_bindgen]
pub fn serve(req: &web_sys::Request) -> JsValue {
    let Some(app) = APP.with(|cell| cell.get().cloned()) else { return JsValue::NULL };
    let head = match head_from_web(req) {
        Ok(head) => head,
        Err(res) => return web_value(*res),
    };
    if let Some(res) = app.respond_now(&head, &SystemClock) {
        return web_value(res);
    }
    let request = match with_other_headers(req, head) {
        Ok(r) => r,
        Err(res) => return web_value(*res),
    };
    let limit = app.config.max_body_bytes;
    if web::header(request.headers(), "content-length")
        .and_then(|v| v.trim().parse::<usize>().ok())
        .is_some_and(|n| n > limit)
    {
        return web_value(too_large(limit));
    }
    PARKED.with(|parked| JsValue::from(parked.borrow_mut().park(request)))
}

/// The largest request body the app accepts (`MAX_BODY_BYTES`), for the caller's body reader.
#[wasm_bindgen]
pub fn max_body_bytes() -> u32 {
    APP.with(|cell| cell.get().map_or(0, |app| app.config.max_body_bytes as u32))
}

/// How the caller's body read ended (the `outcome` argument of [`serve_body`]).
const BODY_READ: u8 = 0;
const BODY_TOO_LARGE: u8 = 1;

/// Step 2: the body of the request parked under `handle` (see [`serve`]) has been read.
/// Returns a `Response`, or `[response, writes]` (see [`finished`]), or a `Promise` of either
/// when the handler waits for a KV read.
#[wasm_bindgen]
pub fn serve_body(handle: u32, outcome: u8, body: Vec<u8>, env: Env) -> JsValue {
    let request = PARKED.with(|parked| parked.borrow_mut().take(handle));
    let (Some(app), Some(mut request)) = (APP.with(|cell| cell.get().cloned()), request) else {
        // Only if the isolate was reset, or more than `Parked::LIMIT` requests were abandoned,
        // while this body was read.
        return web_value(web::unavailable("request lost between its head and its body"));
    };
    let limit = app.config.max_body_bytes;
    match outcome {
        BODY_READ if body.len() <= limit => *request.body_mut() = body,
        BODY_READ | BODY_TOO_LARGE => return web_value(too_large(limit)),
        _ => {
            return web_value(web::error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "unreadable request body",
            ))
        }
    }
    // The handler runs at once; it only becomes a `Promise` if it waits for a KV read.
    let mut handler = Box::pin(async move {
        let store = kv::KvAdapter::deferred(&env);
        let services = Services { store: &store, clock: &SystemClock, random: &OsRandom };
        let res = app.respond_later(request, &services).await;
        finished(res, store.take_writes())
    });
    let noop = std::task::Waker::noop();
    match handler.as_mut().poll(&mut std::task::Context::from_waker(noop)) {
        std::task::Poll::Ready(out) => out,
        std::task::Poll::Pending => {
            wasm_bindgen_futures::future_to_promise(async move { Ok(handler.await) }).into()
        }
    }
}

/// A response, or `[response, writes]` when entry.mjs must apply collected KV writes before
/// releasing it (see [`kv::KvAdapter::deferred`]).
fn finished(res: Response, writes: Option<String>) -> JsValue {
    let res = web_value(res);
    match writes {
        None => res,
        Some(writes) => worker::js_sys::Array::of2(&res, &JsValue::from_str(&writes)).into(),
    }
}

/// The response when applying a request's collected KV writes failed.
#[wasm_bindgen]
pub fn storage_failed(detail: &str) -> JsValue {
    web_value(web::unavailable(detail))
}

/// Builds the app for this isolate: configuration is parsed and keys are loaded (in
/// development, generated into KV) once. Resolves to `undefined`, or to the error `Response`
/// every request gets while the configuration is broken.
#[wasm_bindgen(js_name = "init_app")]
pub fn init_app(env: Env) -> JsValue {
    if APP.with(|cell| cell.get().is_some()) {
        return JsValue::UNDEFINED;
    }
    wasm_bindgen_futures::future_to_promise(async move {
        Ok(match build_app(&env).await {
            Ok(()) => JsValue::UNDEFINED,
            Err(res) => web_value(res),
        })
    })
    .into()
}

async fn build_app(env: &Env) -> Result<(), Response> {
    let config = config_from(env).map_err(|e| {
        console_error(&e.to_string());
        web::error(StatusCode::INTERNAL_SERVER_ERROR, "server_misconfigured", &e.to_string())
    })?;
    if !kv::has_kv(env.as_ref()) {
        console_error("KV binding missing: the KV namespace binding `KV` is not configured");
        return Err(web::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_misconfigured",
            "the KV namespace binding `KV` is not configured (see wrangler.toml)",
        ));
    }
    let store = kv::KvAdapter::immediate(env);
    let services = Services { store: &store, clock: &SystemClock, random: &OsRandom };
    let app = App::new(config, &services).await.map_err(|e| web::unavailable(&e.to_string()))?;
    // Another request may have finished first; the first app built wins.
    APP.with(|cell| cell.get_or_init(|| Rc::new(app)).clone());
    Ok(())
}

fn too_large(limit: usize) -> Response {
    web::error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        &format!("request body exceeds {limit} bytes"),
    )
}

/// Requests between [`serve`] and [`serve_body`], by handle.
#[derive(Default)]
struct Parked {
    next: u32,
    requests: std::collections::HashMap<u32, web::Request>,
}

impl Parked {
    /// More parked requests than this means some were abandoned (their client went away
    /// while the body was read): the oldest are dropped.
    const LIMIT: usize = 4096;

    fn park(&mut self, request: web::Request) -> u32 {
        self.next = self.next.wrapping_add(1);
        if self.requests.len() >= Self::LIMIT {
            let next = self.next;
            self.requests.retain(|&h, _| next.wrapping_sub(h) < (Self::LIMIT / 2) as u32);
        }
        self.requests.insert(self.next, request);
        self.next
    }

    fn take(&mut self, handle: u32) -> Option<web::Request> {
        self.requests.remove(&handle)
    }
}

fn bad_head() -> Box<Response> {
    Box::new(web::error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "malformed request line or headers",
    ))
}

/// The method, URL and [`web::HEAD_HEADERS`] of a `web_sys::Request`, in one crossing: the
/// [`web::head_only`] request [`App::respond_now`] takes.
fn head_from_web(req: &web_sys::Request) -> Result<web::Request, Box<Response>> {
    HEADER_NAMES_SENT.with(|sent| {
        if !sent.replace(true) {
            let rest: Vec<&str> = web::REQUEST_HEADERS
                .iter()
                .copied()
                .filter(|h| !web::HEAD_HEADERS.contains(h))
                .collect();
            glue::set_header_names(&web::HEAD_HEADERS.join("\n"), &rest.join("\n"));
        }
    });
    // "METHOD\nURL\nname\nvalue\n…" (header values cannot contain newlines).
    let flat = glue::request_head(req);
    let mut lines = flat.split('\n');
    let (Some(method), Some(url)) = (lines.next(), lines.next()) else {
        return Err(bad_head());
    };
    let mut builder = http::Request::builder().method(method).uri(url);
    // The marker only feeds `request_header`'s debug checks; release builds skip its allocation.
    if cfg!(debug_assertions) {
        builder = builder.extension(web::HeadOnly);
    }
    while let (Some(k), Some(v)) = (lines.next(), lines.next()) {
        builder = builder.header(k, v);
    }
    builder.body(Vec::new()).map_err(|_| bad_head())
}

/// Adds the rest of [`web::REQUEST_HEADERS`] to a head-only request.
fn with_other_headers(
    req: &web_sys::Request,
    mut head: web::Request,
) -> Result<web::Request, Box<Response>> {
    if cfg!(debug_assertions) {
        head.extensions_mut().remove::<web::HeadOnly>();
    }
    let flat = glue::request_other_headers(req);
    let mut lines = flat.split('\n');
    while let (Some(k), Some(v)) = (lines.next(), lines.next()) {
        let name = http::HeaderName::from_bytes(k.as_bytes()).map_err(|_| bad_head())?;
        let value = http::HeaderValue::from_str(v).map_err(|_| bad_head())?;
        head.headers_mut().append(name, value);
    }
    Ok(head)
}

/// `http::Response<Vec<u8>>` → `web_sys::Response` with a fixed-length body, built in one
/// crossing into JS (status, "name\nvalue\n…", bytes).
fn web_value(res: Response) -> JsValue {
    let (parts, body) = res.into_parts();
    let mut flat = String::with_capacity(256);
    for (name, value) in &parts.headers {
        if let Ok(v) = value.to_str() {
            flat.push_str(name.as_str());
            flat.push('\n');
            flat.push_str(v);
            flat.push('\n');
        }
    }
    glue::response(parts.status.as_u16(), &flat, &body).into()
}

/// Small JS helpers that replace per-header calls across the wasm boundary.
mod glue {
    use worker::wasm_bindgen::{self, prelude::wasm_bindgen};
    use worker::web_sys;

    #[wasm_bindgen(inline_js = "
let head = [], other = [];
export function set_header_names(headNames, otherNames) {
  head = headNames.split('\\n');
  other = otherNames.split('\\n');
}
function lines(headers, names, out) {
  for (const name of names) {
    const v = headers.get(name);
    if (v !== null) out += name + '\\n' + v + '\\n';
  }
  return out;
}
export function request_head(req) {
  return lines(req.headers, head, req.method + '\\n' + req.url + '\\n');
}
export function request_other_headers(req) {
  return lines(req.headers, other, '');
}
export function response(status, flat, body) {
  const headers = new Headers();
  const parts = flat.split('\\n');
  for (let i = 0; i + 1 < parts.length; i += 2) headers.append(parts[i], parts[i + 1]);
  const nullBody = status === 204 || status === 205 || status === 304 || body.length === 0;
  return new Response(nullBody ? null : body.slice(), { status, headers });
}
")]
    extern "C" {
        pub fn set_header_names(head: &str, other: &str);
        pub fn request_head(req: &web_sys::Request) -> String;
        pub fn request_other_headers(req: &web_sys::Request) -> String;
        pub fn response(status: u16, flat: &str, body: &[u8]) -> web_sys::Response;
    }
}
