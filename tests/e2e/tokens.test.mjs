// Our access tokens as others see them, against the real worker in workerd, where the runtime's
// WebCrypto makes and checks the Ed25519 signatures (no Ed25519 code in the wasm): the JWKS
// publishes the public key of the configured seed (derived here, independently, by Node's
// crypto), an access token verifies against that JWKS with jose, and a token with the same
// header and claims signed by another key is refused at /mcp, before and after the real one
// was used.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createPrivateKey, createPublicKey, randomBytes, sign } from "node:crypto";
import { createLocalJWKSet, jwtVerify } from "jose";
import { codeFor, exchange } from "./lib/signin.mjs";
import { startWorker } from "./worker.mjs";

// RFC 8410: an Ed25519 private key in PKCS#8 is this prefix and the 32-byte seed.
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const edKey = (seed) => createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });

const seed = randomBytes(32);
const kid = "e2e-tokens";
let worker;
after(async () => {
  await worker?.stop();
});

const initialize = (url, token) => fetch(`${url}/mcp`, {
  method: "POST",
  headers: { authorization: `Bearer ${token}`, "content-type": "application/json", accept: "application/json, text/event-stream" },
  body: JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } } }),
});

test("access tokens: WebCrypto's signatures verify with jose against the JWKS of the configured seed; a foreign signature is refused", { timeout: 120_000 }, async () => {
  worker = await startWorker({ vars: { JWT_SIGNING_KEYS: JSON.stringify([{ kid, seed: seed.toString("base64url") }]) } });
  const jwks = await (await fetch(`${worker.url}/.well-known/jwks.json`)).json();
  const x = createPublicKey(edKey(seed)).export({ format: "jwk" }).x;
  assert.deepEqual(jwks.keys, [{ kty: "OKP", crv: "Ed25519", use: "sig", alg: "EdDSA", kid, x }]);

  const tok = await exchange(worker.url, await codeFor(worker.url, "Token test"));
  assert.equal(tok.status, 200);
  const { access_token } = await tok.json();
  const { payload, protectedHeader } = await jwtVerify(access_token, createLocalJWKSet(jwks), {
    issuer: worker.url, audience: `${worker.url}/mcp`, typ: "at+jwt", algorithms: ["EdDSA"],
  });
  assert.equal(protectedHeader.kid, kid);
  assert.equal(payload.sub, "user-alice");

  const input = access_token.slice(0, access_token.lastIndexOf("."));
  const forged = `${input}.${sign(null, Buffer.from(input), edKey(randomBytes(32))).toString("base64url")}`;
  const refused = async () => {
    const res = await initialize(worker.url, forged);
    assert.equal(res.status, 401);
    assert.match(res.headers.get("www-authenticate"), /error="invalid_token"/);
  };
  await refused();
  assert.equal((await initialize(worker.url, access_token)).status, 200);
  await refused();
});
