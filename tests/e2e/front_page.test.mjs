// The front page in headless Chromium at phone and desktop widths: it names the endpoint, fits
// the screen, runs under its strict CSP (no violation), and its Copy buttons copy what they show.
import { test } from "node:test";
import assert from "node:assert/strict";
import { launch } from "./lib/browser.mjs";

const BASE = process.env.E2E_URL;

for (const [label, width, height] of [["phone", 360, 740], ["desktop", 1280, 800]]) {
  test(`front page on a ${label} screen: endpoint shown, copy works`, { timeout: 60_000 }, async () => {
    const context = await launch();
    try {
      await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: BASE });
      const page = await context.newPage();
      await page.setViewportSize({ width, height });
      const violations = [];
      page.on("console", (m) => { if (/Content Security Policy|Refused to/.test(m.text())) violations.push(m.text()); });
      await page.goto(`${BASE}/`);
      assert.equal(await page.locator("h1").textContent(), "mcp-edge");
      const endpoint = `${BASE}/mcp`;
      assert.equal(await page.locator("#endpoint").textContent(), endpoint);
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), `the page scrolls sideways at ${width} px`);

      await page.click("button[data-copy=endpoint]");
      await page.waitForFunction(() => document.querySelector("button[data-copy=endpoint]").textContent === "Copied");
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), endpoint);

      await page.click("button[data-copy=c-code]");
      await page.waitForFunction(() => document.querySelector("button[data-copy=c-code]").textContent === "Copied");
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `claude mcp add --transport http mcp-edge ${endpoint}`);
      const vscode = JSON.parse(await page.locator("#c-vscode").textContent());
      assert.equal(vscode.servers["mcp-edge"].url, endpoint, "the VS Code snippet is valid JSON with the endpoint");
      assert.deepEqual(violations, [], "the page's script runs under its CSP");
    } finally {
      await context.close();
    }
  });
}
