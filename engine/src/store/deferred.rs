//! Writes held back until the handler has its response: the commit semantics of every request,
//! natively ([`crate::app::App::handle`]) and on Workers (src/edge applies the same list).
//!
//! - Reads see the request's own writes (read-your-writes); `list` sees only the store.
//! - [`commit`]: required writes are applied in the order they were made; if one fails, the
//!   rest are not applied and the request answers 503 instead of its response. Best-effort
//!   writes (renewals, counters) come after, and a failed one is logged and skipped; on Workers
//!   they run after the response is released (`ctx.waitUntil`).

use super::{check_key, check_put, ListPage, Store, StoreError};
use async_trait::async_trait;
use std::cell::RefCell;

/// One held-back write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// `ttl` 0: no expiry.
    Put {
        key: String,
        value: String,
        ttl: u64,
        best_effort: bool,
    },
    Delete {
        key: String,
    },
}

impl Write {
    fn key(&self) -> &str {
        match self {
            Write::Put { key, .. } | Write::Delete { key } => key,
        }
    }

    pub fn is_best_effort(&self) -> bool {
        matches!(self, Write::Put { best_effort: true, .. })
    }
}

/// A [`Store`] whose writes are collected over `reads` (the real store).
pub struct Deferred<'a> {
    reads: &'a dyn Store,
    writes: RefCell<Vec<Write>>,
}

impl<'a> Deferred<'a> {
    pub fn new(reads: &'a dyn Store) -> Self {
        Self { reads, writes: RefCell::new(Vec::new()) }
    }

    /// The collected writes in commit order: required ones as made, then best-effort ones
    /// (a best-effort write that a later required write to the same key supersedes is dropped).
    pub fn take_writes(&self) -> Vec<Write> {
        let writes = std::mem::take(&mut *self.writes.borrow_mut());
        let superseded = |w: &Write, at: usize| {
            writes[at + 1..].iter().any(|later| !later.is_best_effort() && later.key() == w.key())
        };
        let mut out: Vec<Write> = writes.iter().filter(|w| !w.is_best_effort()).cloned().collect();
        for (at, w) in writes.iter().enumerate() {
            if w.is_best_effort() && !superseded(w, at) {
                out.push(w.clone());
            }
        }
        out
    }

    /// The latest collected write to `key`: `Some(Some(value))` for a put, `Some(None)` for a
    /// delete, `None` if there is none.
    fn pending(&self, key: &str) -> Option<Option<String>> {
        self.writes.borrow().iter().rev().find(|w| w.key() == key).map(|w| match w {
            Write::Put { value, .. } => Some(value.clone()),
            Write::Delete { .. } => None,
        })
    }
}

/// Applies `writes` (from [`Deferred::take_writes`]) to `store`: required writes in order,
/// stopping at the first failure (its error is returned: answer 503); best-effort writes after,
/// each failure logged and skipped.
pub async fn commit(store: &dyn Store, writes: Vec<Write>) -> Result<(), StoreError> {
    for w in writes {
        let best_effort = w.is_best_effort();
        let result = match &w {
            Write::Put { key, value, ttl, .. } => {
                store.put(key, value, (*ttl > 0).then_some(*ttl)).await
            }
            Write::Delete { key } => store.delete(key).await,
        };
        match result {
            Ok(()) => {}
            Err(e) if best_effort => log::warn!("best-effort write failed ({}): {e}", w.key()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[async_trait(?Send)]
impl Store for Deferred<'_> {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        check_key(key)?;
        match self.pending(key) {
            Some(value) => Ok(value),
            None => self.reads.get(key).await,
        }
    }

    async fn put(&self, key: &str, value: &str, ttl: Option<u64>) -> Result<(), StoreError> {
        check_put(key, value, ttl)?;
        let (key, value, ttl) = (key.to_owned(), value.to_owned(), ttl.unwrap_or(0));
        self.writes.borrow_mut().push(Write::Put { key, value, ttl, best_effort: false });
        Ok(())
    }

    async fn put_best_effort(
        &self,
        key: &str,
        value: &str,
        ttl: Option<u64>,
    ) -> Result<(), StoreError> {
        check_put(key, value, ttl)?;
        let (key, value, ttl) = (key.to_owned(), value.to_owned(), ttl.unwrap_or(0));
        self.writes.borrow_mut().push(Write::Put { key, value, ttl, best_effort: true });
        Ok(())
    }

    /// Straight to the store; an earlier held-back write to `key` would be stale after it,
    /// so it is dropped.
    async fn put_now(&self, key: &str, value: &str, ttl: Option<u64>) -> Result<(), StoreError> {
        check_put(key, value, ttl)?;
        self.reads.put_now(key, value, ttl).await?;
        self.writes.borrow_mut().retain(|w| w.key() != key);
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        check_key(key)?;
        self.writes.borrow_mut().push(Write::Delete { key: key.to_owned() });
        Ok(())
    }

    /// The store's keys only: nothing lists keys it has just written.
    async fn list(
        &self,
        prefix: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<ListPage, StoreError> {
        self.reads.list(prefix, limit, cursor).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::ManualClock;
    use crate::store::memory::MemoryStore;
    use std::rc::Rc;

    fn block<F: std::future::Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        match f.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("the memory store never waits"),
        }
    }

    fn store() -> MemoryStore {
        MemoryStore::new(Rc::new(ManualClock::new(1000)))
    }

    #[test]
    fn reads_see_the_requests_own_writes_and_nothing_is_written_before_commit() {
        let real = store();
        block(real.put("a", "old", None)).unwrap();
        let d = Deferred::new(&real);
        block(d.put("a", "new", None)).unwrap();
        block(d.put("b", "1", Some(60))).unwrap();
        block(d.delete("c")).unwrap();
        assert_eq!(block(d.get("a")).unwrap().as_deref(), Some("new"));
        assert_eq!(block(d.get("c")).unwrap(), None);
        assert_eq!(block(real.get("a")).unwrap().as_deref(), Some("old"));
        assert_eq!(real.writes(), 1);
        block(commit(&real, d.take_writes())).unwrap();
        assert_eq!(block(real.get("a")).unwrap().as_deref(), Some("new"));
        assert_eq!(block(real.get("b")).unwrap().as_deref(), Some("1"));
    }

    #[test]
    fn required_writes_keep_their_order_and_best_effort_ones_come_last() {
        let real = store();
        let d = Deferred::new(&real);
        block(d.put_best_effort("counter", "1", None)).unwrap();
        block(d.put("x", "1", None)).unwrap();
        block(d.put_best_effort("renewal", "r", None)).unwrap();
        block(d.delete("x")).unwrap();
        // Superseded by a later required write to the same key: dropped.
        block(d.put_best_effort("y", "stale", None)).unwrap();
        block(d.put("y", "fresh", None)).unwrap();
        let keys: Vec<String> = d.take_writes().iter().map(|w| w.key().to_owned()).collect();
        assert_eq!(keys, ["x", "x", "y", "counter", "renewal"]);
    }

    #[test]
    fn a_failed_required_write_stops_the_commit_and_a_failed_best_effort_one_does_not() {
        let real = store();
        *real.failing_puts.borrow_mut() = Some("bad".into());
        let d = Deferred::new(&real);
        block(d.put_best_effort("bad:counter", "1", None)).unwrap();
        block(d.put("good", "1", None)).unwrap();
        assert!(block(commit(&real, d.take_writes())).is_ok());
        assert_eq!(block(real.get("good")).unwrap().as_deref(), Some("1"));

        let d = Deferred::new(&real);
        block(d.put("first", "1", None)).unwrap();
        block(d.put("bad:grant", "1", None)).unwrap();
        block(d.put("after", "1", None)).unwrap();
        assert!(block(commit(&real, d.take_writes())).is_err());
        assert_eq!(block(real.get("first")).unwrap().as_deref(), Some("1"));
        assert_eq!(block(real.get("after")).unwrap(), None, "nothing after a failed write");
    }

    #[test]
    fn kv_limits_are_checked_when_the_write_is_made() {
        let real = store();
        let d = Deferred::new(&real);
        assert!(block(d.put("k", "v", Some(10))).is_err());
        assert!(block(d.put("", "v", None)).is_err());
        assert!(d.take_writes().is_empty());
    }
}
