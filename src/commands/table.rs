//! The server's columns of the command table: for every row the engine routes to the
//! server (`Route::Server`), which server command it is and how the connection treats
//! it. The engine's rows hold everything else (arity, flags, keys).

use std::sync::OnceLock;

use shards::cmd::{index_of, CommandSpec, Route, COMMANDS};

/// Commands the server answers itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerCmd {
    Ping,
    Echo,
    Quit,
    Reset,
    Hello,
    Select,
    Auth,
    Acl,
    Client,
    Info,
    Memory,
    Slowlog,
    Latency,
    Lolwut,
    Config,
    Time,
    LastSave,
    Save,
    BgSave,
    BgRewriteAof,
    Subscribe,
    Unsubscribe,
    PSubscribe,
    PUnsubscribe,
    SSubscribe,
    SUnsubscribe,
    Publish,
    SPublish,
    PubSub,
    Monitor,
    Replconf,
    /// PSYNC and SYNC.
    Psync,
    Wait,
    Role,
    /// REPLICAOF and SLAVEOF.
    ReplicaOf,
    Failover,
    Shutdown,
    Debug,
    Command,
    Scan,
    RandomKey,
    Multi,
    Exec,
    Discard,
    Watch,
    Unwatch,
    Cluster,
    ReadOnly,
    ReadWrite,
    Asking,
    Migrate,
    /// EVAL, EVAL_RO (`sha`: EVALSHA, EVALSHA_RO).
    Eval {
        sha: bool,
    },
    /// FCALL, FCALL_RO.
    Fcall,
    Script,
    Function,
    Module,
}

/// How a connection treats a server command.
#[derive(Clone, Copy)]
pub struct ServerRow {
    pub name: &'static str,
    pub cmd: ServerCmd,
    /// Runs without first sending the batch's queued work: it neither reads the
    /// keyspace nor depends on the commands before it.
    pub inline: bool,
    /// Acts at once inside MULTI instead of being queued.
    pub now_in_multi: bool,
}

const fn row(name: &'static str, cmd: ServerCmd, inline: bool, now_in_multi: bool) -> ServerRow {
    ServerRow {
        name,
        cmd,
        inline,
        now_in_multi,
    }
}

use ServerCmd::*;

/// One row per `Route::Server` row of the engine's table.
pub static SERVER_ROWS: &[ServerRow] = &[
    row("ping", Ping, true, false),
    row("echo", Echo, true, false),
    row("quit", Quit, false, true),
    row("reset", Reset, false, true),
    row("subscribe", Subscribe, false, false),
    row("unsubscribe", Unsubscribe, false, false),
    row("psubscribe", PSubscribe, false, false),
    row("punsubscribe", PUnsubscribe, false, false),
    row("ssubscribe", SSubscribe, false, false),
    row("sunsubscribe", SUnsubscribe, false, false),
    row("publish", Publish, false, false),
    row("spublish", SPublish, false, false),
    row("pubsub", PubSub, false, false),
    row("monitor", Monitor, false, false),
    row("replconf", Replconf, false, false),
    row("psync", Psync, false, false),
    row("sync", Psync, false, false),
    row("wait", Wait, false, false),
    row("role", Role, false, false),
    row("replicaof", ReplicaOf, false, false),
    row("slaveof", ReplicaOf, false, false),
    row("failover", Failover, false, false),
    row("hello", Hello, true, false),
    row("select", Select, true, false),
    row("auth", Auth, true, false),
    row("acl", Acl, true, false),
    row("client", Client, true, false),
    row("info", Info, false, false),
    row("memory", Memory, false, false),
    row("slowlog", Slowlog, false, false),
    row("latency", Latency, false, false),
    row("module", Module, true, false),
    row("lolwut", Lolwut, true, false),
    row("config", Config, false, false),
    row("time", Time, true, false),
    row("lastsave", LastSave, true, false),
    row("save", Save, false, false),
    row("bgsave", BgSave, false, false),
    row("bgrewriteaof", BgRewriteAof, false, false),
    row("shutdown", Shutdown, false, false),
    row("debug", Debug, false, false),
    row("command", Command, true, false),
    row("scan", Scan, false, false),
    row("randomkey", RandomKey, false, false),
    row("multi", Multi, true, true),
    row("exec", Exec, false, true),
    row("discard", Discard, false, true),
    row("watch", Watch, false, true),
    row("unwatch", Unwatch, false, false),
    row("cluster", Cluster, false, false),
    row("readonly", ReadOnly, true, false),
    row("readwrite", ReadWrite, true, false),
    row("asking", Asking, true, false),
    row("migrate", Migrate, false, false),
    row("eval", Eval { sha: false }, false, false),
    row("eval_ro", Eval { sha: false }, false, false),
    row("evalsha", Eval { sha: true }, false, false),
    row("evalsha_ro", Eval { sha: true }, false, false),
    row("fcall", Fcall, false, false),
    row("fcall_ro", Fcall, false, false),
    row("script", Script, false, false),
    row("function", Function, false, false),
];

/// The server row of every engine row (by row number), built once.
fn by_index() -> &'static [Option<ServerRow>] {
    static INDEX: OnceLock<Vec<Option<ServerRow>>> = OnceLock::new();
    INDEX.get_or_init(|| {
        COMMANDS
            .iter()
            .map(|c| SERVER_ROWS.iter().find(|r| r.name == c.name).copied())
            .collect()
    })
}

/// The server's row of a command the engine routes to the server.
pub fn server_row(spec: &CommandSpec) -> Option<ServerRow> {
    if !matches!(spec.route, Route::Server) {
        return None;
    }
    by_index()[index_of(spec)]
}

/// Which server command `spec` is, if the server answers it.
pub fn server_cmd(spec: &CommandSpec) -> Option<ServerCmd> {
    server_row(spec).map(|r| r.cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_server_row_of_the_engine_has_exactly_one_server_row() {
        for c in COMMANDS {
            let rows = SERVER_ROWS.iter().filter(|r| r.name == c.name).count();
            let expected = usize::from(matches!(c.route, Route::Server));
            assert_eq!(rows, expected, "{}", c.name);
        }
        for r in SERVER_ROWS {
            assert!(shards::lookup(r.name.as_bytes()).is_some(), "{}", r.name);
        }
    }

    #[test]
    fn rows_are_found_by_spec() {
        let exec = shards::lookup(b"EXEC").unwrap();
        assert_eq!(server_cmd(exec), Some(ServerCmd::Exec));
        assert!(server_row(exec).unwrap().now_in_multi);
        assert_eq!(server_cmd(shards::lookup(b"get").unwrap()), None);
        let sha = shards::lookup(b"evalsha_ro").unwrap();
        assert_eq!(server_cmd(sha), Some(ServerCmd::Eval { sha: true }));
    }
}
