//! `local-stdio`: `mcp` serves MCP over stdio (stdout carries only protocol messages; logs go
//! to stderr); `time`, `guid` and `claude-config` are the same features for people.

use lexopt::prelude::*;
use lexopt::Arg;
use local_stdio::{claude_config, server, tools, LocalServer};
use rmcp::ServiceExt;
use serde_json::{json, Map};
use std::ffi::{OsStr, OsString};
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
Protocol: MCP 2024-11-05 to 2025-11-25 (initialize) and 2026-07-28 (server/discover).

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

/// Each command and its `--help` text.
const COMMAND_HELP: &[(&str, &str)] = &[
    ("mcp", MCP_HELP),
    ("time", TIME_HELP),
    ("guid", GUID_HELP),
    ("claude-config", CLAUDE_CONFIG_HELP),
];

/// What the command line asks for.
#[derive(Debug, PartialEq)]
enum Command {
    /// No command at all: the usage on stderr, exit 2.
    Missing,
    /// Print this help text on stdout, exit 0.
    Help(&'static str),
    Version,
    Mcp,
    /// `time <CITY>...`: the words joined by spaces.
    Time(String),
    Guid,
    ClaudeConfig(ClaudeConfigArgs),
}

#[derive(Debug, Default, PartialEq)]
struct ClaudeConfigArgs {
    write: bool,
    config: Option<PathBuf>,
    remote_url: Option<String>,
}

fn main() -> ExitCode {
    let command = match parse(std::env::args_os().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("local-stdio: {e}");
            return ExitCode::from(2);
        }
    };
    match run(command) {
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

/// The command the arguments (without the program name) ask for, or the usage error to print
/// (exit 2). After the command, `-h`/`--help` anywhere asks for its help, even after a mistake.
fn parse<I>(args: I) -> Result<Command, String>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    let mut p = lexopt::Parser::from_args(args);
    let top = |e: lexopt::Error| format!("{e}; see `local-stdio --help`");
    let verb = match p.next().map_err(top)? {
        None => return Ok(Command::Missing),
        Some(Short('h') | Long("help")) => return Ok(Command::Help(USAGE)),
        Some(Short('V') | Long("version")) => return Ok(Command::Version),
        Some(Value(v)) => v.string().map_err(top)?,
        Some(arg) => return Err(top(arg.unexpected())),
    };
    let mut seen = Seen::default();
    let command = match verb.as_str() {
        "help" => {
            let mut topic = None;
            while let Some(arg) = seen.next(&mut p) {
                match arg {
                    None => {}
                    Some(Value(v)) if topic.is_none() => topic = Some(v),
                    Some(arg) => seen.fail(arg.unexpected()),
                }
            }
            match topic {
                None => Command::Help(USAGE),
                Some(t) => match COMMAND_HELP.iter().find(|(verb, _)| t == *verb) {
                    Some((_, text)) => Command::Help(text),
                    None if seen.help => Command::Help(USAGE),
                    None => return Err(format!("no command {t:?}; see `local-stdio --help`")),
                },
            }
        }
        "mcp" | "guid" => {
            while let Some(arg) = seen.next(&mut p) {
                if let Some(arg) = arg {
                    seen.fail(arg.unexpected());
                }
            }
            if verb == "mcp" {
                Command::Mcp
            } else {
                Command::Guid
            }
        }
        "time" => {
            let mut words = Vec::new();
            while let Some(arg) = seen.next(&mut p) {
                match arg {
                    None => {}
                    Some(Value(w)) => match w.string() {
                        Ok(w) => words.push(w),
                        Err(e) => seen.fail(e),
                    },
                    Some(arg) => seen.fail(arg.unexpected()),
                }
            }
            let city = words.join(" ");
            if city.trim().is_empty() && !seen.help && seen.error.is_none() {
                return Err("`time` needs a city, e.g. `local-stdio time Tokyo`".to_owned());
            }
            Command::Time(city)
        }
        "claude-config" => {
            let mut a = ClaudeConfigArgs::default();
            while let Some(arg) = seen.next(&mut p) {
                match arg {
                    None => {}
                    Some(Long("write")) => a.write = true,
                    Some(Long("config")) => {
                        a.config = seen.value(&mut p, "--config").map(PathBuf::from);
                    }
                    Some(Long("remote-url")) => {
                        if let Some(url) = seen.value(&mut p, "--remote-url") {
                            match url.string() {
                                Ok(url) => a.remote_url = Some(url),
                                Err(e) => seen.fail(e),
                            }
                        }
                    }
                    Some(arg) => seen.fail(arg.unexpected()),
                }
            }
            Command::ClaudeConfig(a)
        }
        other => return Err(format!("no command {other:?}; see `local-stdio --help`")),
    };
    let help = COMMAND_HELP.iter().find(|(v, _)| *v == verb).map_or(USAGE, |(_, text)| text);
    seen.finish(&verb, help, command)
}

/// `-h`/`--help` and the first mistake among a command's arguments.
#[derive(Default)]
struct Seen {
    help: bool,
    error: Option<lexopt::Error>,
}

impl Seen {
    /// One step through a command's arguments: `None` at the end, `Some(None)` for an argument
    /// dealt with here (`-h`/`--help`, or a mistake the parser finds itself such as a value
    /// given to a flag, `--write=yes`), else `Some(arg)` for the command to look at.
    fn next<'p>(&mut self, p: &'p mut lexopt::Parser) -> Option<Option<Arg<'p>>> {
        match p.next() {
            Ok(None) => None,
            Ok(Some(Short('h') | Long("help"))) => {
                self.help = true;
                Some(None)
            }
            Ok(Some(arg)) => Some(Some(arg)),
            Err(e) => {
                self.fail(e);
                Some(None)
            }
        }
    }

    /// An option's value, `--config=PATH` or `--config PATH`; the next argument is not taken
    /// when it is itself an option (`--config --write` is a missing value, not a file named
    /// `--write`).
    fn value(&mut self, p: &mut lexopt::Parser, option: &str) -> Option<OsString> {
        if let Some(v) = p.optional_value() {
            return Some(v);
        }
        let is_option = |a: &OsStr| a.to_str().is_some_and(|a| a.len() > 1 && a.starts_with('-'));
        let v = p.try_raw_args().and_then(|mut raw| raw.next_if(|a| !is_option(a)));
        if v.is_none() {
            self.fail(lexopt::Error::MissingValue { option: Some(option.to_owned()) });
        }
        v
    }

    fn fail(&mut self, e: lexopt::Error) {
        self.error.get_or_insert(e);
    }

    fn finish(self, verb: &str, help: &'static str, command: Command) -> Result<Command, String> {
        match self.error {
            _ if self.help => Ok(Command::Help(help)),
            Some(e) => Err(format!("{verb}: {e}; see `local-stdio {verb} --help`")),
            None => Ok(command),
        }
    }
}

fn run(command: Command) -> Result<ExitCode, Failure> {
    match command {
        Command::Missing => {
            eprint!("{USAGE}");
            Ok(ExitCode::from(2))
        }
        Command::Help(text) => {
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Version => {
            println!("local-stdio {}", server::SERVER_VERSION);
            Ok(ExitCode::SUCCESS)
        }
        Command::Mcp => serve().map_err(Failure::Failed),
        Command::Time(city) => time(city),
        Command::Guid => {
            println!("{}", text_of(&tools::guid().to_json()));
            Ok(ExitCode::SUCCESS)
        }
        Command::ClaudeConfig(args) => claude_config_cmd(args),
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
        // A 2026-07-28 client never initializes: who it is travels in each request's `_meta`.
        let client = match running.peer_info() {
            Some(info) => format!("{:?}", info.client_info.name),
            None => "a client without initialize (per-request _meta, 2026-07-28)".to_owned(),
        };
        eprintln!("local-stdio {}: serving MCP on stdio to {client}", server::SERVER_VERSION);
        let reason = running.waiting().await.map_err(|e| format!("MCP session failed: {e}"))?;
        eprintln!("local-stdio: session ended ({reason:?})");
        Ok(ExitCode::SUCCESS)
    });
    // Tokio's stdin read blocks a thread that cannot be interrupted; don't wait for it.
    rt.shutdown_background();
    result
}

fn time(city: String) -> Result<ExitCode, Failure> {
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
fn text_of(result: &serde_json::Value) -> String {
    result["content"][0]["text"].as_str().unwrap_or_default().to_owned()
}

fn claude_config_cmd(args: ClaudeConfigArgs) -> Result<ExitCode, Failure> {
    let ClaudeConfigArgs { write, config, remote_url } = args;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn err(args: &[&str]) -> String {
        match parse(args) {
            Ok(c) => panic!("{args:?} parsed as {c:?}"),
            Err(e) => e,
        }
    }

    fn config(args: &[&str]) -> ClaudeConfigArgs {
        match parse(args) {
            Ok(Command::ClaudeConfig(a)) => a,
            other => panic!("{args:?} parsed as {other:?}"),
        }
    }

    #[test]
    fn commands_and_their_arguments() {
        assert_eq!(parse([] as [&str; 0]), Ok(Command::Missing));
        assert_eq!(parse(["mcp"]), Ok(Command::Mcp));
        assert_eq!(parse(["guid"]), Ok(Command::Guid));
        assert_eq!(parse(["-V"]), Ok(Command::Version));
        assert_eq!(parse(["--version"]), Ok(Command::Version));
        assert_eq!(parse(["time", "Tokyo"]), Ok(Command::Time("Tokyo".into())));
        assert_eq!(parse(["time", "New", "York"]), Ok(Command::Time("New York".into())));
        assert_eq!(parse(["time", "São Paulo"]), Ok(Command::Time("São Paulo".into())));
        // After `--`, anything is a word of the city.
        assert_eq!(parse(["time", "--", "-h"]), Ok(Command::Time("-h".into())));

        assert_eq!(config(&["claude-config"]), ClaudeConfigArgs::default());
        let a = config(&["claude-config", "--write", "--config", "/tmp/c.json"]);
        assert!(a.write);
        assert_eq!(a.config, Some(PathBuf::from("/tmp/c.json")));
        assert_eq!(a.remote_url, None);
        let a = config(&["claude-config", "--remote-url=https://x.dev", "--config=c.json"]);
        assert!(!a.write);
        assert_eq!(a.config, Some(PathBuf::from("c.json")));
        assert_eq!(a.remote_url.as_deref(), Some("https://x.dev"));
        // `=` keeps a value that starts with `-`; `-` alone is a value too.
        assert_eq!(config(&["claude-config", "--config=-c.json"]).config, Some("-c.json".into()));
        assert_eq!(config(&["claude-config", "--config", "-"]).config, Some("-".into()));
    }

    #[test]
    fn unknown_commands_and_flags_are_usage_errors() {
        assert_eq!(err(&["frobnicate"]), "no command \"frobnicate\"; see `local-stdio --help`");
        assert_eq!(err(&["--bogus"]), "invalid option '--bogus'; see `local-stdio --help`");
        assert_eq!(
            err(&["help", "frobnicate"]),
            "no command \"frobnicate\"; see `local-stdio --help`"
        );
        assert_eq!(
            err(&["claude-config", "--bogus"]),
            "claude-config: invalid option '--bogus'; see `local-stdio claude-config --help`"
        );
        assert_eq!(
            err(&["time", "--utc", "Tokyo"]),
            "time: invalid option '--utc'; see `local-stdio time --help`"
        );
        assert_eq!(
            err(&["time", "-x"]),
            "time: invalid option '-x'; see `local-stdio time --help`"
        );
        assert_eq!(
            err(&["guid", "extra"]),
            "guid: unexpected argument \"extra\"; see `local-stdio guid --help`"
        );
        assert!(err(&["mcp", "--stdio"]).starts_with("mcp: invalid option '--stdio'"));
        assert!(err(&["help", "mcp", "extra"]).starts_with("help: unexpected argument"));
        // A flag takes no value.
        let e = err(&["claude-config", "--write=yes"]);
        assert!(e.starts_with("claude-config: unexpected argument for option '--write'"), "{e}");
        // The first mistake is the one reported.
        let e = err(&["claude-config", "--wrte", "--conifg", "x"]);
        assert!(e.starts_with("claude-config: invalid option '--wrte'"), "{e}");
    }

    #[test]
    fn missing_values_are_usage_errors() {
        let missing = |option: &str| {
            format!(
                "claude-config: missing argument for option '{option}'; \
                 see `local-stdio claude-config --help`"
            )
        };
        assert_eq!(err(&["claude-config", "--config"]), missing("--config"));
        assert_eq!(err(&["claude-config", "--write", "--remote-url"]), missing("--remote-url"));
        // The next option is not taken as the value: no config file named `--write`.
        assert_eq!(err(&["claude-config", "--config", "--write"]), missing("--config"));
        assert_eq!(err(&["claude-config", "--remote-url", "-x"]), missing("--remote-url"));
        assert_eq!(err(&["time"]), "`time` needs a city, e.g. `local-stdio time Tokyo`");
        assert_eq!(err(&["time", " "]), "`time` needs a city, e.g. `local-stdio time Tokyo`");
    }

    #[test]
    fn help_lists_every_command() {
        for (verb, text) in COMMAND_HELP {
            assert!(USAGE.contains(&format!("\n  {verb} ")), "--help does not list {verb}");
            assert!(text.contains(&format!("Usage: local-stdio {verb}")), "{verb} --help");
        }
        assert_eq!(COMMAND_HELP.len(), 4);
        assert!(USAGE.contains("\n  help [COMMAND]"));
        assert!(USAGE.contains("-V, --version"));
    }

    #[test]
    fn help_for_the_program_and_each_command() {
        for args in [&["--help"][..], &["-h"], &["help"], &["--help", "mcp"], &["help", "--help"]] {
            assert_eq!(parse(args), Ok(Command::Help(USAGE)), "{args:?}");
        }
        for (verb, text) in COMMAND_HELP {
            for args in [vec![*verb, "--help"], vec![*verb, "-h"], vec!["help", verb]] {
                assert_eq!(parse(&args), Ok(Command::Help(text)), "{args:?}");
            }
        }
        // Help wins wherever it is, even after a mistake or where a value was due.
        assert_eq!(parse(["time", "New", "York", "--help"]), Ok(Command::Help(TIME_HELP)));
        assert_eq!(parse(["mcp", "extra", "-h"]), Ok(Command::Help(MCP_HELP)));
        assert_eq!(parse(["time", "-h"]), Ok(Command::Help(TIME_HELP)));
        assert_eq!(
            parse(["claude-config", "--bogus", "--help"]),
            Ok(Command::Help(CLAUDE_CONFIG_HELP))
        );
        assert_eq!(
            parse(["claude-config", "--config", "--help"]),
            Ok(Command::Help(CLAUDE_CONFIG_HELP))
        );
        assert_eq!(parse(["help", "frobnicate", "--help"]), Ok(Command::Help(USAGE)));
    }

    #[cfg(unix)]
    #[test]
    fn arguments_that_are_not_unicode() {
        use std::os::unix::ffi::OsStringExt;
        let bad = || OsString::from_vec(b"caf\xe9".to_vec());
        // A path need not be Unicode; a command, city or URL must.
        let a = parse([OsString::from("claude-config"), "--config".into(), bad()]);
        assert_eq!(
            a,
            Ok(Command::ClaudeConfig(ClaudeConfigArgs {
                config: Some(PathBuf::from(bad())),
                ..ClaudeConfigArgs::default()
            }))
        );
        let e = parse([bad()]).unwrap_err();
        assert!(e.starts_with("argument is invalid unicode"), "{e}");
        let e = parse([OsString::from("time"), bad()]).unwrap_err();
        assert!(e.starts_with("time: argument is invalid unicode"), "{e}");
        let e = parse([OsString::from("claude-config"), "--remote-url".into(), bad()]).unwrap_err();
        assert!(e.starts_with("claude-config: argument is invalid unicode"), "{e}");
    }
}
