// CPU profile of one worker under load, from V8's sampling profiler over workerd's inspector.
//   node bench/profile.mjs [ours|base] [metadata|unauth|echo|dcr] [seconds]
// Needs a previous `make bench` (or BENCH_DURATION=3 node bench/run.mjs) for bench/.out/<worker>.
// Prints the functions with the most self time and the heaviest call paths, and writes the
// .cpuprofile (Chrome DevTools format) to bench/.out/<worker>/<scenario>.cpuprofile.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as F from "./lib/flow.mjs";
import * as S from "./lib/serve.mjs";
import { runWrk, wrkScript } from "./lib/wrk.mjs";

const [which = "ours", scenario = "echo", secs = "5"] = process.argv.slice(2);
const work = join(S.ROOT, "bench/.out", which);
const capDir = join(work, "capture");
// The user worker's config is the one that is not wrangler's proxy; it is also the larger.
const config = readdirSync(capDir).filter((f) => f.endsWith(".capnp")).map((f) => join(capDir, f))
  .sort((a, b) => statSync(b).size - statSync(a).size)[0];
const text = readFileSync(config).toString("latin1");
const dirs = [...new Set([...text.matchAll(/\/tmp\/miniflare-[0-9a-f]+\/[A-Za-z0-9_-]+/g)].map((m) => m[0]))];

const port = await S.freePort();
const inspector = await S.freePort();
const srv = S.startWorkerd({ config, dirs }, port, { inspectorPort: inspector });
await S.waitListening(srv);

const meta = await F.discover(srv.url);
let spec;
if (scenario === "metadata") spec = { method: "GET", path: new URL(meta.prmUrl).pathname, expect: 200 };
else if (scenario === "unauth") spec = { method: "POST", path: "/mcp", headers: F.MCP_HEADERS, body: F.ECHO_BODY, expect: 401 };
else if (scenario === "dcr") spec = { method: "POST", path: "/register", headers: { "content-type": "application/json" }, body: F.DCR_BODY, expect: 201 };
else {
  const clientId = await F.register(meta);
  const { code } = await (which === "ours" ? F.authorizeOurs : F.authorizeBaseline)(meta, clientId);
  const token = (await F.exchange(meta, code, clientId)).access_token;
  const session = await F.initialize(srv.url, token);
  spec = { method: "POST", path: "/mcp", headers: F.authHeaders(token, session), body: F.ECHO_BODY, expect: 200, bodyMust: "Echo: hello" };
}

const targets = await (await fetch(`http://127.0.0.1:${inspector}/json/list`)).json();
const target = targets.find((t) => t.title?.includes("core:user:") || t.id?.includes("core:user:")) ?? targets[0];
const ws = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((r, j) => { ws.onopen = r; ws.onerror = j; });
let id = 0;
const pending = new Map();
ws.onmessage = (m) => {
  const msg = JSON.parse(m.data);
  if (msg.id && pending.has(msg.id)) { pending.get(msg.id)(msg); pending.delete(msg.id); }
};
const send = (method, params = {}) => new Promise((r) => { const i = ++id; pending.set(i, r); ws.send(JSON.stringify({ id: i, method, params })); });

const script = wrkScript({ ...spec, threads: 2 });
const scriptFile = join(work, `profile-${scenario}.lua`);
await runWrk({ url: srv.url + spec.path, scriptFile, script, seconds: 2 }); // warm-up
await send("Profiler.enable");
await send("Profiler.setSamplingInterval", { interval: 100 });
await send("Profiler.start");
const r = await runWrk({ url: srv.url + spec.path, scriptFile, script, seconds: Number(secs) });
const { result } = await send("Profiler.stop");
ws.close();
await srv.stop();
const profile = result.profile;
writeFileSync(join(work, `${scenario}.cpuprofile`), JSON.stringify(profile));

// Self time per function, and inclusive time per function.
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const hits = new Map();
for (const s of profile.samples) hits.set(s, (hits.get(s) ?? 0) + 1);
const total = profile.samples.length;
// wasm-bindgen's glue functions are anonymous; name them after the import they implement
// (esbuild wraps each in __name(function ..., "__wbg_...") whose name follows the body).
let distLines = [];
try { distLines = readFileSync(join(work, "dist/index.js"), "utf8").split("\n"); } catch {}
const glueName = (line0) => {
  for (let i = line0; i < Math.min(distLines.length, line0 + 40); i++) {
    const m = distLines[i].match(/"(__wbg_[A-Za-z0-9_]+?)(_[0-9a-f]{16})?"\)/);
    if (m && i > line0) return m[1];
    if (m && i === line0 && distLines[i].indexOf(m[0]) > distLines[i].indexOf("function")) return m[1];
  }
  return null;
};
const name = (n) => {
  const f = n.callFrame;
  const file = f.url ? f.url.split("/").pop() : "";
  if (!f.functionName && file === "index.js" && distLines.length) {
    const g = glueName(f.lineNumber);
    if (g) return `${g} (glue)`;
  }
  return `${f.functionName || "(anonymous)"} ${file ? file + ":" + f.lineNumber : ""}`.trim();
};
const self = new Map(), incl = new Map();
for (const [nid, h] of hits) {
  const n = nodes.get(nid);
  self.set(name(n), (self.get(name(n)) ?? 0) + h);
  const seen = new Set();
  for (let cur = nid; cur !== undefined; cur = parent.get(cur)) {
    const nm = name(nodes.get(cur));
    if (seen.has(nm)) continue;
    seen.add(nm);
    incl.set(nm, (incl.get(nm) ?? 0) + h);
  }
}
const top = (m, k) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([n, h]) => `${((h / total) * 100).toFixed(1).padStart(5)}%  ${n}`).join("\n");
console.log(`${which} ${scenario}: ${r.rps.toFixed(0)} req/s under the profiler (${r.ok} ok, ${r.bad} bad); ${total} samples`);
console.log(`\nself time (top 30):\n${top(self, 30)}`);
console.log(`\ninclusive time (top 40):\n${top(incl, 40)}`);
