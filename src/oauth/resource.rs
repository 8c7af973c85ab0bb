//! Resource indicators (RFC 8707): which `resource` values name this MCP server, and whether a
//! token's audience covers it.

/// True when `candidate` names `resource`: equal (ignoring one trailing slash), or a parent of it
/// at a path boundary (`https://x.example` covers `https://x.example/mcp`, `https://x.example/m`
/// does not). Scheme and host compare case-insensitively.
pub fn audience_covers(candidate: &str, resource: &str) -> bool {
    let c = normalize(candidate);
    let r = normalize(resource);
    if c.is_empty() || c.contains(['?', '#']) {
        return false;
    }
    r == c || (r.starts_with(&c) && r.as_bytes().get(c.len()) == Some(&b'/'))
}

fn normalize(url: &str) -> String {
    let url = url.trim_end_matches('/');
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            format!("{}://{}{}", scheme.to_ascii_lowercase(), host.to_ascii_lowercase(), path)
        }
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::audience_covers;

    #[test]
    fn path_boundaries_are_respected() {
        let r = "https://x.example/mcp";
        assert!(audience_covers("https://x.example/mcp", r));
        assert!(audience_covers("https://x.example/mcp/", r));
        assert!(audience_covers("https://x.example", r));
        assert!(audience_covers("https://X.EXAMPLE/mcp", r));
        assert!(!audience_covers("https://x.example/m", r));
        assert!(!audience_covers("https://x.example/mcp2", r));
        assert!(!audience_covers("https://x.example/mcp/sub", r));
        assert!(!audience_covers("https://x.example.evil/mcp", r));
        assert!(!audience_covers("https://evil.example/mcp", r));
        assert!(!audience_covers("http://x.example/mcp", r));
        assert!(!audience_covers("", r));
        assert!(!audience_covers("https://x.example/mcp?x", r));
    }
}
