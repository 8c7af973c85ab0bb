// mcp-remote (npm) started the way a claude_desktop_config.json entry starts it:
//   { "command": "npx", "args": ["mcp-remote", "<server>/mcp", "<callback port>", ...] }
// It discovers the authorization server from the 401, registers (dynamically, or uses the
// pre-registered `mcp-remote` client given with --static-oauth-client-info), opens a browser on
// /authorize — here the BROWSER it launches is a script that hands the URL to the test — and
// waits for the code on its own callback server (http://localhost:<port>/oauth/callback).
// Chromium completes sign-in and consent and really loads that callback; then the test speaks
// MCP to mcp-remote over stdio with the official SDK client, as Claude Desktop would.
// INTEROP_DEBUG=1 prints mcp-remote's stderr after each passing run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ROOT, freePort } from "./worker.mjs";
import { signIn } from "./lib/browser.mjs";
import { MCP_URL, fail, text, waitFor } from "./lib/interop.mjs";

const BIN = join(ROOT, "node_modules/.bin");
// The bin `npx mcp-remote` resolves to (its `#!/usr/bin/env node` finds Node 22 first on PATH).
const MCP_REMOTE = join(BIN, "mcp-remote");
// The pre-registered public client, and the scope pinned for the authorization request.
const STATIC = ["--static-oauth-client-info", JSON.stringify({ client_id: "mcp-remote" })];
const PIN = ["--static-oauth-client-metadata", JSON.stringify({ scope: "mcp admin" })];

/** Lists the files mcp-remote stored under its config dir (to check what it registered). */
function stored(dir, name) {
  const hits = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(name)) hits.push(JSON.parse(readFileSync(p, "utf8")));
    }
  };
  if (existsSync(dir)) walk(dir);
  return hits;
}

async function runMcpRemote(who, extraArgs, check) {
  const home = mkdtempSync(join(tmpdir(), "mcp-edge-mcp-remote-"));
  const configDir = join(home, ".mcp-auth");
  const urlFile = join(home, "authorize-url.txt");
  // The "browser" mcp-remote opens (via the `open` package's xdg-open, which honours $BROWSER):
  // it writes the URL down for the test and exits 0, so mcp-remote counts the browser as opened.
  const browser = join(home, "browser.sh");
  writeFileSync(browser, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${urlFile}'\n`);
  chmodSync(browser, 0o755);
  const port = await freePort();
  const stderr = [];
  const transport = new StdioClientTransport({
    command: MCP_REMOTE,
    args: [MCP_URL, String(port), ...extraArgs],
    env: {
      PATH: `${BIN}:${process.env.PATH}`,
      HOME: home,
      MCP_REMOTE_CONFIG_DIR: configDir,
      BROWSER: browser,
      DISPLAY: "",
      WAYLAND_DISPLAY: "",
    },
    stderr: "pipe",
  });
  transport.stderr.on("data", (d) => stderr.push(d.toString()));
  const log = () => stderr.join("");
  const client = new Client({ name: "claude-desktop-replay", version: "1.0.0" });
  let child;
  try {
    // Claude Desktop sends initialize straight away; mcp-remote answers once it is signed in.
    const connected = client.connect(transport, { timeout: 75_000 });
    connected.catch(() => {});
    child = transport._process; // the mcp-remote ChildProcess, to be sure it is gone afterwards
    // The n-th authorization URL mcp-remote opened (its browser script appends one per line).
    const nthAuthorizeUrl = (n, step) => waitFor(who, step, () => {
      if (existsSync(urlFile)) return readFileSync(urlFile, "utf8").trim().split("\n")[n];
    }, 30_000).catch((e) => fail(who, step, `${e.message}\n--- mcp-remote stderr ---\n${log()}`));
    const authorizeUrl = await nthAuthorizeUrl(0, "mcp-remote opens the authorization URL in the browser");
    assert.match(log(), /Please authorize this client by visiting:/, `[${who}] prints the URL on stderr too`);
    const u = new URL(authorizeUrl);
    assert.equal(`${u.origin}${u.pathname}`, `${new URL(MCP_URL).origin}/authorize`, `[${who}] authorizes at the origin root`);
    assert.equal(u.searchParams.get("redirect_uri"), `http://localhost:${port}/oauth/callback`, `[${who}] callback on localhost:${port}/oauth/callback`);
    assert.equal(u.searchParams.get("code_challenge_method"), "S256", `[${who}] uses PKCE S256`);
    assert.equal(u.searchParams.get("resource"), MCP_URL, `[${who}] sends resource=<endpoint> (RFC 8707)`);
    check?.authorizeUrl?.(u);

    // Chromium signs in and follows the redirect to mcp-remote's own callback server.
    const landed = await signIn(authorizeUrl, { username: "alice", follow: true })
      .catch((e) => fail(who, "sign-in and consent in Chromium", `${e.message}\n--- mcp-remote stderr ---\n${log()}`));
    assert.ok(landed.startsWith(`http://localhost:${port}/oauth/callback`), `[${who}] browser reached mcp-remote's callback, got ${landed}`);

    await connected.catch((e) => fail(who, "MCP initialize through mcp-remote", `${e.message}\n--- mcp-remote stderr ---\n${log()}`));
    const info = client.getServerVersion();
    assert.equal(info?.name, "mcp-edge", `[${who}] initialize reached mcp-edge through the proxy`);

    const { tools } = await client.listTools().catch((e) => fail(who, "tools/list through mcp-remote", e.message));
    const names = tools.map((t) => t.name);
    for (const t of ["echo", "get_vibe", "get_time"]) assert.ok(names.includes(t), `[${who}] tools/list has ${t}: ${names}`);

    const vibe = await client.callTool({ name: "get_vibe", arguments: { location: "Lisbon" } })
      .catch((e) => fail(who, "tools/call get_vibe through mcp-remote", e.message));
    assert.equal(vibe.isError ?? false, false, `[${who}] get_vibe is not an error: ${JSON.stringify(vibe)}`);
    assert.equal(text(vibe), "Curious vibes for Alice in Lisbon.", `[${who}] get_vibe answers as Alice`);

    const tokens = stored(configDir, "tokens.json");
    assert.equal(tokens.length, 1, `[${who}] mcp-remote stored one token set`);
    assert.ok(tokens[0].refresh_token, `[${who}] mcp-remote got a refresh token`);
    check?.stored?.(configDir);
    await check?.session?.({ client, port, log, nthAuthorizeUrl });
    if (process.env.INTEROP_DEBUG) console.error(`--- ${who} stderr ---\n${log()}\nurlfile: ${existsSync(urlFile)}`);
  } finally {
    await client.close().catch(() => {});
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(home, { recursive: true, force: true });
  }
}

test("mcp-remote with dynamic client registration (claude_desktop_config.json: npx mcp-remote <url> <port>)", { timeout: 90_000 }, async () => {
  await runMcpRemote("mcp-remote (DCR)", [], {
    authorizeUrl: (u) => assert.notEqual(u.searchParams.get("client_id"), "mcp-remote", "[mcp-remote (DCR)] registered its own client"),
    stored: (dir) => {
      const [info] = stored(dir, "client_info.json");
      assert.ok(info?.client_id, "[mcp-remote (DCR)] stored the registered client");
      assert.deepEqual(info.redirect_uris, [info.redirect_uris[0]]);
      assert.match(info.redirect_uris[0], /^http:\/\/localhost:\d+\/oauth\/callback$/);
    },
  });
});

test("mcp-remote with the pre-registered client (--static-oauth-client-info '{\"client_id\":\"mcp-remote\"}')", { timeout: 90_000 }, async () => {
  await runMcpRemote("mcp-remote (static client)", STATIC, {
    authorizeUrl: (u) => assert.equal(u.searchParams.get("client_id"), "mcp-remote", "[mcp-remote (static client)] uses client_id mcp-remote"),
  });
});

// The scope pinned with --static-oauth-client-metadata: the first authorization asks for
// "mcp admin", so admin tools work after one sign-in.
function pinned(who) {
  return {
    authorizeUrl: (u) => assert.deepEqual(u.searchParams.get("scope")?.split(" ").sort(), ["admin", "mcp"], `[${who}] asks for the pinned scope`),
    session: async ({ client, log }) => {
      const result = await client.callTool({ name: "list_clients", arguments: {} })
        .catch((e) => fail(who, "tools/call list_clients", `${e.message}\n--- mcp-remote stderr ---\n${log()}`));
      assert.equal(result.isError ?? false, false, `[${who}] list_clients without a second sign-in: ${JSON.stringify(result)}`);
    },
  };
}

test("mcp-remote with the pre-registered client and the scope pinned ('{\"scope\":\"mcp admin\"}'): admin tools with one sign-in", { timeout: 90_000 }, async () => {
  await runMcpRemote("mcp-remote (static client, scope pinned)", [...STATIC, ...PIN], pinned("mcp-remote (static client, scope pinned)"));
});

// The SDK inside mcp-remote registers with the 401 challenge's scope ("mcp") even when the
// scope is pinned, then authorizes for "mcp admin": the registered scope must not be a ceiling.
test("mcp-remote with DCR and the scope pinned", { timeout: 90_000 }, async () => {
  await runMcpRemote("mcp-remote (DCR, scope pinned)", PIN, pinned("mcp-remote (DCR, scope pinned)"));
});

// Step-up (MCP 2025-11-25 "Step-Up Authorization Flow"): the first sign-in asks only for the
// scope the 401 challenge named (`mcp`); list_clients needs `admin`, so the worker answers 403
// insufficient_scope, scope="mcp admin", and mcp-remote must re-authorize for it and retry.
function stepUp(who) {
  return {
    authorizeUrl: (u) => assert.equal(u.searchParams.get("scope"), "mcp", `[${who}] first asks for the challenge's scope`),
    session: async ({ client, port, log, nthAuthorizeUrl }) => {
      const call = client.callTool({ name: "list_clients", arguments: {} }, undefined, { timeout: 60_000 });
      call.catch(() => {});
      const again = new URL(await nthAuthorizeUrl(1, "mcp-remote re-opens authorization after 403 insufficient_scope"));
      assert.deepEqual(again.searchParams.get("scope").split(" ").sort(), ["admin", "mcp"], `[${who}] step-up asks for mcp + admin`);
      assert.equal(again.searchParams.get("redirect_uri"), `http://localhost:${port}/oauth/callback`);
      // The worker must show its sign-in page, not bounce the request straight back with an error.
      const probe = await fetch(again, { redirect: "manual" });
      if (probe.status !== 200) {
        const loc = probe.headers.get("location") ? new URL(probe.headers.get("location")).searchParams : new URLSearchParams();
        fail(who, "GET /authorize for the step-up scope", `HTTP ${probe.status} error=${loc.get("error")} (${loc.get("error_description")})`);
      }
      await signIn(again.href, { username: "alice", follow: true })
        .catch((e) => fail(who, "step-up sign-in in Chromium", `${e.message}\n--- mcp-remote stderr ---\n${log()}`));
      const result = await call.catch((e) => fail(who, "tools/call list_clients after step-up", `${e.message}\n--- mcp-remote stderr ---\n${log()}`));
      assert.equal(result.isError ?? false, false, `[${who}] list_clients succeeds after step-up: ${JSON.stringify(result)}`);
      assert.ok(text(result), `[${who}] list_clients returned text`);
    },
  };
}

test("mcp-remote step-up with the pre-registered client: 403 insufficient_scope → re-authorize for mcp+admin → list_clients", { timeout: 90_000 }, async () => {
  await runMcpRemote("mcp-remote (static client, step-up)", STATIC, stepUp("mcp-remote (static client, step-up)"));
});

// mcp-remote (like every SDK client) registers with the challenge's scope, "mcp", and later
// steps up to "mcp admin" after a 403.
test("mcp-remote step-up with a dynamically registered client", { timeout: 90_000 }, async () => {
  await runMcpRemote("mcp-remote (DCR, step-up)", [], stepUp("mcp-remote (DCR, step-up)"));
});
