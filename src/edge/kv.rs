//! [`Store`] on Workers KV.

use crate::store::{check_key, check_put, ListPage, Store, StoreError, MAX_LIST_LIMIT};
use async_trait::async_trait;

/// The `KV` binding, looked up on first use: requests that never touch storage (metadata,
/// cached token checks) skip the binding lookup.
pub struct KvAdapter<'a> {
    env: &'a worker::Env,
    kv: std::cell::OnceCell<worker::kv::KvStore>,
}

impl<'a> KvAdapter<'a> {
    pub fn new(env: &'a worker::Env) -> Self {
        Self { env, kv: std::cell::OnceCell::new() }
    }

    fn kv(&self) -> Result<&worker::kv::KvStore, StoreError> {
        if let Some(kv) = self.kv.get() {
            return Ok(kv);
        }
        let kv = self.env.kv("KV").map_err(|e| StoreError(format!("KV binding: {e}")))?;
        Ok(self.kv.get_or_init(|| kv))
    }
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

#[async_trait(?Send)]
impl Store for KvAdapter<'_> {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        check_key(key)?;
        self.kv()?.get(key).text().await.map_err(err)
    }

    async fn put(&self, key: &str, value: &str, ttl: Option<u64>) -> Result<(), StoreError> {
        check_put(key, value, ttl)?;
        let mut put = self.kv()?.put(key, value).map_err(err)?;
        if let Some(ttl) = ttl {
            put = put.expiration_ttl(ttl);
        }
        put.execute().await.map_err(err)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        check_key(key)?;
        self.kv()?.delete(key).await.map_err(err)
    }

    async fn list(
        &self,
        prefix: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<ListPage, StoreError> {
        let mut list = self
            .kv()?
            .list()
            .prefix(prefix.to_owned())
            .limit(limit.clamp(1, MAX_LIST_LIMIT) as u64);
        if let Some(c) = cursor {
            list = list.cursor(c.to_owned());
        }
        let page = list.execute().await.map_err(err)?;
        Ok(ListPage {
            keys: page.keys.into_iter().map(|k| k.name).collect(),
            cursor: (!page.list_complete).then_some(page.cursor).flatten(),
        })
    }
}
