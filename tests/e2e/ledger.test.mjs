// The ledger (Durable Objects) in workerd, and what happens when it cannot be reached: a code
// exchange answers 503 and issues nothing, and the same code works once the object is back
// (nothing was spent); a second redemption is then refused and revokes what the first issued.
// "Unreachable" is the worker started with its McpSessions binding pointing at a worker that is
// not running (wrangler's config for an object of another script), over the same local KV.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { codeFor, exchange as exchangeAt, form } from "./lib/signin.mjs";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, startWorker } from "./worker.mjs";

/** wrangler.toml with the object binding moved to a script that is not running. */
function unreachableConfig() {
  const dir = join(ROOT, "build");
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8")
    .replace(/^main = "build\/index.js"$/m, 'main = "index.js"')
    .replace(/^\[build\][^\[]*/m, "")
    .replace(/^class_name = "McpSessions"$/m, 'class_name = "McpSessions"\nscript_name = "mcp-edge-not-running"')
    .replace(/^\[\[migrations\]\][^\[]*/m, "")
    .replace(/^\[env\.[\s\S]*$/m, "");
  assert.match(toml, /script_name = "mcp-edge-not-running"/);
  const path = join(dir, "e2e-ledger-unreachable.toml");
  writeFileSync(path, toml);
  return path;
}

let worker;
after(async () => {
  await worker?.stop();
});

test("the ledger unreachable: the code exchange is a 503 with nothing issued, and the code still works after", async () => {
  // Each start on a port of its own (a stopped workerd may hold its port a moment longer); the
  // token endpoint does not care which origin the code was issued at.
  const persistDir = mkdtempSync(join(tmpdir(), "mcp-edge-ledger-"));
  worker = await startWorker({ persistDir });
  const flow = await codeFor(worker.url, "Ledger test");
  const { client_id } = flow;
  const exchange = () => exchangeAt(worker.url, flow);
  await worker.stop();

  // The same KV, the object unreachable.
  worker = await startWorker({ persistDir, config: unreachableConfig() });
  const down = await exchange();
  const body = await down.json();
  assert.equal(down.status, 503, JSON.stringify(body));
  assert.equal(body.error, "temporarily_unavailable");
  assert.equal(body.access_token, undefined);
  assert.equal(down.headers.get("cache-control"), "no-store");
  await worker.stop();

  // Back: the code was not spent.
  worker = await startWorker({ persistDir });
  const up = await exchange();
  const tokens = await up.json();
  assert.equal(up.status, 200, JSON.stringify(tokens));
  assert.ok(tokens.access_token && tokens.refresh_token);
  // Redeemed once: a second redemption is refused and revokes the grant (RFC 6749 §4.1.2).
  const again = await exchange();
  assert.equal(again.status, 400);
  assert.equal((await again.json()).error, "invalid_grant");
  const refreshed = await fetch(`${worker.url}/token`, form({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, client_id }));
  assert.equal(refreshed.status, 400);
  assert.equal((await refreshed.json()).error, "invalid_grant");
});
