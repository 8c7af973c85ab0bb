// CPU per sign-in: through an upstream OpenID provider (issue 16) and with a password (`USERS`,
// PBKDF2), on the deploy bundle served by workerd as `make bench` serves it (bench/lib/serve.mjs).
//
// The provider is a minimal one in this process (discovery, JWKS, a token endpoint that signs an
// RS256 ID token with the nonce our authorization request carried): only the worker's work is
// counted, read as the workerd process's CPU time (utime + stime) around N sequential requests of
// one step at a time:
//   page      GET /authorize (the sign-in page)
//   password  POST /authorize action=signin (PBKDF2 at BENCH_SIGNIN_ITERATIONS, default 50,000)
//   start     POST /authorize action=upstream (pending request to KV, 303 to the provider)
//   callback  GET /oauth/callback (state, browser binding, code exchange with the provider,
//             ID token signature against the cached JWKS and claims, rules, consent page)
// A password sign-in is page + password; an upstream sign-in is page + start + callback.
// Usage: node bench/upstream_cpu.mjs [N=200]
import { createServer } from "node:http";
import { createSign, generateKeyPairSync, pbkdf2Sync, randomBytes } from "node:crypto";
import { join } from "node:path";
import { rmSync, mkdirSync } from "node:fs";
import * as S from "./lib/serve.mjs";
import * as F from "./lib/flow.mjs";

const N = Number(process.argv[2] ?? 200);
const WARM = 20;
const ITERATIONS = Number(process.env.BENCH_SIGNIN_ITERATIONS ?? 50_000);
const b64u = (b) => Buffer.from(b).toString("base64url");

// ----------------------------------------------------------------------------- the provider
const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const KID = "bench-1";
const providerPort = await S.freePort();
const ISSUER = `http://127.0.0.1:${providerPort}`;
const CLIENT_ID = "mcp-edge-bench", CLIENT_SECRET = "bench-secret";
/** code → nonce, set by the bench when it "signs in" at the provider. */
const codes = new Map();
let exchanges = 0;

function idToken(nonce) {
  const now = Math.floor(Date.now() / 1000);
  const header = b64u(JSON.stringify({ alg: "RS256", typ: "JWT", kid: KID }));
  const claims = b64u(JSON.stringify({
    iss: ISSUER, aud: CLIENT_ID, sub: "bench-person", nonce, iat: now, exp: now + 300,
    email: "bench@example.com", email_verified: true, name: "Bench Person",
  }));
  const signature = createSign("RSA-SHA256").update(`${header}.${claims}`).sign(privateKey);
  return `${header}.${claims}.${b64u(signature)}`;
}

const provider = createServer(async (req, res) => {
  const url = new URL(req.url, ISSUER);
  const json = (status, body) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  if (url.pathname === "/.well-known/openid-configuration") {
    return json(200, {
      issuer: ISSUER, authorization_endpoint: `${ISSUER}/auth`, token_endpoint: `${ISSUER}/token`,
      jwks_uri: `${ISSUER}/jwks`, response_types_supported: ["code"], subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["RS256"], code_challenge_methods_supported: ["S256"],
      token_endpoint_auth_methods_supported: ["client_secret_basic"],
    });
  }
  if (url.pathname === "/jwks") return json(200, { keys: [{ ...publicKey.export({ format: "jwk" }), kid: KID, alg: "RS256", use: "sig" }] });
  if (url.pathname === "/token" && req.method === "POST") {
    let body = "";
    for await (const chunk of req) body += chunk;
    const form = new URLSearchParams(body);
    const basic = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString("base64")}`;
    const nonce = codes.get(form.get("code"));
    if (req.headers.authorization !== basic || nonce === undefined || !form.get("code_verifier")) return json(400, { error: "invalid_grant" });
    codes.delete(form.get("code"));
    exchanges++;
    return json(200, { access_token: b64u(randomBytes(16)), token_type: "Bearer", expires_in: 300, id_token: idToken(nonce) });
  }
  json(404, { error: "not_found" });
});
await new Promise((r) => provider.listen(providerPort, "127.0.0.1", r));

// ------------------------------------------------------------------------------- the worker
const salt = Buffer.from("bench-salt-16byt");
const hash = pbkdf2Sync("bench-password", salt, ITERATIONS, 32, "sha256").toString("base64url");
const work = join(S.ROOT, "bench/.out/upstream-cpu");
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const target = {
  key: "ours", name: "mcp-edge", cwd: S.ROOT, deployArgs: ["--env", "production"], compatibilityDate: "2025-09-01",
  vars: {
    MCP_EDGE_ENV: "development", REQUEST_LOG: "off",
    USERS: JSON.stringify([{ username: "bench", password_hash: `pbkdf2-sha256$${ITERATIONS}$${salt.toString("base64url")}$${hash}`, sub: "user-bench", name: "Bench", scopes: ["mcp"] }]),
    UPSTREAM_OIDC_ISSUER: ISSUER, UPSTREAM_OIDC_CLIENT_ID: CLIENT_ID, UPSTREAM_OIDC_CLIENT_SECRET: CLIENT_SECRET,
    UPSTREAM_NAME: "Bench ID", ACCESS_RULES: JSON.stringify([{ domain: "example.com", scopes: "mcp" }]),
  },
  kvBinding: "KV",
};
const dry = S.dryRun(target, work);
console.log(`bundle: ${dry.rawKiB} KiB, ${dry.gzipKiB} KiB gzip`);
const cap = await S.captureConfig(target, work, join(work, "kv"));
const w = S.startWorkerd(cap, await S.freePort());

const FORM = { "content-type": "application/x-www-form-urlencoded" };
/** The body of `r` when its status is `status` and it contains `must`. */
async function expect(what, r, status, must) {
  const text = await F.expectStatus(what, r, status);
  if (!text.includes(must)) throw new Error(`${what}: the answer lacks ${must}:\n${text.slice(0, 600)}`);
  return text;
}

try {
  await S.waitListening(w);
  const meta = await F.discover(w.url);
  const clientId = await F.register(meta);
  const url = F.authorizeUrl(meta, clientId);

  /** Runs `fn(i)` for each of `items` sequentially; resolves with µs of workerd CPU per item. */
  async function measure(items, fn) {
    const cpu0 = S.cpuSeconds(w.pid);
    const out = [];
    for (let i = 0; i < items.length; i++) out.push(await fn(items[i], i));
    return { per: ((S.cpuSeconds(w.pid) - cpu0) / items.length) * 1e6, out };
  }
  const page = async () => {
    const jar = new F.Jar();
    const r = await fetch(url, { redirect: "manual" });
    const html = await expect("GET /authorize", r, 200, "Continue with Bench ID");
    jar.take(r);
    return { jar, request: F.hidden(html, "request"), csrf: F.hidden(html, "csrf") };
  };
  const password = async (p) => {
    const r = await fetch(url, {
      method: "POST", redirect: "manual", headers: { ...FORM, cookie: p.jar.header() },
      body: new URLSearchParams({ request: p.request, csrf: p.csrf, action: "signin", username: "bench", password: "bench-password" }),
    });
    await expect("POST /authorize signin", r, 200, 'value="approve"');
  };
  const start = async (p) => {
    const r = await fetch(`${w.url}/authorize`, {
      method: "POST", redirect: "manual", headers: { ...FORM, cookie: p.jar.header() },
      body: new URLSearchParams({ request: p.request, csrf: p.csrf, action: "upstream", provider: "oidc" }),
    });
    await F.expectStatus("POST /authorize upstream", r, 303);
    p.jar.take(r);
    const at = new URL(r.headers.get("location"));
    if (`${at.origin}${at.pathname}` !== `${ISSUER}/auth`) throw new Error(`sent to ${at}`);
    // The person signs in at the provider, which sends them back with a code.
    const code = b64u(randomBytes(16));
    codes.set(code, at.searchParams.get("nonce"));
    return { ...p, back: `${w.url}/oauth/callback?code=${code}&state=${encodeURIComponent(at.searchParams.get("state"))}&iss=${encodeURIComponent(ISSUER)}` };
  };
  const callback = async (s) => {
    const r = await fetch(s.back, { redirect: "manual", headers: { cookie: s.jar.header() } });
    await expect("GET /oauth/callback", r, 200, 'value="approve"');
  };
  const range = (n) => Array.from({ length: n }, (_, i) => i);

  // Warm-up (the first callback fetches the provider's discovery document and keys).
  for (let i = 0; i < WARM; i++) {
    const p = await page();
    await password(await page());
    await callback(await start(p));
  }
  const pages = await measure(range(2 * N), page);
  const pw = await measure(pages.out.slice(0, N), password);
  const st = await measure(pages.out.slice(N), start);
  const cb = await measure(st.out, callback);
  if (exchanges !== N + WARM) throw new Error(`the provider exchanged ${exchanges} codes, expected ${N + WARM}`);
  const us = (x) => `${(x / 1000).toFixed(2)} ms`;
  console.log(`${N} sign-ins of each kind; workerd CPU per request:`);
  const rows = [
    ["GET /authorize (sign-in page)", pages.per],
    [`POST signin (PBKDF2, ${ITERATIONS} it.)`, pw.per],
    ["POST upstream (to the provider)", st.per],
    ["GET /oauth/callback (RS256 ID token)", cb.per],
  ];
  for (const [label, per] of rows) console.log(`  ${label.padEnd(38)} ${us(per)}`);
  console.log(`password sign-in: ${us(pages.per + pw.per)} CPU; upstream sign-in: ${us(pages.per + st.per + cb.per)} CPU (our worker only; up to the consent page)`);
} finally {
  await w.stop();
  provider.close();
}
