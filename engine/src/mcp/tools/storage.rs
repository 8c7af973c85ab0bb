//! A tool's own storage: Workers KV (the in-memory twin natively) under a prefix of the tool's
//! name, and of the signed-in person when the tool asks for it. Keys cannot leave the prefix,
//! so a deployer's tool never reads or writes the authorization server's records (`client:`,
//! `grant:`, …; docs/storage-schema.md).

use super::ToolContext;
use crate::crypto::sha256_b64;
use crate::store::{ListPage, Store, StoreError};

/// Storage of one tool (and maybe one person): every key is under its prefix.
pub struct ToolStorage<'a> {
    store: &'a dyn Store,
    prefix: String,
}

impl ToolStorage<'_> {
    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// The value under `key`, if any.
    pub async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.store.get(&self.key(key)).await
    }

    /// Writes `value` under `key`; with `ttl` (seconds, at least 60) it expires. KV is
    /// eventually consistent: another location may read the old value for up to 60 s.
    pub async fn put(&self, key: &str, value: &str, ttl: Option<u64>) -> Result<(), StoreError> {
        self.store.put(&self.key(key), value, ttl).await
    }

    /// Removes `key`.
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.store.delete(&self.key(key)).await
    }

    /// This storage's keys starting with `prefix` (without the storage's own prefix), at most
    /// `limit` per page.
    pub async fn list(
        &self,
        prefix: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<ListPage, StoreError> {
        let mut page = self.store.list(&self.key(prefix), limit, cursor).await?;
        for k in &mut page.keys {
            if let Some(rest) = k.strip_prefix(&self.prefix) {
                *k = rest.to_owned();
            }
        }
        Ok(page)
    }
}

impl ToolContext<'_> {
    /// This tool's storage (keys under `tool:{name}:`), or `None` where there is none (stdio).
    pub fn storage(&self) -> Option<ToolStorage<'_>> {
        Some(ToolStorage { store: self.store?, prefix: format!("tool:{}:", self.tool) })
    }

    /// This tool's storage for the signed-in person (keys under `tool:{name}:user:{hash of
    /// sub}:`), or `None` without storage or without a signed-in person.
    pub fn user_storage(&self) -> Option<ToolStorage<'_>> {
        let who = self.identity?;
        let prefix = format!("tool:{}:user:{}:", self.tool, sha256_b64(&who.sub));
        Some(ToolStorage { store: self.store?, prefix })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::ManualClock;
    use crate::mcp::Identity;
    use crate::store::memory::MemoryStore;
    use std::rc::Rc;

    #[tokio::test]
    async fn a_tools_storage_cannot_reach_other_records() {
        let store = MemoryStore::new(Rc::new(ManualClock::new(1_000)));
        store.put("client:abc", "{\"secret\":1}", None).await.unwrap();
        store.put("grant:g1", "{}", None).await.unwrap();
        let notify = |_: &str, _: serde_json::Value| {};
        let alice = Identity {
            sub: "user-alice".into(),
            name: None,
            scopes: vec!["mcp".into()],
            client_id: "c".into(),
        };
        let mut ctx = ToolContext::simple(Some(&alice), Some(&store), 1_000, &notify);
        ctx.tool = "notes";
        let s = ctx.storage().unwrap();
        // The authorization server's keys, however spelled, are not this tool's.
        for key in ["client:abc", "grant:g1", "../client:abc", ""] {
            assert_eq!(s.get(key).await.unwrap(), None, "{key}");
        }
        assert!(s.list("", 100, None).await.unwrap().keys.is_empty());
        s.put("client:abc", "mine", None).await.unwrap();
        assert_eq!(store.get("client:abc").await.unwrap().as_deref(), Some("{\"secret\":1}"));
        assert_eq!(s.get("client:abc").await.unwrap().as_deref(), Some("mine"));
        assert_eq!(s.list("", 100, None).await.unwrap().keys, ["client:abc"]);
        // Per person: alice's keys are hers; another tool sees none of them.
        let u = ctx.user_storage().unwrap();
        u.put("draft", "hello", None).await.unwrap();
        assert_eq!(u.get("draft").await.unwrap().as_deref(), Some("hello"));
        assert_eq!(s.get("draft").await.unwrap(), None);
        ctx.tool = "other";
        assert!(ctx.storage().unwrap().list("", 100, None).await.unwrap().keys.is_empty());
        assert_eq!(ctx.user_storage().unwrap().get("draft").await.unwrap(), None);
        // No identity: no per-person storage.
        let anon = ToolContext::simple(None, Some(&store), 1_000, &notify);
        assert!(anon.user_storage().is_none());
    }
}
