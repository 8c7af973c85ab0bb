// Registration throttling through Cloudflare's Rate Limiting binding (REGISTRATIONS in
// wrangler.toml, 1000 per 60 s locally), as workerd runs it: one redirect host's flood from one
// address is refused with 429, while another host's registrations go through.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./worker.mjs";

// Its own worker and KV: the flood must not fill the shared worker's client list.
let worker, BASE;
before(async () => { worker = await startWorker(); BASE = worker.url; });
after(async () => { await worker?.stop(); });

const register = (host) => fetch(`${BASE}/register`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ redirect_uris: [`https://${host}/cb`], client_name: "flood" }),
});

test("a registration flood for one redirect host hits the binding's limit; other hosts do not", { timeout: 120_000 }, async () => {
  const host = `flood-${Date.now()}.example`;
  const statuses = new Map();
  let refused = null;
  let sent = 0;
  // Well past the limit of 1000 per window (a window boundary may reset the count once).
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (sent < 2200 && !refused) {
      sent++;
      const res = await register(host);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status === 429) refused = res;
      else await res.arrayBuffer();
    }
  }));
  assert.ok(refused, `no 429 in ${sent} registrations: ${JSON.stringify([...statuses])}`);
  assert.equal(refused.headers.get("retry-after"), "60");
  assert.equal((await refused.json()).error, "too_many_requests");
  assert.ok((statuses.get(201) ?? 0) >= 1000, `the limit allows 1000 first: ${JSON.stringify([...statuses])}`);
  assert.deepEqual([...statuses.keys()].sort(), [201, 429], JSON.stringify([...statuses]));
  const other = await register(`other-${Date.now()}.example`);
  assert.equal(other.status, 201, "another redirect host has its own bucket");
});
