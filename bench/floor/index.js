// The harness floor: what serving a trivial response costs in the benchmark's workerd setup
// (miniflare's entry worker routes every request to the user worker), and what one local KV
// read adds (miniflare's KV simulator: a Durable Object over SQLite). bench/run.mjs loads it
// like the two real workers and reports it beside them, so their CPU figures can be read net.
const BODY = JSON.stringify({ resource: "http://127.0.0.1/mcp", authorization_servers: ["http://127.0.0.1"] });

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === "/kv") {
      const v = await env.KV.get("floor:absent");
      return new Response(JSON.stringify({ resource: v ?? "none" }), { headers: { "content-type": "application/json" } });
    }
    if (pathname === "/.well-known/oauth-authorization-server" || pathname === "/") {
      return new Response(BODY, { headers: { "content-type": "application/json" } });
    }
    return new Response("not found", { status: 404 });
  },
};
