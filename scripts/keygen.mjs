// Prints fresh production secrets: an Ed25519 signing key seed for JWT_SIGNING_KEYS and a
// COOKIE_SECRET. Keep older keys after the new one in JWT_SIGNING_KEYS while tokens they
// signed are still valid (ACCESS_TOKEN_TTL).
import { randomBytes } from "node:crypto";

const kid = new Date().toISOString().slice(0, 10);
console.log("JWT_SIGNING_KEYS:");
console.log(JSON.stringify([{ kid, seed: randomBytes(32).toString("base64url") }]));
console.log("\nCOOKIE_SECRET:");
console.log(randomBytes(36).toString("base64url"));
