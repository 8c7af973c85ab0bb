#!/usr/bin/env bash
# Builds the worker bundle (build/worker/shim.mjs + wasm) with locally installed tools, offline.
# Skips the build when nothing under src/ or the manifests changed since the last one.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS="${MCP_EDGE_TOOLS:-$HOME/.cache/mcp-edge-tools}"
stamp=build/.stamp
# The e2e harness builds once up front and asks wrangler not to rebuild per worker it starts.
if [ -n "${MCP_EDGE_SKIP_BUILD:-}" ] && [ -f "$stamp" ]; then exit 0; fi
if [ -f "$stamp" ] && [ -z "$(find src Cargo.toml Cargo.lock -newer "$stamp" -print -quit)" ]; then
  exit 0
fi
export WASM_BINDGEN_BIN="$TOOLS/bin/wasm-bindgen"
export WASM_OPT_BIN="$PWD/node_modules/.bin/wasm-opt"
export ESBUILD_BIN="$PWD/node_modules/.bin/esbuild"
"$TOOLS/bin/worker-build" --release >&2
# worker-build keeps the wasm name section (~136 KB of function names, for readable stack
# traces). Drop it from the deploy bundle unless KEEP_WASM_NAMES is set.
if [ -z "${KEEP_WASM_NAMES:-}" ]; then
  "$WASM_OPT_BIN" build/index_bg.wasm -o build/index_bg.wasm --strip-debug --strip-producers \
    --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int --enable-bulk-memory \
    --enable-multivalue --enable-reference-types --enable-exception-handling
fi
touch "$stamp"
