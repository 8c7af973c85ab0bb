// The TypeScript SDK v2 client (@modelcontextprotocol/client) against the worker in workerd:
// its OAuth support (discovery from the 401 on the server/discover probe, DCR, PKCE, Chromium
// signing in as alice on our pages, finishAuth with the RFC 9207 iss check), then MCP 2026-07-28
// over Streamable HTTP: version negotiation in 'auto' mode and pinned to 2026-07-28, every seed
// tool, the 403 insufficient_scope step-up for list_clients, and get_vibe without a location as a
// multi-round-trip call (input_required → elicitation handler → retry with inputResponses). The
// SDK's default (legacy, initialize + session) mode still works against the same endpoint. And
// the same client without auth against the conformance environment: the two-round
// test_input_required_result_multi_round fixture.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Client, StreamableHTTPClientTransport, UnauthorizedError } from "@modelcontextprotocol/client";
import { launch, signIn } from "./lib/browser.mjs";
import { MemoryOAuthProvider, jwtClaims, startCallbackServer, step } from "./lib/oauth-client.mjs";

const BASE = process.env.E2E_URL;
const CONF = process.env.E2E_CONFORMANCE_URL;
const MCP = `${BASE}/mcp`;
const PRM = `${BASE}/.well-known/oauth-protected-resource/mcp`;
const MODERN = "2026-07-28";
const LEGACY = "2025-11-25";
const CLIENT_INFO = { name: "mcp-edge-e2e-sdk-v2", version: "2.0.0" };
const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const ENVELOPE = {
  version: "io.modelcontextprotocol/protocolVersion",
  capabilities: "io.modelcontextprotocol/clientCapabilities",
  clientInfo: "io.modelcontextprotocol/clientInfo",
};

let browser;
const cleanups = [];
before(async () => { browser = await launch(); });
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await browser?.close();
});

function text(result) {
  return (result.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join("\n");
}

/** The JSON-RPC messages of a Streamable HTTP response body: one JSON value or SSE events. */
function messagesOf(contentType, body) {
  if (!body) return [];
  if ((contentType ?? "").startsWith("text/event-stream")) {
    return body.split(/\r?\n\r?\n/)
      .map((ev) => ev.split(/\r?\n/).filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n"))
      .filter(Boolean).map((d) => JSON.parse(d));
  }
  try { return [JSON.parse(body)].flat(); } catch { return []; }
}

/**
 * `fetch` for the SDK that records every exchange: method, URL, request headers and body,
 * status, WWW-Authenticate, and for POSTs to /mcp the parsed JSON-RPC request and the
 * response messages (read from a clone, without holding up the SDK).
 */
function wireRecorder() {
  const log = [];
  const f = async (input, init = {}) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const method = (init.method ?? (typeof input === "object" && "method" in input ? input.method : "GET")).toUpperCase();
    const body = typeof init.body === "string" ? init.body : init.body instanceof URLSearchParams ? init.body.toString() : undefined;
    const headers = Object.fromEntries(new Headers(init.headers ?? (typeof input === "object" && "headers" in input ? input.headers : undefined)).entries());
    const entry = { method, url, headers, body };
    if (method === "POST" && new URL(url).pathname === "/mcp" && body) {
      try { entry.rpc = JSON.parse(body); } catch {}
    }
    log.push(entry);
    const res = await fetch(input, init);
    entry.status = res.status;
    entry.wwwAuthenticate = res.headers.get("www-authenticate");
    entry.sessionId = res.headers.get("mcp-session-id");
    entry.contentType = res.headers.get("content-type");
    if (entry.rpc) {
      entry.replies = res.clone().text().then((t) => messagesOf(entry.contentType, t)).catch(() => []);
    }
    return res;
  };
  f.log = log;
  /** The recorded POSTs to /mcp whose JSON-RPC method is `m` (optionally from index `from`). */
  f.rpc = (m, from = 0) => log.slice(from).filter((e) => e.rpc?.method === m);
  /** The JSON-RPC response to a recorded POST. */
  f.reply = async (e) => (await e.replies)?.find((r) => r.id === e.rpc.id);
  return f;
}

/**
 * A v2 client; with `elicitation` it declares the capability and answers every form with
 * `answer.result` (accept Lisbon unless changed), recording the requests in `elicited`.
 */
function newClient(versionNegotiation, { elicitation = true } = {}) {
  const options = { capabilities: elicitation ? { elicitation: {} } : {} };
  if (versionNegotiation) options.versionNegotiation = versionNegotiation;
  const client = new Client(CLIENT_INFO, options);
  // Anything the SDK reports out of band (a reply it could not parse, a dropped stream).
  client.sdkErrors = [];
  client.onerror = (e) => client.sdkErrors.push(e);
  const elicited = [];
  const answer = { result: { action: "accept", content: { location: "Lisbon" } } };
  if (elicitation) {
    client.setRequestHandler("elicitation/create", async (request) => {
      elicited.push(request.params);
      return answer.result;
    });
  }
  return { client, elicited, answer };
}

/** Chromium on the authorization URL as `username`; resolves with the redirect's query. */
async function authorizeInChromium(who, provider, callback, url, username = "alice") {
  const query = await step(`${who}: sign in as ${username} and approve in Chromium`, async () => {
    const arrived = callback.next(30_000);
    arrived.catch(() => {});
    const final = await signIn(url.href, { username, follow: true, context: browser });
    assert.ok(final.startsWith(callback.url), `the browser ended on ${final}, not the redirect URI`);
    return arrived;
  });
  await step(`${who}: authorization response`, () => {
    assert.equal(query.get("error"), null, `the server answered error=${query.get("error")}: ${query.get("error_description")}`);
    assert.ok(query.get("code"), "no code in the redirect");
    assert.equal(query.get("state"), provider.lastState, "state was not echoed");
    assert.equal(query.get("iss"), BASE, "iss (RFC 9207) is not the issuer");
  });
  return query;
}

/**
 * The interactive OAuth flow with SDK v2, as an app embeds it: connect (the first request is
 * refused with 401 → discovery → DCR → redirectToAuthorization → UnauthorizedError), the user
 * signs in and approves, `finishAuth(callback params)`, then a fresh client and transport connect
 * with the token and the same negotiation mode.
 */
async function connectWithOAuth(who, versionNegotiation, { username = "alice" } = {}) {
  const callback = await startCallbackServer();
  cleanups.push(callback.close);
  const rec = wireRecorder();
  const provider = new MemoryOAuthProvider({ redirectUrl: callback.url, clientName: `e2e SDK v2 (${who})` });
  const first = new StreamableHTTPClientTransport(new URL(MCP), { authProvider: provider, fetch: rec });
  const { client: firstClient } = newClient(versionNegotiation);
  await step(`${who}: connect without a token must end in a redirect to sign in`, async () => {
    const err = await firstClient.connect(first).then(() => assert.fail("connected without a token"), (e) => e);
    assert.ok(err instanceof UnauthorizedError, `expected UnauthorizedError, got ${err?.name}: ${err?.message}`);
  });
  await firstClient.close().catch(() => {});
  await step(`${who}: discovery and registration`, () => {
    assert.equal(provider.authorizationUrls.length, 1, `redirectToAuthorization was called ${provider.authorizationUrls.length} times`);
    const challenged = rec.log.find((e) => e.method === "POST" && e.url === MCP);
    assert.equal(challenged?.status, 401, "the first MCP request was not refused with 401");
    const expectedFirst = versionNegotiation ? "server/discover" : "initialize";
    assert.equal(challenged.rpc?.method, expectedFirst, `the first MCP request was ${challenged.rpc?.method}`);
    assert.match(challenged.wwwAuthenticate ?? "", new RegExp(`resource_metadata="${PRM}"`));
    assert.match(challenged.wwwAuthenticate, /scope="mcp"/);
    assert.equal(rec.log.find((e) => e.url === PRM)?.status, 200, "the resource metadata named in the challenge was not fetched");
    const reg = rec.log.filter((e) => e.method === "POST" && new URL(e.url).pathname === "/register");
    assert.equal(reg.length, 1, "expected exactly one registration");
    assert.equal(reg[0].status, 201);
    assert.ok(provider.client?.client_id, "no client_id saved");
    const p = provider.authorizationUrls[0].searchParams;
    assert.equal(`${provider.authorizationUrls[0].origin}${provider.authorizationUrls[0].pathname}`, `${BASE}/authorize`);
    assert.equal(p.get("code_challenge_method"), "S256");
    assert.equal(p.get("resource"), MCP);
    assert.equal(p.get("scope"), "mcp");
  });
  const query = await authorizeInChromium(who, provider, callback, provider.authorizationUrls[0], username);
  await step(`${who}: finishAuth (iss check, code exchange)`, () => first.finishAuth(query));
  await step(`${who}: token`, () => {
    const claims = jwtClaims(provider.savedTokens.access_token);
    assert.equal(claims.iss, BASE);
    assert.deepEqual([claims.aud].flat(), [MCP]);
    assert.deepEqual(claims.scope.split(" "), ["mcp"]);
  });
  const transport = new StreamableHTTPClientTransport(new URL(MCP), { authProvider: provider, fetch: rec });
  const { client, elicited, answer } = newClient(versionNegotiation);
  const connectedAt = rec.log.length;
  await step(`${who}: connect with the access token`, () => client.connect(transport));
  cleanups.push(() => client.close());
  return { client, transport, provider, rec, callback, elicited, answer, connectedAt };
}

/** What every modern request on the wire must carry (2026-07-28 envelope and headers). */
function assertModernRequest(e, { name, capabilities = { elicitation: {} } } = {}) {
  const label = `${e.rpc.method}${name ? ` ${name}` : ""}`;
  assert.equal(e.headers["mcp-protocol-version"], MODERN, `${label}: MCP-Protocol-Version header`);
  assert.equal(e.headers["mcp-method"], e.rpc.method, `${label}: Mcp-Method header`);
  if (name) assert.equal(e.headers["mcp-name"], name, `${label}: Mcp-Name header`);
  assert.equal(e.headers["mcp-session-id"], undefined, `${label}: a session id was sent on the stateless revision`);
  const meta = e.rpc.params?._meta ?? {};
  assert.equal(meta[ENVELOPE.version], MODERN, `${label}: _meta protocolVersion`);
  assert.deepEqual(meta[ENVELOPE.capabilities], capabilities, `${label}: _meta clientCapabilities`);
  assert.equal(meta[ENVELOPE.clientInfo]?.name, CLIENT_INFO.name, `${label}: _meta clientInfo`);
}

/** Everything the modern-era tests check after connecting with OAuth. */
async function exerciseModern(who, mode) {
  const { client, transport, provider, rec, callback, elicited, answer, connectedAt } = await connectWithOAuth(who, mode);

  await step(`${who}: negotiated ${MODERN} through server/discover`, async () => {
    assert.equal(client.getNegotiatedProtocolVersion(), MODERN);
    const discover = client.getDiscoverResult();
    assert.ok(discover, "no DiscoverResult kept");
    assert.ok(discover.supportedVersions.includes(MODERN), `supportedVersions ${discover.supportedVersions}`);
    assert.ok(discover.capabilities?.tools, "discover did not advertise tools");
    assert.equal(client.getServerVersion()?.name, "mcp-edge");
    const probes = rec.rpc("server/discover", connectedAt);
    assert.equal(probes.length, 1, `expected one server/discover probe after sign-in, saw ${probes.length}`);
    assert.equal(probes[0].status, 200);
    assertModernRequest(probes[0]);
    const reply = await rec.reply(probes[0]);
    assert.equal(reply?.result?.resultType, "complete", `discover reply: ${JSON.stringify(reply)}`);
    assert.equal(rec.rpc("initialize").length, 0, "the modern client sent initialize");
    assert.equal(rec.rpc("notifications/initialized").length, 0);
    assert.ok(rec.log.every((e) => !e.sessionId), "the server handed out an Mcp-Session-Id on the stateless revision");
    assert.ok(rec.log.every((e) => !(e.method === "GET" && e.url === MCP)), "the modern client opened a GET stream");
  });

  await step(`${who}: tools/list`, async () => {
    const from = rec.log.length;
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    for (const n of ["echo", "get_vibe", "get_time", "list_clients"]) assert.ok(names.includes(n), `${n} missing from ${names}`);
    assert.equal(tools.find((t) => t.name === "get_time")._meta?.ui?.resourceUri, "ui://get-time/mcp-app.html");
    const [sent] = rec.rpc("tools/list", from);
    assert.ok(sent, "tools/list did not reach the wire");
    assertModernRequest(sent);
    const reply = await rec.reply(sent);
    assert.equal(reply.result.resultType, "complete");
    assert.ok(Number.isInteger(reply.result.ttlMs) && reply.result.ttlMs >= 0, `ttlMs ${reply.result.ttlMs}`);
    assert.ok(["public", "private"].includes(reply.result.cacheScope), `cacheScope ${reply.result.cacheScope}`);
  });

  await step(`${who}: tools/call echo`, async () => {
    const from = rec.log.length;
    const r = await client.callTool({ name: "echo", arguments: { message: "hello from SDK v2" } });
    assert.equal(text(r), "Echo: hello from SDK v2");
    const [sent] = rec.rpc("tools/call", from);
    assertModernRequest(sent, { name: "echo" });
    assert.equal((await rec.reply(sent)).result.resultType, "complete");
  });
  await step(`${who}: tools/call get_vibe with a location`, async () => {
    const r = await client.callTool({ name: "get_vibe", arguments: { location: "Oslo" } });
    assert.ok(!r.isError, text(r));
    assert.equal(text(r), "Curious vibes for Alice in Oslo.");
  });
  await step(`${who}: tools/call get_time`, async () => {
    const r = await client.callTool({ name: "get_time", arguments: {} });
    assert.ok(!r.isError, text(r));
    assert.match(r.structuredContent?.utc ?? "", ISO_UTC);
    assert.ok(Math.abs(r.structuredContent.unix - Date.now() / 1000) < 300, `unix ${r.structuredContent.unix} is far from now`);
    assert.ok(text(r).includes(r.structuredContent.utc));
  });

  await step(`${who}: tools/call get_vibe without a location: input_required → elicitation → retry`, async () => {
    const from = rec.log.length;
    const r = await client.callTool({ name: "get_vibe", arguments: {} });
    assert.ok(!r.isError, text(r));
    assert.equal(text(r), "Curious vibes for Alice in Lisbon.");
    assert.equal(elicited.length, 1, `the elicitation handler ran ${elicited.length} times`);
    assert.equal(elicited[0].message, "Which place should I check the vibe of?");
    assert.deepEqual(elicited[0].requestedSchema?.required, ["location"]);
    assert.equal(elicited[0].requestedSchema?.properties?.location?.type, "string");
    const calls = rec.rpc("tools/call", from);
    assert.equal(calls.length, 2, `expected 2 rounds on the wire, saw ${calls.length}`);
    for (const c of calls) assertModernRequest(c, { name: "get_vibe" });
    assert.notEqual(calls[0].rpc.id, calls[1].rpc.id, "the retry reused the request id");
    const first = await rec.reply(calls[0]);
    assert.equal(first.result?.resultType, "input_required", `round 1: ${JSON.stringify(first)}`);
    assert.equal(first.result.inputRequests?.location?.method, "elicitation/create");
    assert.equal(first.result.ttlMs, undefined, "an input_required result carries cache hints");
    assert.equal(calls[0].rpc.params.inputResponses, undefined);
    assert.deepEqual(calls[1].rpc.params.inputResponses, { location: { action: "accept", content: { location: "Lisbon" } } });
    assert.deepEqual(calls[1].rpc.params.arguments, {});
    assert.equal(calls[1].rpc.params.requestState, first.result.requestState, "requestState was not echoed byte for byte");
    assert.equal((await rec.reply(calls[1])).result?.resultType, "complete");
  });
  await step(`${who}: get_vibe without a location, the user declines: answered without a place`, async () => {
    answer.result = { action: "decline" };
    const from = rec.log.length;
    try {
      const r = await client.callTool({ name: "get_vibe", arguments: {} });
      assert.equal(text(r), "Curious vibes for Alice, wherever you are.");
    } finally {
      answer.result = { action: "accept", content: { location: "Lisbon" } };
    }
    const calls = rec.rpc("tools/call", from);
    assert.equal(calls.length, 2);
    assert.deepEqual(calls[1].rpc.params.inputResponses, { location: { action: "decline" } });
  });
  await step(`${who}: a client without the elicitation capability is not asked`, async () => {
    const bare = wireRecorder();
    const { client: plain } = newClient(mode, { elicitation: false });
    await plain.connect(new StreamableHTTPClientTransport(new URL(MCP), { authProvider: provider, fetch: bare }));
    try {
      assert.equal(plain.getNegotiatedProtocolVersion(), MODERN);
      const r = await plain.callTool({ name: "get_vibe", arguments: {} });
      assert.equal(text(r), "Curious vibes for Alice, wherever you are.");
      const calls = bare.rpc("tools/call");
      assert.equal(calls.length, 1, "the server asked a client that cannot answer");
      assertModernRequest(calls[0], { name: "get_vibe", capabilities: {} });
      assert.equal((await bare.reply(calls[0])).result?.resultType, "complete");
    } finally {
      await plain.close().catch(() => {});
    }
  });

  await step(`${who}: list_clients with an mcp-only token → 403 insufficient_scope → step-up redirect`, async () => {
    const from = rec.log.length;
    const err = await client.callTool({ name: "list_clients", arguments: {} }).then(
      (r) => assert.fail(`list_clients succeeded with an mcp-only token: ${JSON.stringify(r)}`), (e) => e);
    assert.ok(err instanceof UnauthorizedError, `expected UnauthorizedError (step-up redirect), got ${err?.name}: ${err?.message}`);
    const refused = rec.log.slice(from).find((e) => e.status === 403);
    assert.ok(refused, `no 403; saw ${rec.log.slice(from).map((e) => `${e.method} ${e.url} ${e.status}`).join(", ")}`);
    assertModernRequest(refused, { name: "list_clients" });
    assert.match(refused.wwwAuthenticate ?? "", /error="insufficient_scope"/);
    assert.match(refused.wwwAuthenticate, /scope="mcp admin"/);
    assert.equal(provider.authorizationUrls.length, 2, "the SDK did not start a new authorization for the wider scope");
    assert.deepEqual(provider.authorizationUrls[1].searchParams.get("scope").split(" ").sort(), ["admin", "mcp"]);
  });
  const query = await authorizeInChromium(`${who} (step-up)`, provider, callback, provider.authorizationUrls[1]);
  await step(`${who}: finishAuth for mcp admin`, async () => {
    await transport.finishAuth(query);
    assert.deepEqual(jwtClaims(provider.savedTokens.access_token).scope.split(" ").sort(), ["admin", "mcp"]);
  });
  await step(`${who}: tools/call list_clients as alice with admin`, async () => {
    const r = await client.callTool({ name: "list_clients", arguments: {} });
    assert.ok(!r.isError, text(r));
    assert.match(text(r), /^\d+ registered client\(s\)/);
    const ids = (r.structuredContent?.clients ?? []).map((c) => c.client_id);
    assert.ok(ids.includes(provider.client.client_id), `our client ${provider.client.client_id} is not listed: ${ids}`);
    assert.equal(client.getNegotiatedProtocolVersion(), MODERN, "the step-up changed the protocol version");
  });
  await step(`${who}: 401 invalid_token → transparent refresh and retry on the stateless revision`, async () => {
    const a1 = provider.savedTokens.access_token;
    const r1 = provider.savedTokens.refresh_token;
    provider.savedTokens = { ...provider.savedTokens, access_token: a1.slice(0, -1) + (a1.at(-1) === "A" ? "B" : "A") };
    const from = rec.log.length;
    const r = await client.callTool({ name: "echo", arguments: { message: "after 401" } });
    assert.equal(text(r), "Echo: after 401");
    const seen = rec.log.slice(from);
    const refused = seen.find((e) => e.status === 401);
    assert.ok(refused, "the tampered token was not refused with 401");
    assert.match(refused.wwwAuthenticate ?? "", /error="invalid_token"/);
    const refresh = seen.find((e) => e.body?.includes("grant_type=refresh_token"));
    assert.equal(refresh?.status, 200, "no successful refresh after the 401");
    assert.equal(new URLSearchParams(refresh.body).get("refresh_token"), r1);
    assert.notEqual(provider.savedTokens.refresh_token, r1, "the refresh token was not rotated");
    assert.equal(provider.authorizationUrls.length, 2, "the 401 led to a new browser authorization instead of a refresh");
    const retried = rec.rpc("tools/call", from).filter((e) => e.status === 200);
    assert.equal(retried.length, 1);
    assertModernRequest(retried[0], { name: "echo" });
  });
  await step(`${who}: the SDK reported nothing out of band but the step-up redirect`, () => {
    const other = client.sdkErrors.filter((e) => !(e instanceof UnauthorizedError));
    assert.deepEqual(other.map(String), []);
    assert.ok(client.sdkErrors.length - other.length <= 1, `${client.sdkErrors.length - other.length} UnauthorizedErrors reported`);
  });
  return { client, rec };
}

test("SDK v2 + OAuth as alice, versionNegotiation auto: 2026-07-28, seed tools, step-up, multi-round-trip get_vibe", { timeout: 120_000 }, async () => {
  await exerciseModern("sdk-v2/auto", { mode: "auto" });
});

test("SDK v2 + OAuth as alice, pinned to 2026-07-28: seed tools, step-up, multi-round-trip get_vibe", { timeout: 120_000 }, async () => {
  await exerciseModern("sdk-v2/pin", { mode: { pin: MODERN } });
});

test("SDK v2 + OAuth as alice, default (legacy) mode: initialize, session, 2025-11-25", { timeout: 90_000 }, async () => {
  const who = "sdk-v2/legacy";
  const { client, rec, elicited, connectedAt } = await connectWithOAuth(who, undefined);
  await step(`${who}: initialize negotiated ${LEGACY} with a session`, async () => {
    assert.equal(client.getNegotiatedProtocolVersion(), LEGACY);
    assert.equal(client.getDiscoverResult(), undefined);
    assert.equal(rec.rpc("server/discover").length, 0, "the legacy client probed server/discover");
    const init = rec.rpc("initialize", connectedAt);
    assert.equal(init.length, 1);
    assert.equal(init[0].status, 200);
    assert.equal(init[0].rpc.params.protocolVersion, LEGACY);
    assert.ok(init[0].sessionId, "initialize did not start a session");
    assert.equal(rec.rpc("notifications/initialized", connectedAt)[0]?.status, 202);
  });
  await step(`${who}: tools/list and calls ride the session`, async () => {
    const from = rec.log.length;
    const { tools } = await client.listTools();
    for (const n of ["echo", "get_vibe", "get_time"]) assert.ok(tools.some((t) => t.name === n), `${n} missing`);
    assert.equal(text(await client.callTool({ name: "echo", arguments: { message: "legacy" } })), "Echo: legacy");
    assert.equal(text(await client.callTool({ name: "get_vibe", arguments: { location: "Lisbon" } })), "Curious vibes for Alice in Lisbon.");
    for (const e of rec.log.slice(from).filter((e) => e.rpc)) {
      assert.equal(e.headers["mcp-protocol-version"], LEGACY, `${e.rpc.method}: MCP-Protocol-Version`);
      assert.ok(e.headers["mcp-session-id"], `${e.rpc.method}: no session id`);
      assert.equal(e.rpc.params?._meta?.[ENVELOPE.version], undefined, `${e.rpc.method}: a 2026 envelope on the legacy wire`);
    }
  });
  await step(`${who}: get_vibe without a location asks on the session's stream (elicitation/create)`, async () => {
    const before = elicited.length;
    const r = await client.callTool({ name: "get_vibe", arguments: {} });
    assert.equal(text(r), "Curious vibes for Alice in Lisbon.");
    assert.equal(elicited.length, before + 1, "the session client was not asked");
  });
  await step(`${who}: the SDK reported no errors out of band`, () => {
    assert.deepEqual(client.sdkErrors.map(String), []);
  });
});

test("SDK v2 without auth (conformance environment): test_input_required_result_multi_round in auto and pinned modes", { timeout: 60_000 }, async () => {
  for (const [who, mode] of [["sdk-v2/conformance/auto", { mode: "auto" }], ["sdk-v2/conformance/pin", { mode: { pin: MODERN } }]]) {
    const rec = wireRecorder();
    const client = new Client(CLIENT_INFO, { capabilities: { elicitation: {} }, versionNegotiation: mode });
    const sdkErrors = [];
    client.onerror = (e) => sdkErrors.push(e);
    const asked = [];
    client.setRequestHandler("elicitation/create", async (request) => {
      asked.push(request.params);
      const prop = Object.keys(request.params.requestedSchema?.properties ?? {})[0];
      return { action: "accept", content: { [prop]: prop === "name" ? "Alice" : "teal" } };
    });
    await step(`${who}: connect`, () => client.connect(new StreamableHTTPClientTransport(new URL(`${CONF}/mcp`), { fetch: rec })));
    cleanups.push(() => client.close());
    await step(`${who}: negotiated ${MODERN}`, () => assert.equal(client.getNegotiatedProtocolVersion(), MODERN));
    await step(`${who}: three rounds, each with new state, completed by the SDK`, async () => {
      const from = rec.log.length;
      const r = await client.callTool({ name: "test_input_required_result_multi_round", arguments: {} });
      assert.ok(!r.isError, text(r));
      assert.equal(text(r), "Both rounds complete.");
      assert.deepEqual(asked.map((p) => Object.keys(p.requestedSchema.properties)[0]), ["name", "color"]);
      const calls = rec.rpc("tools/call", from);
      assert.equal(calls.length, 3, `expected 3 rounds on the wire, saw ${calls.length}`);
      const replies = await Promise.all(calls.map((c) => rec.reply(c)));
      assert.deepEqual(replies.map((x) => x.result?.resultType), ["input_required", "input_required", "complete"]);
      assert.deepEqual(Object.keys(replies[0].result.inputRequests), ["step1"]);
      assert.deepEqual(Object.keys(replies[1].result.inputRequests), ["step2"]);
      const [s1, s2] = [replies[0].result.requestState, replies[1].result.requestState];
      assert.ok(s1 && s2 && s1 !== s2, "the rounds did not carry fresh requestState");
      assert.equal(calls[1].rpc.params.requestState, s1);
      assert.equal(calls[2].rpc.params.requestState, s2);
      assert.deepEqual(calls[1].rpc.params.inputResponses, { step1: { action: "accept", content: { name: "Alice" } } });
      assert.deepEqual(calls[2].rpc.params.inputResponses, { step2: { action: "accept", content: { color: "teal" } } });
      for (const c of calls) assertModernRequest(c, { name: "test_input_required_result_multi_round" });
      assert.deepEqual(sdkErrors.map(String), [], "the SDK reported errors out of band");
    });
  }
});
