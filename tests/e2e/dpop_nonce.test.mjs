// DPoP server nonces (RFC 9449 §8, §9; `DPOP_NONCES=on`) with the TypeScript SDK v2 client, on a
// worker of its own: the SDK's first proof at /token has no nonce and gets `use_dpop_nonce` with
// a `DPoP-Nonce`; it retries with it and gets a bound token; at /mcp its first proof gets the 401
// `use_dpop_nonce` challenge and is retried inline; the tool call then works. Every proof that
// was accepted carried the server's nonce.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { launch } from "./lib/browser.mjs";
import { jwtClaims, step } from "./lib/oauth-client.mjs";
import { dpopSignIn } from "./lib/sdk-auth.mjs";
import { startWorker } from "./worker.mjs";

let browser, worker;
const cleanups = [];
before(async () => {
  browser = await launch();
  worker = await startWorker({ vars: { DPOP_NONCES: "on" } });
});
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await browser?.close();
  await worker?.stop();
});

/** `fetch` that records each request's DPoP proof claims and the answer's status and nonce. */
function recorder() {
  const log = [];
  const f = async (input, init = {}) => {
    const proof = new Headers(init.headers).get("dpop");
    const entry = { url: String(input instanceof Request ? input.url : input), nonce: proof ? JSON.parse(Buffer.from(proof.split(".")[1], "base64url")).nonce : undefined, proof: !!proof };
    log.push(entry);
    const res = await fetch(input, init);
    entry.status = res.status;
    entry.offered = res.headers.get("dpop-nonce");
    entry.error = res.status >= 400 ? (res.headers.get("www-authenticate") ?? await res.clone().text()) : undefined;
    return res;
  };
  f.log = log;
  return f;
}

test("SDK v2 with DPoP against DPOP_NONCES=on: use_dpop_nonce at /token and /mcp, retried with the nonce", { timeout: 90_000 }, async () => {
  const who = "SDK v2 + DPoP nonces";
  const MCP = `${worker.url}/mcp`;
  const rec = recorder();
  const { provider, session, transport: first, query } =
    await dpopSignIn(who, { mcp: MCP, clientName: "e2e DPoP nonces", fetch: rec, browser, cleanups });
  await step(`${who}: finishAuth meets use_dpop_nonce at /token, retries with it, gets a bound token`, async () => {
    await first.finishAuth(query);
    assert.equal(provider.savedTokens.token_type, "DPoP");
    assert.equal(jwtClaims(provider.savedTokens.access_token).cnf?.jkt, session.thumbprint);
    const token = rec.log.filter((e) => e.url.endsWith("/token"));
    assert.ok(token.some((e) => e.status === 400 && /use_dpop_nonce/.test(e.error) && e.offered), JSON.stringify(token));
    const ok = token.find((e) => e.status === 200);
    assert.ok(ok?.nonce, `the accepted proof carries the nonce: ${JSON.stringify(token)}`);
  });
  const client = new Client({ name: "mcp-edge-e2e-dpop-nonce", version: "1.0.0" });
  await step(`${who}: connect and call echo (the first proof at /mcp is asked for the nonce)`, async () => {
    const before = rec.log.length;
    await client.connect(new StreamableHTTPClientTransport(new URL(MCP), { authProvider: provider, fetch: rec }));
    cleanups.push(() => client.close());
    const result = await client.callTool({ name: "echo", arguments: { message: "nonced" } });
    assert.equal(result.content?.[0]?.text, "Echo: nonced");
    const calls = rec.log.slice(before).filter((e) => e.url === MCP && e.proof);
    for (const e of calls.filter((e) => e.status < 300)) assert.ok(e.nonce, `accepted without a nonce: ${JSON.stringify(e)}`);
    assert.ok(calls.filter((e) => e.status < 300).length >= 2, JSON.stringify(calls));
  });
});
