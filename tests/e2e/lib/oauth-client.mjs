// Pieces a real OAuth client of the MCP server needs in the tests: an in-memory
// OAuthClientProvider for the official TypeScript SDK, a loopback redirect (callback) server,
// a fetch that records every request and response, and a helper that names the failing step.
import { createServer } from "node:http";
import { randomBytes } from "node:crypto";

/**
 * Runs one step of a flow; a failure is rethrown with `label` ("client: step") in front of its
 * message, so the report says which client failed where.
 */
export async function step(label, fn) {
  try {
    return await fn();
  } catch (e) {
    if (e && typeof e === "object" && typeof e.message === "string") {
      // Keep the error (assertion diffs, codes); prefix the label in the message and in the
      // stack, which is what the test reporter prints.
      const original = e.message;
      try {
        const stack = e.stack; // read first: V8 formats it lazily from the current message
        e.message = `${label}: ${original}`;
        if (typeof stack === "string") e.stack = stack.replace(original, e.message);
      } catch {
        throw new Error(`${label}: ${original}`, { cause: e });
      }
      throw e;
    }
    throw new Error(`${label}: ${e}`);
  }
}

/**
 * A loopback redirect server: `http://127.0.0.1:<port>/callback`. `next()` resolves with the
 * query of the next request to /callback (the browser is shown a short page).
 */
export async function startCallbackServer() {
  const waiting = [];
  const arrived = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    if (url.pathname !== "/callback") {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end("<!doctype html><title>Done</title><p>Signed in. You can close this window.</p>");
    const w = waiting.shift();
    if (w) w(url.searchParams); else arrived.push(url.searchParams);
  });
  await new Promise((res, rej) => { server.once("error", rej); server.listen(0, "127.0.0.1", res); });
  const { port } = server.address();
  return {
    port,
    url: `http://127.0.0.1:${port}/callback`,
    /** The next callback's query parameters; rejects after `timeoutMs`. */
    next(timeoutMs = 30_000) {
      if (arrived.length) return Promise.resolve(arrived.shift());
      return new Promise((res, rej) => {
        const timer = setTimeout(() => {
          waiting.splice(waiting.indexOf(done), 1);
          rej(new Error(`no request reached the redirect URI ${this.url} within ${timeoutMs} ms`));
        }, timeoutMs);
        const done = (q) => { clearTimeout(timer); res(q); };
        waiting.push(done);
      });
    },
    close: () => new Promise((res) => { server.closeAllConnections?.(); server.close(() => res()); }),
  };
}

/**
 * `fetch` that records method, URL, request body, status and the WWW-Authenticate header of
 * every exchange (the SDK's transport uses it for MCP and for every OAuth request).
 */
export function recordingFetch() {
  const log = [];
  const f = async (input, init = {}) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const method = (init.method ?? (typeof input === "object" && "method" in input ? input.method : "GET")).toUpperCase();
    const body = typeof init.body === "string" ? init.body : init.body instanceof URLSearchParams ? init.body.toString() : undefined;
    const entry = { method, url, body };
    log.push(entry);
    const res = await fetch(input, init);
    entry.status = res.status;
    entry.wwwAuthenticate = res.headers.get("www-authenticate");
    return res;
  };
  f.log = log;
  /** Entries whose path (no origin) equals `path` (and method, if given). */
  f.find = (path, method) => log.filter((e) => new URL(e.url).pathname === path && (!method || e.method === method));
  return f;
}

/**
 * OAuthClientProvider with in-memory storage, for the SDK's StreamableHTTPClientTransport.
 * `redirectToAuthorization` only records the URL: the test drives the browser itself.
 */
export class MemoryOAuthProvider {
  constructor({ redirectUrl, clientName = "mcp-edge e2e (TypeScript SDK)", clientInformation, scope } = {}) {
    this._redirectUrl = redirectUrl;
    this._clientName = clientName;
    this._scope = scope;
    this.client = clientInformation;
    this.savedTokens = undefined;
    this.verifier = undefined;
    this.discovery = undefined;
    this.lastState = undefined;
    /** Every URL passed to redirectToAuthorization, in order. */
    this.authorizationUrls = [];
    /** Every set of tokens saved, in order. */
    this.tokenHistory = [];
    this.invalidated = [];
  }
  get redirectUrl() { return this._redirectUrl; }
  get clientMetadata() {
    return {
      client_name: this._clientName,
      redirect_uris: [this._redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
      ...(this._scope ? { scope: this._scope } : {}),
    };
  }
  state() {
    this.lastState = randomBytes(16).toString("base64url");
    return this.lastState;
  }
  clientInformation() { return this.client; }
  saveClientInformation(info) { this.client = info; }
  tokens() { return this.savedTokens; }
  saveTokens(tokens) { this.savedTokens = tokens; this.tokenHistory.push(tokens); }
  redirectToAuthorization(url) { this.authorizationUrls.push(new URL(url)); }
  saveCodeVerifier(v) { this.verifier = v; }
  codeVerifier() {
    if (!this.verifier) throw new Error("no PKCE code verifier saved");
    return this.verifier;
  }
  saveDiscoveryState(s) { this.discovery = s; }
  discoveryState() { return this.discovery; }
  invalidateCredentials(scope) {
    this.invalidated.push(scope);
    if (scope === "all" || scope === "client") this.client = undefined;
    if (scope === "all" || scope === "tokens") this.savedTokens = undefined;
    if (scope === "all" || scope === "verifier") this.verifier = undefined;
    if (scope === "all" || scope === "discovery") this.discovery = undefined;
  }
}

/** POST /token as a public client; resolves with { status, body, headers }. */
export async function tokenRequest(base, params) {
  const r = await fetch(`${base}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(params).toString(),
  });
  const text = await r.text();
  let body;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: r.status, body, headers: r.headers };
}

/** The claims of a JWT (no verification: for assertions only). */
export function jwtClaims(token) {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
}
