// The Durable Object class McpSessions: one object per legacy MCP session (named by a hash of
// the session id), the meeting point of engine/src/store/rendezvous.rs. A call that waits for its
// client's answer waits here; the answer POST, served by any isolate in any location, delivers
// here; the events of a stream are logged here for resumption. SQLite-backed (wrangler.toml
// `new_sqlite_classes`); everything expires, cleared by an alarm. Limits and costs:
// docs/storage-schema.md.
import { DurableObject } from "cloudflare:workers";

const MAX_LOGGED_EVENTS = 64; // engine/src/store/rendezvous.rs MAX_LOGGED_EVENTS
const MAX_LOGGED_EVENT_BYTES = 128 * 1024; // MAX_LOGGED_EVENT_BYTES
const RECHECK_MS = 5000; // a waiter looks at storage again at least this often

export class McpSessions extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    /** key -> resolvers of the requests sleeping on it */
    this.sleepers = new Map();
  }

  wake(key) {
    const list = this.sleepers.get(key);
    if (!list) return;
    this.sleepers.delete(key);
    for (const resolve of list) resolve();
  }

  sleep(key, ms) {
    return new Promise((resolve) => {
      const list = this.sleepers.get(key) ?? [];
      list.push(resolve);
      this.sleepers.set(key, list);
      setTimeout(resolve, Math.max(0, Math.min(ms, RECHECK_MS)));
    });
  }

  async expireAt(at) {
    // The alarm this object set last (kept in memory while the object lives): most calls need
    // no alarm read at all.
    if (this.alarmAt !== undefined && this.alarmAt <= at) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
    this.alarmAt = current === null ? at : Math.min(current, at);
  }

  /** A call will wait for answers to `ids`. */
  async expect(call, ids, ttlMs) {
    const expires = Date.now() + ttlMs;
    await this.ctx.storage.put(`call:${call}`, { ids, answers: {}, expires });
    await this.expireAt(expires);
  }

  /** An answer (JSON text of {result} or {error}) for `id`: true if a call waited for it. */
  async deliver(call, id, message) {
    const key = `call:${call}`;
    const rec = await this.ctx.storage.get(key);
    if (!rec || rec.expires <= Date.now() || !rec.ids.includes(id) || id in rec.answers) return false;
    rec.answers[id] = message;
    await this.ctx.storage.put(key, rec);
    this.wake(key);
    return true;
  }

  /** Every answer of `call` as JSON text ({id: message}), or null on timeout. */
  async wait(call, timeoutMs) {
    const key = `call:${call}`;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rec = await this.ctx.storage.get(key);
      if (!rec) return null;
      if (rec.ids.every((id) => id in rec.answers)) {
        await this.ctx.storage.delete(key);
        return `{${rec.ids.map((id) => `${JSON.stringify(id)}:${rec.answers[id]}`).join(",")}}`;
      }
      const now = Date.now();
      if (now >= deadline || now >= rec.expires) {
        await this.ctx.storage.delete(key);
        return null;
      }
      await this.sleep(key, Math.min(deadline, rec.expires) - now);
    }
  }

  /** Appends an event to `stream`'s log; returns its sequence number. */
  async append(stream, data, done, ttlMs) {
    const key = `log:${stream}`;
    const now = Date.now();
    let log = await this.ctx.storage.get(key);
    if (!log || log.expires <= now) {
      if (log) await this.dropLog(stream);
      log = { next: 0, logged: 0, done: false, expires: 0 };
    }
    log.next += 1;
    const writes = {};
    if (log.logged < MAX_LOGGED_EVENTS && data.length <= MAX_LOGGED_EVENT_BYTES) {
      log.logged += 1;
      writes[`ev:${stream}:${String(log.next).padStart(10, "0")}`] = data;
    }
    log.done ||= done;
    log.expires = now + ttlMs;
    writes[key] = log;
    await this.ctx.storage.put(writes);
    await this.expireAt(log.expires);
    this.wake(key);
    return log.next;
  }

  /** Events of `stream` after `after`: {events: [[seq, data]], done}, or null (no such stream). */
  async replay(stream, after, timeoutMs) {
    const key = `log:${stream}`;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const log = await this.ctx.storage.get(key);
      const now = Date.now();
      if (!log || log.expires <= now) return null;
      const prefix = `ev:${stream}:`;
      const found = await this.ctx.storage.list({ prefix, start: `${prefix}${String(after + 1).padStart(10, "0")}` });
      const events = [...found].map(([k, v]) => [Number(k.slice(prefix.length)), v]);
      if (events.length > 0 || log.done || now >= deadline) return { events, done: log.done };
      await this.sleep(key, deadline - now);
    }
  }

  async dropLog(stream) {
    const found = await this.ctx.storage.list({ prefix: `ev:${stream}:` });
    await this.ctx.storage.delete([...found.keys(), `log:${stream}`]);
  }

  // ---- Tasks (engine/src/store/tasks.rs): one object per task, named `task:<id>` ----

  /** {version, record} of the task, or null (absent or expired). */
  async taskGet() {
    const t = await this.ctx.storage.get("task");
    return t && t.expires > Date.now() ? { version: t.version, record: t.record } : null;
  }

  /** Compare-and-set: the new version, or 0 when the stored version is not `expected`. */
  async taskPut(expected, record, expiresMs) {
    const t = await this.ctx.storage.get("task");
    const current = t && t.expires > Date.now() ? t.version : 0;
    if (current !== expected) return 0;
    await this.ctx.storage.put("task", { version: current + 1, record, expires: expiresMs });
    await this.expireAt(expiresMs);
    return current + 1;
  }

  // ---- Ledger (engine/src/store/ledger.rs): one object per shard, named `ledger:<shard>`,
  // each item under `l:<item>` as { n, expires, at } (ms). A Durable Object runs one event at a
  // time around its storage calls (input gates), so each read-then-write below is atomic: the
  // first claim wins, every count is counted.

  async ledgerLive(item) {
    const e = await this.ctx.storage.get("l:" + item);
    return e && e.expires > Date.now() ? e : null;
  }

  /** `item` and, when given, the `unless` item, in one storage read: [item, unless] (live). */
  async ledgerPair(item, unless) {
    if (unless == null) return [await this.ledgerLive(item), null];
    const got = await this.ctx.storage.get(["l:" + item, "l:" + unless]);
    const live = (e) => (e && e.expires > Date.now() ? e : null);
    return [live(got.get("l:" + item)), live(got.get("l:" + unless))];
  }

  /** 0 for the first claim of this item while it lives; when it was first claimed (ms) after;
   * -1 (nothing claimed) when the item `unless` exists. A released claim (n 0) is free. */
  async ledgerClaim(item, expiresMs, unless) {
    const [e, blocker] = await this.ledgerPair(item, unless);
    if (blocker?.n > 0) return -1;
    if (e && e.n > 0) return e.at;
    await this.ctx.storage.put("l:" + item, { n: 1, expires: expiresMs, at: Date.now() });
    await this.expireAt(expiresMs);
    return 0;
  }

  /** Moves this item's value up to `to` if below: 0 when moved, the time it became `to` (ms)
   * when it already was, -2 when it is past, -1 (nothing changed) when `unless` exists. */
  async ledgerAdvance(item, to, expiresMs, unless) {
    const [e, blocker] = await this.ledgerPair(item, unless);
    if (blocker?.n > 0) return -1;
    if (e && e.n === to) return e.at;
    if (e && e.n > to) return -2;
    await this.ctx.storage.put("l:" + item, { n: to, expires: expiresMs, at: Date.now() });
    await this.expireAt(expiresMs);
    return 0;
  }

  /** One more on this counter (a window ending at `expiresMs` when it starts): the new count. */
  async ledgerAdd(item, expiresMs) {
    const e = await this.ledgerLive(item);
    const rec = e ? { n: e.n + 1, expires: e.expires, at: e.at } : { n: 1, expires: expiresMs, at: Date.now() };
    await this.ctx.storage.put("l:" + item, rec);
    if (!e) await this.expireAt(rec.expires);
    return rec.n;
  }

  /** One less on this counter (an attempt that turned out fine); releases a claim. */
  async ledgerTakeBack(item) {
    const e = await this.ledgerLive(item);
    if (e && e.n > 0) await this.ctx.storage.put("l:" + item, { ...e, n: e.n - 1 });
    return true;
  }

  /** Clears what expired; schedules the next clearing, or leaves nothing behind. */
  async alarm() {
    const now = Date.now();
    let next = Infinity;
    for (const [key, rec] of await this.ctx.storage.list({ prefix: "call:" })) {
      if (rec.expires <= now) await this.ctx.storage.delete(key);
      else next = Math.min(next, rec.expires);
    }
    for (const [key, rec] of await this.ctx.storage.list({ prefix: "l:" })) {
      if (rec.expires <= now) await this.ctx.storage.delete(key);
      else next = Math.min(next, rec.expires);
    }
    for (const [key, log] of await this.ctx.storage.list({ prefix: "log:" })) {
      if (log.expires <= now) await this.dropLog(key.slice(4));
      else next = Math.min(next, log.expires);
    }
    for (const name of ["task", "ledger"]) {
      const rec = await this.ctx.storage.get(name);
      if (!rec) continue;
      if (rec.expires <= now) await this.ctx.storage.delete(name);
      else next = Math.min(next, rec.expires);
    }
    if (next !== Infinity) await this.ctx.storage.setAlarm(next);
    else await this.ctx.storage.deleteAll();
    this.alarmAt = next !== Infinity ? next : undefined;
  }
}
