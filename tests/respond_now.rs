//! The split Workers relies on: `App::respond_now` answers from the request head alone (no body,
//! no store, no `Promise` on Workers) and leaves exactly the requests that need more.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use http::StatusCode;
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
    let now = |req: &Request| t.app.respond_now(req, &*t.clock).map(|r| r.status());
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
    let later = |req: &Request| t.app.respond_now(req, &*t.clock).is_none();
    assert!(later(&head("POST", "/mcp", &[("authorization", &bearer)])));
    assert!(later(&head("DELETE", "/mcp", &[("authorization", &bearer)])));
    for path in ["/token", "/register", "/revoke", "/authorize"] {
        assert!(later(&head("POST", path, &[])), "{path}");
    }
    assert!(later(&head("GET", "/authorize?client_id=x", &[])));
}

#[tokio::test]
async fn the_answers_are_the_ones_handle_gives() {
    // `handle` goes through `respond_now` too; compare with the route served by a whole request.
    let t = TestApp::new().await;
    let res = t
        .send(
            request("POST", "/mcp")
                .header("content-type", "application/json")
                .body(vec![])
                .unwrap(),
        )
        .await;
    let now = t
        .app
        .respond_now(&head("POST", "/mcp", &[("content-type", "application/json")]), &*t.clock)
        .unwrap();
    assert_eq!(res.status(), now.status());
    assert_eq!(res.headers(), now.headers());
    assert_eq!(res.body(), now.body());
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
