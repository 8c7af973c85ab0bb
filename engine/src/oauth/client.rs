//! OAuth clients: lookup (registered in KV, or pre-registered in configuration), redirect URI
//! rules, and client authentication at the token and revocation endpoints.

use super::cimd;
use super::client_assertion;
use super::error::{ErrorCode, OAuthError, OAuthResult};
use crate::crypto::{constant_time_eq, sha256_b64, unb64};
use crate::env::Services;
use crate::state::State;
use crate::store::get_json;
use crate::store::records::ClientRecord;
use crate::urls::Urls;
use crate::web::{form_decode, request_header, Params, Request};

pub use super::redirect_uri::{
    redirect_uri_matches, validate_redirect_uri, MAX_REDIRECT_URIS, MAX_URI_LEN,
};

/// How long an isolate reuses a client record it read from KV. KV itself may serve a record up
/// to 60 s stale at other locations, so this adds no new kind of staleness; it saves the read
/// that would otherwise start every `/authorize` step and code exchange.
pub const CLIENT_CACHE_SECS: u64 = 60;

/// A client by id: a static client from configuration, a registered one (cached per isolate
/// for [`CLIENT_CACHE_SECS`]), or the one a client metadata document describes ([`cimd`]; a
/// document that cannot be used is `Err` 401 `invalid_client` naming why).
pub async fn find(
    state: &State,
    services: &Services<'_>,
    client_id: &str,
) -> OAuthResult<Option<ClientRecord>> {
    if cimd::is_metadata_url(client_id) {
        return cimd::resolve(state, services, client_id).await.map(Some);
    }
    if client_id.is_empty() || client_id.len() > 200 {
        return Ok(None);
    }
    if let Some(s) = state.config.static_clients.iter().find(|c| c.client_id == client_id) {
        return Ok(Some(ClientRecord {
            client_id: s.client_id.clone(),
            client_secret_hash: None,
            client_name: Some(s.client_name.clone()),
            redirect_uris: s.redirect_uris.clone(),
            token_endpoint_auth_method: "none".into(),
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            response_types: vec!["code".into()],
            scope: None,
            client_uri: None,
            logo_uri: None,
            jwks_uri: None,
            jwks: None,
            created_at: 0,
            renewed_at: u64::MAX,
        }));
    }
    let now = services.clock.now();
    if let Some(client) = state.clients.get(client_id, now) {
        return Ok(Some(client));
    }
    let client: Option<ClientRecord> =
        get_json(services.store, &ClientRecord::key(client_id)).await?;
    if let Some(c) = &client {
        state.clients.insert(client_id, c.clone(), now + CLIENT_CACHE_SECS);
    }
    Ok(client)
}

/// Is `client_id` one of the clients configured with the deployment (`STATIC_CLIENTS`)? Only
/// those are trusted with an error redirect before anyone signs in: dynamically registered
/// clients and metadata documents name whatever redirect URI their author likes.
pub fn is_preregistered(state: &State, client_id: &str) -> bool {
    state.config.static_clients.iter().any(|c| c.client_id == client_id)
}

/// Authenticates the client at the token / revocation endpoint (RFC 6749 §2.3): HTTP Basic,
/// form `client_secret`, or just `client_id` for public clients.
pub async fn authenticate(
    state: &State,
    services: &Services<'_>,
    req: &Request,
    form: &Params,
) -> OAuthResult<ClientRecord> {
    let invalid = |why: &str| OAuthError::new(ErrorCode::InvalidClient, why);
    if form.get("client_assertion").is_some() || form.get("client_assertion_type").is_some() {
        return authenticate_with_assertion(state, services, req, form).await;
    }
    let (client_id, secret) = match request_header(req, "authorization") {
        Some(auth) if auth.len() > 6 && auth[..6].eq_ignore_ascii_case("basic ") => {
            let decoded =
                base64_std(&auth[6..]).ok_or_else(|| invalid("malformed Basic credentials"))?;
            let (id, secret) =
                decoded.split_once(':').ok_or_else(|| invalid("malformed Basic credentials"))?;
            // Each part is form-encoded before Basic encoding (RFC 6749 §2.3.1).
            let (id, secret) = (form_decode(id), form_decode(secret));
            if form.get("client_id").is_some_and(|f| f != id) {
                return Err(invalid(
                    "client_id in the body does not match the Authorization header",
                ));
            }
            (id, Some(secret))
        }
        _ => {
            let id = form
                .get("client_id")
                .ok_or_else(|| invalid("client authentication required (client_id missing)"))?;
            (id.to_owned(), form.get("client_secret").filter(|s| !s.is_empty()).map(str::to_owned))
        }
    };
    let client =
        find(state, services, &client_id).await?.ok_or_else(|| invalid("unknown client"))?;
    if client.token_endpoint_auth_method == "private_key_jwt" {
        // No fallback to a weaker method for a client that declared this one.
        return Err(invalid("this client must authenticate with private_key_jwt"));
    }
    match (&client.client_secret_hash, secret) {
        (Some(hash), Some(secret)) => {
            let given = sha256_b64(&secret);
            if constant_time_eq(given.as_bytes(), hash.as_bytes()) {
                Ok(client)
            } else {
                Err(invalid("client authentication failed"))
            }
        }
        (Some(_), None) => Err(invalid("this client must authenticate with its client_secret")),
        // Public clients have no secret; one sent anyway proves nothing and is ignored.
        (None, _) => Ok(client),
    }
}

/// `private_key_jwt` (RFC 7523 §2.2): the client named by the assertion, if it signed it.
async fn authenticate_with_assertion(
    state: &State,
    services: &Services<'_>,
    req: &Request,
    form: &Params,
) -> OAuthResult<ClientRecord> {
    let invalid = |why: &str| OAuthError::new(ErrorCode::InvalidClient, why);
    if form.get("client_assertion_type") != Some(client_assertion::ASSERTION_TYPE) {
        return Err(invalid(
            "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ));
    }
    let assertion = form
        .get("client_assertion")
        .filter(|a| !a.is_empty() && a.len() <= 8192)
        .ok_or_else(|| invalid("client_assertion is missing"))?;
    // RFC 6749 §2.3: one authentication method per request.
    if request_header(req, "authorization")
        .is_some_and(|a| a.len() > 6 && a[..6].eq_ignore_ascii_case("basic "))
        || form.get("client_secret").is_some()
    {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "use one client authentication method (client_assertion or a secret, not both)",
        ));
    }
    let claimed = client_assertion::claimed_client(assertion)
        .ok_or_else(|| invalid("client_assertion is not a JWT with a sub"))?;
    if form.get("client_id").is_some_and(|id| id != claimed) {
        return Err(invalid("client_id does not match the client_assertion's sub"));
    }
    let client = find(state, services, &claimed).await?.ok_or_else(|| invalid("unknown client"))?;
    if client.token_endpoint_auth_method != "private_key_jwt" {
        return Err(invalid("this client did not choose private_key_jwt"));
    }
    let urls =
        Urls::for_request(state.config.public_base_url.as_deref(), &state.config.mcp_path, req);
    let audiences = [
        urls.issuer.clone(),
        format!("{}/token", urls.issuer),
        format!("{}{}", urls.origin, req.uri().path()),
    ];
    client_assertion::verify(state, services, &client, assertion, &audiences).await?;
    Ok(client)
}

fn base64_std(text: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
        .or_else(|| unb64(text.trim()))?;
    String::from_utf8(bytes).ok()
}
