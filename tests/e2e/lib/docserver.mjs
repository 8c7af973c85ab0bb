// A local document server for Client ID Metadata Documents and JWK sets: http or https (with a
// throwaway self-signed certificate for 127.0.0.1 and localhost, made with openssl) on a free
// port of 127.0.0.1. Routes are set per path: status, headers and body, or a raw handler.
import { createServer as createHttp } from "node:http";
import { createServer as createHttps } from "node:https";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A self-signed certificate for 127.0.0.1 / localhost: { dir, certFile, cert, key }. */
export function selfSignedCert() {
  const dir = mkdtempSync(join(tmpdir(), "mcp-edge-tls-"));
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
    "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
    "-keyout", keyFile, "-out", certFile], { stdio: "ignore" });
  return { dir, certFile, cert: readFileSync(certFile), key: readFileSync(keyFile), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts the server; `tls` = { cert, key } for https. */
export async function startDocServer({ tls } = {}) {
  const routes = new Map();
  const hits = [];
  const handler = (req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    hits.push({ method: req.method, path, accept: req.headers.accept });
    const route = routes.get(path);
    if (!route) return res.writeHead(404, { "content-type": "application/json" }).end("{}");
    if (typeof route === "function") return route(req, res);
    res.writeHead(route.status ?? 200, { "content-type": "application/json", ...route.headers }).end(route.body ?? "");
  };
  const server = tls ? createHttps({ cert: tls.cert, key: tls.key }, handler) : createHttp(handler);
  await new Promise((res, rej) => { server.once("error", rej); server.listen(0, "127.0.0.1", res); });
  const { port } = server.address();
  const origin = `${tls ? "https" : "http"}://127.0.0.1:${port}`;
  return {
    origin,
    url: (path) => `${origin}${path}`,
    /** Serves `path`: { status, headers, body } (a JSON value as body is serialized), or a handler. */
    set(path, route) {
      if (typeof route !== "function" && route.body !== undefined && typeof route.body !== "string") {
        route = { ...route, body: JSON.stringify(route.body) };
      }
      routes.set(path, route);
    },
    hits: (path) => hits.filter((h) => h.path === path),
    close: () => new Promise((res) => { server.closeAllConnections?.(); server.close(() => res()); }),
  };
}
