// rmcp (the official Rust SDK) as an OAuth client: its AuthorizationManager discovers the
// metadata from the 401 challenge, registers, builds the PKCE URL; a scripted sign-in stands in
// for the browser; its authorized Streamable HTTP transport then calls get_vibe. The Rust side
// is tests/rmcp-oauth (built by `make e2e`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./worker.mjs";

const BASE = process.env.E2E_URL;
const BIN = process.env.RMCP_E2E_BIN ?? join(ROOT, "tests/rmcp-oauth/target/release/rmcp-oauth-e2e");

test("rmcp client: discovery, registration, PKCE sign-in, get_vibe as Alice", { timeout: 60_000 }, () => {
  assert.ok(existsSync(BIN), `rmcp client binary missing at ${BIN}: run \`make e2e\` (it builds tests/rmcp-oauth)`);
  const run = spawnSync(BIN, [`${BASE}/mcp`, "alice"], { encoding: "utf8", timeout: 50_000 });
  assert.equal(run.status, 0, `rmcp client failed (exit ${run.status}):\n${run.stderr}\n${run.stdout}`);
  const report = JSON.parse(run.stdout.trim().split("\n").pop());
  const auth = new URL(report.authorization_url);
  assert.equal(`${auth.origin}${auth.pathname}`, `${BASE}/authorize`, "rmcp: authorization endpoint from discovery");
  assert.equal(auth.searchParams.get("code_challenge_method"), "S256", "rmcp: PKCE S256");
  assert.ok(auth.searchParams.get("client_id"), "rmcp: registered a client");
  assert.ok(report.tools.includes("get_vibe"), `rmcp: tools/list: ${report.tools}`);
  assert.equal(report.get_vibe?.[0]?.text, "Curious vibes for Alice in Lisbon.", `rmcp: get_vibe: ${JSON.stringify(report.get_vibe)}`);
});
