// Request bodies through workerd and the Workers entry (src/edge/entry.mjs): the size limit
// (MAX_BODY_BYTES, 1 MiB by default) with and without Content-Length, streamed bodies, and
// refusals that do not need the body at all.
import { test } from "node:test";
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";

const BASE = process.env.E2E_URL;
const LIMIT = 1024 * 1024;
const registration = JSON.stringify({ redirect_uris: ["http://127.0.0.1:9/cb"], client_name: "bodies" });

/** A raw HTTP/1.1 POST; `chunks` are written one by one (chunked encoding unless a length is set). */
function post(path, chunks, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${BASE}${path}`, { method: "POST", headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    // The server may answer before the whole body is sent; that is not an error here.
    req.on("error", (e) => (e.code === "EPIPE" || e.code === "ECONNRESET" ? null : reject(e)));
    for (const c of chunks) req.write(c);
    req.end();
  });
}

test("a streamed (chunked) registration body is read whole", async () => {
  const half = registration.length >> 1;
  const r = await post("/register", [registration.slice(0, half), registration.slice(half)], { "content-type": "application/json" });
  assert.equal(r.status, 201, r.body);
  assert.equal(JSON.parse(r.body).client_name, "bodies");
});

test("a declared Content-Length over the limit is refused with 413", async () => {
  const body = "x".repeat(LIMIT + 1);
  const r = await post("/register", [body], { "content-type": "application/json", "content-length": String(body.length) });
  assert.equal(r.status, 413);
  assert.equal(JSON.parse(r.body).error, "payload_too_large");
});

test("a streamed body that grows past the limit is refused with 413", async () => {
  const chunk = "x".repeat(64 * 1024);
  const chunks = Array.from({ length: LIMIT / chunk.length + 2 }, () => chunk);
  const r = await post("/register", chunks, { "content-type": "application/json" });
  assert.equal(r.status, 413);
  assert.equal(JSON.parse(r.body).error, "payload_too_large");
});

test("an unauthenticated MCP request is refused from its head, whatever its body", async () => {
  const r = await post("/mcp", ["x".repeat(2 * LIMIT)], { "content-type": "application/json", accept: "application/json, text/event-stream" });
  assert.equal(r.status, 401);
  assert.match(r.headers["www-authenticate"], /resource_metadata=/);
});
