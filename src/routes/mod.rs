//! The route table: which endpoint answers which path and method.

mod mcp;

use crate::app::App;
use crate::env::Services;
use crate::metadata::{authorization_server, protected_resource};
use crate::oauth::{authorize, register, revoke, token};
use crate::web::{self, method_not_allowed, not_found, preflight, Request, Response};
use http::{Method, StatusCode};

const PRM: &str = "/.well-known/oauth-protected-resource";
const ASM: &str = "/.well-known/oauth-authorization-server";
const OIDC: &str = "/.well-known/openid-configuration";
const JWKS: &str = "/.well-known/jwks.json";

pub async fn route(app: &App, req: Request, services: &Services<'_>) -> Response {
    let path = req.uri().path();
    let mcp = app.config.mcp_path.as_str();
    let urls = app.urls(&req);
    let method = req.method();

    if path == mcp || path.strip_suffix('/') == Some(mcp) {
        return mcp::handle(app, &app.server, req, services, &urls).await;
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
        return match *method {
            Method::GET | Method::HEAD => crate::metadata::respond(app, &urls, kind, document),
            Method::OPTIONS => preflight("GET, HEAD, OPTIONS"),
            _ => method_not_allowed("GET, HEAD, OPTIONS"),
        };
    }

    match path {
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
            Method::GET | Method::HEAD => authorize::get(app, &req, services, &urls).await,
            Method::POST => authorize::post(app, &req, services, &urls).await,
            _ => method_not_allowed("GET, HEAD, POST"),
        },
        "/token" => match *method {
            Method::POST => token::post(app, &req, services, &urls).await,
            Method::OPTIONS => preflight("POST, OPTIONS"),
            _ => method_not_allowed("POST, OPTIONS"),
        },
        "/register" => match *method {
            Method::POST => register::post(app, &req, services).await,
            Method::OPTIONS => preflight("POST, OPTIONS"),
            _ => method_not_allowed("POST, OPTIONS"),
        },
        "/revoke" => match *method {
            Method::POST => revoke::post(app, &req, services).await,
            Method::OPTIONS => preflight("POST, OPTIONS"),
            _ => method_not_allowed("POST, OPTIONS"),
        },
        "/" => match *method {
            Method::GET | Method::HEAD => web::json(
                StatusCode::OK,
                &serde_json::json!({
                    "name": "mcp-edge",
                    "mcp_endpoint": urls.resource,
                    "protected_resource_metadata": urls.resource_metadata,
                    "authorization_server_metadata": format!("{}{ASM}", urls.origin),
                }),
            ),
            _ => method_not_allowed("GET, HEAD"),
        },
        _ => not_found(),
    }
}
