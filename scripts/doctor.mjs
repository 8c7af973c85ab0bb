// `make doctor URL=https://<host>/mcp` (or `node scripts/doctor.mjs <url>`; optional env
// TOKEN=<bearer>): checks a deployed MCP server the way hosted clients (claude.ai, ChatGPT,
// Claude Code) reach it, and prints a checklist with a fix under each failure. Exits 1 when a
// check fails, 2 on a usage error. Node built-ins only (node:http / node:https, not fetch: no
// "bad port" list, no added headers, exact control of redirects and User-Agent).
import http from "node:http";
import https from "node:https";

const TIMEOUT_MS = 10_000;
const MAX_BODY = 1 << 20;
const MODERN = "2026-07-28";
const LEGACY = "2025-11-25";
const PLAIN_UA = `mcp-doctor/1.0 (node ${process.version})`;
const BOT_UAS = [
  ["Claude-User", "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Claude-User/1.0; +Claude-User@anthropic.com)"],
  ["ChatGPT-User", "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot"],
];
const PROBE_ORIGIN = "https://example.com";
const PRM_WELL_KNOWN = "/.well-known/oauth-protected-resource";
const AS_WELL_KNOWN = "/.well-known/oauth-authorization-server";
const OIDC_WELL_KNOWN = "/.well-known/openid-configuration";

// ---------------------------------------------------------------------------------------------
// HTTP

/**
 * One HTTP exchange. Resolves (never rejects) with { url, status, headers, text, redirects } or,
 * when no HTTP answer came back, { url, error, code } with `error` saying what went wrong in
 * words (DNS, TLS, refused, timeout). `follow` follows up to 5 redirects (GET/OPTIONS only).
 */
async function request(url, { method = "GET", headers = {}, body, follow = false, ua = PLAIN_UA } = {}) {
  const redirects = [];
  let current = url;
  for (let hop = 0; ; hop++) {
    const res = await exchange(current, { method, headers, body, ua });
    res.redirects = redirects;
    if (!follow || res.error || res.status < 300 || res.status > 399 || !res.headers.location || hop >= 5) return res;
    let next;
    try { next = new URL(res.headers.location, current).href; } catch { return res; }
    redirects.push(`${res.status} → ${next}`);
    current = next;
  }
}

function exchange(url, { method, headers, body, ua }) {
  return new Promise((resolve) => {
    let u;
    try { u = new URL(url); } catch { resolve({ url, error: `not a valid URL: ${url}`, code: "EBADURL" }); return; }
    const mod = u.protocol === "https:" ? https : u.protocol === "http:" ? http : null;
    if (!mod) { resolve({ url, error: `unsupported scheme ${u.protocol}`, code: "EBADURL" }); return; }
    const h = { "user-agent": ua, ...headers };
    if (body !== undefined) h["content-length"] = Buffer.byteLength(body);
    let done = false;
    const finish = (r) => { if (!done) { done = true; clearTimeout(timer); resolve({ url, ...r }); } };
    let partial = null; // the answer so far, once its headers are in
    const req = mod.request(u, { method, headers: h, agent: false }, (res) => {
      const chunks = [];
      let size = 0;
      partial = () => ({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") });
      res.on("data", (c) => { if (size < MAX_BODY) { chunks.push(c); size += c.length; } });
      res.on("end", () => finish(partial()));
      res.on("error", (e) => finish({ error: explain(e, u), code: e.code }));
      res.on("aborted", () => finish({ error: explain(Object.assign(new Error("aborted"), { code: "ECONNRESET" }), u), code: "ECONNRESET" }));
    });
    const timer = setTimeout(() => {
      const e = Object.assign(new Error("timeout"), { code: "ETIMEDOUT_DOCTOR" });
      // A body still streaming after the time limit (an SSE stream left open): keep what came.
      finish(partial ? { ...partial(), incomplete: true } : { error: explain(e, u), code: e.code });
      req.destroy(e);
    }, TIMEOUT_MS);
    req.on("error", (e) => finish({ error: explain(e, u), code: e.code }));
    req.end(body);
  });
}

/** A network error in words: what failed (DNS, TCP, TLS, timeout) and what it usually means. */
function explain(e, u) {
  const host = u.hostname;
  const where = `${host}:${u.port || (u.protocol === "https:" ? 443 : 80)}`;
  const code = e.code ?? "";
  const TLS = {
    CERT_HAS_EXPIRED: "the certificate has expired",
    CERT_NOT_YET_VALID: "the certificate is not valid yet",
    DEPTH_ZERO_SELF_SIGNED_CERT: "the certificate is self-signed",
    SELF_SIGNED_CERT_IN_CHAIN: "a self-signed certificate is in the chain",
    UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the certificate chain is incomplete (intermediate missing)",
    UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "the certificate's issuer is not trusted (intermediate missing or private CA)",
    UNABLE_TO_GET_ISSUER_CERT: "the certificate's issuer is not trusted",
    ERR_TLS_CERT_ALTNAME_INVALID: `the certificate does not cover ${host}`,
    CERT_REVOKED: "the certificate is revoked",
  };
  if (code === "ENOTFOUND") return `DNS: ${host} does not resolve (ENOTFOUND); check the host name (a new custom domain or workers.dev subdomain can take a few minutes to appear)`;
  if (code === "EAI_AGAIN") return `DNS: looking up ${host} failed temporarily (EAI_AGAIN); check this machine's network/DNS and retry`;
  if (code === "ECONNREFUSED") return `connection refused by ${where} (ECONNREFUSED): nothing is listening there`;
  if (code === "ECONNRESET" || code === "EPIPE" || /socket hang up/.test(e.message)) return `connection to ${where} was reset before an answer (${code || "socket hang up"})`;
  if (code === "ETIMEDOUT_DOCTOR") return `no answer from ${where} within ${TIMEOUT_MS / 1000} s (timeout)`;
  if (code === "ETIMEDOUT" || code === "ECONNABORTED") return `connecting to ${where} timed out (${code})`;
  if (code === "EHOSTUNREACH" || code === "ENETUNREACH") return `${where} is unreachable from this machine (${code})`;
  if (TLS[code]) return `TLS: ${TLS[code]} (${code}) for ${host}`;
  if (/SSL|TLS|EPROTO/i.test(code) || /wrong version number|ssl|tls/i.test(e.message)) {
    if (/wrong version number|packet length too long|http request/i.test(e.message)) return `TLS: ${where} does not speak TLS (it answered like plain HTTP)`;
    // OpenSSL's "…:SSL routines:<function>:<reason>:<file>:<line>" → the reason.
    const reason = /routines:[^:]*:([^:]+)/.exec(e.message)?.[1] ?? e.message.split("\n")[0];
    return `TLS handshake with ${where} failed: ${reason.trim()} (${code || "TLS"})`;
  }
  return `request to ${where} failed: ${code ? `${code} ` : ""}${e.message}`;
}

const jsonHeaders = { "content-type": "application/json", accept: "application/json, text/event-stream" };

function parseJson(text) {
  try { return { value: JSON.parse(text) }; } catch (e) { return { error: e.message }; }
}

/** A JSON value for a finding ("missing" for undefined). */
const show = (v) => (v === undefined ? "missing" : JSON.stringify(v));

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

/** The JSON-RPC messages of a Streamable HTTP answer: one JSON body, or the events of an SSE stream. */
function rpcMessages(res) {
  const ct = String(res.headers["content-type"] ?? "");
  if (ct.startsWith("text/event-stream")) {
    return res.text.split(/\r?\n\r?\n/)
      .map((ev) => ev.split(/\r?\n/).filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n"))
      .filter(Boolean).map((d) => parseJson(d).value).filter(Boolean);
  }
  const p = parseJson(res.text);
  return p.value === undefined ? [] : [p.value].flat();
}

/** RFC 9110 WWW-Authenticate: [{ scheme, params }] (parameter names lower-cased). */
function parseChallenges(header) {
  const h = Array.isArray(header) ? header.join(", ") : String(header ?? "");
  const out = [];
  let cur = null;
  let i = 0;
  while (i < h.length) {
    while (i < h.length && /[\s,]/.test(h[i])) i++;
    const m = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/.exec(h.slice(i));
    if (!m) { i++; continue; }
    const tok = m[0];
    i += tok.length;
    let j = i;
    while (j < h.length && h[j] === " ") j++;
    if (h[j] === "=" && cur) {
      i = j + 1;
      while (i < h.length && h[i] === " ") i++;
      let val = "";
      if (h[i] === '"') {
        i++;
        while (i < h.length && h[i] !== '"') { if (h[i] === "\\" && i + 1 < h.length) i++; val += h[i++]; }
        i++;
      } else {
        val = /^[^,\s]*/.exec(h.slice(i))[0];
        i += val.length;
      }
      cur.params[tok.toLowerCase()] = val;
    } else {
      cur = { scheme: tok, params: {} };
      out.push(cur);
    }
  }
  return out;
}

const bearerOf = (res) => parseChallenges(res.headers?.["www-authenticate"]).find((c) => c.scheme.toLowerCase() === "bearer");

/** Signs that an answer is an HTML error page, and that Cloudflare's edge (not the Worker) made it. */
function edgeEvidence(res) {
  const ct = String(res.headers?.["content-type"] ?? "");
  const text = res.text ?? "";
  const html = /html/i.test(ct) || /^\s*</.test(text);
  const title = /<title[^>]*>([^<]*)<\/title>/i.exec(text)?.[1]?.trim();
  const mitigated = res.headers?.["cf-mitigated"];
  const cfPage = html && /cloudflare/i.test(text);
  return { html, title, mitigated, cfPage, cloudflare: Boolean(mitigated || cfPage) };
}

/** "403 text/html "Attention Required!" (cf-mitigated: block)": a short description of an answer. */
function describe(res) {
  if (res.error) return res.error;
  const ct = String(res.headers["content-type"] ?? "no content-type").split(";")[0];
  const ev = edgeEvidence(res);
  let s = `${res.status} ${ct}`;
  if (ev.title) s += ` "${ev.title.slice(0, 60)}"`;
  else if (!ev.html && res.text) s += ` ${JSON.stringify(res.text.replace(/\s+/g, " ").slice(0, 120))}`;
  if (ev.mitigated) s += ` (cf-mitigated: ${ev.mitigated})`;
  else if (ev.cfPage) s += " (a Cloudflare page)";
  return s;
}

// ---------------------------------------------------------------------------------------------
// Fix texts shared by several checks

/** How to let the hosted clients through Cloudflare's bot protection (the how-to half of a fix). */
function cloudflareBotFix(ctx) {
  return "Hosted clients call from their own servers (claude.ai as Claude-User, ChatGPT as ChatGPT-User) and need "
    + `${ctx.path}, /.well-known/* and the OAuth endpoints; the Worker never sees the blocked requests, so its logs show `
    + "nothing. Either turn the blocking off for the zone (dashboard → your domain → Security → Settings → Bot traffic: "
    + "set \"Block AI bots\" / the AI bot policies to allow; or AI Crawl Control → Crawlers: Allow Claude-User and "
    + "ChatGPT-User), or keep it and add a WAF custom rule (Security → Security rules → Create rule → Custom rules) "
    + "with action Skip, skipping \"All Super Bot Fight Mode rules\" and \"All remaining custom rules\", placed first, "
    + "with the expression\n"
    + `  (http.host eq "${ctx.host}" and (http.request.uri.path eq "${ctx.path}" or http.request.uri.path contains "/.well-known/" or http.request.uri.path in {${(ctx.oauthPaths ?? ["/register", "/token"]).map((x) => `"${x}"`).join(" ")}}))\n`
    + "Bot Fight Mode (the Free plan's toggle) cannot be skipped by a rule: turn it off if it is on.";
}

/** What marks an answer as Cloudflare's rather than the Worker's, in words; null when nothing does. */
function edgeWhy(res) {
  const ev = res.error ? {} : edgeEvidence(res);
  if (ev.mitigated) return `the answer carries cf-mitigated: ${ev.mitigated} (Cloudflare's edge answered, not the Worker)`;
  if (ev.cfPage) return "the answer is a Cloudflare HTML page (Cloudflare's edge answered, not the Worker)";
  if (res.status === 403 && ev.html) return "an HTML 403 is what Cloudflare's edge sends (this Worker answers JSON)";
  return null;
}

/** The fix when a plain client (the doctor) is refused by Cloudflare's edge; null when it is not that. */
function refusalFix(ctx, res) {
  const why = edgeWhy(res);
  if (!why) return null;
  return `Even a plain client is blocked or challenged before the Worker runs: ${why}. Bot Fight Mode, Super Bot Fight `
    + "Mode, \"Block AI bots\", a WAF custom rule or \"I'm Under Attack\" mode does this; Security → Events in the "
    + `dashboard names the rule.\n${cloudflareBotFix(ctx)}`;
}

// ---------------------------------------------------------------------------------------------
// The checks: each returns { ok, summary } or { ok: false, problems: [{ what, fix }] }, with
// optional notes (shown under the line, not failures).

class Result {
  constructor() { this.problems = []; this.notes = []; this.summary = ""; this.skipped = null; }
  fail(what, fix) { this.problems.push({ what, fix }); return this; }
  note(text) { this.notes.push(text); return this; }
  get ok() { return !this.skipped && this.problems.length === 0; }
}

/** 1. HTTPS, and the host answers at all (DNS, TCP, TLS). */
async function checkHttps(ctx) {
  const r = new Result();
  const u = ctx.url;
  if (u.protocol === "https:") {
    r.summary = "https";
  } else if (u.protocol === "http:" && ctx.loopback) {
    r.summary = `http on ${u.hostname} (local only)`;
    r.note("Hosted clients (claude.ai, ChatGPT) connect from their own servers and need a public HTTPS URL: "
      + "deploy (`make deploy`) or use a tunnel, then run the doctor on that URL.");
  } else {
    r.fail(`${u.protocol.replace(":", "")} is not HTTPS (${u.host})`,
      "Hosted clients only connect to https:// URLs (plain http is allowed only for 127.0.0.1/localhost). Deploy behind "
      + "TLS: `make deploy` serves on https://<worker>.workers.dev, or add a custom domain to the Worker; then give clients "
      + "the https:// URL.");
  }
  if (u.search || u.hash) r.note("The URL has a query or fragment; clients keep it in the resource they compare, which is fragile.");
  // Reachability: any HTTP answer at all (DNS resolves, TCP connects, TLS verifies).
  const res = await request(ctx.prmSuffixed, { headers: { accept: "application/json" } });
  if (res.error) {
    ctx.unreachable = res.error;
    r.fail(res.error, networkFix(res, ctx));
  } else if (u.protocol === "https:") {
    r.summary += ", TLS certificate accepted";
  }
  return r;
}

function networkFix(res, ctx) {
  const c = res.code ?? "";
  if (c === "ENOTFOUND" || c === "EAI_AGAIN") return `Check the URL's host name (${ctx.url.hostname}). For a Worker it is <name>.<account>.workers.dev (printed by \`make deploy\`) or the custom domain you attached in the dashboard (Workers → your worker → Settings → Domains & Routes).`;
  if (c === "ECONNREFUSED") return ctx.loopback ? "Start the server (`make dev` serves http://127.0.0.1:8787/mcp) or fix the port." : "Nothing accepts connections on that port: check the port and that the host serves HTTPS there.";
  if (/does not speak TLS/.test(res.error)) return ctx.loopback ? "Use http:// for a local server (`make dev` serves http://127.0.0.1:8787/mcp), or put TLS in front of it." : "Serve HTTPS on that port (or use the port that does: 443 by default).";
  if (/TLS|SSL|CERT|EPROTO/.test(c) || /^TLS/.test(res.error)) return "Serve a certificate that public clients trust and that covers this host name (Cloudflare issues one automatically for workers.dev, for custom domains on the Worker and for proxied DNS records; a new one can take a few minutes).";
  if (/TIMEDOUT/.test(c)) return `The server did not answer within ${TIMEOUT_MS / 1000} s: check the host is up, that no firewall drops the connection, and (for a Worker) \`wrangler tail\` for slow or hanging requests.`;
  return "Check the URL, that the server is up and reachable from the internet, and retry.";
}

const initializeBody = (id = 1) => JSON.stringify({
  jsonrpc: "2.0", id, method: "initialize",
  params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: "mcp-doctor", version: "1.0.0" } },
});
const discoverBody = (id = 1) => JSON.stringify({
  jsonrpc: "2.0", id, method: "server/discover",
  params: { _meta: { "io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {} } },
});
const discoverHeaders = { ...jsonHeaders, "mcp-protocol-version": MODERN, "mcp-method": "server/discover" };

/** Why an unauthenticated request did not get the 401 challenge, and what to do. */
function challengeProblem(ctx, res, label) {
  if (res.error) return { what: `${label}: ${res.error}`, fix: networkFix(res, ctx) };
  const s = res.status;
  const d = describe(res);
  if (s === 401) {
    const b = bearerOf(res);
    const wa = res.headers["www-authenticate"];
    if (!wa) return { what: `${label}: 401 without a WWW-Authenticate header`, fix: challengeFix(ctx) };
    if (!b) return { what: `${label}: 401 but no Bearer challenge (WWW-Authenticate: ${wa})`, fix: challengeFix(ctx) };
    if (!b.params.resource_metadata) return { what: `${label}: 401 Bearer challenge without resource_metadata (WWW-Authenticate: ${wa})`, fix: challengeFix(ctx) };
    let rm;
    try { rm = new URL(b.params.resource_metadata); } catch {
      return { what: `${label}: resource_metadata="${b.params.resource_metadata}" is not an absolute URL`, fix: challengeFix(ctx) };
    }
    if (rm.protocol !== "https:" && !isLoopback(rm.hostname)) {
      return { what: `${label}: resource_metadata="${b.params.resource_metadata}" is not https`, fix: `Advertise the https:// URL of the metadata. ${publicUrlHint()}` };
    }
    return null;
  }
  const refused = refusalFix(ctx, res);
  if (refused) return { what: `${label}: ${d}, expected 401`, fix: refused };
  if (s >= 300 && s < 400) {
    return { what: `${label}: ${s} redirect to ${res.headers.location ?? "(no Location)"}, expected 401`,
      fix: "Clients POST to the exact URL they were given and do not reliably follow redirects for POST: give clients the final URL (and keep it identical to the metadata's `resource`)." };
  }
  if (s >= 200 && s < 300) {
    return { what: `${label}: ${d} without a token, expected 401`,
      fix: "The endpoint answers without authorization, so clients never start the OAuth sign-in. Require a bearer token on every MCP request (in mcp-edge, only MCP_EDGE_ENV=conformance turns authorization off: never deploy it)." };
  }
  if (s === 404) return { what: `${label}: 404, expected 401`, fix: "Nothing serves MCP at this path: check the URL (mcp-edge serves it at MCP_PATH, /mcp by default) and the Worker's routes." };
  if (s >= 500) {
    return { what: `${label}: ${d}, expected 401`,
      fix: "The server failed. mcp-edge in production answers 500 naming every missing or malformed setting until the JWT_SIGNING_KEYS, COOKIE_SECRET and USERS secrets and the KV namespace are set (README, Deploy); `./scripts/wrangler tail --env production` shows the error." };
  }
  return { what: `${label}: ${d}, expected 401`,
    fix: "An unauthenticated MCP request must get 401 with the Bearer challenge before anything else is checked (content type, protocol version, body), so that clients can discover the authorization server and sign in." };
}

function challengeFix(ctx) {
  return `Answer unauthenticated ${ctx.path} requests with 401 and \`WWW-Authenticate: Bearer resource_metadata="${ctx.prmSuffixed}"\` (RFC 9728 §5.1, MCP authorization spec): that header is how clients find the protected resource metadata. If the Worker sends it, check that nothing in front of it (a Transform Rule, a proxy) removes it.`;
}

const publicUrlHint = () => "In mcp-edge every URL it advertises is PUBLIC_BASE_URL + MCP_PATH (or the request's own origin when PUBLIC_BASE_URL is unset); set PUBLIC_BASE_URL to the public https:// origin clients use.";

/** 2. Unauthenticated POST /mcp → 401 + Bearer challenge with resource_metadata. */
async function checkChallenge(ctx) {
  const r = new Result();
  const res = await request(ctx.mcp, { method: "POST", headers: jsonHeaders, body: initializeBody() });
  ctx.initUnauth = res;
  const p = challengeProblem(ctx, res, "POST /mcp (initialize, no token)");
  if (p) return r.fail(p.what, p.fix);
  const b = bearerOf(res);
  ctx.resourceMetadata = b.params.resource_metadata;
  r.summary = `unauthenticated POST ${ctx.path} → 401 Bearer resource_metadata="${b.params.resource_metadata}"`;
  const known = [ctx.prmSuffixed, ctx.prmRoot];
  if (!known.includes(b.params.resource_metadata)) r.note(`resource_metadata is neither ${known.join(" nor ")}; check 3 fetches it as well.`);
  return r;
}

/** 3. Protected resource metadata at the root and path-suffixed URLs (and the challenge's). */
async function checkPrm(ctx) {
  const r = new Result();
  const urls = [...new Set([ctx.prmSuffixed, ctx.prmRoot, ctx.resourceMetadata].filter(Boolean))];
  const good = [];
  for (const url of urls) {
    const label = url === ctx.prmSuffixed && url !== ctx.prmRoot ? "path-suffixed PRM" : url === ctx.prmRoot ? "root PRM" : "PRM from the challenge";
    const res = await request(url, { headers: { accept: "application/json" }, follow: true });
    const where = `${label} (${new URL(url).pathname})`;
    if (res.error) { r.fail(`${where}: ${res.error}`, networkFix(res, ctx)); continue; }
    if (res.redirects.length) r.note(`${where} redirects (${res.redirects.join(", ")}); clients follow, but serve it directly.`);
    if (res.status !== 200) {
      const refused = refusalFix(ctx, res);
      r.fail(`${where}: ${describe(res)}, expected 200 JSON`, refused ?? prmServeFix(ctx));
      continue;
    }
    const ct = String(res.headers["content-type"] ?? "");
    const p = parseJson(res.text);
    if (p.error || !isObject(p.value)) { r.fail(`${where}: not a JSON object (${ct || "no content-type"}: ${JSON.stringify(res.text.slice(0, 80))})`, prmServeFix(ctx)); continue; }
    if (!/^application\/(.+\+)?json/i.test(ct)) r.note(`${where} is served as ${ct || "no content-type"}, not application/json.`);
    const doc = p.value;
    let fine = true;
    if (doc.resource !== ctx.mcp) {
      fine = false;
      const same = typeof doc.resource === "string" && sameUrl(doc.resource, ctx.mcp);
      r.fail(`${where}: resource is ${show(doc.resource)}, not the MCP URL "${ctx.mcp}"${same ? " (they differ only in spelling: clients compare the strings byte for byte)" : ""}`,
        `\`resource\` must be exactly the URL users give their client (${ctx.mcp}): clients compare it byte for byte with the URL they were given and refuse tokens and sign-in otherwise (RFC 9728 §3.3, MCP authorization). Either give clients the URL the metadata names, or fix the metadata. ${publicUrlHint()} A proxy or second domain in front of the Worker changes the origin it sees, unless PUBLIC_BASE_URL is set.`);
    }
    const as = doc.authorization_servers;
    if (!Array.isArray(as) || as.length === 0 || !as.every((s) => typeof s === "string" && s)) {
      fine = false;
      r.fail(`${where}: authorization_servers is ${show(as)}, expected a non-empty array of issuer URLs`,
        "List the OAuth authorization server's issuer URL(s) in `authorization_servers` (RFC 9728 §2): it is how clients find where to sign in.");
    }
    if (Array.isArray(as)) good.push({ url, doc });
  }
  // The authorization servers to check next: from the document the challenge named, else any
  // with a usable list (even when its `resource` is wrong: check 4 is still worth running).
  const usable = good.filter((g) => g.doc.authorization_servers.length && g.doc.authorization_servers.every((x) => typeof x === "string" && x));
  if (usable.length) ctx.prm = (usable.find((g) => g.url === ctx.resourceMetadata) ?? usable[0]).doc;
  if (r.ok) {
    r.summary = `${urls.length === 1 ? urls[0] : urls.length === 2 ? "root and path-suffixed URLs" : `all ${urls.length} URLs (root, path-suffixed, the challenge's)`}: resource is the MCP URL, authorization_servers ${JSON.stringify(ctx.prm.authorization_servers)}`;
  }
  return r;
}

function prmServeFix(ctx) {
  return `Serve the protected resource metadata (RFC 9728) as JSON at both ${ctx.prmSuffixed} and ${ctx.prmRoot}: clients try the path-suffixed URL first and the root one after it (and some only the one named in the 401's resource_metadata). If the Worker serves them, check its routes cover /.well-known/* on this host.`;
}

function sameUrl(a, b) {
  try {
    const x = new URL(a); const y = new URL(b);
    return x.href.replace(/\/$/, "") === y.href.replace(/\/$/, "");
  } catch { return false; }
}

/** The RFC 8414 §3.1 metadata URL of an issuer: well-known inserted between host and path. */
function asMetadataUrls(issuer) {
  const u = new URL(issuer);
  const path = u.pathname === "/" ? "" : u.pathname.replace(/\/$/, "");
  const urls = { oauth: `${u.origin}${AS_WELL_KNOWN}${path}`, oidc: [`${u.origin}${OIDC_WELL_KNOWN}${path}`] };
  if (path) urls.oidc.push(`${u.origin}${path}${OIDC_WELL_KNOWN}`);
  return urls;
}

/** 4. AS metadata for each issuer in authorization_servers. */
async function checkAsMetadata(ctx) {
  const r = new Result();
  const issuers = ctx.prm?.authorization_servers;
  if (!issuers) { r.skipped = "no valid protected resource metadata (check 3), so no authorization server to check"; return r; }
  const summaries = [];
  for (const issuer of issuers.slice(0, 3)) {
    let urls;
    try { urls = asMetadataUrls(issuer); } catch { r.fail(`authorization server ${JSON.stringify(issuer)} is not a URL`, "List absolute https:// issuer URLs in `authorization_servers`."); continue; }
    if (new URL(issuer).protocol !== "https:" && !isLoopback(new URL(issuer).hostname)) {
      r.fail(`issuer ${issuer} is not https`, `Hosted clients only talk to https:// authorization servers. ${publicUrlHint()}`);
    }
    const res = await request(urls.oauth, { headers: { accept: "application/json" }, follow: true });
    const p = !res.error && res.status === 200 ? parseJson(res.text) : { error: "not fetched" };
    if (res.error || res.status !== 200 || p.error || !isObject(p.value)) {
      // Say whether OpenID Connect discovery would have found it (MCP clients should try it too).
      let oidcAt = null;
      for (const o of urls.oidc) {
        const alt = await request(o, { headers: { accept: "application/json" }, follow: true });
        if (!alt.error && alt.status === 200 && isObject(parseJson(alt.text).value)) { oidcAt = o; break; }
      }
      const got = res.error ?? (res.status !== 200 ? describe(res) : `not a JSON object (${JSON.stringify(res.text.slice(0, 80))})`);
      r.fail(`${urls.oauth}: ${got}`,
        `Serve the authorization server metadata (RFC 8414) at ${urls.oauth}; for an issuer with a path, RFC 8414 puts /.well-known/oauth-authorization-server between the host and the path.`
        + (oidcAt ? ` Only ${oidcAt} (OpenID Connect discovery) answered: clients that follow RFC 8414 alone will not find it.` : "")
        + (refusalFix(ctx, res) ? `\n${refusalFix(ctx, res)}` : ""));
      continue;
    }
    if (res.redirects.length) r.note(`${urls.oauth} redirects (${res.redirects.join(", ")}).`);
    const m = p.value;
    const before = r.problems.length;
    if (m.issuer !== issuer) {
      r.fail(`${urls.oauth}: issuer is ${show(m.issuer)}, not ${JSON.stringify(issuer)} (the authorization_servers entry it was derived from)`,
        `RFC 8414 §3.3: the metadata's \`issuer\` must be identical to the issuer URL it was fetched for, and clients reject it otherwise. Make \`authorization_servers\` in the protected resource metadata and \`issuer\` here the same string. ${publicUrlHint()}`);
    }
    const ccm = m.code_challenge_methods_supported;
    if (!Array.isArray(ccm) || !ccm.includes("S256")) {
      r.fail(`${urls.oauth}: code_challenge_methods_supported is ${show(ccm)}, without "S256"`,
        "Advertise `\"code_challenge_methods_supported\": [\"S256\"]` (and support PKCE S256): MCP clients refuse an authorization server that does not advertise it.");
    }
    const cimd = m.client_id_metadata_document_supported === true;
    if (typeof m.registration_endpoint !== "string" && !cimd) {
      r.fail(`${urls.oauth}: neither registration_endpoint nor client_id_metadata_document_supported: true`,
        "Hosted clients need a way to get a client id without a person typing one: advertise a dynamic client registration endpoint (`registration_endpoint`, RFC 7591; mcp-edge serves /register) or Client ID Metadata Documents (`client_id_metadata_document_supported: true`).");
    }
    for (const k of ["authorization_endpoint", "token_endpoint"]) {
      if (typeof m[k] !== "string") r.fail(`${urls.oauth}: no ${k}`, `Advertise \`${k}\` (RFC 8414 §2).`);
    }
    if (Array.isArray(m.response_types_supported) && !m.response_types_supported.includes("code")) {
      r.note(`response_types_supported ${JSON.stringify(m.response_types_supported)} lacks "code".`);
    }
    if (r.problems.length === before) {
      summaries.push(`issuer ${issuer} matches, S256, ${typeof m.registration_endpoint === "string" ? `registration_endpoint ${m.registration_endpoint}` : "client ID metadata documents"}`);
      ctx.asMetadataUrl ??= urls.oauth;
      // The OAuth endpoints hosted clients call from their servers, when on this host (for the
      // Cloudflare skip rule that check 7 may suggest).
      const own = [m.registration_endpoint, m.token_endpoint].filter((e) => typeof e === "string")
        .map((e) => { try { const x = new URL(e); return x.hostname === ctx.host ? x.pathname : null; } catch { return null; } }).filter(Boolean);
      if (own.length) ctx.oauthPaths ??= own;
    }
  }
  if (issuers.length > 3) r.note(`Only the first 3 of ${issuers.length} authorization servers were checked.`);
  r.summary = summaries.join("; ");
  return r;
}

/** 5. CORS on the metadata, as browser-based clients read it. */
async function checkCors(ctx) {
  const r = new Result();
  const urls = [...new Set([ctx.prmSuffixed, ctx.prmRoot])];
  const allowed = (res) => {
    const v = res.headers?.["access-control-allow-origin"];
    return v === "*" || v === PROBE_ORIGIN ? v : null;
  };
  const fix = "Browser-based clients (MCP Inspector, web apps) read the metadata cross-origin. Answer OPTIONS on /.well-known/* with 204 and `Access-Control-Allow-Origin: *`, `Access-Control-Allow-Methods: GET, OPTIONS` and `Access-Control-Allow-Headers: mcp-protocol-version` (clients send it), and add `Access-Control-Allow-Origin: *` to the GET answers. If the Worker sends them, something in front of it (a Transform Rule, a proxy, an HTML block page) removes them.";
  const acao = (res) => (res.headers["access-control-allow-origin"] === undefined ? "no access-control-allow-origin" : `access-control-allow-origin: ${res.headers["access-control-allow-origin"]}`);
  const seen = [];
  for (const url of urls) {
    const path = new URL(url).pathname;
    const pre = await request(url, { method: "OPTIONS", headers: { origin: PROBE_ORIGIN, "access-control-request-method": "GET", "access-control-request-headers": "mcp-protocol-version" } });
    if (pre.error) r.fail(`OPTIONS ${path}: ${pre.error}`, networkFix(pre, ctx));
    else if (pre.status < 200 || pre.status > 299 || !allowed(pre)) {
      r.fail(`OPTIONS ${path} (preflight from ${PROBE_ORIGIN}): ${pre.status}, ${acao(pre)}`, fix);
    } else {
      const ah = String(pre.headers["access-control-allow-headers"] ?? "").toLowerCase();
      if (ah !== "*" && !ah.split(/\s*,\s*/).includes("mcp-protocol-version")) {
        r.note(`OPTIONS ${path} does not allow the mcp-protocol-version request header (access-control-allow-headers: ${JSON.stringify(ah)}); browser clients then retry without it.`);
      }
      seen.push(`OPTIONS ${pre.status}`, `access-control-allow-origin: ${allowed(pre)}`);
    }
    const get = await request(url, { headers: { origin: PROBE_ORIGIN, accept: "application/json" } });
    if (get.error) r.fail(`GET ${path}: ${get.error}`, networkFix(get, ctx));
    else if (!allowed(get)) {
      r.fail(`GET ${path} with Origin: ${PROBE_ORIGIN}: ${get.status}, ${acao(get)}`, fix);
    } else seen.push(`GET ${get.status}`);
  }
  // The AS metadata too (a browser client reads it next); a note, not a failure.
  if (ctx.asMetadataUrl) {
    const as = await request(ctx.asMetadataUrl, { headers: { origin: PROBE_ORIGIN, accept: "application/json" } });
    if (!as.error && !allowed(as)) r.note(`GET ${ctx.asMetadataUrl} with Origin gets no access-control-allow-origin: browser-based clients cannot read the AS metadata.`);
  }
  r.summary = `preflight and GET from ${PROBE_ORIGIN} allowed on ${urls.length > 1 ? "both PRM URLs" : "the PRM"} (${[...new Set(seen)].join(", ")})`;
  return r;
}

/** 6. Both protocol eras understood: 401 challenge without a token, results with TOKEN. */
async function checkProtocol(ctx) {
  const r = new Result();
  if (!ctx.token) {
    const disc = await request(ctx.mcp, { method: "POST", headers: discoverHeaders, body: discoverBody() });
    const init = ctx.initUnauth ?? await request(ctx.mcp, { method: "POST", headers: jsonHeaders, body: initializeBody() });
    for (const [label, res] of [[`server/discover (${MODERN}, no token)`, disc], [`initialize (${LEGACY}, no token)`, init]]) {
      const p = challengeProblem(ctx, res, label);
      if (p) r.fail(p.what, p.fix);
    }
    r.summary = `server/discover (${MODERN}) and initialize (${LEGACY}) both get the 401 challenge (not 400/404/5xx)`;
    r.note("TOKEN is not set, so the results behind sign-in were not checked: `TOKEN=<access token> make doctor URL=…` checks them too.");
    return r;
  }
  const auth = { authorization: `Bearer ${ctx.token}` };
  const found = [];
  // 2026-07-28: server/discover, stateless.
  const disc = await request(ctx.mcp, { method: "POST", headers: { ...discoverHeaders, ...auth }, body: discoverBody(1) });
  const discResult = rpcResult(ctx, r, disc, 1, `server/discover (${MODERN})`);
  if (discResult) {
    const sv = discResult.supportedVersions;
    if (!Array.isArray(sv) || !sv.includes(MODERN)) {
      r.fail(`server/discover: supportedVersions is ${show(sv)}, without ${MODERN}`,
        `A server that speaks MCP ${MODERN} lists it in server/discover's supportedVersions; clients that negotiate through server/discover fall back to the ${LEGACY} initialize handshake otherwise.`);
    } else found.push(`server/discover → supportedVersions ${JSON.stringify(sv)}`);
  }
  // 2025-11-25: initialize, which opens a session.
  const init = await request(ctx.mcp, { method: "POST", headers: { ...jsonHeaders, ...auth }, body: initializeBody(1) });
  const initResult = rpcResult(ctx, r, init, 1, `initialize (${LEGACY})`);
  if (initResult) {
    const sid = init.headers["mcp-session-id"];
    if (typeof initResult.protocolVersion !== "string") {
      r.fail(`initialize: no protocolVersion in the result (${JSON.stringify(initResult).slice(0, 120)})`, "The initialize result must carry the negotiated protocolVersion.");
    }
    if (!sid) {
      r.fail("initialize: no Mcp-Session-Id header", `This server is expected to open a ${LEGACY} session on initialize (Mcp-Session-Id response header); clients then send it on every request.`);
    }
    if (typeof initResult.protocolVersion === "string" && sid) {
      found.push(`initialize → protocolVersion ${initResult.protocolVersion}, Mcp-Session-Id`);
      if (initResult.protocolVersion !== LEGACY) r.note(`initialize negotiated ${initResult.protocolVersion}, not ${LEGACY}.`);
      // End the session again (best effort).
      await request(ctx.mcp, { method: "DELETE", headers: { ...auth, "mcp-session-id": sid, "mcp-protocol-version": initResult.protocolVersion } });
    }
  }
  r.summary = `with TOKEN: ${found.join("; ")}`;
  return r;
}

/** The result of JSON-RPC request `id` in a 200 answer, or null after recording what went wrong. */
function rpcResult(ctx, r, res, id, label) {
  if (res.error) { r.fail(`${label}: ${res.error}`, networkFix(res, ctx)); return null; }
  if (res.status === 401 || res.status === 403) {
    const b = bearerOf(res);
    const why = b?.params.error ? ` (${b.params.error}${b.params.error_description ? `: ${b.params.error_description}` : ""})` : "";
    const refused = refusalFix(ctx, res);
    r.fail(`${label}: ${describe(res)}${why} with TOKEN`,
      refused ?? `The server refused TOKEN${why}. Use a current access token issued for this MCP URL (its audience must be ${ctx.mcp}; mcp-edge tokens last ACCESS_TOKEN_TTL, 1 hour by default${b?.params.error === "insufficient_scope" ? `; this one lacks a scope: ${b.params.scope ?? "see the challenge"}` : ""}). One way to get one: sign in with MCP Inspector and copy its access token.`);
    return null;
  }
  if (res.status !== 200) {
    r.fail(`${label}: ${describe(res)} with TOKEN, expected 200`, `The server must answer a valid ${label} with 200 and a JSON-RPC result; \`wrangler tail\` shows why it did not.`);
    return null;
  }
  const msg = rpcMessages(res).find((m) => m && m.id === id);
  if (!msg) { r.fail(`${label}: 200 without a JSON-RPC response (${describe(res)})`, "Answer with the JSON-RPC response as application/json (or as an event of a text/event-stream)."); return null; }
  if (msg.error) {
    r.fail(`${label}: JSON-RPC error ${JSON.stringify(msg.error).slice(0, 200)}`,
      label.startsWith("server/discover")
        ? `The server does not understand MCP ${MODERN} (server/discover with the _meta envelope and the MCP-Protocol-Version / Mcp-Method headers); implement it or keep to ${LEGACY}, which clients fall back to.`
        : `The server rejected a plain ${LEGACY} initialize; it must accept it (or answer with the protocol version it supports).`);
    return null;
  }
  if (!isObject(msg.result)) { r.fail(`${label}: the result is not an object`, "Return a JSON-RPC result object."); return null; }
  return msg.result;
}

/** 7. The hosted clients' User-Agents get the same answers as a plain client. */
async function checkBots(ctx) {
  const r = new Result();
  const targets = [
    [`POST ${ctx.path}`, ctx.mcp, { method: "POST", headers: jsonHeaders, body: initializeBody() }],
    ["GET PRM", ctx.resourceMetadata ?? ctx.prmSuffixed, { headers: { accept: "application/json" } }],
  ];
  if (ctx.asMetadataUrl) targets.push(["GET AS metadata", ctx.asMetadataUrl, { headers: { accept: "application/json" } }]);
  const rows = await Promise.all(targets.map(async ([label, url, opts]) => {
    const [plain, ...bots] = await Promise.all([PLAIN_UA, ...BOT_UAS.map(([, ua]) => ua)].map((ua) => request(url, { ...opts, ua })));
    return { label, plain, bots };
  }));
  // One finding per refused User-Agent, naming every request it was refused on.
  const byUa = new Map();
  let why = null;
  for (const { label, plain, bots } of rows) {
    bots.forEach((res, i) => {
      if ((plain.error && res.error) || (!res.error && !plain.error && res.status === plain.status)) return;
      const name = BOT_UAS[i][0];
      if (!byUa.has(name)) byUa.set(name, []);
      byUa.get(name).push({ label, got: describe(res), plain: plain.error ? "no answer" : String(plain.status) });
      why ??= edgeWhy(res);
    });
  }
  if (byUa.size) {
    for (const [name, list] of byUa) {
      // "Claude-User: 403 text/html … on POST /mcp, GET PRM (a plain client gets 401, 200)"
      const groups = new Map();
      for (const x of list) groups.set(x.got, [...(groups.get(x.got) ?? []), x]);
      const parts = [...groups].map(([got, xs]) => `${got} on ${xs.map((x) => x.label).join(", ")} (a plain client gets ${xs.map((x) => x.plain).join(", ")})`);
      r.problems.push({ what: `${name}: ${parts.join("; ")}` });
    }
    const names = [...byUa.keys()].join(" and ");
    const are = byUa.size > 1 ? "are" : "is";
    r.problems.at(-1).fix = why
      ? `${names} ${are} refused while a plain client is not, and ${why}: Cloudflare's bot protection ("Block AI bots" / AI Crawl Control, or Super Bot Fight Mode) is blocking the hosted clients before the Worker runs.\n${cloudflareBotFix(ctx)}`
      : `${names} ${byUa.size > 1 ? "get" : "gets"} other answers than a plain client: something in front of or in the server (Cloudflare's "Block AI bots" / AI Crawl Control, another WAF or bot rule, a User-Agent filter) treats these User-Agents differently.\n${cloudflareBotFix(ctx)}`;
    return r;
  }
  r.summary = `${BOT_UAS.map(([n]) => n).join(" and ")} get the same answers as a plain client (${rows.map((x) => `${x.label} ${x.plain.error ? "error" : x.plain.status}`).join(", ")})`;
  return r;
}

// ---------------------------------------------------------------------------------------------
// Main

const CHECKS = [
  ["HTTPS", checkHttps],
  ["401 challenge", checkChallenge],
  ["Protected resource metadata", checkPrm],
  ["Authorization server metadata", checkAsMetadata],
  ["CORS", checkCors],
  ["Protocol", checkProtocol],
  ["Hosted-client User-Agents", checkBots],
];

function isLoopback(host) {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h.endsWith(".localhost") || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code, s) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);

/** Wraps `text` at `width` columns after `indent`; lines starting with two spaces are kept as they are. */
function wrap(text, indent, width = 100) {
  const out = [];
  for (const para of text.split("\n")) {
    if (para.startsWith("  ")) { out.push(indent + para.trimStart()); continue; }
    let line = "";
    for (const word of para.split(/\s+/).filter(Boolean)) {
      if (line && indent.length + line.length + 1 + word.length > width) { out.push(indent + line); line = word; } else line = line ? `${line} ${word}` : word;
    }
    if (line) out.push(indent + line);
  }
  return out.join("\n");
}

async function main() {
  const arg = process.argv[2];
  if (!arg || arg === "-h" || arg === "--help") {
    console.error("usage: node scripts/doctor.mjs https://<host>/mcp   (or: make doctor URL=https://<host>/mcp)\n"
      + "optional env TOKEN=<access token> also checks the MCP results behind sign-in");
    return 2;
  }
  let url;
  try { url = new URL(arg); } catch {
    console.error(`${paint(31, "✖")} not a URL: ${arg} (expected https://<host>/mcp)`);
    return 2;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    console.error(`${paint(31, "✖")} ${arg}: the MCP URL must be https:// (or http:// on 127.0.0.1/localhost)`);
    return 2;
  }
  const path = url.pathname === "/" ? "" : url.pathname.replace(/\/$/, "");
  const ctx = {
    mcp: arg,
    url,
    host: url.hostname,
    path: url.pathname,
    loopback: isLoopback(url.hostname),
    token: process.env.TOKEN?.trim().replace(/^Bearer\s+/i, "") || null,
    prmRoot: `${url.origin}${PRM_WELL_KNOWN}`,
    prmSuffixed: `${url.origin}${PRM_WELL_KNOWN}${path}`,
  };
  console.log(`MCP doctor: ${arg}${ctx.token ? " (with TOKEN)" : ""}\n`);
  let passed = 0; let failed = 0; let skipped = 0;
  for (const [i, [title, fn]] of CHECKS.entries()) {
    let r;
    if (ctx.unreachable && i > 0) {
      r = new Result();
      r.skipped = "the host did not answer (check 1)";
    } else {
      try { r = await fn(ctx); } catch (e) {
        r = new Result();
        r.fail(`the check itself crashed: ${e?.stack ?? e}`, "This is a bug in scripts/doctor.mjs; the other checks still ran.");
      }
    }
    const n = `${i + 1}. ${title}`;
    if (r.skipped) {
      skipped++;
      console.log(`${paint(33, "–")} ${n}: skipped, ${r.skipped}`);
    } else if (r.ok) {
      passed++;
      console.log(`${paint(32, "✔")} ${n}: ${r.summary}`);
    } else {
      failed++;
      const [first, ...more] = r.problems;
      console.log(`${paint(31, "✖")} ${n}: ${first.what}`);
      const fixes = new Set();
      const printFix = (fix) => {
        if (!fix || fixes.has(fix)) return;
        fixes.add(fix);
        console.log(wrap(`${paint(1, "Fix:")} ${fix}`, "     "));
      };
      printFix(first.fix);
      for (const p of more) {
        console.log(wrap(`${paint(31, "✖")} ${p.what}`, "     "));
        printFix(p.fix);
      }
    }
    for (const note of r.notes) console.log(wrap(`note: ${note}`, "     "));
  }
  const parts = [`${passed} passed`, `${failed} failed`];
  if (skipped) parts.push(`${skipped} skipped`);
  const ok = failed === 0 && skipped === 0;
  console.log(`\n${ok ? paint(32, "✔ all checks passed") : paint(31, "✖ not ready for hosted clients")}: ${parts.join(", ")}`);
  return ok ? 0 : 1;
}

process.exitCode = await main();
