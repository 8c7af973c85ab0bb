//! The ledger port: what must happen once, or be counted exactly, in one strongly consistent
//! place. KV (eventually consistent, no compare-and-set) cannot: two locations can both "first"
//! redeem a code, and parallel requests all read the same counter. Production keeps each key in
//! its own Durable Object (`McpSessions` named `ledger:<key>`, engine/src/edge/objects.mjs,
//! SQLite-backed, cleared by an alarm when it expires); tests use
//! [`super::memory::MemoryLedger`], shared
//! between simulated locations. Costs and latency: docs/costs.md.

use super::StoreError;
use async_trait::async_trait;

/// Single use and exact counters, each key until it expires.
#[async_trait(?Send)]
pub trait Ledger {
    /// Claims `key` until `expires` (Unix seconds): `true` for the first claim, `false` for
    /// every later one while it lives, wherever it comes from.
    async fn claim(&self, key: &str, expires: u64) -> Result<bool, StoreError>;
    /// Adds one to the counter `key` (a window ending at `expires`, when it starts) and returns
    /// the new count.
    async fn add(&self, key: &str, expires: u64) -> Result<u64, StoreError>;
    /// Takes one back from the counter `key` (an attempt that turned out fine).
    async fn take_back(&self, key: &str) -> Result<(), StoreError>;
    /// The count (or 1 for a claim) under `key`; 0 when absent or expired.
    async fn peek(&self, key: &str) -> Result<u64, StoreError>;
}

/// No ledger bound (the app's build, stdio): every operation fails, so nothing that must
/// happen once happens unchecked.
pub struct NoLedger;

#[async_trait(?Send)]
impl Ledger for NoLedger {
    async fn claim(&self, _: &str, _: u64) -> Result<bool, StoreError> {
        Err(StoreError("no ledger (Durable Object) is bound".into()))
    }
    async fn add(&self, _: &str, _: u64) -> Result<u64, StoreError> {
        Err(StoreError("no ledger (Durable Object) is bound".into()))
    }
    async fn take_back(&self, _: &str) -> Result<(), StoreError> {
        Err(StoreError("no ledger (Durable Object) is bound".into()))
    }
    async fn peek(&self, _: &str) -> Result<u64, StoreError> {
        Err(StoreError("no ledger (Durable Object) is bound".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::ManualClock;
    use crate::store::memory::MemoryLedger;
    use std::rc::Rc;

    #[tokio::test]
    async fn claims_are_single_and_counters_exact_until_they_expire() {
        let clock = Rc::new(ManualClock::new(1_000));
        let l = MemoryLedger::new(clock.clone());
        assert!(l.claim("code:g", 1_060).await.unwrap());
        assert!(!l.claim("code:g", 1_060).await.unwrap());
        assert_eq!(l.add("n", 1_100).await.unwrap(), 1);
        assert_eq!(l.add("n", 1_100).await.unwrap(), 2);
        l.take_back("n").await.unwrap();
        assert_eq!(l.peek("n").await.unwrap(), 1);
        assert_eq!(l.add("n", 1_100).await.unwrap(), 2);
        assert_eq!(l.peek("absent").await.unwrap(), 0);
        clock.advance(100);
        assert!(l.claim("code:g", 1_200).await.unwrap(), "expired: claimable again");
        assert_eq!(l.add("n", 1_400).await.unwrap(), 1, "a new window");
        l.fail.set(true);
        assert!(l.claim("x", 2_000).await.is_err());
    }
}
