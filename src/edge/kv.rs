//! [`Store`] on Workers KV, through four small JS functions: one crossing per operation, and
//! the `KV` binding read from `env` only when storage is used (requests that never touch storage
//! skip it).

use crate::store::{check_key, check_put, ListPage, Store, StoreError, MAX_LIST_LIMIT};
use async_trait::async_trait;
use worker::js_sys::Promise;
use worker::wasm_bindgen::{self, prelude::wasm_bindgen, JsValue};
use worker::wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(inline_js = "
export function has_kv(env) {
  return env.KV != null && typeof env.KV.get === 'function';
}
export function kv_get(env, key) {
  return env.KV.get(key);
}
export function kv_put(env, key, value, ttl) {
  return env.KV.put(key, value, ttl > 0 ? { expirationTtl: ttl } : undefined);
}
export function kv_delete(env, key) {
  return env.KV.delete(key);
}
export function kv_list(env, prefix, limit, cursor) {
  const options = { prefix, limit };
  if (cursor) options.cursor = cursor;
  return env.KV.list(options).then((page) =>
    JSON.stringify({ keys: page.keys.map((k) => k.name), cursor: page.list_complete ? null : page.cursor }));
}
")]
extern "C" {
    /// Whether `env` has a KV namespace bound as `KV`.
    pub fn has_kv(env: &JsValue) -> bool;
    #[wasm_bindgen(catch)]
    fn kv_get(env: &JsValue, key: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch)]
    fn kv_put(env: &JsValue, key: &str, value: &str, ttl: f64) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch)]
    fn kv_delete(env: &JsValue, key: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch)]
    fn kv_list(env: &JsValue, prefix: &str, limit: u32, cursor: &str) -> Result<Promise, JsValue>;
}

pub struct KvAdapter<'a> {
    env: &'a JsValue,
}

impl<'a> KvAdapter<'a> {
    pub fn new(env: &'a worker::Env) -> Self {
        Self { env: env.as_ref() }
    }
}

fn err(e: JsValue) -> StoreError {
    let text = worker::js_sys::Error::from(e.clone())
        .message()
        .as_string()
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"));
    StoreError(format!("KV: {text}"))
}

async fn settle(promise: Result<Promise, JsValue>) -> Result<JsValue, StoreError> {
    JsFuture::from(promise.map_err(err)?).await.map_err(err)
}

#[async_trait(?Send)]
impl Store for KvAdapter<'_> {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        check_key(key)?;
        Ok(settle(kv_get(self.env, key)).await?.as_string())
    }

    async fn put(&self, key: &str, value: &str, ttl: Option<u64>) -> Result<(), StoreError> {
        check_put(key, value, ttl)?;
        settle(kv_put(self.env, key, value, ttl.unwrap_or(0) as f64)).await.map(drop)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        check_key(key)?;
        settle(kv_delete(self.env, key)).await.map(drop)
    }

    async fn list(
        &self,
        prefix: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<ListPage, StoreError> {
        let limit = limit.clamp(1, MAX_LIST_LIMIT) as u32;
        let json = settle(kv_list(self.env, prefix, limit, cursor.unwrap_or("")))
            .await?
            .as_string()
            .unwrap_or_default();
        #[derive(serde::Deserialize)]
        struct Page {
            keys: Vec<String>,
            cursor: Option<String>,
        }
        let Page { keys, cursor } = serde_json::from_str(&json)
            .map_err(|e| StoreError(format!("KV: unreadable list result: {e}")))?;
        Ok(ListPage { keys, cursor })
    }
}
