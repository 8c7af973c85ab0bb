//! The storage port: a small async key-value interface with Workers KV's semantics.
//!
//! Production uses Workers KV (`edge::kv`); tests use [`memory::MemoryStore`], which enforces
//! KV's real limits so a test cannot pass on something KV would reject.

pub mod deferred;
pub mod ledger;
pub mod memory;
pub mod records;
pub mod rendezvous;
pub mod tasks;

use async_trait::async_trait;

/// Workers KV limits, enforced by [`memory::MemoryStore`] and respected by callers.
pub const MIN_TTL_SECS: u64 = 60;
pub const MAX_KEY_BYTES: usize = 512;
pub const MAX_VALUE_BYTES: usize = 25 * 1024 * 1024;
pub const MAX_LIST_LIMIT: usize = 1000;

/// A storage failure. Callers map it to 503 `temporarily_unavailable`; it is never a panic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "store error: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

/// One page of keys from [`Store::list`].
#[derive(Debug, Default, Clone)]
pub struct ListPage {
    pub keys: Vec<String>,
    /// Present when more keys follow; pass it back to get the next page.
    pub cursor: Option<String>,
}

/// Async key-value storage (get / put with TTL / delete / list by prefix).
#[async_trait(?Send)]
pub trait Store {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Writes `value`; with `ttl` (seconds, at least [`MIN_TTL_SECS`]) the key expires.
    async fn put(&self, key: &str, value: &str, ttl: Option<u64>) -> Result<(), StoreError>;
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// A write the request does not depend on (renewals, counters): callers log its failure
    /// and carry on. A store that applies writes after the handler (the Workers adapter) may
    /// report success here and skip it on failure, where a failed [`Store::put`] fails the
    /// request.
    async fn put_best_effort(
        &self,
        key: &str,
        value: &str,
        ttl: Option<u64>,
    ) -> Result<(), StoreError> {
        self.put(key, value, ttl).await
    }
    /// A write that must be done before the request answers, because what the request does
    /// next depends on whether it was (a redeemed code's grant: when it fails, the ledger's
    /// claim is released). A store that applies writes after the handler writes this one now.
    async fn put_now(&self, key: &str, value: &str, ttl: Option<u64>) -> Result<(), StoreError> {
        self.put(key, value, ttl).await
    }
    /// Keys starting with `prefix`, in lexicographic order, at most `limit` per page.
    async fn list(
        &self,
        prefix: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<ListPage, StoreError>;
}

/// Checks a write against KV's limits; shared by the in-memory store and the KV adapter.
pub fn check_put(key: &str, value: &str, ttl: Option<u64>) -> Result<(), StoreError> {
    check_key(key)?;
    if value.len() > MAX_VALUE_BYTES {
        return Err(StoreError(format!("value for {key} exceeds {MAX_VALUE_BYTES} bytes")));
    }
    if let Some(ttl) = ttl {
        if ttl < MIN_TTL_SECS {
            return Err(StoreError(format!("ttl {ttl}s is below KV's minimum of {MIN_TTL_SECS}s")));
        }
    }
    Ok(())
}

pub fn check_key(key: &str) -> Result<(), StoreError> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(StoreError(format!("key length {} outside 1..={MAX_KEY_BYTES}", key.len())));
    }
    Ok(())
}

/// Typed helpers over the string store: records are JSON.
pub async fn get_json<T: serde::de::DeserializeOwned>(
    store: &dyn Store,
    key: &str,
) -> Result<Option<T>, StoreError> {
    match store.get(key).await? {
        None => Ok(None),
        Some(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| StoreError(format!("corrupt record at {key}: {e}"))),
    }
}

pub async fn put_json<T: serde::Serialize>(
    store: &dyn Store,
    key: &str,
    value: &T,
    ttl: Option<u64>,
) -> Result<(), StoreError> {
    store.put(key, &to_json(value)?, ttl).await
}

/// [`put_json`] through [`Store::put_best_effort`].
pub async fn put_json_best_effort<T: serde::Serialize>(
    store: &dyn Store,
    key: &str,
    value: &T,
    ttl: Option<u64>,
) -> Result<(), StoreError> {
    store.put_best_effort(key, &to_json(value)?, ttl).await
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError(e.to_string()))
}
