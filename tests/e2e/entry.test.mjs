// The Workers entry module (src/edge/entry.mjs) against a scripted stand-in for the wasm exports:
// the three-step protocol (answer now / init first / park, read the body, finish) and recovery
// after a wasm trap. Needs no worker: the real module runs in Node with a fake `./index.js`.
import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");
const dir = mkdtempSync(join(tmpdir(), "mcp-edge-entry-"));
copyFileSync(join(ROOT, "src/edge/entry.mjs"), join(dir, "entry.mjs"));
// The fake glue: each export records its call and does what the test scripted.
writeFileSync(join(dir, "index.js"), `
export const calls = [];
export const script = {};
const state = { criticalError: false, instanceId: 1 };
export function __worker_init_state() { return state; }
export function __wbg_reset_state() { calls.push(["reset"]); script.ready = true; }
export function serve(req) { calls.push(["serve", req.url]); return script.serve(req); }
export function max_body_bytes() { return script.limit ?? 16; }
export function serve_body(handle, outcome, body, env) {
  calls.push(["serve_body", handle, outcome, new TextDecoder().decode(body)]);
  if (script.bodyError) return Promise.reject(script.bodyError);
  if (script.bodyResult) return script.bodyResult();
  return Promise.resolve(new Response("done:" + outcome));
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

test("a head-only answer is returned synchronously, without reading the body", () => {
  const res = new Response("now");
  glue.script.serve = () => res;
  const out = entry.fetch(post("ignored"), env);
  assert.equal(out, res, "the very Response, not a Promise");
  assert.deepEqual(glue.calls.map((c) => c[0]), ["serve"]);
});

test("a parked request gets its body read and finished by serve_body", async () => {
  glue.script.serve = () => 7;
  const res = await entry.fetch(post("hello"), env);
  assert.equal(await res.text(), "done:0");
  assert.deepEqual(glue.calls.at(-1), ["serve_body", 7, 0, "hello"]);
});

test("a body without Content-Length is streamed and cut at the limit", async () => {
  glue.script.serve = () => 3;
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
  glue.script.serve = () => 1;
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

const writes = (...w) => JSON.stringify(w);

test("writes a handler made are applied in order before its response is released", async () => {
  const kv = fakeKv();
  glue.script.serve = () => 1;
  glue.script.bodyResult = () => [new Response("created", { status: 201 }), writes(["put", "a", "1", 60, false], ["delete", "b"], ["put", "c", "3", 0, true])];
  const res = await entry.fetch(post("x"), kv);
  assert.equal(res.status, 201);
  assert.deepEqual(kv.ops, [["put", "a", "1", 60], ["delete", "b"], ["put", "c", "3", undefined]]);
});

test("a promised result with writes is committed too", async () => {
  const kv = fakeKv();
  glue.script.serve = () => 1;
  glue.script.bodyResult = () => Promise.resolve([new Response("ok"), writes(["put", "g", "v", 600, false])]);
  assert.equal(await (await entry.fetch(post("x"), kv)).text(), "ok");
  assert.deepEqual(kv.ops, [["put", "g", "v", 600]]);
});

test("a failed write answers 503 and stops; a failed best-effort write does not", async () => {
  let kv = fakeKv(["a"]);
  glue.script.serve = () => 1;
  glue.script.bodyResult = () => [new Response("tokens"), writes(["put", "a", "1", 60, false], ["put", "b", "2", 60, false])];
  let res = await entry.fetch(post("x"), kv);
  assert.equal(res.status, 503, "the response is withheld");
  assert.deepEqual(kv.ops, [], "nothing after the failed write");
  assert.match(glue.calls.at(-1)[1], /KV put a: injected/);
  kv = fakeKv(["renew"]);
  glue.script.bodyResult = () => [new Response("tokens"), writes(["put", "g", "1", 60, false], ["put", "renew", "2", 60, true])];
  res = await entry.fetch(post("x"), kv);
  assert.equal(await res.text(), "tokens");
  assert.deepEqual(kv.ops, [["put", "g", "1", 60]]);
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
