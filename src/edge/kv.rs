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

/// A write held back until the handler has produced its response.
enum Write {
    Put { key: String, value: String, ttl: u64, best_effort: bool },
    Delete { key: String },
}

pub struct KvAdapter<'a> {
    env: &'a JsValue,
    /// `Some`: writes are collected (reads see them) and applied by src/edge/entry.mjs after the
    /// handler, before the response is released; `None`: writes go to KV at once.
    deferred: Option<std::cell::RefCell<Vec<Write>>>,
}

impl<'a> KvAdapter<'a> {
    /// Writes go to KV as they are made (used while building the app).
    pub fn immediate(env: &'a worker::Env) -> Self {
        Self { env: env.as_ref(), deferred: None }
    }

    /// Writes are collected for [`KvAdapter::take_writes`]: a request whose only storage access
    /// is writing (a registration, an approval) runs without a Rust future at all, and the
    /// writes cost one native `await` each in JS.
    pub fn deferred(env: &'a worker::Env) -> Self {
        Self { env: env.as_ref(), deferred: Some(std::cell::RefCell::new(Vec::new())) }
    }

    /// The collected writes as JSON for entry.mjs's `commit` (`None` if there are none):
    /// `[["put", key, value, ttl, bestEffort], ["delete", key], …]`, in order.
    pub fn take_writes(&self) -> Option<String> {
        let writes = self.deferred.as_ref().map(|w| std::mem::take(&mut *w.borrow_mut()))?;
        if writes.is_empty() {
            return None;
        }
        let ops: Vec<serde_json::Value> = writes
            .into_iter()
            .map(|w| match w {
                Write::Put { key, value, ttl, best_effort } => {
                    serde_json::json!(["put", key, value, ttl, best_effort])
                }
                Write::Delete { key } => serde_json::json!(["delete", key]),
            })
            .collect();
        serde_json::to_string(&ops).ok()
    }

    /// The latest collected write to `key`: `Some(Some(value))` for a put, `Some(None)` for a
    /// delete, `None` if there is none.
    fn pending(&self, key: &str) -> Option<Option<String>> {
        let writes = self.deferred.as_ref()?.borrow();
        writes.iter().rev().find_map(|w| match w {
            Write::Put { key: k, value, .. } if k == key => Some(Some(value.clone())),
            Write::Delete { key: k } if k == key => Some(None),
            _ => None,
        })
    }

    async fn write(&self, write: Write) -> Result<(), StoreError> {
        if let Some(deferred) = &self.deferred {
            deferred.borrow_mut().push(write);
            return Ok(());
        }
        match write {
            Write::Put { key, value, ttl, .. } => {
                settle(kv_put(self.env, &key, &value, ttl as f64)).await.map(drop)
            }
            Write::Delete { key } => settle(kv_delete(self.env, &key)).await.map(drop),
        }
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
        if let Some(value) = self.pending(key) {
            return Ok(value);
        }
        Ok(settle(kv_get(self.env, key)).await?.as_string())
    }

    async fn put(&self, key: &str, value: &str, ttl: Option<u64>) -> Result<(), StoreError> {
        check_put(key, value, ttl)?;
        let (key, value, ttl) = (key.to_owned(), value.to_owned(), ttl.unwrap_or(0));
        self.write(Write::Put { key, value, ttl, best_effort: false }).await
    }

    async fn put_best_effort(
        &self,
        key: &str,
        value: &str,
        ttl: Option<u64>,
    ) -> Result<(), StoreError> {
        check_put(key, value, ttl)?;
        let (key, value, ttl) = (key.to_owned(), value.to_owned(), ttl.unwrap_or(0));
        self.write(Write::Put { key, value, ttl, best_effort: true }).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        check_key(key)?;
        self.write(Write::Delete { key: key.to_owned() }).await
    }

    /// Reads KV only: writes collected in this request are not listed (nothing lists keys it
    /// has just written).
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
