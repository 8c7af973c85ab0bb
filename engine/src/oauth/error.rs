//! OAuth error responses (RFC 6749 §5.2, RFC 7591 §3.2.2, RFC 8707 §2, RFC 7009 §2.2.1): each
//! code knows its wire string and HTTP status.

use crate::web::{self, Response};
use http::{HeaderValue, StatusCode};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// "The request is missing a required parameter, includes an unsupported parameter value
    /// (other than grant type), repeats a parameter, ... or is otherwise malformed."
    InvalidRequest,
    /// "Client authentication failed (e.g., unknown client, no client authentication included,
    /// or unsupported authentication method)." Sent with 401.
    InvalidClient,
    /// "The provided authorization grant ... or refresh token is invalid, expired, revoked, does
    /// not match the redirection URI used in the authorization request, or was issued to another
    /// client."
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    /// RFC 8707: the requested resource is invalid or unknown.
    InvalidTarget,
    AccessDenied,
    /// RFC 7591: a redirect URI is invalid.
    InvalidRedirectUri,
    /// RFC 7591: some other client metadata is invalid.
    InvalidClientMetadata,
    TemporarilyUnavailable,
    ServerError,
    /// RFC 9449 §5: "The DPoP proof JWT is invalid."
    InvalidDpopProof,
    /// RFC 9449 §8: the proof must carry the server's nonce (sent in `DPoP-Nonce`).
    UseDpopNonce,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::InvalidRedirectUri => "invalid_redirect_uri",
            ErrorCode::InvalidClientMetadata => "invalid_client_metadata",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::ServerError => "server_error",
            ErrorCode::InvalidDpopProof => "invalid_dpop_proof",
            ErrorCode::UseDpopNonce => "use_dpop_nonce",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: String,
    /// A DPoP nonce to send in `DPoP-Nonce` (RFC 9449 §8).
    pub dpop_nonce: Option<String>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self { code, description: description.into(), dpop_nonce: None }
    }

    /// The JSON error response, uncacheable and readable cross-origin.
    pub fn response(&self) -> Response {
        let mut res = web::no_store(web::cors(web::error(
            self.code.status(),
            self.code.as_str(),
            &self.description,
        )));
        if self.code == ErrorCode::InvalidClient {
            res.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Basic realm="mcp-edge""#),
            );
        }
        if self.code == ErrorCode::TemporarilyUnavailable {
            res.headers_mut().insert("retry-after", HeaderValue::from_static("1"));
        }
        if let Some(nonce) = &self.dpop_nonce {
            res = web::with_exposed_header(res, "dpop-nonce", nonce);
        }
        res
    }
}

impl From<crate::store::StoreError> for OAuthError {
    fn from(e: crate::store::StoreError) -> Self {
        log::error!("storage failure: {e}");
        OAuthError::new(
            ErrorCode::TemporarilyUnavailable,
            "storage is temporarily unavailable; retry shortly",
        )
    }
}

pub type OAuthResult<T> = Result<T, OAuthError>;

pub fn invalid_request(description: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRequest, description)
}
