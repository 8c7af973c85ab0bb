//! Outbound HTTP on Workers: the runtime's `fetch`, with redirects never followed, a timeout
//! (`AbortSignal.timeout`) and a body cap checked on the declared length and while streaming.
//! Production deployments also set the `global_fetch_strictly_public` compatibility flag
//! (wrangler.toml), so the runtime itself refuses private addresses.

use crate::env::{Fetch, FetchError, FetchLimits};
use worker::js_sys;
use worker::wasm_bindgen::{self, prelude::wasm_bindgen, JsCast};
use worker::wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(module = "/src/edge/platform.js")]
extern "C" {
    fn out_fetch(
        method: &str,
        url: &str,
        names: Vec<String>,
        values: Vec<String>,
        body: &[u8],
        max_bytes: u32,
        timeout_ms: u32,
    ) -> js_sys::Promise;
}

/// The runtime's `fetch`.
pub(crate) struct WorkersFetch;

#[async_trait::async_trait(?Send)]
impl Fetch for WorkersFetch {
    async fn fetch(
        &self,
        req: http::Request<Vec<u8>>,
        limits: FetchLimits,
    ) -> Result<http::Response<Vec<u8>>, FetchError> {
        let (names, values): (Vec<String>, Vec<String>) = req
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .unzip();
        let max = u32::try_from(limits.max_bytes).unwrap_or(u32::MAX);
        let promise = out_fetch(
            req.method().as_str(),
            &req.uri().to_string(),
            names,
            values,
            req.body(),
            max,
            limits.timeout_ms,
        );
        let out =
            JsFuture::from(promise).await.map_err(|e| FetchError::Network(format!("{e:?}")))?;
        let out: js_sys::Array = out.unchecked_into();
        let kind = out.get(0).as_string().unwrap_or_default();
        match kind.as_str() {
            "ok" => {}
            "timeout" => return Err(FetchError::Timeout),
            "too_large" => return Err(FetchError::TooLarge),
            _ => return Err(FetchError::Network(out.get(1).as_string().unwrap_or_default())),
        }
        let status = out.get(1).as_f64().unwrap_or(0.0) as u16;
        let pairs: js_sys::Array = out.get(2).unchecked_into();
        let body = js_sys::Uint8Array::new(&out.get(3)).to_vec();
        let mut res = http::Response::builder().status(status);
        let mut i = 0;
        while i + 1 < pairs.length() {
            if let (Some(k), Some(v)) = (pairs.get(i).as_string(), pairs.get(i + 1).as_string()) {
                res = res.header(k, v);
            }
            i += 2;
        }
        res.body(body).map_err(|e| FetchError::Network(e.to_string()))
    }
}
