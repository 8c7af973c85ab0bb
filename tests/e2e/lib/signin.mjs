// The authorization-code flow with plain HTTP, for tests that need a code or tokens from a
// running worker: registration, alice's sign-in with the demo password, consent.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";

export const REDIRECT = "http://127.0.0.1:9/callback";

/** A form POST, not following redirects. */
export const form = (fields, cookie) => ({
  method: "POST",
  redirect: "manual",
  headers: { "content-type": "application/x-www-form-urlencoded", ...(cookie ? { cookie } : {}) },
  body: new URLSearchParams(fields).toString(),
});

export function hidden(html, name) {
  const m = html.match(new RegExp(`name="${name}" value="([^"]*)"`));
  if (!m) throw new Error(`no ${name} field in page: ${html.slice(0, 300)}`);
  return m[1].replaceAll("&quot;", '"').replaceAll("&amp;", "&");
}

const cookiesOf = (res, jar = new Map()) => {
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(";");
    const i = pair.indexOf("=");
    jar.set(pair.slice(0, i), pair.slice(i + 1));
  }
  return jar;
};
const cookieHeader = (jar) => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");

/** Registers a client at `base` and signs alice in to it: `{ client_id, code, verifier }`. */
export async function codeFor(base, clientName) {
  const reg = await fetch(`${base}/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ redirect_uris: [REDIRECT], client_name: clientName }) });
  assert.equal(reg.status, 201);
  const { client_id } = await reg.json();
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const q = new URLSearchParams({ response_type: "code", client_id, redirect_uri: REDIRECT, state: "s", code_challenge: challenge, code_challenge_method: "S256" });
  const page = await fetch(`${base}/authorize?${q}`);
  const jar = cookiesOf(page);
  let html = await page.text();
  const signed = await fetch(`${base}/authorize`, form({ request: hidden(html, "request"), csrf: hidden(html, "csrf"), action: "signin", username: "alice", password: "alice" }, cookieHeader(jar)));
  assert.equal(signed.status, 200);
  cookiesOf(signed, jar);
  html = await signed.text();
  const approved = await fetch(`${base}/authorize`, form({ request: hidden(html, "request"), csrf: hidden(html, "csrf"), action: "approve" }, cookieHeader(jar)));
  assert.equal(approved.status, 302);
  const code = new URL(approved.headers.get("location")).searchParams.get("code");
  return { client_id, code, verifier };
}

/** The code exchange of `codeFor`'s result at `base` (the response, unread). */
export const exchange = (base, { client_id, code, verifier }) =>
  fetch(`${base}/token`, form({ grant_type: "authorization_code", code, code_verifier: verifier, client_id, redirect_uri: REDIRECT }));
