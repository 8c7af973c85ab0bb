// The Workers entry module, bundled by scripts/build-worker.sh with wasm-bindgen's glue
// (`./index.js`, which instantiates the wasm). engine/src/edge/mod.rs has the Rust side of each step.
//
// A request takes one, two or three steps:
// 1. `serve(request)` answers from the head alone (discovery documents, 401s, preflights, 413 for
//    a declared body that is too large) with a `Response`, no body read and no `Promise`; or
//    returns `null` until the app is built in this isolate (`init_app(env)`, then step 1 again);
//    or returns the request parked: an owned handle carrying what step 1 checked.
// 2. The body is read here, with the native `await` (bounded by MAX_BODY_BYTES also when the
//    client sends no Content-Length), and `serve_body(parked, …)` runs the handler. It returns
//    a `Response`; or `[response, required, bestEffort]`: KV writes the handler made. The
//    required ones are applied in order (`apply_writes`) before the response is released (a
//    failed one answers 503 instead), the best-effort ones after it, in `ctx.waitUntil`; or a
//    `Promise` of either when the handler reads KV. (Natively: store::deferred::commit.)
// A plain object export and no per-request wrapper keep the fixed cost per request low
// (docs/benchmarks.md).
//
// Recovery after a panic or trap uses only our own contracts (engine/src/edge/mod.rs): our panic hook
// marks `health.critical` before the abort traps; a `WebAssembly.RuntimeError` seen here does
// the same. The next request resets the instance with wasm-bindgen's `__wbg_reset_state`.
import * as wasm from "./index.js";
// The Durable Object class of legacy sessions' meeting points (engine/src/store/rendezvous.rs).
export { McpSessions } from "./objects.mjs";

const health = wasm.edge_health();
const EMPTY = new Uint8Array(0);
const READ = 0, TOO_LARGE = 1, UNREADABLE = 2;
// Counts instance resets: a handle parked before a reset belongs to the old instance.
let generation = 0;

function resetIfCritical() {
  if (health.critical) {
    console.log("mcp-edge: reinitializing the Wasm instance");
    wasm.__wbg_reset_state();
    initializing = null;
    health.critical = false;
    generation++;
  }
}

function critical(e) {
  if (e instanceof WebAssembly.RuntimeError) {
    console.error("mcp-edge: critical", e);
    health.critical = true;
  }
  throw e;
}

addEventListener("error", (e) => {
  if (e.error instanceof WebAssembly.RuntimeError) health.critical = true;
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

async function withBody(request, env, ctx, parked) {
  const parkedIn = generation;
  const [outcome, body] = await readBody(request, wasm.max_body_bytes());
  if (parkedIn !== generation) {
    return new Response('{"error":"temporarily_unavailable","error_description":"the server restarted while the request was read; retry"}',
      { status: 503, headers: { "content-type": "application/json", "retry-after": "1" } });
  }
  return finish(wasm.serve_body(parked, outcome, body, env), env, ctx);
}

function finish(out, env, ctx) {
  if (out instanceof Response) return out;
  if (Array.isArray(out)) return commit(env, ctx, out);
  return out.then((settled) => finish(settled, env, ctx));
}

/** Applies the required KV writes in order, releases the response, then the best-effort ones. */
async function commit(env, ctx, [response, required, bestEffort]) {
  if (required.length > 0) {
    const failed = await wasm.apply_writes(env, required, false);
    if (failed !== null) return wasm.storage_failed(failed);
  }
  if (bestEffort.length > 0) {
    const applied = wasm.apply_writes(env, bestEffort, true);
    if (ctx?.waitUntil) ctx.waitUntil(applied);
    else await applied;
  }
  return response;
}

// One build of the app per isolate, however many requests arrive before it is done.
let initializing = null;

function step(request, env, ctx) {
  const out = wasm.serve(request);
  return out === null ? afterInit(request, env, ctx, 0) : dispatch(request, env, ctx, out);
}

function dispatch(request, env, ctx, out) {
  return out instanceof Response ? out : withBody(request, env, ctx, out);
}

async function afterInit(request, env, ctx, attempt) {
  const building = (initializing ??= wasm.init_app(env));
  const failed = await building;
  if (failed) {
    if (initializing === building) initializing = null; // a later request tries again
    return failed.clone(); // each waiting request gets its own copy of the error
  }
  const out = wasm.serve(request);
  if (out !== null) return dispatch(request, env, ctx, out);
  // Built, yet no app: that build belonged to an instance reset since. Build once more.
  if (attempt > 0) throw new Error("mcp-edge: the app was not built");
  if (initializing === building) initializing = null;
  return afterInit(request, env, ctx, attempt + 1);
}

export default {
  fetch(request, env, ctx) {
    resetIfCritical();
    try {
      const out = step(request, env, ctx);
      return out instanceof Response ? out : out.catch(critical);
    } catch (e) {
      critical(e);
    }
  },
};
