//! rmcp's OAuth client end to end: `rmcp-oauth-e2e <mcp endpoint url> <user>`.
//! Its AuthorizationManager discovers the metadata from the 401 challenge, registers the client
//! (RFC 7591), builds the PKCE authorization URL; a scripted sign-in (plain HTTP with our forms)
//! stands in for the browser; then rmcp's authorized Streamable HTTP transport calls `get_vibe`.
//! Prints one JSON line with what it saw; exits non-zero naming the failing step.

use rmcp::model::CallToolRequestParams;
use rmcp::transport::auth::{AuthClient, AuthorizationRequest, OAuthState};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::ServiceExt;
use std::process::ExitCode;

const REDIRECT: &str = "http://127.0.0.1:1/callback";

#[tokio::main]
async fn main() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut args = std::env::args().skip(1);
    let (Some(url), user) = (args.next(), args.next().unwrap_or_else(|| "alice".into())) else {
        eprintln!("usage: rmcp-oauth-e2e <mcp endpoint url> [user]");
        return ExitCode::from(2);
    };
    match run(&url, &user).await {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rmcp: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(url: &str, user: &str) -> Result<serde_json::Value, String> {
    let step = |name: &'static str| move |e: &dyn std::fmt::Display| format!("{name}: {e}");

    // 1. The challenge a real client gets first.
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().map_err(|e| step("http client")(&e))?;
    let probe = http
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(r#"{"jsonrpc":"2.0","id":0,"method":"ping"}"#)
        .send()
        .await
        .map_err(|e| step("unauthenticated probe")(&e))?;
    let challenge = probe
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| format!("unauthenticated probe: {} without WWW-Authenticate", probe.status()))?
        .to_owned();

    // 2. rmcp: discovery from the challenge, dynamic registration, PKCE authorization URL.
    let mut oauth = OAuthState::new(url, None).await.map_err(|e| step("OAuthState::new")(&e))?;
    oauth
        .start_authorization(AuthorizationRequest::new(REDIRECT).with_client_name("rmcp e2e").with_challenge(challenge))
        .await
        .map_err(|e| step("start_authorization (discovery + registration)")(&e))?;
    let auth_url = oauth.get_authorization_url().await.map_err(|e| step("authorization URL")(&e))?;

    // 3. Scripted sign-in and consent through our pages.
    let callback = sign_in(&http, &auth_url, user).await.map_err(|e| format!("scripted sign-in: {e}"))?;

    // 4. rmcp: code exchange (checks state and iss), then the authorized transport.
    oauth.handle_callback_url(&callback).await.map_err(|e| step("handle_callback_url (token exchange)")(&e))?;
    let manager = oauth.into_authorization_manager().ok_or("authorization did not complete")?;
    let client = AuthClient::new(reqwest::Client::default(), manager);
    let transport = StreamableHttpClientTransport::with_client(client, StreamableHttpClientTransportConfig::with_uri(url));
    let service = ().serve(transport).await.map_err(|e| step("initialize")(&e))?;
    let tools = service.list_all_tools().await.map_err(|e| step("tools/list")(&e))?;
    let args = serde_json::json!({ "location": "Lisbon" }).as_object().cloned().unwrap_or_default();
    let result = service
        .call_tool(CallToolRequestParams::new("get_vibe").with_arguments(args))
        .await
        .map_err(|e| step("tools/call get_vibe")(&e))?;
    let text = serde_json::to_value(&result.content).map_err(|e| step("result")(&e))?;
    let _ = service.cancel().await;
    Ok(serde_json::json!({
        "authorization_url": auth_url,
        "tools": tools.iter().map(|t| t.name.to_string()).collect::<Vec<_>>(),
        "get_vibe": text,
    }))
}

/// GET the authorization URL, sign in with the demo password, approve; returns the redirect.
async fn sign_in(http: &reqwest::Client, auth_url: &str, user: &str) -> Result<String, String> {
    let page = http.get(auth_url).send().await.map_err(|e| e.to_string())?;
    let mut cookies = cookies_of(&page, "");
    let html = page.text().await.map_err(|e| e.to_string())?;
    let origin = auth_url.split("/authorize").next().unwrap_or_default().to_owned();
    let post = |fields: Vec<(&str, String)>, cookies: String| {
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
        http.post(format!("{origin}/authorize"))
            .header("cookie", cookies)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.join("&"))
            .send()
    };
    let signed = post(
        vec![("request", field(&html, "request")?), ("csrf", field(&html, "csrf")?), ("action", "signin".into()), ("username", user.into()), ("password", user.into())],
        cookies.clone(),
    )
    .await
    .map_err(|e| e.to_string())?;
    cookies = cookies_of(&signed, &cookies);
    let html = signed.text().await.map_err(|e| e.to_string())?;
    let approved = post(vec![("request", field(&html, "request")?), ("csrf", field(&html, "csrf")?), ("action", "approve".into())], cookies)
        .await
        .map_err(|e| e.to_string())?;
    approved
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| format!("approve answered {} without a redirect", approved.status()))
}

fn field(html: &str, name: &str) -> Result<String, String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).ok_or_else(|| format!("no {name} field on the page"))? + marker.len();
    let end = html[start..].find('"').ok_or("unterminated field")? + start;
    Ok(html[start..end].replace("&quot;", "\"").replace("&amp;", "&"))
}

fn cookies_of(res: &reqwest::Response, previous: &str) -> String {
    let mut jar: Vec<String> = previous.split("; ").filter(|c| !c.is_empty()).map(str::to_owned).collect();
    for v in res.headers().get_all("set-cookie") {
        if let Some(pair) = v.to_str().ok().and_then(|s| s.split(';').next()) {
            let name = pair.split('=').next().unwrap_or_default();
            jar.retain(|c| !c.starts_with(&format!("{name}=")));
            jar.push(pair.to_owned());
        }
    }
    jar.join("; ")
}

/// Percent-encodes a form value (RFC 3986 unreserved characters kept).
fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
