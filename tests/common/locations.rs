//! Workers KV across several Cloudflare locations, natively: a write made at one location is
//! seen there at once and at the others only `delay` seconds later (KV documents up to 60 s),
//! driven by the manual clock. The newest visible write wins (KV is last-writer-wins). Each
//! location runs its own [`App`] (its own isolate memos) over its view, so tests can race
//! requests between locations the way the internet does. Test-only: never in the wasm bundle.

use super::NOW;
use async_trait::async_trait;
use mcp_edge::config::Config;
use mcp_edge::env::{Clock, CountingLimiter, ManualClock, SeqRandom, Services};
use mcp_edge::store::{check_key, check_put, ListPage, Store, StoreError};
use mcp_edge::web::{Request, Response};
use mcp_edge::App;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// One write as the global KV keeps it.
struct Write {
    key: String,
    /// `None`: a delete.
    value: Option<String>,
    expires: Option<u64>,
    /// When and where it was made; `seq` orders writes made in the same second.
    at: u64,
    seq: u64,
    location: usize,
}

/// The global KV: every write ever made, with where and when.
pub struct Kv {
    pub clock: Rc<ManualClock>,
    /// Propagation delay between locations, in seconds.
    pub delay: Cell<u64>,
    writes: RefCell<Vec<Write>>,
    seq: Cell<u64>,
}

impl Kv {
    pub fn new(clock: Rc<ManualClock>, delay: u64) -> Rc<Kv> {
        Rc::new(Kv {
            clock,
            delay: Cell::new(delay),
            writes: RefCell::default(),
            seq: Cell::new(0),
        })
    }

    /// The view from `location`.
    pub fn at(self: &Rc<Self>, location: usize) -> Location {
        Location { kv: self.clone(), id: location }
    }

    /// The value of `key` as `location` sees it now.
    fn read(&self, location: usize, key: &str) -> Option<String> {
        let now = self.clock.now();
        let writes = self.writes.borrow();
        let newest = writes
            .iter()
            .filter(|w| w.key == key && self.visible(w, location, now))
            .max_by_key(|w| (w.at, w.seq))?;
        let live = newest.expires.is_none_or(|at| at > now);
        newest.value.clone().filter(|_| live)
    }

    fn visible(&self, w: &Write, location: usize, now: u64) -> bool {
        w.location == location || now >= w.at + self.delay.get()
    }

    fn write(&self, location: usize, key: &str, value: Option<&str>, ttl: Option<u64>) {
        let (at, seq) = (self.clock.now(), self.seq.get() + 1);
        self.seq.set(seq);
        self.writes.borrow_mut().push(Write {
            key: key.to_owned(),
            value: value.map(str::to_owned),
            expires: ttl.map(|t| at + t),
            at,
            seq,
            location,
        });
    }

    /// Every key with a live value as `location` sees it, sorted.
    fn keys(&self, location: usize) -> Vec<String> {
        let mut keys: Vec<String> = self.writes.borrow().iter().map(|w| w.key.clone()).collect();
        keys.sort();
        keys.dedup();
        keys.retain(|k| self.read(location, k).is_some());
        keys
    }
}

/// One location's view of [`Kv`]: a [`Store`].
pub struct Location {
    kv: Rc<Kv>,
    id: usize,
}

#[async_trait(?Send)]
impl Store for Location {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        check_key(key)?;
        Ok(self.kv.read(self.id, key))
    }

    async fn put(&self, key: &str, value: &str, ttl: Option<u64>) -> Result<(), StoreError> {
        check_put(key, value, ttl)?;
        self.kv.write(self.id, key, Some(value), ttl);
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        check_key(key)?;
        self.kv.write(self.id, key, None, None);
        Ok(())
    }

    async fn list(
        &self,
        prefix: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<ListPage, StoreError> {
        let mut keys: Vec<String> = self
            .kv
            .keys(self.id)
            .into_iter()
            .filter(|k| k.starts_with(prefix) && cursor.is_none_or(|c| k.as_str() > c))
            .take(limit + 1)
            .collect();
        let cursor = (keys.len() > limit).then(|| {
            keys.truncate(limit);
            keys.last().cloned().unwrap_or_default()
        });
        Ok(ListPage { keys, cursor })
    }
}

/// Several locations, each with its own app (isolate) over its view of one [`Kv`].
pub struct World {
    pub kv: Rc<Kv>,
    pub clock: Rc<ManualClock>,
    pub random: SeqRandom,
    pub limiter: CountingLimiter,
    /// The ledger: one strongly consistent place every location reaches.
    pub ledger: Rc<mcp_edge::store::memory::MemoryLedger>,
    locations: Vec<(Location, App)>,
}

impl World {
    /// `n` locations running the development settings with one shared secret (the apps are
    /// built with no delay, as a deployment's secrets are set long before any request).
    pub async fn new(n: usize, delay: u64) -> World {
        let clock = Rc::new(ManualClock::new(NOW));
        let kv = Kv::new(clock.clone(), 0);
        let random = SeqRandom::new(11);
        let mut locations = Vec::new();
        for id in 0..n {
            let store = kv.at(id);
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
            let app = App::new(
                Config::development().with_catalog(mcp_edge_worker::CATALOG).unwrap(),
                &services,
            )
            .await
            .unwrap();
            locations.push((store, app));
        }
        kv.delay.set(delay);
        let ledger = Rc::new(mcp_edge::store::memory::MemoryLedger::new(clock.clone()));
        World { kv, clock, random, limiter: CountingLimiter::new(10_000), ledger, locations }
    }

    /// Sends `req` to the app at `location`.
    pub async fn send(&self, location: usize, req: Request) -> Response {
        let (store, app) = &self.locations[location];
        let services = Services {
            store,
            clock: &*self.clock,
            random: &self.random,
            limiter: &self.limiter,
            fetch: &mcp_edge::env::NoFetch,
            rendezvous: &mcp_edge::store::rendezvous::NoRendezvous,
            tasks: &mcp_edge::store::tasks::NoTasks,
            ledger: &*self.ledger,
            hasher: &mcp_edge::env::RustPbkdf2,
            verifier: &mcp_edge::env::RustCrypto,
            signer: &mcp_edge::env::RustCrypto,
        };
        app.handle(req, &services).await
    }

    pub async fn get(&self, location: usize, path: &str) -> Response {
        self.send(location, super::request("GET", path).body(Vec::new()).unwrap()).await
    }

    pub async fn post_form(
        &self,
        location: usize,
        path: &str,
        form: &[(&str, &str)],
        cookies: &str,
    ) -> Response {
        let mut b = super::request("POST", path)
            .header("content-type", "application/x-www-form-urlencoded");
        if !cookies.is_empty() {
            b = b.header("cookie", cookies);
        }
        self.send(location, b.body(super::encode_form(form).into_bytes()).unwrap()).await
    }

    pub async fn post_json(
        &self,
        location: usize,
        path: &str,
        body: &serde_json::Value,
    ) -> Response {
        let req = super::request("POST", path)
            .header("content-type", "application/json")
            .body(body.to_string().into_bytes())
            .unwrap();
        self.send(location, req).await
    }

    pub fn app(&self, location: usize) -> &App {
        &self.locations[location].1
    }

    /// Lets every write made so far reach every location.
    pub fn settle(&self) {
        self.clock.advance(self.kv.delay.get());
    }
}
