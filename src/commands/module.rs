//! MODULE: corecache loads no modules. LIST answers an empty list (clients and tools
//! ask it to see what the server offers); LOAD, LOADEX and UNLOAD are refused as
//! redis-server refuses them with its default `enable-module-command no`.

use bytes::Bytes;
use shards::{CmdError, Reply};

const HELP: &[&str] = &[
    "MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LIST",
    "    The loaded modules (corecache has none).",
    "LOAD <path> [<arg> ...]",
    "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
    "UNLOAD <name>",
    "    Refused: modules cannot be loaded into corecache.",
    "HELP",
    "    Prints this help.",
];

const NOT_ALLOWED: &str = "ERR MODULE command not allowed. If the enable-module-command option \
    is set to \"local\", you can run it from a local connection, otherwise you need to set \
    this option in the configuration file, and then restart the server.";

/// (The argument counts of MODULE's subcommands are checked before it runs, from the
/// subcommand table.)
pub fn run(args: &[Bytes]) -> Result<Reply, CmdError> {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    match sub.as_str() {
        "list" => Ok(Reply::Array(Vec::new())),
        "help" => Ok(Reply::Array(
            HELP.iter().map(|l| Reply::status(*l)).collect(),
        )),
        "load" | "loadex" | "unload" => Err(CmdError::other(NOT_ALLOWED)),
        _ => Err(CmdError::UnknownSubcommand {
            sub: String::from_utf8_lossy(&args[1]).into_owned(),
            cmd: "module".into(),
        }),
    }
}
