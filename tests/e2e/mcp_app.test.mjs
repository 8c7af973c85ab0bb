// The get_time MCP App (SEP-1865) in a real browser: headless Chromium loads a small MCP Apps
// host page (served here on 127.0.0.1) that puts the worker's ui:// resource in a sandboxed
// iframe and speaks the host side of the postMessage handshake. The tool result and the HTML
// come from the worker (conformance environment, no auth) through the official TypeScript SDK.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { launch } from "./lib/browser.mjs";
import { step } from "./lib/oauth-client.mjs";

const CONF = process.env.E2E_CONFORMANCE_URL;
const APP_URI = "ui://get-time/mcp-app.html";
const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

// The host: it records every message in both directions (window.hostLog), answers
// ui/initialize, pushes tool-input and tool-result after ui/notifications/initialized, and
// proxies the view's tools/call to the MCP server (through window.hostCallTool, exposed by the
// test). window.startApp(config) loads the view.
const HOST_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>mcp-edge e2e MCP Apps host</title></head>
<body>
<iframe id="app" sandbox="allow-scripts" style="width:480px;height:200px;border:1px solid #ccc"></iframe>
<script>
window.hostLog = [];
let config = {};
const frame = document.getElementById("app");
const post = (msg) => {
  msg = Object.assign({ jsonrpc: "2.0" }, msg);
  hostLog.push({ dir: "host→view", msg });
  frame.contentWindow.postMessage(msg, "*");
};
window.addEventListener("message", async (event) => {
  if (event.source !== frame.contentWindow) return;
  const msg = event.data;
  hostLog.push({ dir: "view→host", msg });
  if (!msg || msg.jsonrpc !== "2.0" || !msg.method) return;
  if (msg.method === "ui/initialize" && msg.id !== undefined) {
    if (config.refuseInitialize) {
      post({ id: msg.id, error: { code: -32603, message: "refused by the test host" } });
    } else {
      post({ id: msg.id, result: {
        protocolVersion: "2026-01-26",
        hostInfo: { name: "mcp-edge-e2e-host", version: "1.0.0" },
        hostCapabilities: {},
        hostContext: {},
      } });
    }
  } else if (msg.method === "ui/notifications/initialized") {
    if (config.toolResult) {
      post({ method: "ui/notifications/tool-input", params: { arguments: {} } });
      post({ method: "ui/notifications/tool-result", params: config.toolResult });
    }
  } else if (msg.method === "tools/call" && msg.id !== undefined) {
    try {
      post({ id: msg.id, result: await window.hostCallTool(msg.params) });
    } catch (e) {
      post({ id: msg.id, error: { code: -32603, message: String(e) } });
    }
  } else if (msg.id !== undefined) {
    post({ id: msg.id, error: { code: -32601, message: "method not found: " + msg.method } });
  }
});
window.startApp = (c) => { config = c; frame.srcdoc = c.html; };
</script>
</body></html>`;

let server, hostUrl, context, client, html, toolResult;
before(async () => {
  server = createServer((req, res) => {
    if (req.url === "/host.html") res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(HOST_PAGE);
    else res.writeHead(404).end();
  });
  await new Promise((res) => server.listen(0, "127.0.0.1", res));
  hostUrl = `http://127.0.0.1:${server.address().port}/host.html`;
  const who = "mcp-app/sdk";
  client = new Client({ name: "mcp-edge-e2e-apps-host", version: "1.0.0" });
  await step(`${who}: initialize against ${CONF}/mcp`, () => client.connect(new StreamableHTTPClientTransport(new URL(`${CONF}/mcp`))));
  await step(`${who}: get_time names its view`, async () => {
    const tool = (await client.listTools()).tools.find((t) => t.name === "get_time");
    assert.ok(tool, "get_time is not listed");
    assert.equal(tool._meta?.ui?.resourceUri, APP_URI);
  });
  await step(`${who}: the view is listed as a resource`, async () => {
    const listed = (await client.listResources()).resources.find((r) => r.uri === APP_URI);
    assert.equal(listed?.mimeType, "text/html;profile=mcp-app");
  });
  html = await step(`${who}: resources/read ${APP_URI}`, async () => {
    const { contents } = await client.readResource({ uri: APP_URI });
    assert.equal(contents.length, 1);
    assert.equal(contents[0].uri, APP_URI);
    assert.equal(contents[0].mimeType, "text/html;profile=mcp-app");
    assert.match(contents[0].text, /<html/i);
    return contents[0].text;
  });
  toolResult = await step(`${who}: tools/call get_time`, async () => {
    const r = await client.callTool({ name: "get_time", arguments: {} });
    assert.match(r.structuredContent?.utc ?? "", ISO_UTC);
    return r;
  });
  context = await launch();
});
after(async () => {
  await context?.close();
  await client?.close();
  await new Promise((res) => server?.close(res) ?? res());
});

/** Opens the host page and starts the view; `calls` collects the view's tools/call params. */
async function openHost(config) {
  const page = await context.newPage();
  const calls = [];
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.exposeFunction("hostCallTool", async (params) => {
    calls.push(params);
    const r = await client.callTool({ name: params.name, arguments: params.arguments ?? {} });
    calls.at(-1).result = r;
    return r;
  });
  await page.goto(hostUrl);
  await page.evaluate((c) => window.startApp(c), { html, ...config });
  const view = page.frameLocator("#app");
  return { page, view, calls, errors, log: () => page.evaluate(() => window.hostLog) };
}

/** Index of the first log entry matching `pred`, or -1. */
const indexOf = (log, pred) => log.findIndex(pred);

test("MCP App: handshake, then the host's tool-result is rendered", { timeout: 30_000 }, async () => {
  const who = "mcp-app/Chromium (tool-result pushed)";
  const { page, view, calls, errors, log } = await openHost({ toolResult });
  try {
    await step(`${who}: #time reaches data-state=ready`, async () => {
      await view.locator('#time[data-state="ready"]').waitFor({ timeout: 5000 }).catch(async (e) => {
        throw new Error(`${e.message}\nhost log: ${JSON.stringify(await log())}\npage errors: ${errors}`);
      });
    });
    await step(`${who}: #time shows structuredContent.utc`, async () => {
      assert.equal(await view.locator("#time").textContent(), toolResult.structuredContent.utc);
      assert.equal(calls.length, 0, "the view fell back to tools/call although the host pushed the result");
    });
    await step(`${who}: handshake order`, async () => {
      const l = await log();
      const init = indexOf(l, (e) => e.dir === "view→host" && e.msg.method === "ui/initialize");
      assert.ok(init >= 0, `the view never sent ui/initialize: ${JSON.stringify(l)}`);
      const req = l[init].msg;
      assert.notEqual(req.id, undefined, "ui/initialize is not a request (no id)");
      assert.equal(typeof req.params?.protocolVersion, "string");
      assert.ok(req.params?.appInfo?.name, "ui/initialize carries no appInfo");
      const answered = indexOf(l, (e) => e.dir === "host→view" && e.msg.id === req.id && e.msg.result);
      const initialized = indexOf(l, (e) => e.dir === "view→host" && e.msg.method === "ui/notifications/initialized");
      const pushed = indexOf(l, (e) => e.dir === "host→view" && e.msg.method === "ui/notifications/tool-result");
      assert.ok(initialized >= 0, "the view never sent ui/notifications/initialized");
      assert.equal(l[initialized].msg.id, undefined, "ui/notifications/initialized must be a notification");
      assert.ok(init < answered && answered < initialized, `initialized came before the initialize result: ${JSON.stringify(l.map((e) => e.msg.method ?? `#${e.msg.id}`))}`);
      assert.ok(initialized < pushed, "the tool result was sent before the view was initialized");
      assert.equal(l.filter((e) => e.msg.method === "ui/initialize").length, 1, "ui/initialize sent more than once");
    });
    assert.deepEqual(errors, [], `${who}: page errors`);
  } finally {
    await page.close();
  }
});

test("MCP App: without a pushed result the view asks the host to call get_time", { timeout: 30_000 }, async () => {
  const who = "mcp-app/Chromium (view calls tools/call)";
  const { page, view, calls, errors, log } = await openHost({});
  try {
    await step(`${who}: #time reaches data-state=ready (after the view's 1.5 s fallback)`, async () => {
      await view.locator('#time[data-state="ready"]').waitFor({ timeout: 8000 }).catch(async (e) => {
        throw new Error(`${e.message}\nhost log: ${JSON.stringify(await log())}\npage errors: ${errors}`);
      });
    });
    await step(`${who}: the view called get_time through the host, after initialized`, async () => {
      assert.equal(calls.length, 1, `tools/call reached the host ${calls.length} times`);
      assert.equal(calls[0].name, "get_time");
      const l = await log();
      const initialized = indexOf(l, (e) => e.msg.method === "ui/notifications/initialized");
      const call = indexOf(l, (e) => e.dir === "view→host" && e.msg.method === "tools/call");
      assert.ok(initialized >= 0 && initialized < call, "tools/call before ui/notifications/initialized");
    });
    await step(`${who}: #time shows the proxied call's structuredContent.utc`, async () => {
      assert.equal(await view.locator("#time").textContent(), calls[0].result.structuredContent.utc);
    });
    assert.deepEqual(errors, [], `${who}: page errors`);
  } finally {
    await page.close();
  }
});

test("MCP App: a host that refuses ui/initialize gets no initialized notification", { timeout: 30_000 }, async () => {
  const who = "mcp-app/Chromium (initialize refused)";
  const { page, view, calls, log } = await openHost({ refuseInitialize: true, toolResult });
  try {
    await step(`${who}: the view reports the refusal`, async () => {
      await view.locator("#status", { hasText: "Host refused" }).waitFor({ timeout: 5000 });
      assert.match(await view.locator("#status").textContent(), /refused by the test host/);
    });
    await step(`${who}: no initialized, no render, no tools/call`, async () => {
      const l = await log();
      assert.equal(indexOf(l, (e) => e.msg.method === "ui/notifications/initialized"), -1);
      assert.equal(await view.locator("#time").getAttribute("data-state"), "waiting");
      assert.equal(calls.length, 0);
    });
  } finally {
    await page.close();
  }
});
