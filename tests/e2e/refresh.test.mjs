// Refresh rotation that converges, against the real worker in workerd: eight refreshes of one
// refresh token sent at once (a client retrying, tabs racing) all succeed with the same new
// refresh token, the grant keeps working, and a token two generations old still revokes it
// (RFC 9700 §4.14.2).
import { test } from "node:test";
import assert from "node:assert/strict";
import { codeFor, exchange, form } from "./lib/signin.mjs";

const BASE = process.env.E2E_URL;

/** Registration, sign-in as alice, consent and code exchange, with plain HTTP. */
async function signIn() {
  const flow = await codeFor(BASE, "Refresh race");
  const tok = await exchange(BASE, flow);
  assert.equal(tok.status, 200);
  return { client_id: flow.client_id, tokens: await tok.json() };
}

const refresh = (client_id, refresh_token) => fetch(`${BASE}/token`, form({ grant_type: "refresh_token", refresh_token, client_id }));

async function toolsList(accessToken) {
  const res = await fetch(`${BASE}/mcp`, {
    method: "POST",
    headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/list" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: { _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} } } }),
  });
  return res.status;
}

test("eight concurrent refreshes of one token get one new token and the grant keeps working", { timeout: 60_000 }, async () => {
  const { client_id, tokens } = await signIn();
  const r0 = tokens.refresh_token;

  const answers = await Promise.all(Array.from({ length: 8 }, () => refresh(client_id, r0)));
  const bodies = await Promise.all(answers.map((r) => r.json()));
  assert.deepEqual(answers.map((r) => r.status), Array(8).fill(200), JSON.stringify(bodies));
  const r1 = bodies[0].refresh_token;
  assert.notEqual(r1, r0);
  assert.deepEqual(bodies.map((b) => b.refresh_token), Array(8).fill(r1), "every racer holds the same new token");
  for (const b of bodies) assert.equal(await toolsList(b.access_token), 200, "each access token works");

  // The grant is alive: the new token rotates again, and its access token calls a tool.
  const next = await refresh(client_id, r1);
  assert.equal(next.status, 200);
  const { refresh_token: r2, access_token } = await next.json();
  assert.equal(await toolsList(access_token), 200);

  // r0 is now two generations old: presenting it is a replay and revokes the grant.
  const replay = await refresh(client_id, r0);
  assert.equal(replay.status, 400);
  assert.equal((await replay.json()).error, "invalid_grant");
  const after = await refresh(client_id, r2);
  assert.equal(after.status, 400, "the grant is revoked: even the newest token is refused");
});
