// The Workers entry module, bundled by scripts/build-worker.sh with wasm-bindgen's glue
// (`./index.js`, which instantiates the wasm). src/edge/mod.rs has the Rust side of each step.
//
// A request takes one, two or three steps:
// 1. `serve(request)` answers from the head alone (discovery documents, 401s, preflights) with a
//    `Response`, no body read and no `Promise`; or returns `null` until the app is built in this
//    isolate (`init_app(env)`, then step 1 again); or parks the request and returns its handle.
// 2. The body is read here, with the native `await` (bounded by MAX_BODY_BYTES also when the
//    client sends no Content-Length), and `serve_body(handle, …)` runs the handler. It returns
//    a `Response`; or `[response, writes]`: KV writes the handler made, applied here in order
//    (`commit`) before the response is released (a failed write answers 503 instead; a failed
//    best-effort write is logged); or a `Promise` of either when the handler reads KV.
// A plain object export and no per-request wrapper keep the fixed cost per request low
// (docs/benchmarks.md).
//
// Recovery after a panic or trap, as worker-build's shim does it: the panic hook in the `worker`
// crate marks the state critical (and wasm-bindgen's abort handler schedules a reset); a
// `WebAssembly.RuntimeError` seen here does the same. The next request resets the instance.
import * as wasm from "./index.js";

const state = wasm.__worker_init_state();
const EMPTY = new Uint8Array(0);
const READ = 0, TOO_LARGE = 1, UNREADABLE = 2;

function resetIfCritical() {
  if (state.criticalError) {
    console.log("Reinitializing Wasm application");
    wasm.__wbg_reset_state();
    initializing = null;
    state.criticalError = false;
    state.instanceId++;
  }
}

function critical(e) {
  if (e instanceof WebAssembly.RuntimeError) {
    console.error("Critical", e);
    state.criticalError = true;
  }
  throw e;
}

addEventListener("error", (e) => {
  if (e.error instanceof WebAssembly.RuntimeError) state.criticalError = true;
});

/** The body, at most `limit` bytes: [outcome, bytes]. */
async function readBody(request, limit) {
  if (request.body === null) return [READ, EMPTY];
  try {
    // With Content-Length (already checked against the limit), one native read.
    if (request.headers.has("content-length")) return [READ, new Uint8Array(await request.arrayBuffer())];
    const reader = request.body.getReader();
    const chunks = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        reader.cancel().catch(() => {});
        return [TOO_LARGE, EMPTY];
      }
      chunks.push(value);
    }
    const body = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      body.set(c, at);
      at += c.byteLength;
    }
    return [READ, body];
  } catch {
    return [UNREADABLE, EMPTY];
  }
}

async function withBody(request, env, handle) {
  const [outcome, body] = await readBody(request, wasm.max_body_bytes());
  return finish(wasm.serve_body(handle, outcome, body, env), env);
}

function finish(out, env) {
  if (out instanceof Response) return out;
  if (Array.isArray(out)) return commit(env, out[0], out[1]);
  return out.then((settled) => finish(settled, env));
}

/** Applies the handler's KV writes in order, then releases its response. */
async function commit(env, response, writes) {
  for (const [op, key, value, ttl, bestEffort] of JSON.parse(writes)) {
    try {
      if (op === "put") await env.KV.put(key, value, ttl > 0 ? { expirationTtl: ttl } : undefined);
      else await env.KV.delete(key);
    } catch (e) {
      const detail = `KV ${op} ${key}: ${e?.message ?? e}`;
      if (bestEffort) {
        console.warn(`mcp-edge: best-effort write failed (${detail})`);
        continue;
      }
      return wasm.storage_failed(detail);
    }
  }
  return response;
}

// One build of the app per isolate, however many requests arrive before it is done.
let initializing = null;

function step(request, env) {
  const out = wasm.serve(request);
  return out === null ? afterInit(request, env, 0) : dispatch(request, env, out);
}

function dispatch(request, env, out) {
  return typeof out === "number" ? withBody(request, env, out) : out;
}

async function afterInit(request, env, attempt) {
  const building = (initializing ??= wasm.init_app(env));
  const failed = await building;
  if (failed) {
    if (initializing === building) initializing = null; // a later request tries again
    return failed.clone(); // each waiting request gets its own copy of the error
  }
  const out = wasm.serve(request);
  if (out !== null) return dispatch(request, env, out);
  // Built, yet no app: that build belonged to an instance reset since. Build once more.
  if (attempt > 0) throw new Error("mcp-edge: the app was not built");
  if (initializing === building) initializing = null;
  return afterInit(request, env, attempt + 1);
}

export default {
  fetch(request, env) {
    resetIfCritical();
    try {
      const out = step(request, env);
      return out instanceof Response ? out : out.catch(critical);
    } catch (e) {
      critical(e);
    }
  },
};
