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
use worker::{event, Context, Env};

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

#[event(fetch)]
async fn fetch(
    req: worker::HttpRequest,
    env: Env,
    _ctx: Context,
) -> worker::Result<http::Response<worker::Body>> {
    let store = match env.kv("KV") {
        Ok(kv) => kv::KvAdapter(kv),
        Err(e) => {
            console_error(&format!("KV binding missing: {e}"));
            return Ok(into_worker(web::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the KV namespace binding `KV` is not configured (see wrangler.toml)",
            )));
        }
    };
    let services = Services { store: &store, clock: &SystemClock, random: &OsRandom };

    let app = match APP.with(|cell| cell.get().cloned()) {
        Some(app) => app,
        None => {
            let config = match config_from(&env) {
                Ok(c) => c,
                Err(e) => {
                    console_error(&e.to_string());
                    return Ok(into_worker(web::error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "server_misconfigured",
                        &e.to_string(),
                    )));
                }
            };
            match App::new(config, &services).await {
                Ok(app) => APP.with(|cell| cell.get_or_init(|| Rc::new(app)).clone()),
                Err(e) => return Ok(into_worker(web::unavailable(&e.to_string()))),
            }
        }
    };

    let (parts, body) = req.into_parts();
    let limit = app.config.max_body_bytes;
    let bytes = match read_body(body, &parts.headers, limit).await {
        Ok(b) => b,
        Err(res) => return Ok(into_worker(*res)),
    };
    let req = http::Request::from_parts(parts, bytes);
    Ok(into_worker(app.handle(req, &services).await))
}

/// Reads the body, refusing (413) anything over `limit` without buffering it all.
async fn read_body(
    body: worker::Body,
    headers: &http::HeaderMap,
    limit: usize,
) -> Result<Vec<u8>, Box<Response>> {
    use futures_util::StreamExt;
    let too_large = || {
        Box::new(web::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            &format!("request body exceeds {limit} bytes"),
        ))
    };
    if web::header(headers, "content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > limit)
    {
        return Err(too_large());
    }
    let mut out = Vec::new();
    let mut stream = body;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| {
            Box::new(web::error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "unreadable request body",
            ))
        })?;
        if out.len() + chunk.len() > limit {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

fn into_worker(res: Response) -> http::Response<worker::Body> {
    let (parts, body) = res.into_parts();
    let body = if body.is_empty() {
        worker::Body::empty()
    } else {
        let chunk: Result<bytes::Bytes, worker::Error> = Ok(bytes::Bytes::from(body));
        worker::Body::from_stream(futures_util::stream::once(async move { chunk }))
            .unwrap_or_else(|_| worker::Body::empty())
    };
    http::Response::from_parts(parts, body)
}
