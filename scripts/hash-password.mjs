// Prints a password_hash for USERS: PBKDF2-HMAC-SHA256 in the worker's format.
// Usage: make hash-password   (prompts)   or   node scripts/hash-password.mjs <password> [iterations]
// Iterations cost CPU at every sign-in inside the worker (WebCrypto's PBKDF2, up to 100,000
// iterations; above that PBKDF2 in wasm): the default 50,000 is about 7.5 ms, within the Workers
// Free plan's 10 ms; OWASP advises 600,000, which needs the Paid plan (about 0.5 s of CPU).
// README, "Password hashes and the Workers plans", has the measurements.
import { pbkdf2Sync, randomBytes } from "node:crypto";
import { createInterface } from "node:readline/promises";

let [password, iterations = "50000"] = process.argv.slice(2);
if (!password) {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  password = await rl.question("Password: ");
  rl.close();
}
const n = Number(iterations);
if (!Number.isInteger(n) || n < 1000) throw new Error("iterations must be an integer ≥ 1000");
const salt = randomBytes(16);
const hash = pbkdf2Sync(password, salt, n, 32, "sha256");
console.log(`pbkdf2-sha256$${n}$${salt.toString("base64url")}$${hash.toString("base64url")}`);
