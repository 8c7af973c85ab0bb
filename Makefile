# mcp-edge: `make dev` serves the worker locally, `make test` runs every test.
# Both install what they need first (scripts/setup.sh): nothing to install by hand.
SHELL := /bin/bash
PORT ?= 8787
ENV ?=
NODE_BIN := $(CURDIR)/node_modules/.bin
export PATH := $(NODE_BIN):$(PATH)
export CI ?= true
export WRANGLER_SEND_METRICS := false
export CLOUDFLARE_CF_FETCH_ENABLED := false

.PHONY: setup setup-test build dev test fmt lint unit docs publish-check wasm deploy-dry-run stdio-bin rmcp-client-bin e2e deploy bench fuzz keygen hash-password clean

setup:
	@./scripts/setup.sh

## Tests also need Debian's Chromium for the browser tests.
setup-test:
	@WITH_CHROMIUM=1 ./scripts/setup.sh

build: setup
	@./scripts/build-worker.sh

## Serve the worker on http://127.0.0.1:$(PORT) with local KV persisted under .wrangler/
dev: build
	wrangler dev --local --ip 127.0.0.1 --port $(PORT) $(if $(ENV),--env $(ENV))

## Every test: format, lints, native tests, wasm release build, deploy bundle, end to end.
test: setup-test fmt lint unit docs publish-check wasm deploy-dry-run e2e
	@echo "make test: all passed"

fmt:
	cargo fmt --all -- --check

## Lints, and the engine's layering (no import circle in engine/src/, wasm-only names only in
## engine/src/edge/).
lint:
	node scripts/check-layers.mjs
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p mcp-edge -p mcp-edge-worker --lib --target wasm32-unknown-unknown -- -D warnings
	# Without the default `upstream` feature (a passwords-only worker).
	cargo clippy -p mcp-edge -p mcp-edge-worker --no-default-features --lib --tests -- -D warnings
	cargo clippy -p mcp-edge -p mcp-edge-worker --no-default-features --lib --target wasm32-unknown-unknown -- -D warnings

## The engine's API documentation builds without a warning (broken links, bad examples).
docs:
	RUSTDOCFLAGS="-D warnings" cargo doc -p mcp-edge --no-deps

## The engine packages as crates.io would take it (every dependency versioned, files included).
publish-check:
	cargo publish --dry-run --allow-dirty -p mcp-edge

unit:
	cargo test --workspace
	cargo test -p mcp-edge -p mcp-edge-worker --no-default-features --lib --test without_upstream

## The deployable worker (build/), the conformance environment's, with the suite's fixtures
## (build/conformance/), and a passwords-only one, without the `upstream` feature
## (build/no-default/: tests/e2e/passwords_only.test.mjs, the bench's size row).
wasm:
	@./scripts/build-worker.sh
	@MCP_EDGE_FEATURES=conformance ./scripts/build-worker.sh
	@MCP_EDGE_NO_DEFAULT_FEATURES=1 ./scripts/build-worker.sh

deploy-dry-run: wasm
	@rm -rf dist && wrangler deploy --dry-run --outdir dist --env production >/dev/null 2>dist.log || { cat dist.log; exit 1; }
	@rm -f dist.log; node scripts/bundle-size.mjs dist

## The stdio binary, as Claude Desktop starts it (tests/e2e/stdio.test.mjs drives it).
stdio-bin:
	cargo build --release -p local-stdio

## rmcp's own OAuth client, as a Rust binary the e2e suite runs against workerd.
rmcp-client-bin:
	cargo build --release --manifest-path tests/rmcp-oauth/Cargo.toml

e2e: wasm stdio-bin rmcp-client-bin
	node tests/e2e/run.mjs

## Deploy the production environment (secrets and KV id first: see README "Deploy").
deploy: build
	wrangler deploy --env production

## Benchmarks against Cloudflare's TypeScript stack (not part of `make test`).
bench: build
	node bench/run.mjs

## Fuzz each target for FUZZ_SECONDS (stable toolchain via RUSTC_BOOTSTRAP); new corpus entries
## land in fuzz/corpus/, which `make test` replays. Not part of `make test`.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := jsonrpc form redirect_uri jwt
fuzz:
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
	cd fuzz && for t in $(FUZZ_TARGETS); do \
	  mkdir -p corpus/$$t && cp -n seeds/$$t/* corpus/$$t/ 2>/dev/null; \
	  RUSTC_BOOTSTRAP=1 cargo fuzz run $$t corpus/$$t regressions/$$t -- -max_total_time=$(FUZZ_SECONDS) \
	    || { echo "crash: copy fuzz/artifacts/$$t/crash-* into fuzz/regressions/$$t/ and fix"; exit 1; }; \
	done

## Print a fresh JWT_SIGNING_KEYS / COOKIE_SECRET pair for production secrets.
keygen:
	@node scripts/keygen.mjs

hash-password:
	@node scripts/hash-password.mjs

clean:
	rm -rf build dist target .wrangler

## Check a deployed server the way claude.ai, ChatGPT and Claude Code reach it:
## make doctor URL=https://<host>/mcp [TOKEN=<access token>] (scripts/doctor.mjs).
.PHONY: doctor
doctor:
	@test -n "$(URL)" || { echo "usage: make doctor URL=https://<host>/mcp [TOKEN=<access token>]" >&2; exit 2; }
	@node scripts/doctor.mjs "$(URL)"
