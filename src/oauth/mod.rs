//! The OAuth 2.1 authorization server: one module per endpoint, plus the pieces they share.

pub mod jwt;
pub mod password;
pub mod resource;
