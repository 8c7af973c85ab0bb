// Workers KV for src/edge/kv.rs: one crossing per operation. Imported by the wasm glue, and by
// tests/e2e/entry.test.mjs, which drives the shipped kv_apply.
export function has_kv(env) {
  return env.KV != null && typeof env.KV.get === 'function';
}
export function kv_get(env, key) {
  return env.KV.get(key);
}
export function kv_list(env, prefix, limit, cursor) {
  const options = { prefix, limit };
  if (cursor) options.cursor = cursor;
  return env.KV.list(options).then((page) =>
    JSON.stringify({ keys: page.keys.map((k) => k.name), cursor: page.list_complete ? null : page.cursor }));
}
// The one place KV is written: `ops` in order, each [key, value, ttl] (a put; ttl 0: none) or
// [key] (a delete). Resolves to null, or to what failed: a failed required write stops the
// list; a failed best-effort write is logged and skipped (store::deferred::commit natively).
export async function kv_apply(env, ops, bestEffort) {
  for (const [key, value, ttl] of ops) {
    try {
      if (value === undefined) await env.KV.delete(key);
      else await env.KV.put(key, value, ttl > 0 ? { expirationTtl: ttl } : undefined);
    } catch (e) {
      const detail = `KV ${value === undefined ? 'delete' : 'put'} ${key}: ${e?.message ?? e}`;
      if (!bestEffort) return detail;
      console.warn(`mcp-edge: best-effort write failed (${detail})`);
    }
  }
  return null;
}
