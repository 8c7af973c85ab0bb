// Connected apps in headless Chromium: a client signs in for real (registration, our sign-in
// and consent pages, PKCE code exchange), then the person opens /account, sees that client's
// grant, revokes it; the client's refresh then fails with invalid_grant and its access token is
// refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { launch } from "./lib/browser.mjs";

const BASE = process.env.E2E_URL;
const REDIRECT = "http://127.0.0.1:9/callback";

test("a grant made by a real sign-in is listed at /account and revoked there", { timeout: 90_000 }, async () => {
  const reg = await fetch(`${BASE}/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ redirect_uris: [REDIRECT], client_name: "Account Test App" }) });
  assert.equal(reg.status, 201);
  const { client_id } = await reg.json();
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const authorize = `${BASE}/authorize?` + new URLSearchParams({ response_type: "code", client_id, redirect_uri: REDIRECT, state: "s", code_challenge: challenge, code_challenge_method: "S256" });

  const context = await launch();
  try {
    const page = await context.newPage();
    await page.setViewportSize({ width: 390, height: 800 });
    // Sign in and approve in the browser; the redirect to the (absent) client is captured.
    let code = null;
    await page.route("http://127.0.0.1:9/**", (route) => { code = new URL(route.request().url()).searchParams.get("code"); route.fulfill({ status: 200, body: "ok" }); });
    await page.goto(authorize);
    await page.fill("input[name=username]", "bob");
    await page.fill("input[name=password]", "bob");
    await Promise.all([page.waitForEvent("load"), page.click("button[type=submit]")]);
    await page.click("button[value=approve]");
    await page.waitForURL((u) => u.href.startsWith("http://127.0.0.1:9/"), { timeout: 15_000 });
    assert.ok(code, "the client received a code");
    const tok = await fetch(`${BASE}/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ grant_type: "authorization_code", code, code_verifier: verifier, client_id, redirect_uri: REDIRECT }) });
    assert.equal(tok.status, 200);
    const tokens = await tok.json();
    const call = () => fetch(`${BASE}/mcp`, { method: "POST", headers: { authorization: `Bearer ${tokens.access_token}`, "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/list" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: { _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} } } }) });
    assert.equal((await call()).status, 200);

    // The same browser is signed in (the sign-in session cookie): /account lists the grant.
    await page.goto(`${BASE}/account`);
    assert.equal(await page.locator("h1").textContent(), "Connected apps");
    const item = page.locator("li.grant", { hasText: "Account Test App" });
    assert.equal(await item.count(), 1, await page.locator("main").innerText());
    assert.match(await item.innerText(), new RegExp(client_id));
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), "no sideways scrolling on a phone");
    await Promise.all([page.waitForEvent("load"), item.locator("button", { hasText: "Revoke" }).click()]);
    assert.match(await page.locator("[role=status]").textContent(), /Access revoked/);
    assert.equal(await page.locator("li.grant", { hasText: "Account Test App" }).count(), 0);

    const refresh = await fetch(`${BASE}/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, client_id }) });
    assert.equal(refresh.status, 400);
    assert.equal((await refresh.json()).error, "invalid_grant");
    // Within GRANT_RECHECK_SECS (60 s); at once in the isolate that revoked it.
    const deadline = Date.now() + 61_000;
    let status;
    do {
      status = (await call()).status;
      if (status === 401) break;
      await new Promise((r) => setTimeout(r, 1000));
    } while (Date.now() < deadline);
    assert.equal(status, 401, "the access token is refused within 60 s of the revocation");
  } finally {
    await context.close();
  }
});
