// The native stdio server (local-stdio) driven the way Claude Desktop runs it: `<binary> mcp`
// as a child process, through the official TypeScript SDK's StdioClientTransport and Client
// (v1, `initialize`), and through the v2 client negotiating 2026-07-28 (`server/discover`).
// Needs no worker. The binary is $LOCAL_STDIO_BIN, else target/release/local-stdio, else
// target/debug/local-stdio; build it first (`cargo build --release -p local-stdio`).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { Client as ClientV2, ProtocolError } from "@modelcontextprotocol/client";
import { StdioClientTransport as StdioClientTransportV2 } from "@modelcontextprotocol/client/stdio";

const ROOT = resolve(import.meta.dirname, "../..");
const EXE = process.platform === "win32" ? "local-stdio.exe" : "local-stdio";
const CANDIDATES = process.env.LOCAL_STDIO_BIN
  ? [resolve(ROOT, process.env.LOCAL_STDIO_BIN)]
  : [join(ROOT, "target/release", EXE), join(ROOT, "target/debug", EXE)];
const BIN = CANDIDATES.find((p) => existsSync(p));
const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let client;
let transport;
let stderr = "";
const errors = [];

before(async () => {
  if (!BIN) {
    throw new Error(
      `local-stdio binary not found (looked for ${CANDIDATES.join(", ")}). ` +
        "Build it with `cargo build --release -p local-stdio`, or point LOCAL_STDIO_BIN at it.",
    );
  }
  assert.ok(isAbsolute(BIN));
  // As Claude Desktop: {"command": "<abs path>", "args": ["mcp"]}, default (minimal) env.
  transport = new StdioClientTransport({ command: BIN, args: ["mcp"], stderr: "pipe" });
  transport.stderr.on("data", (d) => { stderr += d; });
  client = new Client({ name: "mcp-edge-e2e-stdio", version: "1.0.0" });
  client.onerror = (e) => errors.push(e);
  await client.connect(transport);
});

after(async () => {
  await client?.close();
  if (stderr) console.log(`local-stdio stderr:\n${stderr}`);
});

function text(result) {
  return (result.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join("\n");
}

test(`initialize (${BIN ?? "binary missing"})`, () => {
  assert.equal(client.getServerVersion().name, "mcp-edge-local");
  assert.ok(client.getServerCapabilities().tools);
  assert.match(client.getInstructions(), /get_current_time/);
});

test("lists the four tools", async () => {
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), ["echo", "get_current_time", "get_guid", "get_time"]);
  const current = tools.find((t) => t.name === "get_current_time");
  assert.deepEqual(current.inputSchema.required, ["city"]);
  assert.ok(current.outputSchema);
  const getTime = tools.find((t) => t.name === "get_time");
  assert.equal(getTime._meta.ui.resourceUri, "ui://get-time/mcp-app.html");
});

test("get_current_time Tokyo", async () => {
  // The SDK validates structuredContent against the tool's outputSchema.
  const r = await client.callTool({ name: "get_current_time", arguments: { city: "Tokyo" } });
  assert.ok(!r.isError, text(r));
  assert.equal(r.structuredContent.timezone, "Asia/Tokyo");
  assert.equal(r.structuredContent.utc_offset, "+09:00");
  assert.match(r.structuredContent.datetime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00$/);
  assert.match(text(r), /in Tokyo \(Asia\/Tokyo, JST, UTC\+09:00\)/);
  // The instant agrees with this machine's clock.
  const skew = Math.abs(Date.parse(r.structuredContent.datetime) - Date.now());
  assert.ok(skew < 5000, `clock skew ${skew} ms`);
});

test("get_current_time: city names, accents, unknown city", async () => {
  for (const [city, zone] of [["New York", "America/New_York"], ["São Paulo", "America/Sao_Paulo"], ["san francisco", "America/Los_Angeles"]]) {
    const r = await client.callTool({ name: "get_current_time", arguments: { city } });
    assert.equal(r.structuredContent?.timezone, zone, `${city}: ${text(r)}`);
  }
  const r = await client.callTool({ name: "get_current_time", arguments: { city: "Tokio" } });
  assert.equal(r.isError, true);
  assert.match(text(r), /Did you mean: Tokyo \(Asia\/Tokyo\)/);
});

test("get_guid", async () => {
  const a = await client.callTool({ name: "get_guid", arguments: {} });
  const b = await client.callTool({ name: "get_guid", arguments: {} });
  assert.match(a.structuredContent.guid, UUID_V4);
  assert.equal(text(a), a.structuredContent.guid);
  assert.notEqual(a.structuredContent.guid, b.structuredContent.guid);
});

test("echo (the worker's tool)", async () => {
  const r = await client.callTool({ name: "echo", arguments: { message: "hello from Claude" } });
  assert.equal(text(r), "Echo: hello from Claude");
  const missing = await client.callTool({ name: "echo", arguments: {} });
  assert.equal(missing.isError, true);
});

test("get_time (the worker's tool)", async () => {
  const r = await client.callTool({ name: "get_time", arguments: {} });
  assert.match(r.structuredContent.utc, ISO_UTC);
  assert.ok(Math.abs(r.structuredContent.unix * 1000 - Date.now()) < 5000);
  assert.match(text(r), /^The current UTC time is /);
});

test("unknown tool is a JSON-RPC error", async () => {
  await assert.rejects(client.callTool({ name: "get_vibe", arguments: {} }), (e) => {
    assert.ok(e instanceof McpError, String(e));
    assert.equal(e.code, -32602);
    return true;
  });
});

test("stdout carried only protocol messages", () => {
  assert.deepEqual(errors.map(String), []);
});

// A client of the 2026-07-28 revision: the SDK v2 Client in `auto` mode probes with
// `server/discover` and, when the server offers 2026-07-28, sends every request with its own
// `_meta` and no `initialize`. On that revision the SDK rejects a result without `resultType`
// (and a list or resources/read result without `ttlMs`/`cacheScope`), so each call below would
// throw on a server that left them out.
test("TypeScript SDK v2 client, versionNegotiation auto: 2026-07-28, every tool", async () => {
  const v2Transport = new StdioClientTransportV2({ command: BIN, args: ["mcp"], stderr: "pipe" });
  let v2Stderr = "";
  v2Transport.stderr.on("data", (d) => { v2Stderr += d; });
  const v2 = new ClientV2(
    { name: "mcp-edge-e2e-stdio-v2", version: "1.0.0" },
    { versionNegotiation: { mode: "auto" } },
  );
  const v2Errors = [];
  v2.onerror = (e) => v2Errors.push(e);
  await v2.connect(v2Transport);
  try {
    assert.equal(v2.getNegotiatedProtocolVersion(), "2026-07-28");
    assert.equal(v2.getProtocolEra(), "modern");
    assert.ok(v2.getDiscoverResult().supportedVersions.includes("2026-07-28"));
    // serverInfo is no longer in a result body: this came from the discover result's _meta.
    assert.equal(v2.getServerVersion()?.name, "mcp-edge-local");
    assert.ok(v2.getServerCapabilities().tools);
    assert.match(v2.getInstructions(), /get_current_time/);

    // The SDK hands back results without `resultType`; record what crossed the pipe.
    const methods = new Map();
    const replies = [];
    const send = v2Transport.send.bind(v2Transport);
    v2Transport.send = (message, options) => {
      if (message.method && message.id !== undefined) methods.set(message.id, message);
      return send(message, options);
    };
    const deliver = v2Transport.onmessage;
    v2Transport.onmessage = (message, ...rest) => {
      if ("result" in message || "error" in message) replies.push(structuredClone(message));
      deliver?.(message, ...rest);
    };

    const { tools } = await v2.listTools();
    assert.deepEqual(tools.map((t) => t.name), ["echo", "get_time", "get_current_time", "get_guid"]);

    // With tools/list cached, the SDK also checks structuredContent against each outputSchema.
    const echo = await v2.callTool({ name: "echo", arguments: { message: "hello 2026" } });
    assert.equal(text(echo), "Echo: hello 2026");
    const time = await v2.callTool({ name: "get_time", arguments: {} });
    assert.match(time.structuredContent.utc, ISO_UTC);
    const tokyo = await v2.callTool({ name: "get_current_time", arguments: { city: "Tokyo" } });
    assert.ok(!tokyo.isError, text(tokyo));
    assert.equal(tokyo.structuredContent.timezone, "Asia/Tokyo");
    const guid = await v2.callTool({ name: "get_guid", arguments: {} });
    assert.match(guid.structuredContent.guid, UUID_V4);
    const tokio = await v2.callTool({ name: "get_current_time", arguments: { city: "Tokio" } });
    assert.equal(tokio.isError, true);
    assert.match(text(tokio), /Did you mean: Tokyo \(Asia\/Tokyo\)/);
    await assert.rejects(v2.callTool({ name: "get_vibe", arguments: {} }), (e) => {
      assert.ok(e instanceof ProtocolError, String(e));
      assert.equal(e.code, -32602);
      return true;
    });
    const read = await v2.readResource({ uri: "ui://get-time/mcp-app.html" });
    assert.equal(read.contents[0].mimeType, "text/html;profile=mcp-app");

    // Every request went out on 2026-07-28 and every result came back as that revision wants.
    const seen = [];
    for (const reply of replies) {
      const request = methods.get(reply.id);
      assert.ok(request, `reply to an unknown request: ${JSON.stringify(reply)}`);
      assert.equal(request.params?._meta?.["io.modelcontextprotocol/protocolVersion"], "2026-07-28");
      seen.push(request.method);
      if ("error" in reply) continue;
      const r = reply.result;
      assert.equal(r.resultType, "complete", JSON.stringify(reply).slice(0, 300));
      assert.equal(r._meta?.["io.modelcontextprotocol/serverInfo"]?.name, "mcp-edge-local", request.method);
      if (request.method !== "tools/call") {
        assert.ok(Number.isInteger(r.ttlMs) && r.ttlMs >= 0, request.method);
        assert.ok(["public", "private"].includes(r.cacheScope), request.method);
      }
    }
    assert.deepEqual(seen, ["tools/list", ...Array(6).fill("tools/call"), "resources/read"]);
  } finally {
    await v2.close();
    if (v2Errors.length) console.log(`local-stdio stderr (v2 client):\n${v2Stderr}`);
  }
  assert.deepEqual(v2Errors.map(String), []);
});
