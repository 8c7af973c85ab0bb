//! The OAuth 2.1 authorization server: one module per endpoint, plus the pieces they share.

pub mod authorize;
pub mod bearer;
pub mod client;
pub mod error;
pub mod jwt;
pub mod pages;
pub mod password;
pub mod ratelimit;
pub mod register;
pub mod resource;
pub mod revoke;
pub mod token;
