// Headless Chromium (Debian's, driven by playwright-core) completing the worker's sign-in and
// consent pages the way a person would.
import { chromium } from "playwright-core";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export async function launch() {
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "mcp-edge-chromium-")), {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: FLAGS,
  });
}

/**
 * Opens `authorizeUrl`, signs in as `username` (password = username for the demo users unless
 * given), then approves (or denies). Resolves with the URL the browser was redirected to.
 * Redirects to `redirectPrefix` are captured and not loaded, unless `follow` is set (a real
 * callback server is listening, as for the SDK and mcp-remote).
 */
export async function signIn(authorizeUrl, { username = "alice", password = username, approve = true, redirectPrefix, follow = false, context } = {}) {
  const own = !context;
  context ??= await launch();
  try {
    const page = await context.newPage();
    let captured;
    const prefix = redirectPrefix ?? "";
    if (prefix && !follow) {
      await page.route((url) => url.href.startsWith(prefix), (route) => {
        captured = route.request().url();
        route.fulfill({ status: 200, contentType: "text/plain", body: "captured" });
      });
    }
    await page.goto(authorizeUrl);
    if (await page.locator("input[name=username]").count()) {
      await page.fill("input[name=username]", username);
      await page.fill("input[name=password]", password);
      // Wait for the next document's load event: waitForLoadState() alone can resolve on the
      // sign-in page itself, before the POST's answer (the consent page) has replaced it.
      await Promise.all([page.waitForEvent("load"), page.click("button[type=submit]")]);
    }
    const heading = await page.locator("h1").textContent();
    if (heading !== "Allow access?") throw new Error(`expected the consent page, got "${heading}": ${await page.locator("main").textContent()}`);
    const button = approve ? "button[value=approve]" : "button[value=deny]";
    const nav = page.waitForURL((url) => !url.href.includes("/authorize"), { timeout: 15000 }).catch(() => {});
    await page.click(button);
    await nav;
    const final = captured ?? page.url();
    await page.close();
    return final;
  } finally {
    if (own) await context.close();
  }
}
