//! rmcp's OAuth client end to end: `rmcp-oauth-e2e <mcp endpoint url> [user] [lifecycle flag]`.
//! Its AuthorizationManager discovers the metadata from the 401 challenge, registers the client
//! (RFC 7591), builds the PKCE authorization URL; a scripted sign-in (plain HTTP with our forms)
//! stands in for the browser; then rmcp's authorized Streamable HTTP transport calls the tools.
//! Prints one JSON line with what it saw (including the negotiated protocol version); exits
//! non-zero naming the failing step.
//!
//! The lifecycle flag picks how rmcp opens the connection:
//! - `--legacy` (default): `().serve(transport)`, the `initialize` handshake rmcp uses unless told
//!   otherwise (it offers its LATEST, 2026-07-28, in `initialize`; the server answers with a
//!   session revision).
//! - `--pin <version>`: `ClientLifecycleMode::Discover` with only that version: `server/discover`,
//!   then stateless requests with the per-request `_meta` envelope; no fallback. The client
//!   declares elicitation and answers every form with `{"location": "Lisbon"}`, and also calls
//!   `get_vibe` without a location (a multi-round trip rmcp drives through its handler).
//! - `--auto`: `ClientLifecycleMode::Auto` preferring 2026-07-28, falling back to 2025-11-25.
//!
//! The report's `wire` lists what rmcp put on each POST to the MCP endpoint (JSON-RPC method,
//! the 2026-07-28 standard headers, whether a session id went along, the `_meta` envelope), as
//! recorded under rmcp's AuthClient.

use futures::stream::BoxStream;
use reqwest::header::{HeaderName, HeaderValue};
use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, ClientJsonRpcMessage,
    ElicitRequestParams, ElicitResult, ElicitationAction, Implementation, ProtocolVersion,
};
use rmcp::service::{
    ClientLifecycleMode, ClientServiceExt, RequestContext, RoleClient, RunningService,
};
use rmcp::transport::auth::{AuthClient, AuthorizationRequest, OAuthState};
use rmcp::transport::streamable_http_client::{
    StreamableHttpClient, StreamableHttpClientTransportConfig, StreamableHttpError,
    StreamableHttpPostResponse, StreamableHttpResponseLimits,
};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{ClientHandler, ErrorData, ServiceExt};
use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

const REDIRECT: &str = "http://127.0.0.1:1/callback";

/// How the client opens the MCP connection (see the module docs).
#[derive(Clone, Debug)]
enum Lifecycle {
    Legacy,
    Pin(String),
    Auto,
}

impl Lifecycle {
    fn name(&self) -> String {
        match self {
            Lifecycle::Legacy => "legacy".into(),
            Lifecycle::Pin(v) => format!("pin {v}"),
            Lifecycle::Auto => "auto".into(),
        }
    }
}

/// A client that declares elicitation and answers every form with a place, keeping what it
/// was asked.
#[derive(Clone)]
struct Elicitor {
    info: ClientConfig,
    asked: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Elicitor {
    fn new() -> Result<Self, String> {
        let capabilities: ClientCapabilities =
            serde_json::from_value(serde_json::json!({ "elicitation": {} }))
                .map_err(|e| format!("capabilities: {e}"))?;
        Ok(Self {
            info: ClientConfig::new(capabilities, Implementation::new("rmcp-oauth-e2e", "0.0.0")),
            asked: Arc::default(),
        })
    }
}

impl ClientHandler for Elicitor {
    fn get_info(&self) -> ClientConfig {
        self.info.clone()
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        let seen = serde_json::to_value(&request).unwrap_or_default();
        self.asked.lock().map_err(|_| ErrorData::internal_error("poisoned", None))?.push(seen);
        Ok(ElicitResult::new(ElicitationAction::Accept)
            .with_content(serde_json::json!({ "location": "Lisbon" })))
    }
}

/// rmcp's HTTP client (reqwest) under its AuthClient, recording every message posted.
#[derive(Clone)]
struct Recording {
    inner: reqwest::Client,
    wire: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Recording {
    fn record(
        &self,
        message: &ClientJsonRpcMessage,
        session_id: &Option<Arc<str>>,
        headers: &HashMap<HeaderName, HeaderValue>,
    ) {
        let v = serde_json::to_value(message).unwrap_or_default();
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.as_str().eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.to_str().ok())
                .map(str::to_owned)
        };
        let entry = serde_json::json!({
            "method": v.get("method"),
            "id": v.get("id"),
            "mcp_protocol_version": header("mcp-protocol-version"),
            "mcp_method": header("mcp-method"),
            "mcp_name": header("mcp-name"),
            "session": session_id.is_some(),
            "params_protocol_version": v.pointer("/params/protocolVersion"),
            "meta_protocol_version": v.pointer("/params/_meta/io.modelcontextprotocol~1protocolVersion"),
            "meta_client_capabilities": v.pointer("/params/_meta/io.modelcontextprotocol~1clientCapabilities"),
            "arguments": v.pointer("/params/arguments"),
            "input_responses": v.pointer("/params/inputResponses"),
            "request_state": v.pointer("/params/requestState"),
        });
        if let Ok(mut wire) = self.wire.lock() {
            wire.push(entry);
        }
    }
}

impl StreamableHttpClient for Recording {
    type Error = <reqwest::Client as StreamableHttpClient>::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        self.record(&message, &session_id, &custom_headers);
        self.inner.post_message(uri, message, session_id, auth_header, custom_headers).await
    }

    async fn post_message_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        self.record(&message, &session_id, &custom_headers);
        self.inner
            .post_message_with_max_sse_event_size(
                uri,
                message,
                session_id,
                auth_header,
                custom_headers,
                max_sse_event_size,
            )
            .await
    }

    async fn post_message_with_response_limits(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        self.record(&message, &session_id, &custom_headers);
        self.inner
            .post_message_with_response_limits(
                uri,
                message,
                session_id,
                auth_header,
                custom_headers,
                limits,
            )
            .await
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), StreamableHttpError<Self::Error>> {
        self.inner.delete_session(uri, session_id, auth_header, custom_headers).await
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<
        BoxStream<'static, Result<sse_stream::Sse, sse_stream::Error>>,
        StreamableHttpError<Self::Error>,
    > {
        self.inner.get_stream(uri, session_id, last_event_id, auth_header, custom_headers).await
    }

    async fn get_stream_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<
        BoxStream<'static, Result<sse_stream::Sse, sse_stream::Error>>,
        StreamableHttpError<Self::Error>,
    > {
        self.inner
            .get_stream_with_max_sse_event_size(
                uri,
                session_id,
                last_event_id,
                auth_header,
                custom_headers,
                max_sse_event_size,
            )
            .await
    }
}

fn parse_args() -> Result<(String, String, Lifecycle), String> {
    let mut positional = Vec::new();
    let mut lifecycle = Lifecycle::Legacy;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--pin" => {
                lifecycle = Lifecycle::Pin(args.next().ok_or("--pin needs a protocol version")?)
            }
            "--auto" => lifecycle = Lifecycle::Auto,
            "--legacy" => lifecycle = Lifecycle::Legacy,
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            _ => positional.push(a),
        }
    }
    let mut positional = positional.into_iter();
    let url = positional.next().ok_or("missing the MCP endpoint URL")?;
    let user = positional.next().unwrap_or_else(|| "alice".into());
    Ok((url, user, lifecycle))
}

#[tokio::main]
async fn main() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (url, user, lifecycle) = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}\nusage: rmcp-oauth-e2e <mcp endpoint url> [user] [--legacy | --pin <version> | --auto]");
            return ExitCode::from(2);
        }
    };
    match run(&url, &user, &lifecycle).await {
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

async fn run(url: &str, user: &str, lifecycle: &Lifecycle) -> Result<serde_json::Value, String> {
    let step = |name: &'static str| move |e: &dyn std::fmt::Display| format!("{name}: {e}");

    // 1. The challenge a real client gets first.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| step("http client")(&e))?;
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
        .ok_or_else(|| {
            format!("unauthenticated probe: {} without WWW-Authenticate", probe.status())
        })?
        .to_owned();

    // 2. rmcp: discovery from the challenge, dynamic registration, PKCE authorization URL.
    let mut oauth = OAuthState::new(url, None).await.map_err(|e| step("OAuthState::new")(&e))?;
    oauth
        .start_authorization(
            AuthorizationRequest::new(REDIRECT)
                .with_client_name("rmcp e2e")
                .with_challenge(challenge),
        )
        .await
        .map_err(|e| step("start_authorization (discovery + registration)")(&e))?;
    let auth_url =
        oauth.get_authorization_url().await.map_err(|e| step("authorization URL")(&e))?;

    // 3. Scripted sign-in and consent through our pages.
    let callback =
        sign_in(&http, &auth_url, user).await.map_err(|e| format!("scripted sign-in: {e}"))?;

    // 4. rmcp: code exchange (checks state and iss), then the authorized transport.
    oauth
        .handle_callback_url(&callback)
        .await
        .map_err(|e| step("handle_callback_url (token exchange)")(&e))?;
    let manager = oauth.into_authorization_manager().ok_or("authorization did not complete")?;
    let wire = Arc::new(Mutex::new(Vec::new()));
    let client = AuthClient::new(
        Recording { inner: reqwest::Client::default(), wire: wire.clone() },
        manager,
    );
    let transport = StreamableHttpClientTransport::with_client(
        client,
        StreamableHttpClientTransportConfig::with_uri(url),
    );
    let mut report = match lifecycle {
        Lifecycle::Legacy => {
            let service = ().serve(transport).await.map_err(|e| step("initialize")(&e))?;
            let report = exercise(&service, lifecycle).await?;
            let _ = service.cancel().await;
            report
        }
        Lifecycle::Pin(version) => {
            let elicitor = Elicitor::new()?;
            let asked = elicitor.asked.clone();
            let mode =
                ClientLifecycleMode::Discover { preferred_versions: vec![parse_version(version)?] };
            let service = elicitor
                .serve_with_lifecycle(transport, mode)
                .await
                .map_err(|e| step("server/discover (pinned)")(&e))?;
            let mut report = exercise(&service, lifecycle).await?;
            // get_vibe without a location: the server answers input_required with an elicitation;
            // rmcp's call_tool fulfils it through the handler and retries.
            let result = service
                .call_tool(
                    CallToolRequestParams::new("get_vibe").with_arguments(serde_json::Map::new()),
                )
                .await
                .map_err(|e| {
                    step("tools/call get_vibe without a location (multi-round trip)")(&e)
                })?;
            report["get_vibe_elicited"] =
                serde_json::to_value(&result.content).map_err(|e| step("result")(&e))?;
            report["elicitations"] =
                serde_json::Value::Array(asked.lock().map_err(|_| "poisoned")?.clone());
            let _ = service.cancel().await;
            report
        }
        Lifecycle::Auto => {
            let mode = ClientLifecycleMode::Auto {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
                legacy_version: Some(ProtocolVersion::V_2025_11_25),
            };
            let service =
                ().serve_with_lifecycle(transport, mode)
                    .await
                    .map_err(|e| step("server/discover (auto)")(&e))?;
            let report = exercise(&service, lifecycle).await?;
            let _ = service.cancel().await;
            report
        }
    };
    report["authorization_url"] = serde_json::Value::String(auth_url);
    report["wire"] = serde_json::Value::Array(wire.lock().map_err(|_| "poisoned")?.clone());
    Ok(report)
}

fn parse_version(v: &str) -> Result<ProtocolVersion, String> {
    serde_json::from_value(serde_json::Value::String(v.to_owned()))
        .map_err(|e| format!("protocol version {v}: {e}"))
}

/// What every lifecycle does once connected: the negotiated version, tools/list, echo, get_vibe
/// with a location and list_clients.
async fn exercise<S: rmcp::Service<RoleClient>>(
    service: &RunningService<RoleClient, S>,
    lifecycle: &Lifecycle,
) -> Result<serde_json::Value, String> {
    let step = |name: &'static str| move |e: &dyn std::fmt::Display| format!("{name}: {e}");
    let peer = service.peer_info().ok_or("no server info after connecting")?;
    let tools = service.list_all_tools().await.map_err(|e| step("tools/list")(&e))?;
    let call = |name: &'static str, args: serde_json::Value| async move {
        let args = args.as_object().cloned().unwrap_or_default();
        let result = service
            .call_tool(CallToolRequestParams::new(name).with_arguments(args))
            .await
            .map_err(|e| format!("tools/call {name}: {e}"))?;
        serde_json::to_value(&result.content).map_err(|e| format!("tools/call {name} result: {e}"))
    };
    let echo = call("echo", serde_json::json!({ "message": "hello from rmcp" })).await?;
    let get_vibe = call("get_vibe", serde_json::json!({ "location": "Lisbon" })).await?;
    // Needs the admin scope: the result for alice, the refusal for bob (not a failure here).
    let list_clients = match call("list_clients", serde_json::json!({})).await {
        Ok(content) => serde_json::json!({ "content": content }),
        Err(e) => serde_json::json!({ "error": e }),
    };
    Ok(serde_json::json!({
        "lifecycle": lifecycle.name(),
        "protocol_version": peer.protocol_version.as_str(),
        "server_info": peer.server_info,
        "tools": tools.iter().map(|t| t.name.to_string()).collect::<Vec<_>>(),
        "echo": echo,
        "get_vibe": get_vibe,
        "list_clients": list_clients,
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
        vec![
            ("request", field(&html, "request")?),
            ("csrf", field(&html, "csrf")?),
            ("action", "signin".into()),
            ("username", user.into()),
            ("password", user.into()),
        ],
        cookies.clone(),
    )
    .await
    .map_err(|e| e.to_string())?;
    cookies = cookies_of(&signed, &cookies);
    let html = signed.text().await.map_err(|e| e.to_string())?;
    let approved = post(
        vec![
            ("request", field(&html, "request")?),
            ("csrf", field(&html, "csrf")?),
            ("action", "approve".into()),
        ],
        cookies,
    )
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
    let start =
        html.find(&marker).ok_or_else(|| format!("no {name} field on the page"))? + marker.len();
    let end = html[start..].find('"').ok_or("unterminated field")? + start;
    Ok(html[start..end].replace("&quot;", "\"").replace("&amp;", "&"))
}

fn cookies_of(res: &reqwest::Response, previous: &str) -> String {
    let mut jar: Vec<String> =
        previous.split("; ").filter(|c| !c.is_empty()).map(str::to_owned).collect();
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
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
