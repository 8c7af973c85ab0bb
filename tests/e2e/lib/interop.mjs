// Shared steps for the interop and replay tests: PKCE, dynamic registration, the authorization
// request (completed in Chromium through lib/browser.mjs), the token exchange, and a minimal
// Streamable HTTP client speaking raw JSON-RPC over fetch, the way the replayed clients do.
// Every failure names the client and the step, so a red test says who broke where.
import { createHash, randomBytes } from "node:crypto";
import { spawn } from "node:child_process";
import { launch, signIn } from "./browser.mjs";

export const BASE = process.env.E2E_URL;
export const MCP_URL = `${BASE}/mcp`;

export const b64url = (buf) => Buffer.from(buf).toString("base64url");

export function pkce() {
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash("sha256").update(verifier).digest());
  return { verifier, challenge };
}

/** Decodes a JWT's claims (no verification: the worker's own tests cover signatures). */
export function claims(jwt) {
  return JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString());
}

/** Throws `[who] step: detail` — the shape every interop failure takes. */
export function fail(who, step, detail) {
  throw new Error(`[${who}] ${step}: ${detail}`);
}

export async function json(who, step, res, status = 200) {
  const text = await res.text();
  if (res.status !== status) fail(who, step, `expected HTTP ${status}, got ${res.status}: ${text.slice(0, 500)}`);
  try {
    return JSON.parse(text);
  } catch {
    return fail(who, step, `response is not JSON: ${text.slice(0, 200)}`);
  }
}

export async function getJson(who, url, headers = {}) {
  return json(who, `GET ${url}`, await fetch(url, { headers: { accept: "application/json", ...headers } }));
}

/** RFC 7591 anonymous registration; the response must be 201 with a client_id. */
export async function register(who, metadata, { base = BASE, endpoint = `${base}/register`, headers = {} } = {}) {
  const res = await fetch(endpoint, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", ...headers },
    body: JSON.stringify(metadata),
  });
  const body = await json(who, "dynamic client registration", res, 201);
  if (typeof body.client_id !== "string" || !body.client_id) fail(who, "dynamic client registration", `no client_id in ${JSON.stringify(body)}`);
  return body;
}

export function authorizeUrl({ endpoint = `${BASE}/authorize`, clientId, redirectUri, challenge, state, scope, resource }) {
  const u = new URL(endpoint);
  u.searchParams.set("response_type", "code");
  u.searchParams.set("client_id", clientId);
  u.searchParams.set("redirect_uri", redirectUri);
  u.searchParams.set("code_challenge", challenge);
  u.searchParams.set("code_challenge_method", "S256");
  if (state !== undefined) u.searchParams.set("state", state);
  if (scope !== undefined) u.searchParams.set("scope", scope);
  if (resource !== undefined) u.searchParams.set("resource", resource);
  return u.href;
}

/**
 * Runs the sign-in and consent pages in Chromium (lib/browser.mjs `signIn`) and returns the URL
 * the worker redirected to, without loading it (claude.ai, or a loopback port nobody listens on).
 *
 * The redirect is read from the worker's own 302 answer to the consent POST, which the browser
 * context fetches on the page's behalf; the page is then sent to the worker's root instead.
 * (Routing the redirect *target* — signIn's `redirectPrefix` mode — proved racy with Debian's
 * Chromium: the first attempt at the target bypasses the route, fails, and signIn returns early.)
 */
export async function signInCapture(url, { username = "alice", redirectPrefix, base = BASE } = {}) {
  const context = await launch();
  let captured;
  try {
    await context.route((u) => u.href.startsWith(`${base}/authorize`), async (route) => {
      if (route.request().method() !== "POST") return route.continue();
      const res = await route.fetch({ maxRedirects: 0 });
      const location = res.headers().location;
      if (res.status() >= 300 && res.status() < 400 && location && (!redirectPrefix || location.startsWith(redirectPrefix))) {
        captured = location;
        return route.fulfill({ status: 303, headers: { location: `${base}/?redirect-captured-by-test` } });
      }
      return route.fulfill({ response: res });
    });
    const final = await signIn(url, { username, follow: true, context });
    return captured ?? final;
  } finally {
    await context.close();
  }
}

/**
 * Signs in (Chromium) on the authorization URL and returns the redirect's query parameters,
 * checking that it went back to `redirectUri` with a code, the same state and our issuer.
 */
export async function authorizeInBrowser(who, url, redirectUri, { username = "alice", state } = {}) {
  let final;
  try {
    final = await signInCapture(url, { username, redirectPrefix: redirectUri });
  } catch (e) {
    fail(who, "sign-in and consent in Chromium", e.message);
  }
  const back = new URL(final);
  if (`${back.origin}${back.pathname}` !== redirectUri.split("?")[0]) fail(who, "authorization redirect", `went to ${final}, expected ${redirectUri}`);
  const p = back.searchParams;
  if (p.get("error")) fail(who, "authorization redirect", `error=${p.get("error")} (${p.get("error_description")})`);
  if (!p.get("code")) fail(who, "authorization redirect", `no code in ${final}`);
  if (state !== undefined && p.get("state") !== state) fail(who, "authorization redirect", `state ${p.get("state")} != ${state}`);
  if (p.get("iss") !== BASE) fail(who, "authorization redirect", `iss ${p.get("iss")} != ${BASE} (RFC 9207)`);
  return p;
}

export async function tokenRequest(who, step, params, { endpoint = `${BASE}/token`, headers = {}, status = 200 } = {}) {
  const res = await fetch(endpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json", ...headers },
    body: new URLSearchParams(params).toString(),
  });
  return { res, body: await json(who, step, res, status) };
}

export async function exchangeCode(who, { clientId, code, verifier, redirectUri, resource, endpoint }) {
  const params = { grant_type: "authorization_code", code, code_verifier: verifier, redirect_uri: redirectUri, client_id: clientId };
  if (resource !== undefined) params.resource = resource;
  const { body } = await tokenRequest(who, "token exchange (authorization_code + PKCE)", params, { endpoint });
  if (body.token_type !== "Bearer" || !body.access_token || !body.refresh_token) fail(who, "token exchange", `unexpected token response ${JSON.stringify(body)}`);
  return body;
}

/** The whole browser flow for a registered (or static) public client: returns the token response. */
export async function obtainToken(who, { clientId, redirectUri, scope, resource = MCP_URL, username = "alice" }) {
  const { verifier, challenge } = pkce();
  const state = b64url(randomBytes(12));
  const url = authorizeUrl({ clientId, redirectUri, challenge, state, scope, resource });
  const p = await authorizeInBrowser(who, url, redirectUri, { username, state });
  return exchangeCode(who, { clientId, code: p.get("code"), verifier, redirectUri, resource });
}

/** Parses a Streamable HTTP response body: one JSON message, or the messages of an SSE stream. */
function messages(contentType, text) {
  if ((contentType ?? "").startsWith("text/event-stream")) {
    return text.split(/\r?\n\r?\n/).map((ev) => ev.split(/\r?\n/).filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n"))
      .filter(Boolean).map((d) => JSON.parse(d));
  }
  return text ? [JSON.parse(text)] : [];
}

/**
 * A bare Streamable HTTP MCP session over fetch (what a hand-written client does): initialize,
 * notifications/initialized, then requests; each returns the JSON-RPC result or fails naming
 * `who` and the method.
 */
export async function mcpSession(who, token, { url = MCP_URL, protocolVersion = "2025-06-18", extraHeaders = {} } = {}) {
  let sessionId;
  let negotiated;
  let nextId = 1;
  const send = async (body) => {
    const headers = {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(sessionId ? { "mcp-session-id": sessionId } : {}),
      ...(negotiated ? { "mcp-protocol-version": negotiated } : {}),
      ...extraHeaders,
    };
    return fetch(url, { method: "POST", headers, body: JSON.stringify(body) });
  };
  const request = async (method, params = {}) => {
    const id = nextId++;
    const res = await send({ jsonrpc: "2.0", id, method, params });
    const text = await res.text();
    if (res.status !== 200) fail(who, `MCP ${method}`, `HTTP ${res.status} ${res.headers.get("www-authenticate") ?? ""} ${text.slice(0, 300)}`);
    const reply = messages(res.headers.get("content-type"), text).find((m) => m.id === id);
    if (!reply) fail(who, `MCP ${method}`, `no response with id ${id} in ${text.slice(0, 300)}`);
    if (reply.error) fail(who, `MCP ${method}`, `JSON-RPC error ${JSON.stringify(reply.error)}`);
    return { result: reply.result, res };
  };
  const init = await request("initialize", {
    protocolVersion,
    capabilities: {},
    clientInfo: { name: who, version: "1.0.0" },
  });
  sessionId = init.res.headers.get("mcp-session-id");
  negotiated = init.result.protocolVersion;
  const note = await send({ jsonrpc: "2.0", method: "notifications/initialized" });
  if (note.status !== 202) fail(who, "MCP notifications/initialized", `expected 202, got ${note.status}`);
  return {
    initialize: init.result,
    sessionId,
    request: async (method, params) => (await request(method, params)).result,
    callTool: async (name, args = {}) => (await request("tools/call", { name, arguments: args })).result,
  };
}

/** The text of a tools/call result's first text block. */
export const text = (result) => result?.content?.find((c) => c.type === "text")?.text;

/** Spawns a child in its own process group, keeping its output; `stop()` ends the group. */
export function start(cmd, args, { env = {}, cwd, stdin = "ignore" } = {}) {
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: [stdin, "pipe", "pipe"], detached: true });
  const out = [];
  const err = [];
  child.stdout.on("data", (d) => out.push(d));
  child.stderr.on("data", (d) => err.push(d));
  const exited = new Promise((res) => child.on("close", (code, signal) => res({ code, signal })));
  return {
    child,
    exited,
    stdout: () => Buffer.concat(out).toString(),
    stderr: () => Buffer.concat(err).toString(),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try { process.kill(-child.pid, "SIGTERM"); } catch {}
      const t = setTimeout(() => { try { process.kill(-child.pid, "SIGKILL"); } catch {} }, 3000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Polls `check` until it returns a truthy value or `ms` pass; then fails naming who and step. */
export async function waitFor(who, step, check, ms = 30_000, every = 100) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) fail(who, step, `timed out after ${ms} ms`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/**
 * A loopback callback listener like the ones native clients (Claude Code, the Inspector CLI,
 * mcp-remote) run: answers `path` with a small page and resolves `received` with the full URL.
 */
export async function callbackServer(path = "/callback") {
  const { createServer } = await import("node:http");
  let resolve;
  const received = new Promise((r) => { resolve = r; });
  const server = createServer((req, res) => {
    const url = new URL(req.url, `http://${req.headers.host}`);
    if (url.pathname !== path) { res.writeHead(404).end(); return; }
    res.writeHead(200, { "content-type": "text/plain" }).end("You can close this window.");
    resolve(url);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  return {
    port,
    received,
    uri: (host = "127.0.0.1") => `http://${host}:${port}${path}`,
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
  };
}
