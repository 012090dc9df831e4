//! ACL and its subcommands in Redis 7.0's formats: SETUSER, GETUSER, DELUSER, LIST,
//! USERS, WHOAMI, CAT, GENPASS, LOG, DRYRUN, LOAD, SAVE, HELP. The users and the rule
//! language are `runtime/acl/`; AUTH and HELLO log in through `login` here.

use std::rc::Rc;
use std::sync::Arc;

use bytes::Bytes;
use shards::args::{eq_ic, parse_i64};
use shards::cmd::{lookup, subcommands};
use shards::{CmdError, Reply};

use crate::runtime::acl::check::{check, Denied};
use crate::runtime::acl::rules::{category_ids, hex, merge_selector_args, User, CATEGORIES};
use crate::runtime::acl::{self, LogEntry};
use crate::runtime::clients::ClientHandle;
use crate::runtime::shard::Shard;

const HELP: &[&str] = &[
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Print this help.",
];

/// Subcommands and their Redis arities (including `acl` and the subcommand).
const SUBCOMMANDS: &[(&str, i32)] = &[
    ("cat", -2),
    ("deluser", -3),
    ("dryrun", -4),
    ("genpass", -2),
    ("getuser", 3),
    ("help", 2),
    ("list", 2),
    ("load", 2),
    ("log", -2),
    ("save", 2),
    ("setuser", -3),
    ("users", 2),
    ("whoami", 2),
];

const NO_FILE: &str = "This Redis instance is not configured to use an ACL file. You may want \
    to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you \
    have a Redis configuration file set) in order to store users in the Redis configuration.";

fn other(msg: impl Into<String>) -> CmdError {
    CmdError::other(msg)
}

pub async fn run(
    shard: &Rc<Shard>,
    client: &ClientHandle,
    args: &[Bytes],
) -> Result<Reply, CmdError> {
    let name = super::subcommand("acl", SUBCOMMANDS, args)?;
    match name {
        "help" => Ok(Reply::Array(
            HELP.iter().map(|l| Reply::Status(l.to_string())).collect(),
        )),
        "whoami" => Ok(Reply::bulk(&client.user.borrow().name)),
        "users" => Ok(Reply::Array(
            acl::users().iter().map(|u| Reply::bulk(&u.name)).collect(),
        )),
        "list" => Ok(Reply::Array(
            acl::users()
                .iter()
                .map(|u| Reply::bulk(format!("user {} {}", u.name, u.describe())))
                .collect(),
        )),
        "getuser" => {
            let name = String::from_utf8_lossy(&args[2]);
            Ok(acl::get(&name).map_or(Reply::Nil, |u| getuser(&u)))
        }
        "setuser" => setuser(&args[2], &args[3..]).map(|_| Reply::Ok),
        "deluser" => deluser(shard, &args[2..]).await,
        "cat" => cat(args.get(2)),
        "genpass" => genpass(args.get(2)),
        "log" => log(args.get(2)),
        "dryrun" => dryrun(&args[2], &args[3..]),
        "load" | "save" => {
            let Some(path) = acl::file() else {
                return Err(other(format!("ERR {NO_FILE}")));
            };
            if name == "load" {
                load_file(&path).map_err(|e| other(format!("ERR {e}")))?;
            } else {
                save_file(&path).map_err(|e| other(format!("ERR {e}")))?;
            }
            Ok(Reply::Ok)
        }
        _ => unreachable!("every subcommand is matched"),
    }
}

/// ACL SETUSER: applies the rules to the user (created when new), all or nothing.
pub fn setuser(name: &[u8], rules: &[Bytes]) -> Result<(), CmdError> {
    let name = String::from_utf8_lossy(name).into_owned();
    if name.contains(' ') || name.contains('\0') {
        return Err(other(
            "ERR Usernames can't contain spaces or null characters",
        ));
    }
    let rules: Vec<Vec<u8>> = rules.iter().map(|r| r.to_vec()).collect();
    let pubsub = acl::pubsub_all_default();
    acl::change(|t| {
        let mut user = t
            .get(&name)
            .map(|u| (**u).clone())
            .unwrap_or_else(|| User::new(&name, pubsub));
        let merged = merge_selector_args(&rules).map_err(modifier_error)?;
        user.apply_all(&merged, pubsub).map_err(modifier_error)?;
        t.insert(name.clone(), user.sealed());
        Ok(())
    })
}

fn modifier_error((rule, e): (Vec<u8>, acl::rules::RuleError)) -> CmdError {
    if let acl::rules::RuleError::Unbalanced(_) = e {
        return other(format!("ERR {}", e.text()));
    }
    other(format!(
        "ERR Error in ACL SETUSER modifier '{}': {}",
        String::from_utf8_lossy(&rule),
        e.text()
    ))
}

fn getuser(u: &User) -> Reply {
    let s = |v: &str| Reply::bulk(v);
    let selector = |sel: &acl::rules::Selector| {
        vec![
            (s("commands"), s(&sel.describe_commands())),
            (s("keys"), s(&sel.describe_keys())),
            (s("channels"), s(&sel.describe_channels())),
        ]
    };
    let mut fields = vec![
        (
            s("flags"),
            Reply::Array(u.flags().iter().map(|f| s(f)).collect()),
        ),
        (
            s("passwords"),
            Reply::Array(u.passwords.iter().map(|p| s(&hex(p))).collect()),
        ),
    ];
    fields.extend(selector(&u.root));
    fields.push((
        s("selectors"),
        Reply::Array(
            u.selectors
                .iter()
                .map(|sel| Reply::Map(selector(sel)))
                .collect(),
        ),
    ));
    Reply::Map(fields)
}

async fn deluser(shard: &Rc<Shard>, names: &[Bytes]) -> Result<Reply, CmdError> {
    let names: Vec<String> = names
        .iter()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    if names.iter().any(|n| n == "default") {
        return Err(other("ERR The 'default' user cannot be removed"));
    }
    let removed = acl::change(|t| -> Result<Vec<String>, CmdError> {
        Ok(names
            .iter()
            .filter(|n| t.remove(*n).is_some())
            .cloned()
            .collect())
    })?;
    if !removed.is_empty() {
        // Their clients are disconnected, on every shard, before the reply.
        let gone = Arc::new(removed.clone());
        shard
            .run_everywhere(|| {
                let gone = gone.clone();
                move |s: &Rc<Shard>| {
                    // Killed and dropped from the list at once (CLIENT LIST right
                    // after no longer shows them), as CLIENT KILL USER does.
                    let mut clients = s.clients.borrow_mut();
                    for name in gone.iter() {
                        clients.kill(&crate::runtime::clients::KillFilter {
                            user: Some(name.clone()),
                            ..Default::default()
                        });
                    }
                }
            })
            .await;
    }
    Ok(Reply::Int(removed.len() as i64))
}

fn cat(category: Option<&Bytes>) -> Result<Reply, CmdError> {
    let Some(c) = category else {
        return Ok(Reply::Array(CATEGORIES.iter().map(Reply::bulk).collect()));
    };
    let name = String::from_utf8_lossy(c).into_owned();
    let ids = category_ids(&name).ok_or_else(|| other(format!("ERR Unknown category '{name}'")))?;
    Ok(Reply::Array(
        ids.into_iter()
            .map(|id| Reply::bulk(subcommands::name(id)))
            .collect(),
    ))
}

fn genpass(bits: Option<&Bytes>) -> Result<Reply, CmdError> {
    let bits = match bits {
        None => 256,
        Some(b) => match parse_i64(b)? {
            n if (1..=4096).contains(&n) => n as usize,
            _ => {
                return Err(other(
                    "ERR ACL GENPASS argument must be the number of bits for the output \
                     password, a positive number up to 4096",
                ))
            }
        },
    };
    let chars = bits.div_ceil(4);
    let mut raw = vec![0u8; chars.div_ceil(2)];
    // SAFETY: the buffer is valid for writes of its whole length.
    let got = unsafe { libc::getrandom(raw.as_mut_ptr().cast(), raw.len(), 0) };
    if got != raw.len() as isize {
        return Err(other("ERR cannot read random bytes"));
    }
    let mut text = hex(&raw);
    text.truncate(chars);
    Ok(Reply::bulk(text))
}

fn log(arg: Option<&Bytes>) -> Result<Reply, CmdError> {
    let count = match arg {
        None => 10,
        Some(a) if eq_ic(a, "reset") => {
            acl::log_reset();
            return Ok(Reply::Ok);
        }
        Some(a) => parse_i64(a)?.max(0) as usize,
    };
    let now = shards::clock::system_ms();
    let s = |v: &str| Reply::bulk(v);
    Ok(Reply::Array(
        acl::log_entries(count)
            .into_iter()
            .map(|e| {
                Reply::Map(vec![
                    (s("count"), Reply::Int(e.count as i64)),
                    (s("reason"), s(e.reason)),
                    (s("context"), s(e.context)),
                    (s("object"), s(&e.object)),
                    (s("username"), s(&e.username)),
                    (
                        s("age-seconds"),
                        Reply::Double(now.saturating_sub(e.updated_ms) as f64 / 1000.0),
                    ),
                    (s("client-info"), s(&e.client_info)),
                ])
            })
            .collect(),
    ))
}

fn dryrun(user: &Bytes, cmd: &[Bytes]) -> Result<Reply, CmdError> {
    let name = String::from_utf8_lossy(user).into_owned();
    let u = acl::get(&name).ok_or_else(|| other(format!("ERR User '{name}' not found")))?;
    let spec = lookup(&cmd[0]).ok_or_else(|| {
        other(format!(
            "ERR Command '{}' not found",
            String::from_utf8_lossy(&cmd[0])
        ))
    })?;
    if let Some(name) = subcommands::arity_error(spec, cmd) {
        return Err(CmdError::WrongArity(name.into()));
    }
    Ok(match check(&u, spec, cmd) {
        Ok(()) => Reply::Ok,
        Err(d) => Reply::bulk(d.dryrun()),
    })
}

/// ACL LOG's context of a client's command: inside MULTI or not.
pub fn context(client: &ClientHandle) -> &'static str {
    if client.multi.borrow().is_some() {
        "multi"
    } else {
        "toplevel"
    }
}

/// Records a refused command in ACL LOG and answers with its NOPERM error.
pub fn denied(client: &ClientHandle, d: &Denied, context: &'static str) -> CmdError {
    let username = client.user.borrow().name.clone();
    let info = client.line(shards::clock::system_ms());
    acl::log(LogEntry::now(
        d.reason(),
        context,
        d.object(),
        username,
        info,
    ));
    other(d.message())
}

/// A script's caller, for checking the commands the script runs (Redis's context
/// `lua` in ACL LOG).
pub struct ScriptAcl {
    user: Arc<User>,
    client_info: String,
}

impl ScriptAcl {
    /// `None` for a caller that may do everything (nothing to check).
    pub fn of(client: &ClientHandle) -> Option<ScriptAcl> {
        let user = client.user.borrow();
        if user.open || client.trusted.get() {
            return None;
        }
        Some(ScriptAcl {
            user: user.clone(),
            client_info: client.line(shards::clock::system_ms()),
        })
    }

    /// The error a script's command gets when the caller may not run it.
    pub fn refusal(&self, spec: &shards::cmd::CommandSpec, args: &[Bytes]) -> Option<Reply> {
        let d = check(&self.user, spec, args).err()?;
        let (user, info) = (self.user.name.clone(), self.client_info.clone());
        acl::log(LogEntry::now(d.reason(), "lua", d.object(), user, info));
        let what = match d {
            Denied::Command(_) => "run this command or subcommand",
            Denied::Key(_) => "access at least one of the keys mentioned in the command arguments",
            Denied::Channel(_) => "publish to the channel mentioned in the command",
        };
        Some(other(format!("ERR The user executing the script can't {what}")).into())
    }
}

/// AUTH / HELLO AUTH: logs the client in, or records the failure.
pub fn login(client: &ClientHandle, user: &[u8], pass: &[u8]) -> Result<(), CmdError> {
    let name = String::from_utf8_lossy(user).into_owned();
    match acl::get(&name) {
        Some(u) if u.accepts(pass) => {
            client.login(u);
            Ok(())
        }
        _ => {
            let info = client.line(shards::clock::system_ms());
            acl::log(LogEntry::now(
                "auth",
                context(client),
                "AUTH".into(),
                name,
                info,
            ));
            Err(other(
                "WRONGPASS invalid username-password pair or user is disabled.",
            ))
        }
    }
}

/// An ACL file's text: one `user <name> <rules>` line per user.
fn file_text() -> String {
    acl::users()
        .iter()
        .map(|u| format!("user {} {}\n", u.name, u.describe()))
        .collect()
}

pub fn save_file(path: &str) -> Result<(), String> {
    let tmp = format!("{path}.tmp");
    std::fs::write(&tmp, file_text()).map_err(|e| format!("cannot write {tmp}: {e}"))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot rename {tmp}: {e}"))
}

/// Replaces every user with the file's (a `default` user is kept as it is made when
/// the file has none); nothing changes when a line is bad.
pub fn load_file(path: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let pubsub = acl::pubsub_all_default();
    let mut users: std::collections::BTreeMap<String, Arc<User>> = Default::default();
    for (no, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words: Vec<Vec<u8>> = line
            .split_whitespace()
            .map(|w| w.as_bytes().to_vec())
            .collect();
        if words.len() < 2 || words[0] != b"user" {
            return Err(format!("{path}:{}: should start with user keyword", no + 1));
        }
        let name = String::from_utf8_lossy(&words[1]).into_owned();
        if users.contains_key(&name) {
            return Err(format!("{path}:{}: Duplicate user '{name}' found", no + 1));
        }
        let mut u = User::new(&name, pubsub);
        let bad = |(r, e): (Vec<u8>, acl::rules::RuleError)| {
            format!(
                "{path}:{}: '{}': {}",
                no + 1,
                String::from_utf8_lossy(&r),
                e.text()
            )
        };
        let merged = merge_selector_args(&words[2..]).map_err(bad)?;
        u.apply_all(&merged, pubsub).map_err(bad)?;
        users.insert(name, u.sealed());
    }
    users
        .entry("default".into())
        .or_insert_with(|| User::default_user().sealed());
    acl::change(|t| -> Result<(), String> {
        *t = users;
        Ok(())
    })
}
