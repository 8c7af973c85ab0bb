//! In-memory [`Store`] with KV's limits and a caller-controlled clock; the test double.

use super::{check_key, check_put, ListPage, Store, StoreError, MAX_LIST_LIMIT};
use crate::env::Clock;
use async_trait::async_trait;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

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
