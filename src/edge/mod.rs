//! The only wasm-only module: the Workers entry point and the Workers KV adapter. Nothing else
//! in the crate names a `worker::` type.

mod kv;

use crate::app::App;
use crate::config::Config;
use crate::env::{OsRandom, Services, SystemClock};
use crate::web::{self, Response};
use http::StatusCode;
use std::cell::{Cell, OnceCell};
use std::rc::Rc;
use worker::wasm_bindgen::{self, prelude::wasm_bindgen, JsValue};
use worker::{js_sys, wasm_bindgen_futures, web_sys, Env};

thread_local! {
    /// Built on the first request of an isolate and reused: configuration is parsed and keys
    /// are derived once, not per request.
    static APP: OnceCell<Rc<App>> = const { OnceCell::new() };
    /// Whether the JS side has [`web::REQUEST_HEADERS`] (sent once per instance).
    static HEADER_NAMES_SENT: Cell<bool> = const { Cell::new(false) };
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

/// The fetch handler, called by src/edge/entry.mjs. Returns a `Response` when the app can answer
/// from the request head alone ([`App::respond_now`]: no body read, no `Promise`), else a
/// `Promise<Response>`. It takes the raw `web_sys::Request` and builds the `http::Request`
/// itself: headers in one crossing, one `arrayBuffer()` for a body, no `request.cf` read, and a
/// fixed-length response (docs/benchmarks.md).
#[wasm_bindgen]
pub fn serve(req: web_sys::Request, env: Env, _ctx: JsValue) -> JsValue {
    let Some(app) = APP.with(|cell| cell.get().cloned()) else {
        return promise(first_request(req, env));
    };
    let head = match head_from_web(&req) {
        Ok(head) => head,
        Err(res) => return web_value(*res),
    };
    if let Some(res) = app.respond_now(&head, &SystemClock) {
        return web_value(res);
    }
    let request = match with_other_headers(&req, head) {
        Ok(r) => r,
        Err(res) => return web_value(*res),
    };
    promise(async move {
        let store = kv::KvAdapter::new(&env);
        let services = Services { store: &store, clock: &SystemClock, random: &OsRandom };
        match with_body(&req, request, app.config.max_body_bytes).await {
            Ok(req) => app.respond_later(req, &services).await,
            Err(res) => *res,
        }
    })
}

/// The first request of an isolate: configuration is parsed and keys are loaded (in development,
/// generated into KV) once, then the request is answered.
async fn first_request(req: web_sys::Request, env: Env) -> Response {
    let store = kv::KvAdapter::new(&env);
    let services = Services { store: &store, clock: &SystemClock, random: &OsRandom };
    let config = match config_from(&env) {
        Ok(c) => c,
        Err(e) => {
            console_error(&e.to_string());
            return web::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_misconfigured",
                &e.to_string(),
            );
        }
    };
    if let Err(e) = env.kv("KV") {
        console_error(&format!("KV binding missing: {e}"));
        return web::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_misconfigured",
            "the KV namespace binding `KV` is not configured (see wrangler.toml)",
        );
    }
    let app = match App::new(config, &services).await {
        // Another request may have finished first; the first app built wins.
        Ok(app) => APP.with(|cell| cell.get_or_init(|| Rc::new(app)).clone()),
        Err(e) => return web::unavailable(&e.to_string()),
    };
    let request = match head_from_web(&req).and_then(|head| with_other_headers(&req, head)) {
        Ok(r) => r,
        Err(res) => return *res,
    };
    match with_body(&req, request, app.config.max_body_bytes).await {
        Ok(req) => app.handle(req, &services).await,
        Err(res) => *res,
    }
}

fn promise(fut: impl std::future::Future<Output = Response> + 'static) -> JsValue {
    wasm_bindgen_futures::future_to_promise(async move { Ok(web_value(fut.await)) }).into()
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

/// Reads the body of `req` into `head`: at most `limit` bytes (413 past it).
async fn with_body(
    req: &web_sys::Request,
    mut request: web::Request,
    limit: usize,
) -> Result<web::Request, Box<Response>> {
    let bad = |why: &str| Box::new(web::error(StatusCode::BAD_REQUEST, "invalid_request", why));
    let too_large = || {
        Box::new(web::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            &format!("request body exceeds {limit} bytes"),
        ))
    };
    let Some(stream) = req.body() else { return Ok(request) };
    match web::header(request.headers(), "content-length").map(|v| v.trim().parse::<usize>()) {
        Some(Ok(n)) if n > limit => return Err(too_large()),
        // Known, acceptable length: one arrayBuffer() call.
        Some(Ok(_)) => {
            let buf = wasm_bindgen_futures::JsFuture::from(
                req.array_buffer().map_err(|_| bad("unreadable body"))?,
            )
            .await
            .map_err(|_| bad("unreadable request body"))?;
            let bytes = js_sys::Uint8Array::new(&buf).to_vec();
            if bytes.len() > limit {
                return Err(too_large());
            }
            *request.body_mut() = bytes;
        }
        // Unknown length (chunked): stream it, stopping at the limit.
        _ => *request.body_mut() = read_stream(worker::Body::new(stream), limit).await?,
    }
    Ok(request)
}

async fn read_stream(mut body: worker::Body, limit: usize) -> Result<Vec<u8>, Box<Response>> {
    use futures_util::StreamExt;
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|_| {
            Box::new(web::error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "unreadable request body",
            ))
        })?;
        if out.len() + chunk.len() > limit {
            return Err(Box::new(web::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                &format!("request body exceeds {limit} bytes"),
            )));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
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
