//! The route table: which endpoint answers which path and method.

use crate::app::App;
use crate::env::Services;
use crate::metadata::{authorization_server, protected_resource};
use crate::web::{self, method_not_allowed, not_found, preflight, Request, Response};
use http::Method;

const PRM: &str = "/.well-known/oauth-protected-resource";
const ASM: &str = "/.well-known/oauth-authorization-server";
const OIDC: &str = "/.well-known/openid-configuration";

pub async fn route(app: &App, req: Request, services: &Services<'_>) -> Response {
    let _ = services;
    let path = req.uri().path().to_owned();
    let mcp = app.config.mcp_path.as_str();
    let method = req.method().clone();
    let urls = app.urls(&req);

    // Discovery documents, at every location clients are known to probe.
    let is_prm = path == PRM || path == format!("{PRM}{mcp}") || path == format!("{mcp}{PRM}");
    let is_asm = [ASM, OIDC]
        .iter()
        .any(|d| path == *d || path == format!("{d}{mcp}") || path == format!("{mcp}{d}"));
    if is_prm || is_asm || path == "/.well-known/jwks.json" {
        return match method {
            Method::GET | Method::HEAD => {
                if is_prm {
                    protected_resource::get(&urls)
                } else if is_asm {
                    authorization_server::get(&urls)
                } else {
                    web::cors(web::json(http::StatusCode::OK, &app.keys.jwks()), "")
                }
            }
            Method::OPTIONS => preflight("GET, HEAD, OPTIONS"),
            _ => method_not_allowed("GET, HEAD, OPTIONS"),
        };
    }
    not_found()
}
