// Prints the size of a `wrangler deploy --dry-run --outdir` bundle, raw and gzip.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const dir = process.argv[2] ?? "dist";
let raw = 0, gz = 0;
const rows = [];
for (const f of readdirSync(dir)) {
  const p = join(dir, f);
  if (!statSync(p).isFile() || f.endsWith(".map") || f === "README.md") continue;
  const bytes = readFileSync(p);
  const g = gzipSync(bytes, { level: 9 }).length;
  raw += bytes.length; gz += g;
  rows.push(`  ${f.padEnd(40)} ${(bytes.length / 1024).toFixed(1).padStart(8)} KiB  ${(g / 1024).toFixed(1).padStart(8)} KiB gzip`);
}
console.log(`deploy bundle (${dir}):\n${rows.join("\n")}\n  ${"total".padEnd(40)} ${(raw / 1024).toFixed(1).padStart(8)} KiB  ${(gz / 1024).toFixed(1).padStart(8)} KiB gzip`);

// The deployed bundle carries none of the conformance suite's fixtures (they are built only
// into the conformance environment's worker): no fixture name may appear in it.
const fixtures = readFileSync(new URL("../engine/src/mcp/fixtures.rs", import.meta.url), "utf8");
const names = [...new Set(fixtures.match(/"test_[a-z0-9_]+"/g) ?? [])].map((n) => n.slice(1, -1));
if (names.length < 10) {
  console.error(`bundle-size: expected the fixture names in engine/src/mcp/fixtures.rs, found ${names.length}`);
  process.exit(1);
}
const found = [];
for (const f of readdirSync(dir)) {
  const p = join(dir, f);
  if (!statSync(p).isFile()) continue;
  const text = readFileSync(p).toString("latin1");
  for (const n of names) if (text.includes(n)) found.push(`${n} in ${f}`);
}
if (found.length) {
  console.error(`bundle-size: conformance fixtures in the deploy bundle: ${found.join(", ")}`);
  process.exit(1);
}
console.log(`  no conformance fixture in it (${names.length} fixture names checked)`);
