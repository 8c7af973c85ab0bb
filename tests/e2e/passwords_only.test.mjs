// A passwords-only worker (built without the default `upstream` feature, build/no-default/) in
// workerd: people sign in with a password and the app gets its tokens; no page offers a
// provider and /oauth/callback is not there; configured for upstream sign-in anyway, it refuses
// to serve and names each setting (the native twin is tests/without_upstream.rs).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { codeFor, exchange } from "./lib/signin.mjs";
import { ROOT, startWorker } from "./worker.mjs";

/** wrangler.toml serving build/no-default/ (what `make wasm` builds there). */
function passwordsOnlyConfig() {
  const dir = join(ROOT, "build");
  assert.ok(existsSync(join(dir, "no-default/index.js")), "build/no-default/ missing: run make wasm");
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8")
    .replace(/^main = "build\/index.js"$/m, 'main = "no-default/index.js"')
    .replace(/^\[build\][^\[]*/m, "")
    .replace(/^\[env\.[\s\S]*$/m, "");
  assert.match(toml, /^main = "no-default\/index.js"$/m);
  const path = join(dir, "e2e-passwords-only.toml");
  writeFileSync(path, toml);
  return path;
}

const workers = [];
after(async () => {
  await Promise.all(workers.map((w) => w.stop()));
});

test("passwords only: sign-in and tokens work, no provider is offered or called back", async () => {
  const worker = await startWorker({ config: passwordsOnlyConfig() });
  workers.push(worker);
  const page = await (await fetch(`${worker.url}/account`)).text();
  assert.match(page, /name="username"/);
  assert.doesNotMatch(page, /value="upstream"|Continue with/);
  assert.equal((await fetch(`${worker.url}/oauth/callback?state=s&code=c`)).status, 404);
  const res = await exchange(worker.url, await codeFor(worker.url, "Passwords only"));
  const tokens = await res.json();
  assert.equal(res.status, 200, JSON.stringify(tokens));
  assert.ok(tokens.access_token && tokens.refresh_token);
});

test("passwords only, configured for upstream sign-in: it refuses to serve and names the settings", async () => {
  const worker = await startWorker({
    config: passwordsOnlyConfig(),
    vars: { UPSTREAM_GITHUB_CLIENT_ID: "gh-client", UPSTREAM_GITHUB_CLIENT_SECRET: "gh-secret", ACCESS_RULES: '[{"github":"octocat","scopes":"mcp"}]' },
  });
  workers.push(worker);
  const res = await fetch(`${worker.url}/.well-known/oauth-protected-resource/mcp`);
  const body = await res.json();
  assert.equal(res.status, 500);
  assert.equal(body.error, "server_misconfigured");
  for (const name of ["UPSTREAM_GITHUB_CLIENT_ID", "UPSTREAM_GITHUB_CLIENT_SECRET", "ACCESS_RULES"]) {
    assert.match(body.error_description, new RegExp(`${name}: this build has no upstream sign-in`));
  }
});
