// Sign-in against a worker of its own (own KV, its own USERS), so the throttle it provokes
// cannot hold back the other files' sign-ins:
// - a stranger's ten wrong passwords throttle alice for unknown browsers, while Chromium that
//   signed in as alice before (its device cookie) still signs in; the throttle page says so;
// - a hash over the Workers WebCrypto PBKDF2 limit of 100,000 iterations (150,000 here) still
//   verifies through the Rust fallback (local workerd would accept it; ours does not ask it),
//   and a wrong password for it is still refused.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, pbkdf2Sync, randomBytes } from "node:crypto";
import { startWorker } from "./worker.mjs";
import { launch } from "./lib/browser.mjs";

const REDIRECT = "http://127.0.0.1:9/callback";
const DEEP_ITERATIONS = 150_000;
const deepSalt = Buffer.from("e2e-deep-salt-16");
const USERS = [
  { username: "alice", password_hash: "pbkdf2-sha256$10000$ZGVtby1zYWx0LWFsaWNlIQ$X1FUXCI8tlMifGCJHrJylYGwcvBuk1hExgOKMTF83jw", sub: "user-alice", name: "Alice", scopes: ["mcp", "admin"] },
  { username: "deep", password_hash: `pbkdf2-sha256$${DEEP_ITERATIONS}$${deepSalt.toString("base64url")}$${pbkdf2Sync("deep-secret", deepSalt, DEEP_ITERATIONS, 32, "sha256").toString("base64url")}`, sub: "user-deep", name: "Deep", scopes: ["mcp"] },
];

let worker, base, authorizeUrl;

before(async () => {
  worker = await startWorker({ vars: { USERS: JSON.stringify(USERS) } });
  base = worker.url;
  const reg = await fetch(`${base}/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ redirect_uris: [REDIRECT], client_name: "Sign-in test" }) });
  assert.equal(reg.status, 201);
  const { client_id } = await reg.json();
  const challenge = createHash("sha256").update(randomBytes(32).toString("base64url")).digest("base64url");
  authorizeUrl = `${base}/authorize?` + new URLSearchParams({ response_type: "code", client_id, redirect_uri: REDIRECT, state: "s", code_challenge: challenge, code_challenge_method: "S256" });
});

after(async () => {
  await worker?.stop();
});

function hidden(html, name) {
  const m = html.match(new RegExp(`name="${name}" value="([^"]*)"`));
  if (!m) throw new Error(`no ${name} field in page: ${html.slice(0, 300)}`);
  return m[1].replaceAll("&quot;", '"').replaceAll("&amp;", "&");
}

/** One sign-in attempt from a browser nobody signed in with (plain HTTP, no device cookie). */
async function strangerAttempt(username, password) {
  const page = await fetch(authorizeUrl);
  const cookie = page.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  const html = await page.text();
  const res = await fetch(`${base}/authorize`, {
    method: "POST", redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie },
    body: new URLSearchParams({ request: hidden(html, "request"), csrf: hidden(html, "csrf"), action: "signin", username, password }).toString(),
  });
  return { status: res.status, text: await res.text() };
}

/** Fills the sign-in form in `context`; resolves with the heading and text of the answer. */
async function browserSignIn(context, username, password) {
  const page = await context.newPage();
  try {
    await page.goto(authorizeUrl);
    assert.equal(await page.locator("input[name=username]").count(), 1, "the sign-in form is shown");
    await page.fill("input[name=username]", username);
    await page.fill("input[name=password]", password);
    await Promise.all([page.waitForEvent("load"), page.click("button[type=submit]")]);
    return { heading: await page.locator("h1").first().textContent(), text: await page.locator("main").innerText() };
  } finally {
    await page.close();
  }
}

test("a stranger's wrong passwords throttle unknown browsers, not the browser that signed in before", { timeout: 120_000 }, async () => {
  const owner = await launch();
  const other = await launch();
  try {
    assert.equal((await browserSignIn(owner, "alice", "alice")).heading, "Allow access?");
    const device = (await owner.cookies()).find((c) => c.name.startsWith("mcp_edge_device_"));
    assert.ok(device, "a device cookie after the sign-in");
    assert.equal(device.httpOnly, true);
    assert.ok(device.expires * 1000 > Date.now() + 170 * 86400_000, "long-lived (180 days)");

    for (let i = 0; i < 10; i++) assert.equal((await strangerAttempt("alice", `guess-${i}`)).status, 401);
    const locked = await strangerAttempt("alice", "alice");
    assert.equal(locked.status, 429, "the right password waits too, from an unknown browser");

    // Another browser sees the throttle page, which says a known browser still gets in.
    const refused = await browserSignIn(other, "alice", "alice");
    assert.match(refused.text, /Too many failed sign-in attempts for this account/);
    assert.match(refused.text, /signed in before/);

    // The owner's browser, its sign-in session dropped but its device cookie kept, signs in.
    const kept = (await owner.cookies()).filter((c) => !c.name.includes("mcp_edge_session"));
    await owner.clearCookies();
    await owner.addCookies(kept);
    const again = await browserSignIn(owner, "alice", "alice");
    assert.equal(again.heading, "Allow access?", again.text);
  } finally {
    await owner.close();
    await other.close();
  }
});

test(`a hash over WebCrypto's limit (${DEEP_ITERATIONS} iterations) still verifies in workerd`, { timeout: 60_000 }, async () => {
  const wrong = await strangerAttempt("deep", "not-it");
  assert.equal(wrong.status, 401);
  const right = await strangerAttempt("deep", "deep-secret");
  assert.equal(right.status, 200, right.text.slice(0, 300));
  assert.match(right.text, /value="approve"/);
});

test("parallel wrong passwords are all counted in the ledger (Durable Object): ten checked, the rest 429", { timeout: 60_000 }, async () => {
  // A user of its own, so the throttle above does not interfere.
  const page = await fetch(authorizeUrl);
  const cookie = page.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  const html = await page.text();
  const body = (i) => new URLSearchParams({ request: hidden(html, "request"), csrf: hidden(html, "csrf"), action: "signin", username: "deep", password: `guess-${i}` }).toString();
  const statuses = await Promise.all(Array.from({ length: 30 }, (_, i) => fetch(`${base}/authorize`, {
    method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded", cookie }, body: body(i),
  }).then(async (r) => { await r.arrayBuffer(); return r.status; })));
  const count = (s) => statuses.filter((x) => x === s).length;
  // At most ten are checked (the user's limit; the address's limit, which the tests above have
  // used up partly, may refuse some of them too); every other one is refused unchecked.
  assert.equal(count(401) + count(429), 30, `statuses: ${statuses}`);
  assert.ok(count(401) >= 1 && count(401) <= 10, `checked ${count(401)}: ${statuses}`);
});
