//! Entry points for the fuzz targets in `fuzz/` and for `tests/fuzz_corpus.rs`, which replays
//! the saved corpus (including every crash ever found) in `make test`. Each must return without
//! panicking for any input.

use crate::crypto::jwt::KeySet;
use crate::mcp::jsonrpc::Message;
use crate::oauth::client::{redirect_uri_matches, validate_redirect_uri};
use crate::web::Params;

/// JSON-RPC decoding: bytes → JSON → message classification.
pub fn jsonrpc(data: &[u8]) {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        match value {
            serde_json::Value::Array(items) => {
                items.into_iter().for_each(|v| drop(Message::classify(v)))
            }
            v => drop(Message::classify(v)),
        }
    }
}

/// Form and query-string parsing.
pub fn form(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let params = Params::parse(&text);
    let _ = params.duplicate();
    let _ = params.get("code");
}

/// Redirect URI validation and matching (registration and authorization).
pub fn redirect_uri(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (registered, requested) = text.split_once('\n').unwrap_or((&text, &text));
    let _ = validate_redirect_uri(registered);
    let matched = redirect_uri_matches(&[registered.to_owned()], requested);
    // Whatever matches a valid registration must itself be a safe target.
    if matched && validate_redirect_uri(registered).is_ok() {
        assert!(!requested.contains('#'), "fragment matched: {requested:?}");
        assert!(!requested.to_ascii_lowercase().starts_with("javascript:"), "javascript matched");
    }
}

/// JWT parsing and verification: nothing but our own signatures may verify.
pub fn jwt(data: &[u8]) {
    let keys = KeySet::from_seeds(&[("k1".to_owned(), [7; 32])]);
    let text = String::from_utf8_lossy(data);
    let verified =
        keys.verify(&text, 1_800_000_000, "https://as.example", "https://as.example/mcp");
    assert!(verified.is_err(), "a fuzzed token verified: {text:?}");
}
