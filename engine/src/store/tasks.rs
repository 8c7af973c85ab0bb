//! The task port: where tasks of the Tasks extension (`mcp::tasks`) live, each a versioned
//! record, so that every request touching a task, wherever it runs, sees the same one and
//! racing updates cannot both win. Production keeps each task in its own Durable Object
//! (`McpSessions` named `task:<id>`, engine/src/edge/objects.mjs, SQLite-backed, deleted by an alarm
//! when it expires); tests use [`super::memory::MemoryTasks`].

use super::StoreError;
use async_trait::async_trait;

/// A stored task record and its version (1, 2, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    pub version: u64,
    pub record: String,
}

/// Versioned records with an expiry.
#[async_trait(?Send)]
pub trait TaskStore {
    /// The record of `id`, unless absent or expired.
    async fn get(&self, id: &str) -> Result<Option<Versioned>, StoreError>;

    /// Writes `record` if the stored version is `expected` (0: no record yet), keeping it until
    /// `expires_ms` (Unix ms). The new version, or `None` when someone else wrote first.
    async fn put(
        &self,
        id: &str,
        expected: u64,
        record: &str,
        expires_ms: u64,
    ) -> Result<Option<u64>, StoreError>;
}

/// No task storage (the app's build, stdio): reads find nothing, writes fail.
pub struct NoTasks;

#[async_trait(?Send)]
impl TaskStore for NoTasks {
    async fn get(&self, _: &str) -> Result<Option<Versioned>, StoreError> {
        Ok(None)
    }
    async fn put(&self, _: &str, _: u64, _: &str, _: u64) -> Result<Option<u64>, StoreError> {
        Err(StoreError("no task storage (Durable Object binding) here".into()))
    }
}
