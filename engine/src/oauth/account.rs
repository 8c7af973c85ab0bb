//! `GET|POST /account`: connected apps. A person signs in (the same sign-in as `/authorize`,
//! the same session cookie) and sees each grant they gave — client, scopes, when granted, when
//! last refreshed — with a Revoke button. Revoking deletes the grant: its refresh token fails at
//! once, its access tokens within `state::GRANT_RECHECK_SECS`. A person with the `admin` scope
//! also sees every registered client and every grant, and can revoke or delete them.
//!
//! Every form carries the CSRF token bound to the browser's cookie; the pages run no script.

use super::client;
use super::pages;
use super::session::{self, csrf_ok, csrf_token, set_cookie};
use super::upstream::signed_in;
use crate::config::{User, SCOPE_ADMIN};
use crate::env::Services;
use crate::state::State;
use crate::store::records::{user_grant_prefix, ClientRecord, GrantRecord, CLIENT_PREFIX};
use crate::store::{get_json, Store, StoreError};
use crate::web::{self, html_escape as e, Params, Request, Response};
use http::{HeaderValue, StatusCode};

/// At most this many grants or clients are listed (one KV read each).
const LIST_LIMIT: usize = 200;

pub async fn get(state: &State, req: &Request, services: &Services<'_>) -> Response {
    match signed_in(state, req, services.clock.now()) {
        Some(user) => page(state, req, services, &user, None).await,
        None => sign_in_form(state, req, services, None),
    }
}

pub async fn post(state: &State, req: &Request, services: &Services<'_>) -> Response {
    let form = Params::parse(&String::from_utf8_lossy(req.body()));
    if let Some(problem) = form.problem() {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "Bad request",
            &format!("The form cannot be read: {problem}."),
        );
    }
    if !csrf_ok(state, req, form.get("csrf")) {
        return pages::error(
            StatusCode::FORBIDDEN,
            "Request refused",
            "The form could not be verified (missing or foreign CSRF token). Reload the page and try again.",
        );
    }
    let now = services.clock.now();
    if form.get("action") == Some("upstream") {
        let config = &state.config;
        let urls = crate::urls::Urls::for_request(
            config.public_base_url.as_deref(),
            &config.mcp_path,
            req,
        );
        return super::upstream::start(state, req, services, &urls, form.get("provider"), None)
            .await;
    }
    if form.get("action") == Some("signin") {
        let username = form.get("username").unwrap_or("").trim();
        let password = form.get("password").unwrap_or("");
        return match session::check_password(state, req, services, username, password, "account")
            .await
        {
            Ok(user) => {
                let mut res = see_other("/account");
                session::signed_in(&mut res, state, req, services, user);
                res
            }
            Err(refusal) => {
                let form = sign_in_form(state, req, services, Some(refusal.message()));
                refusal.finish(with_status(form, StatusCode::UNAUTHORIZED))
            }
        };
    }
    let Some(user) = signed_in(state, req, now) else {
        return sign_in_form(
            state,
            req,
            services,
            Some("Your sign-in expired. Please sign in again."),
        );
    };
    let admin = user.scopes.iter().any(|s| s == SCOPE_ADMIN);
    let result = match (form.get("action"), form.get("id")) {
        (Some("revoke"), Some(id)) => revoke(state, services, &user, admin, id).await,
        (Some("revoke_person"), Some(sub)) if admin => revoke_person(state, services, sub).await,
        (Some("delete_client"), Some(id)) if admin => {
            delete_client(services, id).await.map(|()| "The client was deleted.")
        }
        (Some("signout"), _) => {
            let mut res = see_other("/account");
            set_cookie(&mut res, req, "mcp_edge_session", "", 0);
            return res;
        }
        _ => return pages::error(StatusCode::BAD_REQUEST, "Bad request", "Unknown form action."),
    };
    match result {
        Ok(done) => page(state, req, services, &user, Some(done)).await,
        Err(Refused::NotYours) => {
            pages::error(StatusCode::FORBIDDEN, "Not yours", "That access was not given by you.")
        }
        Err(Refused::Store(e)) => web::unavailable(&e.to_string()),
    }
}

enum Refused {
    NotYours,
    Store(StoreError),
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Self {
        Refused::Store(e)
    }
}

/// Deletes a grant the person gave (any grant, for an admin).
async fn revoke(
    state: &State,
    services: &Services<'_>,
    user: &User,
    admin: bool,
    id: &str,
) -> Result<&'static str, Refused> {
    let key = GrantRecord::key(id);
    let Some(grant) = get_json::<GrantRecord>(services.store, &key).await? else {
        return Ok("That access was already gone.");
    };
    if grant.sub != user.sub && !admin {
        return Err(Refused::NotYours);
    }
    super::admission::revoke(state, services, &grant, "account").await?;
    Ok("Access revoked: the app's refresh token no longer works, and its access tokens stop within a minute.")
}

/// Deletes every grant one person gave (an admin's action: someone leaves, a device is lost).
/// Their grants are found through the account index (`user-grant:`), so grants the index lost
/// (a best-effort renewal that failed) are left to `MAX_GRANT_AGE` and the refresh-time check.
async fn revoke_person(
    state: &State,
    services: &Services<'_>,
    sub: &str,
) -> Result<&'static str, Refused> {
    let mut revoked = 0;
    for key in keys(services.store, &user_grant_prefix(sub)).await? {
        let Some(id) = key.rsplit(':').next() else { continue };
        super::admission::revoke_id(state, services, id, sub).await?;
        revoked += 1;
    }
    crate::logs::event(
        "person_revoked",
        serde_json::json!({ "sub": crate::logs::subject_tag(sub), "grants": revoked }),
    );
    Ok("Every app this person connected was revoked: their refresh tokens no longer work, and their access tokens stop within a minute.")
}

async fn delete_client(services: &Services<'_>, id: &str) -> Result<(), Refused> {
    services.store.delete(&ClientRecord::key(id)).await?;
    crate::logs::event("client_deleted", serde_json::json!({ "client": id }));
    Ok(())
}

/// Every key under `prefix`, up to [`LIST_LIMIT`].
async fn keys(store: &dyn Store, prefix: &str) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.list(prefix, LIST_LIMIT, cursor.as_deref()).await?;
        out.extend(page.keys);
        match page.cursor {
            Some(c) if out.len() < LIST_LIMIT => cursor = Some(c),
            _ => break,
        }
    }
    out.truncate(LIST_LIMIT);
    Ok(out)
}

fn date(unix: u64) -> String {
    let t = crate::mcp::tools::format_utc(unix);
    t.get(..16).map(|d| d.replace('T', " ")).unwrap_or(t)
}

/// One table row for a grant, with its Revoke form.
async fn grant_row(
    state: &State,
    services: &Services<'_>,
    grant: &GrantRecord,
    csrf: &str,
) -> String {
    let client = client::find(state, services, &grant.client_id).await.ok().flatten();
    let name =
        client.as_ref().and_then(|c| c.client_name.clone()).unwrap_or_else(|| "Unnamed app".into());
    let hosts = client.map(|c| c.redirect_hosts().join(", ")).unwrap_or_default();
    let refreshed = grant.refreshed_at.map(date).unwrap_or_else(|| "never".into());
    format!(
        "<li class=\"grant\"><b>{}</b> <span class=\"muted\">({}{})</span><br>Scopes: <code>{}</code><br>\
         <span class=\"muted\">Granted {} · last refreshed {}</span>\
         <form method=\"post\" action=\"/account\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <input type=\"hidden\" name=\"action\" value=\"revoke\"><input type=\"hidden\" name=\"id\" value=\"{}\">\
         <button class=\"small secondary\" type=\"submit\">Revoke</button></form></li>",
        e(&name),
        e(&grant.client_id),
        if hosts.is_empty() { String::new() } else { format!(" → {}", e(&hosts)) },
        e(&grant.scope),
        date(grant.created_at),
        refreshed,
        e(csrf),
        e(&grant.grant_id),
    )
}

async fn page(
    state: &State,
    req: &Request,
    services: &Services<'_>,
    user: &User,
    notice: Option<&str>,
) -> Response {
    let (csrf, fresh) = csrf_token(state, req, services);
    let mut body = format!("<h1>Connected apps</h1><p>Signed in as <b>{}</b>.</p>", e(&user.name));
    if let Some(n) = notice {
        body.push_str(&format!("<p class=\"banner\" role=\"status\">{}</p>", e(n)));
    }
    let mine = match keys(services.store, &user_grant_prefix(&user.sub)).await {
        Ok(k) => k,
        Err(e) => return web::unavailable(&e.to_string()),
    };
    let mut rows = String::new();
    for key in mine {
        let Some(id) = key.rsplit(':').next() else { continue };
        // Pending grants (a code not yet exchanged) and revoked ones are not listed.
        if let Ok(Some(grant)) =
            get_json::<GrantRecord>(services.store, &GrantRecord::key(id)).await
        {
            if !grant.is_pending() {
                rows.push_str(&grant_row(state, services, &grant, &csrf).await);
            }
        }
    }
    body.push_str(if rows.is_empty() {
        "<p class=\"muted\">No app is connected with your account.</p>"
    } else {
        ""
    });
    if !rows.is_empty() {
        body.push_str(&format!("<ul class=\"plain\">{rows}</ul>"));
    }
    if user.scopes.iter().any(|s| s == SCOPE_ADMIN) {
        body.push_str(&admin_sections(state, services, &csrf).await);
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"/account\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"action\" value=\"signout\"><button class=\"secondary\" type=\"submit\">Sign out</button></form>",
        e(&csrf)
    ));
    let mut res = pages::layout(StatusCode::OK, "Connected apps", &body, "", "wide");
    if let Some(fresh) = fresh {
        set_cookie(&mut res, req, "mcp_edge_csrf", &fresh, 86400);
    }
    res
}

/// Every grant and every registered client, for an admin.
async fn admin_sections(state: &State, services: &Services<'_>, csrf: &str) -> String {
    let mut out = String::from("<h2>All grants (admin)</h2><ul class=\"plain\">");
    let mut people: Vec<(String, String)> = Vec::new();
    for key in keys(services.store, "grant:").await.unwrap_or_default() {
        if let Ok(Some(grant)) = get_json::<GrantRecord>(services.store, &key).await {
            if !grant.is_pending() {
                out.push_str(&grant_row(state, services, &grant, csrf).await);
                if !people.iter().any(|(sub, _)| *sub == grant.sub) {
                    let name = grant.name.clone().unwrap_or_else(|| grant.sub.clone());
                    people.push((grant.sub.clone(), name));
                }
            }
        }
    }
    out.push_str("</ul><h2>People (admin)</h2><ul class=\"plain\">");
    for (sub, name) in &people {
        out.push_str(&format!(
            "<li class=\"person\"><b>{}</b> <span class=\"muted\">({})</span>\
             <form method=\"post\" action=\"/account\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <input type=\"hidden\" name=\"action\" value=\"revoke_person\"><input type=\"hidden\" name=\"id\" value=\"{}\">\
             <button class=\"small secondary\" type=\"submit\">Revoke all their apps</button></form></li>",
            e(name),
            e(sub),
            e(csrf),
            e(sub),
        ));
    }
    out.push_str("</ul><h2>Registered clients (admin)</h2><ul class=\"plain\">");
    for key in keys(services.store, CLIENT_PREFIX).await.unwrap_or_default() {
        if let Ok(Some(c)) = get_json::<ClientRecord>(services.store, &key).await {
            out.push_str(&format!(
                "<li class=\"client\"><b>{}</b> <span class=\"muted\">({}) → {}</span>\
                 <form method=\"post\" action=\"/account\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
                 <input type=\"hidden\" name=\"action\" value=\"delete_client\"><input type=\"hidden\" name=\"id\" value=\"{}\">\
                 <button class=\"small secondary\" type=\"submit\">Delete</button></form></li>",
                e(c.client_name.as_deref().unwrap_or("Unnamed app")),
                e(&c.client_id),
                e(&c.redirect_hosts().join(", ")),
                e(csrf),
                e(&c.client_id),
            ));
        }
    }
    out.push_str("</ul>");
    out
}

fn sign_in_form(
    state: &State,
    req: &Request,
    services: &Services<'_>,
    error: Option<&str>,
) -> Response {
    let (csrf, fresh) = csrf_token(state, req, services);
    let error = error
        .map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", e(m)))
        .unwrap_or_default();
    // The password form while USERS has anyone, and a button per upstream provider.
    let passwords = if state.config.users.is_empty() {
        String::new()
    } else {
        format!(
            "<form method=\"post\" action=\"/account\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"action\" value=\"signin\">\
             <label for=\"u\">Username</label><input id=\"u\" type=\"text\" name=\"username\" autocomplete=\"username\" required>\
             <label for=\"p\">Password</label><input id=\"p\" type=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
             <div class=\"row\"><button type=\"submit\">Sign in</button></div></form>",
            e(&csrf)
        )
    };
    let providers = super::upstream::buttons(&state.config, None, &csrf);
    let body = format!(
        "<h1>Connected apps</h1><p>Sign in to see and revoke the apps you connected to this server.</p>{error}{passwords}{providers}"
    );
    let mut res = pages::layout(StatusCode::OK, "Connected apps", &body, "", "");
    if let Some(fresh) = fresh {
        set_cookie(&mut res, req, "mcp_edge_csrf", &fresh, 86400);
    }
    res
}

fn with_status(mut res: Response, status: StatusCode) -> Response {
    *res.status_mut() = status;
    res
}

/// 303 to `location` (after a form post).
fn see_other(location: &'static str) -> Response {
    let mut res = web::empty(StatusCode::SEE_OTHER);
    res.headers_mut().insert(http::header::LOCATION, HeaderValue::from_static(location));
    res.headers_mut().insert(http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
