// MCP Inspector (npm @modelcontextprotocol/inspector, v2) in its CLI mode against the worker:
//  - with a bearer token obtained by a real flow (DCR + Chromium sign-in + PKCE token exchange)
//    passed as --header, the way its docs show for CI smoke tests;
//  - doing its own OAuth (dynamic registration, and the pre-registered `mcp_inspector` client),
//    with its loopback callback listener receiving the code from Chromium;
//  - its web UI, clicked through in Chromium (connect, sign in, run a tool).
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, freePort } from "./worker.mjs";
import { launch, signIn } from "./lib/browser.mjs";
import { MCP_URL, claims, fail, obtainToken, register, start, text, waitFor } from "./lib/interop.mjs";

const NODE = join(ROOT, "node_modules/.bin/node");
const INSPECTOR = join(ROOT, "node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js");

/** A throwaway HOME (the Inspector keeps a catalog and secrets under ~/.mcp-inspector). */
function home() {
  const dir = mkdtempSync(join(tmpdir(), "mcp-edge-inspector-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs `mcp-inspector --cli <args>` to completion (bounded) and returns exit code and output. */
async function cli(who, args, { env = {}, timeoutMs = 45_000, dir } = {}) {
  const h = dir ? null : home();
  const cwd = dir ?? h.dir;
  const p = start(NODE, [INSPECTOR, "--cli", ...args], {
    cwd,
    env: { HOME: cwd, MCP_INSPECTOR_SECRET_STORE: "memory", NO_COLOR: "1", ...env },
  });
  const timer = setTimeout(() => p.stop(), timeoutMs);
  try {
    const { code } = await p.exited;
    return { code, stdout: p.stdout(), stderr: p.stderr() };
  } finally {
    clearTimeout(timer);
    await p.stop();
    h?.cleanup();
  }
}

function parse(who, step, { code, stdout, stderr }) {
  if (code !== 0) fail(who, step, `mcp-inspector exited ${code}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`);
  try {
    const out = JSON.parse(stdout);
    return out.result ?? out;
  } catch {
    return fail(who, step, `stdout is not JSON:\n${stdout.slice(0, 500)}\n--- stderr ---\n${stderr}`);
  }
}

const WHO = "MCP Inspector CLI (--header bearer)";
let token;

before(async () => {
  // What a person does before pasting a token into the Inspector: register like the Inspector's
  // web UI does (its callback on localhost:6274), sign in, exchange the code with PKCE.
  const redirectUri = "http://localhost:6274/oauth/callback";
  const client = await register(WHO, { redirect_uris: [redirectUri], client_name: "MCP Inspector", grant_types: ["authorization_code", "refresh_token"], token_endpoint_auth_method: "none" });
  const t = await obtainToken(WHO, { clientId: client.client_id, redirectUri });
  token = t.access_token;
  assert.equal(claims(token).aud, MCP_URL, `[${WHO}] token audience is the MCP endpoint`);
});

const auth = () => ["--transport", "http", "--header", `Authorization: Bearer ${token}`];

test("Inspector CLI --method tools/list with a bearer header", { timeout: 60_000 }, async () => {
  const r = parse(WHO, "tools/list", await cli(WHO, [MCP_URL, ...auth(), "--method", "tools/list"]));
  const byName = Object.fromEntries(r.tools.map((t) => [t.name, t]));
  for (const n of ["echo", "get_vibe", "get_time", "list_clients"]) assert.ok(byName[n], `[${WHO}] tools/list has ${n}: ${Object.keys(byName)}`);
  assert.deepEqual(byName.echo.inputSchema.required, ["message"]);
  assert.equal(byName.get_time._meta?.ui?.resourceUri, "ui://get-time/mcp-app.html", `[${WHO}] get_time links its MCP App`);
});

test("Inspector CLI --method tools/call --tool-name echo --tool-arg message=hi", { timeout: 60_000 }, async () => {
  const r = parse(WHO, "tools/call echo", await cli(WHO, [MCP_URL, ...auth(), "--method", "tools/call", "--tool-name", "echo", "--tool-arg", "message=hi"]));
  assert.equal(r.isError ?? false, false, `[${WHO}] echo is not an error`);
  assert.equal(text(r), "Echo: hi");
});

test("Inspector CLI --method tools/call get_vibe answers for the token's user (alice)", { timeout: 60_000 }, async () => {
  const r = parse(WHO, "tools/call get_vibe", await cli(WHO, [MCP_URL, ...auth(), "--format", "json", "--method", "tools/call", "--tool-name", "get_vibe", "--tool-arg", "location=Porto"]));
  assert.equal(text(r), "Curious vibes for Alice in Porto.");
});

test("Inspector CLI --method resources/read --uri ui://get-time/mcp-app.html", { timeout: 60_000 }, async () => {
  const r = parse(WHO, "resources/read", await cli(WHO, [MCP_URL, ...auth(), "--method", "resources/read", "--uri", "ui://get-time/mcp-app.html"]));
  assert.equal(r.contents.length, 1);
  const [c] = r.contents;
  assert.equal(c.uri, "ui://get-time/mcp-app.html");
  assert.equal(c.mimeType, "text/html;profile=mcp-app", `[${WHO}] MCP App resource MIME type`);
  assert.match(c.text, /<html/i, `[${WHO}] resource is an HTML document`);
});

test("Inspector CLI --app-info and --strict tool-schema portability check", { timeout: 60_000 }, async () => {
  const info = await cli(WHO, [MCP_URL, ...auth(), "--method", "tools/call", "--tool-name", "get_time", "--app-info"]);
  const app = parse(WHO, "--app-info get_time", info);
  assert.equal(app.hasApp, true, `[${WHO}] the Inspector sees get_time's app`);
  assert.equal(app.resourceUri, "ui://get-time/mcp-app.html");
  assert.equal(app.resourceMimeType, "text/html;profile=mcp-app");
  // --strict exits 6 on any error-severity portability problem in the tool schemas.
  const strict = await cli(WHO, [MCP_URL, ...auth(), "--method", "tools/list", "--strict"]);
  assert.equal(strict.code, 0, `[${WHO}] --strict found schema portability errors:\n${strict.stderr}`);
});

test("Inspector CLI without a token and --stored-auth-only reports auth_required (exit 3), no hang", { timeout: 60_000 }, async () => {
  const r = await cli(WHO, [MCP_URL, "--transport", "http", "--stored-auth-only", "--method", "tools/list"]);
  assert.equal(r.code, 3, `[${WHO}] expected exit 3 (auth_required), got ${r.code}: ${r.stderr}`);
  assert.match(r.stdout + r.stderr, /auth_required/);
});

/**
 * The CLI's own interactive OAuth: it discovers the AS from the 401, registers (or uses the
 * given --client-id), prints "Please navigate to: <url>" and opens $BROWSER (our script), and
 * listens on --callback-url. Chromium signs in and follows the redirect to that listener.
 */
async function interactive(who, extraArgs, checkUrl) {
  const h = home();
  const urlFile = join(h.dir, "authorize-url.txt");
  const browser = join(h.dir, "browser.sh");
  writeFileSync(browser, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${urlFile}'\n`);
  chmodSync(browser, 0o755);
  const port = await freePort();
  const callback = `http://127.0.0.1:${port}/oauth/callback`;
  const p = start(NODE, [INSPECTOR, "--cli", MCP_URL, "--format", "json", "--callback-url", callback, ...extraArgs,
    "--method", "tools/call", "--tool-name", "get_vibe", "--tool-arg", "location=Kyoto"], {
    cwd: h.dir,
    env: { HOME: h.dir, MCP_INSPECTOR_SECRET_STORE: "memory", NO_COLOR: "1", MCP_AUTO_OPEN_ENABLED: "true", BROWSER: browser, DISPLAY: "", WAYLAND_DISPLAY: "" },
  });
  const log = () => `--- stdout ---\n${p.stdout()}\n--- stderr ---\n${p.stderr()}`;
  try {
    const url = await waitFor(who, "the Inspector prints/opens the authorization URL", () => {
      const m = p.stderr().match(/Please navigate to: (\S+)/);
      return m?.[1] ?? (existsSync(urlFile) && readFileSync(urlFile, "utf8").split("\n")[0]);
    }, 30_000).catch((e) => fail(who, "authorization URL", `${e.message}\n${log()}`));
    const u = new URL(url);
    assert.equal(u.searchParams.get("redirect_uri"), callback, `[${who}] redirect_uri is its --callback-url`);
    assert.equal(u.searchParams.get("resource"), MCP_URL, `[${who}] sends resource=<endpoint>`);
    assert.equal(u.searchParams.get("code_challenge_method"), "S256");
    checkUrl(u);
    const landed = await signIn(url, { username: "alice", follow: true })
      .catch((e) => fail(who, "sign-in and consent in Chromium", `${e.message}\n${log()}`));
    assert.ok(landed.startsWith(callback), `[${who}] browser reached the Inspector's callback: ${landed}`);
    const timer = setTimeout(() => p.stop(), 30_000);
    const { code } = await p.exited;
    clearTimeout(timer);
    const r = parse(who, "tools/call get_vibe after its own OAuth", { code, stdout: p.stdout(), stderr: p.stderr() });
    assert.equal(text(r), "Curious vibes for Alice in Kyoto.", `[${who}] answered as Alice`);
  } finally {
    await p.stop();
    h.cleanup();
  }
}

test("Inspector CLI's own OAuth with dynamic client registration", { timeout: 90_000 }, async () => {
  const who = "MCP Inspector CLI (own OAuth, DCR)";
  await interactive(who, [], (u) => {
    assert.notEqual(u.searchParams.get("client_id"), "mcp_inspector", `[${who}] registered its own client`);
    const asked = u.searchParams.get("scope")?.split(" ") ?? [];
    assert.ok(asked.includes("mcp") && asked.includes("admin"), `[${who}] asks for scopes_supported: ${asked}`);
  });
});

test("Inspector CLI's own OAuth with the pre-registered client (--client-id mcp_inspector)", { timeout: 90_000 }, async () => {
  const who = "MCP Inspector CLI (own OAuth, mcp_inspector)";
  await interactive(who, ["--client-id", "mcp_inspector"], (u) => assert.equal(u.searchParams.get("client_id"), "mcp_inspector"));
});

// The Inspector's web UI (`npx @modelcontextprotocol/inspector`), driven in Chromium like a
// person would: a read-only --config with only this server (so no default stdio servers are
// offered), toggle "connect", sign in on our pages when it navigates there, approve, and run
// get_vibe from its Tools tab. Its backend performs discovery, DCR and the token exchange.
test("Inspector web UI: connect → our sign-in and consent → Connected → Tools → get_vibe", { timeout: 90_000 }, async () => {
  const who = "MCP Inspector web UI";
  const h = home();
  writeFileSync(join(h.dir, "mcp.json"), JSON.stringify({ mcpServers: { "mcp-edge": { type: "streamable-http", url: MCP_URL } } }));
  const port = await freePort();
  const p = start(NODE, [INSPECTOR, "--web", "--config", join(h.dir, "mcp.json")], {
    cwd: h.dir,
    env: { HOME: h.dir, MCP_INSPECTOR_SECRET_STORE: "memory", NO_COLOR: "1", BROWSER: "/bin/true", CLIENT_PORT: String(port), MCP_SANDBOX_PORT: "0", MCP_APP_ORIGIN_PORT: "0" },
  });
  const log = () => `--- inspector stdout ---\n${p.stdout()}\n--- stderr ---\n${p.stderr()}`;
  const context = await launch();
  try {
    const apiToken = await waitFor(who, "the web UI starts", () => p.stdout().match(/Auth token: (\w+)/)?.[1], 30_000)
      .catch((e) => fail(who, "start", `${e.message}\n${log()}`));
    const page = await context.newPage();
    // Which of our endpoints the page itself calls (the rest goes through the Inspector's backend).
    const origin = new URL(MCP_URL).origin;
    const fromPage = new Set();
    page.on("request", (r) => { if (r.url().startsWith(origin)) fromPage.add(new URL(r.url()).pathname); });
    await page.goto(`http://127.0.0.1:${port}/?MCP_INSPECTOR_API_TOKEN=${apiToken}`);
    await page.getByText("mcp-edge", { exact: true }).first().waitFor({ timeout: 15_000 });
    const toggles = page.locator("input[type=checkbox]");
    assert.equal(await toggles.count(), 1, `[${who}] exactly one server card (ours)`);
    await toggles.first().click({ force: true });
    await page.waitForURL((u) => u.href.startsWith(`${new URL(MCP_URL).origin}/authorize`), { timeout: 20_000 })
      .catch((e) => fail(who, "navigates to /authorize", `${e.message}\n${log()}`));
    const u = new URL(page.url());
    assert.equal(u.searchParams.get("redirect_uri"), `http://127.0.0.1:${port}/oauth/callback`, `[${who}] redirect_uri`);
    assert.equal(u.searchParams.get("resource"), MCP_URL, `[${who}] resource`);
    assert.equal(u.searchParams.get("code_challenge_method"), "S256");
    await page.fill("input[name=username]", "alice");
    await page.fill("input[name=password]", "alice");
    await Promise.all([page.waitForLoadState(), page.click("button[type=submit]")]);
    assert.equal(await page.locator("h1").textContent(), "Allow access?", `[${who}] consent page`);
    await page.click("button[value=approve]");
    await page.getByText("Connected", { exact: true }).first().waitFor({ timeout: 20_000 })
      .catch((e) => fail(who, "Connected after the OAuth callback", `${e.message}\n${log()}`));
    await page.getByText("Tools", { exact: true }).first().click();
    await page.getByText("get_vibe", { exact: true }).first().click();
    await page.getByRole("textbox", { name: "location" }).fill("Lima");
    await page.getByRole("button", { name: "Execute Tool" }).click();
    await page.getByText("Curious vibes for Alice in Lima.").first().waitFor({ timeout: 15_000 })
      .catch(async (e) => fail(who, "get_vibe result shown", `${e.message}\n${(await page.locator("body").innerText()).slice(0, 1500)}`));
    // Inspector 2.12 sends discovery, registration, token and MCP requests from its backend; the
    // page only visits /authorize (so the CORS replays in replay_clients cover other browsers).
    assert.deepEqual([...fromPage], ["/authorize"], `[${who}] the page itself called only /authorize`);
  } finally {
    await context.close();
    await p.stop();
    h.cleanup();
  }
});
