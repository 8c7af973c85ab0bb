//! This deployment's tools, one file each. They double as the examples of the typed tool API.

pub mod echo;
pub mod get_time;
pub mod get_vibe;
