//! The Tasks extension (SEP-2663) through the whole app: negotiation, CreateTaskResult only once
//! the task is stored, tasks/get stepping due work, input through tasks/update, cancel, the
//! principal scope, expiry, and list_clients as a task that pages through KV.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mcp_edge::config::Config;
use mcp_edge::store::records::ClientRecord;
use mcp_edge::store::Store;
use serde_json::{json, Value};

const V: &str = "2026-07-28";
const TASKS: &str = "io.modelcontextprotocol/tasks";

/// A client that can answer elicitations, declaring the Tasks extension when `tasks`.
fn caps(tasks: bool) -> Value {
    let mut caps = json!({"elicitation": {}});
    if tasks {
        caps["extensions"] = json!({ TASKS: {} });
    }
    caps
}

async fn rpc(
    t: &TestApp,
    method: &str,
    params: Value,
    tasks: bool,
    token: Option<&str>,
) -> (u16, Value) {
    rpc_as(t, method, params, caps(tasks), token).await
}

/// A 2026-07-28 request from a client declaring `caps`.
async fn rpc_as(
    t: &TestApp,
    method: &str,
    mut params: Value,
    caps: Value,
    token: Option<&str>,
) -> (u16, Value) {
    params["_meta"] = json!({"io.modelcontextprotocol/protocolVersion": V, "io.modelcontextprotocol/clientCapabilities": caps,
           "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "1"}});
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let mut b = request("POST", "/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", V)
        .header("mcp-method", method);
    let name = params.get("name").or(params.get("taskId")).and_then(Value::as_str);
    if let Some(n) = name {
        b = b.header("mcp-name", n);
    }
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let res = t.send(b.body(body.to_string().into_bytes()).unwrap()).await;
    (res.status().as_u16(), json(&res))
}

async fn conformance() -> TestApp {
    TestApp::with_config(
        Config::from_lookup(|k| (k == "MCP_EDGE_ENV").then(|| "conformance".into())).unwrap(),
    )
    .await
}

async fn admin_token(t: &TestApp) -> String {
    let client_id = register(t).await;
    let location = sign_in_and_approve(t, &client_id, "alice", "&scope=mcp%20admin").await;
    let res = exchange_code(t, &client_id, &location).await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    json(&res)["access_token"].as_str().unwrap().to_owned()
}

/// `n` registered clients, straight into the store.
async fn seed_clients(t: &TestApp, n: usize) {
    for i in 0..n {
        let rec = json!({"client_id": format!("c{i:03}"), "client_name": format!("Client {i}"),
            "redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code"], "response_types": ["code"], "created_at": NOW});
        t.store.put(&ClientRecord::key(&format!("c{i:03}")), &rec.to_string(), None).await.unwrap();
    }
}

async fn call(t: &TestApp, tool: &str, args: Value, tasks: bool) -> (u16, Value) {
    rpc(t, "tools/call", json!({"name": tool, "arguments": args}), tasks, None).await
}

async fn get(t: &TestApp, id: &str) -> Value {
    let (status, body) = rpc(t, "tasks/get", json!({"taskId": id}), true, None).await;
    assert_eq!(status, 200, "{body}");
    body["result"].clone()
}

#[tokio::test]
async fn a_task_is_created_stored_stepped_and_inlined() {
    let t = conformance().await;
    let (_, d) = rpc(&t, "server/discover", json!({}), true, None).await;
    assert_eq!(d["result"]["capabilities"]["extensions"][TASKS], json!({}));
    let (_, d) = rpc(&t, "server/discover", json!({}), false, None).await;
    assert!(d["result"]["capabilities"].get("extensions").is_none());
    let (_, list) = rpc(&t, "tools/list", json!({}), true, None).await;
    let slow = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "slow_compute")
        .unwrap();
    assert_eq!(slow["execution"]["taskSupport"], "optional");

    let (status, created) =
        call(&t, "slow_compute", json!({"seconds": 2, "label": "x"}), true).await;
    assert_eq!(status, 200);
    let created = &created["result"];
    assert_eq!(created["resultType"], "task");
    assert_eq!(created["status"], "working");
    assert!(created.get("requestState").is_none() && created.get("result").is_none());
    let id = created["taskId"].as_str().unwrap().to_owned();
    // Durable at once: tasks/get finds it.
    assert_eq!(get(&t, &id).await["status"], "working");
    t.clock.advance(2);
    let done = get(&t, &id).await;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["resultType"], "complete");
    assert_eq!(done["result"]["content"][0]["text"], "Computed x after 2s");
    // Without the extension the same tool answers at once, and the task methods are refused.
    let (_, sync) = call(&t, "slow_compute", json!({"seconds": 60}), false).await;
    assert_eq!(sync["result"]["resultType"], "complete");
    let (status, refused) = rpc(&t, "tasks/get", json!({"taskId": id}), false, None).await;
    assert_eq!((status, refused["error"]["code"].as_i64()), (400, Some(-32021)));
    // A required-task tool without the extension: -32021 naming the extension.
    let (status, refused) = call(&t, "failing_job", json!({}), false).await;
    assert_eq!(status, 400);
    assert_eq!(refused["error"]["data"]["requiredCapabilities"]["extensions"][TASKS], json!({}));
    // Unknown ids are -32602; removed methods -32601; Mcp-Name must be the task id.
    let (_, unknown) = rpc(&t, "tasks/get", json!({"taskId": "nope"}), true, None).await;
    assert_eq!(unknown["error"]["code"], -32602);
    let (_, removed) = rpc(&t, "tasks/result", json!({"taskId": id}), true, None).await;
    assert_eq!(removed["error"]["code"], -32601);
}

#[tokio::test]
async fn tool_errors_complete_protocol_errors_fail_and_cancel_is_an_empty_ack() {
    let t = conformance().await;
    let (_, c) = call(&t, "failing_job", json!({}), true).await;
    let id = c["result"]["taskId"].as_str().unwrap().to_owned();
    t.clock.advance(1);
    let r = get(&t, &id).await;
    assert_eq!(
        (r["status"].as_str(), r["result"]["isError"].as_bool()),
        (Some("completed"), Some(true))
    );

    let (_, c) = call(&t, "protocol_error_job", json!({}), true).await;
    let r = get(&t, c["result"]["taskId"].as_str().unwrap()).await;
    assert_eq!(r["status"], "failed");
    assert_eq!(r["error"]["code"], -32603);
    assert!(r.get("result").is_none());

    let (_, c) = call(&t, "slow_compute", json!({"seconds": 60}), true).await;
    let id = c["result"]["taskId"].as_str().unwrap().to_owned();
    let (_, ack) = rpc(&t, "tasks/cancel", json!({"taskId": id}), true, None).await;
    assert_eq!(ack["result"]["resultType"], "complete");
    assert!(ack["result"].get("taskId").is_none());
    t.clock.advance(61);
    assert_eq!(get(&t, &id).await["status"], "cancelled");
    // Idempotent on a terminal task.
    let (_, ack) = rpc(&t, "tasks/cancel", json!({"taskId": id}), true, None).await;
    assert_eq!(ack["result"]["resultType"], "complete");
}

#[tokio::test]
async fn input_is_asked_on_tasks_get_and_answered_with_tasks_update_one_key_at_a_time() {
    let t = conformance().await;
    let (_, c) = call(&t, "multi_input", json!({}), true).await;
    let id = c["result"]["taskId"].as_str().unwrap().to_owned();
    let r = get(&t, &id).await;
    assert_eq!(r["status"], "input_required");
    let keys: Vec<String> = r["inputRequests"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys.len(), 2);
    let answer = json!({"action": "accept", "content": {"name": "ada", "confirm": true}});
    let (_, ack) = rpc(
        &t,
        "tasks/update",
        json!({"taskId": id, "inputResponses": {keys[0].clone(): answer}}),
        true,
        None,
    )
    .await;
    assert_eq!(ack["result"]["resultType"], "complete");
    let r = get(&t, &id).await;
    assert_eq!(r["status"], "input_required");
    let left: Vec<&String> = r["inputRequests"].as_object().unwrap().keys().collect();
    assert_eq!(left, vec![&keys[1]]);
    rpc(
        &t,
        "tasks/update",
        json!({"taskId": id, "inputResponses": {keys[1].clone(): answer}}),
        true,
        None,
    )
    .await;
    let r = get(&t, &id).await;
    assert_eq!(r["status"], "completed");
    assert_eq!(r["result"]["content"][0]["text"], "name=ada, confirm=true");
}

#[tokio::test]
async fn a_task_never_asks_what_the_polling_client_cannot_answer() {
    let t = conformance().await;
    let (_, c) = call(&t, "confirm_delete", json!({"filename": "a.txt"}), true).await;
    let id = c["result"]["taskId"].as_str().unwrap().to_owned();
    // Polled by a client that declares the extension but not elicitation: the task fails and
    // says why, instead of waiting for an answer that cannot come.
    let (status, r) =
        rpc_as(&t, "tasks/get", json!({"taskId": id}), json!({"extensions": {TASKS: {}}}), None)
            .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["result"]["status"], "failed", "{r}");
    assert!(r["result"].get("inputRequests").is_none(), "{r}");
    assert_eq!(r["result"]["error"]["code"], -32602);
    assert!(r["result"]["error"]["message"].as_str().unwrap().contains("not declared"), "{r}");
    // The same tool polled by a client that can answer asks its question.
    let (_, c) = call(&t, "confirm_delete", json!({"filename": "b.txt"}), true).await;
    let r = get(&t, c["result"]["taskId"].as_str().unwrap()).await;
    assert_eq!(r["status"], "input_required", "{r}");
    assert_eq!(r["inputRequests"]["confirm"]["method"], "elicitation/create", "{r}");
}

#[tokio::test]
async fn multi_round_trip_then_a_task_and_tasks_expire() {
    let t = conformance().await;
    let (_, r1) = call(&t, "test_tool_with_task", json!({}), true).await;
    assert_eq!(r1["result"]["resultType"], "input_required");
    assert!(r1["result"].get("taskId").is_none());
    let (_, r2) = rpc(
        &t,
        "tools/call",
        json!({"name": "test_tool_with_task", "arguments": {}, "inputResponses": {"user_name": {"action": "accept", "content": {"name": "Alice"}}}}),
        true,
        None,
    )
    .await;
    assert_eq!(r2["result"]["resultType"], "task", "{r2}");
    let id = r2["result"]["taskId"].as_str().unwrap().to_owned();
    let r = get(&t, &id).await;
    assert!(r["result"]["content"][0]["text"].as_str().unwrap().contains("Alice"));
    assert_eq!(t.tasks.held(), 1);
    t.clock.advance(3601);
    let (_, gone) = rpc(&t, "tasks/get", json!({"taskId": id}), true, None).await;
    assert_eq!(gone["error"]["code"], -32602);
    assert_eq!(t.tasks.held(), 0);
}

#[tokio::test]
async fn another_users_task_is_unknown_and_list_clients_pages_as_a_task() {
    let t = TestApp::new().await;
    // alice asks for the admin scope list_clients needs.
    let alice = admin_token(&t).await;
    let (_, bob) = tokens_for(&t, "bob").await;
    let bob = bob["access_token"].as_str().unwrap().to_owned();
    // 90 registered clients: more than one page of 40.
    seed_clients(&t, 90).await;
    let (status, c) =
        rpc(&t, "tools/call", json!({"name": "list_clients", "arguments": {}}), true, Some(&alice))
            .await;
    assert_eq!(status, 200, "{c}");
    let id = c["result"]["taskId"].as_str().expect("list_clients runs as a task").to_owned();
    let (_, foreign) = rpc(&t, "tasks/get", json!({"taskId": id}), true, Some(&bob)).await;
    assert_eq!(foreign["error"]["code"], -32602, "bob must not see alice's task");
    let mut polls = 0;
    let done = loop {
        polls += 1;
        let (_, r) = rpc(&t, "tasks/get", json!({"taskId": id}), true, Some(&alice)).await;
        if r["result"]["status"] == "completed" {
            break r["result"].clone();
        }
        assert_eq!(r["result"]["status"], "working", "{r}");
        t.clock.advance(1);
        assert!(polls < 10);
    };
    // One page per poll: 90 clients (+ those the sign-in registered) in 3 pages.
    assert_eq!(polls, 3);
    let listed = done["result"]["structuredContent"]["clients"].as_array().unwrap().len();
    assert!(listed >= 90, "{listed}");
}

#[tokio::test]
async fn a_task_steps_with_no_more_than_the_polling_token_holds() {
    // Issue 23: a task kept its creator's scopes for its whole hour. alice starts list_clients
    // (admin) as a task; her admin scope is then gone (here: a token of the same client with
    // `mcp` only, as a refresh narrowed by deprovisioning gives): the next step fails.
    let t = TestApp::new().await;
    let client_id = register(&t).await;
    let token_for = |scope: &'static str| {
        let (t, client_id) = (&t, client_id.clone());
        async move {
            let location = sign_in_and_approve(t, &client_id, "alice", scope).await;
            let res = exchange_code(t, &client_id, &location).await;
            json(&res)["access_token"].as_str().unwrap().to_owned()
        }
    };
    let admin = token_for("&scope=mcp%20admin").await;
    let narrowed = token_for("&scope=mcp").await;
    seed_clients(&t, 90).await;
    let (_, c) =
        rpc(&t, "tools/call", json!({"name": "list_clients", "arguments": {}}), true, Some(&admin))
            .await;
    let id = c["result"]["taskId"].as_str().expect("list_clients runs as a task").to_owned();
    t.clock.advance(1);
    let (_, r) = rpc(&t, "tasks/get", json!({"taskId": id}), true, Some(&narrowed)).await;
    assert_eq!(r["result"]["status"], "failed", "{r}");
    assert!(r["result"]["error"]["message"].as_str().unwrap().contains("admin"), "{r}");
    // Failed stays failed, whoever polls.
    let (_, r) = rpc(&t, "tasks/get", json!({"taskId": id}), true, Some(&admin)).await;
    assert_eq!(r["result"]["status"], "failed", "{r}");
}
