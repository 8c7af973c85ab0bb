//! Request logs: a full sign-in, token exchange, tool call and revocation write the expected
//! access and event lines, and no line carries a secret (token, code, password, cookie, CSRF
//! token) or the raw subject.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::{json, Value};
use std::sync::Mutex;

static LINES: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        LINES.lock().unwrap().push((record.target().to_owned(), record.args().to_string()));
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture;

fn lines(target: &str) -> Vec<Value> {
    LINES
        .lock()
        .unwrap()
        .iter()
        .filter(|(t, _)| t == target)
        .map(|(_, l)| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[tokio::test]
async fn a_whole_session_is_logged_without_secrets() {
    log::set_logger(&CAPTURE).unwrap();
    log::set_max_level(log::LevelFilter::Info);
    let all = mcp_edge::config::Config::from_lookup(|k| match k {
        "MCP_EDGE_ENV" => Some("development".into()),
        "REQUEST_LOG" => Some("all".into()),
        _ => None,
    })
    .unwrap();
    let t = TestApp::with_config(all).await;
    let client_id = register(&t).await;

    // A wrong password first, then the real sign-in and approval.
    let page = t.get(&authorize_path(&client_id, "")).await;
    let jar = cookies(&page, "");
    let html = text(&page);
    let wrong =
        post_sign_in(&t, &hidden(&html, "request"), &hidden(&html, "csrf"), "alice", "nope", &jar)
            .await;
    assert_eq!(wrong.status(), 401);
    let location = sign_in_and_approve(&t, &client_id, "alice", "").await;
    let code = query_param(&location, "code").unwrap();
    let tokens = json(&exchange_code(&t, &client_id, &location).await);
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let session = initialize(&t, Some(&access)).await;
    let call = json!({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"get_vibe","arguments":{"location":"Rome"}}});
    assert_eq!(t.send(mcp_request(&call, Some(&access), Some(&session))).await.status(), 200);
    let revoked = t
        .post_form("/revoke", &[("token", refresh.as_str()), ("client_id", client_id.as_str())], "")
        .await;
    assert_eq!(revoked.status(), 200);

    let access_lines = lines("access");
    let find = |path: &str, status: u64| {
        access_lines
            .iter()
            .find(|l| l["path"] == path && l["status"] == status)
            .unwrap_or_else(|| panic!("no {path} {status} line in {access_lines:#?}"))
    };
    assert_eq!(find("/register", 201)["method"], "POST");
    find("/authorize", 302);
    assert_eq!(find("/token", 200)["client"], client_id);
    let mcp = find("/mcp", 200);
    assert_eq!(mcp["client"], client_id);
    assert_eq!(mcp["sub"], mcp_edge::logs::subject_tag("user-alice"));
    assert!(access_lines
        .iter()
        .all(|l| l["t"].is_u64() && l["ms"].is_u64() && l["ray"].is_string()));

    let events = lines("event");
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for kind in ["signing_key", "signin_failed", "grant_created", "grant_revoked"] {
        assert!(kinds.contains(&kind), "no {kind} event in {kinds:?}");
    }

    // REQUEST_LOG=errors (the default): failures get a line, successes and the bare 401
    // challenge do not (a 401 for a bad token does); off: none.
    let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}});
    for (level, expected) in [(Some("errors"), 2), (None, 2), (Some("off"), 0)] {
        let config = mcp_edge::config::Config::from_lookup(|k| match k {
            "MCP_EDGE_ENV" => Some("development".into()),
            "REQUEST_LOG" => level.map(Into::into),
            _ => None,
        })
        .unwrap();
        let quiet = TestApp::with_config(config).await;
        let before = lines("access").len();
        assert_eq!(quiet.get("/.well-known/oauth-protected-resource").await.status(), 200);
        assert_eq!(quiet.get("/missing").await.status(), 404);
        assert_eq!(quiet.send(mcp_request(&init, None, None)).await.status(), 401);
        assert_eq!(quiet.send(mcp_request(&init, Some("not-a-token"), None)).await.status(), 401);
        assert_eq!(lines("access").len() - before, expected, "REQUEST_LOG={level:?}");
    }

    let all = LINES.lock().unwrap().iter().map(|(_, l)| l.clone()).collect::<Vec<_>>().join("\n");
    let csrf = hidden(&html, "csrf");
    for secret in [
        access.as_str(),
        refresh.as_str(),
        code.as_str(),
        csrf.as_str(),
        "user-alice",
        "nope",
        &session,
    ] {
        assert!(!all.contains(secret), "a log line contains {secret:?}");
    }
    for cookie in jar.split("; ").filter_map(|c| c.split_once('=')).map(|(_, v)| v) {
        assert!(!all.contains(cookie), "a log line contains a cookie value");
    }
}
