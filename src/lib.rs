//! The deployable worker: the tools this deployment serves, handed to the [`mcp_edge`] engine.
//! Everything a deployer changes lives in this crate; the engine is a dependency (engine/ in
//! this repository), so its fixes arrive as a version bump.
//!
//! Add a tool: write it in `src/tools/` (a [`TypedTool`](mcp_edge::mcp::tools::TypedTool)) and
//! list it in [`TOOLS`]. Its scopes join the authorization server's on their own.

pub mod tools;

use mcp_edge::mcp::tools::{list_clients, Catalog, Tool};

/// The tools, in `tools/list` order.
pub const TOOLS: &[Tool] = &[
    Tool::typed::<tools::echo::Echo>(),
    Tool::typed::<tools::get_vibe::GetVibe>(),
    Tool::typed::<tools::get_time::GetTime>(),
    // The engine's operator tool (admin scope): the registered OAuth clients.
    list_clients::TOOL,
];

/// What this deployment serves.
pub const CATALOG: Catalog = Catalog::new(TOOLS);

/// Hands the catalogue to the engine's Workers entry when the wasm instance starts (and again
/// whenever the runtime makes a new instance).
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    mcp_edge::edge::start(CATALOG);
}

/// The README's examples ("Your own tools") compile: `cargo test --doc` runs them.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
