//! Issue 23 item 2: removing a person, or a scope from them, ends what their grants can do at
//! the next refresh, and no grant outlives `MAX_GRANT_AGE`. On 1664b2e each refresh below
//! returned 200 with the scopes consent had given.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mcp_edge::config::Config;
use mcp_edge::store::records::GrantRecord;
use serde_json::{json, Value};

const ALICE: &str =
    "pbkdf2-sha256$10000$ZGVtby1zYWx0LWFsaWNlIQ$X1FUXCI8tlMifGCJHrJylYGwcvBuk1hExgOKMTF83jw";
const BOB: &str =
    "pbkdf2-sha256$10000$ZGVtby1zYWx0LWJvYiEhIQ$0ctyFdJR45Y4GEuyhTuluT_IOFO8bnYPBWqfqxkWcMc";

/// Development settings with these `USERS` (and `extra` variables).
fn config(users: &[(&str, &str, &[&str])], extra: &[(&str, &str)]) -> Config {
    let users: Vec<Value> = users
        .iter()
        .map(|(name, hash, scopes)| json!({"username": name, "password_hash": hash, "sub": format!("user-{name}"), "name": name, "scopes": scopes}))
        .collect();
    let users = Value::Array(users).to_string();
    let extra: Vec<(String, String)> =
        extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    Config::from_lookup(|k| match k {
        "MCP_EDGE_ENV" => Some("development".to_owned()),
        "USERS" => Some(users.clone()),
        _ => extra.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()),
    })
    .unwrap()
}

async fn refresh(t: &TestApp, client_id: &str, token: &str) -> Value {
    let form =
        [("grant_type", "refresh_token"), ("refresh_token", token), ("client_id", client_id)];
    json(&t.post_form("/token", &form, "").await)
}

fn grant_id(tokens: &Value) -> String {
    tokens["refresh_token"].as_str().unwrap().split('.').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_removed_person_loses_their_grant_at_the_next_refresh() {
    let mut t = TestApp::new().await;
    let (client_id, tokens) = tokens_for(&t, "alice").await;
    assert_eq!(tokens["scope"], "mcp admin");
    let gid = grant_id(&tokens);
    // Redeployed without alice.
    t.restart(config(&[("bob", BOB, &["mcp"])], &[])).await;
    let r = refresh(&t, &client_id, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(r["error"], "invalid_grant", "{r}");
    assert!(r["error_description"].as_str().unwrap().contains("removed"), "{r}");
    assert!(!t.store.keys().contains(&GrantRecord::key(&gid)), "the grant is deleted");
    // Her access token stops at once where the grant was revoked.
    let token = tokens["access_token"].as_str().unwrap();
    let res = t.send(mcp_request(&json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}), Some(token), None)).await;
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn a_person_who_lost_a_scope_keeps_the_rest() {
    let mut t = TestApp::new().await;
    let (client_id, tokens) = tokens_for(&t, "alice").await;
    assert_eq!(tokens["scope"], "mcp admin");
    t.restart(config(&[("alice", ALICE, &["mcp"])], &[])).await;
    let r = refresh(&t, &client_id, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(r["scope"], "mcp", "{r}");
    let record: GrantRecord =
        mcp_edge::store::get_json(&t.store, &GrantRecord::key(&grant_id(&tokens)))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(record.scope, "mcp", "narrowed for good, not only in this token");
    // Given the scope back, she does not get it from this grant: consent decides that again.
    t.restart(config(&[("alice", ALICE, &["mcp", "admin"])], &[])).await;
    let r = refresh(&t, &client_id, r["refresh_token"].as_str().unwrap()).await;
    assert_eq!(r["scope"], "mcp", "{r}");
    // And with only a scope that is not `mcp` left, nothing is.
    t.restart(config(&[("alice", ALICE, &["admin"])], &[])).await;
    let r = refresh(&t, &client_id, r["refresh_token"].as_str().unwrap()).await;
    assert_eq!(r["error"], "invalid_grant", "{r}");
}

#[tokio::test]
async fn no_grant_outlives_max_grant_age() {
    let t =
        TestApp::with_config(config(&[("alice", ALICE, &["mcp"])], &[("MAX_GRANT_AGE", "7200")]))
            .await;
    // Refreshed within its age: the rotation's record expires with the grant's last second.
    let (client_id, tokens) = tokens_for(&t, "alice").await;
    t.clock.advance(3600);
    let r = refresh(&t, &client_id, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(r["scope"], "mcp", "{r}");
    t.clock.advance(3599);
    let r = refresh(&t, &client_id, r["refresh_token"].as_str().unwrap()).await;
    assert_eq!(r["scope"], "mcp", "one second left: {r}");
    t.clock.advance(1);
    let r = refresh(&t, &client_id, r["refresh_token"].as_str().unwrap()).await;
    assert_eq!(r["error"], "invalid_grant", "{r}");
    assert!(!t.store.keys().contains(&GrantRecord::key(&grant_id(&tokens))));
    // First refreshed after its age (the code exchange's record lives longer): revoked.
    let (client_id, tokens) = tokens_for(&t, "alice").await;
    t.clock.advance(7200);
    let r = refresh(&t, &client_id, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(r["error"], "invalid_grant", "{r}");
    assert!(r["error_description"].as_str().unwrap().contains("maximum age"), "{r}");
    assert!(!t.store.keys().contains(&GrantRecord::key(&grant_id(&tokens))));
}
