//! Refresh rotation that converges (RFC 9700 §4.14.2 with KV's semantics): racing refreshes of
//! one token all get the same new token, on one store and across simulated KV locations with
//! a propagation delay; tokens older than the previous generation still revoke the grant. Also
//! measures what a code replayed at a second location inside the delay gets
//! (docs/security.md).
#![allow(clippy::unwrap_used)]

mod common;

use common::locations::World;
use common::*;
use mcp_edge::env::Services;
use mcp_edge::store::records::{GrantRecord, REFRESH_REUSE_SECS};
use mcp_edge::store::{get_json, put_json, Store};
use mcp_edge::web::Response;
use serde_json::{json, Value};

fn refresh_form<'a>(client_id: &'a str, token: &'a str) -> [(&'a str, &'a str); 3] {
    [("grant_type", "refresh_token"), ("refresh_token", token), ("client_id", client_id)]
}

async fn refresh(t: &TestApp, client_id: &str, token: &str) -> Response {
    t.post_form("/token", &refresh_form(client_id, token), "").await
}

fn refresh_token_of(res: &Response) -> String {
    assert_eq!(res.status(), 200, "{}", text(res));
    json(res)["refresh_token"].as_str().unwrap().to_owned()
}

/// `n` refreshes of `token` at once through `App::handle`, over `store`.
async fn refresh_together(
    t: &TestApp,
    store: &dyn Store,
    client_id: &str,
    token: &str,
    n: usize,
) -> Vec<Response> {
    let services = Services {
        store,
        clock: &*t.clock,
        random: &t.random,
        limiter: &t.limiter,
        fetch: &t.fetch,
        rendezvous: &*t.rendezvous,
        tasks: &*t.tasks,
        ledger: &*t.ledger,
        hasher: &mcp_edge::env::RustPbkdf2,
        verifier: &mcp_edge::env::RustCrypto,
        signer: &mcp_edge::env::RustCrypto,
    };
    let requests = (0..n).map(|_| {
        let body = encode_form(&refresh_form(client_id, token));
        let req = request("POST", "/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.into_bytes())
            .unwrap();
        t.app.handle(req, &services)
    });
    futures::future::join_all(requests).await
}

#[tokio::test]
async fn eight_concurrent_refreshes_get_one_new_token_and_the_grant_lives_on() {
    let t = TestApp::new().await;
    let (client_id, tokens) = tokens_for(&t, "alice").await;
    let r0 = tokens["refresh_token"].as_str().unwrap().to_owned();

    // Worst case: all eight read generation 0 before any writes. The ledger gives generation
    // 0 one successor: one rotates (on 1664b2e all eight did, 16 writes), seven reuse it.
    let writes = t.store.writes();
    let racing = refresh_together(&t, &Yielding(&t.store), &client_id, &r0, 8).await;
    assert_eq!(
        t.store.writes() - writes,
        1,
        "one rotation (the grant; its account index was written at consent today)"
    );
    let r1: Vec<String> = racing.iter().map(refresh_token_of).collect();
    assert!(r1.iter().all(|r| *r == r1[0]), "one new token for all: {r1:?}");
    assert_ne!(r1[0], r0);
    for res in &racing {
        initialize(&t, json(res)["access_token"].as_str()).await;
    }

    // One after the other (each sees the rotation before it): the same answer, one write.
    let writes = t.store.writes();
    let serial = refresh_together(&t, &t.store, &client_id, &r0, 8).await;
    assert!(serial.iter().map(refresh_token_of).all(|r| r == r1[0]));
    assert_eq!(t.store.writes() - writes, 0, "the token before the newest rotates nothing");

    // The grant lives on: the new token rotates; then the first one, now two generations old,
    // is a replay and revokes the grant.
    let r2 = refresh_token_of(&refresh(&t, &client_id, &r1[0]).await);
    let replay = refresh(&t, &client_id, &r0).await;
    assert_eq!(replay.status(), 400);
    assert_eq!(json(&replay)["error"], "invalid_grant");
    assert_eq!(json(&refresh(&t, &client_id, &r2).await)["error"], "invalid_grant");
}

#[tokio::test]
async fn the_token_before_the_newest_works_for_the_reuse_window_only() {
    let t = TestApp::new().await;
    let (client_id, tokens) = tokens_for(&t, "alice").await;
    let r0 = tokens["refresh_token"].as_str().unwrap().to_owned();
    let r1 = refresh_token_of(&refresh(&t, &client_id, &r0).await);
    t.clock.advance(REFRESH_REUSE_SECS - 1);
    assert_eq!(refresh_token_of(&refresh(&t, &client_id, &r0).await), r1);
    t.clock.advance(1);
    let late = refresh(&t, &client_id, &r0).await;
    assert_eq!(json(&late)["error"], "invalid_grant", "a replay once the window is over");
    assert_eq!(json(&refresh(&t, &client_id, &r1).await)["error"], "invalid_grant", "revoked");
}

#[tokio::test]
async fn forged_and_foreign_tokens_are_refused() {
    let t = TestApp::new().await;
    let (client_id, tokens) = tokens_for(&t, "alice").await;
    let r0 = tokens["refresh_token"].as_str().unwrap().to_owned();
    let gid = r0.split('.').next().unwrap();
    // A made-up generation ahead of the stored one, with a mac that is not ours: invalid, and
    // not a replay. Anyone can read a grant id, so a forgery must not revoke the grant.
    let forged = format!("{gid}.7.{}", r0.rsplit('.').next().unwrap());
    assert_eq!(json(&refresh(&t, &client_id, &forged).await)["error"], "invalid_grant");
    let r1 = refresh_token_of(&refresh(&t, &client_id, &r0).await);
    assert_ne!(r1, r0, "the holder still rotates");
    // Another client's token: refused, and that grant is not touched.
    let (other_client, other) = tokens_for(&t, "bob").await;
    let other = other["refresh_token"].as_str().unwrap();
    assert_eq!(json(&refresh(&t, &client_id, other).await)["error"], "invalid_grant");
    refresh_token_of(&refresh(&t, &other_client, other).await);
}

#[tokio::test]
async fn random_tokens_of_the_previous_version_move_to_derived_ones() {
    let t = TestApp::new().await;
    let (client_id, tokens) = tokens_for(&t, "alice").await;
    let gid = tokens["refresh_token"].as_str().unwrap().split('.').next().unwrap().to_owned();
    // The grant as the previous version wrote it: a random token, known by its hash only.
    let key = GrantRecord::key(&gid);
    let mut grant: GrantRecord = get_json(&t.store, &key).await.unwrap().unwrap();
    grant.refresh_hash = mcp_edge::crypto::sha256_b64("an-old-random-secret");
    (grant.generation, grant.rotated_at, grant.previous_refresh_hash) = (None, None, None);
    put_json(&t.store, &key, &grant, Some(3600)).await.unwrap();
    let old = format!("{gid}.an-old-random-secret");

    let r1 = refresh_token_of(&refresh(&t, &client_id, &old).await);
    assert!(r1.starts_with(&format!("{gid}.1.")), "{r1}");
    assert_eq!(refresh_token_of(&refresh(&t, &client_id, &old).await), r1, "a racing request");
    refresh_token_of(&refresh(&t, &client_id, &r1).await);
    assert_eq!(json(&refresh(&t, &client_id, &old).await)["error"], "invalid_grant");
}

#[tokio::test]
async fn revoking_with_the_newest_or_previous_token_ends_the_grant() {
    let t = TestApp::new().await;
    let (client_id, tokens) = tokens_for(&t, "alice").await;
    let r0 = tokens["refresh_token"].as_str().unwrap().to_owned();
    let r1 = refresh_token_of(&refresh(&t, &client_id, &r0).await);
    let res = t.post_form("/revoke", &[("token", &r0), ("client_id", &client_id)], "").await;
    assert_eq!(res.status(), 200);
    assert_eq!(json(&refresh(&t, &client_id, &r1).await)["error"], "invalid_grant");
}

// ---- Several locations with KV's propagation delay -------------------------------------

#[tokio::test]
async fn the_simulated_kv_delays_writes_between_locations_and_the_newest_wins() {
    let clock = std::rc::Rc::new(mcp_edge::env::ManualClock::new(NOW));
    let kv = common::locations::Kv::new(clock.clone(), 60);
    let (a, b) = (kv.at(0), kv.at(1));
    a.put("k", "from a", None).await.unwrap();
    assert_eq!(a.get("k").await.unwrap().as_deref(), Some("from a"), "seen where written");
    assert_eq!(b.get("k").await.unwrap(), None);
    clock.advance(10);
    b.put("k", "from b", None).await.unwrap();
    clock.advance(49);
    assert_eq!(b.get("k").await.unwrap().as_deref(), Some("from b"));
    assert_eq!(a.get("k").await.unwrap().as_deref(), Some("from a"), "b's write not here yet");
    clock.advance(1);
    assert_eq!(b.get("k").await.unwrap().as_deref(), Some("from b"), "a's older write loses");
    clock.advance(10);
    assert_eq!(a.get("k").await.unwrap().as_deref(), Some("from b"));
    assert_eq!(a.list("", 10, None).await.unwrap().keys, ["k"]);
    a.delete("k").await.unwrap();
    assert_eq!(a.get("k").await.unwrap(), None);
    assert_eq!(b.get("k").await.unwrap().as_deref(), Some("from b"));
    assert!(a.put("t", "v", Some(59)).await.is_err(), "KV's minimum TTL");
    a.put("t", "v", Some(60)).await.unwrap();
    clock.advance(60);
    assert_eq!(a.get("t").await.unwrap(), None, "expired");
}

/// Registers a client and signs `alice` in at `at`; returns (client id, code).
async fn code_at(w: &World, at: usize) -> (String, String) {
    let res = w
        .post_json(at, "/register", &json!({"redirect_uris": [REDIRECT], "client_name": "Sim"}))
        .await;
    let client_id = json(&res)["client_id"].as_str().unwrap().to_owned();
    let page = w.get(at, &authorize_path(&client_id, "")).await;
    let (jar, html) = (cookies(&page, ""), text(&page));
    let form = [
        ("request", hidden(&html, "request")),
        ("csrf", hidden(&html, "csrf")),
        ("action", "signin".into()),
        ("username", "alice".into()),
        ("password", "alice".into()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let signed = w.post_form(at, "/authorize", &form, &jar).await;
    let (jar, html) = (cookies(&signed, &jar), text(&signed));
    let approve = [
        ("request", hidden(&html, "request")),
        ("csrf", hidden(&html, "csrf")),
        ("action", "approve".into()),
    ];
    let approve: Vec<(&str, &str)> = approve.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let approved = w.post_form(at, "/authorize", &approve, &jar).await;
    assert_eq!(approved.status(), 302, "{}", text(&approved));
    (client_id, query_param(header(&approved, "location"), "code").unwrap())
}

async fn exchange_at(w: &World, at: usize, client_id: &str, code: &str) -> Response {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("code_verifier", VERIFIER),
        ("client_id", client_id),
    ];
    w.post_form(at, "/token", &form, "").await
}

async fn refresh_at(w: &World, at: usize, client_id: &str, token: &str) -> Response {
    w.post_form(at, "/token", &refresh_form(client_id, token), "").await
}

/// Can `tokens`' access token call the MCP endpoint at `at`?
async fn mcp_works_at(w: &World, at: usize, tokens: &Value) -> bool {
    let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}});
    w.send(at, mcp_request(&init, tokens["access_token"].as_str(), None)).await.status() == 200
}

#[tokio::test]
async fn refreshes_racing_between_locations_converge_for_any_delay() {
    for delay in [0, 1, 30, 60] {
        let w = World::new(3, delay).await;
        let (client_id, code) = code_at(&w, 0).await;
        let r0 = refresh_token_of(&exchange_at(&w, 0, &client_id, &code).await);
        w.settle();

        // Two locations rotate the same token at the same moment (no compare-and-swap).
        let (a, b) =
            (refresh_at(&w, 0, &client_id, &r0).await, refresh_at(&w, 1, &client_id, &r0).await);
        let r1 = refresh_token_of(&a);
        assert_eq!(refresh_token_of(&b), r1, "delay {delay}: both locations hand out one token");

        // 5 s later the client refreshes at a third location that may not have seen either write.
        w.clock.advance(5);
        let res = refresh_at(&w, 2, &client_id, &r1).await;
        let r2 = refresh_token_of(&res);
        // ... and a retry of that refresh lands at location 1 at once.
        assert_eq!(
            refresh_token_of(&refresh_at(&w, 1, &client_id, &r1).await),
            r2,
            "delay {delay}"
        );

        w.settle();
        for at in 0..3 {
            assert!(mcp_works_at(&w, at, &json(&res)).await, "delay {delay}: access at {at}");
        }
        let r3 = refresh_token_of(&refresh_at(&w, 0, &client_id, &r2).await);
        w.settle();
        let res = refresh_at(&w, 2, &client_id, &r3).await;
        let r4 = refresh_token_of(&res);

        // Replay detection survives: the first token, long superseded, revokes the grant.
        w.settle();
        let replay = refresh_at(&w, 1, &client_id, &r0).await;
        assert_eq!(json(&replay)["error"], "invalid_grant", "delay {delay}");
        w.settle();
        for at in 0..3 {
            let res = refresh_at(&w, at, &client_id, &r4).await;
            assert_eq!(json(&res)["error"], "invalid_grant", "delay {delay}: revoked at {at}");
        }
    }
}

#[tokio::test]
async fn a_refresh_right_after_the_code_exchange_works_at_a_location_that_has_not_seen_it() {
    let w = World::new(2, 60).await;
    let (client_id, code) = code_at(&w, 0).await;
    w.settle();
    let r0 = refresh_token_of(&exchange_at(&w, 0, &client_id, &code).await);
    w.clock.advance(2);
    // Location 1 still holds the grant as pending; the token proves the code was exchanged.
    let r1 = refresh_token_of(&refresh_at(&w, 1, &client_id, &r0).await);
    w.settle();
    refresh_token_of(&refresh_at(&w, 0, &client_id, &r1).await);
    // A code presented again after that is a replay everywhere: the grant is revoked.
    w.settle();
    assert_eq!(json(&exchange_at(&w, 1, &client_id, &code).await)["error"], "invalid_grant");
}

/// The measurement in docs/security.md: a code redeemed at location 0 and presented again,
/// with its PKCE verifier, at location 1 `after` seconds later.
struct Replayed {
    w: World,
    client_id: String,
    first: Response,
    replay: Response,
}

async fn replay_code_at_a_second_location(delay: u64, after: u64) -> Replayed {
    let w = World::new(2, delay).await;
    let (client_id, code) = code_at(&w, 0).await;
    w.settle();
    let first = exchange_at(&w, 0, &client_id, &code).await;
    assert_eq!(first.status(), 200);
    w.clock.advance(after);
    let replay = exchange_at(&w, 1, &client_id, &code).await;
    Replayed { w, client_id, first, replay }
}

#[tokio::test]
async fn a_code_replayed_at_a_second_location_is_refused_and_revokes_at_any_delay() {
    // Issue 23: on 1664b2e a replay inside KV's delay was redeemed again (a second access
    // token, the grant untouched). The ledger's claim makes the redemption single.
    for (delay, after) in [(60, 0), (60, 59), (10, 9), (1, 0), (60, 60), (1, 1)] {
        let Replayed { w, client_id, first, replay } =
            replay_code_at_a_second_location(delay, after).await;
        assert_eq!(replay.status(), 400, "delay {delay}, after {after}: {}", text(&replay));
        assert_eq!(json(&replay)["error"], "invalid_grant");
        assert!(json(&replay).get("access_token").is_none());
        // What the first redemption issued is revoked (RFC 6749 §4.1.2), at both locations.
        let rt = json(&first)["refresh_token"].as_str().unwrap().to_owned();
        for at in [0, 1] {
            let res = refresh_at(&w, at, &client_id, &rt).await;
            assert_eq!(json(&res)["error"], "invalid_grant", "delay {delay}, after {after}");
        }
    }
}

#[tokio::test]
async fn a_code_redeemed_at_three_locations_at_once_is_redeemed_once() {
    let w = World::new(3, 60).await;
    let (client_id, code) = code_at(&w, 0).await;
    w.settle();
    let mut answers = Vec::new();
    for at in 0..3 {
        answers.push(exchange_at(&w, at, &client_id, &code).await);
    }
    let issued: Vec<_> = answers.iter().filter(|r| r.status() == 200).collect();
    assert_eq!(issued.len(), 1, "one redemption across three locations");
    assert!(answers.iter().skip(1).all(|r| json(r)["error"] == "invalid_grant"));
    let rt = json(issued[0])["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(json(&refresh_at(&w, 2, &client_id, &rt).await)["error"], "invalid_grant");
}

#[tokio::test]
async fn the_ledger_unreachable_issues_nothing_and_a_retry_works() {
    let w = World::new(2, 60).await;
    let (client_id, code) = code_at(&w, 0).await;
    w.settle();
    w.ledger.fail.set(true);
    let res = exchange_at(&w, 1, &client_id, &code).await;
    assert_eq!(res.status(), 503, "{}", text(&res));
    assert!(json(&res).get("access_token").is_none());
    w.ledger.fail.set(false);
    let first = exchange_at(&w, 1, &client_id, &code).await;
    let r0 = refresh_token_of(&first);
    w.ledger.fail.set(true);
    let res = refresh_at(&w, 1, &client_id, &r0).await;
    assert_eq!(res.status(), 503, "nothing rotates without the ledger: {}", text(&res));
    w.ledger.fail.set(false);
    refresh_token_of(&refresh_at(&w, 1, &client_id, &r0).await);
}

#[tokio::test]
async fn each_refresh_generation_has_one_successor_across_three_locations() {
    let w = World::new(3, 60).await;
    let (client_id, code) = code_at(&w, 0).await;
    let r0 = refresh_token_of(&exchange_at(&w, 0, &client_id, &code).await);
    w.settle();
    // Three locations rotate r0 at the same moment: one successor, handed to all three.
    let r1: Vec<String> = {
        let mut out = Vec::new();
        for at in 0..3 {
            out.push(refresh_token_of(&refresh_at(&w, at, &client_id, &r0).await));
        }
        out
    };
    assert!(r1.iter().all(|r| *r == r1[0]), "{r1:?}");
    // r1 rotates at location 0; 5 s later r0, now two generations old, is presented at
    // location 2, which has seen neither rotation (KV there still says generation 0). On
    // 1664b2e that location rotated r0 again and handed out r1; the ledger knows r1 was rotated.
    w.clock.advance(2);
    let r2 = refresh_token_of(&refresh_at(&w, 0, &client_id, &r1[0]).await);
    w.clock.advance(3);
    let replay = refresh_at(&w, 2, &client_id, &r0).await;
    assert_eq!(json(&replay)["error"], "invalid_grant", "{}", text(&replay));
    for at in 0..3 {
        assert_eq!(json(&refresh_at(&w, at, &client_id, &r2).await)["error"], "invalid_grant");
    }
}

#[tokio::test]
async fn grants_made_before_the_ledger_keep_working_and_replays_still_revoke() {
    let w = World::new(2, 60).await;
    let (client_id, code) = code_at(&w, 0).await;
    let r0 = refresh_token_of(&exchange_at(&w, 0, &client_id, &code).await);
    w.clock.advance(10);
    let r1 = refresh_token_of(&refresh_at(&w, 0, &client_id, &r0).await);
    // The deploy that brings the ledger: it knows nothing of these grants.
    w.ledger.clear();
    // A retry of the last rotation inside its reuse window gets the same token.
    assert_eq!(refresh_token_of(&refresh_at(&w, 0, &client_id, &r0).await), r1);
    w.settle();
    let r2 = refresh_token_of(&refresh_at(&w, 1, &client_id, &r1).await);
    assert_ne!(r2, r1);
    w.settle();
    // The code, redeemed before the deploy, presented again: KV says spent, the grant is revoked.
    assert_eq!(json(&exchange_at(&w, 0, &client_id, &code).await)["error"], "invalid_grant");
    w.settle();
    assert_eq!(json(&refresh_at(&w, 0, &client_id, &r2).await)["error"], "invalid_grant");
}

#[tokio::test]
async fn a_superseded_token_after_the_reuse_window_is_a_replay_where_kv_lags() {
    // KV documents up to 60 s; a location slower than the reuse window still sees generation 0.
    let w = World::new(2, 300).await;
    let (client_id, code) = code_at(&w, 0).await;
    w.clock.advance(300);
    let r0 = refresh_token_of(&exchange_at(&w, 0, &client_id, &code).await);
    w.clock.advance(300);
    let r1 = refresh_token_of(&refresh_at(&w, 0, &client_id, &r0).await);
    w.clock.advance(61);
    // On 1664b2e location 1 rotated r0 again, giving whoever held it the newest token r1.
    let res = refresh_at(&w, 1, &client_id, &r0).await;
    assert_eq!(json(&res)["error"], "invalid_grant", "{}", text(&res));
    assert_eq!(json(&refresh_at(&w, 0, &client_id, &r1).await)["error"], "invalid_grant");
}

#[tokio::test]
async fn a_code_replayed_without_its_verifier_gets_nothing_at_any_location() {
    let w = World::new(2, 60).await;
    let (client_id, code) = code_at(&w, 0).await;
    w.settle();
    assert_eq!(exchange_at(&w, 0, &client_id, &code).await.status(), 200);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("code_verifier", "a-verifier-guessed-by-someone-who-saw-the-redirect-url-xx"),
        ("client_id", client_id.as_str()),
    ];
    let res = w.post_form(1, "/token", &form, "").await;
    assert_eq!(json(&res)["error"], "invalid_grant");
}

/// What a revocation at one location meets at another inside the delay (docs/security.md):
/// a refresh there still works, and its write (newer than the delete) brings the grant back.
#[tokio::test]
async fn a_revocation_at_one_location_is_refused_at_another_at_once() {
    // Issue 23: the revocation is marked in the ledger (one strongly consistent place); KV's
    // delete reaches location 1 only after the delay, and on 1664b2e a refresh there within it
    // succeeded and wrote the grant back.
    let w = World::new(2, 60).await;
    let (client_id, code) = code_at(&w, 0).await;
    let r0 = refresh_token_of(&exchange_at(&w, 0, &client_id, &code).await);
    w.settle();
    let res = w.post_form(0, "/revoke", &[("token", &r0), ("client_id", &client_id)], "").await;
    assert_eq!(res.status(), 200);
    assert_eq!(json(&refresh_at(&w, 0, &client_id, &r0).await)["error"], "invalid_grant");
    w.clock.advance(10);
    let res = refresh_at(&w, 1, &client_id, &r0).await;
    assert_eq!(json(&res)["error"], "invalid_grant", "refused at the other location at once");
    w.settle();
    assert_eq!(json(&refresh_at(&w, 1, &client_id, &r0).await)["error"], "invalid_grant");
}

#[tokio::test]
async fn the_account_index_is_renewed_once_a_day_and_outlives_the_grant() {
    let t = TestApp::new().await;
    let (client_id, tokens) = tokens_for(&t, "alice").await;
    let ttl = mcp_edge::config::Config::development().refresh_token_ttl;
    let index =
        |t: &TestApp| t.store.keys().into_iter().filter(|k| k.starts_with("user-grant:")).count();
    let mut rt = tokens["refresh_token"].as_str().unwrap().to_owned();
    // Refreshed every 20 days past the index's first lifetime (and the grant's): still listed.
    for _ in 0..3 {
        t.clock.advance(20 * 86_400);
        let writes = t.store.writes();
        rt = refresh_token_of(&refresh(&t, &client_id, &rt).await);
        assert_eq!(t.store.writes() - writes, 2, "a new day: the grant and its index");
        assert_eq!(index(&t), 1);
        // A second refresh the same day writes the grant only.
        let writes = t.store.writes();
        t.clock.advance(61);
        rt = refresh_token_of(&refresh(&t, &client_id, &rt).await);
        assert_eq!(t.store.writes() - writes, 1);
    }
    // Left alone: the grant's record expires first, its index entry at most two days later.
    t.clock.advance(ttl);
    assert!(t.store.keys().iter().all(|k| !k.starts_with("grant:")), "{:?}", t.store.keys());
    assert_eq!(index(&t), 1, "the index outlives the grant");
    t.clock.advance(2 * 86_400);
    assert_eq!(index(&t), 0);
}
