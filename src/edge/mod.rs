//! The only wasm-only module: the Workers entry point and the Workers KV adapter. Nothing else
//! in the crate names a `worker::` type.

mod kv;

use crate::app::App;
use crate::config::Config;
use crate::env::{OsRandom, Services, SystemClock};
use crate::web::{self, Response};
use http::StatusCode;
use std::cell::OnceCell;
use std::rc::Rc;
use worker::{event, js_sys, wasm_bindgen_futures, web_sys, Context, Env};

thread_local! {
    /// Built on the first request of an isolate and reused: configuration is parsed and keys
    /// are derived once, not per request.
    static APP: OnceCell<Rc<App>> = const { OnceCell::new() };
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

/// The fetch handler. It takes the raw `web_sys::Request` and builds the `http::Request` itself:
/// one `arrayBuffer()` for a body (none for GET), no `request.cf` read, and a fixed-length
/// response, which costs measurably less per request than the generic stream conversions
/// (docs/benchmarks.md).
#[event(fetch)]
async fn fetch(
    req: web_sys::Request,
    env: Env,
    _ctx: Context,
) -> worker::Result<web_sys::Response> {
    let store = kv::KvAdapter::new(&env);
    let services = Services { store: &store, clock: &SystemClock, random: &OsRandom };

    let app = match APP.with(|cell| cell.get().cloned()) {
        Some(app) => app,
        None => {
            let config = match config_from(&env) {
                Ok(c) => c,
                Err(e) => {
                    console_error(&e.to_string());
                    return into_web(web::error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "server_misconfigured",
                        &e.to_string(),
                    ));
                }
            };
            if let Err(e) = env.kv("KV") {
                console_error(&format!("KV binding missing: {e}"));
                return into_web(web::error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_misconfigured",
                    "the KV namespace binding `KV` is not configured (see wrangler.toml)",
                ));
            }
            match App::new(config, &services).await {
                Ok(app) => APP.with(|cell| cell.get_or_init(|| Rc::new(app)).clone()),
                Err(e) => return into_web(web::unavailable(&e.to_string())),
            }
        }
    };

    let req = match from_web(&req, app.config.max_body_bytes).await {
        Ok(r) => r,
        Err(res) => return into_web(*res),
    };
    into_web(app.handle(req, &services).await)
}

/// `web_sys::Request` → `http::Request<Vec<u8>>`, reading at most `limit` body bytes (413 past it).
async fn from_web(req: &web_sys::Request, limit: usize) -> Result<web::Request, Box<Response>> {
    let bad = |why: &str| Box::new(web::error(StatusCode::BAD_REQUEST, "invalid_request", why));
    let mut builder = http::Request::builder().method(req.method().as_str()).uri(req.url());
    // All headers in one crossing ("name\nvalue\n…"; header values cannot contain newlines).
    let flat = glue::header_lines(req.headers().as_ref());
    let mut lines = flat.split('\n');
    while let (Some(k), Some(v)) = (lines.next(), lines.next()) {
        builder = builder.header(k, v);
    }
    let mut request =
        builder.body(Vec::new()).map_err(|_| bad("malformed request line or headers"))?;
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
fn into_web(res: Response) -> worker::Result<web_sys::Response> {
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
    Ok(glue::response(parts.status.as_u16(), &flat, &body))
}

/// Small JS helpers that replace per-header calls across the wasm boundary.
mod glue {
    use worker::wasm_bindgen::{self, prelude::wasm_bindgen, JsValue};
    use worker::web_sys;

    #[wasm_bindgen(inline_js = "
export function header_lines(headers) {
  let out = '';
  for (const [k, v] of headers) out += k + '\\n' + v + '\\n';
  return out;
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
        pub fn header_lines(headers: &JsValue) -> String;
        pub fn response(status: u16, flat: &str, body: &[u8]) -> web_sys::Response;
    }
}
