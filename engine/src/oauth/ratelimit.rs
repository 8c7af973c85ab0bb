//! Fixed-window counters in the store, for throttling sign-in attempts and registrations.
//! KV is eventually consistent, so limits are approximate across locations: a brake on brute
//! force, not an exact quota.

use crate::store::records::rate_limit_key;
use crate::store::{Store, StoreError, MIN_TTL_SECS};

pub struct Limit {
    pub bucket: String,
    pub max: u64,
    pub window: u64,
}

impl Limit {
    fn key(&self, now: u64) -> String {
        rate_limit_key(&self.bucket, now / self.window.max(1))
    }

    /// How many hits this window has seen.
    pub async fn count(&self, store: &dyn Store, now: u64) -> Result<u64, StoreError> {
        Ok(store.get(&self.key(now)).await?.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    pub async fn exceeded(&self, store: &dyn Store, now: u64) -> Result<bool, StoreError> {
        Ok(self.count(store, now).await? >= self.max)
    }

    /// Records one hit.
    pub async fn hit(&self, store: &dyn Store, now: u64) -> Result<(), StoreError> {
        let (key, n, ttl) = self.next(store, now).await?;
        store.put(&key, &n, ttl).await
    }

    /// Records one hit where a lost count must not fail the request (see
    /// [`Store::put_best_effort`]).
    pub async fn hit_best_effort(&self, store: &dyn Store, now: u64) -> Result<(), StoreError> {
        let (key, n, ttl) = self.next(store, now).await?;
        store.put_best_effort(&key, &n, ttl).await
    }

    /// The key, the incremented count and the TTL of one more hit.
    async fn next(
        &self,
        store: &dyn Store,
        now: u64,
    ) -> Result<(String, String, Option<u64>), StoreError> {
        let n = self.count(store, now).await? + 1;
        Ok((self.key(now), n.to_string(), Some(self.window.max(MIN_TTL_SECS))))
    }
}
