// JavaScript the Rust side of the Workers entry calls (engine/src/edge/*.rs `module = "/src/edge/platform.js"`):
// outbound fetch, RPC to the McpSessions Durable Object, streamed response bodies, PBKDF2 for
// password checks, signatures (RS256/ES256/EdDSA verification, Ed25519 signing). One module, not several `inline_js` snippets (wasm-bindgen numbered two of
// those alike).

export async function out_fetch(method, url, names, values, body, maxBytes, timeoutMs) {
  const headers = new Headers();
  for (let i = 0; i < names.length; i++) headers.append(names[i], values[i]);
  const init = { method, headers, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) };
  if (body.length > 0) init.body = body;
  let res;
  try {
    res = await fetch(url, init);
  } catch (e) {
    return [e && e.name === 'TimeoutError' ? 'timeout' : 'network', String(e && e.message || e)];
  }
  const pairs = [];
  for (const [k, v] of res.headers) pairs.push(k, v);
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > maxBytes) {
    try { await res.body?.cancel(); } catch {}
    return ['too_large', ''];
  }
  const chunks = [];
  let size = 0;
  if (res.body) {
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > maxBytes) {
          reader.cancel().catch(() => {});
          return ['too_large', ''];
        }
        chunks.push(value);
      }
    } catch (e) {
      return [e && e.name === 'TimeoutError' ? 'timeout' : 'network', String(e && e.message || e)];
    }
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.byteLength; }
  return ['ok', res.status, pairs, out];
}

export function rv_call(env, session, method, args) {
  const ns = env.MCP_SESSIONS;
  if (!ns) return Promise.reject(new Error('the Durable Object binding MCP_SESSIONS is not configured (wrangler.toml)'));
  const stub = ns.get(ns.idFromName(session));
  return stub[method](...args);
}

export function streamed(status, names, values) {
  const { readable, writable } = new TransformStream();
  const headers = new Headers();
  for (let i = 0; i < names.length; i++) headers.append(names[i], values[i]);
  return [new Response(readable, { status, headers }), writable.getWriter()];
}
export function write_chunk(writer, bytes) { return writer.write(bytes).then(() => true, () => false); }
export function close_writer(writer) { return writer.close().catch(() => {}); }

// PBKDF2-HMAC-SHA256 by WebCrypto (engine/src/edge/mod.rs `WebCryptoPbkdf2`). The inputs are copied
// before anything asynchronous happens: a `&[u8]` argument is a view of wasm memory that is only
// valid during the call.
export function webcrypto_pbkdf2(password, salt, iterations) {
  const pw = password.slice(), s = salt.slice();
  return crypto.subtle.importKey('raw', pw, 'PBKDF2', false, ['deriveBits'])
    .then((key) => crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: s, iterations }, key, 256))
    .then((bits) => new Uint8Array(bits));
}

// RS256 (RSASSA-PKCS1-v1_5, SHA-256), ES256 (ECDSA P-256, SHA-256; the JWS signature is r||s,
// the form WebCrypto takes) and EdDSA (Ed25519) by WebCrypto (engine/src/edge/mod.rs `WebCrypto`).
// `jwk` is a public JWK the Rust side validated and reduced to kty and its numbers
// (crate::crypto::sig::import). Imported keys are kept per isolate, a few dozen at most. A key
// WebCrypto refuses rejects the promise.
const VERIFY_ALGS = {
  RS256: [{ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, { name: 'RSASSA-PKCS1-v1_5' }],
  ES256: [{ name: 'ECDSA', namedCurve: 'P-256' }, { name: 'ECDSA', hash: 'SHA-256' }],
  EdDSA: [{ name: 'Ed25519' }, { name: 'Ed25519' }],
};
const verifyKeys = new Map();
export function webcrypto_verify(alg, jwk, data, signature) {
  const d = data.slice(), s = signature.slice();
  const [importParams, verifyParams] = VERIFY_ALGS[alg];
  const id = alg + jwk;
  let key = verifyKeys.get(id);
  if (!key) {
    if (verifyKeys.size >= 64) verifyKeys.clear();
    key = crypto.subtle.importKey('jwk', JSON.parse(jwk), importParams, false, ['verify']);
    verifyKeys.set(id, key);
    key.catch(() => verifyKeys.delete(id));
  }
  return key.then((k) => crypto.subtle.verify(verifyParams, k, s, d));
}

// Ed25519 signing with our own keys (JWT_SIGNING_KEYS: 32-byte seeds), imported once per isolate
// as PKCS#8 (RFC 8410: a fixed 16-byte prefix, then the seed). The public key is read back from
// the key's JWK export (`x`); WebCrypto has no other way to derive it.
const PKCS8_ED25519 = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
const signKeys = new Map();
function signKey(seed) {
  const id = seed.join();
  let key = signKeys.get(id);
  if (!key) {
    const der = new Uint8Array(48);
    der.set(PKCS8_ED25519);
    der.set(seed, 16);
    key = crypto.subtle.importKey('pkcs8', der, { name: 'Ed25519' }, true, ['sign']);
    signKeys.set(id, key);
    key.catch(() => signKeys.delete(id));
  }
  return key;
}
export function webcrypto_ed25519_public(seed) {
  return signKey(seed.slice())
    .then((k) => crypto.subtle.exportKey('jwk', k))
    .then((jwk) => Uint8Array.from(atob(jwk.x.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)));
}
export function webcrypto_ed25519_sign(seed, data) {
  const d = data.slice();
  return signKey(seed.slice())
    .then((k) => crypto.subtle.sign({ name: 'Ed25519' }, k, d))
    .then((sig) => new Uint8Array(sig));
}
