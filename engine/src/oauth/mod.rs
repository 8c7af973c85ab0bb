//! The OAuth 2.1 authorization server: one module per endpoint, plus the pieces they share.

pub mod account;
pub(crate) mod admission;
pub mod authorize;
pub mod bearer;
#[cfg(feature = "upstream")]
pub mod callback;
pub mod cimd;
pub mod client;
pub mod client_assertion;
pub mod dpop;
pub mod error;
pub mod pages;
pub mod pkce;
pub mod redirect_uri;
pub mod refresh_token;
pub mod register;
pub mod revoke;
pub mod session;
pub mod token;
/// Sign-in through an OpenID Connect provider or GitHub: only with the `upstream` feature (the
/// worker crate's default).
#[cfg(feature = "upstream")]
pub(crate) mod upstream;
#[cfg(not(feature = "upstream"))]
#[path = "upstream_off.rs"]
pub(crate) mod upstream;
