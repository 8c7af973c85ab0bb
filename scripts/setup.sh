#!/usr/bin/env bash
# Installs everything the build and the tests need, idempotently, on a fresh machine:
# the wasm target, the wasm-bindgen CLI matching Cargo.lock, and the npm tools
# (wrangler, Node 22, wasm-opt, esbuild, test clients). Safe to run again: finished steps are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TOOLS="${MCP_EDGE_TOOLS:-$HOME/.cache/mcp-edge-tools}"
mkdir -p "$TOOLS/bin"

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }

if ! rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$'; then
  log "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# The CLI must be exactly the wasm-bindgen version in Cargo.lock (pinned with "=" in Cargo.toml).
WB_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/"/,"",$3); print $3; exit}' Cargo.lock)
if [ "$("$TOOLS/bin/wasm-bindgen" --version 2>/dev/null | awk '{print $NF}')" != "$WB_VERSION" ]; then
  log "installing wasm-bindgen-cli $WB_VERSION (first run only, ~1.5 min)"
  # Not --locked: one of its locked dependencies is missing from the registry.
  cargo install --quiet --root "$TOOLS" wasm-bindgen-cli --version "$WB_VERSION" --force
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages (wrangler, Node 22, binaryen, test clients)"
  npm ci --no-audit --no-fund --loglevel=error
fi

if [ -n "${WITH_CHROMIUM:-}" ] && ! command -v chromium >/dev/null; then
  log "installing chromium (Debian) for browser tests"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
log "ready"
