//! Commands the server answers itself, one family per file; this file dispatches them.

pub mod acl;
pub mod aof;
mod client;
pub mod cluster;
mod command;
mod config;
mod config_rewrite;
mod config_values;
mod connection;
mod debug;
pub mod failover;
pub(crate) mod info;
mod keyspace;
mod latency;
mod lolwut;
pub mod memory;
pub mod metrics;
pub mod migrate;
mod module;
pub mod monitor;
pub mod pubsub;
pub mod replication;
pub mod save;
pub mod script;
pub mod script_admin;
mod script_busy;
pub mod script_engine;
mod slowlog;
pub mod snapshot;
pub mod table;
pub mod tracking;
pub mod txn;

pub use table::ServerCmd;

use std::rc::Rc;

use bytes::Bytes;
use shards::cmd::CommandSpec;
use shards::{CmdError, Reply};

use crate::runtime::clients::ClientHandle;
use crate::runtime::shard::Shard;

pub use connection::time;

/// Version reported to clients (HELLO, INFO): the Redis version whose behaviour we follow.
pub const REDIS_VERSION: &str = "7.2.4";

/// A container command's subcommand (`args[1]`) looked up in its table of names and
/// Redis arities (counting the command and the subcommand), with Redis's errors for an
/// unknown one and a wrong count.
pub(crate) fn subcommand(
    cmd: &str,
    table: &[(&'static str, i32)],
    args: &[bytes::Bytes],
) -> Result<&'static str, shards::CmdError> {
    let raw = String::from_utf8_lossy(&args[1]).into_owned();
    let lower = raw.to_ascii_lowercase();
    let Some(&(name, arity)) = table.iter().find(|(n, _)| *n == lower) else {
        return Err(shards::CmdError::UnknownSubcommand {
            sub: raw,
            cmd: cmd.into(),
        });
    };
    let argc = args.len() as i32;
    if (arity >= 0 && argc != arity) || (arity < 0 && argc < -arity) {
        return Err(shards::CmdError::WrongArity(format!("{cmd}|{name}")));
    }
    Ok(name)
}

/// What the connection does after a server command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    Continue,
    /// QUIT: close the connection once the reply is out.
    Close,
}

/// Runs a command the engine routes to the server (`Route::Server`).
pub async fn run(
    shard: &Rc<Shard>,
    client: &Rc<ClientHandle>,
    spec: &'static CommandSpec,
    args: Vec<Bytes>,
) -> (Reply, After) {
    let Some(cmd) = table::server_cmd(spec) else {
        return (
            CmdError::other("ERR command not routable").into(),
            After::Continue,
        );
    };
    let reply = match cmd {
        ServerCmd::Quit => return (Reply::Ok, After::Close),
        ServerCmd::Ping => match pubsub::subscribed_ping(client, &args) {
            Some(r) => Ok(r),
            None => connection::ping(client, &args),
        },
        ServerCmd::Echo => Ok(Reply::Bulk(args[1].to_vec())),
        ServerCmd::Select => connection::select(shard, client, &args),
        ServerCmd::Auth => connection::auth(shard, client, &args),
        ServerCmd::Hello => connection::hello(shard, client, &args),
        ServerCmd::Reset => {
            client.multi.borrow_mut().take();
            pubsub::forget(shard, client);
            monitor::stop(shard, client);
            txn::unwatch(shard, client).await;
            tracking::forget(shard, client).await;
            Ok(connection::reset(shard, client))
        }
        ServerCmd::Client => client::run(shard, client, &args).await,
        ServerCmd::Acl => acl::run(shard, client, &args).await,
        ServerCmd::Info => info::run(shard, client, &args).await,
        ServerCmd::Slowlog => slowlog::run(shard, &args).await,
        ServerCmd::Latency => latency::run(shard, &args).await,
        ServerCmd::Lolwut => lolwut::run(shard.nshards, &args),
        ServerCmd::Memory => memory::run(shard, client, spec, args).await,
        ServerCmd::Config => config::run(shard, &args).await,
        ServerCmd::Command => command::run(&args),
        ServerCmd::Module => module::run(&args),
        ServerCmd::Time => Ok(connection::time()),
        ServerCmd::LastSave => Ok(save::lastsave()),
        ServerCmd::Save => save::save(shard).await,
        ServerCmd::BgSave => save::bgsave(shard, &args).await,
        ServerCmd::BgRewriteAof => aof::bgrewriteaof(shard).await,
        ServerCmd::Shutdown => save::shutdown(shard, &args).await,
        ServerCmd::Debug => debug::run(shard, client, spec, &args).await,
        ServerCmd::Scan => keyspace::scan(shard, client, spec, args).await,
        ServerCmd::RandomKey => keyspace::randomkey(shard, client, spec, args).await,
        ServerCmd::Multi => Ok(txn::multi(client)),
        ServerCmd::Exec => Ok(Box::pin(txn::exec(shard, client)).await),
        ServerCmd::Discard => Ok(txn::discard(shard, client).await),
        ServerCmd::Watch => Ok(txn::watch(shard, client, &args).await),
        ServerCmd::Unwatch => Ok(txn::unwatch(shard, client).await),
        ServerCmd::Cluster => crate::commands::cluster::cluster(shard, client, &args).await,
        ServerCmd::ReadOnly | ServerCmd::ReadWrite | ServerCmd::Asking => {
            crate::commands::cluster::connection_flag(client, cmd)
        }
        ServerCmd::Migrate => {
            crate::commands::migrate::run(shard, client, &args, crate::commands::cluster::enabled())
                .await
        }
        ServerCmd::Eval { .. } | ServerCmd::Fcall => {
            Ok(script::eval(shard, client, spec, cmd, args, None).await)
        }
        ServerCmd::Script => Ok(script_admin::script(shard, args).await),
        ServerCmd::Function => Ok(script_admin::function(shard, args).await),
        ServerCmd::Subscribe
        | ServerCmd::Unsubscribe
        | ServerCmd::PSubscribe
        | ServerCmd::PUnsubscribe
        | ServerCmd::SSubscribe
        | ServerCmd::SUnsubscribe
        | ServerCmd::Publish
        | ServerCmd::SPublish
        | ServerCmd::PubSub => pubsub::run(shard, client, cmd, args).await,
        ServerCmd::Monitor => Ok(monitor::start(shard, client)),
        ServerCmd::Replconf => replication::replconf(shard, client, &args),
        ServerCmd::Psync => replication::psync(shard, client, &args).await,
        ServerCmd::Wait => replication::wait(shard, &args).await,
        ServerCmd::Role => Ok(replication::role()),
        ServerCmd::ReplicaOf => replication::replicaof(shard, client, &args),
        ServerCmd::Failover => failover::failover(shard, &args).await,
    };
    (reply.unwrap_or_else(Reply::Error), After::Continue)
}
