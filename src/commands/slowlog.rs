//! SLOWLOG GET / LEN / RESET / HELP over every shard's slow log (`runtime/slowlog.rs`):
//! entries merged by id, newest first, as one log of `slowlog-max-len` entries.

use std::rc::Rc;

use bytes::Bytes;
use shards::{CmdError, Reply};

use crate::runtime::shard::Shard;
use crate::runtime::slowlog::Entry;

const COUNT_RANGE: &str = "ERR count should be greater than or equal to -1";

const HELP: &[&str] = &[
    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET [<count>]",
    "    The newest <count> entries (10 when not given, all with -1), each an array of:",
    "    its id, its Unix time, its duration in microseconds, the command's arguments,",
    "    the client's address and the client's name.",
    "LEN",
    "    How many entries the log holds.",
    "RESET",
    "    Empty the log.",
    "HELP",
    "    Prints this help.",
];

pub async fn run(shard: &Rc<Shard>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    match (sub.as_str(), args.len()) {
        ("help", 2) => Ok(Reply::Array(
            HELP.iter().map(|l| Reply::status(*l)).collect(),
        )),
        ("reset", 2) => {
            shard
                .run_everywhere(|| |sh: &Rc<Shard>| sh.slowlog.borrow_mut().reset())
                .await;
            Ok(Reply::Ok)
        }
        ("len", 2) => {
            let lens = shard
                .run_everywhere(|| |sh: &Rc<Shard>| sh.slowlog.borrow().len())
                .await;
            let max = shard.settings.borrow().slowlog_max_len as usize;
            Ok(Reply::Int(lens.iter().sum::<usize>().min(max) as i64))
        }
        ("get", 2 | 3) => {
            let count = match args.get(2) {
                None => 10,
                // Redis gives the range's message for anything but a number >= -1.
                Some(a) => match shards::args::parse_i64_opt(a) {
                    None => return Err(CmdError::other(COUNT_RANGE)),
                    Some(n) if n < -1 => return Err(CmdError::other(COUNT_RANGE)),
                    Some(-1) => usize::MAX,
                    Some(n) => n as usize,
                },
            };
            let max = shard.settings.borrow().slowlog_max_len as usize;
            let n = count.min(max);
            let mut entries: Vec<Entry> = shard
                .run_everywhere(|| move |sh: &Rc<Shard>| sh.slowlog.borrow().newest(n))
                .await
                .into_iter()
                .flatten()
                .collect();
            entries.sort_by_key(|e| std::cmp::Reverse(e.id));
            entries.truncate(n);
            Ok(Reply::Array(entries.into_iter().map(entry_reply).collect()))
        }
        ("get", _) => Err(CmdError::SubcommandSyntax {
            sub: String::from_utf8_lossy(&args[1]).into_owned(),
            cmd: "SLOWLOG".into(),
        }),
        ("help" | "reset" | "len", _) => Err(CmdError::WrongArity(format!("slowlog|{sub}"))),
        _ => Err(CmdError::UnknownSubcommand {
            sub: String::from_utf8_lossy(&args[1]).into_owned(),
            cmd: "SLOWLOG".into(),
        }),
    }
}

fn entry_reply(e: Entry) -> Reply {
    Reply::Array(vec![
        Reply::Int(e.id as i64),
        Reply::Int(e.time as i64),
        Reply::Int(e.micros as i64),
        Reply::Array(
            e.args
                .into_iter()
                .map(|a| Reply::Bulk(a.to_vec()))
                .collect(),
        ),
        Reply::Bulk(e.addr.into_bytes()),
        Reply::Bulk(e.name.into_bytes()),
    ])
}
