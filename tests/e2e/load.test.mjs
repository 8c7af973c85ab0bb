// A bounded mixed load on 127.0.0.1 against its own worker: registrations, full sign-in and
// code exchanges, tool calls and refreshes, from 8 concurrent clients for LOAD_SECONDS (5).
// Every request has the status the flow expects (a 4xx fails the test as surely as a 5xx), and
// no grant is lost: every grant issued still refreshes afterwards.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { startWorker } from "./worker.mjs";

const SECONDS = Number(process.env.LOAD_SECONDS ?? 5);
const CONCURRENCY = 8;
const REDIRECT = "http://127.0.0.1:9/callback";

const b64 = (b) => Buffer.from(b).toString("base64url");

function hidden(html, name) {
  const m = html.match(new RegExp(`name="${name}" value="([^"]*)"`));
  if (!m) throw new Error(`no ${name} field in page: ${html.slice(0, 300)}`);
  return m[1].replaceAll("&quot;", '"').replaceAll("&amp;", "&");
}

class Jar {
  cookies = new Map();
  take(res) {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const i = pair.indexOf("=");
      this.cookies.set(pair.slice(0, i), pair.slice(i + 1));
    }
  }
  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

test(`mixed load for ${SECONDS} s: zero 5xx, no lost grants`, { timeout: 120_000 }, async () => {
  const worker = await startWorker();
  const base = worker.url;
  const statuses = new Map();
  const grants = [];
  let ops = 0;
  const count = (what, res) => {
    const key = `${what} ${res.status}`;
    statuses.set(key, (statuses.get(key) ?? 0) + 1);
    return res;
  };
  const unexpected = [];
  /** A request that must answer `expected`; anything else is recorded and ends this flow. */
  const call = async (what, url, init, expected = 200) => {
    const res = count(what, await fetch(url, { redirect: "manual", ...init }));
    if (res.status !== expected) {
      unexpected.push(`${what}: ${res.status} (expected ${expected}) ${(await res.clone().text()).slice(0, 200)}`);
      throw new Unexpected();
    }
    return res;
  };
  class Unexpected extends Error {}

  async function oneClient() {
    const reg = await call("register", `${base}/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ redirect_uris: [REDIRECT], client_name: "load" }) }, 201);
    const { client_id } = await reg.json();
    const verifier = b64(randomBytes(32));
    const challenge = b64(createHash("sha256").update(verifier).digest());
    const jar = new Jar();
    const q = new URLSearchParams({ response_type: "code", client_id, redirect_uri: REDIRECT, state: "s", code_challenge: challenge, code_challenge_method: "S256" });
    const page = await call("authorize", `${base}/authorize?${q}`);
    jar.take(page);
    let html = await page.text();
    const form = (fields) => ({ method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", cookie: jar.header() }, body: new URLSearchParams(fields).toString() });
    const signin = await call("signin", `${base}/authorize`, form({ request: hidden(html, "request"), csrf: hidden(html, "csrf"), action: "signin", username: "alice", password: "alice" }));
    jar.take(signin);
    html = await signin.text();
    const approve = await call("approve", `${base}/authorize`, form({ request: hidden(html, "request"), csrf: hidden(html, "csrf"), action: "approve" }), 302);
    const code = new URL(approve.headers.get("location")).searchParams.get("code");
    const tok = await call("token", `${base}/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ grant_type: "authorization_code", code, code_verifier: verifier, client_id, redirect_uri: REDIRECT }).toString() });
    let tokens = await tok.json();
    const mcp = (body, session) => call(body.method ?? "notify", `${base}/mcp`, { method: "POST", headers: { authorization: `Bearer ${tokens.access_token}`, "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25", ...(session ? { "mcp-session-id": session } : {}) }, body: JSON.stringify(body) });
    const init = await mcp({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "load", version: "1" } } });
    const session = init.headers.get("mcp-session-id");
    for (let i = 0; i < 5; i++) {
      const r = await mcp({ jsonrpc: "2.0", id: 2 + i, method: "tools/call", params: { name: "echo", arguments: { message: `m${i}` } } }, session);
      const body = await r.json();
      assert.equal(body.result?.content?.[0]?.text, `Echo: m${i}`);
    }
    const ref = await call("refresh", `${base}/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, client_id }).toString() });
    tokens = await ref.json();
    grants.push({ client_id, refresh_token: tokens.refresh_token });
    ops++;
  }

  const started = Date.now();
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() - started < SECONDS * 1000) {
        try {
          await oneClient();
        } catch (e) {
          if (!(e instanceof Unexpected)) throw e;
        }
      }
    }));
    const elapsed = (Date.now() - started) / 1000;
    // No lost grants: every refresh token handed out still works.
    for (const g of grants) {
      await call("verify-grant", `${base}/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: g.refresh_token, client_id: g.client_id }).toString() }).catch((e) => {
        if (!(e instanceof Unexpected)) throw e;
      });
    }
    const table = [...statuses].sort().map(([k, v]) => `${k.padEnd(22)} ${v}`).join("\n");
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    console.log(`load: ${ops} full client flows, ${total} requests in ${elapsed.toFixed(1)} s (${(total / elapsed).toFixed(0)} req/s), ${grants.length} grants verified\n${table}`);
    assert.deepEqual(unexpected, [], `unexpected statuses under load:\n${table}\n${worker.logs().slice(-3000)}`);
    assert.ok(grants.length > 0, "no flow completed");
  } finally {
    await worker.stop();
  }
});
