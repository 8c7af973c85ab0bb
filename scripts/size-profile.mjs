#!/usr/bin/env node
// A size profile of the worker's wasm, by crate and by function (docs/benchmarks.md "Where the
// bytes are"). Build with the names kept first:
//   KEEP_WASM_NAMES=1 ./scripts/build-worker.sh && node scripts/size-profile.mjs build/index_bg.wasm
// Reads the code section (each function body's size) and the name section (its symbol), and
// sums bodies by crate (the first path segment of the demangled symbol, `<impl …>` and generic
// instances attributed to the crate of the type or trait named first). Data segments are
// reported apart. Sizes are raw bytes of the wasm as built (before gzip).
import { readFileSync } from "node:fs";

const file = process.argv[2] ?? "build/index_bg.wasm";
const top = Number(process.argv[3] ?? 25);
const buf = readFileSync(file);
let pos = 8;
const u32 = () => {
  let result = 0, shift = 0, b;
  do {
    b = buf[pos++];
    result += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80);
  return result;
};
const name = () => {
  const n = u32();
  const s = buf.toString("utf8", pos, pos + n);
  pos += n;
  return s;
};

let imported = 0;
const bodies = []; // [index in function space, size]
const names = new Map();
let dataBytes = 0, customBytes = 0;
const sectionSizes = {};
while (pos < buf.length) {
  const id = buf[pos++];
  const size = u32();
  const end = pos + size;
  sectionSizes[id] = (sectionSizes[id] ?? 0) + size;
  if (id === 2) {
    for (let n = u32(); n > 0; n--) {
      name(); name();
      const kind = buf[pos++];
      if (kind === 0) { u32(); imported++; }
      else if (kind === 1) { pos++; const f = u32(); u32(); if (f & 1) u32(); }
      else if (kind === 2) { const f = u32(); u32(); if (f & 1) u32(); }
      else if (kind === 3) { pos += 2; }
      else if (kind === 4) { pos++; u32(); }
    }
  } else if (id === 10) {
    const n = u32();
    for (let i = 0; i < n; i++) {
      const len = u32();
      bodies.push([imported + i, len]);
      pos += len;
    }
  } else if (id === 11) {
    dataBytes += size;
  } else if (id === 0) {
    const section = name();
    if (section === "name") {
      while (pos < end) {
        const sub = buf[pos++];
        const len = u32();
        const subEnd = pos + len;
        if (sub === 1) {
          for (let n = u32(); n > 0; n--) names.set(u32(), name());
        }
        pos = subEnd;
      }
    } else customBytes += size;
  }
  pos = end;
}
if (names.size === 0) {
  console.error("size-profile: no name section; build with KEEP_WASM_NAMES=1 ./scripts/build-worker.sh");
  process.exit(1);
}

/** The crate a symbol belongs to. */
function crateOf(sym) {
  let s = sym.replace(/^_ZN|^_R/, "");
  s = s.replace(/^<+/, "").replace(/^&(mut )?/, "").replace(/^dyn /, "");
  const m = s.match(/^([A-Za-z_][A-Za-z0-9_]*)(::|$| as )/);
  if (!m) return "(other)";
  return m[1];
}

const total = bodies.reduce((a, [, n]) => a + n, 0);
const byCrate = new Map();
for (const [i, n] of bodies) {
  const c = crateOf(names.get(i) ?? "(unnamed)");
  byCrate.set(c, (byCrate.get(c) ?? 0) + n);
}
const kib = (n) => (n / 1024).toFixed(1).padStart(7);
const pct = (n) => ((100 * n) / total).toFixed(1).padStart(5) + "%";
console.log(`${file}: ${kib(buf.length)} KiB; code ${kib(total)} KiB in ${bodies.length} functions; data ${kib(dataBytes)} KiB`);
console.log(`\nCode by crate (top ${top}):`);
for (const [c, n] of [...byCrate].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${kib(n)} KiB ${pct(n)}  ${c}`);
console.log(`\nLargest functions (top ${top}):`);
for (const [i, n] of [...bodies].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${kib(n)} KiB ${pct(n)}  ${(names.get(i) ?? "?").slice(0, 140)}`);
}
