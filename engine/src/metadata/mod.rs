//! Discovery documents: Protected Resource Metadata (RFC 9728) and Authorization Server
//! Metadata (RFC 8414, also served as the OpenID discovery document).

pub(crate) mod authorization_server;
pub(crate) mod protected_resource;

use crate::state::State;
use crate::urls::Urls;
use crate::web::{self, Response};
use http::{HeaderValue, StatusCode};

/// Builds a discovery document for an origin's URLs.
pub(crate) type Document = fn(&Urls, &[&str]) -> serde_json::Value;

/// A discovery document as a cacheable, CORS-readable JSON response. The serialized document
/// is kept per isolate and origin: it only depends on configuration and the origin.
pub(crate) fn respond(state: &State, urls: &Urls, kind: &str, document: Document) -> Response {
    state.memo_response(&format!("{kind}|{}", urls.origin), || {
        let body = serde_json::to_vec(&document(urls, &state.config.scopes)).unwrap_or_default();
        let mut res = web::cors(web::respond(StatusCode::OK, web::JSON, body));
        res.headers_mut()
            .insert(http::header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
        res
    })
}
