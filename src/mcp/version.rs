//! Protocol revisions this server speaks, newest first. Adding a revision (2026-07-28) means
//! adding a row here and, where behaviour differs, a predicate below.

pub const SUPPORTED: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

pub const LATEST: &str = SUPPORTED[0];

/// Assumed when a request after initialization carries no `MCP-Protocol-Version` header
/// (Streamable HTTP, "Protocol Version Header").
pub const ASSUMED_WITHOUT_HEADER: &str = "2025-03-26";

/// The client's version when we support it, otherwise our latest (lifecycle §version negotiation).
pub fn negotiate(requested: Option<&str>) -> &'static str {
    requested.and_then(find).unwrap_or(LATEST)
}

pub fn find(version: &str) -> Option<&'static str> {
    SUPPORTED.iter().copied().find(|v| *v == version)
}

/// JSON-RPC batches exist in 2025-03-26 (and were tolerated before); 2025-06-18 removed them.
pub fn allows_batches(version: &str) -> bool {
    version <= "2025-03-26"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_echoes_supported_and_falls_back_to_latest() {
        assert_eq!(negotiate(Some("2025-06-18")), "2025-06-18");
        assert_eq!(negotiate(Some("2024-11-05")), "2024-11-05");
        assert_eq!(negotiate(Some("1999-01-01")), LATEST);
        assert_eq!(negotiate(None), LATEST);
    }

    #[test]
    fn batches_only_where_the_revision_has_them() {
        assert!(allows_batches("2025-03-26"));
        assert!(!allows_batches("2025-06-18"));
        assert!(!allows_batches("2025-11-25"));
    }
}
