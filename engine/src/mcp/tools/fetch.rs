//! Outbound HTTP for tools: the runtime's `fetch` on Workers (which never reaches private
//! addresses in production: `global_fetch_strictly_public`), a double natively. The URL must
//! pass the same rules as every other fetch of ours (`urls::check_fetchable`: `https`, a
//! public DNS name, no userinfo), redirects are returned, not followed, and the body is bounded.

use super::ToolContext;
use crate::env::{FetchError, FetchLimits};

/// The largest response body a tool's fetch reads.
pub const TOOL_FETCH_MAX_BYTES: usize = 1024 * 1024;
/// How long a tool's fetch waits for an answer.
pub const TOOL_FETCH_TIMEOUT_MS: u32 = 10_000;

impl ToolContext<'_> {
    /// Sends `req` to the API a tool calls: at most [`TOOL_FETCH_MAX_BYTES`] of body, within
    /// [`TOOL_FETCH_TIMEOUT_MS`]. A URL outside the fetch rules, or no outbound HTTP here
    /// (stdio), is [`FetchError::Refused`].
    pub async fn fetch(
        &self,
        req: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, FetchError> {
        let Some((fetch, loopback)) = self.outbound else {
            return Err(FetchError::Refused("no outbound HTTP here".into()));
        };
        crate::urls::check_fetchable(&req.uri().to_string(), loopback)
            .map_err(|why| FetchError::Refused(format!("not fetched: {why}")))?;
        let limits =
            FetchLimits { max_bytes: TOOL_FETCH_MAX_BYTES, timeout_ms: TOOL_FETCH_TIMEOUT_MS };
        fetch.fetch(req, limits).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::CannedFetch;

    #[tokio::test]
    async fn a_tool_fetches_public_https_only() {
        let canned = CannedFetch::default();
        canned.answer("https://api.example.com/v1/weather", 200, &[], b"{\"t\":21}".to_vec());
        let notify = |_: &str, _: serde_json::Value| {};
        let mut ctx = ToolContext::simple(None, None, 0, &notify);
        let get = |u: &str| http::Request::get(u).body(Vec::new()).unwrap();
        assert!(
            matches!(
                ctx.fetch(get("https://api.example.com/v1/weather")).await,
                Err(FetchError::Refused(_))
            ),
            "stdio: none"
        );
        ctx.outbound = Some((&canned, false));
        let res = ctx.fetch(get("https://api.example.com/v1/weather")).await.unwrap();
        assert_eq!(res.body(), b"{\"t\":21}");
        for refused in [
            "http://api.example.com/v1",
            "https://10.0.0.1/x",
            "https://user@api.example.com/x",
            "http://127.0.0.1:9/x",
        ] {
            assert!(
                matches!(ctx.fetch(get(refused)).await, Err(FetchError::Refused(_))),
                "{refused}"
            );
        }
        assert_eq!(canned.seen.borrow().len(), 1, "nothing refused was sent");
    }
}
