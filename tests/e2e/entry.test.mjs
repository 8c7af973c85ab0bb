// The Workers entry module (engine/src/edge/entry.mjs) against a scripted stand-in for the wasm exports:
// the three-step protocol (answer now / init first / park, read the body, finish) and recovery
// after a wasm trap. Needs no worker: the real module runs in Node with a fake `./index.js`.
import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");
const dir = mkdtempSync(join(tmpdir(), "mcp-edge-entry-"));
copyFileSync(join(ROOT, "engine/src/edge/entry.mjs"), join(dir, "entry.mjs"));
copyFileSync(join(ROOT, "engine/src/edge/kv.js"), join(dir, "kv.js"));
// The Durable Object class entry.mjs re-exports (it imports `cloudflare:workers`, which Node has not).
writeFileSync(join(dir, "objects.mjs"), "export class McpSessions {}\n");
// The fake glue: each export records its call and does what the test scripted.
writeFileSync(join(dir, "index.js"), `
export const calls = [];
export const script = {};
const health = { critical: false };
export function edge_health() { return health; }
export function __wbg_reset_state() { calls.push(["reset"]); script.ready = true; }
export function serve(req) { calls.push(["serve", req.url]); return script.serve(req); }
export function max_body_bytes() { return script.limit ?? 16; }
export function serve_body(parked, outcome, body, env) {
  calls.push(["serve_body", parked.id, outcome, new TextDecoder().decode(body)]);
  if (script.bodyError) return Promise.reject(script.bodyError);
  if (script.bodyResult) return script.bodyResult();
  return Promise.resolve(new Response("done:" + outcome));
}
// The shipped kv_apply (engine/src/edge/kv.js), as the real glue reaches it through apply_writes.
import { kv_apply } from "./kv.js";
export async function apply_writes(env, ops, bestEffort) {
  calls.push(["apply_writes", ops.length, bestEffort]);
  return kv_apply(env, ops, bestEffort);
}
export function storage_failed(detail) { calls.push(["storage_failed", detail]); return new Response(detail, { status: 503 }); }
export function init_app(env) {
  calls.push(["init_app"]);
  return new Promise((resolve) => setTimeout(() => { if (!script.initError) script.ready = true; resolve(script.initError); }, 5));
}
`);
const listeners = [];
globalThis.addEventListener ??= (type, fn) => listeners.push([type, fn]);
const glue = await import(join(dir, "index.js"));
const entry = (await import(join(dir, "entry.mjs"))).default;
const env = { KV: {} };

beforeEach(() => {
  glue.calls.length = 0;
  for (const k of Object.keys(glue.script)) delete glue.script[k];
  glue.script.ready = true;
});

const post = (body, headers = {}) => new Request("http://127.0.0.1/mcp", { method: "POST", body, headers });
const chunked = (text) =>
  new Request("http://127.0.0.1/mcp", {
    method: "POST",
    duplex: "half",
    body: new ReadableStream({ start(c) { for (const ch of text) c.enqueue(new TextEncoder().encode(ch)); c.close(); } }),
  });
/** What `serve` returns for a request it parks: an owned handle (a wasm-bindgen object). */
const parked = (id) => ({ id });

test("a head-only answer is returned synchronously, without reading the body", () => {
  const res = new Response("now");
  glue.script.serve = () => res;
  const out = entry.fetch(post("ignored"), env);
  assert.equal(out, res, "the very Response, not a Promise");
  assert.deepEqual(glue.calls.map((c) => c[0]), ["serve"]);
});

test("a parked request gets its body read and finished by serve_body", async () => {
  glue.script.serve = () => parked(7);
  const res = await entry.fetch(post("hello"), env);
  assert.equal(await res.text(), "done:0");
  assert.deepEqual(glue.calls.at(-1), ["serve_body", 7, 0, "hello"]);
});

test("a body without Content-Length is streamed and cut at the limit", async () => {
  glue.script.serve = () => parked(3);
  glue.script.limit = 4;
  assert.equal(await (await entry.fetch(chunked("abc"), env)).text(), "done:0");
  assert.deepEqual(glue.calls.at(-1), ["serve_body", 3, 0, "abc"]);
  assert.equal(await (await entry.fetch(chunked("abcdefgh"), env)).text(), "done:1");
  assert.deepEqual(glue.calls.at(-1), ["serve_body", 3, 1, ""]);
});

test("the first request builds the app, then is served", async () => {
  glue.script.ready = false;
  glue.script.serve = () => (glue.script.ready ? new Response("served") : null);
  const res = await entry.fetch(post("x"), env);
  assert.equal(await res.text(), "served");
  assert.deepEqual(glue.calls.map((c) => c[0]), ["serve", "init_app", "serve"]);
});

test("a configuration error from init is the answer", async () => {
  glue.script.serve = () => null;
  glue.script.initError = new Response("misconfigured", { status: 500 });
  const res = await entry.fetch(post("x"), env);
  assert.equal(res.status, 500);
  assert.equal(glue.calls.filter((c) => c[0] === "init_app").length, 1);
  assert.ok(!glue.calls.some((c) => c[0] === "serve_body"));
});

test("after a wasm trap the next request resets the instance first", () => {
  glue.script.serve = () => { throw new WebAssembly.RuntimeError("unreachable"); };
  assert.throws(() => entry.fetch(post("x"), env), WebAssembly.RuntimeError);
  glue.script.serve = () => new Response("ok");
  const out = entry.fetch(post("x"), env);
  assert.equal(out.status, 200);
  assert.deepEqual(glue.calls.map((c) => c[0]), ["serve", "reset", "serve"]);
});

test("an ordinary exception does not reset the instance", () => {
  glue.script.serve = () => { throw new TypeError("boom"); };
  assert.throws(() => entry.fetch(post("x"), env), TypeError);
  glue.script.serve = () => new Response("ok");
  entry.fetch(post("x"), env);
  assert.ok(!glue.calls.some((c) => c[0] === "reset"));
});

test("a trap while finishing a request also resets the instance before the next one", async () => {
  glue.script.serve = () => parked(1);
  glue.script.bodyError = new WebAssembly.RuntimeError("unreachable");
  await assert.rejects(entry.fetch(post("x"), env), WebAssembly.RuntimeError);
  delete glue.script.bodyError;
  glue.script.serve = () => new Response("ok");
  entry.fetch(post("x"), env);
  assert.deepEqual(glue.calls.map((c) => c[0]), ["serve", "serve_body", "reset", "serve"]);
});

function fakeKv(failing = []) {
  const ops = [];
  return {
    ops,
    KV: {
      async put(key, value, options) {
        if (failing.includes(key)) throw new Error("injected");
        ops.push(["put", key, value, options?.expirationTtl]);
      },
      async delete(key) {
        if (failing.includes(key)) throw new Error("injected");
        ops.push(["delete", key]);
      },
    },
  };
}

test("required writes are applied in order before the response is released, best-effort ones after", async () => {
  const kv = fakeKv();
  let released = false;
  const ctx = { waitUntil: (p) => { assert.ok(released === false); glue.calls.push(["waitUntil"]); return p; } };
  glue.script.serve = () => parked(1);
  glue.script.bodyResult = () => [new Response("created", { status: 201 }), [["a", "1", 60], ["b"]], [["c", "3", 0]]];
  const res = await entry.fetch(post("x"), kv, ctx);
  released = true;
  assert.equal(res.status, 201);
  assert.deepEqual(kv.ops, [["put", "a", "1", 60], ["delete", "b"], ["put", "c", "3", undefined]]);
  assert.deepEqual(glue.calls.slice(-3), [["apply_writes", 2, false], ["apply_writes", 1, true], ["waitUntil"]]);
});

test("a promised result with writes is committed too", async () => {
  const kv = fakeKv();
  glue.script.serve = () => parked(1);
  glue.script.bodyResult = () => Promise.resolve([new Response("ok"), [["g", "v", 600]], []]);
  assert.equal(await (await entry.fetch(post("x"), kv)).text(), "ok");
  assert.deepEqual(kv.ops, [["put", "g", "v", 600]]);
});

test("a failed write answers 503 and stops; a failed best-effort write does not", async () => {
  let kv = fakeKv(["a"]);
  glue.script.serve = () => parked(1);
  glue.script.bodyResult = () => [new Response("tokens"), [["a", "1", 60], ["b", "2", 60]], []];
  let res = await entry.fetch(post("x"), kv);
  assert.equal(res.status, 503, "the response is withheld");
  assert.deepEqual(kv.ops, [], "nothing after the failed write");
  assert.match(glue.calls.at(-1)[1], /KV put a: injected/);
  kv = fakeKv(["renew"]);
  glue.script.bodyResult = () => [new Response("tokens"), [["g", "1", 60]], [["renew", "2", 60]]];
  res = await entry.fetch(post("x"), kv);
  assert.equal(await res.text(), "tokens");
  assert.deepEqual(kv.ops, [["put", "g", "1", 60]]);
});

test("a request parked before an instance reset is not handed to the new instance", async () => {
  const glueHealth = glue.edge_health();
  glue.script.serve = () => parked(9);
  const slow = new Request("http://127.0.0.1/mcp", {
    method: "POST",
    duplex: "half",
    body: new ReadableStream({ async pull(c) { await new Promise((r) => setTimeout(r, 20)); c.enqueue(new Uint8Array([1])); c.close(); } }),
  });
  const pending = entry.fetch(slow, env);
  glueHealth.critical = true; // a panic elsewhere while this body is read
  glue.script.serve = () => new Response("ok");
  entry.fetch(post("x"), env); // resets the instance
  const res = await pending;
  assert.equal(res.status, 503);
  assert.ok(!glue.calls.some((c) => c[0] === "serve_body"), "the stale handle is never used");
});

test("requests arriving before the app is built share one build", async () => {
  glue.script.ready = false;
  glue.script.serve = () => (glue.script.ready ? new Response("served") : null);
  const [a, b] = await Promise.all([entry.fetch(post("1"), env), entry.fetch(post("2"), env)]);
  assert.equal(await a.text(), "served");
  assert.equal(await b.text(), "served");
  assert.equal(glue.calls.filter((c) => c[0] === "init_app").length, 1);
});

test("a failed build is retried by a later request, and every waiting request gets the error", async () => {
  glue.script.ready = false;
  glue.script.serve = () => (glue.script.ready ? new Response("served") : null);
  glue.script.initError = new Response("storage down", { status: 503 });
  const [a, b] = await Promise.all([entry.fetch(post("1"), env), entry.fetch(post("2"), env)]);
  assert.equal(await a.text(), "storage down");
  assert.equal(await b.text(), "storage down");
  delete glue.script.initError;
  assert.equal(await (await entry.fetch(post("3"), env)).text(), "served");
  assert.equal(glue.calls.filter((c) => c[0] === "init_app").length, 2);
});
