//! The `get_time` MCP App (SEP-1865): a self-contained HTML view, served as a `ui://` resource
//! with mimeType `text/html;profile=mcp-app`, that performs the MCP Apps handshake with its host
//! over `postMessage` and shows the time from the tool result.

pub const GET_TIME_URI: &str = "ui://get-time/mcp-app.html";
pub const MIME: &str = "text/html;profile=mcp-app";

/// The view: `ui/initialize` → `ui/notifications/initialized`, then renders
/// `ui/notifications/tool-result`; if no result arrives it asks the host to call `get_time`.
pub const GET_TIME_HTML: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Current time</title>
<style>
body{font:16px/1.4 system-ui,sans-serif;margin:0;padding:16px;color:#111;background:#fff}
@media (prefers-color-scheme:dark){body{color:#eee;background:#111}}
#time{font-size:2rem;font-weight:600;font-variant-numeric:tabular-nums}
#status{color:#777;font-size:.85rem}
</style></head>
<body>
<div id="time" data-state="waiting">…</div>
<div id="status">Waiting for the host…</div>
<script>
(() => {
  const pending = new Map();
  let nextId = 1;
  const host = window.parent;
  const send = (msg) => host.postMessage(Object.assign({ jsonrpc: "2.0" }, msg), "*");
  const request = (method, params) => new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    send({ id, method, params });
  });
  const show = (result) => {
    const sc = result && result.structuredContent;
    const text = sc && sc.utc ? sc.utc : ((result && result.content || []).find(c => c.type === "text") || {}).text;
    if (!text) return;
    const el = document.getElementById("time");
    el.textContent = text;
    el.dataset.state = "ready";
    document.getElementById("status").textContent = "UTC, from the get_time tool";
  };
  window.addEventListener("message", (event) => {
    if (event.source !== host) return;
    const msg = event.data;
    if (!msg || msg.jsonrpc !== "2.0") return;
    if (msg.id !== undefined && pending.has(msg.id) && !msg.method) {
      const p = pending.get(msg.id); pending.delete(msg.id);
      msg.error ? p.reject(msg.error) : p.resolve(msg.result);
    } else if (msg.method === "ui/notifications/tool-result") {
      show(msg.params);
    } else if (msg.id !== undefined && msg.method) {
      send({ id: msg.id, result: {} });
    }
  });
  request("ui/initialize", {
    protocolVersion: "2026-01-26",
    appInfo: { name: "get-time", version: "1.0.0" },
    appCapabilities: {}
  }).then(() => {
    send({ method: "ui/notifications/initialized", params: {} });
    setTimeout(() => {
      if (document.getElementById("time").dataset.state !== "ready") {
        request("tools/call", { name: "get_time", arguments: {} }).then(show).catch(() => {});
      }
    }, 1500);
  }).catch((e) => { document.getElementById("status").textContent = "Host refused: " + (e && e.message); });
})();
</script>
</body></html>
"#;
