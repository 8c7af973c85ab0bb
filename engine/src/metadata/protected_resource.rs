//! `GET /.well-known/oauth-protected-resource[/mcp]` (RFC 9728 §3).

use crate::urls::Urls;

pub(crate) fn document(urls: &Urls, scopes: &[&str]) -> serde_json::Value {
    serde_json::json!({
        "resource": urls.resource,
        "authorization_servers": [urls.issuer],
        "scopes_supported": scopes,
        "bearer_methods_supported": ["header"],
        "dpop_signing_alg_values_supported": ["ES256", "RS256"],
        "resource_name": "mcp-edge",
        "jwks_uri": urls.jwks,
    })
}
