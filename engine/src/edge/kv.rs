//! Workers KV through small JS functions (kv.js): one crossing per operation, and the `KV` binding read
//! from `env` only when storage is used (requests that never touch storage skip it). Reads go
//! through [`KvReader`]; every write is collected by `store::deferred` and applied by
//! `kv_apply`, the one JS function that writes KV (after the handler, or at once for
//! [`Store::put_now`]).

use crate::store::deferred::Write;
use crate::store::{check_key, ListPage, Store, StoreError, MAX_LIST_LIMIT};
use async_trait::async_trait;
use worker::js_sys::{Array, Promise};
use worker::wasm_bindgen::{self, prelude::wasm_bindgen, JsValue};
use worker::wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(module = "/src/edge/kv.js")]
extern "C" {
    /// Whether `env` has a KV namespace bound as `KV`.
    pub fn has_kv(env: &JsValue) -> bool;
    #[wasm_bindgen(catch)]
    fn kv_get(env: &JsValue, key: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch)]
    fn kv_list(env: &JsValue, prefix: &str, limit: u32, cursor: &str) -> Result<Promise, JsValue>;
    /// See kv.js; entry.mjs reaches it through [`super::apply_writes`].
    pub fn kv_apply(env: &JsValue, ops: &Array, best_effort: bool) -> Promise;
}

/// KV for reading; writes go through [`Deferred`](crate::store::deferred::Deferred) and are
/// applied by [`kv_apply`] after the handler.
pub struct KvReader<'a> {
    env: &'a JsValue,
}

impl<'a> KvReader<'a> {
    pub fn new(env: &'a JsValue) -> Self {
        Self { env }
    }
}

/// `writes` as the two op lists [`kv_apply`] takes: required ones (in order) and best-effort
/// ones. Strings cross as JS strings, not JSON inside JSON.
pub fn ops(writes: Vec<Write>) -> (Array, Array) {
    let (required, best_effort) = (Array::new(), Array::new());
    for w in writes {
        let list = if w.is_best_effort() { &best_effort } else { &required };
        let op = match w {
            Write::Put { key, value, ttl, .. } => {
                Array::of3(&key.into(), &value.into(), &JsValue::from_f64(ttl as f64))
            }
            Write::Delete { key } => Array::of1(&key.into()),
        };
        list.push(&op);
    }
    (required, best_effort)
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

fn read_only() -> StoreError {
    StoreError("KvReader is read-only: writes go through store::deferred".into())
}

#[async_trait(?Send)]
impl Store for KvReader<'_> {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        check_key(key)?;
        Ok(settle(kv_get(self.env, key)).await?.as_string())
    }

    async fn put(&self, _: &str, _: &str, _: Option<u64>) -> Result<(), StoreError> {
        Err(read_only())
    }

    /// The one write made before the answer ([`Store::put_now`]), through the same `kv_apply`.
    async fn put_now(&self, key: &str, value: &str, ttl: Option<u64>) -> Result<(), StoreError> {
        crate::store::check_put(key, value, ttl)?;
        let op =
            Array::of3(&key.into(), &value.into(), &JsValue::from_f64(ttl.unwrap_or(0) as f64));
        let failed =
            JsFuture::from(kv_apply(self.env, &Array::of1(&op), false)).await.map_err(err)?;
        match failed.as_string() {
            Some(detail) => Err(StoreError(detail)),
            None => Ok(()),
        }
    }

    async fn delete(&self, _: &str) -> Result<(), StoreError> {
        Err(read_only())
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
