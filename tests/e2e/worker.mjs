// Starts the built worker in workerd through `wrangler dev` on a free loopback port, with a
// private KV directory, and stops it again. Logs are kept so a failing run can print them.
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
// Tools from npm (wrangler, the MCP clients) run on the Node 22 that npm installed locally.
process.env.PATH = `${join(ROOT, "node_modules/.bin")}:${process.env.PATH}`;

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

export async function startWorker({ env, persistDir, port, vars = {}, config } = {}) {
  port ??= await freePort();
  const inspector = await freePort();
  persistDir ??= mkdtempSync(join(tmpdir(), "mcp-edge-kv-"));
  const args = [
    "dev", "--local", "--ip", "127.0.0.1", "--port", String(port),
    "--inspector-port", String(inspector), "--persist-to", persistDir, "--show-interactive-dev-session=false",
  ];
  if (env) args.push("--env", env);
  if (config) args.push("--config", config);
  // A developer's .dev.vars (or .env) must never reach the tests: name an empty env file
  // instead, so wrangler loads neither (it reads .dev.vars only when no --env-file is given).
  const noEnvFile = join(persistDir, "empty.env");
  writeFileSync(noEnvFile, "");
  args.push("--env-file", noEnvFile);
  for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
  const started = Date.now();
  const child = spawn(join(ROOT, "node_modules/.bin/wrangler"), args, {
    cwd: ROOT,
    env: { ...process.env, MCP_EDGE_SKIP_BUILD: "1", CI: "true", WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CLOUDFLARE_INCLUDE_PROCESS_ENV: "false", FORCE_COLOR: "0" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const logs = [];
  child.stdout.on("data", (d) => logs.push(d.toString()));
  child.stderr.on("data", (d) => logs.push(d.toString()));
  let exited = null;
  child.on("exit", (code) => { exited = code; });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (exited !== null) throw new Error(`wrangler exited with ${exited} before serving:\n${logs.join("")}`);
    if (Date.now() > deadline) {
      stop(child);
      throw new Error(`worker did not answer within 120 s:\n${logs.join("")}`);
    }
    try {
      const r = await fetch(`${url}/.well-known/oauth-protected-resource`);
      if (r.status === 200 || r.status === 500) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 150));
  }
  return {
    url, port, persistDir, startMs: Date.now() - started,
    logs: () => logs.join(""),
    stop: () => stop(child),
  };
}

function stop(child) {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((res) => {
    child.once("exit", res);
    try { process.kill(-child.pid, "SIGTERM"); } catch { res(); }
    setTimeout(() => { try { process.kill(-child.pid, "SIGKILL"); } catch {} }, 3000).unref();
  });
}
