//! The ledger port: what must happen once, or be counted exactly, in one strongly consistent
//! place. KV (eventually consistent, no compare-and-set) cannot: two locations can both "first"
//! redeem a code, and parallel requests all read the same counter.
//!
//! A key is `{shard}/{item}` (or a bare shard): everything of one shard lives in one place, so an
//! operation may look at another item of its shard in the same atomic step (a grant's refresh
//! generation and its revocation mark, all in the shard of the person it was granted to:
//! `person:{hash}/grant:{id}:generation`, `person:{hash}/grant:{id}:revoked`).
//! Production keeps each shard in its own Durable Object (`McpSessions` named `ledger:<shard>`,
//! engine/src/edge/objects.mjs, SQLite-backed, cleared by an alarm when its items expire); tests
//! use [`super::memory::MemoryLedger`], shared between simulated locations. The keys in use:
//! docs/storage-schema.md "The ledger"; costs and latency: docs/costs.md.

use super::StoreError;
use async_trait::async_trait;

/// What a [`Ledger::claim`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The first claim while the key lives: it is now this caller's.
    First,
    /// Claimed before, at `at` (Unix seconds), by whoever came first.
    Taken { at: u64 },
    /// The `unless` item exists (a revocation mark): nothing was claimed.
    Blocked,
}

/// What a [`Ledger::advance`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advance {
    /// The value was below the target: it is the target now, moved by this caller.
    Moved,
    /// The value already was the target, since `at` (Unix seconds).
    Already { at: u64 },
    /// The value is past the target.
    Past,
    /// The `unless` item exists: nothing changed.
    Blocked,
}

/// Single use and exact counters, each key until it expires.
#[async_trait(?Send)]
pub trait Ledger {
    /// Claims `key` until `expires` (Unix seconds) in one atomic step, unless the key `unless`
    /// (of the same shard) exists: [`Claim::First`] for the first claim, [`Claim::Taken`] for
    /// every later one while it lives, wherever it comes from.
    async fn claim(
        &self,
        key: &str,
        expires: u64,
        unless: Option<&str>,
    ) -> Result<Claim, StoreError>;
    /// Moves the value under `key` (0 when absent) up to `to` if it is below, in one atomic
    /// step, unless the key `unless` (of the same shard) exists; a move keeps the key until
    /// `expires`. A sequence that must have one successor per step (refresh generations).
    async fn advance(
        &self,
        key: &str,
        to: u64,
        expires: u64,
        unless: Option<&str>,
    ) -> Result<Advance, StoreError>;
    /// Adds one to the counter `key` (a window ending at `expires`, when it starts) and returns
    /// the new count.
    async fn add(&self, key: &str, expires: u64) -> Result<u64, StoreError>;
    /// Takes one back from the counter `key` (an attempt that turned out fine); on a claim, it
    /// releases it (the work it guarded could not be done, so it may be claimed again).
    async fn take_back(&self, key: &str) -> Result<(), StoreError>;
}

/// `key` as (shard, item): the part before the first `/`, and the rest (empty for a bare key).
pub fn split(key: &str) -> (&str, &str) {
    key.split_once('/').unwrap_or((key, ""))
}

/// No ledger bound (the app's build, stdio): every operation fails, so nothing that must
/// happen once happens unchecked.
pub struct NoLedger;

fn unbound() -> StoreError {
    StoreError("no ledger (Durable Object) is bound".into())
}

#[async_trait(?Send)]
impl Ledger for NoLedger {
    async fn claim(&self, _: &str, _: u64, _: Option<&str>) -> Result<Claim, StoreError> {
        Err(unbound())
    }
    async fn advance(
        &self,
        _: &str,
        _: u64,
        _: u64,
        _: Option<&str>,
    ) -> Result<Advance, StoreError> {
        Err(unbound())
    }
    async fn add(&self, _: &str, _: u64) -> Result<u64, StoreError> {
        Err(unbound())
    }
    async fn take_back(&self, _: &str) -> Result<(), StoreError> {
        Err(unbound())
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
        assert_eq!(l.claim("code:g", 1_060, None).await.unwrap(), Claim::First);
        clock.advance(5);
        assert_eq!(l.claim("code:g", 1_060, None).await.unwrap(), Claim::Taken { at: 1_000 });
        assert_eq!(l.add("n", 1_100).await.unwrap(), 1);
        assert_eq!(l.add("n", 1_100).await.unwrap(), 2);
        l.take_back("n").await.unwrap();
        assert_eq!(l.peek("n").await.unwrap(), 1);
        assert_eq!(l.add("n", 1_100).await.unwrap(), 2);
        assert_eq!(l.peek("absent").await.unwrap(), 0);
        clock.advance(95);
        assert_eq!(l.claim("code:g", 1_200, None).await.unwrap(), Claim::First, "expired");
        assert_eq!(l.add("n", 1_400).await.unwrap(), 1, "a new window");
        l.fail.set(true);
        assert!(l.claim("x", 2_000, None).await.is_err());
    }

    #[tokio::test]
    async fn a_released_claim_is_free_and_a_blocker_claims_nothing() {
        let clock = Rc::new(ManualClock::new(1_000));
        let l = MemoryLedger::new(clock.clone());
        assert_eq!(l.claim("g/code", 1_060, Some("g/revoked")).await.unwrap(), Claim::First);
        l.take_back("g/code").await.unwrap();
        assert_eq!(l.peek("g/code").await.unwrap(), 0);
        assert_eq!(l.claim("g/code", 1_060, Some("g/revoked")).await.unwrap(), Claim::First);
        assert_eq!(l.claim("g/revoked", 2_000, None).await.unwrap(), Claim::First);
        assert_eq!(l.claim("g/refresh:0", 1_060, Some("g/revoked")).await.unwrap(), Claim::Blocked);
        assert_eq!(l.peek("g/refresh:0").await.unwrap(), 0, "a blocked claim leaves nothing");
        assert_eq!(split("g/refresh:0"), ("g", "refresh:0"));
        clock.advance(7);
        assert_eq!(l.advance("h/gen", 1, 9_000, Some("h/revoked")).await.unwrap(), Advance::Moved);
        assert_eq!(
            l.advance("h/gen", 1, 9_000, None).await.unwrap(),
            Advance::Already { at: 1_007 }
        );
        assert_eq!(
            l.advance("h/gen", 3, 9_000, None).await.unwrap(),
            Advance::Moved,
            "skips ahead"
        );
        assert_eq!(l.advance("h/gen", 2, 9_000, None).await.unwrap(), Advance::Past);
        l.claim("h/revoked", 9_000, None).await.unwrap();
        assert_eq!(
            l.advance("h/gen", 4, 9_000, Some("h/revoked")).await.unwrap(),
            Advance::Blocked
        );
        assert_eq!(l.peek("h/gen").await.unwrap(), 3);
        assert_eq!(split("signin:x"), ("signin:x", ""));
    }
}
