//! The only wasm-only module: the Workers entry's Rust side (engine/src/edge/entry.mjs drives it), the
//! Workers KV adapter, and the platform's clock, logger and panic hook. Nothing else in the crate
//! names a wasm-only type (`make test` checks it).
//!
//! Contracts relied on, all our own or documented: the `health` object below (our panic hook
//! marks it critical), wasm-bindgen's `--experimental-reset-state-function` (`__wbg_reset_state`,
//! called by entry.mjs), and `#[wasm_bindgen]` structs as owned handles ([`Parked`]).

// `pub` here means exported to JS (entry.mjs), which the lint cannot see.
#![allow(unreachable_pub)]

mod fetch;
mod kv;
mod objects;

use crate::app::App;
use crate::config::Config;
use crate::env::{Clock, OsRandom, Services};
use crate::logs;
use crate::routes::{Head, Step};
use crate::store::deferred::Deferred;
use crate::web::{self, Reply, Response};
use http::StatusCode;
use std::cell::{Cell, OnceCell, RefCell};
use std::future::Future;
use std::rc::Rc;
use worker::wasm_bindgen::{self, prelude::wasm_bindgen, JsValue};
use worker::{js_sys, wasm_bindgen_futures, web_sys, Env};

thread_local! {
    /// Built on the first request of an isolate and reused: configuration is parsed and keys
    /// are derived once, not per request.
    static APP: OnceCell<Rc<App>> = const { OnceCell::new() };
    /// The deployment's tools ([`start`]).
    static CATALOG: Cell<crate::mcp::tools::Catalog> =
        const { Cell::new(crate::mcp::tools::Catalog::EMPTY) };
    /// Whether the JS side has [`web::REQUEST_HEADERS`] (sent once per instance).
    static HEADER_NAMES_SENT: Cell<bool> = const { Cell::new(false) };
}

/// `Date.now()`, in seconds.
struct WorkersClock;

impl Clock for WorkersClock {
    fn now(&self) -> u64 {
        (js_sys::Date::now() / 1000.0) as u64
    }
    /// Workers advance `Date.now()` only across I/O, so durations are the wall time the
    /// isolate saw (reads and writes), not CPU time.
    fn now_ms(&self) -> u64 {
        js_sys::Date::now() as u64
    }
}

/// Cloudflare's Rate Limiting bindings (wrangler.toml, [`crate::env::Bucket`]); without the
/// binding, or if it fails, everything is allowed (a limiter must not take the service down).
struct RateLimiter<'a>(&'a JsValue);

#[wasm_bindgen(inline_js = "
export function rl_limit(env, name, key) {
  const binding = env[name];
  if (!binding || typeof binding.limit !== 'function') return Promise.resolve(true);
  return binding.limit({ key }).then((r) => r.success !== false, () => true);
}
")]
extern "C" {
    fn rl_limit(env: &JsValue, name: &str, key: &str) -> js_sys::Promise;
}

#[async_trait::async_trait(?Send)]
impl crate::env::Limiter for RateLimiter<'_> {
    async fn allow(&self, bucket: crate::env::Bucket, key: &str) -> bool {
        match wasm_bindgen_futures::JsFuture::from(rl_limit(self.0, bucket.binding(), key)).await {
            Ok(v) => v.as_bool().unwrap_or(true),
            Err(_) => true,
        }
    }
}

/// PBKDF2-HMAC-SHA256 by the runtime's WebCrypto (`crypto.subtle.deriveBits`): native code
/// outside the wasm, several times cheaper in CPU than the same loop compiled to wasm
/// (docs/benchmarks.md, "Sign-in"). Deployed Workers refuse more than
/// [`WEBCRYPTO_MAX_ITERATIONS`] ("Pbkdf2 failed: iteration counts above 100000 are not
/// supported"; local workerd does not enforce it);
/// such hashes, and any WebCrypto failure, fall back to the Rust PBKDF2.
struct WebCryptoPbkdf2;

/// Cloudflare's WebCrypto PBKDF2 refuses iteration counts above this.
const WEBCRYPTO_MAX_ITERATIONS: u32 = 100_000;

#[wasm_bindgen(module = "/src/edge/platform.js")]
extern "C" {
    fn webcrypto_pbkdf2(password: &[u8], salt: &[u8], iterations: u32) -> js_sys::Promise;
}

#[async_trait::async_trait(?Send)]
impl crate::env::PasswordHasher for WebCryptoPbkdf2 {
    async fn pbkdf2_sha256(&self, password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
        if iterations <= WEBCRYPTO_MAX_ITERATIONS {
            let derived =
                wasm_bindgen_futures::JsFuture::from(webcrypto_pbkdf2(password, salt, iterations))
                    .await;
            match derived.map(js_sys::Uint8Array::from) {
                Ok(bytes) if bytes.length() == 32 => {
                    let mut out = [0u8; 32];
                    bytes.copy_to(&mut out);
                    return out;
                }
                _ => log::warn!("WebCrypto PBKDF2 failed; using the Rust PBKDF2"),
            }
        }
        crate::env::pbkdf2_sha256(password, salt, iterations)
    }
}

/// Signatures by the runtime's WebCrypto (engine/src/edge/platform.js): RS256, ES256 and EdDSA
/// verification (`crypto.subtle.importKey('jwk')` and `verify`) and Ed25519 signing with our
/// keys (`importKey('pkcs8')` and `sign`): no RSA, P-256 or Ed25519 code in the wasm. The keys
/// to verify with come validated and reduced to their public members
/// (`crate::crypto::sig::import`); imported keys are kept per isolate, so a DPoP client's key,
/// or ours, is imported once.
struct WebCrypto;

#[wasm_bindgen(module = "/src/edge/platform.js")]
extern "C" {
    fn webcrypto_verify(alg: &str, jwk: &str, data: &[u8], signature: &[u8]) -> js_sys::Promise;
    fn webcrypto_ed25519_public(seed: &[u8]) -> js_sys::Promise;
    fn webcrypto_ed25519_sign(seed: &[u8], data: &[u8]) -> js_sys::Promise;
}

/// The bytes a WebCrypto promise resolves to, exactly `N` of them.
async fn crypto_bytes<const N: usize>(
    promise: js_sys::Promise,
) -> Result<[u8; N], crate::env::CryptoError> {
    let bytes = wasm_bindgen_futures::JsFuture::from(promise).await.map_err(crypto_error)?;
    let bytes = js_sys::Uint8Array::from(bytes);
    let mut out = [0u8; N];
    if bytes.length() as usize != N {
        return Err(crate::env::CryptoError(format!("expected {N} bytes, got {}", bytes.length())));
    }
    bytes.copy_to(&mut out);
    Ok(out)
}

fn crypto_error(e: JsValue) -> crate::env::CryptoError {
    crate::env::CryptoError(
        wasm_bindgen::JsCast::dyn_ref::<js_sys::Error>(&e)
            .map(|e| String::from(e.message()))
            .unwrap_or_else(|| format!("{e:?}")),
    )
}

#[async_trait::async_trait(?Send)]
impl crate::env::SignatureVerifier for WebCrypto {
    async fn verify(
        &self,
        alg: crate::env::SigAlg,
        jwk: &serde_json::Value,
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<bool, crate::env::CryptoError> {
        let alg = match alg {
            crate::env::SigAlg::Rs256 => "RS256",
            crate::env::SigAlg::Es256 => "ES256",
            crate::env::SigAlg::EdDsa => "EdDSA",
        };
        let promise = webcrypto_verify(alg, &jwk.to_string(), signing_input, signature);
        let verified = wasm_bindgen_futures::JsFuture::from(promise).await.map_err(crypto_error)?;
        Ok(verified.as_bool() == Some(true))
    }
}

#[async_trait::async_trait(?Send)]
impl crate::env::Signer for WebCrypto {
    async fn ed25519_public_key(
        &self,
        seed: &[u8; 32],
    ) -> Result<[u8; 32], crate::env::CryptoError> {
        crypto_bytes(webcrypto_ed25519_public(seed)).await
    }
    async fn ed25519_sign(
        &self,
        seed: &[u8; 32],
        message: &[u8],
    ) -> Result<[u8; 64], crate::env::CryptoError> {
        crypto_bytes(webcrypto_ed25519_sign(seed, message)).await
    }
}

/// `log` records to the console (`wrangler tail`, Workers Logs).
struct ConsoleLogger;

impl log::Log for ConsoleLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Info
    }
    fn log(&self, record: &log::Record<'_>) {
        // Request and event lines are JSON as they are (crate::logs).
        if matches!(record.target(), "access" | "event") {
            web_sys::console::log_1(&record.args().to_string().into());
            return;
        }
        let msg = format!("mcp-edge: {}", record.args());
        match record.level() {
            log::Level::Error => web_sys::console::error_1(&msg.into()),
            log::Level::Warn => web_sys::console::warn_1(&msg.into()),
            _ => web_sys::console::log_1(&msg.into()),
        }
    }
    fn flush(&self) {}
}

static LOGGER: ConsoleLogger = ConsoleLogger;

#[wasm_bindgen(inline_js = "
const health = { critical: false };
export function health_state() { return health; }
export function mark_critical() { health.critical = true; }
")]
extern "C" {
    fn health_state() -> JsValue;
    fn mark_critical();
}

/// The object entry.mjs watches: `critical` is set by our panic hook (and by entry.mjs on a
/// `WebAssembly.RuntimeError`); the next request then resets the instance.
#[wasm_bindgen]
pub fn edge_health() -> JsValue {
    health_state()
}

/// Our logger and panic hook (replacing the worker crate's): the panic is logged, and the
/// instance marked for reset before the abort traps.
fn install_platform() {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(log::LevelFilter::Info);
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("mcp-edge: Rust panic: {info}").into());
        mark_critical();
    }));
}

/// Hands the deployment's catalogue to the entry. The worker crate calls it from its
/// `#[wasm_bindgen(start)]` function, which runs whenever the runtime instantiates the wasm
/// (also after a reset), before any request.
pub fn start(catalog: crate::mcp::tools::Catalog) {
    CATALOG.with(|c| c.set(catalog));
}

fn config_from(env: &Env) -> Result<Config, crate::config::ConfigError> {
    let catalog = CATALOG.with(Cell::get);
    if catalog.tools.is_empty() {
        log::warn!("no tools: the worker crate did not call mcp_edge::edge::start(catalog)");
    }
    let get = |name: &str| {
        env.secret(name)
            .map(|s| s.to_string())
            .or_else(|_| env.var(name).map(|v| v.to_string()))
            .ok()
    };
    Config::from_lookup_with(get, catalog)
}

/// A request between its head ([`serve`]) and its body ([`serve_body`]), owned by the caller:
/// what phase 1 checked travels with it.
#[wasm_bindgen]
pub struct Parked {
    request: web::Request,
    head: Head,
    log: logs::Head,
    started_ms: u64,
}

/// Step 1 of a request (engine/src/edge/entry.mjs drives the steps). Returns
/// - a `Response` when the app answers from the request head alone ([`App::respond_now`]: no
///   body read, no `Promise`), including 413 for a declared body that is too large;
/// - a [`Parked`] request: the caller reads its body (with the native `await`, cheaper than a
///   Rust future per read) and calls [`serve_body`] with it;
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
    let (log, started_ms) = (logs::Head::of(&head), WorkersClock.now_ms());
    let checked = match app.respond_now(&head, &WorkersClock) {
        Step::Answer(res) => return logged(&log, started_ms, res),
        Step::Continue(checked) => checked,
    };
    match with_other_headers(req, head) {
        Ok(request) => Parked { request, head: checked, log, started_ms }.into(),
        Err(res) => logged(&log, started_ms, *res),
    }
}

/// The largest request body the app accepts (`MAX_BODY_BYTES`), for the caller's body reader.
#[wasm_bindgen]
pub fn max_body_bytes() -> u32 {
    APP.with(|cell| cell.get().map_or(0, |app| app.config().max_body_bytes as u32))
}

/// How the caller's body read ended (the `outcome` argument of [`serve_body`]).
const BODY_READ: u8 = 0;
const BODY_TOO_LARGE: u8 = 1;

/// Step 2: the body of a [`Parked`] request has been read. Returns a `Response`, or
/// `[response, required, bestEffort]` when the handler wrote to KV (entry.mjs applies the
/// required writes with [`apply_writes`] before releasing the response, the best-effort ones
/// after it), or a `Promise` of either when the handler waits for a KV read.
#[wasm_bindgen]
pub fn serve_body(parked: Parked, outcome: u8, body: Vec<u8>, env: Env) -> JsValue {
    let Some(app) = APP.with(|cell| cell.get().cloned()) else {
        return web_value(web::unavailable("the isolate was reset while the body was read"));
    };
    let Parked { mut request, head, log, started_ms } = parked;
    match outcome {
        BODY_READ => *request.body_mut() = body,
        BODY_TOO_LARGE => {
            return logged(&log, started_ms, crate::app::too_large(app.config().max_body_bytes))
        }
        _ => {
            let res =
                web::error(StatusCode::BAD_REQUEST, "invalid_request", "unreadable request body");
            return logged(&log, started_ms, res);
        }
    }
    // The handler runs at once; it only becomes a `Promise` if it waits for a KV read or
    // WebCrypto (a signature of a client or provider: DPoP proofs, assertions), or for
    // the rest of a streamed reply (released early, through `released`).
    let released = Rc::new(RefCell::new(Released::Nothing));
    let release = released.clone();
    let mut handler = Box::pin(async move {
        let reader = kv::KvReader::new(env.as_ref());
        let store = Deferred::new(&reader);
        let limiter = RateLimiter(env.as_ref());
        let rendezvous = objects::DurableRendezvous(env.as_ref());
        let tasks = objects::DurableTasks(env.as_ref());
        let ledger = objects::DurableLedger(env.as_ref());
        let services = Services {
            store: &store,
            clock: &WorkersClock,
            random: &OsRandom,
            limiter: &limiter,
            fetch: &fetch::WorkersFetch,
            rendezvous: &rendezvous,
            tasks: &tasks,
            ledger: &ledger,
            hasher: &WebCryptoPbkdf2,
            verifier: &WebCrypto,
            signer: &WebCrypto,
        };
        let (res, streamed) = match app.respond_later(request, head, &services).await {
            Reply::Whole(res) => (res, None),
            Reply::Streamed { head, body, rest } => (head, Some((body, rest))),
        };
        let now = WorkersClock.now_ms();
        logs::access(
            app.config().request_log,
            &log,
            &res,
            now,
            now.saturating_sub(started_ms),
            &OsRandom,
        );
        let Some((body, rest)) = streamed else { return finished(res, store.take_writes()) };
        // Streamed: the head (and the writes so far) go now; the body follows as it is written.
        let (response, writer) = streamed_response(res);
        Released::release(&release, finished_value(response, store.take_writes()));
        wasm_bindgen_futures::spawn_local(pump(body, writer));
        rest.await;
        let (required, best_effort) = kv::ops(store.take_writes());
        for ops in [required, best_effort] {
            if ops.length() > 0 {
                let _ =
                    wasm_bindgen_futures::JsFuture::from(kv::kv_apply(env.as_ref(), &ops, true))
                        .await;
            }
        }
        JsValue::UNDEFINED
    });
    let noop = std::task::Waker::noop();
    match handler.as_mut().poll(&mut std::task::Context::from_waker(noop)) {
        std::task::Poll::Ready(out) => out,
        std::task::Poll::Pending => {
            let early = std::mem::replace(&mut *released.borrow_mut(), Released::Nothing);
            if let Released::Value(head) = early {
                wasm_bindgen_futures::spawn_local(async move {
                    handler.await;
                });
                return head;
            }
            let waiting = released.clone();
            let promise = js_sys::Promise::new(&mut |resolve, _reject| {
                *waiting.borrow_mut() = Released::Waiting(resolve);
            });
            wasm_bindgen_futures::spawn_local(async move {
                let out = handler.await;
                if !out.is_undefined() {
                    Released::release(&released, out);
                }
            });
            promise.into()
        }
    }
}

/// Where the answer of a request that went asynchronous goes: kept until the caller's `Promise`
/// exists, or handed to its resolver.
enum Released {
    Nothing,
    Value(JsValue),
    Waiting(js_sys::Function),
}

impl Released {
    fn release(slot: &RefCell<Released>, value: JsValue) {
        let before = std::mem::replace(&mut *slot.borrow_mut(), Released::Nothing);
        match before {
            Released::Waiting(resolve) => {
                let _ = resolve.call1(&JsValue::NULL, &value);
            }
            _ => *slot.borrow_mut() = Released::Value(value),
        }
    }
}

#[wasm_bindgen(module = "/src/edge/platform.js")]
extern "C" {
    fn streamed(status: u16, names: Vec<String>, values: Vec<String>) -> js_sys::Array;
    fn write_chunk(writer: &JsValue, bytes: &[u8]) -> js_sys::Promise;
    fn close_writer(writer: &JsValue) -> js_sys::Promise;
}

/// A `Response` whose body is a stream, and the writer of that stream.
fn streamed_response(head: Response) -> (JsValue, JsValue) {
    let (names, values): (Vec<String>, Vec<String>) = head
        .headers()
        .iter()
        .filter(|(k, _)| *k != http::header::CONTENT_LENGTH)
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .unzip();
    let pair = streamed(head.status().as_u16(), names, values);
    (pair.get(0), pair.get(1))
}

/// Copies a streamed body to the response's writer; stops when the client has gone.
async fn pump(body: web::BodyReader, writer: JsValue) {
    use wasm_bindgen_futures::JsFuture;
    while let Some(chunk) = body.next().await {
        let ok = JsFuture::from(write_chunk(&writer, &chunk)).await;
        if !ok.ok().and_then(|v| v.as_bool()).unwrap_or(false) {
            break;
        }
    }
    let _ = JsFuture::from(close_writer(&writer)).await;
}

/// The response, as a `web_sys::Response`, after writing its access line.
fn logged(log: &logs::Head, started_ms: u64, res: Response) -> JsValue {
    let now = WorkersClock.now_ms();
    let level = APP.with(|cell| cell.get().map(|app| app.config().request_log));
    logs::access(
        level.unwrap_or(logs::RequestLog::All),
        log,
        &res,
        now,
        now.saturating_sub(started_ms),
        &OsRandom,
    );
    web_value(res)
}

/// A response, or `[response, required, bestEffort]` when there are writes to apply.
fn finished(res: Response, writes: Vec<crate::store::deferred::Write>) -> JsValue {
    finished_value(web_value(res), writes)
}

/// [`finished`] for a response already made.
fn finished_value(res: JsValue, writes: Vec<crate::store::deferred::Write>) -> JsValue {
    if writes.is_empty() {
        return res;
    }
    let (required, best_effort) = kv::ops(writes);
    js_sys::Array::of3(&res, &required, &best_effort).into()
}

/// Applies KV write ops (see [`serve_body`]): resolves to `null`, or to what failed.
#[wasm_bindgen]
pub fn apply_writes(env: &JsValue, ops: &js_sys::Array, best_effort: bool) -> js_sys::Promise {
    kv::kv_apply(env, ops, best_effort)
}

/// The response when applying a request's required KV writes failed.
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
    install_platform();
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
        log::error!("{e}");
        web::error(StatusCode::INTERNAL_SERVER_ERROR, "server_misconfigured", &e.to_string())
    })?;
    if !kv::has_kv(env.as_ref()) {
        log::error!("KV binding missing: the KV namespace binding `KV` is not configured");
        return Err(web::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_misconfigured",
            "the KV namespace binding `KV` is not configured (see wrangler.toml)",
        ));
    }
    let reader = kv::KvReader::new(env.as_ref());
    let store = Deferred::new(&reader);
    let services = Services {
        store: &store,
        clock: &WorkersClock,
        random: &OsRandom,
        limiter: &crate::env::Unlimited,
        fetch: &crate::env::NoFetch,
        rendezvous: &crate::store::rendezvous::NoRendezvous,
        tasks: &crate::store::tasks::NoTasks,
        ledger: &crate::store::ledger::NoLedger,
        hasher: &WebCryptoPbkdf2,
        verifier: &WebCrypto,
        signer: &WebCrypto,
    };
    let app = App::new(config, &services).await.map_err(|e| web::unavailable(&e.to_string()))?;
    // Development secrets generated just now are stored before the app serves anything.
    let (required, _) = kv::ops(store.take_writes());
    let failed = wasm_bindgen_futures::JsFuture::from(kv::kv_apply(env.as_ref(), &required, false))
        .await
        .map_err(|_| web::unavailable("KV write failed while building the app"))?;
    if let Some(detail) = failed.as_string() {
        return Err(web::unavailable(&detail));
    }
    // Another request may have finished first; the first app built wins.
    APP.with(|cell| cell.get_or_init(|| Rc::new(app)).clone());
    Ok(())
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
