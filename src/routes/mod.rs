//! The route table: which endpoint answers which path and method.

mod mcp;

use crate::app::App;
use crate::env::{Clock, Services};
use crate::metadata::{authorization_server, protected_resource};
use crate::oauth::{authorize, register, revoke, token};
use crate::web::{self, method_not_allowed, not_found, preflight, Request, Response};
use http::{Method, StatusCode};

const PRM: &str = "/.well-known/oauth-protected-resource";
const ASM: &str = "/.well-known/oauth-authorization-server";
const OIDC: &str = "/.well-known/openid-configuration";
const JWKS: &str = "/.well-known/jwks.json";

/// Answers every request whose response depends only on the request head and on what the
/// isolate holds in memory: discovery documents, JWKS, preflights, 404/405, and the MCP
/// endpoint's refusals (Host/Origin, missing or invalid bearer token). `None` means the request
/// needs its body or the store: [`route`] answers it.
///
/// On Workers this runs synchronously, before the body is read and without a `Promise`
/// (src/edge/entry.mjs), which is what makes these answers cheap.
pub fn route_now(app: &App, req: &Request, clock: &dyn Clock) -> Option<Response> {
    let path = req.uri().path();
    let mcp = app.config.mcp_path.as_str();
    let method = req.method();

    if path == mcp || path.strip_suffix('/') == Some(mcp) {
        return mcp::handle_now(app, req, &app.urls(req), clock);
    }

    // Discovery documents, at every location clients are known to probe (RFC 9728 §3.1,
    // RFC 8414 §3.1, and the variants the seed document lists).
    let under = |doc: &str| {
        path == doc || path.strip_prefix(doc) == Some(mcp) || path.strip_suffix(doc) == Some(mcp)
    };
    let document = if under(PRM) {
        Some(("prm", protected_resource::document as fn(&crate::app::Urls) -> serde_json::Value))
    } else if under(ASM) || under(OIDC) {
        Some(("asm", authorization_server::document as fn(&crate::app::Urls) -> serde_json::Value))
    } else {
        None
    };
    if let Some((kind, document)) = document {
        return Some(match *method {
            Method::GET | Method::HEAD => {
                crate::metadata::respond(app, &app.urls(req), kind, document)
            }
            Method::OPTIONS => preflight("GET, HEAD, OPTIONS"),
            _ => method_not_allowed("GET, HEAD, OPTIONS"),
        });
    }

    Some(match path {
        JWKS | "/jwks" => match *method {
            Method::GET | Method::HEAD => {
                let mut res = web::cors(web::json(StatusCode::OK, &app.keys.jwks()));
                res.headers_mut().insert(
                    http::header::CACHE_CONTROL,
                    http::HeaderValue::from_static("public, max-age=300"),
                );
                res
            }
            Method::OPTIONS => preflight("GET, HEAD, OPTIONS"),
            _ => method_not_allowed("GET, HEAD, OPTIONS"),
        },
        "/authorize" => match *method {
            Method::GET | Method::HEAD | Method::POST => return None,
            _ => method_not_allowed("GET, HEAD, POST"),
        },
        "/token" | "/register" | "/revoke" => match *method {
            Method::POST => return None,
            Method::OPTIONS => preflight("POST, OPTIONS"),
            _ => method_not_allowed("POST, OPTIONS"),
        },
        "/" => match *method {
            Method::GET | Method::HEAD => {
                let urls = app.urls(req);
                web::json(
                    StatusCode::OK,
                    &serde_json::json!({
                        "name": "mcp-edge",
                        "mcp_endpoint": urls.resource,
                        "protected_resource_metadata": urls.resource_metadata,
                        "authorization_server_metadata": format!("{}{ASM}", urls.origin),
                    }),
                )
            }
            _ => method_not_allowed("GET, HEAD"),
        },
        _ => not_found(),
    })
}

/// Answers what [`route_now`] left: the endpoints that read the body or the store.
pub async fn route(app: &App, req: Request, services: &Services<'_>) -> Response {
    let path = req.uri().path();
    let mcp = app.config.mcp_path.as_str();
    let urls = app.urls(&req);
    if path == mcp || path.strip_suffix('/') == Some(mcp) {
        return mcp::handle(app, &app.server, req, services, &urls).await;
    }
    match (path, req.method().clone()) {
        ("/authorize", Method::GET | Method::HEAD) => {
            authorize::get(app, &req, services, &urls).await
        }
        ("/authorize", Method::POST) => authorize::post(app, &req, services, &urls).await,
        ("/token", Method::POST) => token::post(app, &req, services, &urls).await,
        ("/register", Method::POST) => register::post(app, &req, services).await,
        ("/revoke", Method::POST) => revoke::post(app, &req, services).await,
        // Everything else was answered by `route_now`.
        _ => not_found(),
    }
}
