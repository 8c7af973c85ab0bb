// The pages a person sees, in headless Chromium at a phone's size: sign-in and consent render
// without horizontal scrolling, a hostile client name stays text, a wrong password shows a
// message, and the pages refuse to be framed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { launch } from "./lib/browser.mjs";

const BASE = process.env.E2E_URL;
const REDIRECT = "http://127.0.0.1:9/callback";

async function authorizeUrl(clientName) {
  const reg = await fetch(`${BASE}/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ redirect_uris: [REDIRECT], client_name: clientName }) });
  assert.equal(reg.status, 201);
  const { client_id } = await reg.json();
  const challenge = createHash("sha256").update(randomBytes(32).toString("base64url")).digest("base64url");
  return `${BASE}/authorize?` + new URLSearchParams({ response_type: "code", client_id, redirect_uri: REDIRECT, state: "<b>s</b>", code_challenge: challenge, code_challenge_method: "S256" });
}

async function noHorizontalScroll(page) {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
}

test("sign-in and consent pages on a phone screen", { timeout: 60_000 }, async () => {
  const context = await launch();
  try {
    const page = await context.newPage();
    await page.setViewportSize({ width: 360, height: 740 });
    const alerts = [];
    page.on("dialog", (d) => { alerts.push(d.message()); d.dismiss(); });
    await page.goto(await authorizeUrl('<img src=x onerror=alert(1)>Evil "App"'));
    assert.equal(await page.locator("h1").textContent(), "Sign in");
    assert.ok(await noHorizontalScroll(page), "sign-in page scrolls sideways at 360 px");
    const name = await page.locator("main b").first().textContent();
    assert.equal(name, '<img src=x onerror=alert(1)>Evil "App"', "the client name is shown as text");
    assert.equal(await page.locator("main img").count(), 0, "no element was injected");
    const box = await page.locator("input[name=username]").boundingBox();
    assert.ok(box.width >= 200 && box.x >= 0 && box.x + box.width <= 360, `username field fits: ${JSON.stringify(box)}`);
    await page.screenshot({ path: join(tmpdir(), "mcp-edge-signin-phone.png") });

    await page.fill("input[name=username]", "alice");
    await page.fill("input[name=password]", "wrong");
    await Promise.all([page.waitForEvent("load"), page.click("button[type=submit]")]);
    assert.match(await page.locator("[role=alert]").textContent(), /Wrong username or password/);

    await page.fill("input[name=username]", "alice");
    await page.fill("input[name=password]", "alice");
    await Promise.all([page.waitForEvent("load"), page.click("button[type=submit]")]);
    assert.equal(await page.locator("h1").textContent(), "Allow access?");
    assert.ok(await noHorizontalScroll(page), "consent page scrolls sideways at 360 px");
    assert.match(await page.locator("main").innerText(), /127\.0\.0\.1:9/, "consent names the redirect host");
    await page.screenshot({ path: join(tmpdir(), "mcp-edge-consent-phone.png") });
    assert.deepEqual(alerts, [], "no script ran");
  } finally {
    await context.close();
  }
});

test("the pages cannot be framed", { timeout: 60_000 }, async () => {
  const url = await authorizeUrl("Framed");
  const context = await launch();
  try {
    // Control: the same page renders at the top level (so a failure to load at all cannot pass
    // for a refusal to be framed), and says why it will not render in a frame.
    const top = await context.newPage();
    const res = await top.goto(url);
    assert.equal(await top.locator("input[name=username]").count(), 1, "the sign-in page renders at the top level");
    const headers = res.headers();
    assert.equal(headers["x-frame-options"], "DENY");
    assert.match(headers["content-security-policy"] ?? "", /frame-ancestors 'none'/);
    await top.close();
    const page = await context.newPage();
    await page.setContent(`<iframe id="f" src="${url.replaceAll("&", "&amp;")}" width="400" height="400"></iframe>`);
    await page.waitForTimeout(1000);
    const frame = page.frames().find((f) => f !== page.mainFrame());
    const rendered = frame ? await frame.locator("input[name=username]").count().catch(() => 0) : 0;
    assert.equal(rendered, 0, `the sign-in page rendered inside a frame (${frame?.url()})`);
  } finally {
    await context.close();
  }
});
