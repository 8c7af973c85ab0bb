#!/usr/bin/env node
// Keeps the crate's layering true (run by `make test`):
//   1. no import circle among the files of src/ — a file A depends on B when A names an item of B
//      (`crate::…`, `super::…`, `use …`); a module's own file naming its children (`mod x;`,
//      `pub use x::…`) is ownership, not a dependency, so a directory module tied only to its own
//      children is fine;
//   2. wasm-only names (`worker::`, `web_sys`, `js_sys`, `wasm_bindgen`) appear only under engine/src/edge/.
// `node scripts/check-layers.mjs --graph` prints every file's dependencies.
import { readFileSync, readdirSync, statSync, existsSync } from "node:fs";
import { join, relative, dirname, basename } from "node:path";

const root = join(dirname(new URL(import.meta.url).pathname), "..");
const src = join(root, "engine", "src");

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : name.endsWith(".rs") ? [path] : [];
  });
}

/** Source text without comments, string and char contents (so docs and messages never count). */
function code(text) {
  let out = "";
  for (let i = 0; i < text.length; ) {
    const c = text[i], next = text[i + 1];
    if (c === "/" && next === "/") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (c === "/" && next === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end < 0 ? text.length : end + 2;
    } else if (c === "r" && /^r#*"/.test(text.slice(i, i + 8)) && !/[A-Za-z0-9_]/.test(text[i - 1] ?? "")) {
      const hashes = text.slice(i + 1).match(/^#*/)[0];
      const end = text.indexOf('"' + hashes, i + 2 + hashes.length);
      i = end < 0 ? text.length : end + 1 + hashes.length;
      out += '""';
    } else if (c === '"') {
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
      i++;
      out += '""';
    } else if (c === "'" && /^'(?:[^'\\]|\\[^']+)'/.test(text.slice(i, i + 12))) {
      i += text.slice(i).match(/^'(?:[^'\\]|\\[^']+)'/)[0].length;
      out += "' '";
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** The module path of a file: engine/src/oauth/jwt.rs → ["oauth", "jwt"]; engine/src/lib.rs → []. */
function modulePath(file) {
  const rel = relative(src, file).replace(/\.rs$/, "").split("/");
  if (rel.at(-1) === "mod" || (rel.length === 1 && rel[0] === "lib")) rel.pop();
  return rel;
}

/** The file that defines module `path`, if any. */
function fileOf(path) {
  if (path.length === 0) return join(src, "lib.rs");
  const base = join(src, ...path);
  if (existsSync(base + ".rs")) return base + ".rs";
  if (existsSync(join(base, "mod.rs"))) return join(base, "mod.rs");
  return null;
}

/** Expands a `use` tree (`a::{b, c::{d, e}}`) into paths. */
function expand(tree) {
  tree = tree.replace(/\s+/g, "");
  const open = tree.indexOf("{");
  if (open < 0) return [tree.replace(/::self$/, "").replace(/ as .*$/, "")];
  const prefix = tree.slice(0, open);
  const inner = tree.slice(open + 1, tree.lastIndexOf("}"));
  const parts = [];
  let depth = 0, start = 0;
  for (let i = 0; i <= inner.length; i++) {
    const c = inner[i];
    if (c === "{") depth++;
    else if (c === "}") depth--;
    else if ((c === "," && depth === 0) || i === inner.length) {
      if (i > start) parts.push(inner.slice(start, i));
      start = i + 1;
    }
  }
  return parts.flatMap((p) => expand(prefix + p));
}

/** Absolute module path of a path as written in `file` (`crate::`, `super::`, `self::`). */
function absolute(path, file) {
  let segs = path.split("::").filter(Boolean).map((s) => s.replace(/\bas\b.*$/, ""));
  const here = modulePath(file);
  if (segs[0] === "crate") return segs.slice(1);
  if (segs[0] === "self") return [...here, ...segs.slice(1)];
  if (segs[0] === "super") {
    let at = [...here];
    while (segs[0] === "super") {
      at.pop();
      segs = segs.slice(1);
    }
    return [...at, ...segs];
  }
  return null; // an external crate or a local name
}

const files = walk(src);
// Unit-test modules (`#[cfg(test)] mod tests { … }`, by convention at the end of a file) are
// not part of the layering: they may use whatever they test.
const withoutTests = (text) => text.replace(/#\[cfg\(test\)\]\s*mod\s+tests\s*\{[\s\S]*$/, "");
const texts = new Map(files.map((f) => [f, code(withoutTests(readFileSync(f, "utf8")))]));

/** `pub use child::Name` re-exports in a module file: Name → the file it really comes from. */
function reexport(file, name) {
  const text = texts.get(file) ?? "";
  for (const m of text.matchAll(/pub(?:\([^)]*\))?\s+use\s+([^;]+);/g)) {
    for (const p of expand(m[1])) {
      const abs = absolute(p, file) ?? absolute("self::" + p, file);
      if (abs && abs.at(-1) === name) return resolve(abs);
    }
  }
  return null;
}

/** The file an absolute item path lives in: the longest prefix that is a module file. */
function resolve(abs) {
  for (let n = abs.length; n >= 0; n--) {
    const f = fileOf(abs.slice(0, n));
    if (f) {
      if (n < abs.length && n === abs.length - 1) {
        const re = reexport(f, abs[n]);
        if (re && re !== f) return re;
      }
      return f;
    }
  }
  return null;
}

const deps = new Map();
for (const file of files) {
  const text = texts.get(file);
  const out = new Set();
  const add = (path) => {
    const abs = absolute(path, file);
    if (!abs) return;
    const target = resolve(abs);
    if (!target || target === file) return;
    out.add(target);
  };
  // Paths may also start with a child module's name (`mcp::handle(…)` in routes/mod.rs).
  const children = [...text.matchAll(/\bmod\s+([a-z_][a-z0-9_]*)\s*;/g)].map((m) => m[1]);
  const relativeStart = children.length ? new RegExp(`^(?:${children.join("|")})::`) : null;
  const addUse = (p) => add(relativeStart?.test(p) ? "self::" + p : p);
  for (const m of text.matchAll(/\buse\s+([^;]+);/g)) expand(m[1]).forEach(addUse);
  for (const m of text.matchAll(/(?<![A-Za-z0-9_:])((?:[a-z_][A-Za-z0-9_]*)(?:::[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
    if (/^(crate|super|self)::/.test(m[1]) || relativeStart?.test(m[1])) addUse(m[1]);
  }
  deps.set(file, out);
}

// Tarjan's strongly connected components: every component with more than one file is a circle.
let index = 0;
const stack = [], onStack = new Set(), idx = new Map(), low = new Map(), circles = [];
function strong(v) {
  idx.set(v, index);
  low.set(v, index++);
  stack.push(v);
  onStack.add(v);
  for (const w of deps.get(v) ?? []) {
    if (!idx.has(w)) {
      strong(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const comp = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      comp.push(w);
    } while (w !== v);
    // A directory module tied only to its own children (its mod.rs and files under it) is fine.
    const tiedToOwnChildren = comp.some(
      (m) => basename(m) === "mod.rs" && comp.every((f) => f.startsWith(dirname(m) + "/")),
    );
    if (comp.length > 1 && !tiedToOwnChildren) circles.push(comp);
  }
}
files.forEach((f) => idx.has(f) || strong(f));

const rel = (f) => relative(root, f);
if (process.argv.includes("--graph")) {
  for (const [f, d] of [...deps].sort()) console.log(`${rel(f)} → ${[...d].map(rel).sort().join(", ")}`);
}

let failed = false;
for (const comp of circles) {
  failed = true;
  const inComp = new Set(comp);
  console.error(`import circle of ${comp.length} files:`);
  for (const f of comp.sort()) {
    const to = [...deps.get(f)].filter((t) => inComp.has(t)).map(rel).sort();
    console.error(`  ${rel(f)} → ${to.join(", ")}`);
  }
}

const wasmOnly = /\b(worker::|web_sys|js_sys|wasm_bindgen)\b/;
for (const file of files) {
  if (file.startsWith(join(src, "edge") + "/")) continue;
  const lines = texts.get(file).split("\n");
  lines.forEach((line, i) => {
    if (wasmOnly.test(line)) {
      failed = true;
      console.error(`${rel(file)}:${i + 1}: wasm-only name outside engine/src/edge/: ${line.trim()}`);
    }
  });
}

if (failed) process.exit(1);
console.log(`layers: ${files.length} files, no import circle, wasm-only names only in engine/src/edge/`);
