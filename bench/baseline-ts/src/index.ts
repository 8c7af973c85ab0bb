// Benchmark baseline: the same two tools as mcp-edge, on Cloudflare's TypeScript stack.
//   OAuthProvider (@cloudflare/workers-oauth-provider) = authorization server + bearer check,
//   createMcpHandler (agents/mcp/server) over McpServer (@modelcontextprotocol/server 2.4) = the
//   MCP endpoint, serving 2026-07-28 (stateless) and the session revisions, like ours.
// /authorize auto-approves a fixed user: FOR THE BENCHMARK ONLY, never deploy this.
import { OAuthProvider, type OAuthHelpers } from "@cloudflare/workers-oauth-provider";
import { McpServer } from "@modelcontextprotocol/server";
import { createMcpHandler, getMcpAuthContext } from "agents/mcp/server";
import { z } from "zod";

interface Env {
  OAUTH_KV: KVNamespace;
  OAUTH_PROVIDER: OAuthHelpers;
}

type Props = { userId: string; name: string };

// A server per request (the stateless pattern of createMcpHandler's factory).
function createServer(): McpServer {
  const server = new McpServer({ name: "baseline-ts", version: "1.0.0" });
  server.registerTool(
    "echo",
    {
      title: "Echo",
      description: 'Echoes the message back, prefixed with "Echo: ".',
      inputSchema: z.object({ message: z.string().describe("Text to echo back") }),
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    async ({ message }) => ({ content: [{ type: "text", text: `Echo: ${message}` }] }),
  );
  server.registerTool(
    "get_vibe",
    {
      title: "Get vibe",
      description: "Tells the signed-in user the vibe of a location.",
      inputSchema: z.object({ location: z.string().describe("A place, e.g. Berlin") }),
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ location }) => {
      const props = getMcpAuthContext()?.props as Props | undefined;
      return props
        ? { content: [{ type: "text", text: `Curious vibes for ${props.name} in ${location}.` }] }
        : { content: [{ type: "text", text: "No user is signed in." }], isError: true };
    },
  );
  return server;
}

const handler = createMcpHandler(createServer, { route: "/mcp" });
const mcpApi = {
  fetch(request: Request, env: Env, ctx: ExecutionContext) {
    return handler(request, env, ctx);
  },
};

// Auto-approving authorization endpoint with a fixed user (benchmark only).
const authorizePage = {
  async fetch(request: Request, env: Env) {
    const url = new URL(request.url);
    if (url.pathname !== "/authorize") return new Response("Not Found", { status: 404 });
    const oauthReq = await env.OAUTH_PROVIDER.parseAuthRequest(request);
    const { redirectTo } = await env.OAUTH_PROVIDER.completeAuthorization({
      request: oauthReq,
      userId: "user-alice",
      metadata: { label: "bench" },
      scope: oauthReq.scope,
      props: { userId: "user-alice", name: "Alice" } satisfies Props,
      // The benchmark mints many codes for one client before exchanging them all.
      revokeExistingGrants: false,
    });
    return Response.redirect(redirectTo, 302);
  },
};

// The resource (token audience) must be an absolute URL fixed at construction; the port is
// only known per run, so the provider is built on the first request from its origin.
const providers = new Map<string, OAuthProvider<Env>>();
function providerFor(origin: string): OAuthProvider<Env> {
  let p = providers.get(origin);
  if (!p) {
    p = new OAuthProvider<Env>({
      apiRoute: "/mcp",
      apiHandler: mcpApi as any,
      defaultHandler: authorizePage as any,
      authorizeEndpoint: "/authorize",
      tokenEndpoint: "/token",
      clientRegistrationEndpoint: "/register",
      scopesSupported: ["mcp"],
      resourceMetadata: { resource: `${origin}/mcp`, authorization_servers: [origin] },
    });
    providers.set(origin, p);
  }
  return p;
}

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext) {
    return providerFor(new URL(request.url).origin).fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
