//! A whole app on an in-memory store, a manual clock and deterministic randomness, driven with
//! plain `http::Request`s: no server, no network.
#![allow(dead_code, clippy::unwrap_used)]

pub mod locations;

use mcp_edge::config::Config;
use mcp_edge::env::{CountingLimiter, ManualClock, SeqRandom, Services};
use mcp_edge::store::memory::MemoryStore;
use mcp_edge::web::{Request, Response};
use mcp_edge::App;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::rc::Rc;

pub const BASE: &str = "http://127.0.0.1:8787";
pub const NOW: u64 = 1_800_000_000;

pub struct TestApp {
    pub app: App,
    pub store: MemoryStore,
    pub clock: Rc<ManualClock>,
    pub random: SeqRandom,
    /// The Rate Limiting binding's twin: generous unless a test lowers `limit`.
    pub limiter: CountingLimiter,
    /// Outbound HTTP's twin: canned answers by URL, and the requests made.
    pub fetch: mcp_edge::env::CannedFetch,
    /// The Durable Objects' twin; share it (`Rc`) between two apps to stand for two isolates.
    pub rendezvous: Rc<mcp_edge::store::memory::MemoryRendezvous>,
    /// The task Durable Objects' twin.
    pub tasks: Rc<mcp_edge::store::memory::MemoryTasks>,
    /// The ledger Durable Objects' twin (single use, exact counters).
    pub ledger: Rc<mcp_edge::store::memory::MemoryLedger>,
}

impl TestApp {
    pub async fn new() -> TestApp {
        Self::with_config(Config::development()).await
    }

    /// An app serving `config`; the worker's catalogue unless `config` was given another.
    pub async fn with_config(config: Config) -> TestApp {
        let config = if config.catalog.tools.is_empty() {
            config.with_catalog(mcp_edge_worker::CATALOG).expect("the worker's scopes are valid")
        } else {
            config
        };
        let clock = Rc::new(ManualClock::new(NOW));
        let store = MemoryStore::new(clock.clone());
        let random = SeqRandom::new(7);
        let app = {
            let services = Services {
                store: &store,
                clock: &*clock,
                random: &random,
                limiter: &mcp_edge::env::Unlimited,
                fetch: &mcp_edge::env::NoFetch,
                rendezvous: &mcp_edge::store::rendezvous::NoRendezvous,
                tasks: &mcp_edge::store::tasks::NoTasks,
                ledger: &mcp_edge::store::ledger::NoLedger,
                hasher: &mcp_edge::env::RustPbkdf2,
                verifier: &mcp_edge::env::RustCrypto,
                signer: &mcp_edge::env::RustCrypto,
            };
            App::new(config, &services).await.unwrap()
        };
        let rendezvous = Rc::new(mcp_edge::store::memory::MemoryRendezvous::new(clock.clone()));
        let tasks = Rc::new(mcp_edge::store::memory::MemoryTasks::new(clock.clone()));
        let ledger = Rc::new(mcp_edge::store::memory::MemoryLedger::new(clock.clone()));
        TestApp {
            app,
            store,
            clock,
            random,
            limiter: CountingLimiter::new(10_000),
            fetch: Default::default(),
            rendezvous,
            tasks,
            ledger,
        }
    }

    /// The same storage and clock with a new configuration: a redeploy with other settings.
    pub async fn restart(&mut self, config: Config) {
        let config = if config.catalog.tools.is_empty() {
            config.with_catalog(mcp_edge_worker::CATALOG).expect("the worker's scopes are valid")
        } else {
            config
        };
        let app = App::new(config, &self.services()).await.unwrap();
        self.app = app;
    }

    /// Sends `reqs` together over a store that yields after every read: every request reads
    /// before any of them commits, the worst interleaving KV allows (the ledger's twin, like a
    /// Durable Object, does each operation in one step).
    pub async fn send_together(&self, reqs: Vec<Request>) -> Vec<Response> {
        let store = Yielding(&self.store);
        let services = Services { store: &store, ..self.services() };
        futures::future::join_all(reqs.into_iter().map(|r| self.app.handle(r, &services))).await
    }

    pub fn services(&self) -> Services<'_> {
        Services {
            store: &self.store,
            clock: &*self.clock,
            random: &self.random,
            limiter: &self.limiter,
            fetch: &self.fetch,
            rendezvous: &*self.rendezvous,
            tasks: &*self.tasks,
            ledger: &*self.ledger,
            hasher: &mcp_edge::env::RustPbkdf2,
            verifier: &mcp_edge::env::RustCrypto,
            signer: &mcp_edge::env::RustCrypto,
        }
    }

    pub async fn send(&self, req: Request) -> Response {
        self.app.handle(req, &self.services()).await
    }

    pub async fn get(&self, path: &str) -> Response {
        self.send(request("GET", path).body(Vec::new()).unwrap()).await
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)], cookies: &str) -> Response {
        let body = encode_form(form);
        let mut b =
            request("POST", path).header("content-type", "application/x-www-form-urlencoded");
        if !cookies.is_empty() {
            b = b.header("cookie", cookies);
        }
        self.send(b.body(body.into_bytes()).unwrap()).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.send(
            request("POST", path)
                .header("content-type", "application/json")
                .body(body.to_string().into_bytes())
                .unwrap(),
        )
        .await
    }
}

pub fn request(method: &str, path: &str) -> http::request::Builder {
    http::Request::builder().method(method).uri(format!("{BASE}{path}"))
}

pub fn encode_form(form: &[(&str, &str)]) -> String {
    form.iter()
        .map(|(k, v)| {
            format!("{}={}", mcp_edge::web::percent_encode(k), mcp_edge::web::percent_encode(v))
        })
        .collect::<Vec<_>>()
        .join("&")
}

pub fn json(res: &Response) -> Value {
    serde_json::from_slice(res.body()).unwrap_or(Value::Null)
}

pub fn text(res: &Response) -> String {
    String::from_utf8_lossy(res.body()).into_owned()
}

pub fn header<'a>(res: &'a Response, name: &str) -> &'a str {
    res.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// `name=value` pairs from every Set-Cookie header, joined for a Cookie header.
pub fn cookies(res: &Response, previous: &str) -> String {
    let mut jar: Vec<(String, String)> = previous
        .split("; ")
        .filter_map(|c| c.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    for v in res.headers().get_all("set-cookie") {
        let first = v.to_str().unwrap().split(';').next().unwrap();
        let (k, val) = first.split_once('=').unwrap();
        jar.retain(|(n, _)| n != k);
        jar.push((k.to_owned(), val.to_owned()));
    }
    jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
}

/// A hidden form field's value from a page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start =
        html.find(&marker).unwrap_or_else(|| panic!("no field {name} in {html}")) + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].replace("&quot;", "\"").replace("&amp;", "&")
}

pub fn query_param(location: &str, name: &str) -> Option<String> {
    let q = location.split_once('?')?.1;
    mcp_edge::web::parse_form(q).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

pub fn challenge(verifier: &str) -> String {
    mcp_edge::crypto::b64(&Sha256::digest(verifier.as_bytes()))
}

pub const REDIRECT: &str = "http://127.0.0.1:9999/callback";

/// Registers a public client with `REDIRECT`.
pub async fn register(t: &TestApp) -> String {
    let res = t
        .post_json(
            "/register",
            &serde_json::json!({"redirect_uris": [REDIRECT], "client_name": "Test Client"}),
        )
        .await;
    assert_eq!(res.status(), 201, "{}", text(&res));
    json(&res)["client_id"].as_str().unwrap().to_owned()
}

pub fn authorize_path(client_id: &str, extra: &str) -> String {
    format!(
        "/authorize?response_type=code&client_id={client_id}&redirect_uri={}&state=xyz&code_challenge={}&code_challenge_method=S256{extra}",
        mcp_edge::web::percent_encode(REDIRECT),
        challenge(VERIFIER)
    )
}

/// Posts the sign-in form of a page (its sealed `request` and `csrf` fields) with these credentials.
pub async fn post_sign_in(
    t: &TestApp,
    request: &str,
    csrf: &str,
    user: &str,
    password: &str,
    cookies: &str,
) -> Response {
    let form = [
        ("request", request),
        ("csrf", csrf),
        ("action", "signin"),
        ("username", user),
        ("password", password),
    ];
    t.post_form("/authorize", &form, cookies).await
}

/// Runs authorize → sign-in → approve as `user`; returns the redirect Location.
pub async fn sign_in_and_approve(t: &TestApp, client_id: &str, user: &str, extra: &str) -> String {
    sign_in_and_approve_at(t, &authorize_path(client_id, extra), user).await
}

/// [`sign_in_and_approve`] for any authorization request path (another redirect URI, say).
pub async fn sign_in_and_approve_at(t: &TestApp, authorize: &str, user: &str) -> String {
    let page = t.get(authorize).await;
    assert_eq!(page.status(), 200, "{}", text(&page));
    let jar = cookies(&page, "");
    let html = text(&page);
    let signed =
        post_sign_in(t, &hidden(&html, "request"), &hidden(&html, "csrf"), user, user, &jar).await;
    assert_eq!(signed.status(), 200, "{}", text(&signed));
    let approved = approve_consent(t, &text(&signed), &cookies(&signed, &jar)).await;
    assert_eq!(approved.status(), 302, "{}", text(&approved));
    header(&approved, "location").to_owned()
}

/// Presses "Allow" on a consent page (its HTML; `jar`: the browser's cookies): the answer.
pub async fn approve_consent(t: &TestApp, html: &str, jar: &str) -> Response {
    let form = [
        ("request", hidden(html, "request")),
        ("csrf", hidden(html, "csrf")),
        ("action", "approve".to_owned()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    t.post_form("/authorize", &form, jar).await
}

/// A client metadata document of `tests/fixtures/cimd/` (reconstructions, see its README).
pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/cimd/{name}", env!("CARGO_MANIFEST_DIR")))
        .unwrap()
}

/// Redeems the code in an authorization redirect `location` (public client, PKCE).
pub async fn exchange_code(t: &TestApp, client_id: &str, location: &str) -> Response {
    let code = query_param(location, "code").expect("a code in the redirect");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("code_verifier", VERIFIER),
        ("client_id", client_id),
    ];
    t.post_form("/token", &form, "").await
}

/// A full flow for `user`: returns the token response.
pub async fn tokens_for(t: &TestApp, user: &str) -> (String, Value) {
    let client_id = register(t).await;
    let location = sign_in_and_approve(t, &client_id, user, "").await;
    let code = query_param(&location, "code").unwrap();
    let res = t
        .post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", &client_id),
            ],
            "",
        )
        .await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    (client_id, json(&res))
}

/// An MCP POST with the right headers.
pub fn mcp_request(body: &Value, token: Option<&str>, session: Option<&str>) -> Request {
    let mut b = request("POST", "/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    if let Some(s) = session {
        b = b.header("mcp-session-id", s);
    }
    b.body(body.to_string().into_bytes()).unwrap()
}

/// Initializes a session; returns its id.
pub async fn initialize(t: &TestApp, token: Option<&str>) -> String {
    let res = t
        .send(mcp_request(&serde_json::json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}), token, None))
        .await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    header(&res, "mcp-session-id").to_owned()
}

/// A store that yields to the executor after every read: requests joined together all read
/// before any of them commits, the worst interleaving KV (no compare-and-swap) allows.
pub struct Yielding<'a>(pub &'a dyn mcp_edge::store::Store);

pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

#[async_trait::async_trait(?Send)]
impl mcp_edge::store::Store for Yielding<'_> {
    async fn get(&self, key: &str) -> Result<Option<String>, mcp_edge::store::StoreError> {
        let value = self.0.get(key).await;
        yield_now().await;
        value
    }
    async fn put(
        &self,
        key: &str,
        value: &str,
        ttl: Option<u64>,
    ) -> Result<(), mcp_edge::store::StoreError> {
        self.0.put(key, value, ttl).await
    }
    async fn delete(&self, key: &str) -> Result<(), mcp_edge::store::StoreError> {
        self.0.delete(key).await
    }
    async fn list(
        &self,
        p: &str,
        l: usize,
        c: Option<&str>,
    ) -> Result<mcp_edge::store::ListPage, mcp_edge::store::StoreError> {
        let page = self.0.list(p, l, c).await;
        yield_now().await;
        page
    }
}
