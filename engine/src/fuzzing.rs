//! Entry points for the fuzz targets in `fuzz/` and for `tests/fuzz_corpus.rs`, which replays
//! the saved corpus (including every crash ever found) in `make test`. Each must return without
//! panicking for any input, and asserts a property that must hold for every input.

use crate::mcp::jsonrpc::Message;
use crate::mcp::server::{Request, Server};
use crate::oauth::client::{redirect_uri_matches, validate_redirect_uri};
use crate::web::{parse_form, percent_encode, Params};
use serde_json::{json, Value};

/// JSON-RPC decoding: bytes → JSON → classification → typed request. A classified message,
/// written back to JSON, classifies to the same message (parse → serialize → parse is stable),
/// and typed parsing never panics.
pub fn jsonrpc(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(data) else { return };
    let items = match value {
        Value::Array(items) => items,
        v => vec![v],
    };
    let server = Server::new(&crate::mcp::tools::Catalog::EMPTY, true);
    for item in items {
        let Ok(message) = Message::classify(item) else { continue };
        let mut written = match &message {
            Message::Request { id, method, params } => {
                let _ = Request::parse(&server, method, params.clone());
                json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })
            }
            Message::Notification { method, params } => {
                json!({ "jsonrpc": "2.0", "method": method, "params": params })
            }
            Message::Response { id, .. } => json!({ "jsonrpc": "2.0", "id": id, "result": {} }),
        };
        if written.get("params") == Some(&Value::Null) {
            if let Some(o) = written.as_object_mut() {
                o.remove("params");
            }
        }
        let again = Message::classify(written.clone());
        assert_eq!(again.as_ref().ok(), Some(&message), "unstable round trip through {written}");
    }
}

/// Form and query-string parsing: decoding never panics, and the decoded pairs, encoded again,
/// decode to the same pairs.
pub fn form(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let params = Params::parse(&text);
    let _ = params.duplicate();
    let _ = params.get("code");
    // `=` alone (empty name and value) is a pair the decoder keeps and the encoder cannot tell
    // from nothing: leave those out on both sides.
    let meaningful = |pairs: Vec<(String, String)>| -> Vec<(String, String)> {
        pairs.into_iter().filter(|(k, v)| !(k.is_empty() && v.is_empty())).collect()
    };
    let pairs = meaningful(parse_form(&text));
    let encoded: Vec<String> =
        pairs.iter().map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v))).collect();
    let again = meaningful(parse_form(&encoded.join("&")));
    assert_eq!(again, pairs, "form pairs changed by an encode/decode round trip of {text:?}");
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

/// JWT parsing and verification: nothing but our own signatures may verify. (Native: the fuzzers
/// run there, with the Rust signer.)
#[cfg(not(target_arch = "wasm32"))]
pub fn jwt(data: &[u8]) {
    use crate::crypto::jwt::KeySet;
    use crate::env::RustCrypto;
    use futures::executor::block_on;
    let Ok(keys) = block_on(KeySet::new(&[("k1".to_owned(), [7; 32])], &RustCrypto)) else {
        unreachable!("the Rust signer derives any seed's key")
    };
    let text = String::from_utf8_lossy(data);
    let verified = block_on(keys.verify(
        &RustCrypto,
        &text,
        1_800_000_000,
        "https://as.example",
        "https://as.example/mcp",
    ));
    assert!(verified.is_err(), "a fuzzed token verified: {text:?}");
}
