// The native stdio server (local-stdio) driven the way Claude Desktop runs it: `<binary> mcp`
// as a child process, through the official TypeScript SDK's StdioClientTransport and Client.
// Needs no worker. The binary is $LOCAL_STDIO_BIN, else target/release/local-stdio, else
// target/debug/local-stdio; build it first (`cargo build --release -p local-stdio`).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";

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
