//! Connected apps at /account: a person signs in, sees the grants they gave, revokes one (its
//! refresh token fails at once, its access token within GRANT_RECHECK_SECS); forms need the
//! CSRF token; another person's grant cannot be revoked; an admin sees everything.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::json;

/// Signs in at /account as `user`; returns the cookie jar.
async fn account_session(t: &TestApp, user: &str, password: &str) -> (u16, String) {
    let page = t.get("/account").await;
    assert_eq!(page.status(), 200);
    let jar = cookies(&page, "");
    let html = text(&page);
    assert!(html.contains("name=\"username\""), "{html}");
    let res = t
        .post_form(
            "/account",
            &[
                ("csrf", &hidden(&html, "csrf")),
                ("action", "signin"),
                ("username", user),
                ("password", password),
            ],
            &jar,
        )
        .await;
    let jar = cookies(&res, &jar);
    (res.status().as_u16(), jar)
}

async fn account_page(t: &TestApp, jar: &str) -> String {
    let mut b = request("GET", "/account");
    b = b.header("cookie", jar);
    text(&t.send(b.body(Vec::new()).unwrap()).await)
}

/// The grant ids listed on a page (the Revoke forms' `id` fields).
fn listed(html: &str) -> Vec<String> {
    html.split("name=\"id\" value=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_person_sees_and_revokes_what_they_connected() {
    let t = TestApp::new().await;
    let (client_id, tokens) = tokens_for(&t, "bob").await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let grant_id = refresh.split('.').next().unwrap().to_owned();
    // The token works (and its grant is now seen alive in this isolate).
    let session = initialize(&t, Some(&access)).await;
    let call = json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"x"}}});
    assert_eq!(t.send(mcp_request(&call, Some(&access), Some(&session))).await.status(), 200);

    assert_eq!(account_session(&t, "bob", "wrong").await.0, 401);
    let (status, jar) = account_session(&t, "bob", "bob").await;
    assert_eq!(status, 303);
    let html = account_page(&t, &jar).await;
    assert!(
        html.contains("Test Client")
            && html.contains(&client_id)
            && html.contains("<code>mcp</code>"),
        "{html}"
    );
    assert_eq!(listed(&html), std::slice::from_ref(&grant_id));
    assert!(!html.contains("All grants"), "bob is not an admin");

    // A form without the CSRF token is refused and changes nothing.
    let res = t.post_form("/account", &[("action", "revoke"), ("id", &grant_id)], &jar).await;
    assert_eq!(res.status(), 403);
    assert!(t.store.keys().contains(&format!("grant:{grant_id}")));

    let res = t
        .post_form(
            "/account",
            &[("csrf", &hidden(&html, "csrf")), ("action", "revoke"), ("id", &grant_id)],
            &jar,
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(text(&res).contains("Access revoked"), "{}", text(&res));
    assert!(listed(&text(&res)).is_empty());
    // The refresh token fails at once.
    let res = t
        .post_form(
            "/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("client_id", &client_id),
            ],
            "",
        )
        .await;
    assert_eq!((res.status().as_u16(), json(&res)["error"].as_str()), (400, Some("invalid_grant")));
    // The access token: this isolate forgot the grant when it revoked it, so at once here; another
    // isolate that saw it alive keeps it at most GRANT_RECHECK_SECS.
    let res = t.send(mcp_request(&call, Some(&access), Some(&session))).await;
    assert_eq!(res.status(), 401);
    assert!(header(&res, "www-authenticate").contains("invalid_token"));
}

#[tokio::test]
async fn another_isolate_stops_a_revoked_token_within_the_recheck_interval() {
    let t = TestApp::new().await;
    let (client_id, tokens) = tokens_for(&t, "bob").await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let session = initialize(&t, Some(&access)).await;
    let call = json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"x"}}});
    assert_eq!(t.send(mcp_request(&call, Some(&access), Some(&session))).await.status(), 200);
    // Revoked elsewhere (RFC 7009 at another isolate: the store changes, this memo does not).
    let res = t.post_form("/revoke", &[("token", &refresh), ("client_id", &client_id)], "").await;
    assert_eq!(res.status(), 200);
    t.app.state.live_grants.insert(
        refresh.split('.').next().unwrap(),
        (),
        NOW + mcp_edge::state::GRANT_RECHECK_SECS,
    );
    assert_eq!(
        t.send(mcp_request(&call, Some(&access), Some(&session))).await.status(),
        200,
        "still trusted inside the interval"
    );
    t.clock.advance(mcp_edge::state::GRANT_RECHECK_SECS + 1);
    assert_eq!(
        t.send(mcp_request(&call, Some(&access), Some(&session))).await.status(),
        401,
        "refused after it"
    );
}

#[tokio::test]
async fn nobody_revokes_someone_elses_grant_but_an_admin_sees_and_can() {
    let t = TestApp::new().await;
    let (_, bob_tokens) = tokens_for(&t, "bob").await;
    let bob_grant =
        bob_tokens["refresh_token"].as_str().unwrap().split('.').next().unwrap().to_owned();
    let (_, alice_tokens) = tokens_for(&t, "alice").await;
    let alice_grant =
        alice_tokens["refresh_token"].as_str().unwrap().split('.').next().unwrap().to_owned();

    let (_, bob) = account_session(&t, "bob", "bob").await;
    let html = account_page(&t, &bob).await;
    assert_eq!(listed(&html), std::slice::from_ref(&bob_grant), "bob sees only his own grant");
    let res = t
        .post_form(
            "/account",
            &[("csrf", &hidden(&html, "csrf")), ("action", "revoke"), ("id", &alice_grant)],
            &bob,
        )
        .await;
    assert_eq!(res.status(), 403);
    assert!(t.store.keys().contains(&format!("grant:{alice_grant}")));

    let (_, alice) = account_session(&t, "alice", "alice").await;
    let html = account_page(&t, &alice).await;
    assert!(html.contains("All grants (admin)") && html.contains("Registered clients (admin)"));
    assert!(listed(&html).contains(&bob_grant), "the admin sees bob's grant");
    let res = t
        .post_form(
            "/account",
            &[("csrf", &hidden(&html, "csrf")), ("action", "revoke"), ("id", &bob_grant)],
            &alice,
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(!t.store.keys().contains(&format!("grant:{bob_grant}")));
}

/// Issue 23 item 2: an admin ends everything one person connected in one action.
#[tokio::test]
async fn an_admin_revokes_every_grant_of_one_person_at_once() {
    let t = TestApp::new().await;
    let gid = |tokens: &serde_json::Value| {
        tokens["refresh_token"].as_str().unwrap().split('.').next().unwrap().to_owned()
    };
    let bob_grants = [gid(&tokens_for(&t, "bob").await.1), gid(&tokens_for(&t, "bob").await.1)];
    let alice_grant = gid(&tokens_for(&t, "alice").await.1);

    // Not for bob: the action is the admin's.
    let (_, bob) = account_session(&t, "bob", "bob").await;
    let html = account_page(&t, &bob).await;
    assert!(!html.contains("revoke_person"));
    let form = [
        ("csrf", hidden(&html, "csrf")),
        ("action", "revoke_person".into()),
        ("id", "user-alice".into()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(t.post_form("/account", &form, &bob).await.status(), 400);
    assert!(t.store.keys().contains(&format!("grant:{alice_grant}")));

    let (_, alice) = account_session(&t, "alice", "alice").await;
    let html = account_page(&t, &alice).await;
    assert!(html.contains("People (admin)") && html.contains("(user-bob)"), "{html}");
    let form = [
        ("csrf", hidden(&html, "csrf")),
        ("action", "revoke_person".into()),
        ("id", "user-bob".into()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = t.post_form("/account", &form, &alice).await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    assert!(text(&res).contains("Every app this person connected was revoked"));
    for g in &bob_grants {
        assert!(!t.store.keys().contains(&format!("grant:{g}")), "{g}");
    }
    assert!(t.store.keys().contains(&format!("grant:{alice_grant}")), "alice's grant stays");
}
