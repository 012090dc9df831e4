//! Measuring a batch's commands for INFO commandstats / errorstats / latencystats and
//! the slow log: one clock reading per command (the start of the next command, or of
//! the batch's settling, ends a command answered inline; commands answered by other
//! shards end when the batch's replies are encoded) and one recording per batch. The
//! arguments the slow log may need are kept in the client's reusable arena (no
//! allocation per command once it has grown), and copied out only for a slow command.

use std::time::{Duration, Instant};

use bytes::Bytes;
use shards::cmd::{flags, CommandSpec};
use shards::Reply;

use crate::runtime::clients::ClientHandle;
use crate::runtime::cmdstats::{CommandStats, Outcome};
use crate::runtime::shard::Shard;
use crate::runtime::slowlog::Entry;

/// One command's measure, riding with its reply slot.
pub struct Timing {
    spec: &'static CommandSpec,
    start: Instant,
    took: Option<Duration>,
    rejected: bool,
    /// A container's subcommand (`config|get`).
    sub: Option<&'static str>,
    /// Where its arguments are in the batch's arena, when the slow log may need them.
    args: Option<(u32, u32)>,
}

impl Timing {
    /// The command was answered inline: it ended at `now`.
    pub fn end_at(&mut self, now: Instant) {
        if self.took.is_none() {
            self.took = Some(now.saturating_duration_since(self.start));
        }
    }
}

/// The batch's measuring state.
pub struct Measure {
    /// `slowlog-log-slower-than` when the batch started.
    slow_us: i64,
    current: Option<Timing>,
    /// The arguments kept for the slow log (the client's `slow_args`, given back by
    /// the `Recorder`).
    arena: Vec<Bytes>,
}

impl Measure {
    pub fn new(shard: &Shard, client: &ClientHandle) -> Measure {
        Measure {
            slow_us: shard.settings.borrow().slowlog_log_slower_than,
            current: None,
            arena: std::mem::take(&mut *client.slow_args.borrow_mut()),
        }
    }

    /// A command starts at `now` (`None`: unknown, not measured).
    /// `sub`: the subcommand it names (`subcommands::called`).
    pub fn begin(
        &mut self,
        spec: Option<&'static CommandSpec>,
        sub: Option<usize>,
        args: &[Bytes],
        now: Instant,
    ) {
        self.current = spec.map(|spec| {
            let sub = sub.map(shards::cmd::subcommands::name);
            // The slow log needs the arguments after the command ran: they are kept
            // (shared, not copied) whenever it is on.
            let keep_args = self.slow_us >= 0;
            let args = keep_args.then(|| {
                let from = self.arena.len() as u32;
                self.arena.extend(args.iter().cloned());
                (from, self.arena.len() as u32)
            });
            Timing {
                spec,
                start: now,
                took: None,
                rejected: false,
                sub,
                args,
            }
        });
    }

    /// The command starts again at `now` (it waited for CLIENT PAUSE).
    pub fn restart(&mut self, now: Instant) {
        if let Some(t) = &mut self.current {
            t.start = now;
        }
    }

    /// The command was refused before it ran (`rejected_calls`).
    pub fn reject(&mut self) {
        if let Some(t) = &mut self.current {
            t.rejected = true;
        }
    }

    /// The command is not measured now (queued in MULTI).
    pub fn skip(&mut self) {
        self.current = None;
    }

    /// The measure for the command's reply slot.
    pub fn take(&mut self) -> Option<Timing> {
        self.current.take()
    }
}

/// Records a batch's replies: each measured command, each error.
pub struct Recorder<'a> {
    shard: &'a Shard,
    client: &'a ClientHandle,
    stats: std::cell::RefMut<'a, CommandStats>,
    end: Instant,
    slow_us: i64,
    /// `latency-monitor-threshold` (0: off).
    latency_ms: u64,
    arena: Vec<Bytes>,
}

impl<'a> Recorder<'a> {
    /// Takes over the batch's arena (given back to the client when dropped).
    pub fn new(shard: &'a Shard, client: &'a ClientHandle, measure: &mut Measure) -> Recorder<'a> {
        let settings = shard.settings.borrow();
        Recorder {
            shard,
            client,
            stats: shard.cmdstats.borrow_mut(),
            end: Instant::now(),
            slow_us: settings.slowlog_log_slower_than,
            latency_ms: crate::runtime::latency::threshold_ms(),
            arena: std::mem::take(&mut measure.arena),
        }
    }

    pub fn record(&mut self, timing: Option<Timing>, reply: &Reply) {
        if let Reply::Error(e) = reply {
            self.stats.error(&e.message());
        }
        let Some(t) = timing else {
            return;
        };
        let sub = t.sub;
        if t.rejected {
            self.stats.record(t.spec, sub, Outcome::Rejected);
            return;
        }
        let took = t
            .took
            .unwrap_or_else(|| self.end.saturating_duration_since(t.start));
        let failed = reply.is_error();
        self.stats
            .record(t.spec, sub, Outcome::Ran { took, failed });
        let micros = took.as_micros() as u64;
        if self.latency_ms > 0 && micros / 1000 >= self.latency_ms {
            let event = if t.spec.has(flags::FAST) {
                "fast-command"
            } else {
                "command"
            };
            crate::runtime::latency::add_sample(event, micros / 1000);
        }
        if self.slow_us >= 0 && micros >= self.slow_us as u64 && t.spec.name != "exec" {
            if let Some((from, to)) = t.args {
                self.log_slow(t.spec, from as usize..to as usize, micros);
            }
        }
    }

    fn log_slow(&self, spec: &CommandSpec, range: std::ops::Range<usize>, micros: u64) {
        let args = &self.arena[range];
        let secret = crate::commands::monitor::secret_arguments(spec, args);
        let (addr, name) = {
            let info = self.client.info.borrow();
            (info.addr.clone(), info.name.clone())
        };
        let entry = Entry::new(args, secret, micros, addr, name);
        let max = self.shard.settings.borrow().slowlog_max_len as usize;
        self.shard.slowlog.borrow_mut().push(entry, max);
    }
}

impl Drop for Recorder<'_> {
    fn drop(&mut self) {
        let mut arena = std::mem::take(&mut self.arena);
        // Keeps its capacity for the client's next batches, unless one grew it large.
        if arena.capacity() > 1024 {
            arena = Vec::new();
        } else {
            arena.clear();
        }
        *self.client.slow_args.borrow_mut() = arena;
    }
}
