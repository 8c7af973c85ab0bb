// CPU per MCP call with a Bearer token and with a DPoP-bound token (RFC 9449: one ES256 proof
// verified per call), on the deploy bundle served by workerd as `make bench` serves it
// (bench/lib/serve.mjs). The workerd process's own CPU time (utime + stime) is read around N
// sequential 2026-07-28 tools/call requests of each kind; proofs are made beforehand in this
// process, so only the server's work is counted. Usage: node bench/auth_cpu.mjs [N=400]
import { join } from "node:path";
import { rmSync, mkdirSync } from "node:fs";
import { DpopSession } from "@modelcontextprotocol/client";
import * as S from "./lib/serve.mjs";
import * as F from "./lib/flow.mjs";

const N = Number(process.argv[2] ?? 400);
const work = join(S.ROOT, "bench/.out/auth-cpu");
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const target = {
  key: "ours", name: "mcp-edge", cwd: S.ROOT, deployArgs: ["--env", "production"], compatibilityDate: "2025-09-01",
  vars: { MCP_EDGE_ENV: "development", REQUEST_LOG: "off" }, kvBinding: "KV",
};
const dry = S.dryRun(target, work);
console.log(`bundle: ${dry.rawKiB} KiB, ${dry.gzipKiB} KiB gzip`);
const cap = await S.captureConfig(target, work, join(work, "kv"));
const w = S.startWorkerd(cap, await S.freePort());
try {
  await S.waitListening(w);
  const meta = await F.discover(w.url);
  const clientId = await F.register(meta);
  const { code, jar } = await F.authorizeOurs(meta, clientId);
  const bearer = (await F.exchange(meta, code, clientId)).access_token;
  const session = await DpopSession.create({ alg: "ES256" });
  const second = await F.authorizeOurs(meta, clientId, jar);
  const proof = await session.buildProof({ htm: "POST", htu: new URL(meta.as.token_endpoint) });
  const r = await fetch(meta.as.token_endpoint, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", dpop: proof }, body: F.tokenBody(second.code, clientId) });
  const bound = await r.json();
  if (bound.token_type !== "DPoP") throw new Error(`no DPoP token: ${JSON.stringify(bound)}`);
  const mcp = `${w.url}/mcp`;
  const proofs = [];
  for (let i = 0; i < N + 20; i++) proofs.push(await session.buildProof({ htm: "POST", htu: new URL(mcp), accessToken: bound.access_token }));

  async function measure(label, headersFor) {
    for (let i = 0; i < 20; i++) await F.modernEchoCall(w.url, headersFor(i)); // warm-up
    const cpu0 = S.cpuSeconds(w.pid);
    const t0 = performance.now();
    for (let i = 20; i < N + 20; i++) await F.modernEchoCall(w.url, headersFor(i));
    const cpu = S.cpuSeconds(w.pid) - cpu0;
    const perReq = (cpu / N) * 1e6;
    console.log(`${label.padEnd(8)} ${N} calls: ${(cpu * 1000).toFixed(0)} ms CPU, ${perReq.toFixed(0)} µs CPU per call, ${((performance.now() - t0) / N).toFixed(2)} ms wall per call`);
    return perReq;
  }
  const b = await measure("Bearer", () => F.modernHeaders(bearer));
  const d = await measure("DPoP", (i) => ({ ...F.modernHeaders(bound.access_token), authorization: `DPoP ${bound.access_token}`, dpop: proofs[i] }));
  console.log(`DPoP costs ${(d - b).toFixed(0)} µs CPU more per call (the ES256 proof verification and the replay check)`);
} finally {
  await w.stop();
}
