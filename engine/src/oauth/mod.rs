//! The OAuth 2.1 authorization server: one module per endpoint, plus the pieces they share.

pub mod account;
pub(crate) mod admission;
pub mod authorize;
pub mod bearer;
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
pub(crate) mod upstream;
