//! What INFO commandstats, errorstats and latencystats report, kept per shard by the
//! router of the shard the client is on (INFO adds the shards up): calls, time,
//! rejected and failed calls and a latency histogram per command (per subcommand for
//! commands with subcommands, as `config|get`), and a count per error code.
//!
//! A command's time is measured on the client's shard from the start of its dispatch
//! to its reply: for a key on another shard that includes the hop.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use hdrhistogram::Histogram;
use shards::cmd::{index_of, CommandSpec, COMMANDS};

/// Redis's histogram bounds (nanoseconds: 1 µs to 1000 s) and precision.
const HIST_MIN_NS: u64 = 1024;
const HIST_MAX_NS: u64 = 1_000_000_000_000;
const HIST_DIGITS: u8 = 2;

/// Redis stops counting new error codes past this many (and says so in its log).
const MAX_ERROR_CODES: usize = 128;

#[derive(Default, Clone)]
pub struct CommandStat {
    pub calls: u64,
    pub ns: u64,
    pub rejected: u64,
    pub failed: u64,
    pub hist: Option<Box<Histogram<u32>>>,
}

impl CommandStat {
    fn record(&mut self, took: Duration, failed: bool, latency: bool) {
        let ns = took.as_nanos().min(u64::MAX as u128) as u64;
        self.calls += 1;
        self.ns += ns;
        self.failed += u64::from(failed);
        if latency {
            let hist = self.hist.get_or_insert_with(|| {
                Box::new(
                    Histogram::new_with_bounds(HIST_MIN_NS, HIST_MAX_NS, HIST_DIGITS)
                        .expect("valid histogram bounds"),
                )
            });
            hist.saturating_record(ns.clamp(HIST_MIN_NS, HIST_MAX_NS));
        }
    }

    /// Adds another shard's figures.
    pub fn add(&mut self, other: &CommandStat) {
        self.calls += other.calls;
        self.ns += other.ns;
        self.rejected += other.rejected;
        self.failed += other.failed;
        if let Some(h) = &other.hist {
            match &mut self.hist {
                Some(mine) => {
                    let _ = mine.add(h.as_ref());
                }
                None => self.hist = Some(h.clone()),
            }
        }
    }

    pub fn is_used(&self) -> bool {
        self.calls > 0 || self.rejected > 0
    }
}

/// One command's outcome, as the router saw it.
pub enum Outcome {
    /// Refused before it ran (arity, NOAUTH, -BUSY, a cluster redirect ...).
    Rejected,
    Ran {
        took: Duration,
        failed: bool,
    },
    /// Ran inside EXEC: a call (failed or not) whose own time is not known apart.
    InExec {
        failed: bool,
    },
}

/// A container command's subcommand as stats show it (`config|get`), when `args[1]`
/// names one of its subcommands.
pub fn sub_name(spec: &CommandSpec, args: &[bytes::Bytes]) -> Option<&'static str> {
    shards::cmd::subcommands::called(spec, args).map(shards::cmd::subcommands::name)
}

#[derive(Default)]
pub struct CommandStats {
    /// By row of the command table.
    rows: Vec<CommandStat>,
    /// Subcommands, by `name|sub`.
    subs: HashMap<&'static str, CommandStat>,
    errors: BTreeMap<String, u64>,
    /// `latency-tracking`.
    pub latency: bool,
}

impl CommandStats {
    pub fn new(latency: bool) -> Self {
        CommandStats {
            latency,
            ..Default::default()
        }
    }

    /// Records a command (`sub`: its subcommand's full name, `sub_name`).
    pub fn record(
        &mut self,
        spec: &'static CommandSpec,
        sub: Option<&'static str>,
        outcome: Outcome,
    ) {
        let latency = self.latency;
        let stat = match sub {
            Some(key) => self.subs.entry(key).or_default(),
            None => {
                let i = index_of(spec);
                if self.rows.len() <= i {
                    self.rows.resize_with(COMMANDS.len(), CommandStat::default);
                }
                &mut self.rows[i]
            }
        };
        match outcome {
            Outcome::Rejected => stat.rejected += 1,
            Outcome::Ran { took, failed } => stat.record(took, failed, latency),
            Outcome::InExec { failed } => {
                stat.calls += 1;
                stat.failed += u64::from(failed);
            }
        }
    }

    /// Counts an error reply by its code (the message's first word).
    pub fn error(&mut self, message: &str) {
        let code = message.split(' ').next().unwrap_or("ERR");
        if let Some(n) = self.errors.get_mut(code) {
            *n += 1;
        } else if self.errors.len() < MAX_ERROR_CODES {
            self.errors.insert(code.to_string(), 1);
        }
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&mut self) {
        let latency = self.latency;
        *self = CommandStats::new(latency);
    }

    /// Every used command's figures by name (histograms only when `hist`), and the
    /// error counts.
    pub fn snapshot(&self, hist: bool) -> Snapshot {
        let strip = |s: &CommandStat| {
            let mut s = s.clone();
            if !hist {
                s.hist = None;
            }
            s
        };
        let mut commands: Vec<(String, CommandStat)> = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_used())
            .map(|(i, s)| (COMMANDS[i].name.to_string(), strip(s)))
            .collect();
        let mut subs: Vec<(String, CommandStat)> = self
            .subs
            .iter()
            .filter(|(_, s)| s.is_used())
            .map(|(k, s)| (k.to_string(), strip(s)))
            .collect();
        subs.sort_by(|a, b| a.0.cmp(&b.0));
        commands.extend(subs);
        Snapshot {
            commands,
            errors: self.errors.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        }
    }
}

/// A shard's figures, for INFO.
#[derive(Default, Clone)]
pub struct Snapshot {
    pub commands: Vec<(String, CommandStat)>,
    pub errors: Vec<(String, u64)>,
}

impl Snapshot {
    /// Adds up shards' snapshots (commands in the order first seen).
    pub fn merge(all: &[Snapshot]) -> Snapshot {
        let mut commands: Vec<(String, CommandStat)> = Vec::new();
        let mut at: HashMap<String, usize> = HashMap::new();
        let mut errors: BTreeMap<String, u64> = BTreeMap::new();
        for s in all {
            for (name, stat) in &s.commands {
                match at.get(name) {
                    Some(&i) => commands[i].1.add(stat),
                    None => {
                        at.insert(name.clone(), commands.len());
                        commands.push((name.clone(), stat.clone()));
                    }
                }
            }
            for (code, n) in &s.errors {
                *errors.entry(code.clone()).or_default() += n;
            }
        }
        Snapshot {
            commands,
            errors: errors.into_iter().collect(),
        }
    }
}
