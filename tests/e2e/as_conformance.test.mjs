// The official MCP conformance harness's authorization-server scenarios
// (`@modelcontextprotocol/conformance authorization`: metadata endpoint, then the
// authorization-code grant with PKCE) against the worker's AS. The harness prints the
// authorize URL and waits for the browser on its own 127.0.0.1 callback; Chromium signs in as
// alice and approves, with the pre-registered public client mcp_console.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, freePort } from "./worker.mjs";
import { signIn } from "./lib/browser.mjs";

const BASE = process.env.E2E_URL;
const NODE = join(ROOT, "node_modules/.bin/node");
const CLI = join(ROOT, "node_modules/@modelcontextprotocol/conformance/dist/index.js");
const TIMEOUT = 60_000;

test("conformance authorization (AS metadata + authorization-code grant) with mcp_console", { timeout: TIMEOUT + 10_000 }, async () => {
  const who = "conformance authorization/mcp_console";
  const port = await freePort();
  const outDir = mkdtempSync(join(tmpdir(), "mcp-edge-as-conformance-"));
  const child = spawn(NODE, [CLI, "authorization", "--url", BASE, "--client-id", "mcp_console",
    "--resource", `${BASE}/mcp`, "--port", String(port), "-o", outDir], {
    cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" },
  });
  let output = "";
  const exited = new Promise((res) => child.on("exit", (code, signal) => res(code ?? signal)));
  const authorizeUrl = new Promise((res) => {
    const onData = (d) => {
      output += d.toString();
      // The whole line (a chunk may end in the middle of the URL).
      const m = output.match(new RegExp(`(${BASE.replace(/[.]/g, "\\.")}/authorize\\?response_type=code&\\S+)\\r?\\n`));
      if (m) res(m[1]);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
  });
  const killer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT);
  try {
    const url = await Promise.race([authorizeUrl, exited.then((code) => { throw new Error(`the CLI exited (${code}) without printing the authorize URL`); })])
      .catch((e) => assert.fail(`${who}: waiting for the authorize URL: ${e.message}\n--- CLI output ---\n${output}`));
    const parsed = new URL(url);
    assert.equal(parsed.searchParams.get("redirect_uri"), `http://127.0.0.1:${port}/callback`, `${who}: unexpected redirect_uri in ${url}`);
    await signIn(url, { username: "alice", follow: true }).then(
      (final) => assert.ok(final.startsWith(`http://127.0.0.1:${port}/callback?`), `${who}: the browser ended on ${final}`),
      (e) => assert.fail(`${who}: sign in / consent in Chromium: ${e.message}\n--- CLI output ---\n${output}`));
    const code = await exited;
    assert.equal(code, 0, `${who}: the CLI exited with ${code}\n--- CLI output ---\n${output}`);
    // The checks the harness wrote (-o): both scenarios ran, every check passed (no warning is
    // tolerated: we advertise client_id_metadata_document_supported, so the CIMD check passes).
    const checks = readdirSync(outDir).flatMap((d) => JSON.parse(readFileSync(join(outDir, d, "checks.json"), "utf8")));
    const summary = checks.map((c) => `${c.id}: ${c.status}${c.errorMessage ? ` (${c.errorMessage})` : ""}`).join("\n");
    for (const id of ["authorization-server-metadata", "authorization-code-grant"]) {
      assert.equal(checks.find((c) => c.id === id)?.status, "SUCCESS", `${who}: check ${id}\n${summary}\n--- CLI output ---\n${output}`);
    }
    for (const c of checks) {
      assert.equal(c.status, "SUCCESS", `${who}: check ${c.id} is ${c.status}\n${summary}`);
    }
    const grant = checks.find((c) => c.id === "authorization-code-grant");
    const response = new URL(grant.details.authorizationResponseUrl);
    assert.equal(response.searchParams.get("iss"), BASE, `${who}: the authorization response carries no iss (RFC 9207)`);
    assert.equal(grant.details.body.token_type, "Bearer");
  } finally {
    clearTimeout(killer);
    if (child.exitCode === null) child.kill("SIGKILL");
    rmSync(outDir, { recursive: true, force: true });
  }
});
