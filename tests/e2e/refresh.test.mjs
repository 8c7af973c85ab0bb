// Refresh rotation that converges, against the real worker in workerd: eight refreshes of one
// refresh token sent at once (a client retrying, tabs racing) all succeed with the same new
// refresh token, the grant keeps working, and a token two generations old still revokes it
// (RFC 9700 §4.14.2).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";

const BASE = process.env.E2E_URL;
const REDIRECT = "http://127.0.0.1:9/callback";
const form = (fields, cookie) => ({
  method: "POST",
  redirect: "manual",
  headers: { "content-type": "application/x-www-form-urlencoded", ...(cookie ? { cookie } : {}) },
  body: new URLSearchParams(fields).toString(),
});

function hidden(html, name) {
  const m = html.match(new RegExp(`name="${name}" value="([^"]*)"`));
  if (!m) throw new Error(`no ${name} field in page: ${html.slice(0, 300)}`);
  return m[1].replaceAll("&quot;", '"').replaceAll("&amp;", "&");
}

const cookiesOf = (res, jar = new Map()) => {
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(";");
    const i = pair.indexOf("=");
    jar.set(pair.slice(0, i), pair.slice(i + 1));
  }
  return jar;
};
const cookieHeader = (jar) => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");

/** Registration, sign-in as alice, consent and code exchange, with plain HTTP. */
async function signIn() {
  const reg = await fetch(`${BASE}/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ redirect_uris: [REDIRECT], client_name: "Refresh race" }) });
  assert.equal(reg.status, 201);
  const { client_id } = await reg.json();
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const q = new URLSearchParams({ response_type: "code", client_id, redirect_uri: REDIRECT, state: "s", code_challenge: challenge, code_challenge_method: "S256" });
  const page = await fetch(`${BASE}/authorize?${q}`);
  const jar = cookiesOf(page);
  let html = await page.text();
  const signed = await fetch(`${BASE}/authorize`, form({ request: hidden(html, "request"), csrf: hidden(html, "csrf"), action: "signin", username: "alice", password: "alice" }, cookieHeader(jar)));
  assert.equal(signed.status, 200);
  cookiesOf(signed, jar);
  html = await signed.text();
  const approved = await fetch(`${BASE}/authorize`, form({ request: hidden(html, "request"), csrf: hidden(html, "csrf"), action: "approve" }, cookieHeader(jar)));
  assert.equal(approved.status, 302);
  const code = new URL(approved.headers.get("location")).searchParams.get("code");
  const tok = await fetch(`${BASE}/token`, form({ grant_type: "authorization_code", code, code_verifier: verifier, client_id, redirect_uri: REDIRECT }));
  assert.equal(tok.status, 200);
  return { client_id, tokens: await tok.json() };
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
