//! The HTML pages a person sees: sign-in, consent and errors. Every dynamic value is escaped
//! (client names and URIs are attacker-controlled) and every page forbids framing.

use crate::web::{html_escape as e, respond, Response};
use http::{HeaderValue, StatusCode};

const STYLE: &str = "
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,Segoe UI,sans-serif;background:#f4f4f5;color:#18181b;display:flex;justify-content:center;padding:24px 12px}
main{background:#fff;max-width:420px;width:100%;padding:28px 24px;border-radius:12px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.3rem;margin:0 0 12px}p{margin:8px 0}.muted{color:#52525b;font-size:.9rem}
label{display:block;margin:14px 0 4px;font-weight:600}input[type=text],input[type=password]{width:100%;padding:10px;font-size:1rem;border:1px solid #a1a1aa;border-radius:8px}
.row{display:flex;gap:10px;margin-top:20px}button{flex:1;padding:11px;font-size:1rem;border-radius:8px;border:1px solid #18181b;background:#18181b;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#18181b}.error{background:#fef2f2;color:#991b1b;border:1px solid #fecaca;padding:10px;border-radius:8px}
.banner{background:#fffbeb;border:1px solid #fde68a;padding:8px;border-radius:8px;font-size:.85rem}ul{padding-left:20px}code{word-break:break-all}
ul.plain{list-style:none;padding:0}li.grant,li.client{border:1px solid #e4e4e7;border-radius:8px;padding:10px;margin:8px 0}li form{margin-top:8px}
main.wide{max-width:720px}pre{background:#f4f4f5;padding:10px;border-radius:8px;overflow-x:auto;white-space:pre-wrap;word-break:break-all;font-size:.85rem;margin:6px 0}
.copy{display:flex;gap:8px;align-items:center}.copy code,.copy pre{flex:1}button.small{flex:0 0 auto;padding:6px 12px;font-size:.9rem}h2{font-size:1.05rem;margin:22px 0 4px}
@media (prefers-color-scheme:dark){body{background:#18181b;color:#f4f4f5}main{background:#27272a}pre{background:#18181b}.muted{color:#a1a1aa}button.secondary{background:#27272a;color:#f4f4f5;border-color:#f4f4f5}}";

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    layout(status, title, body, "", "")
}

/// A page in the house style. `script` (inline, may be empty) is allowed by its hash alone;
/// `class` goes on `<main>` (`wide` for pages with code to copy).
pub(crate) fn layout(
    status: StatusCode,
    title: &str,
    body: &str,
    script: &str,
    class: &str,
) -> Response {
    let (script_tag, script_src) = if script.is_empty() {
        (String::new(), String::new())
    } else {
        use base64::Engine;
        use sha2::{Digest, Sha256};
        let hash =
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script.as_bytes()));
        (format!("<script>{script}</script>"), format!(" script-src 'sha256-{hash}';"))
    };
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body><main class=\"{class}\">{body}</main>{script_tag}</body></html>",
        e(title)
    );
    let mut res = respond(status, "text/html; charset=utf-8", html);
    let h = res.headers_mut();
    let csp = format!("default-src 'none'; style-src 'unsafe-inline'; img-src https: data:;{script_src} frame-ancestors 'none'; base-uri 'none'");
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert("content-security-policy", v);
    }
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert("cache-control", HeaderValue::from_static("no-store"));
    res
}

/// What the pages say about the client asking for access.
pub struct ClientView<'a> {
    pub name: &'a str,
    pub redirect_host: &'a str,
    /// The host publishing the client's metadata document, for clients identified by one.
    pub publisher: Option<&'a str>,
    /// Every redirect URI is loopback: whoever runs a program on the user's computer receives
    /// the code, so the name alone proves little.
    pub loopback_only: bool,
}

/// Where the client's identity comes from, and the loopback warning, for the consent page.
fn provenance(client: &ClientView) -> String {
    let mut out = String::new();
    if let Some(host) = client.publisher {
        out.push_str(&format!(
            "<p class=\"muted\">This application's details are published by <code>{}</code>.</p>",
            e(host)
        ));
        if client.loopback_only {
            out.push_str("<p class=\"error\" role=\"alert\">This application only returns to a program on this computer (a loopback address). Any program there could claim this name: allow only if you started this sign-in yourself.</p>");
        }
    }
    out
}

fn hidden(request: &str, csrf: &str) -> String {
    format!("<input type=\"hidden\" name=\"request\" value=\"{}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">", e(request), e(csrf))
}

/// The sign-in page. `others` is `(provider buttons, whether the password form is shown)`:
/// each configured upstream provider has a button, and `USERS` the username/password form.
pub fn sign_in(
    client: &ClientView,
    request: &str,
    csrf: &str,
    error: Option<&str>,
    dev: bool,
    others: (&str, bool),
) -> Response {
    let (providers, passwords) = others;
    let status = if error.is_some() { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
    let banner = if dev {
        "<p class=\"banner\">Development mode: demo users <b>alice</b>/alice (admin) and <b>bob</b>/bob.</p>"
    } else {
        ""
    };
    let error = error
        .map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", e(m)))
        .unwrap_or_default();
    let password_form = if passwords {
        format!(
            "<form method=\"post\" action=\"/authorize\">{}<input type=\"hidden\" name=\"action\" value=\"signin\">\
             <label for=\"username\">Username</label><input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" autocapitalize=\"none\" required autofocus>\
             <label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
             <div class=\"row\"><button type=\"submit\">Sign in</button></div></form>",
            hidden(request, csrf)
        )
    } else {
        String::new()
    };
    let body = format!(
        "<h1>Sign in</h1><p><b>{}</b> wants to connect to your MCP server.</p>{banner}{error}{password_form}{providers}\
         <p class=\"muted\">After sign-in you will be returned to <code>{}</code>.</p>",
        e(client.name), e(client.redirect_host)
    );
    page(status, "Sign in", &body)
}

pub fn consent(
    client: &ClientView,
    user: &str,
    granted: &[(&str, &str)],
    withheld: &[&str],
    request: &str,
    csrf: &str,
) -> Response {
    let items: String =
        granted.iter().map(|(s, d)| format!("<li><b>{}</b>: {}</li>", e(s), e(d))).collect();
    let withheld = if withheld.is_empty() {
        String::new()
    } else {
        format!("<p class=\"muted\">Not available to your account: {}</p>", e(&withheld.join(", ")))
    };
    let body = format!(
        "<h1>Allow access?</h1><p>Signed in as <b>{}</b>.</p><p><b>{}</b> will be able to:</p><ul>{items}</ul>{withheld}\
         <p class=\"muted\">You will be sent back to <code>{}</code>.</p>{}\
         <form method=\"post\" action=\"/authorize\">{}<div class=\"row\">\
         <button class=\"secondary\" type=\"submit\" name=\"action\" value=\"deny\">Deny</button>\
         <button type=\"submit\" name=\"action\" value=\"approve\">Allow</button></div></form>",
        e(user), e(client.name), e(client.redirect_host), provenance(client), hidden(request, csrf)
    );
    page(StatusCode::OK, "Allow access?", &body)
}

pub fn error(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!("<h1>{}</h1><p class=\"error\">{}</p><p class=\"muted\">Close this window and try connecting again from your app.</p>", e(title), e(message));
    page(status, title, &body)
}

/// A human description of each scope, for the consent page.
pub fn describe_scope(scope: &str) -> &'static str {
    match scope {
        "mcp" => "use this server's MCP tools as you",
        "admin" => "see the server's registered OAuth clients (administration)",
        _ => "an unknown permission",
    }
}
