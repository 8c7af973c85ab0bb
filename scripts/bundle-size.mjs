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
