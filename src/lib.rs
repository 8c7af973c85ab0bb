//! mcp-edge: a remote MCP server for Cloudflare Workers that is its own OAuth 2.1 authorization server.
//!
//! Everything here compiles and tests natively except [`edge`], the only module that names
//! `worker::` types. Dependencies flow one way: `edge` → [`routes`] → [`oauth`] / [`mcp`] → [`store`].

pub mod app;
pub mod config;
pub mod crypto;
pub mod env;
#[doc(hidden)]
pub mod fuzzing;
pub mod mcp;
pub mod memo;
pub mod metadata;
pub mod oauth;
pub mod routes;
pub mod store;
pub mod web;

#[cfg(target_arch = "wasm32")]
mod edge;

pub use app::App;
pub use env::{Clock, Random, Services};
