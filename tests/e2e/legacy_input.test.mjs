// Input for 2025-11-25 sessions through the McpSessions Durable Object, as workerd runs it, on
// the wire: the call's SSE stream carries the priming event and elicitation/create; the answer
// is a separate POST; a client that never answers gets -32001 after INPUT_TIMEOUT (2 s here),
// and its late answer finds nobody (404). Raw fetch, so every byte is ours to check.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./worker.mjs";

let worker, MCP;
before(async () => {
  worker = await startWorker({ env: "conformance", vars: { INPUT_TIMEOUT: "2" } });
  MCP = `${worker.url}/mcp`;
});
after(async () => { await worker?.stop(); });

const HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25" };

async function post(body, session) {
  return fetch(MCP, { method: "POST", headers: { ...HEADERS, ...(session ? { "mcp-session-id": session } : {}) }, body: JSON.stringify(body) });
}

async function openSession(capabilities) {
  const res = await post({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities, clientInfo: { name: "e2e", version: "1" } } });
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  return res.headers.get("mcp-session-id");
}

/** SSE events of a response, read as they arrive. */
async function* events(res) {
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let end;
    while ((end = buf.indexOf("\n\n")) >= 0) {
      const raw = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const field = (name) => raw.split("\n").find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);
      yield { id: field("id"), retry: field("retry"), data: field("data") ?? "" };
    }
  }
}

test("elicitation on the call's stream, answered by a separate POST", { timeout: 30_000 }, async () => {
  const session = await openSession({ elicitation: {} });
  const res = await post({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "test_elicitation", arguments: { message: "Who?" } } }, session);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /text\/event-stream/);
  const it = events(res);
  const priming = (await it.next()).value;
  assert.ok(priming.id && priming.retry && priming.data === "", `priming event first: ${JSON.stringify(priming)}`);
  const asked = JSON.parse((await it.next()).value.data);
  assert.equal(asked.method, "elicitation/create");
  const answer = await post({ jsonrpc: "2.0", id: asked.id, result: { action: "accept", content: { username: "ada", email: "a@example.com" } } }, session);
  assert.equal(answer.status, 202);
  const final = JSON.parse((await it.next()).value.data);
  assert.equal(final.id, 7);
  assert.match(final.result.content[0].text, /action=accept/);
  assert.equal((await it.next()).done, true, "the stream ends after the result");
});

test("a client that never answers gets -32001 after INPUT_TIMEOUT; its late answer finds nobody", { timeout: 30_000 }, async () => {
  const session = await openSession({ elicitation: {} });
  const started = Date.now();
  const res = await post({ jsonrpc: "2.0", id: 8, method: "tools/call", params: { name: "test_elicitation", arguments: { message: "?" } } }, session);
  const it = events(res);
  await it.next(); // priming
  const asked = JSON.parse((await it.next()).value.data);
  const final = JSON.parse((await it.next()).value.data);
  const waited = Date.now() - started;
  assert.equal(final.id, 8);
  assert.equal(final.error?.code, -32001, JSON.stringify(final));
  assert.ok(waited >= 1900 && waited < 15_000, `ended after ${waited} ms (INPUT_TIMEOUT=2)`);
  const late = await post({ jsonrpc: "2.0", id: asked.id, result: { action: "accept", content: {} } }, session);
  assert.equal(late.status, 404);
});

test("a closed stream is resumed with GET and Last-Event-ID", { timeout: 30_000 }, async () => {
  const session = await openSession({});
  const res = await post({ jsonrpc: "2.0", id: 9, method: "tools/call", params: { name: "test_reconnection", arguments: {} } }, session);
  const seen = [];
  for await (const e of events(res)) seen.push(e);
  assert.equal(seen.length, 1, "only the priming event before the stream closes");
  const resumed = await fetch(MCP, { headers: { accept: "text/event-stream", "mcp-protocol-version": "2025-11-25", "mcp-session-id": session, "last-event-id": seen[0].id } });
  assert.equal(resumed.status, 200);
  const replay = [];
  for await (const e of events(resumed)) replay.push(e);
  const final = JSON.parse(replay.find((e) => e.data).data);
  assert.equal(final.id, 9);
  assert.match(final.result.content[0].text, /after resuming/);
});

test("an elicitation whose stream broke is resumed with Last-Event-ID: the answer, then the result", { timeout: 30_000 }, async () => {
  // A real tool that asks (not the reconnection fixture, whose stream closes by design): the
  // client's connection drops after elicitation/create; it answers by POST, then resumes.
  const session = await openSession({ elicitation: {} });
  const abort = new AbortController();
  const res = await fetch(MCP, { method: "POST", signal: abort.signal, headers: { ...HEADERS, "mcp-session-id": session },
    body: JSON.stringify({ jsonrpc: "2.0", id: 11, method: "tools/call", params: { name: "test_elicitation", arguments: { message: "Who?" } } }) });
  assert.equal(res.status, 200);
  const it = events(res);
  const priming = (await it.next()).value;
  assert.ok(priming.id, "a priming event with an id");
  const askedEvent = (await it.next()).value;
  const asked = JSON.parse(askedEvent.data);
  assert.equal(asked.method, "elicitation/create");
  assert.ok(askedEvent.id, "the request event has an id to resume after");
  abort.abort(); // the connection breaks
  await new Promise((r) => setTimeout(r, 200));
  const answer = await post({ jsonrpc: "2.0", id: asked.id, result: { action: "accept", content: { username: "ada", email: "a@example.com" } } }, session);
  assert.equal(answer.status, 202, "the call still waits for its answer after its stream broke");
  const resumed = await fetch(MCP, { headers: { accept: "text/event-stream", "mcp-protocol-version": "2025-11-25", "mcp-session-id": session, "last-event-id": askedEvent.id } });
  assert.equal(resumed.status, 200);
  const replay = [];
  for await (const e of events(resumed)) {
    replay.push(e);
    if (e.data && JSON.parse(e.data).id === 11) break;
  }
  const final = JSON.parse(replay.find((e) => e.data && JSON.parse(e.data).id === 11).data);
  assert.equal(final.result?.isError, false, JSON.stringify(final));
  assert.match(final.result.content[0].text, /ada/, JSON.stringify(final));
});
