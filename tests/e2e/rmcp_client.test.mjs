// rmcp (the official Rust SDK) as an OAuth client: its AuthorizationManager discovers the
// metadata from the 401 challenge, registers, builds the PKCE URL; a scripted sign-in stands in
// for the browser; its authorized Streamable HTTP transport then calls the tools. The Rust side
// is tests/rmcp-oauth (built by `make e2e` / `make rmcp-client-bin`). Three lifecycles:
// rmcp's default `initialize` (it offers its LATEST, 2026-07-28, and gets a 2025-11-25 session),
// pinned to 2026-07-28 (`server/discover`, stateless requests, a multi-round-trip get_vibe), and
// auto. The binary reports what it put on the wire, recorded under rmcp's AuthClient.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./worker.mjs";

const BASE = process.env.E2E_URL;
const BIN = process.env.RMCP_E2E_BIN ?? join(ROOT, "tests/rmcp-oauth/target/release/rmcp-oauth-e2e");
const MODERN = "2026-07-28";
const LEGACY = "2025-11-25";

/** Runs the rmcp client as `user` with `flags`; resolves with its report (or the failed run). */
function rmcp(user, flags = [], { expectSuccess = true } = {}) {
  assert.ok(existsSync(BIN), `rmcp client binary missing at ${BIN}: run \`make rmcp-client-bin\` (or \`make e2e\`)`);
  const run = spawnSync(BIN, [`${BASE}/mcp`, user, ...flags], { encoding: "utf8", timeout: 50_000 });
  if (!expectSuccess) return run;
  assert.equal(run.status, 0, `rmcp ${flags.join(" ")} failed (exit ${run.status}):\n${run.stderr}\n${run.stdout}`);
  return JSON.parse(run.stdout.trim().split("\n").pop());
}

function assertOAuth(report) {
  const auth = new URL(report.authorization_url);
  assert.equal(`${auth.origin}${auth.pathname}`, `${BASE}/authorize`, "rmcp: authorization endpoint from discovery");
  assert.equal(auth.searchParams.get("code_challenge_method"), "S256", "rmcp: PKCE S256");
  assert.ok(auth.searchParams.get("client_id"), "rmcp: registered a client");
  assert.equal(auth.searchParams.get("resource"), `${BASE}/mcp`, "rmcp: resource indicator");
}

/** The calls every lifecycle makes, as alice. */
function assertAliceCalls(report) {
  for (const n of ["echo", "get_vibe", "get_time", "list_clients"]) assert.ok(report.tools.includes(n), `rmcp: tools/list lacks ${n}: ${report.tools}`);
  assert.equal(report.echo?.[0]?.text, "Echo: hello from rmcp", `rmcp: echo: ${JSON.stringify(report.echo)}`);
  assert.equal(report.get_vibe?.[0]?.text, "Curious vibes for Alice in Lisbon.", `rmcp: get_vibe: ${JSON.stringify(report.get_vibe)}`);
  assert.ok(!report.list_clients?.error, `rmcp: list_clients: ${report.list_clients?.error}`);
  assert.match(report.list_clients?.content?.[0]?.text ?? "", /^\d+ registered client\(s\)/, `rmcp: list_clients: ${JSON.stringify(report.list_clients)}`);
  assert.equal(report.server_info?.name, "mcp-edge");
}

/** Every request rmcp posted on the stateless revision carries the 2026-07-28 envelope and headers. */
function assertStatelessWire(wire) {
  assert.equal(wire[0]?.method, "server/discover", `rmcp: the first message was ${wire[0]?.method}, not server/discover`);
  assert.ok(!wire.some((e) => e.method === "initialize" || e.method === "notifications/initialized"), "rmcp: initialize on the stateless revision");
  for (const e of wire.filter((e) => e.id !== null)) {
    const label = `rmcp: ${e.method}${e.mcp_name ? ` ${e.mcp_name}` : ""} (id ${e.id})`;
    assert.equal(e.mcp_protocol_version, MODERN, `${label}: MCP-Protocol-Version header`);
    assert.equal(e.meta_protocol_version, MODERN, `${label}: _meta protocolVersion`);
    assert.equal(e.mcp_method, e.method, `${label}: Mcp-Method header`);
    assert.equal(e.session, false, `${label}: sent a session id`);
    assert.ok(e.meta_client_capabilities, `${label}: no _meta clientCapabilities`);
  }
  for (const c of wire.filter((e) => e.method === "tools/call")) assert.ok(c.mcp_name, `rmcp: tools/call (id ${c.id}) without Mcp-Name`);
}

test("rmcp client (default lifecycle): discovery, registration, PKCE sign-in, initialize → 2025-11-25 session, tools as Alice", { timeout: 60_000 }, () => {
  const report = rmcp("alice");
  assertOAuth(report);
  assert.equal(report.lifecycle, "legacy");
  assert.equal(report.protocol_version, LEGACY, `rmcp: negotiated ${report.protocol_version}`);
  assertAliceCalls(report);
  const [init, initialized] = report.wire;
  assert.equal(init?.method, "initialize", "rmcp: the default lifecycle did not start with initialize");
  // rmcp 3.11 offers its LATEST in initialize; 2026-07-28 has no initialize, so the server
  // answers with its newest session revision.
  assert.equal(init.params_protocol_version, MODERN, `rmcp offered ${init.params_protocol_version} in initialize`);
  assert.equal(init.mcp_protocol_version, null, "rmcp sent MCP-Protocol-Version on initialize");
  assert.equal(initialized?.method, "notifications/initialized");
  assert.ok(!report.wire.some((e) => e.method === "server/discover"), "rmcp: probed server/discover in the default lifecycle");
  for (const e of report.wire.slice(1)) {
    assert.equal(e.session, true, `rmcp: ${e.method} without the session id`);
    assert.equal(e.mcp_protocol_version, LEGACY, `rmcp: ${e.method}: MCP-Protocol-Version header`);
    assert.equal(e.meta_protocol_version, null, `rmcp: ${e.method}: a 2026 envelope on the session revision`);
  }
});

test("rmcp client pinned to 2026-07-28: server/discover, stateless requests, multi-round-trip get_vibe as Alice", { timeout: 60_000 }, () => {
  const report = rmcp("alice", ["--pin", MODERN]);
  assertOAuth(report);
  assert.equal(report.lifecycle, `pin ${MODERN}`);
  assert.equal(report.protocol_version, MODERN, `rmcp: negotiated ${report.protocol_version}`);
  assertAliceCalls(report);
  assertStatelessWire(report.wire);
  for (const e of report.wire.filter((e) => e.id !== null)) {
    assert.deepEqual(e.meta_client_capabilities, { elicitation: {} }, `rmcp: ${e.method}: clientCapabilities`);
  }
  // get_vibe without a location: input_required (elicitation) → rmcp's handler → retry.
  assert.equal(report.get_vibe_elicited?.[0]?.text, "Curious vibes for Alice in Lisbon.", `rmcp: get_vibe (elicited): ${JSON.stringify(report.get_vibe_elicited)}`);
  assert.equal(report.elicitations?.length, 1, `rmcp: elicited ${report.elicitations?.length} times`);
  assert.equal(report.elicitations[0].message, "Which place should I check the vibe of?");
  assert.deepEqual(report.elicitations[0].requestedSchema?.required, ["location"]);
  const rounds = report.wire.filter((e) => e.method === "tools/call" && e.mcp_name === "get_vibe" && Object.keys(e.arguments ?? {}).length === 0);
  assert.equal(rounds.length, 2, `rmcp: ${rounds.length} rounds of get_vibe without a location on the wire`);
  assert.equal(rounds[0].input_responses, null);
  assert.deepEqual(rounds[1].input_responses, { location: { action: "accept", content: { location: "Lisbon" } } });
  assert.notEqual(rounds[0].id, rounds[1].id, "rmcp: the retry reused the request id");
});

test("rmcp client in auto lifecycle: server/discover picks 2026-07-28", { timeout: 60_000 }, () => {
  const report = rmcp("alice", ["--auto"]);
  assertOAuth(report);
  assert.equal(report.protocol_version, MODERN, `rmcp: negotiated ${report.protocol_version}`);
  assertAliceCalls(report);
  assertStatelessWire(report.wire);
});

test("rmcp client pinned to 2026-07-28 as bob: get_vibe greets Bob, list_clients is refused", { timeout: 60_000 }, () => {
  const report = rmcp("bob", ["--pin", MODERN]);
  assert.equal(report.protocol_version, MODERN);
  assert.equal(report.get_vibe?.[0]?.text, "Curious vibes for Bob in Lisbon.");
  assert.equal(report.get_vibe_elicited?.[0]?.text, "Curious vibes for Bob in Lisbon.");
  assert.match(report.list_clients?.error ?? "", /insufficient scope/i, `rmcp: list_clients for bob: ${JSON.stringify(report.list_clients)}`);
  assert.ok(!report.list_clients.content);
  assertStatelessWire(report.wire);
});

test("rmcp client pinned to a revision the server does not speak fails with the server's list", { timeout: 60_000 }, () => {
  const run = rmcp("alice", ["--pin", "2027-01-01"], { expectSuccess: false });
  assert.notEqual(run.status, 0, `rmcp connected pinned to 2027-01-01:\n${run.stdout}`);
  // The server's -32022 names what it supports (data.supported); rmcp reports both lists.
  assert.match(run.stderr, /server\/discover \(pinned\): no compatible protocol version/, run.stderr);
  assert.match(run.stderr, /server: \[ProtocolVersion\("2026-07-28"\)\]/, run.stderr);
});
