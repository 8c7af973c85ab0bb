//! A worker built without the `upstream` feature (`cargo test --no-default-features --test
//! without_upstream`): passwords only. Configuration refuses the upstream settings, naming
//! each; no page offers a provider; `/oauth/callback` is not there; a form naming a provider is
//! refused as where none is configured; password sign-in works as before; a grant an
//! upstream-enabled build made for someone who signed in upstream ends at its next refresh.
#![cfg(not(feature = "upstream"))]
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mcp_edge::config::Config;
use mcp_edge::store::records::GrantRecord;
use mcp_edge::store::{get_json, put_json};
use serde_json::json;

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

/// The state of a deployment that signed people in upstream, then was rebuilt passwords only:
/// a grant that kept the person's upstream identity (`GrantRecord::upstream`) has no provider
/// to be checked against any more, so its next refresh is refused and the grant deleted, as
/// when a provider is removed from the configuration.
#[tokio::test]
async fn a_grant_from_an_upstream_sign_in_ends_at_its_next_refresh() {
    let t = TestApp::new().await;
    let (client_id, tokens) = tokens_for(&t, "alice").await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    let key = GrantRecord::key(refresh_token.split('.').next().unwrap());
    let mut grant: GrantRecord = get_json(&t.store, &key).await.unwrap().unwrap();
    grant.upstream = Some(json!({
        "provider": "github", "subject": "github:1", "email": "ada@example.com",
        "email_verified": true, "name": "Ada", "login": "ada"
    }));
    put_json(&t.store, &key, &grant, None).await.unwrap();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
        ("client_id", client_id.as_str()),
    ];
    let r = json(&t.post_form("/token", &form, "").await);
    assert_eq!(r["error"], "invalid_grant", "{r}");
    assert!(r["error_description"].as_str().unwrap().contains("no access rule admits"), "{r}");
    assert!(!t.store.keys().contains(&key), "the grant is deleted");
}
