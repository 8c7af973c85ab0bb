// `make doctor` (scripts/doctor.mjs) against the development worker: every check passes, with and
// without TOKEN; and through small loopback proxies that break one thing each — a 403 HTML page
// for the Claude-User User-Agent (what Cloudflare's "Block AI bots" does), a protected resource
// metadata `resource` rewritten to another URL, nothing listening — it fails, exits non-zero
// and names the cause.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer, request as httpRequest } from "node:http";
import { join } from "node:path";
import { ROOT, freePort } from "./worker.mjs";
import { MCP_URL, claims, obtainToken, register } from "./lib/interop.mjs";

const BASE = process.env.E2E_URL;
const NODE = join(ROOT, "node_modules/.bin/node");
const DOCTOR = join(ROOT, "scripts/doctor.mjs");

/** Runs the doctor on `url`; resolves with { code, out } (stdout and stderr together). */
function doctor(url, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [DOCTOR, url], { cwd: ROOT, env: { ...process.env, TOKEN: "", NO_COLOR: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => { out += d; });
    child.stderr.on("data", (d) => { out += d; });
    const killer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("error", reject);
    child.on("exit", (code, signal) => { clearTimeout(killer); resolve({ code: code ?? signal, out }); });
  });
}

/** The output with its line wrapping undone, for matching phrases of the fix paragraphs. */
const flat = (out) => out.replace(/\s+/g, " ");

/** The ✔/✖ line of check `n` in the doctor's output. */
const line = (out, n) => out.split("\n").find((l) => new RegExp(`^[✔✖–] ${n}\\. `).test(l)) ?? "";

/**
 * A forwarding proxy on 127.0.0.1 in front of the worker. It keeps the Host header (the worker
 * builds its URLs from it, so the metadata names the proxy's URL); `intercept(req, body)` may
 * answer instead ({ status, headers, body }), `rewrite(req, res, body)` may change the worker's
 * answer body.
 */
async function startProxy({ intercept, rewrite } = {}) {
  const target = new URL(BASE);
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const own = intercept?.(req, body);
      if (own) {
        res.writeHead(own.status, own.headers).end(own.body);
        return;
      }
      const up = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
        const parts = [];
        r.on("data", (c) => parts.push(c));
        r.on("end", () => {
          let out = Buffer.concat(parts);
          const headers = { ...r.headers };
          const changed = rewrite?.(req, r, out);
          if (changed !== undefined) {
            out = Buffer.from(changed);
            headers["content-length"] = String(out.length);
            delete headers["transfer-encoding"];
          }
          res.writeHead(r.statusCode, headers).end(out);
        });
      });
      up.on("error", (e) => res.writeHead(502).end(String(e)));
      up.end(body);
    });
  });
  await new Promise((res, rej) => { server.once("error", rej); server.listen(0, "127.0.0.1", res); });
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, close: () => new Promise((res) => { server.closeAllConnections?.(); server.close(() => res()); }) };
}

const proxies = [];
after(() => Promise.all(proxies.map((p) => p.close())));

test("doctor: every check passes against the development worker, exit 0", { timeout: 60_000 }, async () => {
  const { code, out } = await doctor(`${BASE}/mcp`);
  assert.equal(code, 0, `doctor exited ${code}:\n${out}`);
  for (let n = 1; n <= 7; n++) assert.match(line(out, n), /^✔ /, `check ${n} did not pass:\n${out}`);
  assert.match(out, /7 passed, 0 failed/, out);
  assert.match(line(out, 2), /401 Bearer resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource\/mcp"/, out);
  assert.match(line(out, 6), /server\/discover \(2026-07-28\) and initialize \(2025-11-25\) both get the 401 challenge/, out);
  assert.match(out, /TOKEN is not set/, out);
});

test("doctor with TOKEN: server/discover lists 2026-07-28, initialize opens a session, exit 0", { timeout: 90_000 }, async () => {
  const who = "doctor TOKEN";
  const redirectUri = "http://127.0.0.1:9/callback";
  const client = await register(who, { redirect_uris: [redirectUri], client_name: "mcp doctor test", grant_types: ["authorization_code"], token_endpoint_auth_method: "none" });
  const t = await obtainToken(who, { clientId: client.client_id, redirectUri });
  assert.equal(claims(t.access_token).aud, MCP_URL);
  const { code, out } = await doctor(MCP_URL, { TOKEN: t.access_token });
  assert.equal(code, 0, `doctor exited ${code}:\n${out}`);
  assert.match(line(out, 6), /^✔ 6\. Protocol: with TOKEN: server\/discover → supportedVersions \[[^\]]*"2026-07-28"[^\]]*\]; initialize → protocolVersion 2025-11-25, Mcp-Session-Id/, out);
  assert.ok(!out.includes(t.access_token), "the doctor printed the token");
  // A token that is not valid: the doctor says the server refused it.
  const bad = await doctor(MCP_URL, { TOKEN: "not-a-token" });
  assert.notEqual(bad.code, 0, bad.out);
  assert.match(line(bad.out, 6), /^✖ 6\. .*401.*invalid_token.*with TOKEN/, bad.out);
});

test("doctor: a 403 HTML page for Claude-User (Cloudflare's bot blocking) fails and names it", { timeout: 60_000 }, async () => {
  const proxy = await startProxy({
    intercept: (req) => (/Claude-User/.test(req.headers["user-agent"] ?? "")
      ? { status: 403, headers: { "content-type": "text/html; charset=UTF-8" }, body: "<!DOCTYPE html><html><head><title>Access denied</title></head><body><h1>Sorry, you have been blocked</h1></body></html>" }
      : null),
  });
  proxies.push(proxy);
  const { code, out } = await doctor(`${proxy.url}/mcp`);
  assert.notEqual(code, 0, `doctor exited 0 through the blocking proxy:\n${out}`);
  for (let n = 1; n <= 6; n++) assert.match(line(out, n), /^✔ /, `check ${n} should still pass (a plain client is not blocked):\n${out}`);
  assert.match(line(out, 7), /^✖ 7\. Hosted-client User-Agents: Claude-User: 403 text\/html "Access denied" on POST \/mcp, GET PRM, GET AS metadata \(a plain client gets 401, 200, 200\)$/, out);
  assert.match(flat(out), /Claude-User is refused while a plain client is not, and an HTML 403 is what Cloudflare's edge sends/, out);
  assert.match(flat(out), /Cloudflare's bot protection \("Block AI bots" \/ AI Crawl Control, or Super Bot Fight Mode\) is blocking the hosted clients/, out);
  assert.match(flat(out), /with action Skip, skipping "All Super Bot Fight Mode rules"/, out);
  assert.match(out, /http\.request\.uri\.path eq "\/mcp"/, out);
  assert.ok(!/ChatGPT-User: /.test(out), `ChatGPT-User was not blocked, yet reported:\n${out}`);
  assert.match(out, /6 passed, 1 failed/, out);
});

test("doctor: a protected resource metadata `resource` that is not the MCP URL fails and names the mismatch", { timeout: 60_000 }, async () => {
  const wrong = "https://elsewhere.example/mcp";
  const proxy = await startProxy({
    rewrite: (req, res, body) => {
      if (!req.url.startsWith("/.well-known/oauth-protected-resource") || res.statusCode !== 200) return undefined;
      const doc = JSON.parse(body.toString("utf8"));
      doc.resource = wrong;
      return JSON.stringify(doc);
    },
  });
  proxies.push(proxy);
  const mcp = `${proxy.url}/mcp`;
  const { code, out } = await doctor(mcp);
  assert.notEqual(code, 0, `doctor exited 0 with a wrong resource:\n${out}`);
  assert.match(line(out, 3), new RegExp(`^✖ 3\\. Protected resource metadata: .*resource is "${wrong.replace(/[.]/g, "\\.")}", not the MCP URL "${mcp.replace(/[.]/g, "\\.")}"`), out);
  assert.match(flat(out), /clients compare it byte for byte/, out);
  // Both metadata URLs are reported.
  assert.match(flat(out), /root PRM \(\/\.well-known\/oauth-protected-resource\): resource is/, out);
  assert.match(flat(out), /path-suffixed PRM \(\/\.well-known\/oauth-protected-resource\/mcp\): resource is/, out);
});

test("doctor: nothing listening → a clear connection error, the rest skipped, exit non-zero", { timeout: 30_000 }, async () => {
  const port = await freePort();
  const { code, out } = await doctor(`http://127.0.0.1:${port}/mcp`);
  assert.notEqual(code, 0, out);
  assert.match(line(out, 1), /^✖ 1\. HTTPS: connection refused by 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/, out);
  assert.match(out, /6 skipped/, out);
});

test("doctor: usage error without a URL exits 2", { timeout: 30_000 }, async () => {
  const { code, out } = await doctor("");
  assert.equal(code, 2, out);
  assert.match(out, /usage: /, out);
});
