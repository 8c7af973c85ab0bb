//! Discovery documents: Protected Resource Metadata (RFC 9728) and Authorization Server
//! Metadata (RFC 8414, also served as the OpenID discovery document).

pub mod authorization_server;
pub mod protected_resource;
