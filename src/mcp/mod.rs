//! MCP core.
