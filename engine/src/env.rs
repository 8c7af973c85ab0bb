//! The injected world: clock and randomness, bundled with the store as [`Services`].

use crate::store::rendezvous::Rendezvous;
use crate::store::tasks::TaskStore;
use crate::store::Store;
use std::cell::Cell;

/// Wall-clock time in whole seconds since the Unix epoch.
pub trait Clock {
    fn now(&self) -> u64;
    /// Milliseconds since the Unix epoch (for durations in logs).
    fn now_ms(&self) -> u64 {
        self.now() * 1000
    }
}

/// A source of unpredictable bytes (the OS / WebCrypto in production).
pub trait Random {
    fn fill(&self, buf: &mut [u8]);
}

/// Which of the deployment's Rate Limiting bindings (wrangler.toml) counts an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// `REGISTRATIONS`: registrations per redirect host and address, and fetches of client
    /// metadata documents per host (60 a minute per key and location in production).
    Registrations,
    /// `REGISTRATIONS_PER_ADDRESS`: registrations per address, whatever redirect host they
    /// name (120 a minute per address and location in production), so rotating hosts does not
    /// lift the limit.
    RegistrationsPerAddress,
}

impl Bucket {
    /// The binding's name in wrangler.toml.
    pub fn binding(self) -> &'static str {
        match self {
            Bucket::Registrations => "REGISTRATIONS",
            Bucket::RegistrationsPerAddress => "REGISTRATIONS_PER_ADDRESS",
        }
    }
}

/// Counts events per key against a limit (Cloudflare's Rate Limiting binding in production:
/// exact within a location, per 60 s).
#[async_trait::async_trait(?Send)]
pub trait Limiter {
    /// Counts one event for `key` in `bucket`; `false` when the key is over its limit.
    async fn allow(&self, bucket: Bucket, key: &str) -> bool;
}

/// Allows everything (no rate limiter bound).
pub struct Unlimited;

#[async_trait::async_trait(?Send)]
impl Limiter for Unlimited {
    async fn allow(&self, _bucket: Bucket, _key: &str) -> bool {
        true
    }
}

/// A limiter that allows `limit` events per key (or the bucket's own limit, [`Self::with`])
/// until [`CountingLimiter::reset`]: the test twin of the bindings (one window).
pub struct CountingLimiter {
    pub limit: u64,
    limits: Vec<(Bucket, u64)>,
    seen: std::cell::RefCell<std::collections::HashMap<(Bucket, String), u64>>,
}

impl CountingLimiter {
    pub fn new(limit: u64) -> Self {
        Self { limit, limits: Vec::new(), seen: Default::default() }
    }
    /// `bucket` allows `limit` events per key instead.
    pub fn with(mut self, bucket: Bucket, limit: u64) -> Self {
        self.limits.push((bucket, limit));
        self
    }
    /// A new window.
    pub fn reset(&self) {
        self.seen.borrow_mut().clear();
    }
}

#[async_trait::async_trait(?Send)]
impl Limiter for CountingLimiter {
    async fn allow(&self, bucket: Bucket, key: &str) -> bool {
        let limit = self.limits.iter().find(|(b, _)| *b == bucket).map_or(self.limit, |(_, l)| *l);
        let mut seen = self.seen.borrow_mut();
        let n = seen.entry((bucket, key.to_owned())).or_insert(0);
        *n += 1;
        *n <= limit
    }
}

/// Why an outbound request produced no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// No answer within the timeout.
    Timeout,
    /// The body (declared or streamed) is larger than the cap.
    TooLarge,
    /// Not attempted: the URL is not one this server fetches (see the caller's policy).
    Refused(String),
    /// DNS, TCP, TLS or another transport failure.
    Network(String),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Timeout => f.write_str("no answer in time"),
            FetchError::TooLarge => f.write_str("the response is too large"),
            FetchError::Refused(why) => write!(f, "not fetched: {why}"),
            FetchError::Network(why) => write!(f, "unreachable: {why}"),
        }
    }
}

/// Limits of one outbound request.
#[derive(Debug, Clone, Copy)]
pub struct FetchLimits {
    /// The largest body read (declared `Content-Length` or streamed); more is [`FetchError::TooLarge`].
    pub max_bytes: usize,
    pub timeout_ms: u32,
}

/// Outbound HTTP (the runtime's `fetch` on Workers). Redirects are never followed: a 3xx is
/// returned as it is, for the caller to refuse or handle. Which URLs may be fetched at all is
/// the caller's policy (`crate::urls`), checked before calling.
#[async_trait::async_trait(?Send)]
pub trait Fetch {
    async fn fetch(
        &self,
        req: http::Request<Vec<u8>>,
        limits: FetchLimits,
    ) -> Result<http::Response<Vec<u8>>, FetchError>;
}

/// Fetches nothing: every request is [`FetchError::Refused`] (no outbound HTTP configured).
pub struct NoFetch;

#[async_trait::async_trait(?Send)]
impl Fetch for NoFetch {
    async fn fetch(
        &self,
        req: http::Request<Vec<u8>>,
        _limits: FetchLimits,
    ) -> Result<http::Response<Vec<u8>>, FetchError> {
        Err(FetchError::Refused(format!("no outbound HTTP here ({})", req.uri())))
    }
}

/// A canned answer: status, headers, body.
type Canned = (u16, Vec<(String, String)>, Vec<u8>);

/// The test twin of outbound HTTP: canned responses by exact URL (no query matching magic),
/// and a record of every request made. Unknown URLs are [`FetchError::Network`].
#[derive(Default)]
pub struct CannedFetch {
    responses: std::cell::RefCell<std::collections::HashMap<String, Canned>>,
    /// Every request seen, in order: (method, URL, body).
    pub seen: std::cell::RefCell<Vec<(String, String, Vec<u8>)>>,
}

impl CannedFetch {
    pub fn new() -> Self {
        Self::default()
    }
    /// Answers `url` with `status`, `headers` and `body` from now on.
    pub fn answer(
        &self,
        url: &str,
        status: u16,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) {
        let headers = headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        self.responses.borrow_mut().insert(url.to_owned(), (status, headers, body.into()));
    }
    /// Forgets the answer for `url` (it becomes unreachable).
    pub fn forget(&self, url: &str) {
        self.responses.borrow_mut().remove(url);
    }
}

#[async_trait::async_trait(?Send)]
impl Fetch for CannedFetch {
    async fn fetch(
        &self,
        req: http::Request<Vec<u8>>,
        limits: FetchLimits,
    ) -> Result<http::Response<Vec<u8>>, FetchError> {
        let url = req.uri().to_string();
        self.seen.borrow_mut().push((req.method().to_string(), url.clone(), req.body().clone()));
        let Some((status, headers, body)) = self.responses.borrow().get(&url).cloned() else {
            return Err(FetchError::Network(format!("nothing canned for {url}")));
        };
        if body.len() > limits.max_bytes {
            return Err(FetchError::TooLarge);
        }
        let mut res = http::Response::builder().status(status);
        for (k, v) in headers {
            res = res.header(k, v);
        }
        res.body(body).map_err(|e| FetchError::Network(e.to_string()))
    }
}

/// PBKDF2-HMAC-SHA256 key derivation for password checks, injected so Workers can use the
/// runtime's native WebCrypto (`crypto.subtle.deriveBits`, several times cheaper than the same
/// loop in wasm) while native builds and tests use [`RustPbkdf2`].
#[async_trait::async_trait(?Send)]
pub trait PasswordHasher {
    /// The 32-byte PBKDF2-HMAC-SHA256 of `password` with `salt` and `iterations`.
    async fn pbkdf2_sha256(&self, password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32];
}

/// PBKDF2 from the `pbkdf2` crate: the reference implementation, and the fallback where
/// WebCrypto cannot serve a request.
pub struct RustPbkdf2;

/// [`RustPbkdf2`]'s derivation as a plain function.
pub fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations, &mut out);
    out
}

#[async_trait::async_trait(?Send)]
impl PasswordHasher for RustPbkdf2 {
    async fn pbkdf2_sha256(&self, password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
        pbkdf2_sha256(password, salt, iterations)
    }
}

/// The JWS signature algorithms verified by [`SignatureVerifier`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// ECDSA over P-256 with SHA-256; the signature is r‖s, 64 bytes (the JWS form).
    Es256,
    /// EdDSA over Ed25519 (RFC 8037): our access tokens, and upstream ID tokens.
    EdDsa,
}

/// Why a key could not be used at all (a key the platform refuses to import, or the platform
/// failing): a verifying caller treats it as "not verified", a signing one as a server error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CryptoError(pub String);

/// Signature verification against a public JWK, injected so Workers can use the runtime's
/// WebCrypto (`crypto.subtle.verify`: no RSA, P-256 or Ed25519 code in the wasm) while native
/// builds and tests use [`RustCrypto`]. Callers pass a JWK they have already validated
/// (`crate::crypto::sig::import`: the key type fits `alg`, RSA of 2048 bits or more, P-256
/// and Ed25519 only, public members only).
#[async_trait::async_trait(?Send)]
pub trait SignatureVerifier {
    /// Does `signature` sign `signing_input` under `jwk` with `alg`?
    async fn verify(
        &self,
        alg: SigAlg,
        jwk: &serde_json::Value,
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<bool, CryptoError>;
}

/// Ed25519 with the server's own keys (the access tokens' signatures), injected for the same
/// reason as [`SignatureVerifier`]: WebCrypto on Workers, [`RustCrypto`] natively. A key is
/// its 32-byte seed (RFC 8032 §5.1.5), as `JWT_SIGNING_KEYS` holds it.
#[async_trait::async_trait(?Send)]
pub trait Signer {
    /// The public key of `seed`.
    async fn ed25519_public_key(&self, seed: &[u8; 32]) -> Result<[u8; 32], CryptoError>;
    /// The signature of `message` under `seed`.
    async fn ed25519_sign(&self, seed: &[u8; 32], message: &[u8]) -> Result<[u8; 64], CryptoError>;
}

/// RS256, ES256 and EdDSA by the `rsa`, `p256` and `ed25519-compact` crates: native builds and
/// tests only (those crates are not dependencies of the wasm build).
#[cfg(not(target_arch = "wasm32"))]
pub struct RustCrypto;

#[cfg(not(target_arch = "wasm32"))]
#[async_trait::async_trait(?Send)]
impl SignatureVerifier for RustCrypto {
    async fn verify(
        &self,
        alg: SigAlg,
        jwk: &serde_json::Value,
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<bool, CryptoError> {
        use base64::Engine;
        let member = |m: &str| {
            jwk.get(m)
                .and_then(serde_json::Value::as_str)
                .and_then(|v| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(v).ok())
                .ok_or_else(|| CryptoError(format!("the JWK has no valid {m}")))
        };
        match alg {
            SigAlg::Rs256 => {
                use rsa::pkcs1v15::{Signature, VerifyingKey};
                use rsa::signature::Verifier;
                use rsa::{BigUint, RsaPublicKey};
                let (n, e) = (member("n")?, member("e")?);
                let key = RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e))
                    .map_err(|e| CryptoError(e.to_string()))?;
                let Ok(signature) = Signature::try_from(signature) else { return Ok(false) };
                Ok(VerifyingKey::<sha2::Sha256>::new(key).verify(signing_input, &signature).is_ok())
            }
            SigAlg::Es256 => {
                use p256::ecdsa::signature::Verifier;
                use p256::ecdsa::{Signature, VerifyingKey};
                let (x, y) = (member("x")?, member("y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(CryptoError("P-256 coordinates are 32 bytes".into()));
                }
                let point = p256::EncodedPoint::from_affine_coordinates(
                    x.as_slice().into(),
                    y.as_slice().into(),
                    false,
                );
                let key = VerifyingKey::from_encoded_point(&point)
                    .map_err(|e| CryptoError(e.to_string()))?;
                let Ok(signature) = Signature::from_slice(signature) else { return Ok(false) };
                Ok(key.verify(signing_input, &signature).is_ok())
            }
            SigAlg::EdDsa => {
                let key = ed25519_compact::PublicKey::from_slice(&member("x")?)
                    .map_err(|e| CryptoError(e.to_string()))?;
                let Ok(signature) = ed25519_compact::Signature::from_slice(signature) else {
                    return Ok(false);
                };
                Ok(key.verify(signing_input, &signature).is_ok())
            }
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
#[async_trait::async_trait(?Send)]
impl Signer for RustCrypto {
    async fn ed25519_public_key(&self, seed: &[u8; 32]) -> Result<[u8; 32], CryptoError> {
        Ok(*ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new(*seed)).pk)
    }
    async fn ed25519_sign(&self, seed: &[u8; 32], message: &[u8]) -> Result<[u8; 64], CryptoError> {
        let pair = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new(*seed));
        Ok(*pair.sk.sign(message, None))
    }
}

/// What a request handler may touch besides the request: storage, time, randomness, the
/// rate limiter, outbound HTTP, the password hasher, and the signature verifier and signer.
pub struct Services<'a> {
    pub store: &'a dyn Store,
    pub clock: &'a dyn Clock,
    pub random: &'a dyn Random,
    pub limiter: &'a dyn Limiter,
    pub fetch: &'a dyn Fetch,
    /// Where a waiting request meets its answer (Durable Objects in production).
    pub rendezvous: &'a dyn Rendezvous,
    /// Where tasks live (Durable Objects in production).
    pub tasks: &'a dyn TaskStore,
    /// What must happen once or be counted exactly (Durable Objects in production).
    pub ledger: &'a dyn crate::store::ledger::Ledger,
    /// PBKDF2 for password checks (WebCrypto in production).
    pub hasher: &'a dyn PasswordHasher,
    /// Signatures of others, and of our own tokens (WebCrypto in production).
    pub verifier: &'a dyn SignatureVerifier,
    /// Our own signatures (WebCrypto in production).
    pub signer: &'a dyn Signer,
}

/// The operating system's clock (`SystemTime`). Not on wasm32, where there is none: the
/// Workers entry brings its own (`Date.now()`).
#[cfg(not(target_arch = "wasm32"))]
pub struct SystemClock;

#[cfg(not(target_arch = "wasm32"))]
impl Clock for SystemClock {
    fn now(&self) -> u64 {
        self.now_ms() / 1000
    }
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// Randomness from `getrandom` (WebCrypto's `getRandomValues` in workerd).
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) {
        // getrandom only fails when the platform has no entropy source at all; there is no safe
        // fallback for a token issuer, so that is a bug in deployment and must be loud.
        #[allow(clippy::expect_used)]
        getrandom::getrandom(buf).expect("no entropy source available");
    }
}

/// A clock that only moves when told to: for tests.
pub struct ManualClock(pub Cell<u64>);

impl ManualClock {
    pub fn new(now: u64) -> Self {
        Self(Cell::new(now))
    }
    pub fn advance(&self, secs: u64) {
        self.0.set(self.0.get() + secs);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.0.get()
    }
}

/// Deterministic "randomness" (a counter run through SHA-256): for tests only.
pub struct SeqRandom(pub Cell<u64>);

impl SeqRandom {
    pub fn new(seed: u64) -> Self {
        Self(Cell::new(seed))
    }
}

impl Random for SeqRandom {
    fn fill(&self, buf: &mut [u8]) {
        use sha2::{Digest, Sha256};
        for chunk in buf.chunks_mut(32) {
            let n = self.0.get();
            self.0.set(n + 1);
            let digest = Sha256::digest(n.to_le_bytes());
            chunk.copy_from_slice(&digest[..chunk.len()]);
        }
    }
}

/// `n` random bytes, base64url-encoded without padding.
pub fn random_token(random: &dyn Random, n: usize) -> String {
    use base64::Engine;
    let mut buf = vec![0u8; n];
    random.fill(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}
