//! The Tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663) of protocol 2026-07-28: a
//! `tools/call` whose work outlives the request answers `CreateTaskResult`; the client polls
//! `tasks/get` (the result inlined once done), answers input with `tasks/update` and may
//! `tasks/cancel`.
//!
//! A tool becomes a task by continuing later ([`ToolResult::later`](super::tools::ToolResult)):
//! the task is stored first (durable before `CreateTaskResult` is sent), and each later step
//! runs when it is due, in the request that polls it, within that request's limits. Steps may
//! ask for input (`input_required`, answered by `tasks/update`). Tasks are scoped to the
//! principal that created them: anyone else's id is unknown (-32602). Every task expires
//! `TTL_MS` after its creation (an alarm deletes it in production).

use super::Identity;
use crate::store::tasks::TaskStore;
use crate::store::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// The extension's identifier in `capabilities.extensions`.
pub use super::envelope::TASKS_EXTENSION as EXTENSION;
/// How long a task is kept after it was created.
pub const TTL_MS: u64 = 60 * 60 * 1000;
/// How often clients should poll.
pub const POLL_INTERVAL_MS: u64 = 500;
/// Steps one request runs at most (sync fallback and each poll).
pub const MAX_STEPS_PER_REQUEST: u32 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Working,
    InputRequired,
    Completed,
    Failed,
    Cancelled,
}

impl Status {
    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Completed | Status::Failed | Status::Cancelled)
    }
}

/// Who a task acts for (the identity it was created with; steps run as them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub sub: String,
    pub name: Option<String>,
    pub scopes: Vec<String>,
    pub client_id: String,
}

impl Actor {
    pub fn of(identity: &Identity) -> Actor {
        Actor {
            sub: identity.sub.clone(),
            name: identity.name.clone(),
            scopes: identity.scopes.clone(),
            client_id: identity.client_id.clone(),
        }
    }

    pub fn identity(&self) -> Identity {
        Identity {
            sub: self.sub.clone(),
            name: self.name.clone(),
            scopes: self.scopes.clone(),
            client_id: self.client_id.clone(),
        }
    }
}

/// A task as stored (JSON in its Durable Object). docs/storage-schema.md.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    /// `sub|client_id` of its creator, or empty when authorization is off.
    pub principal: String,
    pub actor: Option<Actor>,
    pub tool: String,
    pub arguments: Map<String, Value>,
    pub status: Status,
    pub created_ms: u64,
    pub updated_ms: u64,
    /// When the next step may run.
    pub due_ms: u64,
    /// The tool's state between steps.
    pub state: Option<Value>,
    /// Questions not answered yet (key → `{method, params}`).
    #[serde(default)]
    pub pending: Map<String, Value>,
    /// Answers collected for the next step.
    #[serde(default)]
    pub answers: Map<String, Value>,
    pub result: Option<Value>,
    pub error: Option<Value>,
}

/// ISO 8601 UTC with milliseconds.
fn iso(ms: u64) -> String {
    let secs = super::tools::format_utc(ms / 1000);
    // format_utc gives `YYYY-MM-DDTHH:MM:SSZ`.
    format!("{}.{:03}Z", secs.trim_end_matches('Z'), ms % 1000)
}

impl Task {
    /// A new task that continues with `state` at `due_ms`, with the answers gathered so far.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: String,
        principal: String,
        actor: Option<Actor>,
        tool: &str,
        arguments: Map<String, Value>,
        state: Value,
        now_ms: u64,
        due_ms: u64,
    ) -> Task {
        Task {
            id,
            principal,
            actor,
            tool: tool.to_owned(),
            arguments,
            status: Status::Working,
            created_ms: now_ms,
            updated_ms: now_ms,
            due_ms,
            state: Some(state),
            pending: Map::new(),
            answers: Map::new(),
            result: None,
            error: None,
        }
    }

    pub fn expires_ms(&self) -> u64 {
        self.created_ms + TTL_MS
    }

    fn base(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("taskId".into(), json!(self.id));
        m.insert("status".into(), serde_json::to_value(self.status).unwrap_or(Value::Null));
        m.insert("createdAt".into(), json!(iso(self.created_ms)));
        m.insert("lastUpdatedAt".into(), json!(iso(self.updated_ms)));
        m.insert("ttlMs".into(), json!(TTL_MS));
        m.insert("pollIntervalMs".into(), json!(POLL_INTERVAL_MS));
        m
    }

    /// `CreateTaskResult`: the task, flat, with `resultType: "task"`.
    pub fn created(&self) -> Value {
        let mut m = self.base();
        m.insert("resultType".into(), json!("task"));
        Value::Object(m)
    }

    /// The `tasks/get` result (DetailedTask): the result or error inlined once terminal, the
    /// pending questions while input is required.
    pub fn detailed(&self) -> Value {
        let mut m = self.base();
        m.insert("resultType".into(), json!("complete"));
        match self.status {
            Status::Completed => {
                if let Some(r) = &self.result {
                    m.insert("result".into(), r.clone());
                }
            }
            Status::Failed => {
                if let Some(e) = &self.error {
                    m.insert("error".into(), e.clone());
                }
            }
            Status::InputRequired => {
                m.insert("inputRequests".into(), Value::Object(self.pending.clone()));
            }
            Status::Working | Status::Cancelled => {}
        }
        Value::Object(m)
    }
}

/// A task read with its version, for a compare-and-set write back.
pub struct Held {
    pub task: Task,
    pub version: u64,
}

/// Reads a task for `principal`: someone else's, expired or unknown ones are `None`.
pub async fn load(
    tasks: &dyn TaskStore,
    id: &str,
    principal: &str,
) -> Result<Option<Held>, StoreError> {
    if id.is_empty() || id.len() > 128 {
        return Ok(None);
    }
    let Some(stored) = tasks.get(id).await? else { return Ok(None) };
    let Ok(task) = serde_json::from_str::<Task>(&stored.record) else { return Ok(None) };
    if task.principal != principal {
        return Ok(None);
    }
    Ok(Some(Held { task, version: stored.version }))
}

/// Writes a task back if nobody else did since it was read: `false` on a lost race.
pub async fn save(tasks: &dyn TaskStore, held: &Held) -> Result<bool, StoreError> {
    let text = serde_json::to_string(&held.task).map_err(|e| StoreError(e.to_string()))?;
    Ok(tasks.put(&held.task.id, held.version, &text, held.task.expires_ms()).await?.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shapes() {
        let t = Task::new(
            "t1".into(),
            "p".into(),
            None,
            "x",
            Map::new(),
            json!({}),
            1_800_000_000_123,
            0,
        );
        let c = t.created();
        assert_eq!(c["resultType"], "task");
        assert_eq!(c["status"], "working");
        assert_eq!(c["createdAt"], "2027-01-15T08:00:00.123Z");
        assert_eq!(c["ttlMs"], TTL_MS);
        assert!(
            c.get("ttl").is_none() && c.get("requestState").is_none() && c.get("task").is_none()
        );
        let mut done = t.clone();
        done.status = Status::Completed;
        done.result = Some(json!({"content": [], "isError": false}));
        let d = done.detailed();
        assert_eq!(d["resultType"], "complete");
        assert!(d.get("result").is_some() && d.get("error").is_none());
        let mut failed = t;
        failed.status = Status::Failed;
        failed.error = Some(json!({"code": -32603, "message": "x"}));
        failed.result = Some(json!({}));
        let f = failed.detailed();
        assert!(f.get("result").is_none() && f["error"]["code"] == -32603);
    }
}
