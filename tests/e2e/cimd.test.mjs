// Client ID Metadata Documents against the worker in workerd: a local document server (http and
// https on 127.0.0.1, accepted as client ids only because this worker runs the development
// settings), the worker's real outbound fetch (src/edge/fetch.rs: redirects not followed, 5 KB
// cap on declared and streamed size, JSON only), and the TypeScript SDK v2 client signing in with
// `clientMetadataUrl` through Chromium, then calling a tool. This file starts its own worker so
// workerd trusts the document server's throwaway certificate (NODE_EXTRA_CA_CERTS, which
// Miniflare hands to workerd).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Client, StreamableHTTPClientTransport, UnauthorizedError } from "@modelcontextprotocol/client";
import { launch, signIn } from "./lib/browser.mjs";
import { MemoryOAuthProvider, recordingFetch, startCallbackServer, step, tokenRequest } from "./lib/oauth-client.mjs";
import { selfSignedCert, startDocServer } from "./lib/docserver.mjs";
import { startWorker } from "./worker.mjs";

let browser, worker, tls, https, http, BASE, MCP;
const cleanups = [];

before(async () => {
  tls = selfSignedCert();
  process.env.NODE_EXTRA_CA_CERTS = tls.certFile;
  [worker, https, http, browser] = await Promise.all([
    startWorker(), startDocServer({ tls }), startDocServer(), launch(),
  ]);
  BASE = worker.url;
  MCP = `${BASE}/mcp`;
});
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await browser?.close();
  await Promise.all([https?.close(), http?.close()]);
  await worker?.stop();
  tls?.remove();
});

/** An OAuthClientProvider that identifies itself with a metadata document URL (SEP-991). */
class MetadataUrlProvider extends MemoryOAuthProvider {
  constructor(opts) {
    super(opts);
    this._metadataUrl = opts.clientMetadataUrl;
  }
  get clientMetadataUrl() { return this._metadataUrl; }
}

const pkceChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
function authorizeUrl(clientId, redirectUri) {
  const u = new URL(`${BASE}/authorize`);
  for (const [k, v] of Object.entries({ response_type: "code", client_id: clientId, redirect_uri: redirectUri, state: "s1",
    code_challenge: pkceChallenge, code_challenge_method: "S256" })) u.searchParams.set(k, v);
  return u.href;
}

test("the SDK v2 client signs in with clientMetadataUrl (https document on 127.0.0.1) and calls a tool", { timeout: 90_000 }, async () => {
  const who = "SDK v2 + CIMD";
  const callback = await startCallbackServer();
  cleanups.push(callback.close);
  const docUrl = https.url("/oauth/client-metadata.json");
  https.set("/oauth/client-metadata.json", {
    headers: { "cache-control": "public, max-age=3600" },
    body: { client_id: docUrl, client_name: "e2e CIMD client", redirect_uris: [callback.url],
      grant_types: ["authorization_code", "refresh_token"], response_types: ["code"], token_endpoint_auth_method: "none" },
  });
  const rec = recordingFetch();
  const provider = new MetadataUrlProvider({ redirectUrl: callback.url, clientMetadataUrl: docUrl });
  const first = new StreamableHTTPClientTransport(new URL(MCP), { authProvider: provider, fetch: rec });
  const firstClient = new Client({ name: "mcp-edge-e2e-cimd", version: "1.0.0" });
  await step(`${who}: connect without a token ends in a redirect to sign in`, async () => {
    const err = await firstClient.connect(first).then(() => assert.fail("connected without a token"), (e) => e);
    assert.ok(err instanceof UnauthorizedError, `expected UnauthorizedError, got ${err?.name}: ${err?.message}`);
  });
  await firstClient.close().catch(() => {});
  await step(`${who}: no registration; the URL is the client_id`, () => {
    assert.equal(rec.find("/register", "POST").length, 0, "the SDK registered although CIMD is advertised");
    assert.equal(provider.client?.client_id, docUrl);
    assert.equal(provider.authorizationUrls[0].searchParams.get("client_id"), docUrl);
  });
  const query = await step(`${who}: sign in and approve in Chromium`, async () => {
    const arrived = callback.next(30_000);
    arrived.catch(() => {});
    const final = await signIn(provider.authorizationUrls[0].href, { follow: true, context: browser });
    assert.ok(final.startsWith(callback.url), `the browser ended on ${final}`);
    return arrived;
  });
  assert.equal(query.get("error"), null, `error=${query.get("error")}: ${query.get("error_description")}`);
  await step(`${who}: finishAuth`, () => first.finishAuth(query));
  await step(`${who}: the worker fetched the document once, as JSON`, () => {
    const hits = https.hits("/oauth/client-metadata.json");
    assert.equal(hits.length, 1, `fetched ${hits.length} times (the cache should serve the rest)`);
    assert.equal(hits[0].method, "GET");
    assert.match(hits[0].accept ?? "", /application\/json/);
  });
  const client = new Client({ name: "mcp-edge-e2e-cimd", version: "1.0.0" });
  await step(`${who}: connect with the token and call echo`, async () => {
    await client.connect(new StreamableHTTPClientTransport(new URL(MCP), { authProvider: provider, fetch: rec }));
    cleanups.push(() => client.close());
    const result = await client.callTool({ name: "echo", arguments: { message: "from a metadata document" } });
    assert.equal(result.content?.[0]?.text, "Echo: from a metadata document");
  });
});

test("the consent page names the document's host and warns when it only returns to loopback", { timeout: 30_000 }, async () => {
  const docUrl = http.url("/loopback-only.json");
  http.set("/loopback-only.json", { body: { client_id: docUrl, client_name: "Loopback App", redirect_uris: ["http://127.0.0.1/cb"] } });
  const page = await browser.newPage();
  try {
    await page.goto(authorizeUrl(docUrl, "http://127.0.0.1:5555/cb"));
    // The browser may still be signed in from the previous test (then consent comes first).
    if (await page.locator("input[name=username]").count()) {
      await page.fill("input[name=username]", "alice");
      await page.fill("input[name=password]", "alice");
      await Promise.all([page.waitForEvent("load"), page.click("button[type=submit]")]);
    }
    assert.equal(await page.locator("h1").first().textContent(), "Allow access?");
    const body = await page.locator("body").innerText();
    assert.match(body, /Loopback App/);
    assert.match(body, /published by 127\.0\.0\.1:\d+/);
    assert.match(body, /loopback/);
  } finally {
    await page.close();
  }
});

/** GET /authorize for a document; the status and the page's text. */
async function authorizeWith(docUrl, redirectUri) {
  const res = await fetch(authorizeUrl(docUrl, redirectUri), { redirect: "manual" });
  return { status: res.status, location: res.headers.get("location"), text: await res.text() };
}

test("bad documents are refused by the worker's fetch, and failures are not cached", { timeout: 30_000 }, async () => {
  const cb = "http://127.0.0.1:9/cb";
  const doc = (url, extra = {}) => ({ client_id: url, client_name: "x", redirect_uris: [cb], ...extra });
  const cases = [
    ["redirecting", "/redirect.json", { status: 302, headers: { location: http.url("/good.json") }, body: "" }, "redirects are not followed"],
    ["declared oversized", "/big.json", { body: JSON.stringify({ ...doc(http.url("/big.json")), pad: "x".repeat(6000) }) }, "larger than 5120 bytes"],
    ["streamed oversized", "/stream.json", (req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write(`{"client_id":"${http.url("/stream.json")}","pad":"`);
      for (let i = 0; i < 8; i++) res.write("x".repeat(1000));
      res.end('"}');
    }, "larger than 5120 bytes"],
    ["html", "/page.json", { headers: { "content-type": "text/html" }, body: JSON.stringify(doc(http.url("/page.json"))) }, "not application/json"],
    ["mismatched client_id", "/mismatch.json", { body: doc(http.url("/other.json")) }, "not exactly the document"],
    ["secret inside", "/secret.json", { body: doc(http.url("/secret.json"), { client_secret: "hunter2" }) }, "client_secret"],
  ];
  for (const [why, path, route, expect] of cases) {
    http.set(path, route);
    const url = http.url(path);
    const r = await authorizeWith(url, cb);
    assert.equal(r.status, 400, `${why}: ${r.status} ${r.location ?? ""}`);
    assert.equal(r.location, null, `${why}: redirected`);
    assert.ok(r.text.includes(expect), `${why}: the page does not say "${expect}": ${r.text.slice(-600)}`);
    await authorizeWith(url, cb);
    assert.equal(http.hits(path).length, 2, `${why}: a failure was cached`);
  }
  // The redirect target was never fetched.
  assert.equal(http.hits("/good.json").length, 0, "the worker followed a redirect");

  // A redirect URI the document does not list: refused before any redirect.
  const listed = http.url("/listed.json");
  http.set("/listed.json", { body: doc(listed) });
  const r = await authorizeWith(listed, "http://127.0.0.1:9/elsewhere");
  assert.equal(r.status, 400);
  assert.ok(r.text.includes("not registered"), r.text.slice(-400));
  assert.equal((await authorizeWith(listed, cb)).status, 200);
});

test("an http document on loopback completes the flow with raw requests (the token is for the URL client)", { timeout: 30_000 }, async () => {
  const callback = await startCallbackServer();
  cleanups.push(callback.close);
  const url = http.url("/raw.json");
  http.set("/raw.json", { headers: { "cache-control": "max-age=600" }, body: { client_id: url, client_name: "Raw", redirect_uris: [callback.url] } });
  const arrived = callback.next(30_000);
  arrived.catch(() => {});
  await signIn(authorizeUrl(url, callback.url), { follow: true, context: browser });
  const q = await arrived;
  const res = await tokenRequest(BASE, { grant_type: "authorization_code", code: q.get("code"), client_id: url,
    redirect_uri: callback.url, code_verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const claims = JSON.parse(Buffer.from(res.body.access_token.split(".")[1], "base64url"));
  assert.equal(claims.client_id, url);
  assert.equal(http.hits("/raw.json").length, 1, "cached for the token request");
});
