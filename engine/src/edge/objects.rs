//! The rendezvous port on Workers: RPC to the Durable Object class `McpSessions`
//! (engine/src/edge/objects.mjs), one object per legacy session, bound as `MCP_SESSIONS`.

use crate::store::rendezvous::{Rendezvous, Replay};
use crate::store::StoreError;
use serde_json::{Map, Value};
use worker::js_sys;
use worker::wasm_bindgen::{self, prelude::wasm_bindgen, JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(module = "/src/edge/platform.js")]
extern "C" {
    fn rv_call(env: &JsValue, session: &str, method: &str, args: js_sys::Array) -> js_sys::Promise;
}

/// The `McpSessions` namespace of this request's `env`.
pub(crate) struct DurableRendezvous<'a>(pub(crate) &'a JsValue);

impl DurableRendezvous<'_> {
    async fn call(
        &self,
        session: &str,
        method: &str,
        args: &[JsValue],
    ) -> Result<JsValue, StoreError> {
        let array = args.iter().collect::<js_sys::Array>();
        JsFuture::from(rv_call(self.0, session, method, array)).await.map_err(|e| {
            let why = e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message()));
            StoreError(format!(
                "Durable Object {method}: {}",
                why.unwrap_or_else(|| format!("{e:?}"))
            ))
        })
    }
}

fn number(n: u64) -> JsValue {
    JsValue::from_f64(n as f64)
}

#[async_trait::async_trait(?Send)]
impl Rendezvous for DurableRendezvous<'_> {
    async fn expect(
        &self,
        session: &str,
        call: &str,
        ids: &[String],
        ttl_ms: u64,
    ) -> Result<(), StoreError> {
        let ids: js_sys::Array = ids.iter().map(|i| JsValue::from_str(i)).collect();
        self.call(session, "expect", &[call.into(), ids.into(), number(ttl_ms)]).await.map(|_| ())
    }

    async fn deliver(
        &self,
        session: &str,
        call: &str,
        id: &str,
        message: &Value,
    ) -> Result<bool, StoreError> {
        let message = message.to_string();
        let out = self
            .call(session, "deliver", &[call.into(), id.into(), message.as_str().into()])
            .await?;
        Ok(out.as_bool().unwrap_or(false))
    }

    async fn wait(
        &self,
        session: &str,
        call: &str,
        timeout_ms: u64,
    ) -> Result<Option<Map<String, Value>>, StoreError> {
        let out = self.call(session, "wait", &[call.into(), number(timeout_ms)]).await?;
        let Some(text) = out.as_string() else { return Ok(None) };
        serde_json::from_str(&text).map(Some).map_err(|e| StoreError(format!("answers: {e}")))
    }

    async fn append(
        &self,
        session: &str,
        stream: &str,
        data: &str,
        done: bool,
        ttl_ms: u64,
    ) -> Result<u64, StoreError> {
        let out = self
            .call(
                session,
                "append",
                &[stream.into(), data.into(), JsValue::from_bool(done), number(ttl_ms)],
            )
            .await?;
        Ok(out.as_f64().unwrap_or(0.0) as u64)
    }

    async fn replay(
        &self,
        session: &str,
        stream: &str,
        after: u64,
        timeout_ms: u64,
    ) -> Result<Option<Replay>, StoreError> {
        let out = self
            .call(session, "replay", &[stream.into(), number(after), number(timeout_ms)])
            .await?;
        if out.is_null() || out.is_undefined() {
            return Ok(None);
        }
        let get = |k: &str| {
            js_sys::Reflect::get(&out, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED)
        };
        let done = get("done").as_bool().unwrap_or(false);
        let events = js_sys::Array::from(&get("events"))
            .iter()
            .filter_map(|pair| {
                let pair = js_sys::Array::from(&pair);
                Some((pair.get(0).as_f64()? as u64, pair.get(1).as_string()?))
            })
            .collect();
        Ok(Some(Replay { events, done }))
    }
}

/// Tasks on Workers: each in the `McpSessions` object named `task:<id>`.
pub(crate) struct DurableTasks<'a>(pub(crate) &'a JsValue);

#[async_trait::async_trait(?Send)]
impl crate::store::tasks::TaskStore for DurableTasks<'_> {
    async fn get(&self, id: &str) -> Result<Option<crate::store::tasks::Versioned>, StoreError> {
        let out = DurableRendezvous(self.0).call(&format!("task:{id}"), "taskGet", &[]).await?;
        if out.is_null() || out.is_undefined() {
            return Ok(None);
        }
        let get = |k: &str| {
            js_sys::Reflect::get(&out, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED)
        };
        let (Some(version), Some(record)) = (get("version").as_f64(), get("record").as_string())
        else {
            return Ok(None);
        };
        Ok(Some(crate::store::tasks::Versioned { version: version as u64, record }))
    }

    async fn put(
        &self,
        id: &str,
        expected: u64,
        record: &str,
        expires_ms: u64,
    ) -> Result<Option<u64>, StoreError> {
        let args = [number(expected), record.into(), number(expires_ms)];
        let out = DurableRendezvous(self.0).call(&format!("task:{id}"), "taskPut", &args).await?;
        let version = out.as_f64().unwrap_or(0.0) as u64;
        Ok((version > 0).then_some(version))
    }
}

/// The ledger on Workers: each shard in the `McpSessions` object named `ledger:<shard>`, each
/// item under its own storage key there.
pub(crate) struct DurableLedger<'a>(pub(crate) &'a JsValue);

impl DurableLedger<'_> {
    async fn call(&self, key: &str, method: &str, args: &[JsValue]) -> Result<JsValue, StoreError> {
        let (shard, item) = crate::store::ledger::split(key);
        let mut all = vec![JsValue::from_str(item)];
        all.extend_from_slice(args);
        DurableRendezvous(self.0).call(&format!("ledger:{shard}"), method, &all).await
    }
}

#[async_trait::async_trait(?Send)]
impl crate::store::ledger::Ledger for DurableLedger<'_> {
    async fn claim(
        &self,
        key: &str,
        expires: u64,
        unless: Option<&str>,
    ) -> Result<crate::store::ledger::Claim, StoreError> {
        use crate::store::ledger::Claim;
        let unless = unless.map_or(JsValue::NULL, |u| crate::store::ledger::split(u).1.into());
        let out = self.call(key, "ledgerClaim", &[number(expires * 1000), unless]).await?;
        // 0: first; -1: blocked; otherwise when it was first claimed (ms).
        match out.as_f64() {
            Some(0.0) => Ok(Claim::First),
            Some(-1.0) => Ok(Claim::Blocked),
            Some(at) if at > 0.0 => Ok(Claim::Taken { at: (at / 1000.0) as u64 }),
            _ => Err(StoreError("ledgerClaim: not a number".into())),
        }
    }

    async fn advance(
        &self,
        key: &str,
        to: u64,
        expires: u64,
        unless: Option<&str>,
    ) -> Result<crate::store::ledger::Advance, StoreError> {
        use crate::store::ledger::Advance;
        let unless = unless.map_or(JsValue::NULL, |u| crate::store::ledger::split(u).1.into());
        let args = [number(to), number(expires * 1000), unless];
        let out = self.call(key, "ledgerAdvance", &args).await?;
        // 0: moved; -1: blocked; -2: past; otherwise since when it is the target (ms).
        match out.as_f64() {
            Some(0.0) => Ok(Advance::Moved),
            Some(-1.0) => Ok(Advance::Blocked),
            Some(-2.0) => Ok(Advance::Past),
            Some(at) if at > 0.0 => Ok(Advance::Already { at: (at / 1000.0) as u64 }),
            _ => Err(StoreError("ledgerAdvance: not a number".into())),
        }
    }

    async fn add(&self, key: &str, expires: u64) -> Result<u64, StoreError> {
        let out = self.call(key, "ledgerAdd", &[number(expires * 1000)]).await?;
        out.as_f64().map(|n| n as u64).ok_or_else(|| StoreError("ledgerAdd: not a number".into()))
    }

    async fn take_back(&self, key: &str) -> Result<(), StoreError> {
        self.call(key, "ledgerTakeBack", &[]).await.map(|_| ())
    }
}
