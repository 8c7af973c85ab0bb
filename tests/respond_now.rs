//! The split Workers relies on: `App::respond_now` answers from the request head alone (no body,
//! no store, no `Promise` on Workers) and leaves exactly the requests that need more.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use http::StatusCode;
use mcp_edge::routes::Step;
use mcp_edge::web::{head_only, request_header, HeadOnly, Request};

fn head(method: &str, path: &str, headers: &[(&str, &str)]) -> Request {
    let mut b = request(method, path);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    head_only(&b.body(b"{\"jsonrpc\":\"2.0\"}".to_vec()).unwrap())
}

#[tokio::test]
async fn answers_what_needs_no_body_and_no_store() {
    let t = TestApp::new().await;
    let now = |req: &Request| t.app.respond_now(req, &*t.clock).answer().map(|r| r.status());
    // Discovery, JWKS, preflights, 404/405: always.
    assert_eq!(
        now(&head("GET", "/.well-known/oauth-protected-resource/mcp", &[])),
        Some(StatusCode::OK)
    );
    assert_eq!(
        now(&head("GET", "/.well-known/oauth-authorization-server", &[])),
        Some(StatusCode::OK)
    );
    assert_eq!(now(&head("GET", "/.well-known/jwks.json", &[])), Some(StatusCode::OK));
    assert_eq!(now(&head("OPTIONS", "/token", &[])), Some(StatusCode::NO_CONTENT));
    assert_eq!(now(&head("GET", "/token", &[])), Some(StatusCode::METHOD_NOT_ALLOWED));
    assert_eq!(now(&head("GET", "/nope", &[])), Some(StatusCode::NOT_FOUND));
    // The MCP endpoint's refusals: no token, a bad token, a foreign Origin.
    assert_eq!(now(&head("POST", "/mcp", &[])), Some(StatusCode::UNAUTHORIZED));
    assert_eq!(
        now(&head("POST", "/mcp", &[("authorization", "Bearer not-a-jwt")])),
        Some(StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        now(&head("POST", "/mcp", &[("origin", "https://evil.example")])),
        Some(StatusCode::FORBIDDEN)
    );
    // A foreign Host with development settings.
    let foreign = head_only(
        &http::Request::builder().method("GET").uri("https://evil.example/").body(vec![]).unwrap(),
    );
    assert_eq!(now(&foreign), Some(StatusCode::FORBIDDEN));
}

#[tokio::test]
async fn leaves_what_needs_the_body_or_the_store() {
    let t = TestApp::new().await;
    let (_, token) = tokens_for(&t, "alice").await;
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
    let later = |req: &Request| t.app.respond_now(req, &*t.clock).answer().is_none();
    assert!(later(&head("POST", "/mcp", &[("authorization", &bearer)])));
    assert!(later(&head("DELETE", "/mcp", &[("authorization", &bearer)])));
    for path in ["/token", "/register", "/revoke", "/authorize"] {
        assert!(later(&head("POST", path, &[])), "{path}");
    }
    assert!(later(&head("GET", "/authorize?client_id=x", &[])));
}

/// The head is all phase 1 needs: for every request, phase 1 on the head-only copy decides
/// exactly what it decides on the whole request (same answer, or the same checked [`Head`]),
/// and phase 2 given that head answers what `handle` answers.
#[tokio::test]
async fn the_head_decides_what_the_whole_request_would() {
    let t = TestApp::new().await;
    let (_, token) = tokens_for(&t, "bob").await;
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
    let json_post = |path: &str, auth: Option<&str>, origin: Option<&str>, body: &str| {
        let mut b = request("POST", path)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("content-length", body.len().to_string());
        if let Some(a) = auth {
            b = b.header("authorization", a);
        }
        if let Some(o) = origin {
            b = b.header("origin", o);
        }
        b.body(body.as_bytes().to_vec()).unwrap()
    };
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}"#;
    let list_clients =
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_clients"}}"#;
    // Each request with the status it must get, known independently of the code under test
    // (comparing phase 2 with `handle`, which runs phase 2 itself, could not fail).
    let requests = vec![
        (json_post("/mcp", None, None, init), 401),
        (json_post("/mcp", Some("Bearer nope"), None, init), 401),
        (json_post("/mcp", Some(&bearer), None, init), 200),
        (json_post("/mcp", Some(&bearer), Some("https://evil.example"), init), 403),
        // A session revision's call without its session.
        (json_post("/mcp", Some(&bearer), Some(BASE), list_clients), 400),
        (json_post("/mcp", Some(&bearer), None, "not json"), 400),
        (json_post("/token", None, None, "grant_type=refresh_token"), 400),
        (json_post("/register", None, None, r#"{"redirect_uris":["http://127.0.0.1/cb"]}"#), 201),
        (json_post("/register", None, None, &"x".repeat(2 * 1024 * 1024)), 413),
        (request("GET", "/.well-known/oauth-protected-resource/mcp").body(vec![]).unwrap(), 200),
        // mcp-remote registered two redirect URIs: without one named, a page.
        (request("GET", "/authorize?client_id=mcp-remote").body(vec![]).unwrap(), 400),
        (request("OPTIONS", "/mcp").header("origin", BASE).body(vec![]).unwrap(), 204),
    ];
    let mut continued = 0;
    for (req, expected) in requests {
        let what = format!("{} {}", req.method(), req.uri());
        let from_head = t.app.respond_now(&head_only(&req), &*t.clock);
        let from_whole = t.app.respond_now(&req, &*t.clock);
        match (from_head, from_whole) {
            (Step::Answer(a), Step::Answer(b)) => {
                assert_eq!(a.status(), expected, "{what}");
                assert_eq!(a.status(), b.status(), "{what}");
                assert_eq!(a.headers(), b.headers(), "{what}");
                assert_eq!(a.body(), b.body(), "{what}");
            }
            (Step::Continue(a), Step::Continue(b)) => {
                assert_eq!(a, b, "{what}");
                continued += 1;
                let services = t.services();
                let later = t.app.respond_later(req.clone(), a, &services).await.collect().await;
                assert_eq!(
                    later.status(),
                    expected,
                    "{what}: {}",
                    String::from_utf8_lossy(later.body())
                );
            }
            (a, b) => panic!(
                "{what}: the head-only request was {} but the whole one {}",
                if matches!(a, Step::Answer(_)) { "answered" } else { "continued" },
                if matches!(b, Step::Answer(_)) { "answered" } else { "continued" },
            ),
        }
    }
    assert!(continued >= 5, "the table must exercise phase 2 too ({continued})");
}

#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "not listed in web::HEAD_HEADERS")]
fn reading_a_body_phase_header_from_the_head_is_caught() {
    let mut req = request("POST", "/mcp").header("accept", "*/*").body(vec![]).unwrap();
    req.extensions_mut().insert(HeadOnly);
    let _ = request_header(&req, "accept");
}

#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "not listed in web::REQUEST_HEADERS")]
fn reading_an_unlisted_header_is_caught() {
    let req = request("GET", "/").header("x-custom", "1").body(vec![]).unwrap();
    let _ = request_header(&req, "x-custom");
}

#[test]
fn head_only_keeps_only_the_head_headers() {
    let req = request("POST", "/mcp")
        .header("authorization", "Bearer t")
        .header("accept", "*/*")
        .header("origin", "http://127.0.0.1:8787")
        .body(b"{}".to_vec())
        .unwrap();
    let head = head_only(&req);
    assert_eq!(head.headers().len(), 2);
    assert!(head.headers().get("accept").is_none());
    assert!(head.body().is_empty());
    assert!(head.extensions().get::<HeadOnly>().is_some());
}
