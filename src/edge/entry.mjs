// The Workers entry module, bundled by scripts/build-worker.sh with wasm-bindgen's glue
// (`./index.js`, which instantiates the wasm).
//
// `serve` (src/edge/mod.rs) returns a `Response` when the answer needs neither the body nor
// storage (discovery documents, 401s, preflights), and a `Promise<Response>` otherwise. A plain
// object export and no per-request wrapper keep the fixed cost per request low
// (docs/benchmarks.md).
//
// Recovery after a panic or trap, as worker-build's shim does it: the panic hook in the `worker`
// crate marks the state critical (and wasm-bindgen's abort handler schedules a reset); a
// `WebAssembly.RuntimeError` seen here does the same. The next request resets the instance.
import * as wasm from "./index.js";

const state = wasm.__worker_init_state();

function resetIfCritical() {
  if (state.criticalError) {
    console.log("Reinitializing Wasm application");
    wasm.__wbg_reset_state();
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

export default {
  fetch(request, env, ctx) {
    resetIfCritical();
    let out;
    try {
      out = wasm.serve(request, env, ctx);
    } catch (e) {
      critical(e);
    }
    return out instanceof Response ? out : out.catch(critical);
  },
};
