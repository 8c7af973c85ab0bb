//! The rendezvous port: where a request that waits meets the request that answers it, wherever
//! each one runs. Production uses one Durable Object per legacy MCP session
//! (`engine/src/edge/objects.mjs`, class `McpSessions`); tests use [`super::memory::MemoryRendezvous`], which two app
//! instances can share to stand for two isolates.
//!
//! Two uses, both of legacy (2025-11-25 and earlier) sessions only:
//! - **Answers**: a `tools/call` that needs input sends `elicitation/create` (…) to the client
//!   on its SSE stream and waits ([`Rendezvous::wait`]); the client's answer arrives as a
//!   separate POST, which delivers it ([`Rendezvous::deliver`]).
//! - **Event log**: events of a stream that may be resumed (`Last-Event-ID`) are appended
//!   ([`Rendezvous::append`]) and replayed to a GET that resumes it ([`Rendezvous::replay`]).
//!
//! Everything here expires (`ttl_ms`): nothing is left behind by a client that went away.
//! Limits and costs: docs/storage-schema.md, "Durable Object McpSessions".

use super::StoreError;
use async_trait::async_trait;
use serde_json::{Map, Value};

/// Events kept per stream for resumption; more are not logged (the stream still gets them).
pub const MAX_LOGGED_EVENTS: usize = 64;
/// The largest event kept for resumption (bytes of its `data`).
pub const MAX_LOGGED_EVENT_BYTES: usize = 128 * 1024;

/// Events after a `Last-Event-ID`, and whether the stream has ended (no more will come).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Replay {
    /// (sequence number, data), in order.
    pub events: Vec<(u64, String)>,
    pub done: bool,
}

/// Meeting points, one namespace per `session` (a Durable Object each in production).
#[async_trait(?Send)]
pub trait Rendezvous {
    /// Opens a wait of `call` for answers to the outgoing request `ids`; forgotten after
    /// `ttl_ms` if nobody waits for it.
    async fn expect(
        &self,
        session: &str,
        call: &str,
        ids: &[String],
        ttl_ms: u64,
    ) -> Result<(), StoreError>;

    /// Hands the client's answer (a JSON-RPC response message) to the call waiting for `id`.
    /// `Ok(false)`: nobody waits for it (unknown, already answered, or expired).
    async fn deliver(
        &self,
        session: &str,
        call: &str,
        id: &str,
        message: &Value,
    ) -> Result<bool, StoreError>;

    /// Waits until every expected id of `call` is answered, at most `timeout_ms`: the answers by
    /// id, or `None` on timeout (or for an unknown call). The wait is forgotten either way.
    async fn wait(
        &self,
        session: &str,
        call: &str,
        timeout_ms: u64,
    ) -> Result<Option<Map<String, Value>>, StoreError>;

    /// Appends an event to `stream`'s log (`done`: the stream's last one); returns its sequence
    /// number (1, 2, …). The log expires `ttl_ms` after its last append.
    async fn append(
        &self,
        session: &str,
        stream: &str,
        data: &str,
        done: bool,
        ttl_ms: u64,
    ) -> Result<u64, StoreError>;

    /// The events of `stream` after `after`, waiting up to `timeout_ms` for one if there are none
    /// yet. `None`: no such stream (never logged, or expired).
    async fn replay(
        &self,
        session: &str,
        stream: &str,
        after: u64,
        timeout_ms: u64,
    ) -> Result<Option<Replay>, StoreError>;
}

/// No meeting points (the app's build, tools that never wait): every use is a [`StoreError`].
pub struct NoRendezvous;

#[async_trait(?Send)]
impl Rendezvous for NoRendezvous {
    async fn expect(&self, _: &str, _: &str, _: &[String], _: u64) -> Result<(), StoreError> {
        Err(StoreError("no rendezvous (Durable Object binding) here".into()))
    }
    async fn deliver(&self, _: &str, _: &str, _: &str, _: &Value) -> Result<bool, StoreError> {
        Ok(false)
    }
    async fn wait(
        &self,
        _: &str,
        _: &str,
        _: u64,
    ) -> Result<Option<Map<String, Value>>, StoreError> {
        Ok(None)
    }
    async fn append(&self, _: &str, _: &str, _: &str, _: bool, _: u64) -> Result<u64, StoreError> {
        Err(StoreError("no rendezvous (Durable Object binding) here".into()))
    }
    async fn replay(&self, _: &str, _: &str, _: u64, _: u64) -> Result<Option<Replay>, StoreError> {
        Ok(None)
    }
}
