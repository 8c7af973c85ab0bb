//! `GET /.well-known/oauth-authorization-server` (RFC 8414) and the same document at
//! `/.well-known/openid-configuration`. It advertises only what this server implements.

use crate::urls::Urls;

pub(crate) fn document(urls: &Urls, scopes: &[&str]) -> serde_json::Value {
    serde_json::json!({
        "issuer": urls.issuer,
        "authorization_endpoint": format!("{}/authorize", urls.issuer),
        "token_endpoint": format!("{}/token", urls.issuer),
        "registration_endpoint": format!("{}/register", urls.issuer),
        "revocation_endpoint": format!("{}/revoke", urls.issuer),
        "jwks_uri": urls.jwks,
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256"],
        "dpop_signing_alg_values_supported": ["ES256", "RS256"],
        "revocation_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post", "private_key_jwt"],
        "revocation_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "client_id_metadata_document_supported": true,
    })
}
