// Start-to-first-response time of `local-stdio mcp`: from spawn to the complete `initialize`
// response line on stdout, as an MCP host sees it. Median of N runs (default 10).
//
//   node local-stdio/bench/startup.mjs [path/to/local-stdio] [runs]
//
// The binary defaults to $LOCAL_STDIO_BIN, else target/release/local-stdio.
import { spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..");
const exe = process.platform === "win32" ? "local-stdio.exe" : "local-stdio";
const bin = process.argv[2] || process.env.LOCAL_STDIO_BIN || join(root, "target", "release", exe);
const runs = Number(process.argv[3] || 10);
if (!existsSync(bin)) {
  console.error(`no binary at ${bin}; build it with: cargo build --release -p local-stdio`);
  process.exit(1);
}

const initialize = JSON.stringify({
  jsonrpc: "2.0", id: 1, method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "startup-bench", version: "0" } },
}) + "\n";

function once() {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(bin, ["mcp"], { stdio: ["pipe", "pipe", "ignore"] });
    let out = "";
    child.on("error", reject);
    child.stdout.on("data", (chunk) => {
      out += chunk;
      if (!out.includes("\n")) return;
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const reply = JSON.parse(out.slice(0, out.indexOf("\n")));
      if (reply.id !== 1 || !reply.result) reject(new Error(`unexpected reply ${out}`));
      child.on("exit", () => resolve(ms));
      child.stdin.end();
    });
    child.stdin.write(initialize);
  });
}

await once(); // warm the page cache
const times = [];
for (let i = 0; i < runs; i++) times.push(await once());
times.sort((a, b) => a - b);
const median = runs % 2 ? times[(runs - 1) / 2] : (times[runs / 2 - 1] + times[runs / 2]) / 2;
console.log(`binary: ${bin} (${statSync(bin).size} bytes)`);
console.log(`spawn → initialize response, ${runs} runs: median ${median.toFixed(2)} ms, min ${times[0].toFixed(2)} ms, max ${times[runs - 1].toFixed(2)} ms`);
