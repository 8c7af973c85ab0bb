//! The MCP protocol core, independent of transport: JSON-RPC wire types, version negotiation,
//! the method dispatcher and the catalogue of tools, resources and prompts. The worker's
//! Streamable HTTP endpoint (`routes::mcp`) and the stdio binary both serve it.

pub mod app_ui;
pub mod envelope;
/// The conformance suite's fixtures: only with the `conformance` feature (the conformance
/// environment's build); every other build has the empty twin.
#[cfg(feature = "conformance")]
pub mod fixtures;
#[cfg(not(feature = "conformance"))]
#[path = "fixtures_off.rs"]
pub mod fixtures;
pub mod jsonrpc;
pub mod mrtr;
pub mod prompts;
pub mod resources;
pub mod server;
pub mod session;
pub mod tasks;
pub mod tools;
pub mod version;

/// The signed-in user a request acts for, as verified from its access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub sub: String,
    pub name: Option<String>,
    pub scopes: Vec<String>,
    pub client_id: String,
}

impl Identity {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}
