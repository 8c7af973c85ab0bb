// Discovery documents served by the worker in workerd (RFC 9728, RFC 8414).
import { test } from "node:test";
import assert from "node:assert/strict";

const BASE = process.env.E2E_URL;

for (const path of ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp", "/mcp/.well-known/oauth-protected-resource"]) {
  test(`PRM at ${path}`, async () => {
    const r = await fetch(BASE + path);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("access-control-allow-origin"), "*");
    const doc = await r.json();
    assert.equal(doc.resource, `${BASE}/mcp`);
    assert.deepEqual(doc.authorization_servers, [BASE]);
    assert.ok(doc.scopes_supported.includes("mcp"));
    assert.deepEqual(doc.bearer_methods_supported, ["header"]);
  });
}

test("unknown path is a JSON 404", async () => {
  const r = await fetch(`${BASE}/nope`);
  assert.equal(r.status, 404);
  assert.equal((await r.json()).error, "not_found");
});

test("wrong method is 405 with Allow", async () => {
  const r = await fetch(`${BASE}/.well-known/oauth-protected-resource`, { method: "POST" });
  assert.equal(r.status, 405);
  assert.match(r.headers.get("allow"), /GET/);
});
