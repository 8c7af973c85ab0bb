//! `claude-config`: the `mcpServers` entries that start this binary (and, given its URL, the
//! deployed worker through `mcp-remote`), printed or merged into `claude_desktop_config.json`.
//!
//! Merging keeps every other key of the file, in its order and with its original text; the
//! existing file is copied to a timestamped backup first, and a file that is not a JSON object
//! is refused before anything is written.

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// The `mcpServers` key of the local (stdio) server.
pub const LOCAL_NAME: &str = "mcp-edge-local";
/// The `mcpServers` key of the remote server (the deployed worker via mcp-remote).
pub const REMOTE_NAME: &str = "mcp-edge";

const FILE_NAME: &str = "claude_desktop_config.json";

/// Where Claude Desktop reads its configuration on this OS.
pub fn default_path() -> Result<PathBuf, String> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let dir = if cfg!(target_os = "macos") {
        var("HOME").map(|h| h.join("Library").join("Application Support"))
    } else if cfg!(windows) {
        var("APPDATA")
    } else {
        var("XDG_CONFIG_HOME").or_else(|| var("HOME").map(|h| h.join(".config")))
    };
    let dir = dir.ok_or("cannot find the Claude Desktop config directory (HOME/APPDATA is not set); pass --config <path>")?;
    Ok(dir.join("Claude").join(FILE_NAME))
}

/// An `mcpServers` entry: the command Claude Desktop runs and its arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub command: String,
    pub args: Vec<String>,
}

/// The server entries, by `mcpServers` key: this binary (`<exe> mcp`) and, with `remote_url`,
/// the deployed worker through `npx mcp-remote <url>`.
pub fn entries(exe: &Path, remote_url: Option<&str>) -> Result<Vec<(String, Entry)>, String> {
    let mut out = vec![(
        LOCAL_NAME.to_owned(),
        Entry { command: exe.to_string_lossy().into_owned(), args: vec!["mcp".to_owned()] },
    )];
    if let Some(url) = remote_url {
        out.push((
            REMOTE_NAME.to_owned(),
            Entry { command: "npx".to_owned(), args: vec!["mcp-remote".to_owned(), mcp_url(url)?] },
        ));
    }
    Ok(out)
}

/// The worker's MCP endpoint for a deployment URL: `https://x.workers.dev` → `.../mcp`; a URL
/// with a path is taken as the endpoint.
pub fn mcp_url(url: &str) -> Result<String, String> {
    let url = url.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .filter(|r| !r.is_empty() && !r.starts_with('/'))
        .ok_or_else(|| format!("--remote-url must be an http(s) URL, got {url:?}"))?;
    Ok(if (rest.contains('/') && !rest.ends_with('/')) || rest.contains('?') {
        url.to_owned()
    } else {
        format!("{}/mcp", url.trim_end_matches('/'))
    })
}

/// `{"mcpServers": {...}}` with the entries, pretty-printed: what `claude-config` prints.
pub fn snippet(entries: &[(String, Entry)]) -> String {
    let servers: IndexMap<&str, &Entry> = entries.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let doc: IndexMap<&str, _> = [("mcpServers", servers)].into_iter().collect();
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// A merged config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub text: String,
    /// Entries that were not in the file.
    pub added: Vec<String>,
    /// Entries that replaced one of the same name.
    pub replaced: Vec<String>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Item<'a> {
    Raw(&'a RawValue),
    New(&'a Entry),
    Map(IndexMap<&'a str, Item<'a>>),
}

/// Merges `entries` into the `mcpServers` object of `existing` (the file's text; empty means no
/// file). Everything else is kept as it was, in order; an error when `existing` is not a JSON
/// object or its `mcpServers` is not an object.
pub fn merge(existing: &str, entries: &[(String, Entry)]) -> Result<Merged, String> {
    let existing = existing.trim_start_matches('\u{feff}');
    let top: IndexMap<String, Box<RawValue>> = if existing.trim().is_empty() {
        IndexMap::new()
    } else {
        match serde_json::from_str::<Value>(existing) {
            Err(e) => return Err(format!("it is not valid JSON ({e})")),
            Ok(Value::Object(_)) => {}
            Ok(_) => return Err("its top level is not a JSON object".to_owned()),
        }
        serde_json::from_str(existing).map_err(|e| format!("it is not valid JSON ({e})"))?
    };
    let servers: IndexMap<String, Box<RawValue>> = match top.get("mcpServers") {
        None => IndexMap::new(),
        Some(raw) => match serde_json::from_str::<Value>(raw.get()) {
            Ok(Value::Object(_)) => serde_json::from_str(raw.get()).map_err(|e| e.to_string())?,
            _ => return Err("its \"mcpServers\" is not a JSON object".to_owned()),
        },
    };

    let mut merged_servers: IndexMap<&str, Item> =
        servers.iter().map(|(k, v)| (k.as_str(), Item::Raw(v))).collect();
    let (mut added, mut replaced) = (Vec::new(), Vec::new());
    for (name, entry) in entries {
        match merged_servers.insert(name, Item::New(entry)) {
            Some(_) => replaced.push(name.clone()),
            None => added.push(name.clone()),
        }
    }
    let mut doc: IndexMap<&str, Item> = IndexMap::new();
    let mut merged_servers = Some(merged_servers);
    for (key, value) in &top {
        if key == "mcpServers" {
            if let Some(s) = merged_servers.take() {
                doc.insert(key, Item::Map(s));
            }
        } else {
            doc.insert(key, Item::Raw(value));
        }
    }
    if let Some(s) = merged_servers {
        doc.insert("mcpServers", Item::Map(s));
    }
    let mut text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
    text.push('\n');
    Ok(Merged { text, added, replaced })
}

/// What [`write`] did.
#[derive(Debug)]
pub struct Written {
    pub path: PathBuf,
    pub backup: Option<PathBuf>,
    pub merged: Merged,
}

/// Merges `entries` into the file at `path` (created, with its directory, when missing), after
/// copying an existing file to `<path>.<stamp>.bak`. Nothing is written when the existing file
/// cannot be merged.
pub fn write(path: &Path, entries: &[(String, Entry)], stamp: &str) -> Result<Written, String> {
    let shown = path.display();
    let existing = match fs::read(path) {
        Ok(bytes) => Some(
            String::from_utf8(bytes)
                .map_err(|_| format!("refusing to change {shown}: it is not UTF-8 text"))?,
        ),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => return Err(format!("cannot read {shown}: {e}")),
    };
    let merged = merge(existing.as_deref().unwrap_or(""), entries).map_err(|e| {
        format!("refusing to change {shown}: {e}. Fix or move the file and try again; nothing was written.")
    })?;
    let backup = match existing {
        Some(_) => {
            let backup = backup_path(path, stamp);
            fs::copy(path, &backup)
                .map_err(|e| format!("cannot back up {shown} to {}: {e}", backup.display()))?;
            Some(backup)
        }
        None => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            None
        }
    };
    // Write beside the file and rename over it, so a failure never leaves half a config.
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    fs::write(&tmp, &merged.text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        format!("cannot replace {shown}: {e}")
    })?;
    Ok(Written { path: path.to_owned(), backup, merged })
}

/// `<path>.<stamp>.bak`, or `<path>.<stamp>-N.bak` when that exists already.
fn backup_path(path: &Path, stamp: &str) -> PathBuf {
    let with = |suffix: &str| {
        let mut p = path.as_os_str().to_owned();
        p.push(format!(".{stamp}{suffix}.bak"));
        PathBuf::from(p)
    };
    let mut candidate = with("");
    let mut n = 1;
    while candidate.exists() {
        candidate = with(&format!("-{n}"));
        n += 1;
    }
    candidate
}

/// A file-name-safe UTC timestamp for backups: `20261118T110640Z`.
pub fn timestamp() -> String {
    jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ours() -> Vec<(String, Entry)> {
        entries(Path::new("/opt/mcp/local-stdio"), Some("https://mcp-edge.example.workers.dev"))
            .unwrap()
    }

    /// A fresh empty directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let dir = std::env::temp_dir().join(format!(
                "local-stdio-{name}-{}-{}",
                std::process::id(),
                timestamp()
            ));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn entries_start_this_binary_and_mcp_remote() {
        let e = ours();
        assert_eq!(e[0].0, "mcp-edge-local");
        let v = |e: &Entry| serde_json::to_value(e).unwrap();
        assert_eq!(v(&e[0].1), json!({"command": "/opt/mcp/local-stdio", "args": ["mcp"]}));
        assert_eq!(e[1].0, "mcp-edge");
        assert_eq!(
            v(&e[1].1),
            json!({"command": "npx", "args": ["mcp-remote", "https://mcp-edge.example.workers.dev/mcp"]})
        );
        assert_eq!(entries(Path::new("/x"), None).unwrap().len(), 1);
        let s: Value = serde_json::from_str(&snippet(&e)).unwrap();
        assert_eq!(s["mcpServers"]["mcp-edge-local"]["args"], json!(["mcp"]));
        // "command" before "args", as people write it.
        let text = snippet(&e);
        assert!(text.find("\"command\"").unwrap() < text.find("\"args\"").unwrap());
    }

    #[test]
    fn remote_urls() {
        assert_eq!(mcp_url("https://a.dev").unwrap(), "https://a.dev/mcp");
        assert_eq!(mcp_url("https://a.dev/").unwrap(), "https://a.dev/mcp");
        assert_eq!(mcp_url("https://a.dev/mcp").unwrap(), "https://a.dev/mcp");
        assert_eq!(mcp_url("https://a.dev/x/mcp").unwrap(), "https://a.dev/x/mcp");
        assert_eq!(mcp_url("http://localhost:8787").unwrap(), "http://localhost:8787/mcp");
        assert!(mcp_url("a.dev").is_err());
        assert!(mcp_url("https://").is_err());
        assert!(mcp_url("ftp://a.dev").is_err());
    }

    #[test]
    fn merge_keeps_other_keys_in_order_and_replaces_ours() {
        let existing = r#"{
  "globalShortcut": "Ctrl+Space",
  "mcpServers": {
    "filesystem": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"], "env": {"Z": "1", "A": "2"}},
    "mcp-edge-local": {"command": "/old/path", "args": ["mcp"]}
  },
  "zeta": [1, 2, {"b": 1, "a": 2}],
  "alpha": null
}"#;
        let m = merge(existing, &ours()).unwrap();
        assert_eq!(m.added, ["mcp-edge"]);
        assert_eq!(m.replaced, ["mcp-edge-local"]);
        let v: Value = serde_json::from_str(&m.text).unwrap();
        assert_eq!(v["globalShortcut"], "Ctrl+Space");
        assert_eq!(v["zeta"], json!([1, 2, {"b": 1, "a": 2}]));
        assert_eq!(v["alpha"], Value::Null);
        assert_eq!(v["mcpServers"]["filesystem"]["env"], json!({"Z": "1", "A": "2"}));
        assert_eq!(v["mcpServers"]["mcp-edge-local"]["command"], "/opt/mcp/local-stdio");
        assert_eq!(v["mcpServers"]["mcp-edge"]["command"], "npx");
        // Order and the original text of untouched values are kept.
        let pos = |s: &str| m.text.find(s).unwrap();
        assert!(pos("globalShortcut") < pos("mcpServers"));
        assert!(pos("mcpServers") < pos("\"zeta\""));
        assert!(pos("\"zeta\"") < pos("\"alpha\""));
        assert!(pos("\"filesystem\"") < pos("\"mcp-edge-local\""));
        assert!(pos("\"mcp-edge-local\"") < pos("\"mcp-edge\""));
        assert!(m.text.contains(r#"{"b": 1, "a": 2}"#));
        assert!(m.text.contains(r#""env": {"Z": "1", "A": "2"}"#));
    }

    #[test]
    fn merge_into_nothing_or_a_file_without_servers() {
        let m = merge("", &ours()).unwrap();
        let v: Value = serde_json::from_str(&m.text).unwrap();
        assert_eq!(v["mcpServers"].as_object().unwrap().len(), 2);
        let m = merge("\u{feff}{\"theme\": \"dark\"}", &ours()).unwrap();
        let v: Value = serde_json::from_str(&m.text).unwrap();
        assert_eq!(v["theme"], "dark");
        assert_eq!(v["mcpServers"]["mcp-edge-local"]["args"], json!(["mcp"]));
        assert!(m.text.find("theme").unwrap() < m.text.find("mcpServers").unwrap());
    }

    #[test]
    fn merge_refuses_what_is_not_a_config() {
        let e = ours();
        assert!(merge("{\"mcpServers\": {", &e).unwrap_err().contains("not valid JSON"));
        assert!(merge("{\"a\": 1,}", &e).unwrap_err().contains("not valid JSON"));
        assert!(merge("[1, 2]", &e).unwrap_err().contains("not a JSON object"));
        assert!(merge("{\"mcpServers\": []}", &e).unwrap_err().contains("mcpServers"));
    }

    #[test]
    fn write_backs_up_and_merges() {
        let dir = TempDir::new("write");
        let path = dir.0.join("claude_desktop_config.json");
        let original = "{\n  \"preferences\": {\"sidebarMode\": \"chat\"},\n  \"mcpServers\": {\"other\": {\"command\": \"other-server\"}}\n}\n";
        fs::write(&path, original).unwrap();

        let w = write(&path, &ours(), "20261118T110640Z").unwrap();
        let backup = w.backup.unwrap();
        assert_eq!(backup, dir.0.join("claude_desktop_config.json.20261118T110640Z.bak"));
        assert_eq!(fs::read_to_string(&backup).unwrap(), original);
        let v: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(v["preferences"], json!({"sidebarMode": "chat"}));
        assert_eq!(v["mcpServers"]["other"], json!({"command": "other-server"}));
        assert_eq!(v["mcpServers"]["mcp-edge-local"]["args"], json!(["mcp"]));
        assert_eq!(w.merged.added, ["mcp-edge-local", "mcp-edge"]);

        // Again in the same second: a second backup, nothing lost, entries replaced in place.
        let w = write(&path, &ours(), "20261118T110640Z").unwrap();
        assert_eq!(
            w.backup.unwrap(),
            dir.0.join("claude_desktop_config.json.20261118T110640Z-1.bak")
        );
        assert_eq!(w.merged.replaced, ["mcp-edge-local", "mcp-edge"]);
        assert!(fs::read_to_string(&backup).unwrap() == original);
        assert!(!dir.0.join("claude_desktop_config.json.tmp").exists());
    }

    #[test]
    fn write_creates_a_missing_file_without_backup() {
        let dir = TempDir::new("create");
        let path = dir.0.join("Claude").join("claude_desktop_config.json");
        let w = write(&path, &ours(), "20261118T110640Z").unwrap();
        assert!(w.backup.is_none());
        let v: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(v["mcpServers"]["mcp-edge"]["args"][0], "mcp-remote");
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn write_refuses_invalid_json_and_writes_nothing() {
        let dir = TempDir::new("invalid");
        let path = dir.0.join("claude_desktop_config.json");
        let original = "{ \"mcpServers\": { \"x\": } ";
        fs::write(&path, original).unwrap();
        let err = write(&path, &ours(), "20261118T110640Z").unwrap_err();
        assert!(err.contains("refusing to change"), "{err}");
        assert!(err.contains("not valid JSON"), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), original);
        assert_eq!(fs::read_dir(&dir.0).unwrap().count(), 1, "no backup, no temp file");
    }

    #[test]
    fn default_path_ends_in_claude_dir() {
        if let Ok(p) = default_path() {
            assert!(p.ends_with(Path::new("Claude").join("claude_desktop_config.json")));
        }
    }
}
