//! MONITOR: every command any client runs, on any shard, streamed to the monitoring
//! clients in Redis's format (`+<secs>.<micros> [<db> <addr>] "cmd" "arg" ...`). The
//! monitors are few and known to every shard through one process-wide list; a shard
//! that runs a command while any exist formats the line and hands it to each monitor's
//! own shard (directly, or as a message). Admin commands are not shown and AUTH's
//! arguments are redacted, as in Redis. RESET or closing the connection ends it.

use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use bytes::Bytes;
use shards::cmd::flags;
use shards::{CommandSpec, Reply, ShardId};

use crate::runtime::clients::ClientHandle;
use crate::runtime::shard::Shard;
use crate::runtime::work::{Answer, Work};

/// How many monitors exist: the command path's one check.
static COUNT: AtomicUsize = AtomicUsize::new(0);
/// Each monitor's shard and client id.
static MONITORS: Mutex<Vec<(ShardId, u64)>> = Mutex::new(Vec::new());

fn monitors() -> std::sync::MutexGuard<'static, Vec<(ShardId, u64)>> {
    MONITORS.lock().unwrap_or_else(|e| e.into_inner())
}

/// MONITOR: this client receives every command from now on.
pub fn start(shard: &Shard, client: &Rc<ClientHandle>) -> Reply {
    client.ensure_push_queue();
    client.monitor.set(true);
    let id = client.info.borrow().id;
    let mut list = monitors();
    if !list.contains(&(shard.id, id)) {
        list.push((shard.id, id));
        COUNT.store(list.len(), Ordering::SeqCst);
    }
    Reply::Ok
}

/// The client stops monitoring (RESET, or it left).
pub fn stop(shard: &Shard, client: &ClientHandle) {
    if !client.monitor.replace(false) {
        return;
    }
    let id = client.info.borrow().id;
    let mut list = monitors();
    list.retain(|&m| m != (shard.id, id));
    COUNT.store(list.len(), Ordering::SeqCst);
}

/// Shows a client's command to the monitors, if any.
#[inline]
pub fn feed(shard: &Rc<Shard>, client: &ClientHandle, spec: &CommandSpec, args: &[Bytes]) {
    if COUNT.load(Ordering::Relaxed) == 0 || spec.has(flags::ADMIN) {
        return;
    }
    let (db, addr, id) = {
        let info = client.info.borrow();
        (info.db, info.addr.clone(), info.id)
    };
    let line = format_line(db, &addr, spec, args);
    // Redis shows a command once it ran: a monitor's own RESET ends its monitoring
    // first.
    let skip = (spec.name == "reset").then_some((shard.id, id));
    send_line(shard, line, skip);
}

/// Shows a command a script ran (`[<db> lua]`), if any monitor exists.
#[inline]
pub fn feed_script(shard: &Rc<Shard>, db: usize, spec: &CommandSpec, args: &[Bytes]) {
    if COUNT.load(Ordering::Relaxed) == 0 || spec.has(flags::ADMIN) {
        return;
    }
    send_line(shard, format_line(db, "lua", spec, args), None);
}

/// Hands a line to every monitor (but `skip`), on its own shard.
fn send_line(shard: &Rc<Shard>, line: String, skip: Option<(ShardId, u64)>) {
    let targets: Vec<(ShardId, u64)> = monitors().clone();
    for (home, id) in targets {
        if Some((home, id)) == skip {
            continue;
        }
        let line = line.clone();
        if home == shard.id {
            deliver(shard, id, line);
        } else {
            let job = Box::new(move |sh: &Rc<Shard>| {
                deliver(sh, id, line);
                Box::new(()) as Answer
            });
            drop(shard.send(home, Work::Admin(job)));
        }
    }
}

fn deliver(shard: &Shard, id: u64, line: String) {
    let client = shard.clients.borrow().get(id);
    if let Some(c) = client {
        let push = crate::runtime::clients::Pushed::of(&Reply::Status(line));
        // A monitor that does not read is bounded like a subscriber.
        let limit = shard.settings.borrow().output_limits.pubsub;
        crate::runtime::pubsub::send(&c, push, &limit);
    }
}

/// `<secs>.<micros> [<db> <addr>] "arg" ...`, arguments quoted as Redis quotes them.
fn format_line(db: usize, addr: &str, spec: &CommandSpec, args: &[Bytes]) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut out = format!(
        "{}.{:06} [{} {}]",
        now.as_secs(),
        now.subsec_micros(),
        db,
        addr
    );
    let secret = secret_arguments(spec, args);
    for (i, a) in args.iter().enumerate() {
        out.push(' ');
        if secret(i) {
            out.push_str("\"(redacted)\"");
        } else {
            quote(&mut out, a);
        }
    }
    out
}

/// Which arguments MONITOR and the slow log show as `(redacted)`: AUTH's, and HELLO's
/// two after its AUTH option.
pub fn secret_arguments(spec: &CommandSpec, args: &[Bytes]) -> impl Fn(usize) -> bool {
    let hello_auth = (spec.name == "hello")
        .then(|| args.iter().position(|a| a.eq_ignore_ascii_case(b"auth")))
        .flatten();
    let auth = spec.name == "auth";
    move |i| match hello_auth {
        Some(at) => i > at && i <= at + 2,
        None => auth && i > 0,
    }
}

/// Redis's `sdscatrepr`: double quotes, backslash escapes, `\xHH` for the rest.
fn quote(out: &mut String, b: &[u8]) {
    out.push('"');
    for &c in b {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            c if c.is_ascii_graphic() || c == b' ' => out.push(c as char),
            c => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn arguments_are_quoted_as_redis_quotes_them() {
        let mut s = String::new();
        quote(&mut s, b"a \"b\"\\\n\x01\xff");
        assert_eq!(s, r#""a \"b\"\\\n\x01\xff""#);
    }
}
