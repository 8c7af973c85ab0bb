//! `GET /`: the front page. A browser gets a page that names the server, shows the MCP endpoint
//! with a copy button, what to paste into each client (filled in with this deployment's URL),
//! and which sign-in methods are configured; every other client gets the endpoint list as JSON.

use crate::config::Mode;
use crate::oauth::pages;
use crate::state::State;
use crate::urls::Urls;
use crate::web::{self, html_escape as e, request_header, Request, Response};
use http::StatusCode;

/// Copies the text of the element a button names (`data-copy`), with a fallback for browsers
/// without the async clipboard.
const COPY_SCRIPT: &str = "document.querySelectorAll('button[data-copy]').forEach(function(b){b.addEventListener('click',function(){var t=document.getElementById(b.getAttribute('data-copy')).textContent;var done=function(){b.textContent='Copied';setTimeout(function(){b.textContent='Copy'},1500)};if(navigator.clipboard&&window.isSecureContext){navigator.clipboard.writeText(t).then(done)}else{var a=document.createElement('textarea');a.value=t;document.body.appendChild(a);a.select();document.execCommand('copy');a.remove();done()}})})";

/// Does the request prefer HTML (a browser) over JSON?
fn wants_html(req: &Request) -> bool {
    let accept = request_header(req, "accept").unwrap_or("");
    web::media_types(accept)
        .find(|m| m.eq_ignore_ascii_case("text/html") || m.eq_ignore_ascii_case(web::JSON))
        .is_some_and(|m| m.eq_ignore_ascii_case("text/html"))
}

pub(super) fn get(state: &State, req: &Request, urls: &Urls) -> Response {
    if !wants_html(req) {
        return web::json(
            StatusCode::OK,
            &serde_json::json!({
                "name": "mcp-edge",
                "mcp_endpoint": urls.resource,
                "protected_resource_metadata": urls.resource_metadata,
                "authorization_server_metadata": format!("{}/.well-known/oauth-authorization-server", urls.origin),
            }),
        );
    }
    let url = e(&urls.resource);
    let users = state.config.users.len();
    let mut methods = format!(
        "<li>Username and password ({users} user{})</li>",
        if users == 1 { "" } else { "s" }
    );
    if state.config.mode != Mode::Production {
        methods.push_str("<li class=\"banner\">Development settings: demo users <b>alice</b>/alice (admin) and <b>bob</b>/bob. Only answers on localhost.</li>");
    }
    let snippet = |id: &str, text: &str| {
        format!("<div class=\"copy\"><pre id=\"{id}\">{}</pre><button class=\"small\" type=\"button\" data-copy=\"{id}\">Copy</button></div>", e(text))
    };
    let raw = &urls.resource;
    let clients = [
        ("claude.ai and Claude Desktop (custom connector)", "Settings → Connectors → Add custom connector, then paste the URL. Leave the OAuth client id empty.", snippet("c-claude", raw)),
        ("ChatGPT (developer mode)", "Settings → Connectors → Create; URL below, authentication OAuth.", snippet("c-chatgpt", raw)),
        ("Claude Code", "Run this, then <code>/mcp</code> in Claude Code to sign in.", snippet("c-code", &format!("claude mcp add --transport http mcp-edge {raw}"))),
        ("VS Code", "Add to <code>.vscode/mcp.json</code> (or the user <code>mcp.json</code>):", snippet("c-vscode", &format!("{{\"servers\": {{\"mcp-edge\": {{\"type\": \"http\", \"url\": \"{raw}\"}}}}}}"))),
        ("MCP Inspector", "Run <code>npx @modelcontextprotocol/inspector</code>, choose Streamable HTTP, paste the URL, Connect.", snippet("c-inspector", raw)),
        ("Claude Desktop through mcp-remote", "In <code>claude_desktop_config.json</code>:", snippet("c-remote", &format!("{{\"mcpServers\": {{\"mcp-edge\": {{\"command\": \"npx\", \"args\": [\"mcp-remote\", \"{raw}\"]}}}}}}"))),
        ("Local tools for Claude Desktop (stdio)", "Build <code>cargo build --release -p local-stdio</code>, then in <code>claude_desktop_config.json</code>:", snippet("c-stdio", "{\"mcpServers\": {\"local-tools\": {\"command\": \"/path/to/target/release/local-stdio\", \"args\": [\"mcp\"]}}}")),
    ];
    let mut body = format!(
        "<h1>mcp-edge</h1><p>A remote MCP server with its own sign-in. Give your MCP client this endpoint:</p>\
         <div class=\"copy\"><code id=\"endpoint\">{url}</code><button class=\"small\" type=\"button\" data-copy=\"endpoint\">Copy</button></div>\
         <h2>Sign-in</h2><ul>{methods}</ul><h2>Connect a client</h2>"
    );
    for (name, how, snippet) in clients {
        body.push_str(&format!("<h2>{}</h2><p class=\"muted\">{how}</p>{snippet}", e(name)));
    }
    body.push_str("<p class=\"muted\">Discovery, registration and sign-in are automatic. Problems? Run <code>make doctor URL=…</code> from the repository.</p>");
    let mut res = pages::layout(StatusCode::OK, "mcp-edge", &body, COPY_SCRIPT, "wide");
    res.headers_mut().insert(http::header::VARY, http::HeaderValue::from_static("accept"));
    res
}
