#!/usr/bin/env bash
# Builds the worker bundle ("$out/index.js" + build/index_bg.wasm) offline, with the tools that
# scripts/setup.sh installed:
#   1. cargo builds the worker crate (a cdylib with LTO, which links the engine in engine/) for
#      wasm32-unknown-unknown (release profile, Cargo.toml);
#   2. wasm-bindgen (the CLI matching Cargo.lock) writes the JS glue, as an ES module that
#      instantiates the wasm itself, with the reset function used to recover from a panic;
#   3. wasm-opt optimizes the wasm and drops the name section (KEEP_WASM_NAMES=1 keeps it);
#   4. esbuild bundles engine/src/edge/entry.mjs, our small Workers entry, with the glue.
# This is what worker-build does, minus its per-request `Proxy` wrapper (docs/benchmarks.md).
# Skips the build when nothing under src/, engine/src/ or the manifests changed since the last one.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS="${MCP_EDGE_TOOLS:-$HOME/.cache/mcp-edge-tools}"
# MCP_EDGE_FEATURES=conformance builds the conformance environment's worker (with the suite's
# fixtures) into build/conformance/; the default build (what deploys) has no fixtures.
features="${MCP_EDGE_FEATURES:-}"
out=build${features:+/$features}
# MCP_EDGE_NO_DEFAULT_FEATURES=1 leaves the worker's default features out (the upstream sign-in:
# a passwords-only worker), into build/no-default/ (the bench measures its size).
no_default=()
if [ -n "${MCP_EDGE_NO_DEFAULT_FEATURES:-}" ]; then no_default=(--no-default-features); out=$out/no-default; fi
stamp=$out/.stamp
# The e2e harness builds once up front and asks wrangler not to rebuild per worker it starts.
if [ -n "${MCP_EDGE_SKIP_BUILD:-}" ] && [ -f "$stamp" ]; then exit 0; fi
if [ -f "$stamp" ] && [ -z "$(find src engine/src Cargo.toml engine/Cargo.toml Cargo.lock -newer "$stamp" -print -quit)" ]; then
  exit 0
fi
for tool in "$TOOLS/bin/wasm-bindgen" node_modules/.bin/wasm-opt node_modules/.bin/esbuild; do
  [ -x "$tool" ] || { echo "build-worker: $tool is missing; run scripts/setup.sh (make setup)" >&2; exit 1; }
done

# wasm-bindgen's macro: exported async functions use js_sys's futures (as worker-build sets it).
# `cargo rustc --crate-type cdylib`: the worker crate is an rlib for its tests; built as a cdylib
# alone it gets the release profile's LTO (a crate that is both gets none: rust-lang/cargo#9672).
WASM_BINDGEN_USE_JS_SYS=1 cargo rustc -p mcp-edge-worker --lib --release --target wasm32-unknown-unknown \
  ${features:+--features "$features"} ${no_default[@]+"${no_default[@]}"} --crate-type cdylib >&2

gen=$out/gen
rm -rf "$gen" && mkdir -p "$gen"
"$TOOLS/bin/wasm-bindgen" target/wasm32-unknown-unknown/release/mcp_edge_worker.wasm \
  --out-dir "$gen" --out-name index --target module --no-typescript \
  --experimental-reset-state-function --force-enable-abort-handler

# The features workerd supports, listed explicitly so wasm-opt never emits newer encodings.
wasm_features=(--enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int
  --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling)
strip=(--strip-debug --strip-producers)
if [ -n "${KEEP_WASM_NAMES:-}" ]; then strip=(--debuginfo); fi
node_modules/.bin/wasm-opt "$gen/index_bg.wasm" -O "${wasm_features[@]}" "${strip[@]}" -o "$out/index_bg.wasm"

cp engine/src/edge/entry.mjs engine/src/edge/objects.mjs "$gen/"
minify=(--minify)
if [ -n "${NO_MINIFY:-}" ]; then minify=(); fi
node_modules/.bin/esbuild "$gen/entry.mjs" --bundle --format=esm "${minify[@]}" \
  --external:./index_bg.wasm '--external:cloudflare:*' --outfile="$out/index.js" --log-level=warning >&2
# wasm-bindgen writes a source-phase import (`import source m from "./index_bg.wasm"`); Workers
# takes the plain default import of a .wasm module as the compiled module.
sed -i 's/import source \([A-Za-z_$][A-Za-z0-9_$]*\) from"\.\/index_bg\.wasm"/import \1 from".\/index_bg.wasm"/; s/import source \([A-Za-z_$][A-Za-z0-9_$]*\) from "\.\/index_bg\.wasm"/import \1 from ".\/index_bg.wasm"/' "$out/index.js"
if grep -q 'import source' "$out/index.js"; then
  echo "build-worker: could not rewrite the wasm import in "$out/index.js"" >&2; exit 1
fi
rm -rf "$gen" "$out/worker" "$out/package.json"
touch "$stamp"
