//! The route table: which endpoint answers which path and method, in two phases (see
//! [`crate::app`]): [`route_now`] from the request head, [`route`] with the body and the store.

mod home;
mod mcp;

use crate::cold::boxed;
use crate::env::{Clock, Services};
use crate::mcp::server::Server;
use crate::metadata::{self, authorization_server, protected_resource};
#[cfg(feature = "upstream")]
use crate::oauth::callback;
use crate::oauth::{account, authorize, register, revoke, token};
use crate::state::State;
use crate::urls::Urls;
use crate::web::{self, method_not_allowed, not_found, preflight, Reply, Request, Response};
use http::{Method, StatusCode};

/// What phase 1 decided about a request.
pub enum Step {
    /// The whole answer.
    Answer(Response),
    /// Phase 2 must read the body or the store; this is what phase 1 checked.
    Continue(Head),
}

impl Step {
    /// The answer, if phase 1 gave one.
    pub fn answer(self) -> Option<Response> {
        match self {
            Step::Answer(res) => Some(res),
            Step::Continue(_) => None,
        }
    }
}

/// What phase 1 established, carried with the request into phase 2.
#[derive(Debug, PartialEq)]
pub struct Head {
    urls: Urls,
    endpoint: Endpoint,
}

#[derive(Debug, PartialEq)]
enum Endpoint {
    Mcp(Box<mcp::Checked>),
    Home,
    AccountGet,
    AccountPost,
    AuthorizeGet,
    AuthorizePost,
    #[cfg(feature = "upstream")]
    UpstreamCallback,
    Token,
    Register,
    Revoke,
}

const PRM: &str = "/.well-known/oauth-protected-resource";
const ASM: &str = "/.well-known/oauth-authorization-server";
const OIDC: &str = "/.well-known/openid-configuration";
const JWKS: &str = "/.well-known/jwks.json";

/// Answers every request whose response depends only on the request head and on what the
/// isolate holds in memory: discovery documents, JWKS, preflights, 404/405, and the MCP
/// endpoint's refusals (Host/Origin, missing or invalid bearer token). Otherwise the request
/// needs its body or the store: [`route`] answers it with the returned [`Head`].
///
/// On Workers this runs synchronously, before the body is read and without a `Promise`
/// (engine/src/edge/entry.mjs), which is what makes these answers cheap.
pub fn route_now(state: &State, req: &Request, clock: &dyn Clock) -> Step {
    let path = req.uri().path();
    let mcp = state.config.mcp_path.as_str();
    let method = req.method();
    let urls = || Urls::for_request(state.config.public_base_url.as_deref(), mcp, req);
    let answer = Step::Answer;
    let next = |endpoint| Step::Continue(Head { urls: urls(), endpoint });

    if path == mcp || path.strip_suffix('/') == Some(mcp) {
        let urls = urls();
        return match mcp::handle_now(state, req, &urls, clock) {
            Ok(checked) => {
                Step::Continue(Head { urls, endpoint: Endpoint::Mcp(Box::new(checked)) })
            }
            Err(res) => answer(*res),
        };
    }

    // Discovery documents, at every location clients are known to probe (RFC 9728 §3.1,
    // RFC 8414 §3.1, and the variants the seed document lists).
    let under = |doc: &str| {
        path == doc || path.strip_prefix(doc) == Some(mcp) || path.strip_suffix(doc) == Some(mcp)
    };
    let document: Option<(&str, metadata::Document)> = if under(PRM) {
        Some(("prm", protected_resource::document))
    } else if under(ASM) || under(OIDC) {
        Some(("asm", authorization_server::document))
    } else {
        None
    };
    if let Some((kind, document)) = document {
        return answer(match *method {
            Method::GET | Method::HEAD => metadata::respond(state, &urls(), kind, document),
            Method::OPTIONS => preflight("GET, HEAD, OPTIONS"),
            _ => method_not_allowed("GET, HEAD, OPTIONS"),
        });
    }

    answer(match (path, method.clone()) {
        (JWKS | "/jwks", Method::GET | Method::HEAD) => {
            let mut res = web::cors(web::json(StatusCode::OK, &state.keys.jwks()));
            res.headers_mut().insert(
                http::header::CACHE_CONTROL,
                http::HeaderValue::from_static("public, max-age=300"),
            );
            res
        }
        (JWKS | "/jwks", Method::OPTIONS) => preflight("GET, HEAD, OPTIONS"),
        (JWKS | "/jwks", _) => method_not_allowed("GET, HEAD, OPTIONS"),
        ("/authorize", Method::GET | Method::HEAD) => return next(Endpoint::AuthorizeGet),
        ("/authorize", Method::POST) => return next(Endpoint::AuthorizePost),
        ("/authorize", _) => method_not_allowed("GET, HEAD, POST"),
        // GET only: the callback spends its `state`, which a HEAD (a link preview) must not.
        #[cfg(feature = "upstream")]
        ("/oauth/callback", Method::GET) => return next(Endpoint::UpstreamCallback),
        #[cfg(feature = "upstream")]
        ("/oauth/callback", _) => method_not_allowed("GET"),
        ("/token", Method::POST) => return next(Endpoint::Token),
        ("/register", Method::POST) => return next(Endpoint::Register),
        ("/revoke", Method::POST) => return next(Endpoint::Revoke),
        ("/token" | "/register" | "/revoke", Method::OPTIONS) => preflight("POST, OPTIONS"),
        ("/token" | "/register" | "/revoke", _) => method_not_allowed("POST, OPTIONS"),
        ("/", Method::GET | Method::HEAD) => return next(Endpoint::Home),
        ("/account", Method::GET | Method::HEAD) => return next(Endpoint::AccountGet),
        ("/account", Method::POST) => return next(Endpoint::AccountPost),
        ("/account", _) => method_not_allowed("GET, HEAD, POST"),
        ("/", _) => method_not_allowed("GET, HEAD"),
        _ => not_found(),
    })
}

/// Answers what [`route_now`] continued, with what it checked.
pub async fn route<'a>(
    state: &'a State,
    server: &'a Server,
    req: Request,
    head: Head,
    services: &'a Services<'a>,
) -> Reply<'a> {
    let Head { urls, endpoint } = head;
    // Each endpoint's future is boxed: a cold isolate compiles only the endpoints it is asked for.
    let res = match endpoint {
        // The one endpoint that may stream (a legacy call waiting for its client's input).
        Endpoint::Mcp(checked) => {
            return boxed(mcp::handle(state, server, req, *checked, services, &urls)).await
        }
        Endpoint::Home => return Reply::Whole(home::get(state, &req, &urls)),
        Endpoint::AccountGet => boxed(account::get(state, &req, services)),
        Endpoint::AccountPost => boxed(account::post(state, &req, services)),
        Endpoint::AuthorizeGet => boxed(authorize::get(state, &req, services, &urls)),
        Endpoint::AuthorizePost => boxed(authorize::post(state, &req, services, &urls)),
        #[cfg(feature = "upstream")]
        Endpoint::UpstreamCallback => boxed(callback::get(state, &req, services, &urls)),
        Endpoint::Token => boxed(token::post(state, &req, services, &urls)),
        Endpoint::Register => boxed(register::post(state, &req, services)),
        Endpoint::Revoke => boxed(revoke::post(state, &req, services)),
    };
    Reply::Whole(res.await)
}
