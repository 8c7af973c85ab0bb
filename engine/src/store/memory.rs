//! In-memory [`Store`] with KV's limits and a caller-controlled clock; the test double.

use super::rendezvous::{Rendezvous, Replay, MAX_LOGGED_EVENTS, MAX_LOGGED_EVENT_BYTES};
use super::{check_key, check_put, ListPage, Store, StoreError, MAX_LIST_LIMIT};
use crate::env::Clock;
use async_trait::async_trait;
use serde_json::{Map, Value};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};

pub struct MemoryStore {
    clock: Rc<dyn Clock>,
    entries: RefCell<BTreeMap<String, (String, Option<u64>)>>,
    /// When set, every operation fails: lets tests prove endpoints degrade to 503.
    pub failing: Cell<bool>,
    /// When set, writes to keys with this prefix fail: lets tests break a multi-write operation
    /// half-way and prove nothing inconsistent is left behind.
    pub failing_puts: RefCell<Option<String>>,
    reads: Cell<u64>,
    writes: Cell<u64>,
}

impl MemoryStore {
    pub fn new(clock: Rc<dyn Clock>) -> Self {
        Self {
            clock,
            entries: RefCell::new(BTreeMap::new()),
            failing: Cell::new(false),
            failing_puts: RefCell::new(None),
            reads: Cell::new(0),
            writes: Cell::new(0),
        }
    }

    fn live(&self, expires: Option<u64>) -> bool {
        expires.is_none_or(|at| at > self.clock.now())
    }

    fn fail_if_asked(&self) -> Result<(), StoreError> {
        if self.failing.get() {
            Err(StoreError("injected failure".into()))
        } else {
            Ok(())
        }
    }

    /// Every live key, for assertions in tests.
    pub fn keys(&self) -> Vec<String> {
        let entries = self.entries.borrow();
        entries.iter().filter(|(_, (_, exp))| self.live(*exp)).map(|(k, _)| k.clone()).collect()
    }

    /// Gets and lists served so far (KV reads), for tests that pin an endpoint's KV traffic.
    pub fn reads(&self) -> u64 {
        self.reads.get()
    }

    /// Puts and deletes served so far (KV writes).
    pub fn writes(&self) -> u64 {
        self.writes.get()
    }

    /// The TTL deadline recorded for `key`, for assertions in tests.
    pub fn expiry(&self, key: &str) -> Option<u64> {
        self.entries.borrow().get(key).and_then(|(_, exp)| *exp)
    }
}

#[async_trait(?Send)]
impl Store for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.reads.set(self.reads.get() + 1);
        self.fail_if_asked()?;
        check_key(key)?;
        let entries = self.entries.borrow();
        Ok(entries.get(key).filter(|(_, exp)| self.live(*exp)).map(|(v, _)| v.clone()))
    }

    async fn put(&self, key: &str, value: &str, ttl: Option<u64>) -> Result<(), StoreError> {
        self.writes.set(self.writes.get() + 1);
        self.fail_if_asked()?;
        if self.failing_puts.borrow().as_deref().is_some_and(|p| key.starts_with(p)) {
            return Err(StoreError(format!("injected write failure for {key}")));
        }
        check_put(key, value, ttl)?;
        let expires = ttl.map(|t| self.clock.now() + t);
        self.entries.borrow_mut().insert(key.to_owned(), (value.to_owned(), expires));
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.writes.set(self.writes.get() + 1);
        self.fail_if_asked()?;
        check_key(key)?;
        self.entries.borrow_mut().remove(key);
        Ok(())
    }

    async fn list(
        &self,
        prefix: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<ListPage, StoreError> {
        self.reads.set(self.reads.get() + 1);
        self.fail_if_asked()?;
        let limit = limit.clamp(1, MAX_LIST_LIMIT);
        let entries = self.entries.borrow();
        let mut keys: Vec<String> = entries
            .iter()
            .filter(|(k, (_, exp))| {
                k.starts_with(prefix) && self.live(*exp) && cursor.is_none_or(|c| k.as_str() > c)
            })
            .map(|(k, _)| k.clone())
            .take(limit + 1)
            .collect();
        let cursor = if keys.len() > limit {
            keys.truncate(limit);
            keys.last().cloned()
        } else {
            None
        };
        Ok(ListPage { keys, cursor })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::ManualClock;

    fn store() -> (Rc<ManualClock>, MemoryStore) {
        let clock = Rc::new(ManualClock::new(1_000));
        (clock.clone(), MemoryStore::new(clock))
    }

    #[tokio::test]
    async fn ttl_expires_and_minimum_is_enforced() {
        let (clock, s) = store();
        s.put("a", "1", Some(60)).await.unwrap();
        assert_eq!(s.get("a").await.unwrap().as_deref(), Some("1"));
        clock.advance(60);
        assert_eq!(s.get("a").await.unwrap(), None);
        assert!(s.put("b", "1", Some(59)).await.is_err());
    }

    #[tokio::test]
    async fn key_size_is_capped() {
        let (_, s) = store();
        assert!(s.put(&"k".repeat(513), "v", None).await.is_err());
        assert!(s.put(&"k".repeat(512), "v", None).await.is_ok());
    }

    #[tokio::test]
    async fn list_pages_by_prefix() {
        let (_, s) = store();
        for i in 0..5 {
            s.put(&format!("client:{i}"), "x", None).await.unwrap();
        }
        s.put("grant:1", "x", None).await.unwrap();
        let first = s.list("client:", 3, None).await.unwrap();
        assert_eq!(first.keys, vec!["client:0", "client:1", "client:2"]);
        let second = s.list("client:", 3, first.cursor.as_deref()).await.unwrap();
        assert_eq!(second.keys, vec!["client:3", "client:4"]);
        assert!(second.cursor.is_none());
    }

    #[tokio::test]
    async fn failing_store_fails_every_operation() {
        let (_, s) = store();
        s.failing.set(true);
        assert!(s.get("a").await.is_err());
        assert!(s.put("a", "b", None).await.is_err());
        assert!(s.list("", 10, None).await.is_err());
    }
}

// ---- The rendezvous port's twin (engine/src/store/rendezvous.rs) ----

#[derive(Default)]
struct Call {
    ids: Vec<String>,
    answers: Map<String, Value>,
    expires_ms: u64,
}

#[derive(Default)]
struct Log {
    events: Vec<(u64, String)>,
    next: u64,
    done: bool,
    expires_ms: u64,
}

#[derive(Default)]
struct Objects {
    calls: HashMap<(String, String), Call>,
    logs: HashMap<(String, String), Log>,
    wakers: Vec<Waker>,
}

/// The in-memory twin: one per "deployment", shared (`Rc`) by every app instance of a test.
/// Waits end when answered, or on the injected clock passing their deadline at the next
/// [`MemoryRendezvous::tick`] (tests move the clock, then tick).
pub struct MemoryRendezvous {
    clock: Rc<dyn Clock>,
    objects: RefCell<Objects>,
}

impl MemoryRendezvous {
    pub fn new(clock: Rc<dyn Clock>) -> Self {
        Self { clock, objects: RefCell::default() }
    }

    /// Wakes every waiter to look at the clock again.
    pub fn tick(&self) {
        let wakers = std::mem::take(&mut self.objects.borrow_mut().wakers);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// How many calls and logs are held (a test's "nothing left behind").
    pub fn held(&self) -> usize {
        let now = self.clock.now_ms();
        let o = self.objects.borrow();
        o.calls.values().filter(|c| c.expires_ms > now).count()
            + o.logs.values().filter(|l| l.expires_ms > now).count()
    }

    fn key(a: &str, b: &str) -> (String, String) {
        (a.to_owned(), b.to_owned())
    }
}

#[async_trait(?Send)]
impl Rendezvous for MemoryRendezvous {
    async fn expect(
        &self,
        session: &str,
        call: &str,
        ids: &[String],
        ttl_ms: u64,
    ) -> Result<(), StoreError> {
        let expires_ms = self.clock.now_ms() + ttl_ms;
        let entry = Call { ids: ids.to_vec(), answers: Map::new(), expires_ms };
        self.objects.borrow_mut().calls.insert(Self::key(session, call), entry);
        Ok(())
    }

    async fn deliver(
        &self,
        session: &str,
        call: &str,
        id: &str,
        message: &Value,
    ) -> Result<bool, StoreError> {
        let now = self.clock.now_ms();
        let delivered = {
            let mut o = self.objects.borrow_mut();
            match o.calls.get_mut(&Self::key(session, call)) {
                Some(c)
                    if c.expires_ms > now
                        && c.ids.iter().any(|i| i == id)
                        && !c.answers.contains_key(id) =>
                {
                    c.answers.insert(id.to_owned(), message.clone());
                    true
                }
                _ => false,
            }
        };
        if delivered {
            self.tick();
        }
        Ok(delivered)
    }

    async fn wait(
        &self,
        session: &str,
        call: &str,
        timeout_ms: u64,
    ) -> Result<Option<Map<String, Value>>, StoreError> {
        let deadline = self.clock.now_ms() + timeout_ms;
        let key = Self::key(session, call);
        let answers = poll_fn(|cx| {
            let now = self.clock.now_ms();
            let mut o = self.objects.borrow_mut();
            let Some(c) = o.calls.get(&key) else { return Poll::Ready(None) };
            if c.ids.iter().all(|i| c.answers.contains_key(i)) {
                return Poll::Ready(o.calls.remove(&key).map(|c| c.answers));
            }
            if now >= deadline || now >= c.expires_ms {
                o.calls.remove(&key);
                return Poll::Ready(None);
            }
            o.wakers.push(cx.waker().clone());
            Poll::Pending
        })
        .await;
        Ok(answers)
    }

    async fn append(
        &self,
        session: &str,
        stream: &str,
        data: &str,
        done: bool,
        ttl_ms: u64,
    ) -> Result<u64, StoreError> {
        let now = self.clock.now_ms();
        let seq = {
            let mut o = self.objects.borrow_mut();
            let log = o.logs.entry(Self::key(session, stream)).or_default();
            if log.expires_ms <= now && log.next > 0 {
                *log = Log::default();
            }
            log.next += 1;
            if log.events.len() < MAX_LOGGED_EVENTS && data.len() <= MAX_LOGGED_EVENT_BYTES {
                log.events.push((log.next, data.to_owned()));
            }
            log.done |= done;
            log.expires_ms = now + ttl_ms;
            log.next
        };
        self.tick();
        Ok(seq)
    }

    async fn replay(
        &self,
        session: &str,
        stream: &str,
        after: u64,
        timeout_ms: u64,
    ) -> Result<Option<Replay>, StoreError> {
        let deadline = self.clock.now_ms() + timeout_ms;
        let key = Self::key(session, stream);
        let replay = poll_fn(|cx| {
            let now = self.clock.now_ms();
            let mut o = self.objects.borrow_mut();
            let Some(log) = o.logs.get(&key).filter(|l| l.expires_ms > now) else {
                return Poll::Ready(None);
            };
            let events: Vec<_> = log.events.iter().filter(|(n, _)| *n > after).cloned().collect();
            if !events.is_empty() || log.done || now >= deadline {
                return Poll::Ready(Some(Replay { events, done: log.done }));
            }
            o.wakers.push(cx.waker().clone());
            Poll::Pending
        })
        .await;
        Ok(replay)
    }
}

#[cfg(test)]
mod rendezvous_tests {
    use super::*;
    use crate::env::ManualClock;
    use serde_json::json;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        let waker = Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut f = std::pin::pin!(f);
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    #[test]
    fn answers_meet_their_wait_once_and_only_expected_ids() {
        let clock = Rc::new(ManualClock::new(1000));
        let rv = MemoryRendezvous::new(clock.clone());
        let ids = vec!["c1:a".to_owned(), "c1:b".to_owned()];
        block_on(rv.expect("s", "c1", &ids, 60_000)).unwrap();
        assert!(!block_on(rv.deliver("s", "c1", "c1:zzz", &json!(1))).unwrap());
        assert!(!block_on(rv.deliver("other", "c1", "c1:a", &json!(1))).unwrap());
        assert!(block_on(rv.deliver("s", "c1", "c1:a", &json!({"result": 1}))).unwrap());
        assert!(!block_on(rv.deliver("s", "c1", "c1:a", &json!({"result": 2}))).unwrap());
        assert!(block_on(rv.deliver("s", "c1", "c1:b", &json!({"result": 3}))).unwrap());
        let got = block_on(rv.wait("s", "c1", 1000)).unwrap().unwrap();
        assert_eq!(got["c1:a"], json!({"result": 1}));
        assert_eq!(got["c1:b"], json!({"result": 3}));
        assert_eq!(rv.held(), 0);
        // Late answers find nobody.
        assert!(!block_on(rv.deliver("s", "c1", "c1:a", &json!(1))).unwrap());
    }

    #[test]
    fn a_wait_times_out_and_leaves_nothing() {
        let clock = Rc::new(ManualClock::new(1000));
        let rv = MemoryRendezvous::new(clock.clone());
        block_on(rv.expect("s", "c", &["c:x".to_owned()], 60_000)).unwrap();
        clock.advance(61);
        assert_eq!(block_on(rv.wait("s", "c", 60_000)).unwrap(), None);
        assert_eq!(rv.held(), 0);
    }

    #[test]
    fn logs_replay_after_an_event_and_are_bounded() {
        let clock = Rc::new(ManualClock::new(1000));
        let rv = MemoryRendezvous::new(clock.clone());
        assert_eq!(block_on(rv.replay("s", "st", 0, 0)).unwrap(), None);
        assert_eq!(block_on(rv.append("s", "st", "", false, 60_000)).unwrap(), 1);
        assert_eq!(block_on(rv.append("s", "st", "{\"x\":1}", true, 60_000)).unwrap(), 2);
        let r = block_on(rv.replay("s", "st", 1, 0)).unwrap().unwrap();
        assert_eq!(r, Replay { events: vec![(2, "{\"x\":1}".into())], done: true });
        let big = "x".repeat(MAX_LOGGED_EVENT_BYTES + 1);
        assert_eq!(block_on(rv.append("s", "big", &big, true, 60_000)).unwrap(), 1);
        assert!(block_on(rv.replay("s", "big", 0, 0)).unwrap().unwrap().events.is_empty());
        clock.advance(61);
        assert_eq!(block_on(rv.replay("s", "st", 0, 0)).unwrap(), None);
        assert_eq!(rv.held(), 0);
    }
}

/// The task port's twin (engine/src/store/tasks.rs): versioned records with an expiry on the injected
/// clock.
pub struct MemoryTasks {
    clock: Rc<dyn Clock>,
    records: RefCell<HashMap<String, (u64, String, u64)>>,
}

impl MemoryTasks {
    pub fn new(clock: Rc<dyn Clock>) -> Self {
        Self { clock, records: RefCell::default() }
    }

    /// Unexpired records held (a test's "nothing left behind").
    pub fn held(&self) -> usize {
        let now = self.clock.now_ms();
        self.records.borrow().values().filter(|(_, _, exp)| *exp > now).count()
    }
}

#[async_trait(?Send)]
impl super::tasks::TaskStore for MemoryTasks {
    async fn get(&self, id: &str) -> Result<Option<super::tasks::Versioned>, StoreError> {
        let now = self.clock.now_ms();
        Ok(self
            .records
            .borrow()
            .get(id)
            .filter(|(_, _, exp)| *exp > now)
            .map(|(v, r, _)| super::tasks::Versioned { version: *v, record: r.clone() }))
    }

    async fn put(
        &self,
        id: &str,
        expected: u64,
        record: &str,
        expires_ms: u64,
    ) -> Result<Option<u64>, StoreError> {
        let now = self.clock.now_ms();
        let mut records = self.records.borrow_mut();
        let current = records.get(id).filter(|(_, _, exp)| *exp > now).map_or(0, |(v, _, _)| *v);
        if current != expected {
            return Ok(None);
        }
        records.insert(id.to_owned(), (current + 1, record.to_owned(), expires_ms));
        Ok(Some(current + 1))
    }
}

/// The ledger's twin: one map, exact, expiring by the injected clock; `fail` makes every
/// operation fail (the object unreachable).
pub struct MemoryLedger {
    clock: Rc<dyn Clock>,
    /// key -> (count, expires, first claimed or counted at)
    entries: RefCell<HashMap<String, (u64, u64, u64)>>,
    /// Every operation fails while set.
    pub fail: std::cell::Cell<bool>,
}

impl MemoryLedger {
    pub fn new(clock: Rc<dyn Clock>) -> Self {
        Self { clock, entries: RefCell::default(), fail: Default::default() }
    }

    /// The count (or 1 for a claim) under `key`; 0 when absent or expired (what tests look at).
    pub async fn peek(&self, key: &str) -> Result<u64, StoreError> {
        self.check()?;
        Ok(self.live(key).map_or(0, |(n, _, _)| n))
    }

    /// Forgets everything: the ledger as a deploy that introduces it finds it.
    pub fn clear(&self) {
        self.entries.borrow_mut().clear();
    }

    fn live(&self, key: &str) -> Option<(u64, u64, u64)> {
        let now = self.clock.now();
        self.entries.borrow().get(key).copied().filter(|(_, expires, _)| *expires > now)
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.fail.get() {
            return Err(StoreError("the ledger is unreachable (test)".into()));
        }
        Ok(())
    }
}

#[async_trait(?Send)]
impl super::ledger::Ledger for MemoryLedger {
    async fn claim(
        &self,
        key: &str,
        expires: u64,
        unless: Option<&str>,
    ) -> Result<super::ledger::Claim, StoreError> {
        use super::ledger::Claim;
        self.check()?;
        debug_assert!(
            unless.is_none_or(|u| super::ledger::split(u).0 == super::ledger::split(key).0)
        );
        if unless.is_some_and(|u| self.live(u).is_some_and(|(n, _, _)| n > 0)) {
            return Ok(Claim::Blocked);
        }
        if let Some((n, _, at)) = self.live(key) {
            if n > 0 {
                return Ok(Claim::Taken { at });
            }
        }
        self.entries.borrow_mut().insert(key.to_owned(), (1, expires, self.clock.now()));
        Ok(Claim::First)
    }
    async fn advance(
        &self,
        key: &str,
        to: u64,
        expires: u64,
        unless: Option<&str>,
    ) -> Result<super::ledger::Advance, StoreError> {
        use super::ledger::Advance;
        self.check()?;
        if unless.is_some_and(|u| self.live(u).is_some_and(|(n, _, _)| n > 0)) {
            return Ok(Advance::Blocked);
        }
        match self.live(key) {
            Some((n, _, at)) if n == to => Ok(Advance::Already { at }),
            Some((n, _, _)) if n > to => Ok(Advance::Past),
            _ => {
                self.entries.borrow_mut().insert(key.to_owned(), (to, expires, self.clock.now()));
                Ok(Advance::Moved)
            }
        }
    }
    async fn add(&self, key: &str, expires: u64) -> Result<u64, StoreError> {
        self.check()?;
        let now = self.clock.now();
        let (n, expires, at) =
            self.live(key).map_or((1, expires, now), |(n, e, at)| (n + 1, e, at));
        self.entries.borrow_mut().insert(key.to_owned(), (n, expires, at));
        Ok(n)
    }
    async fn take_back(&self, key: &str) -> Result<(), StoreError> {
        self.check()?;
        if let Some((n, e, at)) = self.live(key) {
            self.entries.borrow_mut().insert(key.to_owned(), (n.saturating_sub(1), e, at));
        }
        Ok(())
    }
}
