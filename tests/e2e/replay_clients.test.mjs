// Replays of what hosted and native MCP clients are documented (or observed) to do, step by
// step, with fetch — and Chromium for the sign-in and consent pages. These clients cannot run
// here (claude.ai, ChatGPT, Claude Code), so each test replays their request sequence:
//  - claude.ai / Claude Desktop custom connectors (support.anthropic.com "Building custom
//    connectors via remote MCP servers"; claude.com/docs/connectors/building/authentication):
//    DCR, callback https://claude.ai/api/mcp/auth_callback (and claude.com), PKCE, resource,
//    401 invalid_client at /token as the "register again" signal.
//  - ChatGPT developer mode (developers.openai.com/apps-sdk/build/auth; community reports):
//    metadata first, DCR, `resource` echoed in authorize and token, reconnect without `scope`,
//    refresh-token rotation, and invalid_grant for a dead refresh token.
//  - Claude Code (`claude mcp add --transport http`): loopback callback on an ephemeral port,
//    localhost and 127.0.0.1 used interchangeably.
//  - MCP Inspector in the browser (localhost:6274): DCR and /authorize without scope, and the
//    CORS preflights its browser makes on every OAuth endpoint.
//  - Clients that probe well-known URLs instead of reading resource_metadata.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { signIn } from "./lib/browser.mjs";
import {
  BASE, MCP_URL, authorizeInBrowser, authorizeUrl, b64url, callbackServer, claims, exchangeCode, fail, getJson,
  json, mcpSession, pkce, register, text, tokenRequest,
} from "./lib/interop.mjs";

const ORIGIN = new URL(BASE).origin;

/** The 401 an unauthenticated MCP request gets, and the resource_metadata URL it names. */
async function challenge(who) {
  const res = await fetch(MCP_URL, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: who, version: "1" } } }),
  });
  await res.body?.cancel();
  if (res.status !== 401) fail(who, "unauthenticated initialize", `expected 401, got ${res.status}`);
  const header = res.headers.get("www-authenticate") ?? "";
  const rm = header.match(/resource_metadata="([^"]+)"/)?.[1];
  if (!/^Bearer /i.test(header) || !rm) fail(who, "WWW-Authenticate", `no Bearer challenge with resource_metadata: ${header}`);
  return { header, resourceMetadata: rm, scope: header.match(/scope="([^"]+)"/)?.[1] };
}

/** initialize → tools/list → get_vibe as Alice: the token works for MCP. */
async function useTools(who, token) {
  const s = await mcpSession(who, token);
  assert.equal(s.initialize.serverInfo.name, "mcp-edge", `[${who}] initialize`);
  assert.ok(s.sessionId, `[${who}] initialize returned an Mcp-Session-Id`);
  const { tools } = await s.request("tools/list");
  assert.ok(tools.some((t) => t.name === "get_vibe"), `[${who}] tools/list has get_vibe`);
  assert.equal(text(await s.callTool("echo", { message: "hello" })), "Echo: hello", `[${who}] echo`);
  assert.equal(text(await s.callTool("get_vibe", { location: "Berlin" })), "Curious vibes for Alice in Berlin.", `[${who}] get_vibe as Alice`);
  return s;
}

/** A refresh-token grant; returns { res, body } (status asserted by the caller via `status`). */
function refresh(who, step, clientId, refreshToken, status = 200, extra = {}) {
  return tokenRequest(who, step, { grant_type: "refresh_token", refresh_token: refreshToken, client_id: clientId, ...extra }, { status });
}

/** The exact answer a dead refresh token must get: 400 and error "invalid_grant". */
function assertInvalidGrant(who, step, { res, body }) {
  assert.equal(res.status, 400, `[${who}] ${step}: HTTP status`);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/, `[${who}] ${step}: JSON body`);
  assert.equal(body.error, "invalid_grant", `[${who}] ${step}: ${JSON.stringify(body)}`);
  for (const k of Object.keys(body)) assert.ok(["error", "error_description", "error_uri"].includes(k), `[${who}] ${step}: unexpected member ${k}`);
  assert.equal(res.headers.get("cache-control"), "no-store", `[${who}] ${step}: no-store`);
}

// --- claude.ai / Claude Desktop custom connector ---------------------------------------------

test("claude.ai / Claude Desktop connector: root PRM → AS metadata → DCR → /authorize at origin root → PKCE + resource → tools", { timeout: 60_000 }, async () => {
  const who = "claude.ai connector";
  const redirectUri = "https://claude.ai/api/mcp/auth_callback";
  await challenge(who);
  // Claude reads the protected resource metadata at the root well-known URL of the server.
  const prm = await getJson(who, `${ORIGIN}/.well-known/oauth-protected-resource`);
  assert.equal(prm.resource, MCP_URL, `[${who}] PRM resource is the MCP endpoint`);
  const [issuer] = prm.authorization_servers;
  assert.equal(issuer, ORIGIN, `[${who}] the AS is the MCP server's origin`);
  const as = await getJson(who, `${issuer}/.well-known/oauth-authorization-server`);
  assert.equal(as.issuer, issuer);
  assert.equal(as.authorization_endpoint, `${ORIGIN}/authorize`, `[${who}] /authorize is at the origin root`);
  assert.ok(as.code_challenge_methods_supported.includes("S256"), `[${who}] S256 advertised`);
  assert.ok(as.token_endpoint_auth_methods_supported.includes("none"), `[${who}] public clients accepted`);
  assert.ok(as.registration_endpoint, `[${who}] DCR offered`);

  const client = await register(who, {
    client_name: "Claude", redirect_uris: [redirectUri], grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"], token_endpoint_auth_method: "none",
  }, { endpoint: as.registration_endpoint });
  assert.equal(client.token_endpoint_auth_method, "none", `[${who}] registered as a public client`);
  assert.equal(client.client_secret, undefined, `[${who}] no secret for a public client`);

  const { verifier, challenge: cc } = pkce();
  const state = b64url(randomBytes(16));
  const url = authorizeUrl({ endpoint: as.authorization_endpoint, clientId: client.client_id, redirectUri, challenge: cc, state, scope: "mcp", resource: MCP_URL });
  const p = await authorizeInBrowser(who, url, redirectUri, { state });
  const tokens = await exchangeCode(who, { endpoint: as.token_endpoint, clientId: client.client_id, code: p.get("code"), verifier, redirectUri, resource: MCP_URL });
  const c = claims(tokens.access_token);
  assert.equal(c.aud, MCP_URL, `[${who}] token bound to the MCP endpoint`);
  assert.equal(c.iss, issuer);
  assert.equal(c.client_id, client.client_id);
  assert.ok(tokens.expires_in > 0, `[${who}] expires_in`);
  await useTools(who, tokens.access_token);

  // Claude refreshes in the background with the same client.
  const { body: renewed } = await refresh(who, "refresh_token grant", client.client_id, tokens.refresh_token, 200, { resource: MCP_URL });
  assert.notEqual(renewed.refresh_token, tokens.refresh_token, `[${who}] refresh token rotates`);
  await useTools(who, renewed.access_token);
});

test("claude.ai connector: /token answers 401 invalid_client for an unknown (deleted) client, Claude's cue to register again", { timeout: 30_000 }, async () => {
  const who = "claude.ai connector (re-registration)";
  const { res, body } = await tokenRequest(who, "token request from a deleted client",
    { grant_type: "refresh_token", refresh_token: "gone.gone", client_id: "deleted-dcr-client" }, { status: 401 });
  assert.equal(body.error, "invalid_client", `[${who}] ${JSON.stringify(body)}`);
  assert.ok(res.headers.get("www-authenticate"), `[${who}] 401 carries WWW-Authenticate (RFC 6749 §5.2)`);
});

test("claude.ai connector with a custom client ID: the pre-registered claude_desktop client and the claude.com callback", { timeout: 60_000 }, async () => {
  const who = "claude.com connector (static client claude_desktop)";
  const redirectUri = "https://claude.com/api/mcp/auth_callback";
  const { verifier, challenge: cc } = pkce();
  const state = b64url(randomBytes(16));
  const url = authorizeUrl({ clientId: "claude_desktop", redirectUri, challenge: cc, state, resource: MCP_URL });
  const p = await authorizeInBrowser(who, url, redirectUri, { state });
  const tokens = await exchangeCode(who, { clientId: "claude_desktop", code: p.get("code"), verifier, redirectUri, resource: MCP_URL });
  assert.equal(claims(tokens.access_token).client_id, "claude_desktop");
  await useTools(who, tokens.access_token);
});

// --- ChatGPT developer mode ------------------------------------------------------------------

test("ChatGPT developer mode: metadata first, DCR, resource=<endpoint> in authorize and token, tools; reconnect without scope", { timeout: 60_000 }, async () => {
  const who = "ChatGPT developer mode";
  const legacyRedirect = "https://chatgpt.com/connector_platform_oauth_redirect";
  const connectorRedirect = `https://chatgpt.com/connector/oauth/${b64url(randomBytes(9))}`;
  // Metadata before anything else: PRM (path form, RFC 9728 §3.1) and the AS metadata.
  const prm = await getJson(who, `${ORIGIN}/.well-known/oauth-protected-resource/mcp`);
  assert.equal(prm.resource, MCP_URL);
  const as = await getJson(who, `${prm.authorization_servers[0]}/.well-known/oauth-authorization-server`);
  assert.ok(as.code_challenge_methods_supported.includes("S256"), `[${who}] PKCE S256 advertised (ChatGPT refuses servers without it)`);
  const client = await register(who, {
    client_name: "ChatGPT", redirect_uris: [legacyRedirect, connectorRedirect], grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"], token_endpoint_auth_method: "none",
  }, { endpoint: as.registration_endpoint });
  assert.deepEqual(client.redirect_uris, [legacyRedirect, connectorRedirect], `[${who}] both callback forms registered`);

  const connect = async (scope, redirectUri) => {
    const { verifier, challenge: cc } = pkce();
    const state = `oauth_s_${b64url(randomBytes(18))}`;
    const url = authorizeUrl({ endpoint: as.authorization_endpoint, clientId: client.client_id, redirectUri, challenge: cc, state, scope, resource: MCP_URL });
    const p = await authorizeInBrowser(who, url, redirectUri, { state });
    return exchangeCode(who, { endpoint: as.token_endpoint, clientId: client.client_id, code: p.get("code"), verifier, redirectUri, resource: MCP_URL });
  };
  // First connect asks for every scope the PRM lists.
  const first = await connect(prm.scopes_supported.join(" "), legacyRedirect);
  assert.equal(claims(first.access_token).aud, MCP_URL, `[${who}] audience = resource with path`);
  assert.deepEqual(first.scope.split(" ").sort(), ["admin", "mcp"], `[${who}] alice granted mcp + admin`);
  await useTools(who, first.access_token);
  // "Disconnect" then "Connect": ChatGPT re-authorizes with the same client and no scope.
  const again = await connect(undefined, connectorRedirect);
  assert.deepEqual(again.scope.split(" ").sort(), ["admin", "mcp"], `[${who}] reconnect without scope still gets the client's scopes`);
  await useTools(who, again.access_token);
});

test("ChatGPT developer mode: a dead refresh token gets exactly 400 invalid_grant (after /revoke, and after rotation reuse)", { timeout: 60_000 }, async () => {
  const who = "ChatGPT developer mode (refresh)";
  const redirectUri = "https://chatgpt.com/connector_platform_oauth_redirect";
  const client = await register(who, { client_name: "ChatGPT", redirect_uris: [redirectUri], token_endpoint_auth_method: "none" });
  const grant = async () => {
    const { verifier, challenge: cc } = pkce();
    const state = `oauth_s_${b64url(randomBytes(18))}`;
    const url = authorizeUrl({ clientId: client.client_id, redirectUri, challenge: cc, state, scope: "mcp", resource: MCP_URL });
    const p = await authorizeInBrowser(who, url, redirectUri, { state });
    return exchangeCode(who, { clientId: client.client_id, code: p.get("code"), verifier, redirectUri, resource: MCP_URL });
  };

  // 1. Revocation (RFC 7009): the client revokes its refresh token, then tries to use it.
  const a = await grant();
  const revoked = await fetch(`${BASE}/revoke`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: a.refresh_token, token_type_hint: "refresh_token", client_id: client.client_id }),
  });
  assert.equal(revoked.status, 200, `[${who}] /revoke answers 200`);
  assertInvalidGrant(who, "refresh after revocation", await refresh(who, "refresh after revocation", client.client_id, a.refresh_token, 400, { resource: MCP_URL }));

  // 2. Rotation: R0 → R1 → R2. Once R1 has been used, R0 is dead; presenting it is reuse,
  //    which also ends the grant (RFC 9700 §4.14.2), so R2 dies with it.
  const b = await grant();
  const r1 = (await refresh(who, "refresh R0", client.client_id, b.refresh_token, 200, { resource: MCP_URL })).body;
  const r2 = (await refresh(who, "refresh R1", client.client_id, r1.refresh_token, 200, { resource: MCP_URL })).body;
  await useTools(who, r2.access_token);
  assertInvalidGrant(who, "reuse of rotated-out R0", await refresh(who, "reuse R0", client.client_id, b.refresh_token, 400, { resource: MCP_URL }));
  assertInvalidGrant(who, "R2 after reuse detection", await refresh(who, "R2 after reuse", client.client_id, r2.refresh_token, 400, { resource: MCP_URL }));
});

// --- Claude Code ------------------------------------------------------------------------------

for (const [registered, used] of [["localhost", "127.0.0.1"], ["127.0.0.1", "localhost"]]) {
  test(`Claude Code: registers http://${registered}:<p1>/callback, authorizes with http://${used}:<p2>/callback (ephemeral ports)`, { timeout: 60_000 }, async () => {
    const who = `Claude Code (${registered} → ${used})`;
    const { scope, resourceMetadata } = await challenge(who);
    const prm = await getJson(who, resourceMetadata);
    const as = await getJson(who, `${prm.authorization_servers[0]}/.well-known/oauth-authorization-server`);
    // Client ID Metadata Documents are advertised (tests/e2e/cimd.test.mjs); a Claude Code
    // that still registers (DCR, as releases before CIMD do) keeps working.
    assert.equal(as.client_id_metadata_document_supported, true, `[${who}] CIMD advertised`);
    // The port registered is not the one listening later (a new CLI run picks a new port).
    const registeredPort = 1024 + Math.floor(Math.random() * 40000);
    const client = await register(who, {
      client_name: "Claude Code", redirect_uris: [`http://${registered}:${registeredPort}/callback`],
      grant_types: ["authorization_code", "refresh_token"], response_types: ["code"], token_endpoint_auth_method: "none", scope,
    });
    const cb = await callbackServer("/callback");
    try {
      const redirectUri = cb.uri(used);
      const { verifier, challenge: cc } = pkce();
      const state = b64url(randomBytes(16));
      const url = authorizeUrl({ clientId: client.client_id, redirectUri, challenge: cc, state, scope, resource: MCP_URL });
      // The sign-in page must be shown (an unregistered redirect would be an HTML 400 instead).
      const page = await fetch(url, { redirect: "manual" });
      await page.body?.cancel();
      if (page.status !== 200) fail(who, "GET /authorize", `expected the sign-in page, got ${page.status} ${page.headers.get("location") ?? ""}`);
      await signIn(url, { username: "alice", follow: true }).catch((e) => fail(who, "sign-in in Chromium", e.message));
      const back = await Promise.race([cb.received, new Promise((_, rej) => setTimeout(() => rej(new Error("no callback within 15 s")), 15_000))])
        .catch((e) => fail(who, "loopback callback", e.message));
      assert.equal(back.searchParams.get("state"), state, `[${who}] state round-trips`);
      assert.equal(back.searchParams.get("iss"), BASE, `[${who}] iss (RFC 9207)`);
      const tokens = await exchangeCode(who, { clientId: client.client_id, code: back.searchParams.get("code"), verifier, redirectUri, resource: MCP_URL });
      await useTools(who, tokens.access_token);
    } finally {
      await cb.close();
    }
  });
}

test("Claude Code: a non-loopback http redirect on another host is refused with an error page, never a redirect", { timeout: 30_000 }, async () => {
  const who = "Claude Code (foreign redirect)";
  const client = await register(who, { client_name: "Claude Code", redirect_uris: ["http://localhost:33418/callback"], token_endpoint_auth_method: "none" });
  for (const redirectUri of ["http://evil.example:33418/callback", "http://localhost:33418/other", "https://localhost:33418/callback"]) {
    const { challenge: cc } = pkce();
    const res = await fetch(authorizeUrl({ clientId: client.client_id, redirectUri, challenge: cc, state: "s", resource: MCP_URL }), { redirect: "manual" });
    const body = await res.text();
    assert.equal(res.status, 400, `[${who}] ${redirectUri}: status`);
    assert.equal(res.headers.get("location"), null, `[${who}] ${redirectUri}: no redirect`);
    assert.match(res.headers.get("content-type") ?? "", /text\/html/, `[${who}] ${redirectUri}: an HTML page`);
    assert.ok(body.length > 0);
  }
});

// --- MCP Inspector in the browser --------------------------------------------------------------

const INSPECTOR_ORIGIN = "http://localhost:6274";

test("MCP Inspector (browser): DCR and /authorize without scope → alice's token has scope \"mcp admin\"", { timeout: 60_000 }, async () => {
  const who = "MCP Inspector (browser)";
  const headers = { origin: INSPECTOR_ORIGIN, "mcp-protocol-version": "2025-06-18" };
  const prmRes = await fetch(`${ORIGIN}/.well-known/oauth-protected-resource/mcp`, { headers });
  assert.equal(prmRes.headers.get("access-control-allow-origin"), "*", `[${who}] PRM readable cross-origin`);
  const regRes = await fetch(`${BASE}/register`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: INSPECTOR_ORIGIN },
    body: JSON.stringify({ client_name: "MCP Inspector", redirect_uris: ["http://localhost:6274/oauth/callback", "http://localhost:6274/oauth/callback/debug"], grant_types: ["authorization_code", "refresh_token"], response_types: ["code"], token_endpoint_auth_method: "none" }),
  });
  assert.ok(regRes.headers.get("access-control-allow-origin"), `[${who}] /register answer readable cross-origin`);
  const client = await json(who, "DCR without scope", regRes, 201);
  assert.equal(client.scope, undefined, `[${who}] no scope registered`);

  const redirectUri = "http://localhost:6274/oauth/callback";
  const { verifier, challenge: cc } = pkce();
  const state = b64url(randomBytes(16));
  const url = authorizeUrl({ clientId: client.client_id, redirectUri, challenge: cc, state, resource: MCP_URL });
  const p = await authorizeInBrowser(who, url, redirectUri, { state });
  const tokenRes = await fetch(`${BASE}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: INSPECTOR_ORIGIN },
    body: new URLSearchParams({ grant_type: "authorization_code", code: p.get("code"), code_verifier: verifier, redirect_uri: redirectUri, client_id: client.client_id, resource: MCP_URL }),
  });
  assert.ok(tokenRes.headers.get("access-control-allow-origin"), `[${who}] /token answer readable cross-origin`);
  const tokens = await json(who, "token exchange", tokenRes);
  assert.equal(tokens.scope, "mcp admin", `[${who}] token response scope`);
  assert.equal(claims(tokens.access_token).scope, "mcp admin", `[${who}] JWT scope claim`);
  // The Inspector's "direct" connection from the page: /mcp with its Origin (loopback, development).
  const s = await mcpSession(who, tokens.access_token, { extraHeaders: { origin: INSPECTOR_ORIGIN } });
  const admin = await s.callTool("list_clients");
  assert.equal(admin.isError ?? false, false, `[${who}] list_clients (admin) works with the token from a no-scope request`);
  assert.ok(text(admin), `[${who}] list_clients returned text`);

  // An error from /token must be readable by the page too.
  const bad = await fetch(`${BASE}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: INSPECTOR_ORIGIN },
    body: new URLSearchParams({ grant_type: "authorization_code", code: p.get("code"), code_verifier: verifier, redirect_uri: redirectUri, client_id: client.client_id }),
  });
  assert.equal(bad.status, 400, `[${who}] a replayed code is refused`);
  assert.ok(bad.headers.get("access-control-allow-origin"), `[${who}] /token error readable cross-origin`);
  assert.equal((await bad.json()).error, "invalid_grant");

  // Replaying the code revoked the grant it produced: its access token stops too (RFC 6749 §4.1.2).
  const after = await fetch(MCP_URL, { method: "POST", headers: { authorization: `Bearer ${tokens.access_token}`, "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "inspector", version: "1" } } }) });
  assert.equal(after.status, 401, `[${who}] the access token of a replayed code's grant is refused`);
  assert.match(after.headers.get("www-authenticate") ?? "", /invalid_token/);
});

const PREFLIGHTS = [
  ["/.well-known/oauth-protected-resource", "GET", "mcp-protocol-version"],
  ["/.well-known/oauth-protected-resource/mcp", "GET", "mcp-protocol-version"],
  ["/.well-known/oauth-authorization-server", "GET", "mcp-protocol-version"],
  ["/register", "POST", "content-type"],
  ["/token", "POST", "content-type"],
  ["/revoke", "POST", "content-type"],
];

for (const [path, method, requested] of PREFLIGHTS) {
  test(`MCP Inspector (browser) CORS preflight: OPTIONS ${path} from ${INSPECTOR_ORIGIN}`, { timeout: 30_000 }, async () => {
    const who = "MCP Inspector (browser) CORS";
    const res = await fetch(`${BASE}${path}`, {
      method: "OPTIONS",
      headers: { origin: INSPECTOR_ORIGIN, "access-control-request-method": method, "access-control-request-headers": requested },
    });
    await res.body?.cancel();
    assert.ok(res.status >= 200 && res.status < 300, `[${who}] ${path}: preflight status ${res.status}`);
    const allowOrigin = res.headers.get("access-control-allow-origin");
    assert.ok(allowOrigin === "*" || allowOrigin === INSPECTOR_ORIGIN, `[${who}] ${path}: allow-origin ${allowOrigin}`);
    const methods = (res.headers.get("access-control-allow-methods") ?? "").split(",").map((m) => m.trim());
    assert.ok(methods.includes(method), `[${who}] ${path}: allow-methods ${methods} lacks ${method}`);
    const allowed = (res.headers.get("access-control-allow-headers") ?? "").toLowerCase().split(",").map((h) => h.trim());
    for (const h of requested.split(",")) assert.ok(allowed.includes(h) || allowed.includes("*"), `[${who}] ${path}: allow-headers ${allowed} lacks ${h}`);
  });
}

test("MCP Inspector (browser) CORS: GET responses of the metadata documents carry access-control-allow-origin", { timeout: 30_000 }, async () => {
  const who = "MCP Inspector (browser) CORS";
  for (const path of ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-authorization-server", "/.well-known/openid-configuration", "/.well-known/jwks.json"]) {
    const res = await fetch(`${BASE}${path}`, { headers: { origin: INSPECTOR_ORIGIN } });
    await res.body?.cancel();
    assert.equal(res.status, 200, `[${who}] ${path}`);
    assert.ok(res.headers.get("access-control-allow-origin"), `[${who}] ${path}: no access-control-allow-origin`);
  }
  // And the MCP endpoint's own preflight, for a page talking to it directly.
  const pre = await fetch(MCP_URL, {
    method: "OPTIONS",
    headers: { origin: INSPECTOR_ORIGIN, "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type,mcp-protocol-version,mcp-session-id" },
  });
  await pre.body?.cancel();
  assert.ok(pre.status >= 200 && pre.status < 300, `[${who}] /mcp preflight ${pre.status}`);
  assert.equal(pre.headers.get("access-control-allow-origin"), INSPECTOR_ORIGIN, `[${who}] /mcp allow-origin echoes a loopback origin in development`);
  assert.match(pre.headers.get("access-control-expose-headers") ?? "", /mcp-session-id/i, `[${who}] /mcp exposes Mcp-Session-Id`);
});

// --- clients that probe well-known URLs ---------------------------------------------------------

test("well-known probing: the four URLs from the seed all answer 200 JSON", { timeout: 30_000 }, async () => {
  const who = "well-known prober";
  const docs = {
    "/.well-known/oauth-protected-resource/mcp": "resource",
    "/.well-known/oauth-protected-resource": "resource",
    "/.well-known/oauth-authorization-server": "issuer",
    "/.well-known/openid-configuration": "issuer",
  };
  for (const [path, member] of Object.entries(docs)) {
    const res = await fetch(`${ORIGIN}${path}`);
    assert.equal(res.status, 200, `[${who}] ${path}`);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/, `[${who}] ${path}: content-type`);
    const doc = await res.json();
    assert.equal(doc[member], member === "resource" ? MCP_URL : ORIGIN, `[${who}] ${path}: ${member}`);
  }
});
