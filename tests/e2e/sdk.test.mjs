// The official MCP TypeScript SDK client (@modelcontextprotocol/sdk) against the worker in
// workerd: its own OAuth support (discovery from the 401 challenge, dynamic client
// registration, PKCE, a real loopback redirect, refresh-token rotation), Chromium signing in
// on our pages, then MCP calls over Streamable HTTP. And the same client without auth against
// the conformance environment.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { CreateMessageRequestSchema, ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { auth, UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { launch, signIn } from "./lib/browser.mjs";
import { MemoryOAuthProvider, jwtClaims, recordingFetch, startCallbackServer, step, tokenRequest } from "./lib/oauth-client.mjs";

const BASE = process.env.E2E_URL;
const CONF = process.env.E2E_CONFORMANCE_URL;
const MCP = `${BASE}/mcp`;
const PRM = `${BASE}/.well-known/oauth-protected-resource/mcp`;
const CLIENT_INFO = { name: "mcp-edge-e2e-sdk", version: "1.0.0" };
const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

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

/**
 * The SDK's interactive OAuth flow, as an app embeds it: connect (401 → discovery → DCR →
 * redirectToAuthorization), the user signs in and approves in the browser, the redirect reaches
 * our loopback server, `finishAuth(code)`, then a fresh transport connects with the token.
 */
async function connectWithOAuth(who, { username, context, clientInformation, clientOptions, setup }) {
  const callback = await startCallbackServer();
  cleanups.push(callback.close);
  const rec = recordingFetch();
  const provider = new MemoryOAuthProvider({ redirectUrl: callback.url, clientName: `e2e SDK (${username})`, clientInformation });
  const first = new StreamableHTTPClientTransport(new URL(MCP), { authProvider: provider, fetch: rec });
  const firstClient = new Client(CLIENT_INFO);
  await step(`${who}: connect without a token must end in a redirect to sign in`, () =>
    assert.rejects(firstClient.connect(first), UnauthorizedError));
  await firstClient.close().catch(() => {});
  assert.equal(provider.authorizationUrls.length, 1, `${who}: redirectToAuthorization was called ${provider.authorizationUrls.length} times`);
  const authorizeUrl = provider.authorizationUrls[0];

  const query = await step(`${who}: sign in as ${username} in Chromium and reach the redirect URI`, async () => {
    const arrived = callback.next(30_000);
    arrived.catch(() => {});
    const final = await signIn(authorizeUrl.href, { username, follow: true, context });
    assert.ok(final.startsWith(callback.url), `the browser ended on ${final}, not the redirect URI`);
    return arrived;
  });
  await step(`${who}: authorization response`, () => {
    assert.equal(query.get("error"), null, `the server answered error=${query.get("error")}: ${query.get("error_description")}`);
    assert.ok(query.get("code"), "no code in the redirect");
    assert.equal(query.get("state"), provider.lastState, "state was not echoed");
    assert.equal(query.get("iss"), BASE, "iss (RFC 9207) is not the issuer");
  });
  await step(`${who}: finishAuth (code exchange)`, () => first.finishAuth(query.get("code")));
  const transport = new StreamableHTTPClientTransport(new URL(MCP), { authProvider: provider, fetch: rec });
  const client = new Client(CLIENT_INFO, clientOptions);
  setup?.(client);
  await step(`${who}: connect with the access token`, () => client.connect(transport));
  cleanups.push(() => client.close());
  return { client, transport, provider, rec, authorizeUrl, callback };
}

test("TypeScript SDK + OAuth as alice: discovery, DCR, PKCE, tools, refresh rotation", { timeout: 90_000 }, async () => {
  const who = "sdk/alice";
  const { client, provider, rec, authorizeUrl, callback } = await connectWithOAuth(who, { username: "alice", context: browser });

  await step(`${who}: discovery from the 401 challenge`, () => {
    const challenged = rec.find("/mcp", "POST")[0];
    assert.equal(challenged.status, 401, "the first MCP request was not refused with 401");
    assert.match(challenged.wwwAuthenticate ?? "", new RegExp(`resource_metadata="${PRM}"`));
    assert.match(challenged.wwwAuthenticate, /scope="mcp"/);
    const prm = rec.log.find((e) => e.url === PRM);
    assert.ok(prm, `the SDK did not fetch the resource metadata named in the challenge (${PRM}); it fetched: ${rec.log.map((e) => e.url).join(", ")}`);
    assert.equal(prm.status, 200);
    const asMeta = rec.log.find((e) => e.url.startsWith(`${BASE}/.well-known/oauth-authorization-server`) || e.url.startsWith(`${BASE}/.well-known/openid-configuration`));
    assert.equal(asMeta?.status, 200, "authorization server metadata was not fetched with 200");
    assert.equal(new URL(provider.discovery.authorizationServerUrl).href, new URL(BASE).href);
    assert.equal(provider.discovery.resourceMetadata.resource, MCP);
    assert.equal(provider.discovery.authorizationServerMetadata.issuer, BASE);
  });

  await step(`${who}: dynamic client registration`, () => {
    const reg = rec.find("/register", "POST");
    assert.equal(reg.length, 1, "expected exactly one registration");
    assert.equal(reg[0].status, 201);
    assert.ok(provider.client?.client_id, "no client_id saved");
    assert.equal(provider.client.token_endpoint_auth_method, "none");
    assert.equal(provider.client.client_secret, undefined, "a public client got a secret");
    assert.deepEqual(provider.client.redirect_uris, [callback.url]);
  });

  await step(`${who}: authorization request (PKCE S256, resource, scope, state)`, () => {
    assert.equal(`${authorizeUrl.origin}${authorizeUrl.pathname}`, `${BASE}/authorize`);
    const p = authorizeUrl.searchParams;
    assert.equal(p.get("response_type"), "code");
    assert.equal(p.get("client_id"), provider.client.client_id);
    assert.equal(p.get("code_challenge_method"), "S256");
    assert.match(p.get("code_challenge"), /^[A-Za-z0-9_-]{43}$/);
    assert.equal(p.get("redirect_uri"), callback.url);
    assert.equal(p.get("resource"), MCP);
    assert.equal(p.get("scope"), "mcp");
    assert.equal(p.get("state"), provider.lastState);
  });

  const initial = provider.savedTokens;
  await step(`${who}: token response and access token claims`, () => {
    const exchange = rec.find("/token", "POST").filter((e) => e.body?.includes("grant_type=authorization_code"));
    assert.equal(exchange.length, 1);
    assert.equal(exchange[0].status, 200);
    const body = new URLSearchParams(exchange[0].body);
    assert.ok(body.get("code_verifier"), "no code_verifier sent");
    assert.equal(body.get("resource"), MCP);
    assert.match(initial.token_type, /^bearer$/i);
    assert.ok(initial.refresh_token, "no refresh token issued");
    assert.ok(initial.expires_in > 0);
    const claims = jwtClaims(initial.access_token);
    assert.equal(claims.iss, BASE);
    assert.deepEqual([claims.aud].flat(), [MCP]);
    assert.equal(claims.client_id, provider.client.client_id);
    assert.ok(claims.scope.split(" ").includes("mcp"), `scope is ${claims.scope}`);
  });

  await step(`${who}: tools/list`, async () => {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    for (const n of ["echo", "get_vibe", "get_time"]) assert.ok(names.includes(n), `${n} missing from ${names}`);
    const getTime = tools.find((t) => t.name === "get_time");
    assert.equal(getTime._meta?.ui?.resourceUri, "ui://get-time/mcp-app.html");
  });
  await step(`${who}: tools/call get_vibe`, async () => {
    const r = await client.callTool({ name: "get_vibe", arguments: { location: "Lisbon" } });
    assert.ok(!r.isError, text(r));
    assert.equal(text(r), "Curious vibes for Alice in Lisbon.");
  });
  await step(`${who}: tools/call echo`, async () => {
    const r = await client.callTool({ name: "echo", arguments: { message: "hello from the TypeScript SDK" } });
    assert.equal(text(r), "Echo: hello from the TypeScript SDK");
  });
  await step(`${who}: tools/call get_time`, async () => {
    const r = await client.callTool({ name: "get_time", arguments: {} });
    assert.ok(!r.isError, text(r));
    assert.match(r.structuredContent?.utc ?? "", ISO_UTC);
    assert.ok(Math.abs(r.structuredContent.unix - Date.now() / 1000) < 300, `unix ${r.structuredContent.unix} is far from now`);
    assert.equal(new Date(r.structuredContent.utc).getTime() / 1000, r.structuredContent.unix);
    assert.ok(text(r).includes(r.structuredContent.utc));
  });

  // Refresh 1: the SDK's own refresh path (auth() with a stored refresh token).
  const r0 = initial.refresh_token;
  await step(`${who}: auth() refreshes with the stored refresh token`, async () => {
    const result = await auth(provider, { serverUrl: MCP, fetchFn: rec });
    assert.equal(result, "AUTHORIZED");
    assert.equal(provider.authorizationUrls.length, 1, "refresh fell back to a new browser authorization");
    const sent = rec.find("/token", "POST").filter((e) => e.body?.includes("grant_type=refresh_token"));
    assert.equal(sent.length, 1);
    assert.equal(sent[0].status, 200);
    assert.equal(new URLSearchParams(sent[0].body).get("refresh_token"), r0);
    assert.notEqual(provider.savedTokens.refresh_token, r0, "the refresh token was not rotated");
    assert.notEqual(provider.savedTokens.access_token, initial.access_token);
  });
  const r1 = provider.savedTokens.refresh_token;
  await step(`${who}: tools/call echo with the refreshed access token`, async () => {
    const r = await client.callTool({ name: "echo", arguments: { message: "after refresh" } });
    assert.equal(text(r), "Echo: after refresh");
  });

  // Refresh 2: the transport's path. A tampered access token is refused with 401
  // invalid_token; the SDK refreshes on its own and retries the call.
  await step(`${who}: 401 invalid_token → transparent refresh and retry`, async () => {
    const a1 = provider.savedTokens.access_token;
    const last = a1.at(-1) === "A" ? "B" : "A";
    provider.savedTokens = { ...provider.savedTokens, access_token: a1.slice(0, -1) + last };
    const before401 = rec.log.length;
    const r = await client.callTool({ name: "echo", arguments: { message: "after 401" } });
    assert.equal(text(r), "Echo: after 401");
    const seen = rec.log.slice(before401);
    const refused = seen.find((e) => e.status === 401);
    assert.ok(refused, "the tampered token was not refused with 401");
    assert.match(refused.wwwAuthenticate ?? "", /error="invalid_token"/);
    const refresh = seen.find((e) => e.body?.includes("grant_type=refresh_token"));
    assert.equal(refresh?.status, 200, "no successful refresh after the 401");
    assert.equal(new URLSearchParams(refresh.body).get("refresh_token"), r1);
    assert.equal(provider.authorizationUrls.length, 1, "the 401 led to a new browser authorization instead of a refresh");
  });
  const r2 = provider.savedTokens.refresh_token;
  assert.ok(r2 !== r1 && r2 !== r0, `${who}: the refresh token was not rotated on the second refresh`);

  await step(`${who}: the first refresh token, rotated twice, is dead (invalid_grant)`, async () => {
    const r = await tokenRequest(BASE, { grant_type: "refresh_token", refresh_token: r0, client_id: provider.client.client_id });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.error, "invalid_grant");
  });
  await step(`${who}: replaying it revoked the grant: the newest refresh token is dead too`, async () => {
    const r = await tokenRequest(BASE, { grant_type: "refresh_token", refresh_token: r2, client_id: provider.client.client_id });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.error, "invalid_grant");
  });
});

test("TypeScript SDK (2025-11-25 session) + OAuth: get_vibe asks for a location by elicitation on the call's stream", { timeout: 90_000 }, async () => {
  const who = "sdk/legacy-input";
  const asked = [];
  const { client, transport } = await connectWithOAuth(who, {
    username: "alice",
    context: browser,
    clientOptions: { capabilities: { elicitation: {} } },
    setup: (c) => c.setRequestHandler(ElicitRequestSchema, async (req) => {
      asked.push(req.params);
      return { action: "accept", content: { location: "Reykjavik" } };
    }),
  });
  await step(`${who}: the session speaks 2025-11-25`, () => assert.equal(transport.protocolVersion, "2025-11-25"));
  await step(`${who}: tools/call get_vibe without a location`, async () => {
    const r = await client.callTool({ name: "get_vibe", arguments: {} });
    assert.equal(asked.length, 1, "the server did not send elicitation/create on the call's stream");
    assert.equal(asked[0].requestedSchema?.properties?.location?.type, "string");
    assert.notEqual(r.isError, true, text(r));
    assert.match(text(r), /Reykjavik/);
    assert.match(text(r), /alice/i);
  });
  await step(`${who}: a declined elicitation is not an answer`, async () => {
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: "decline" }));
    const r = await client.callTool({ name: "get_vibe", arguments: {} });
    assert.notEqual(r.isError, true, text(r));
    assert.equal(text(r), "Curious vibes for Alice, wherever you are.", "answered without a place");
  });
});

test("TypeScript SDK + OAuth as bob: list_clients is refused with 403 insufficient_scope", { timeout: 90_000 }, async () => {
  const who = "sdk/bob";
  const context = await launch();
  cleanups.push(() => context.close());
  const { client, provider, rec } = await connectWithOAuth(who, { username: "bob", context });

  await step(`${who}: tools/call get_vibe greets bob`, async () => {
    const r = await client.callTool({ name: "get_vibe", arguments: { location: "Oslo" } });
    assert.equal(text(r), "Curious vibes for Bob in Oslo.");
  });
  await step(`${who}: tools/call list_clients`, async () => {
    const before = rec.log.length;
    const err = await client.callTool({ name: "list_clients", arguments: {} }).then(
      (r) => assert.fail(`list_clients succeeded for bob: ${JSON.stringify(r)}`),
      (e) => e);
    const refused = rec.log.slice(before).filter((e) => e.method === "POST" && e.url === MCP && e.status === 403);
    assert.ok(refused.length >= 1, `no HTTP 403 on /mcp; saw ${rec.log.slice(before).map((e) => `${e.method} ${e.url} ${e.status}`).join(", ")}`);
    for (const r of refused) {
      assert.match(r.wwwAuthenticate ?? "", /^Bearer /);
      assert.match(r.wwwAuthenticate, /error="insufficient_scope"/);
      assert.match(r.wwwAuthenticate, /scope="mcp admin"/);
      assert.match(r.wwwAuthenticate, new RegExp(`resource_metadata="${PRM}"`));
    }
    // The SDK tries step-up once (SEP-835), then surfaces the 403.
    assert.ok(err instanceof StreamableHTTPError || err instanceof UnauthorizedError, `unexpected error type: ${err}`);
    if (err instanceof StreamableHTTPError) assert.equal(err.code, 403, String(err));
    assert.equal(jwtClaims(provider.savedTokens.access_token).scope.split(" ").includes("admin"), false, "bob's token carries admin");
  });
  await step(`${who}: the session still works after the refusal`, async () => {
    const r = await client.callTool({ name: "echo", arguments: { message: "still here" } });
    assert.equal(text(r), "Echo: still here");
  });
});

test("TypeScript SDK + OAuth: the user denies consent → access_denied at the redirect URI", { timeout: 60_000 }, async () => {
  const who = "sdk/deny";
  const callback = await startCallbackServer();
  cleanups.push(callback.close);
  const provider = new MemoryOAuthProvider({ redirectUrl: callback.url });
  const transport = new StreamableHTTPClientTransport(new URL(MCP), { authProvider: provider });
  const client = new Client(CLIENT_INFO);
  await step(`${who}: connect without a token`, () => assert.rejects(client.connect(transport), UnauthorizedError));
  await client.close().catch(() => {});
  const query = await step(`${who}: deny in Chromium`, async () => {
    const arrived = callback.next(30_000);
    arrived.catch(() => {});
    await signIn(provider.authorizationUrls[0].href, { username: "alice", approve: false, follow: true, context: browser });
    return arrived;
  });
  await step(`${who}: error response`, () => {
    assert.equal(query.get("error"), "access_denied");
    assert.equal(query.get("code"), null, "a code was issued although the user denied");
    assert.equal(query.get("state"), provider.lastState);
    assert.equal(query.get("iss"), BASE);
  });
  assert.equal(provider.savedTokens, undefined, `${who}: tokens were saved`);
});

/**
 * Step-up (MCP 2025-11-25 "Step-Up Authorization Flow", SEP-835): alice holds `admin` but her
 * first token only `mcp` (the scope of the 401 challenge). list_clients answers 403
 * insufficient_scope scope="mcp admin"; SDK 1.32.2 "upscopes" by refreshing, which cannot add a
 * scope, and surfaces the 403. The app then re-authorizes with `mcp admin` through the SDK's
 * auth(); alice is still signed in, so the browser only sees the consent page.
 */
async function stepUp(who, { clientInformation }) {
  const { client, provider, rec, callback } = await connectWithOAuth(who, { username: "alice", context: browser, clientInformation });
  await step(`${who}: list_clients with an mcp-only token is refused with 403`, async () => {
    assert.deepEqual(jwtClaims(provider.savedTokens.access_token).scope.split(" "), ["mcp"]);
    const before = rec.log.length;
    await assert.rejects(client.callTool({ name: "list_clients", arguments: {} }));
    const refused = rec.log.slice(before).find((e) => e.status === 403);
    assert.match(refused?.wwwAuthenticate ?? "", /error="insufficient_scope"/);
    assert.match(refused.wwwAuthenticate, /scope="mcp admin"/);
  });
  const url = await step(`${who}: auth() with scope "mcp admin" redirects to authorize`, async () => {
    provider.invalidateCredentials("tokens");
    const result = await auth(provider, { serverUrl: MCP, scope: "mcp admin", fetchFn: rec });
    assert.equal(result, "REDIRECT");
    const u = provider.authorizationUrls.at(-1);
    assert.equal(u.searchParams.get("scope"), "mcp admin");
    return u;
  });
  const query = await step(`${who}: consent to admin in Chromium (already signed in)`, async () => {
    const arrived = callback.next(30_000);
    arrived.catch(() => {});
    await signIn(url.href, { username: "alice", follow: true, context: browser });
    const q = await arrived;
    assert.equal(q.get("error"), null, `the server answered error=${q.get("error")}: ${q.get("error_description")}`);
    return q;
  });
  const upgraded = await step(`${who}: exchange the code and reconnect`, async () => {
    const transport = new StreamableHTTPClientTransport(new URL(MCP), { authProvider: provider, fetch: rec });
    await transport.finishAuth(query.get("code"));
    assert.deepEqual(jwtClaims(provider.savedTokens.access_token).scope.split(" ").sort(), ["admin", "mcp"]);
    const c = new Client(CLIENT_INFO);
    await c.connect(transport);
    cleanups.push(() => c.close());
    return c;
  });
  await step(`${who}: list_clients with the admin token`, async () => {
    const name = `e2e step-up marker ${Date.now()}`;
    const reg = await fetch(`${BASE}/register`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_name: name, redirect_uris: ["http://127.0.0.1/cb"] }),
    });
    assert.equal(reg.status, 201);
    const { client_id } = await reg.json();
    const r = await upgraded.callTool({ name: "list_clients", arguments: {} });
    assert.ok(!r.isError, text(r));
    const listed = r.structuredContent?.clients?.find((c) => c.client_id === client_id);
    assert.equal(listed?.client_name, name, `the client just registered is not listed: ${text(r)}`);
  });
}

test("TypeScript SDK + OAuth as alice: step-up to admin with a pre-registered client (mcp_console)", { timeout: 90_000 }, async () => {
  await stepUp("sdk/alice step-up (mcp_console)", { clientInformation: { client_id: "mcp_console" } });
});

// The SDK registers with the challenge's scope ("mcp"); the registered scope is only a default,
// so the same client can step up to "mcp admin".
test("TypeScript SDK + OAuth as alice: step-up to admin with a dynamically registered client", { timeout: 90_000 }, async () => {
  await stepUp("sdk/alice step-up (DCR)", {});
});

test("TypeScript SDK without auth against the conformance environment", { timeout: 30_000 }, async () => {
  const who = "sdk/conformance";
  const client = new Client(CLIENT_INFO);
  const transport = new StreamableHTTPClientTransport(new URL(`${CONF}/mcp`));
  await step(`${who}: initialize`, () => client.connect(transport));
  try {
    await step(`${who}: server info`, () => {
      assert.equal(client.getServerVersion()?.name, "mcp-edge");
      assert.ok(client.getServerCapabilities()?.tools, "no tools capability");
    });
    await step(`${who}: tools/list`, async () => {
      const names = (await client.listTools()).tools.map((t) => t.name);
      for (const n of ["echo", "get_time"]) assert.ok(names.includes(n), `${n} missing from ${names}`);
    });
    await step(`${who}: tools/call echo`, async () => {
      const r = await client.callTool({ name: "echo", arguments: { message: "conformance" } });
      assert.equal(text(r), "Echo: conformance");
    });
    await step(`${who}: tools/call get_time`, async () => {
      const r = await client.callTool({ name: "get_time", arguments: {} });
      assert.match(r.structuredContent?.utc ?? "", ISO_UTC);
      assert.equal(typeof r.structuredContent.unix, "number");
    });
  } finally {
    await client.close();
  }
});

test("TypeScript SDK (legacy session) with a sampling handler: the server's sampling request reaches it and its answer the tool", { timeout: 30_000 }, async () => {
  const who = "sdk/sampling";
  const client = new Client(CLIENT_INFO, { capabilities: { sampling: {} } });
  const asked = [];
  client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
    asked.push(req.params);
    return { role: "assistant", content: { type: "text", text: "forty-two" }, model: "e2e-model", stopReason: "endTurn" };
  });
  const transport = new StreamableHTTPClientTransport(new URL(`${CONF}/mcp`));
  await step(`${who}: initialize with sampling`, () => client.connect(transport));
  try {
    await step(`${who}: tools/call test_sampling asks the client's model and returns its answer`, async () => {
      const r = await client.callTool({ name: "test_sampling", arguments: { prompt: "What is six times seven?" } });
      assert.equal(asked.length, 1, "the server sent one sampling/createMessage on the call's stream");
      assert.equal(asked[0].messages?.[0]?.content?.text, "What is six times seven?");
      assert.notEqual(r.isError, true, text(r));
      assert.equal(text(r), "LLM response: forty-two");
    });
  } finally {
    await client.close();
  }
});
