//! Protocol revisions this server speaks, newest first, in two eras: the stateless revision
//! (2026-07-28: per-request `_meta`, `server/discover`) and the session revisions before it
//! (`initialize`). One endpoint serves both (see `routes::mcp`).

/// Stateless revisions: what `server/discover` lists and `-32022` errors name.
pub const MODERN: &[&str] = &["2026-07-28"];

/// Session revisions (`initialize`).
pub const SUPPORTED: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

pub const LATEST: &str = SUPPORTED[0];

/// Does `version` name a stateless revision (this one or a later one we may not know)? As the
/// TypeScript SDK classifies: revisions compare as strings.
pub fn is_modern(version: &str) -> bool {
    version >= MODERN[MODERN.len() - 1]
}

pub fn find_modern(version: &str) -> Option<&'static str> {
    MODERN.iter().copied().find(|v| *v == version)
}

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
    fn eras_are_told_apart_by_the_revision() {
        assert!(is_modern("2026-07-28") && is_modern("2027-01-01") && is_modern("v999.0.0"));
        assert!(!is_modern("2025-11-25") && !is_modern("2024-11-05"));
        assert_eq!(find_modern("2026-07-28"), Some("2026-07-28"));
        assert_eq!(find_modern("2025-11-25"), None);
    }

    #[test]
    fn batches_only_where_the_revision_has_them() {
        assert!(allows_batches("2025-03-26"));
        assert!(!allows_batches("2025-06-18"));
        assert!(!allows_batches("2025-11-25"));
    }
}
