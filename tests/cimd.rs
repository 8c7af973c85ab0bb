//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): a client whose
//! `client_id` is a URL signs in with nothing registered; the document is fetched under the
//! fetch rules (no redirects, 5 KB, JSON), checked, cached per its headers (5 min – 24 h), and
//! never cached when it failed. Documents are served by `CannedFetch`.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mcp_edge::web::percent_encode;
use serde_json::{json, Value};

const CLAUDE_CODE: &str = "https://claude.ai/oauth/claude-code-client-metadata";
const CLAUDE_AI: &str = "https://claude.ai/oauth/mcp-oauth-client-metadata";
const VSCODE: &str = "https://vscode.dev/oauth/client-metadata.json";
const CHATGPT: &str = "https://chatgpt.com/oauth/5f3c2a9e41d7b8c6/client.json";
const LOCAL: &str = "http://127.0.0.1:4100/client.json";
const JSON: (&str, &str) = ("content-type", "application/json");

fn local_doc(redirects: &[&str]) -> Value {
    json!({"client_id": LOCAL, "client_name": "Local Test App", "redirect_uris": redirects})
}

fn serve(t: &TestApp, url: &str, body: &str, cache: &str) {
    t.fetch.answer(url, 200, &[JSON, ("cache-control", cache)], body.to_owned());
}

fn fetches(t: &TestApp, url: &str) -> usize {
    t.fetch.seen.borrow().iter().filter(|(_, u, _)| u == url).count()
}

fn authorize_url(client_id: &str, redirect_uri: &str) -> String {
    format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={}&state=xyz&code_challenge={}&code_challenge_method=S256",
        percent_encode(client_id),
        percent_encode(redirect_uri),
        challenge(VERIFIER)
    )
}

/// GET /authorize → sign in as alice → the consent page's HTML and cookies (or the refusal).
async fn consent(
    t: &TestApp,
    client_id: &str,
    redirect_uri: &str,
) -> Result<(String, String), mcp_edge::web::Response> {
    let page = t.get(&authorize_url(client_id, redirect_uri)).await;
    if page.status() != 200 {
        return Err(page);
    }
    let jar = cookies(&page, "");
    let html = text(&page);
    let signed =
        post_sign_in(t, &hidden(&html, "request"), &hidden(&html, "csrf"), "alice", "alice", &jar)
            .await;
    assert_eq!(signed.status(), 200, "{}", text(&signed));
    Ok((text(&signed), cookies(&signed, &jar)))
}

/// The whole sign-in: the redirect's Location.
async fn sign_in(t: &TestApp, client_id: &str, redirect_uri: &str) -> String {
    let (html, jar) = consent(t, client_id, redirect_uri).await.map_err(|r| text(&r)).unwrap();
    let approved = approve_consent(t, &html, &jar).await;
    assert_eq!(approved.status(), 302, "{}", text(&approved));
    let location = header(&approved, "location").to_owned();
    assert!(location.starts_with(redirect_uri), "{location}");
    location
}

/// Redeems the code as a public client and calls the echo tool with the access token.
async fn redeem_and_call(t: &TestApp, client_id: &str, redirect_uri: &str, location: &str) {
    let code = query_param(location, "code").unwrap();
    let res = t
        .post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", VERIFIER),
                ("client_id", client_id),
            ],
            "",
        )
        .await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    let tokens = json(&res);
    let access = tokens["access_token"].as_str().unwrap();
    let session = initialize(t, Some(access)).await;
    let call = json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"cimd"}}});
    let res = t.send(mcp_request(&call, Some(access), Some(&session))).await;
    assert_eq!(res.status(), 200);
    assert!(text(&res).contains("Echo: cimd"), "{}", text(&res));
    // The refresh token works for the URL client too.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let res = t
        .post_form(
            "/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh),
                ("client_id", client_id),
            ],
            "",
        )
        .await;
    assert_eq!(res.status(), 200, "{}", text(&res));
}

#[tokio::test]
async fn replays_of_public_clients_sign_in_and_call_a_tool() {
    for (url, file, redirect) in [
        (CLAUDE_CODE, "claude-code.json", "http://localhost:53682/callback"),
        (CLAUDE_AI, "claude-ai.json", "https://claude.ai/api/mcp/auth_callback"),
        (VSCODE, "vscode.json", "http://127.0.0.1:50123/"),
        (VSCODE, "vscode.json", "https://vscode.dev/redirect"),
    ] {
        let t = TestApp::new().await;
        serve(&t, url, &fixture(file), "max-age=3600");
        let location = sign_in(&t, url, redirect).await;
        assert_eq!(query_param(&location, "iss").as_deref(), Some(BASE));
        redeem_and_call(&t, url, redirect, &location).await;
        assert_eq!(fetches(&t, url), 1, "{url}: one fetch for the whole flow");
        // Nothing is registered: the document is the registration.
        assert!(!t.store.keys().iter().any(|k| k.starts_with("client:")));
        assert!(t.store.keys().contains(&format!("cimd:{}", mcp_edge::crypto::sha256_b64(url))));
    }
}

#[tokio::test]
async fn the_consent_page_names_the_publisher_and_warns_about_loopback_only_clients() {
    let t = TestApp::new().await;
    serve(&t, CLAUDE_CODE, &fixture("claude-code.json"), "max-age=3600");
    serve(&t, CLAUDE_AI, &fixture("claude-ai.json"), "max-age=3600");
    let (html, _) = consent(&t, CLAUDE_CODE, "http://127.0.0.1:40000/callback").await.ok().unwrap();
    assert!(html.contains("<b>Claude Code</b>"), "{html}");
    assert!(html.contains("published by <code>claude.ai</code>"), "{html}");
    assert!(html.contains("loopback"), "{html}");
    let (html, _) =
        consent(&t, CLAUDE_AI, "https://claude.ai/api/mcp/auth_callback").await.ok().unwrap();
    assert!(html.contains("<b>Claude</b>") && html.contains("published by <code>claude.ai</code>"));
    assert!(!html.contains("loopback"), "{html}");
}

#[tokio::test]
async fn a_private_key_jwt_document_never_falls_back_to_none() {
    let t = TestApp::new().await;
    serve(&t, CHATGPT, &fixture("chatgpt.json"), "max-age=3600");
    let redirect = "https://chatgpt.com/connector_platform_oauth_redirect";
    let location = sign_in(&t, CHATGPT, redirect).await;
    let res = exchange_code(&t, CHATGPT, &location).await;
    assert_eq!(res.status(), 401, "{}", text(&res));
    assert_eq!(json(&res)["error"], "invalid_client");
}

/// The refusal page for a document, and how many fetches it took.
async fn refused(t: &TestApp, client_id: &str, redirect: &str) -> String {
    let res = t.get(&authorize_url(client_id, redirect)).await;
    assert_eq!(res.status(), 400, "{}", text(&res));
    assert!(header(&res, "location").is_empty(), "never redirected to an unchecked URI");
    text(&res)
}

#[tokio::test]
async fn bad_documents_are_refused_with_a_reason_and_never_cached() {
    let cb = "http://127.0.0.1:9999/callback";
    let good = local_doc(&[cb]).to_string();
    // (why, status, headers, body, what the refusal says)
    type Case<'a> = (&'a str, u16, Vec<(&'a str, &'a str)>, String, &'a str);
    let cases: Vec<Case> = vec![
        ("redirecting", 302, vec![("location", "https://evil.example/c.json")], String::new(), "redirects are not followed"),
        ("not found", 404, vec![JSON], "{}".into(), "answered 404"),
        ("oversized", 200, vec![JSON], format!("{{\"client_id\":\"{LOCAL}\",\"pad\":\"{}\"}}", "x".repeat(6000)), "larger than 5120 bytes"),
        ("html", 200, vec![("content-type", "text/html")], good.clone(), "not application/json"),
        ("not json", 200, vec![JSON], "<html>".into(), "not a JSON object"),
        ("mismatched client_id", 200, vec![JSON], local_doc(&[cb]).to_string().replace("client.json", "other.json"), "not exactly the document"),
        ("secret inside", 200, vec![JSON], json!({"client_id": LOCAL, "client_name": "x", "redirect_uris": [cb], "client_secret": "s"}).to_string(), "client_secret"),
        ("no name", 200, vec![JSON], json!({"client_id": LOCAL, "redirect_uris": [cb]}).to_string(), "client_name is required"),
        ("no redirect_uris", 200, vec![JSON], json!({"client_id": LOCAL, "client_name": "x"}).to_string(), "redirect_uris is required"),
        ("private key", 200, vec![JSON], json!({"client_id": LOCAL, "client_name": "x", "redirect_uris": [cb], "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "d": "c"}]}}).to_string(), "private member"),
    ];
    for (why, status, headers, body, expect) in cases {
        let t = TestApp::new().await;
        t.fetch.answer(LOCAL, status, &headers, body);
        let page = refused(&t, LOCAL, cb).await;
        assert!(page.contains(expect), "{why}: {page}");
        // Not cached: the next attempt fetches again, and a fixed document then works.
        refused(&t, LOCAL, cb).await;
        assert_eq!(fetches(&t, LOCAL), 2, "{why}: failures are not cached");
        serve(&t, LOCAL, &good, "max-age=600");
        assert_eq!(t.get(&authorize_url(LOCAL, cb)).await.status(), 200, "{why}");
        assert!(t.fetch.seen.borrow().iter().all(|(m, _, _)| m == "GET"));
    }
}

#[tokio::test]
async fn a_redirect_uri_not_in_the_document_is_refused_before_any_redirect() {
    let t = TestApp::new().await;
    serve(&t, CLAUDE_AI, &fixture("claude-ai.json"), "max-age=3600");
    for bad in [
        "https://evil.example/api/mcp/auth_callback",
        "https://claude.ai/api/mcp/auth_callback/x",
        "http://127.0.0.1:4000/callback",
    ] {
        let page = refused(&t, CLAUDE_AI, bad).await;
        assert!(page.contains("not registered"), "{page}");
    }
    // Claude Code lists loopback callbacks: any port matches, another path does not.
    serve(&t, CLAUDE_CODE, &fixture("claude-code.json"), "max-age=3600");
    assert_eq!(
        t.get(&authorize_url(CLAUDE_CODE, "http://localhost:1/callback")).await.status(),
        200
    );
    refused(&t, CLAUDE_CODE, "http://localhost:1/other").await;
}

#[tokio::test]
async fn good_documents_are_cached_per_their_headers_clamped() {
    let cb = "http://127.0.0.1:9999/callback";
    for (cache, fresh_for) in
        [("max-age=3600", 3600), ("max-age=10", 300), ("no-store", 300), ("max-age=999999", 86400)]
    {
        let t = TestApp::new().await;
        serve(&t, LOCAL, &local_doc(&[cb]).to_string(), cache);
        let url = authorize_url(LOCAL, cb);
        let page = || t.get(&url);
        assert_eq!(page().await.status(), 200);
        assert_eq!(fetches(&t, LOCAL), 1);
        // Past the isolate's memo (60 s): KV still has it.
        t.clock.advance(fresh_for - 5);
        assert_eq!(page().await.status(), 200);
        assert_eq!(fetches(&t, LOCAL), 1, "{cache}: cached for {fresh_for} s");
        // Past its lifetime: fetched again, and a changed document is seen.
        t.clock.advance(70);
        serve(&t, LOCAL, &local_doc(&["http://127.0.0.1:9999/other"]).to_string(), cache);
        assert_eq!(t.get(&authorize_url(LOCAL, cb)).await.status(), 400, "{cache}");
        assert_eq!(fetches(&t, LOCAL), 2, "{cache}: refetched after {fresh_for} s");
    }
}

#[tokio::test]
async fn fetches_per_host_are_rate_limited() {
    let mut t = TestApp::new().await;
    t.limiter = mcp_edge::env::CountingLimiter::new(3);
    let cb = "https://app.example.com/cb";
    // Distinct URLs on one host miss the cache: only the limiter's number are fetched.
    for i in 0..5 {
        let url = format!("https://victim.example.com/c{i}.json");
        let page = refused(&t, &url, cb).await;
        if i >= 3 {
            assert!(page.contains("too many fetches from victim.example.com"), "{page}");
        }
    }
    let victim = t.fetch.seen.borrow().iter().filter(|(_, u, _)| u.contains("victim")).count();
    assert_eq!(victim, 3);
    // Another host is not affected, and a new window allows the host again.
    refused(&t, "https://other.example.com/c.json", cb).await;
    assert_eq!(t.fetch.seen.borrow().len(), 4);
    t.limiter.reset();
    refused(&t, "https://victim.example.com/c9.json", cb).await;
    assert_eq!(t.fetch.seen.borrow().len(), 5);
}

#[tokio::test]
async fn urls_outside_the_fetch_rules_are_never_fetched() {
    let t = TestApp::new().await;
    for bad in [
        "https://claude.ai",
        "https://claude.ai/a/../client.json",
        "https://u@claude.ai/client.json",
        "https://claude.ai/client.json#x",
        "https://10.0.0.1/client.json",
        "https://printer.local/client.json",
        // http is only accepted on loopback, and only in the development settings.
        "http://claude.ai/client.json",
    ] {
        let page = refused(&t, bad, "https://claude.ai/cb").await;
        assert!(page.contains("client metadata document"), "{bad}: {page}");
    }
    assert!(t.fetch.seen.borrow().is_empty(), "{:?}", t.fetch.seen.borrow());
}

#[tokio::test]
async fn production_settings_never_fetch_loopback_documents() {
    let prod = mcp_edge::config::Config::from_lookup(|k| match k {
        "USERS" => Some(r#"[{"username":"a","password_hash":"pbkdf2-sha256$1000$WOFSdwrcuNuORaFg8TO5FQ$PdoCBgTOelh7fRkXfajJPaOPrYUfv0bvNqI2ZwWLDpo","sub":"a","name":"A","scopes":["mcp"]}]"#.into()),
        "JWT_SIGNING_KEYS" => Some(r#"[{"kid":"k","seed":"7W2y4CDZgIctbKxepUXu0E_7igZqMLMvOP8a6IJ5ljs"}]"#.into()),
        "COOKIE_SECRET" => Some("0123456789abcdef0123456789abcdef".into()),
        _ => None,
    })
    .unwrap();
    let t = TestApp::with_config(prod).await;
    let cb = "http://127.0.0.1:9999/callback";
    for url in [LOCAL, "https://localhost:4100/client.json", "https://127.0.0.1/client.json"] {
        serve(&t, url, &local_doc(&[cb]).to_string().replace(LOCAL, url), "max-age=600");
        let page = refused(&t, url, cb).await;
        assert!(page.contains("client metadata document"), "{url}: {page}");
    }
    assert!(t.fetch.seen.borrow().is_empty(), "{:?}", t.fetch.seen.borrow());
    // A public https document is fetched as in development.
    serve(&t, CLAUDE_AI, &fixture("claude-ai.json"), "max-age=600");
    let res = t.get(&authorize_url(CLAUDE_AI, "https://claude.ai/api/mcp/auth_callback")).await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    assert_eq!(fetches(&t, CLAUDE_AI), 1);
}
