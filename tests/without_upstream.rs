//! A worker built without the `upstream` feature (`cargo test --no-default-features --test
//! without_upstream`): passwords only. Configuration refuses the upstream settings, naming
//! each; no page offers a provider; `/oauth/callback` is not there; a form naming a provider is
//! refused as where none is configured; password sign-in works as before.
#![cfg(not(feature = "upstream"))]
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mcp_edge::config::Config;

#[test]
fn the_upstream_settings_are_refused_with_what_to_do() {
    let vars = [
        ("MCP_EDGE_ENV", "development"),
        ("UPSTREAM_OIDC_ISSUER", "https://idp.example"),
        ("UPSTREAM_OIDC_CLIENT_ID", "our-client"),
        ("UPSTREAM_OIDC_CLIENT_SECRET", "our-secret"),
        ("ACCESS_RULES", r#"[{"domain":"example.com","scopes":"mcp"}]"#),
    ];
    let err =
        Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))
            .unwrap_err()
            .to_string();
    for (name, _) in &vars[1..] {
        assert!(err.contains(&format!("{name}: this build has no upstream sign-in")), "{err}");
    }
    assert!(err.contains("`upstream` feature"), "{err}");
}

#[tokio::test]
async fn passwords_sign_in_and_nothing_offers_or_answers_for_a_provider() {
    let t = TestApp::new().await;
    // No callback endpoint.
    assert_eq!(t.get("/oauth/callback?state=x&code=y").await.status(), 404);
    // The account page's sign-in: the password form, no provider button.
    let page = t.get("/account").await;
    assert_eq!(page.status(), 200);
    let (jar, html) = (cookies(&page, ""), text(&page));
    assert!(html.contains("name=\"username\""), "{html}");
    assert!(!html.contains("value=\"upstream\"") && !html.contains("Continue with"), "{html}");
    // A hand-made provider form is refused as where none is configured.
    let csrf = hidden(&html, "csrf");
    let res = t
        .post_form(
            "/account",
            &[("csrf", &csrf), ("action", "upstream"), ("provider", "github")],
            &jar,
        )
        .await;
    assert_eq!(res.status(), 400);
    assert!(text(&res).contains("not configured here"));
    // Passwords work.
    let res = t
        .post_form(
            "/account",
            &[("csrf", &csrf), ("action", "signin"), ("username", "alice"), ("password", "alice")],
            &jar,
        )
        .await;
    assert_eq!(res.status(), 303, "{}", text(&res));
}
