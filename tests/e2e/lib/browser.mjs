// Headless Chromium (Debian's, driven by playwright-core) completing the worker's sign-in and
// consent pages the way a person would.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), "mcp-edge-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: FLAGS,
  });
  // Remove the throwaway profile once the browser is gone: after close() resolves, not in the
  // "close" event, where Chromium is still writing to it (rmSync then fails with ENOTEMPTY —
  // thrown from an event handler, an uncaught exception). A leftover never fails a test.
  if (process.env.E2E_BROWSER_EVENTS) logEvents(context);
  const close = context.close.bind(context);
  context.close = async (...args) => {
    await close(...args);
    try { rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }); } catch {}
  };
  return context;
}

let browsers = 0;

/**
 * E2E_BROWSER_EVENTS=1: every request, response, failure, navigation and load of the context's
 * pages goes to stderr with the milliseconds since launch, to see where a browser test stopped.
 */
function logEvents(context) {
  const n = ++browsers;
  const t0 = Date.now();
  const log = (s) => process.stderr.write(`[browser ${n} ${Date.now() - t0} ms] ${s}\n`);
  const short = (u) => u.slice(0, 120);
  context.on("page", (page) => {
    page.on("request", (r) => log(`request ${r.method()} ${short(r.url())}`));
    page.on("response", (r) => log(`response ${r.status()} ${short(r.url())}`));
    page.on("requestfailed", (r) => log(`failed ${short(r.url())} ${r.failure()?.errorText}`));
    page.on("framenavigated", (f) => { if (f === page.mainFrame()) log(`navigated ${short(f.url())}`); });
    page.on("load", () => log(`load ${short(page.url())}`));
    page.on("close", () => log("page closed"));
  });
}

/**
 * Opens `authorizeUrl`, signs in as `username` (password = username for the demo users unless
 * given), then approves (or denies). Resolves with the URL the browser was redirected to: the
 * browser follows the redirect, so a callback server must be listening (as for the SDK and
 * mcp-remote). To capture a redirect to a host that is not there (claude.ai, chatgpt.com) use
 * `signInCapture` in lib/interop.mjs, which intercepts the worker's 302 instead: routing the
 * redirect target itself proved racy with Debian's Chromium.
 */
export async function signIn(authorizeUrl, { username = "alice", password = username, approve = true, context } = {}) {
  const own = !context;
  context ??= await launch();
  let page;
  try {
    page = await context.newPage();
    await page.goto(authorizeUrl);
    const authorizePage = `${new URL(authorizeUrl).origin}/authorize`;
    const leftEarly = () => !page.url().startsWith(authorizePage)
      && new Error(`expected the sign-in or consent page, but the browser was sent to ${page.url()}`);
    if (leftEarly()) throw leftEarly();
    if (await page.locator("input[name=username]").count()) {
      await page.fill("input[name=username]", username);
      await page.fill("input[name=password]", password);
      // Wait for the next document's load event: waitForLoadState() alone can resolve on the
      // sign-in page itself, before the POST's answer (the consent page) has replaced it.
      await Promise.all([page.waitForEvent("load"), page.click("button[type=submit]")]);
    }
    if (leftEarly()) throw leftEarly();
    const heading = await page.locator("h1").first().textContent({ timeout: 10000 });
    if (heading !== "Allow access?") throw new Error(`expected the consent page, got "${heading}": ${await page.locator("body").innerText()}`);
    const button = approve ? "button[value=approve]" : "button[value=deny]";
    const nav = page.waitForURL((url) => !url.href.includes("/authorize"), { timeout: 15000 }).catch(() => {});
    await page.click(button);
    await nav;
    return page.url();
  } finally {
    await page?.close().catch(() => {});
    if (own) await context.close();
  }
}
