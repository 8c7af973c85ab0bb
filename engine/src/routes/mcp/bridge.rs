//! Input for legacy sessions (2025-11-25 and earlier): the bridge between a tool written once in
//! multi-round-trip form and clients that are asked by server-to-client requests.
//!
//! When a session's `tools/call` returns questions ([`Refusal::Input`]), the POST is answered
//! with an SSE stream: a priming event (id and `retry`), then each question as a JSON-RPC request
//! (`elicitation/create`, `sampling/createMessage`, `roots/list`) whose id names the call. The
//! client answers each with a separate POST, which may be served anywhere: it is delivered to the
//! session's meeting point ([`Rendezvous`], a Durable Object in production), where this call
//! waits. With every answer in, the tool runs again with them and its own state, until it
//! completes, for at most [`MAX_ROUNDS`]; a client that does not answer within
//! `INPUT_TIMEOUT` ends the call with a JSON-RPC error (-32001), and everything expires.
//!
//! Every event of such a stream is also logged in the meeting point, so a client whose stream
//! broke resumes it with GET and `Last-Event-ID` ([`resume`]).

use super::{sse_head, SSE_RETRY_MS};
use crate::env::Services;
use crate::mcp::envelope::ClientCapabilities;
use crate::mcp::jsonrpc::{self, ErrorObject};
use crate::mcp::mrtr::InputRequired;
use crate::mcp::server::{Asks, CallContext, Refusal, Request as McpRequest, Server, ToolCall};
use crate::mcp::Identity;
use crate::state::State;
use crate::store::rendezvous::Rendezvous;
use crate::web::{self, BodyWriter, Reply};
use serde_json::{json, Map, Value};
use std::cell::RefCell;

/// Rounds of questions one call may ask before it is ended.
pub(super) const MAX_ROUNDS: u32 = 8;
/// JSON-RPC error for a client that never answered (the SDKs' "request timed out").
pub(super) const TIMED_OUT: i32 = -32001;
/// How long a stream's event log is kept after its last event, for resumption.
pub(super) const LOG_TTL_MS: u64 = 10 * 60 * 1000;
/// How long a resuming GET waits for a new event before it answers with what there is.
pub(super) const RESUME_WAIT_MS: u64 = 20_000;

/// A legacy call that asked for input, and everything needed to call it again.
pub(super) struct Pending {
    /// The session's meeting point (a hash of the session id).
    pub(super) session: String,
    /// This call's name in the meeting point and in the ids it sends (random).
    pub(super) call_id: String,
    pub(super) rpc_id: Value,
    pub(super) call: ToolCall,
    pub(super) identity: Option<Identity>,
    pub(super) capabilities: ClientCapabilities,
}

/// One streamed SSE response whose events are also logged for resumption.
struct Stream<'a> {
    writer: BodyWriter,
    rendezvous: &'a dyn Rendezvous,
    session: &'a str,
    call_id: &'a str,
}

impl Stream<'_> {
    /// Logs and sends one event (the log gives its id; a failed log still sends it, without).
    async fn emit(&self, data: &str, done: bool) {
        let seq = self.rendezvous.append(self.session, self.call_id, data, done, LOG_TTL_MS).await;
        let id = seq.ok().map(|seq| event_id(self.call_id, seq));
        self.writer.write(event(id.as_deref(), data, false));
    }
}

/// `<call>.<sequence>`: what a client sends back as `Last-Event-ID`.
fn event_id(call_id: &str, seq: u64) -> String {
    format!("{call_id}.{seq}")
}

/// One SSE event (the priming one, with `retry` and empty data, when `priming`).
pub(super) fn event(id: Option<&str>, data: &str, priming: bool) -> String {
    let mut out = String::new();
    if let Some(id) = id {
        out.push_str("id: ");
        out.push_str(id);
        out.push('\n');
    }
    if priming {
        out.push_str(&format!("retry: {SSE_RETRY_MS}\n"));
    } else {
        out.push_str("event: message\n");
    }
    out.push_str("data: ");
    out.push_str(data);
    out.push_str("\n\n");
    out
}

/// The call that `id` (an outgoing request's id, `<call>.<round>.<key>`) belongs to.
pub(super) fn call_of(id: &Value) -> Option<&str> {
    let (call, rest) = id.as_str()?.split_once('.')?;
    (!call.is_empty() && !rest.is_empty()).then_some(call)
}

/// Streams the questions of `first`, waits for the answers, and calls again until the tool
/// completes. `notes` are notifications the first round emitted.
pub(super) fn start<'a>(
    state: &'a State,
    server: &'a Server,
    services: &'a Services<'a>,
    pending: Pending,
    first: InputRequired,
    notes: Vec<Value>,
) -> Reply<'a> {
    let (writer, body) = web::pipe();
    let rest = Box::pin(async move {
        let Pending { session, call_id, rpc_id, call, identity, capabilities } = pending;
        let stream = Stream {
            writer: writer.clone(),
            rendezvous: services.rendezvous,
            session: &session,
            call_id: &call_id,
        };
        // The priming event: an id to resume from, and how soon to reconnect.
        let primed = services.rendezvous.append(&session, &call_id, "", false, LOG_TTL_MS).await;
        let id = primed.ok().map(|seq| event_id(&call_id, seq));
        writer.write(event(id.as_deref(), "", true));
        for note in notes {
            stream.emit(&note.to_string(), false).await;
        }
        let timeout_ms = state.config.input_timeout * 1000;
        let loopback = crate::oauth::cimd::loopback_allowed(state);
        let tool_vars = &state.config.tool_vars;
        let mut ask = first;
        let mut outcome = None;
        for round in 1..=MAX_ROUNDS {
            match ask_round(&stream, &ask, round, timeout_ms).await {
                Ok(input) => {
                    let state = ask.state.take();
                    let ctx = CallContext {
                        identity: identity.as_ref(),
                        store: Some(services.store),
                        fetch: Some((services.fetch, loopback)),
                        vars: Some(tool_vars),
                        now: services.clock.now(),
                        modern: None,
                        asks: Some(Asks { capabilities: &capabilities, state: state.as_ref() }),
                    };
                    let notes = RefCell::new(Vec::new());
                    let notify =
                        |m: &str, p: Value| notes.borrow_mut().push(jsonrpc::notification(m, p));
                    let request = McpRequest::ToolsCall(call.clone().with_answers(input));
                    let answer = server.answer(&rpc_id, request, &ctx, &notify).await;
                    for note in notes.into_inner() {
                        stream.emit(&note.to_string(), false).await;
                    }
                    match answer {
                        Ok(response) => outcome = Some(response),
                        Err(Refusal::Input(next)) => {
                            ask = next;
                            continue;
                        }
                        Err(refused @ (Refusal::Scope(_) | Refusal::Capability(_))) => {
                            let needs = match refused {
                                Refusal::Scope(scopes) => scopes.join(" "),
                                Refusal::Capability(c) => c.to_owned(),
                                Refusal::Input(_) => String::new(),
                            };
                            let why = format!("this call needs `{needs}`");
                            outcome = Some(jsonrpc::error(
                                &rpc_id,
                                ErrorObject::new(jsonrpc::SERVER_ERROR, why),
                            ));
                        }
                    }
                }
                Err(error) => outcome = Some(jsonrpc::error(&rpc_id, error)),
            }
            break;
        }
        let response = outcome.unwrap_or_else(|| {
            let why = format!("the tool asked for input more than {MAX_ROUNDS} times");
            jsonrpc::error(&rpc_id, ErrorObject::new(jsonrpc::SERVER_ERROR, why))
        });
        stream.emit(&response.to_string(), true).await;
        writer.close();
    });
    Reply::Streamed { head: sse_head(), body, rest }
}

/// Sends one round of questions and waits for every answer: the tool's `inputResponses`.
async fn ask_round(
    stream: &Stream<'_>,
    ask: &InputRequired,
    round: u32,
    timeout_ms: u64,
) -> Result<Map<String, Value>, ErrorObject> {
    let ids: Vec<(String, String)> = ask
        .requests
        .keys()
        .map(|key| (key.clone(), format!("{}.{round}.{key}", stream.call_id)))
        .collect();
    let expected: Vec<String> = ids.iter().map(|(_, id)| id.clone()).collect();
    let unavailable = |e: crate::store::StoreError| {
        ErrorObject::new(jsonrpc::SERVER_ERROR, format!("cannot ask the client now: {e}"))
    };
    // Expected before asked: an answer can never arrive before its wait exists.
    stream
        .rendezvous
        .expect(stream.session, stream.call_id, &expected, timeout_ms + 5_000)
        .await
        .map_err(unavailable)?;
    for (key, id) in &ids {
        let question = &ask.requests[key];
        let message = json!({
            "jsonrpc": "2.0",
            "id": id,
            "method": question.get("method").cloned().unwrap_or(Value::Null),
            "params": question.get("params").cloned().unwrap_or_else(|| json!({})),
        });
        stream.emit(&message.to_string(), false).await;
    }
    let answers = stream
        .rendezvous
        .wait(stream.session, stream.call_id, timeout_ms)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| {
            let secs = timeout_ms / 1000;
            ErrorObject::new(
                TIMED_OUT,
                format!("the client did not answer the server's request within {secs} s; the call was ended"),
            )
        })?;
    let mut input = Map::new();
    for (key, id) in ids {
        let Some(answer) = answers.get(&id) else { continue };
        if let Some(result) = answer.get("result") {
            input.insert(key, result.clone());
        } else {
            let method = ask.requests[&key].get("method").and_then(Value::as_str).unwrap_or("");
            let why = answer
                .pointer("/error/message")
                .and_then(Value::as_str)
                .unwrap_or("no reason given");
            return Err(ErrorObject::new(
                jsonrpc::SERVER_ERROR,
                format!("the client refused {method}: {why}"),
            ));
        }
    }
    Ok(input)
}

/// A client's answer to one of our requests: delivered to the call waiting for it. `false`
/// when no call waits for it (ended, timed out, or answered already).
pub(super) async fn deliver(
    services: &Services<'_>,
    session: &str,
    id: &Value,
    outcome: Map<String, Value>,
) -> Result<bool, crate::store::StoreError> {
    let Some(call) = call_of(id) else { return Ok(false) };
    let id = id.as_str().unwrap_or_default();
    services.rendezvous.deliver(session, call, id, &Value::Object(outcome)).await
}

/// What a resuming GET gets: the events after `last_event_id`, as a complete SSE body (the
/// client reconnects again if the call is still going). `None`: no such stream.
pub(super) async fn resume(
    services: &Services<'_>,
    session: &str,
    last_event_id: &str,
) -> Result<Option<String>, crate::store::StoreError> {
    let Some((call, seq)) = last_event_id.rsplit_once('.') else { return Ok(None) };
    let Ok(after) = seq.parse::<u64>() else { return Ok(None) };
    let Some(replay) = services.rendezvous.replay(session, call, after, RESUME_WAIT_MS).await?
    else {
        return Ok(None);
    };
    let mut body = String::new();
    for (seq, data) in &replay.events {
        if !data.is_empty() {
            body.push_str(&event(Some(&event_id(call, *seq)), data, false));
        }
    }
    if body.is_empty() {
        // Nothing new yet: a priming event keeps the client's place and says when to come back.
        body = event(Some(last_event_id), "", true);
    }
    Ok(Some(body))
}

/// Logs a complete result for a client that will fetch it by resuming (a tool with
/// `Delivery::Resume`: the POST stream closes before the result): the POST gets the priming
/// event only.
pub(super) async fn detach(
    services: &Services<'_>,
    session: &str,
    call_id: &str,
    messages: &[Value],
) -> Result<String, crate::store::StoreError> {
    let rv = services.rendezvous;
    let primed = rv.append(session, call_id, "", false, LOG_TTL_MS).await?;
    for (i, m) in messages.iter().enumerate() {
        rv.append(session, call_id, &m.to_string(), i + 1 == messages.len(), LOG_TTL_MS).await?;
    }
    Ok(event(Some(&event_id(call_id, primed)), "", true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_their_call() {
        assert_eq!(call_of(&json!("abc.1.name")), Some("abc"));
        assert_eq!(call_of(&json!("abc")), None);
        assert_eq!(call_of(&json!(".1.x")), None);
        assert_eq!(call_of(&json!(7)), None);
    }

    #[test]
    fn events_are_sse() {
        assert_eq!(
            event(Some("c.1"), "", true),
            format!("id: c.1\nretry: {SSE_RETRY_MS}\ndata: \n\n")
        );
        assert_eq!(event(None, "{}", false), "event: message\ndata: {}\n\n");
    }
}
