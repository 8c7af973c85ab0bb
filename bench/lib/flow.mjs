// The real OAuth flow against a served worker: discovery from the 401, DCR, authorize (each
// server's own pages), PKCE S256 code exchange, MCP initialize and a checked tools/call.
import { createHash } from "node:crypto";

export const REDIRECT = "http://127.0.0.1:9999/callback";
export const VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
export const CHALLENGE = createHash("sha256").update(VERIFIER).digest("base64url");
export const PROTOCOL = "2025-11-25";
export const MCP_HEADERS = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
  "mcp-protocol-version": PROTOCOL,
};
export const ECHO_BODY = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "echo", arguments: { message: "hello" } } });
export const MODERN = "2026-07-28";
/** A 2026-07-28 tools/call: the envelope in `_meta`, the standard headers mirroring the body. */
export const MODERN_ECHO_BODY = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: {
  name: "echo", arguments: { message: "hello" },
  _meta: { "io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": { name: "bench", version: "1" } } } });
export function modernHeaders(token) {
  return { "content-type": "application/json", accept: "application/json, text/event-stream",
    "mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": "echo", authorization: `Bearer ${token}` };
}
export const DCR_BODY = JSON.stringify({ redirect_uris: [REDIRECT], client_name: "bench", token_endpoint_auth_method: "none" });

function fail(what, res, body) {
  throw new Error(`${what}: HTTP ${res.status}\n${body?.slice?.(0, 800) ?? ""}`);
}

export async function expectStatus(what, res, status) {
  const body = await res.text();
  if (res.status !== status) fail(what, res, body);
  return body;
}

/** A JSON-RPC result from a JSON or an SSE response body. */
export function rpcResult(body) {
  const text = body.trim();
  if (text.startsWith("{")) return JSON.parse(text);
  for (const line of text.split("\n")) if (line.startsWith("data:")) return JSON.parse(line.slice(5));
  throw new Error(`no JSON-RPC message in ${text.slice(0, 300)}`);
}

/** Discovery: 401 from /mcp → protected resource metadata → authorization server metadata. */
export async function discover(base) {
  const r = await fetch(`${base}/mcp`, { method: "POST", headers: MCP_HEADERS, body: ECHO_BODY });
  await expectStatus("unauthenticated POST /mcp", r, 401);
  const www = r.headers.get("www-authenticate") ?? "";
  const prmUrl = www.match(/resource_metadata="([^"]+)"/)?.[1];
  if (!prmUrl) throw new Error(`401 without resource_metadata: ${www}`);
  const prm = JSON.parse(await expectStatus("resource metadata", await fetch(prmUrl), 200));
  const issuer = prm.authorization_servers[0];
  const asUrl = `${issuer.replace(/\/$/, "")}/.well-known/oauth-authorization-server`;
  const as = JSON.parse(await expectStatus("authorization server metadata", await fetch(asUrl), 200));
  return { prmUrl, prm, as, resource: prm.resource };
}

export async function register(meta) {
  const r = await fetch(meta.as.registration_endpoint, { method: "POST", headers: { "content-type": "application/json" }, body: DCR_BODY });
  return JSON.parse(await expectStatus("DCR", r, 201)).client_id;
}

export function authorizeUrl(meta, clientId) {
  const q = new URLSearchParams({
    response_type: "code", client_id: clientId, redirect_uri: REDIRECT, state: "bench",
    code_challenge: CHALLENGE, code_challenge_method: "S256", scope: "mcp", resource: meta.resource,
  });
  return `${meta.as.authorization_endpoint}?${q}`;
}

function codeFrom(location) {
  const code = new URL(location, "http://x").searchParams.get("code");
  if (!code) throw new Error(`redirect without a code: ${location}`);
  return code;
}

export function hidden(html, name) {
  const m = html.match(new RegExp(`name="${name}" value="([^"]*)"`));
  if (!m) throw new Error(`no hidden field ${name} in page:\n${html.slice(0, 600)}`);
  return m[1].replaceAll("&quot;", '"').replaceAll("&#34;", '"').replaceAll("&#39;", "'").replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&");
}

class Jar {
  constructor() { this.map = new Map(); }
  take(res) {
    for (const c of res.headers.getSetCookie()) {
      const [kv] = c.split(";");
      const i = kv.indexOf("=");
      this.map.set(kv.slice(0, i).trim(), kv.slice(i + 1));
    }
  }
  header() { return [...this.map].map(([k, v]) => `${k}=${v}`).join("; "); }
}

const form = (o) => new URLSearchParams(o).toString();
const FORM = { "content-type": "application/x-www-form-urlencoded" };

/**
 * mcp-edge's authorize: sign-in page → POST signin (alice/alice) → consent page → POST approve
 * → 302 with the code (tests/common/mod.rs `sign_in_and_approve`). With a signed-in jar, GET
 * /authorize may go straight to the consent page, which is how codes are minted in bulk.
 */
export async function authorizeOurs(meta, clientId, jar = new Jar()) {
  const url = authorizeUrl(meta, clientId);
  let r = await fetch(url, { headers: { cookie: jar.header() }, redirect: "manual" });
  let html = await expectStatus("GET /authorize", r, 200);
  jar.take(r);
  if (!html.includes('value="approve"')) {
    r = await fetch(url, {
      method: "POST", redirect: "manual", headers: { ...FORM, cookie: jar.header() },
      body: form({ request: hidden(html, "request"), csrf: hidden(html, "csrf"), action: "signin", username: "alice", password: "alice" }),
    });
    html = await expectStatus("POST /authorize signin", r, 200);
    jar.take(r);
  }
  r = await fetch(url, {
    method: "POST", redirect: "manual", headers: { ...FORM, cookie: jar.header() },
    body: form({ request: hidden(html, "request"), csrf: hidden(html, "csrf"), action: "approve" }),
  });
  await expectStatus("POST /authorize approve", r, 302);
  jar.take(r);
  return { code: codeFrom(r.headers.get("location")), jar };
}

/** The baseline's benchmark-only /authorize approves at once: 302 with the code. */
export async function authorizeBaseline(meta, clientId, jar = new Jar()) {
  const r = await fetch(authorizeUrl(meta, clientId), { redirect: "manual" });
  await expectStatus("GET /authorize (auto-approve)", r, 302);
  return { code: codeFrom(r.headers.get("location")), jar };
}

export function tokenBody(code, clientId) {
  return form({ grant_type: "authorization_code", code, redirect_uri: REDIRECT, code_verifier: VERIFIER, client_id: clientId });
}

export function refreshBody(token, clientId) {
  return form({ grant_type: "refresh_token", refresh_token: token, client_id: clientId });
}

export async function refresh(meta, token, clientId) {
  const r = await fetch(meta.as.token_endpoint, { method: "POST", headers: FORM, body: refreshBody(token, clientId) });
  return JSON.parse(await expectStatus("refresh", r, 200));
}

export async function exchange(meta, code, clientId) {
  const r = await fetch(meta.as.token_endpoint, { method: "POST", headers: FORM, body: tokenBody(code, clientId) });
  return JSON.parse(await expectStatus("token exchange", r, 200));
}

/** initialize (+ notifications/initialized); returns the session id, if the server issues one. */
export async function initialize(base, token) {
  const headers = { ...MCP_HEADERS, authorization: `Bearer ${token}` };
  const r = await fetch(`${base}/mcp`, {
    method: "POST", headers,
    body: JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: "bench", version: "1" } } }),
  });
  const body = await expectStatus("initialize", r, 200);
  const msg = rpcResult(body);
  if (!msg.result) throw new Error(`initialize failed: ${body.slice(0, 400)}`);
  const session = r.headers.get("mcp-session-id");
  if (session) headers["mcp-session-id"] = session;
  const n = await fetch(`${base}/mcp`, { method: "POST", headers, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) });
  await n.arrayBuffer();
  if (n.status !== 202 && n.status !== 200) fail("notifications/initialized", n, "");
  return session;
}

export function authHeaders(token, session) {
  return { ...MCP_HEADERS, authorization: `Bearer ${token}`, ...(session ? { "mcp-session-id": session } : {}) };
}

export async function echoCall(base, headers) {
  const r = await fetch(`${base}/mcp`, { method: "POST", headers, body: ECHO_BODY });
  const body = await expectStatus("tools/call echo", r, 200);
  const text = rpcResult(body)?.result?.content?.[0]?.text;
  if (text !== "Echo: hello") throw new Error(`unexpected echo result: ${body.slice(0, 400)}`);
  return r;
}

/** A checked 2026-07-28 tools/call (no session). */
export async function modernEchoCall(base, headers) {
  const r = await fetch(`${base}/mcp`, { method: "POST", headers, body: MODERN_ECHO_BODY });
  const body = await expectStatus("2026-07-28 tools/call echo", r, 200);
  const result = rpcResult(body)?.result;
  if (result?.content?.[0]?.text !== "Echo: hello" || result?.resultType !== "complete") {
    throw new Error(`unexpected 2026-07-28 echo result: ${body.slice(0, 400)}`);
  }
  return r;
}

/** Runs `fn(i)` for i < n with `concurrency` in flight. */
export async function pool(n, concurrency, fn) {
  const out = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= n) return;
      out[i] = await fn(i);
    }
  }));
  return out;
}

export { Jar };
