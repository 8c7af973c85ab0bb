// Benchmark baseline: the same two tools as mcp-edge, on Cloudflare's TypeScript stack.
//   OAuthProvider (@cloudflare/workers-oauth-provider) = authorization server + bearer check,
//   createMcpHandler (agents/mcp) + McpServer (@modelcontextprotocol/sdk) = the MCP endpoint.
// /authorize auto-approves a fixed user: FOR THE BENCHMARK ONLY, never deploy this.
import { OAuthProvider, type OAuthHelpers } from "@cloudflare/workers-oauth-provider";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { createMcpHandler } from "agents/mcp";
import { z } from "zod";

interface Env {
  OAUTH_KV: KVNamespace;
  OAUTH_PROVIDER: OAuthHelpers;
}

type Props = { userId: string; name: string };

// One McpServer per request: SDK v1 servers can be connected to one transport at a time, and
// createMcpHandler(server) with no session generator is the stateless pattern.
function createServer(props: Props | undefined): McpServer {
  const server = new McpServer({ name: "baseline-ts", version: "1.0.0" });
  server.registerTool(
    "echo",
    {
      title: "Echo",
      description: 'Echoes the message back, prefixed with "Echo: ".',
      inputSchema: { message: z.string().describe("Text to echo back") },
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    async ({ message }) => ({ content: [{ type: "text", text: `Echo: ${message}` }] }),
  );
  server.registerTool(
    "get_vibe",
    {
      title: "Get vibe",
      description: "Tells the signed-in user the vibe of a location.",
      inputSchema: { location: z.string().describe("A place, e.g. Berlin") },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ location }) =>
      props
        ? { content: [{ type: "text", text: `Curious vibes for ${props.name} in ${location}.` }] }
        : { content: [{ type: "text", text: "No user is signed in." }], isError: true },
  );
  return server;
}

const mcpApi = {
  fetch(request: Request, env: Env, ctx: ExecutionContext & { props?: Props }) {
    return createMcpHandler(createServer(ctx.props), { route: "/mcp" })(request, env, ctx);
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
