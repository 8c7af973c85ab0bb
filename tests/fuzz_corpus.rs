//! Replays every saved fuzz input through the fuzz entry points in `make test`: the seeds, every
//! crash ever found (`fuzz/regressions/`, kept forever), and the local corpus `make fuzz` grew
//! (`fuzz/corpus/`, not committed), when present.

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut n = 0;
    for kind in ["seeds", "regressions", "corpus"] {
        let Ok(entries) = std::fs::read_dir(root.join(kind).join(target)) else { continue };
        for entry in entries {
            let path = entry.expect("readable corpus entry").path();
            if path.file_name().is_some_and(|f| f == ".keep") {
                continue;
            }
            run(&std::fs::read(&path).expect("readable corpus file"));
            n += 1;
        }
    }
    assert!(n > 0, "no seeds for {target}");
}

#[test]
fn jsonrpc_corpus() {
    replay("jsonrpc", mcp_edge::fuzzing::jsonrpc);
}

#[test]
fn form_corpus() {
    replay("form", mcp_edge::fuzzing::form);
}

#[test]
fn redirect_uri_corpus() {
    replay("redirect_uri", mcp_edge::fuzzing::redirect_uri);
}

#[test]
fn jwt_corpus() {
    replay("jwt", mcp_edge::fuzzing::jwt);
}
