// The first half of an SDK v2 client's sign-in, shared by the tests that drive one: connecting
// without a token ends in UnauthorizedError (the SDK discovered, registered and built the
// authorization URL), then the person signs in and approves in Chromium and the redirect
// arrives at the client's callback. The test then calls `transport.finishAuth(query)`.
import assert from "node:assert/strict";
import { Client, DpopSession, StreamableHTTPClientTransport, UnauthorizedError } from "@modelcontextprotocol/client";
import { signIn } from "./browser.mjs";
import { MemoryOAuthProvider, startCallbackServer, step } from "./oauth-client.mjs";

/** Returns the callback's query (code, state, iss). */
export async function connectThenSignIn(who, { transport, provider, callback, browser }) {
  const probe = new Client({ name: "mcp-edge-e2e", version: "1.0.0" });
  await step(`${who}: connect without a token ends in a redirect`, async () => {
    const err = await probe.connect(transport).then(() => assert.fail("connected without a token"), (e) => e);
    assert.ok(err instanceof UnauthorizedError, `${err?.name}: ${err?.message}`);
  });
  await probe.close().catch(() => {});
  return step(`${who}: sign in and approve in Chromium`, async () => {
    const arrived = callback.next(30_000);
    arrived.catch(() => {});
    await signIn(provider.authorizationUrls[0].href, { follow: true, context: browser });
    return arrived;
  });
}

/** A provider whose client proves possession of an ES256 key (RFC 9449) through the SDK. */
export class DpopProvider extends MemoryOAuthProvider {
  constructor(opts) {
    super(opts);
    this.session = DpopSession.create({ alg: "ES256" });
  }
  dpop() { return this.session; }
}

/**
 * [`connectThenSignIn`] for a DPoP client: a callback server (closed by `cleanups`), a
 * [`DpopProvider`] registered as `clientName`, and its transport to `mcp` over `fetch`. Returns
 * `{ provider, session, transport, query }`; the test calls `transport.finishAuth(query)`.
 */
export async function dpopSignIn(who, { mcp, clientName, fetch, browser, cleanups }) {
  const callback = await startCallbackServer();
  cleanups.push(callback.close);
  const provider = new DpopProvider({ redirectUrl: callback.url, clientName });
  const session = await provider.session;
  const transport = new StreamableHTTPClientTransport(new URL(mcp), { authProvider: provider, fetch });
  const query = await connectThenSignIn(who, { transport, provider, callback, browser });
  return { provider, session, transport, query };
}
