//! `local-stdio`: `mcp` serves MCP over stdio (stdout carries only protocol messages; logs go
//! to stderr); `time`, `guid` and `claude-config` are the same features for people.

use local_stdio::{claude_config, server, tools, LocalServer};
use rmcp::ServiceExt;
use serde_json::{json, Map, Value};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
local-stdio: mcp-edge's local MCP server (stdio) for Claude Desktop and other MCP hosts

Usage: local-stdio <COMMAND> [OPTIONS]

Commands:
  mcp            Serve MCP over stdin/stdout (what Claude Desktop runs)
  time <CITY>    Print the current local time in a city or IANA time zone
  guid           Print a new random GUID (UUID v4)
  claude-config  Print, or --write, the Claude Desktop config that starts this server
  help [COMMAND] Print this help, or a command's

Options:
  -h, --help     Print help (also after any command)
  -V, --version  Print the version
";

const MCP_HELP: &str = "\
Serve MCP over stdio: JSON-RPC messages on stdin and stdout, logs on stderr.
This is what an MCP host such as Claude Desktop starts; `local-stdio claude-config` prints the
config entry that does so.

Tools: get_current_time {city}, get_guid, echo {message}, get_time.

Usage: local-stdio mcp
";

const TIME_HELP: &str = "\
Print the current local time in a city or IANA time zone (the get_current_time tool).

Usage: local-stdio time <CITY>...

Examples:
  local-stdio time Tokyo
  local-stdio time New York
  local-stdio time \"São Paulo\"
  local-stdio time Europe/Paris
";

const GUID_HELP: &str = "\
Print a new random GUID (UUID version 4; the get_guid tool).

Usage: local-stdio guid
";

const CLAUDE_CONFIG_HELP: &str = "\
Print the Claude Desktop `mcpServers` entries that start this binary (`<this exe> mcp`) and,
with --remote-url, the deployed worker through mcp-remote. With --write, merge them into
claude_desktop_config.json instead: the existing file is first copied to
claude_desktop_config.json.<UTC timestamp>.bak, every other key is kept, and a file that is not
valid JSON is left untouched.

Usage: local-stdio claude-config [--write] [--config <PATH>] [--remote-url <URL>]

Options:
  --write             Merge the entries into the config file (with a backup)
  --config <PATH>     The config file [default: macOS ~/Library/Application Support/Claude/,
                      Windows %APPDATA%\\Claude\\, Linux ~/.config/Claude/ + claude_desktop_config.json]
  --remote-url <URL>  Also add the deployed worker (e.g. https://mcp-edge.<you>.workers.dev;
                      /mcp is appended when the URL has no path) as `npx mcp-remote <URL>`
  -h, --help          Print help
";

fn main() -> ExitCode {
    let mut args = Vec::new();
    for arg in std::env::args_os().skip(1) {
        match arg.into_string() {
            Ok(a) => args.push(a),
            Err(a) => {
                eprintln!("local-stdio: argument {a:?} is not valid Unicode");
                return ExitCode::from(2);
            }
        }
    }
    match run(&args) {
        Ok(code) => code,
        Err(Failure::Usage(e)) => {
            eprintln!("local-stdio: {e}");
            ExitCode::from(2)
        }
        Err(Failure::Failed(e)) => {
            eprintln!("local-stdio: {e}");
            ExitCode::FAILURE
        }
    }
}

enum Failure {
    /// Bad command line (exit 2).
    Usage(String),
    /// The command failed (exit 1).
    Failed(String),
}

fn is_help(arg: &str) -> bool {
    matches!(arg, "-h" | "--help")
}

fn run(args: &[String]) -> Result<ExitCode, Failure> {
    let Some((verb, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return Ok(ExitCode::from(2));
    };
    let help = |text: &str| {
        print!("{text}");
        Ok(ExitCode::SUCCESS)
    };
    let wants_help = rest.iter().any(|a| is_help(a));
    match verb.as_str() {
        "-h" | "--help" => help(USAGE),
        "-V" | "--version" => {
            println!("local-stdio {}", server::SERVER_VERSION);
            Ok(ExitCode::SUCCESS)
        }
        "help" => match rest.first().map(String::as_str) {
            None => help(USAGE),
            Some("mcp") => help(MCP_HELP),
            Some("time") => help(TIME_HELP),
            Some("guid") => help(GUID_HELP),
            Some("claude-config") => help(CLAUDE_CONFIG_HELP),
            Some(other) => {
                Err(Failure::Usage(format!("no command {other:?}; see `local-stdio --help`")))
            }
        },
        "mcp" if wants_help => help(MCP_HELP),
        "mcp" => {
            no_more_args("mcp", rest)?;
            serve().map_err(Failure::Failed)
        }
        "time" if wants_help => help(TIME_HELP),
        "time" => time(rest),
        "guid" if wants_help => help(GUID_HELP),
        "guid" => {
            no_more_args("guid", rest)?;
            println!("{}", text_of(&tools::guid().to_json()));
            Ok(ExitCode::SUCCESS)
        }
        "claude-config" if wants_help => help(CLAUDE_CONFIG_HELP),
        "claude-config" => claude_config_cmd(rest),
        other => Err(Failure::Usage(format!("no command {other:?}; see `local-stdio --help`"))),
    }
}

fn no_more_args(verb: &str, rest: &[String]) -> Result<(), Failure> {
    match rest.first() {
        None => Ok(()),
        Some(a) => Err(Failure::Usage(format!(
            "unexpected argument {a:?} for `{verb}`; see `local-stdio {verb} --help`"
        ))),
    }
}

/// The MCP server on stdin/stdout, until the client closes stdin.
fn serve() -> Result<ExitCode, String> {
    let server = LocalServer::new()?;
    if std::io::stdin().is_terminal() {
        eprintln!(
            "local-stdio: waiting for an MCP client on stdin (this is what Claude Desktop runs; \
             see `local-stdio --help`). Ctrl-C to quit."
        );
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let result = rt.block_on(async move {
        let running = server
            .serve(rmcp::transport::stdio())
            .await
            .map_err(|e| format!("MCP initialization failed: {e}"))?;
        let client = running.peer_info().map(|i| i.client_info.name.clone()).unwrap_or_default();
        eprintln!("local-stdio {}: serving MCP on stdio to {client:?}", server::SERVER_VERSION);
        let reason = running.waiting().await.map_err(|e| format!("MCP session failed: {e}"))?;
        eprintln!("local-stdio: session ended ({reason:?})");
        Ok(ExitCode::SUCCESS)
    });
    // Tokio's stdin read blocks a thread that cannot be interrupted; don't wait for it.
    rt.shutdown_background();
    result
}

fn time(rest: &[String]) -> Result<ExitCode, Failure> {
    if let Some(opt) = rest.iter().find(|a| a.starts_with("--")) {
        return Err(Failure::Usage(format!(
            "unknown option {opt:?} for `time`; see `local-stdio time --help`"
        )));
    }
    let city = rest.join(" ");
    if city.trim().is_empty() {
        return Err(Failure::Usage(
            "`time` needs a city, e.g. `local-stdio time Tokyo`".to_owned(),
        ));
    }
    let mut args = Map::new();
    args.insert("city".into(), json!(city));
    let result = tools::current_time(&args, server::unix_now()).to_json();
    if result["isError"] == true {
        return Err(Failure::Failed(text_of(&result)));
    }
    println!("{}", text_of(&result));
    Ok(ExitCode::SUCCESS)
}

/// The text of a `CallToolResult`'s first content block.
fn text_of(result: &Value) -> String {
    result["content"][0]["text"].as_str().unwrap_or_default().to_owned()
}

fn claude_config_cmd(rest: &[String]) -> Result<ExitCode, Failure> {
    let mut write = false;
    let mut config: Option<PathBuf> = None;
    let mut remote_url: Option<String> = None;
    let mut it = rest.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| {
            inline.clone().or_else(|| it.next().cloned()).ok_or_else(|| {
                Failure::Usage(format!(
                    "{name} needs a value; see `local-stdio claude-config --help`"
                ))
            })
        };
        match flag {
            "--write" if inline.is_none() => write = true,
            "--config" => config = Some(PathBuf::from(value("--config")?)),
            "--remote-url" => remote_url = Some(value("--remote-url")?),
            _ => {
                return Err(Failure::Usage(format!(
                    "unexpected argument {arg:?} for `claude-config`; see `local-stdio claude-config --help`"
                )))
            }
        }
    }
    let exe = std::env::current_exe()
        .map_err(|e| Failure::Failed(format!("cannot find this executable's path: {e}")))?;
    let entries = claude_config::entries(&exe, remote_url.as_deref()).map_err(Failure::Usage)?;
    let path = match config {
        Some(p) => Ok(p),
        None => claude_config::default_path(),
    };
    if !write {
        println!("{}", claude_config::snippet(&entries));
        let target = match &path {
            Ok(p) => p.display().to_string(),
            Err(_) => "claude_desktop_config.json".to_owned(),
        };
        eprintln!(
            "local-stdio: add these to \"mcpServers\" in {target}, or rerun with --write to merge \
             them (the file is backed up first); then restart Claude Desktop."
        );
        return Ok(ExitCode::SUCCESS);
    }
    let path = path.map_err(Failure::Failed)?;
    let w = claude_config::write(&path, &entries, &claude_config::timestamp())
        .map_err(Failure::Failed)?;
    match &w.backup {
        Some(b) => println!("Backed up {} to {}", w.path.display(), b.display()),
        None => println!("Created {}", w.path.display()),
    }
    for name in &w.merged.added {
        println!("Added mcpServers.{name}");
    }
    for name in &w.merged.replaced {
        println!("Updated mcpServers.{name}");
    }
    println!("Restart Claude Desktop to load the changes.");
    Ok(ExitCode::SUCCESS)
}
