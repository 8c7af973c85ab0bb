#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_edge::fuzzing::redirect_uri(data));
