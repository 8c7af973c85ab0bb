// private_key_jwt (RFC 7523) against the worker in workerd, with the TypeScript SDK v2 client's
// own assertion signer (`createPrivateKeyJwtAuth`, the one inside `PrivateKeyJwtProvider`) on
// the interactive authorization-code flow: a client metadata document (https on 127.0.0.1, as
// ChatGPT publishes one) with an inline ES256 key, one with an RS256 `jwks_uri`, and a client
// that registers with `private_key_jwt` (DCR). Each signs in through Chromium and calls a tool.
// `PrivateKeyJwtProvider` itself only does the client_credentials grant (no user), which this
// server does not offer: it gets a spec-shaped `unsupported_grant_type`.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createPrivateKey, generateKeyPairSync, randomUUID, sign } from "node:crypto";
import { Client, StreamableHTTPClientTransport, createPrivateKeyJwtAuth, PrivateKeyJwtProvider } from "@modelcontextprotocol/client";
import { launch } from "./lib/browser.mjs";
import { connectThenSignIn } from "./lib/sdk-auth.mjs";
import { MemoryOAuthProvider, recordingFetch, startCallbackServer, step } from "./lib/oauth-client.mjs";
import { selfSignedCert, startDocServer } from "./lib/docserver.mjs";
import { startWorker } from "./worker.mjs";

let browser, worker, tls, https, BASE, MCP;
const cleanups = [];

before(async () => {
  tls = selfSignedCert();
  process.env.NODE_EXTRA_CA_CERTS = tls.certFile;
  [worker, https, browser] = await Promise.all([startWorker(), startDocServer({ tls }), launch()]);
  BASE = worker.url;
  MCP = `${BASE}/mcp`;
});
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await browser?.close();
  await https?.close();
  await worker?.stop();
  tls?.remove();
});

function keyPair(kind) {
  const { privateKey, publicKey } = kind === "ES256"
    ? generateKeyPairSync("ec", { namedCurve: "P-256" })
    : generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { privateJwk: privateKey.export({ format: "jwk" }), publicJwk: { ...publicKey.export({ format: "jwk" }), kid: `${kind}-1`, use: "sig" } };
}

/** A client assertion for `clientId` at this server's /token, signed with `privateJwk` by node:crypto. */
function assertion(alg, privateJwk, clientId, kid) {
  const part = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const input = `${part({ alg, typ: "JWT", kid })}.${part({ iss: clientId, sub: clientId, aud: `${BASE}/token`, jti: randomUUID(), iat: now, exp: now + 60 })}`;
  const key = createPrivateKey({ key: privateJwk, format: "jwk" });
  const sig = alg === "ES256" ? sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" }) : sign("sha256", Buffer.from(input), key);
  return `${input}.${sig.toString("base64url")}`;
}

/** The same JWS with one byte of its signature flipped (still well-formed base64url). */
function tampered(jws) {
  const [head, body, sig] = jws.split(".");
  const bytes = Buffer.from(sig, "base64url");
  bytes[10] ^= 1;
  return `${head}.${body}.${bytes.toString("base64url")}`;
}

/**
 * The runtime's WebCrypto verifies the signature: one byte off is refused, the untouched
 * assertion (made the same way) is accepted.
 */
async function refreshWithAssertions(alg, privateJwk, clientId, kid, refreshToken) {
  const token = (client_assertion) => fetch(`${BASE}/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken,
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", client_assertion }) });
  const good = assertion(alg, privateJwk, clientId, kid);
  const bad = await token(tampered(good));
  assert.equal(bad.status, 401, `${alg} with a flipped signature byte`);
  assert.equal((await bad.json()).error, "invalid_client");
  const ok = await token(good);
  assert.equal(ok.status, 200, `${alg}: ${await ok.clone().text()}`);
}

/**
 * An interactive provider that authenticates at /token with the SDK's private_key_jwt signer:
 * the client id comes from a metadata URL (`clientMetadataUrl`) or from registration.
 */
class SignedProvider extends MemoryOAuthProvider {
  constructor({ privateJwk, alg, clientMetadataUrl, jwks, ...opts }) {
    super(opts);
    this._metadataUrl = clientMetadataUrl;
    this._jwks = jwks;
    this.assertions = 0;
    this.addClientAuthentication = async (headers, params, url, metadata) => {
      const id = this.client.client_id;
      await createPrivateKeyJwtAuth({ issuer: id, subject: id, privateKey: privateJwk, alg })(headers, params, url, metadata);
      this.assertions++;
    };
  }
  get clientMetadataUrl() { return this._metadataUrl; }
  get clientMetadata() {
    return { ...super.clientMetadata, token_endpoint_auth_method: "private_key_jwt", jwks: this._jwks };
  }
}

async function signInAndCall(who, provider, callback) {
  const rec = recordingFetch();
  const first = new StreamableHTTPClientTransport(new URL(MCP), { authProvider: provider, fetch: rec });
  const query = await connectThenSignIn(who, { transport: first, provider, callback, browser });
  assert.equal(query.get("error"), null, `${query.get("error")}: ${query.get("error_description")}`);
  await step(`${who}: finishAuth with a signed assertion`, () => first.finishAuth(query));
  await step(`${who}: the token request carried a client_assertion and no secret`, () => {
    const token = rec.find("/token", "POST").at(-1);
    assert.equal(token.status, 200);
    const form = new URLSearchParams(token.body);
    assert.equal(form.get("client_assertion_type"), "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    assert.ok(form.get("client_assertion"));
    assert.equal(form.get("client_secret"), null);
    assert.equal(provider.assertions, 1);
  });
  const client = new Client({ name: "mcp-edge-e2e-pkjwt", version: "1.0.0" });
  await step(`${who}: call echo`, async () => {
    await client.connect(new StreamableHTTPClientTransport(new URL(MCP), { authProvider: provider, fetch: rec }));
    cleanups.push(() => client.close());
    const result = await client.callTool({ name: "echo", arguments: { message: who } });
    assert.equal(result.content?.[0]?.text, `Echo: ${who}`);
  });
  return { rec };
}

test("a metadata-document client with an inline ES256 key signs in with private_key_jwt", { timeout: 90_000 }, async () => {
  const callback = await startCallbackServer();
  cleanups.push(callback.close);
  const { privateJwk, publicJwk } = keyPair("ES256");
  const docUrl = https.url("/es256/client.json");
  https.set("/es256/client.json", { body: { client_id: docUrl, client_name: "ES256 client", redirect_uris: [callback.url],
    token_endpoint_auth_method: "private_key_jwt", jwks: { keys: [publicJwk] } } });
  const provider = new SignedProvider({ redirectUrl: callback.url, clientMetadataUrl: docUrl, privateJwk, alg: "ES256" });
  await signInAndCall("CIMD + ES256", provider, callback);
  await refreshWithAssertions("ES256", privateJwk, docUrl, publicJwk.kid, provider.savedTokens.refresh_token);
});

test("a ChatGPT-like client: RS256 from a jwks_uri, no fallback to none, assertions single-use", { timeout: 90_000 }, async () => {
  const callback = await startCallbackServer();
  cleanups.push(callback.close);
  const { privateJwk, publicJwk } = keyPair("RS256");
  const docUrl = https.url("/oauth/abc123/client.json");
  const jwksUri = https.url("/oauth/jwks.json");
  https.set("/oauth/abc123/client.json", { body: { client_id: docUrl, client_name: "ChatGPT-like", redirect_uris: [callback.url],
    token_endpoint_auth_method: "private_key_jwt", jwks_uri: jwksUri } });
  https.set("/oauth/jwks.json", { headers: { "cache-control": "max-age=600" }, body: { keys: [publicJwk] } });
  const provider = new SignedProvider({ redirectUrl: callback.url, clientMetadataUrl: docUrl, privateJwk, alg: "RS256" });
  const { rec } = await signInAndCall("CIMD + RS256 jwks_uri", provider, callback);
  assert.equal(https.hits("/oauth/jwks.json").length, 1, "the JWK set is fetched once and cached");

  // The exact assertion the SDK sent, replayed: refused (jti seen).
  const sent = new URLSearchParams(rec.find("/token", "POST").at(-1).body);
  const replay = await fetch(`${BASE}/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: provider.savedTokens.refresh_token,
      client_assertion_type: sent.get("client_assertion_type"), client_assertion: sent.get("client_assertion") }) });
  assert.equal(replay.status, 401);
  assert.equal((await replay.json()).error, "invalid_client");
  // Without an assertion: no fallback to `none`.
  const bare = await fetch(`${BASE}/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: provider.savedTokens.refresh_token, client_id: docUrl }) });
  assert.equal(bare.status, 401);
  assert.equal((await bare.json()).error, "invalid_client");
  await refreshWithAssertions("RS256", privateJwk, docUrl, publicJwk.kid, provider.savedTokens.refresh_token);
});

test("a client that registers with private_key_jwt (DCR, inline jwks) signs in", { timeout: 90_000 }, async () => {
  const callback = await startCallbackServer();
  cleanups.push(callback.close);
  const { privateJwk, publicJwk } = keyPair("ES256");
  const provider = new SignedProvider({ redirectUrl: callback.url, privateJwk, alg: "ES256", jwks: { keys: [publicJwk] } });
  const { rec } = await signInAndCall("DCR + ES256", provider, callback);
  const reg = rec.find("/register", "POST");
  assert.equal(reg.length, 1);
  assert.equal(reg[0].status, 201);
  assert.equal(provider.client.client_secret, undefined, "a secret was issued to a private_key_jwt client");
});

test("PrivateKeyJwtProvider (client_credentials, no user) gets unsupported_grant_type", { timeout: 30_000 }, async () => {
  const { privateJwk } = keyPair("ES256");
  const provider = new PrivateKeyJwtProvider({ clientId: "machine", privateKey: privateJwk, algorithm: "ES256", expectedIssuer: BASE });
  const rec = recordingFetch();
  const client = new Client({ name: "mcp-edge-e2e-pkjwt-m2m", version: "1.0.0" });
  const err = await client.connect(new StreamableHTTPClientTransport(new URL(MCP), { authProvider: provider, fetch: rec })).then(() => null, (e) => e);
  assert.ok(err, "connected without a user");
  const token = rec.find("/token", "POST")[0];
  assert.equal(token?.status, 400, "the client_credentials request was not answered 400");
  const again = await fetch(`${BASE}/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: token.body });
  assert.equal((await again.json()).error, "unsupported_grant_type");
});
