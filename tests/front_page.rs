//! The front page: a browser gets the page with the endpoint and what to paste into each
//! client; JSON clients keep the endpoint list; the page's only script is allowed by its hash.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use sha2::{Digest, Sha256};

async fn front(t: &TestApp, accept: Option<&str>) -> mcp_edge::web::Response {
    let mut b = request("GET", "/");
    if let Some(a) = accept {
        b = b.header("accept", a);
    }
    t.send(b.body(Vec::new()).unwrap()).await
}

#[tokio::test]
async fn browsers_get_the_page_and_json_clients_the_list() {
    let t = TestApp::new().await;
    let html =
        front(&t, Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")).await;
    assert_eq!(html.status(), 200);
    assert_eq!(header(&html, "content-type"), "text/html; charset=utf-8");
    let page = text(&html);
    let endpoint = format!("{BASE}/mcp");
    assert!(page.contains(&format!("<code id=\"endpoint\">{endpoint}</code>")), "{page}");
    for paste in [
        format!("claude mcp add --transport http mcp-edge {endpoint}"),
        format!("\\&quot;args\\&quot;: [\\&quot;mcp-remote\\&quot;, \\&quot;{endpoint}\\&quot;]")
            .replace('\\', ""),
        "Username and password (2 users)".to_owned(),
        "Development settings".to_owned(),
    ] {
        assert!(page.contains(&paste), "missing {paste:?}");
    }
    assert!(
        page.matches("data-copy=").count() >= 8,
        "a copy button for the endpoint and each client"
    );
    for accept in [None, Some("application/json"), Some("application/json, text/html"), Some("*/*")]
    {
        let res = front(&t, accept).await;
        assert_eq!(json(&res)["mcp_endpoint"], endpoint, "{accept:?}");
    }
}

#[tokio::test]
async fn the_page_allows_only_its_own_script() {
    let t = TestApp::new().await;
    let res = front(&t, Some("text/html")).await;
    let page = text(&res);
    let script = page.split("<script>").nth(1).unwrap().split("</script>").next().unwrap();
    let hash = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        Sha256::digest(script.as_bytes()),
    );
    let csp = header(&res, "content-security-policy");
    assert!(csp.contains(&format!("script-src 'sha256-{hash}'")), "{csp}");
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(header(&res, "x-frame-options"), "DENY");
    // Sign-in pages stay script-free.
    let signin = t.get(&authorize_path(&register(&t).await, "")).await;
    assert!(!header(&signin, "content-security-policy").contains("script-src"));
}

#[tokio::test]
async fn a_public_base_url_is_what_the_page_shows() {
    let config = mcp_edge::config::Config::from_lookup(|k| match k {
        "MCP_EDGE_ENV" => Some("development".into()),
        "PUBLIC_BASE_URL" => Some("https://mcp.example.com".into()),
        _ => None,
    })
    .unwrap();
    let t = TestApp::with_config(config).await;
    let page = text(&front(&t, Some("text/html")).await);
    assert!(page.contains("https://mcp.example.com/mcp"));
    assert!(!page.contains("127.0.0.1:8787/mcp"));
}
