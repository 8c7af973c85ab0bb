// The real wasm traps and recovers: in the conformance settings the `debug_trap` tool panics,
// which aborts the instance (panic = "abort" → `unreachable`). Our panic hook marks it critical
// and src/edge/entry.mjs resets it with wasm-bindgen's reset function before the next request.
import { test } from "node:test";
import assert from "node:assert/strict";

const URL_ = process.env.E2E_CONFORMANCE_URL;
const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };

async function rpc(session, method, params, id = 1) {
  const res = await fetch(`${URL_}/mcp`, {
    method: "POST",
    headers: { ...headers, ...(session ? { "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" } : {}) },
    body: JSON.stringify({ jsonrpc: "2.0", id, method, params }),
  });
  return res;
}

async function session() {
  const res = await rpc(null, "initialize", { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "trap-test", version: "1" } });
  assert.equal(res.status, 200);
  return res.headers.get("mcp-session-id");
}

test("a request that traps the wasm fails alone; the next ones are answered", async () => {
  const id = await session();
  const before = await rpc(id, "tools/list", {});
  assert.equal(before.status, 200);

  const trapped = await rpc(id, "tools/call", { name: "debug_trap", arguments: {} }, 2);
  assert.ok(trapped.status >= 500, `the trapping call fails (got ${trapped.status})`);
  await trapped.arrayBuffer();

  // The next request resets the instance, rebuilds the app and is served normally.
  for (let i = 0; i < 3; i++) {
    const res = await rpc(id, "tools/call", { name: "test_simple_text", arguments: {} }, 3 + i);
    assert.equal(res.status, 200, `request ${i + 1} after the trap`);
    const body = await res.json();
    assert.equal(body.result.content[0].text, "This is a simple text response for testing.");
  }
  const fresh = await session();
  assert.ok(fresh, "a new session can be opened after the reset");
});
