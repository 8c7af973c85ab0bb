//! mcp-edge: a remote MCP server for Cloudflare Workers that is its own OAuth 2.1 authorization server.
//!
//! A deployment is a crate that depends on this one and writes its tools with
//! [`mcp::tools::TypedTool`]; it lists them in a [`mcp::tools::Catalog`] and hands that to the
//! Workers entry (`edge::start`, wasm32 only) from its `#[wasm_bindgen(start)]` function. Its
//! tools' scopes become the authorization server's scopes.
//!
//! Everything here compiles and tests natively except `edge`, the only module that names
//! wasm-only types. Dependencies flow one way (`make test` checks it: scripts/check-layers.mjs):
//!
//! ```text
//! edge → app → routes → oauth / mcp / metadata → state → store / config / urls / env / crypto / web / memo
//! ```
//!
//! - [`app`]: the application as one value and the two phases of a request.
//! - [`routes`]: which endpoint answers which path; the MCP endpoint's HTTP transport.
//! - [`oauth`]: the authorization server, one module per endpoint; `metadata`: discovery.
//! - [`mcp`]: the protocol core (JSON-RPC, typed dispatch, tools, resources, prompts).
//! - [`state`]: what an isolate keeps between requests (configuration, keys, memos).
//! - [`store`]: the storage port, record shapes (docs/storage-schema.md), deferred writes.
//! - [`config`], `urls`, [`env`](mod@env) (clock, randomness), [`crypto`] (seals, JWTs, passwords),
//!   [`web`] (plain `http` helpers), `memo` (per-isolate caches), [`logs`] (request and event
//!   lines).

#![warn(unreachable_pub)]

pub mod app;
pub(crate) mod cold;
pub mod config;
pub mod crypto;
pub mod env;
#[doc(hidden)]
pub mod fuzzing;
pub mod logs;
pub mod mcp;
pub(crate) mod memo;
pub(crate) mod metadata;
pub mod oauth;
pub mod routes;
pub mod state;
pub mod store;
pub(crate) mod urls;
pub mod web;

/// The Workers entry (wasm32 only): a deployment calls [`edge::start`] with its catalogue.
#[cfg(target_arch = "wasm32")]
pub mod edge;

pub use app::App;

pub use env::{Clock, Random, Services};
