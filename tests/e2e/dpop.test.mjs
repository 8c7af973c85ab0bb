// DPoP (RFC 9449) with the TypeScript SDK v2 client against the worker in workerd: an
// OAuthClientProvider with `dpop()` (a DpopSession), so the SDK sends a proof at /token, gets a
// `token_type: DPoP` token bound to its key (`cnf.jkt`), and its transport presents it with
// `Authorization: DPoP` plus a proof per request (`withDpop` underneath); `withDpop` used
// directly; then the refusals the RFC requires: Bearer use of the bound token, a replayed
// proof, a wrong htu or ath, a stale iat, and a refresh without the key.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Client, DpopSession, StreamableHTTPClientTransport, withDpop } from "@modelcontextprotocol/client";
import { launch } from "./lib/browser.mjs";
import { dpopSignIn } from "./lib/sdk-auth.mjs";
import { jwtClaims, step, tokenRequest } from "./lib/oauth-client.mjs";

const BASE = process.env.E2E_URL;
const MCP = `${BASE}/mcp`;
let browser;
const cleanups = [];
before(async () => { browser = await launch(); });
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await browser?.close();
});

/** `fetch` that records method, URL, the Authorization scheme and DPoP header, and status. */
function headerRecorder() {
  const log = [];
  const f = async (input, init = {}) => {
    const headers = new Headers(init.headers);
    const entry = { method: (init.method ?? "GET").toUpperCase(), url: String(input instanceof Request ? input.url : input),
      scheme: headers.get("authorization")?.split(" ")[0], dpop: headers.get("dpop"), authorization: headers.get("authorization") };
    log.push(entry);
    const res = await fetch(input, init);
    entry.status = res.status;
    return res;
  };
  f.log = log;
  return f;
}

const init = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "dpop-raw", version: "1" } } };
function mcpPost(headers) {
  return fetch(MCP, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers }, body: JSON.stringify(init) });
}
function assertDpopRefusal(res, error, why) {
  assert.equal(res.status, 401, why);
  const challenge = res.headers.get("www-authenticate") ?? "";
  assert.match(challenge, /^DPoP /, `${why}: ${challenge}`);
  assert.ok(challenge.includes(`error="${error}"`), `${why}: ${challenge}`);
  assert.ok(challenge.includes('algs="ES256 RS256"'), `${why}: ${challenge}`);
}

test("SDK v2 with DPoP: bound token, DPoP scheme and proofs on every call, the RFC 9449 refusals", { timeout: 90_000 }, async () => {
  const who = "SDK v2 + DPoP";
  const rec = headerRecorder();
  const { provider, session, transport: first, query } =
    await dpopSignIn(who, { mcp: MCP, clientName: "e2e DPoP", fetch: rec, browser, cleanups });
  await step(`${who}: finishAuth sends a DPoP proof and gets a bound token`, async () => {
    await first.finishAuth(query);
    assert.equal(provider.savedTokens.token_type, "DPoP");
    assert.equal(jwtClaims(provider.savedTokens.access_token).cnf?.jkt, session.thumbprint);
  });
  const client = new Client({ name: "mcp-edge-e2e-dpop", version: "1.0.0" });
  const before = rec.log.length;
  await step(`${who}: connect and call echo with DPoP`, async () => {
    await client.connect(new StreamableHTTPClientTransport(new URL(MCP), { authProvider: provider, fetch: rec }));
    cleanups.push(() => client.close());
    const result = await client.callTool({ name: "echo", arguments: { message: "bound" } });
    assert.equal(result.content?.[0]?.text, "Echo: bound");
    // POSTs (the legacy GET stream probe gets its usual 405: no GET stream is offered).
    const calls = rec.log.slice(before).filter((e) => e.url === MCP && e.method === "POST");
    assert.ok(calls.length >= 2);
    for (const e of calls) {
      assert.equal(e.scheme, "DPoP", `${e.method} ${e.url} used ${e.scheme}`);
      assert.ok(e.dpop, "no proof");
      assert.ok(e.status < 300, `${e.method} answered ${e.status}`);
    }
  });
  const access = provider.savedTokens.access_token;

  await step(`${who}: withDpop on its own`, async () => {
    const f = withDpop(session, async () => access)(fetch);
    const res = await f(MCP, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream" }, body: JSON.stringify(init) });
    assert.equal(res.status, 200, await res.clone().text());
  });

  await step(`${who}: refusals`, async () => {
    assertDpopRefusal(await mcpPost({ authorization: `Bearer ${access}` }), "invalid_token", "Bearer use of a bound token");
    const used = rec.log.filter((e) => e.url === MCP && e.method === "POST" && e.dpop).at(-1).dpop;
    assertDpopRefusal(await mcpPost({ authorization: `DPoP ${access}`, dpop: used }), "invalid_dpop_proof", "replayed proof");
    const wrongHtu = await session.buildProof({ htm: "POST", htu: new URL(`${BASE}/token`), accessToken: access });
    assertDpopRefusal(await mcpPost({ authorization: `DPoP ${access}`, dpop: wrongHtu }), "invalid_dpop_proof", "wrong htu");
    const wrongAth = await session.buildProof({ htm: "POST", htu: new URL(MCP), accessToken: "another" });
    assertDpopRefusal(await mcpPost({ authorization: `DPoP ${access}`, dpop: wrongAth }), "invalid_dpop_proof", "wrong ath");
    assertDpopRefusal(await mcpPost({ authorization: `DPoP ${access}` }), "invalid_dpop_proof", "no proof");
    // A stranger's key with the right claims.
    const stranger = await DpopSession.create({ alg: "ES256" });
    const foreign = await stranger.buildProof({ htm: "POST", htu: new URL(MCP), accessToken: access });
    assertDpopRefusal(await mcpPost({ authorization: `DPoP ${access}`, dpop: foreign }), "invalid_dpop_proof", "another key");
    // The right key and claims, one signature byte off: WebCrypto's verify says no.
    const good = await session.buildProof({ htm: "POST", htu: new URL(MCP), accessToken: access });
    const [head, body, sig] = good.split(".");
    const flipped = Buffer.from(sig, "base64url");
    flipped[10] ^= 1;
    const broken = `${head}.${body}.${flipped.toString("base64url")}`;
    assertDpopRefusal(await mcpPost({ authorization: `DPoP ${access}`, dpop: broken }), "invalid_dpop_proof", "a broken signature");
    // Still usable with a fresh proof.
    const fresh = await session.buildProof({ htm: "POST", htu: new URL(MCP), accessToken: access });
    assert.equal((await mcpPost({ authorization: `DPoP ${access}`, dpop: fresh })).status, 200);
  });

  await step(`${who}: the refresh token is bound to the key`, async () => {
    const form = { grant_type: "refresh_token", refresh_token: provider.savedTokens.refresh_token, client_id: provider.client.client_id };
    const bare = await tokenRequest(BASE, form);
    assert.equal(bare.status, 400);
    assert.equal(bare.body.error, "invalid_grant");
    const proof = await session.buildProof({ htm: "POST", htu: new URL(`${BASE}/token`) });
    const res = await fetch(`${BASE}/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", dpop: proof }, body: new URLSearchParams(form) });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.token_type, "DPoP");
    assert.equal(jwtClaims(body.access_token).cnf?.jkt, session.thumbprint);
  });
});
