//! local-stdio: mcp-edge's native MCP server for Claude Desktop and other local hosts, over
//! stdio. It serves the worker's sign-in-free tools (`echo`, `get_time`, the same code) plus
//! `get_current_time` and `get_guid`, and writes the Claude Desktop config that starts it.

pub mod city;
pub mod claude_config;
pub mod server;
pub mod tools;

pub use server::LocalServer;
