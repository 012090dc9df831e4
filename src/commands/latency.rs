//! LATENCY LATEST / HISTORY / RESET / GRAPH / DOCTOR / HISTOGRAM / HELP: the latency
//! monitor's events (`runtime/latency.rs`) and the per-command histograms every shard
//! keeps for INFO latencystats (`runtime/cmdstats.rs`), added up.

use std::fmt::Write;
use std::rc::Rc;

use bytes::Bytes;
use shards::{CmdError, Reply};

use crate::runtime::cmdstats::{CommandStat, Snapshot};
use crate::runtime::latency::{self, Series};
use crate::runtime::shard::Shard;

const HELP: &[&str] = &[
    "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    A report in words on the events the latency monitor recorded.",
    "GRAPH <event>",
    "    An ASCII chart of the <event>'s samples.",
    "HISTORY <event>",
    "    The <event>'s samples: pairs of Unix time and milliseconds.",
    "LATEST",
    "    Each event's latest sample: name, Unix time, milliseconds, all-time maximum.",
    "RESET [<event> ...]",
    "    Forget the samples of the <event>s (of every event when none is named).",
    "HISTOGRAM [COMMAND ...]",
    "    The latency distribution of each named command (of every command when none is",
    "    named): calls and cumulative counts per power-of-two bucket of microseconds.",
    "HELP",
    "    Prints this help.",
];

pub async fn run(shard: &Rc<Shard>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    let event = args.get(2).map(|a| String::from_utf8_lossy(a).into_owned());
    match (sub.as_str(), args.len()) {
        ("history", 3) => Ok(Reply::Array(
            latency::get(event.as_deref().unwrap_or_default())
                .map(|s| s.samples)
                .unwrap_or_default()
                .into_iter()
                .map(|(t, ms)| Reply::Array(vec![Reply::Int(t as i64), Reply::Int(ms as i64)]))
                .collect(),
        )),
        ("graph", 3) => {
            let event = event.unwrap_or_default();
            match latency::get(&event) {
                Some(s) => Ok(Reply::Verbatim(graph(&event, &s))),
                None => Err(CmdError::other(format!(
                    "ERR No samples available for event '{event}'"
                ))),
            }
        }
        ("latest", 2) => Ok(Reply::Array(
            latency::all()
                .into_iter()
                .map(|(name, s)| {
                    let (t, ms) = s.samples.last().copied().unwrap_or_default();
                    Reply::Array(vec![
                        Reply::Bulk(name.into_bytes()),
                        Reply::Int(t as i64),
                        Reply::Int(ms as i64),
                        Reply::Int(s.max as i64),
                    ])
                })
                .collect(),
        )),
        ("doctor", 2) => Ok(Reply::Verbatim(doctor())),
        ("reset", _) => {
            let n = if args.len() == 2 {
                latency::reset(None)
            } else {
                args[2..]
                    .iter()
                    .map(|e| latency::reset(Some(&String::from_utf8_lossy(e))))
                    .sum()
            };
            Ok(Reply::Int(n as i64))
        }
        ("histogram", _) => Ok(histogram(shard, &args[2..]).await),
        ("help", 2) => Ok(Reply::Array(
            HELP.iter().map(|l| Reply::status(*l)).collect(),
        )),
        ("history" | "graph" | "latest" | "doctor" | "help", _) => {
            Err(CmdError::WrongArity(format!("latency|{sub}")))
        }
        _ => Err(CmdError::UnknownSubcommand {
            sub: String::from_utf8_lossy(&args[1]).into_owned(),
            cmd: "LATENCY".into(),
        }),
    }
}

/// Every shard's per-command histograms, added up.
async fn merged(shard: &Rc<Shard>) -> Snapshot {
    let all: Vec<Snapshot> = shard
        .run_everywhere(|| |sh: &Rc<Shard>| sh.cmdstats.borrow().snapshot(true))
        .await;
    Snapshot::merge(&all)
}

/// LATENCY HISTOGRAM: for each command (`names`, or all), its calls and the cumulative
/// count per bucket, buckets doubling from 1024 ns, keyed by their top in µs.
async fn histogram(shard: &Rc<Shard>, names: &[Bytes]) -> Reply {
    let stats = merged(shard).await;
    let wanted: Vec<(String, &CommandStat)> = if names.is_empty() {
        stats.commands.iter().map(|(n, c)| (n.clone(), c)).collect()
    } else {
        let mut out = Vec::new();
        for name in names {
            let name = String::from_utf8_lossy(name).to_ascii_lowercase();
            for (n, c) in &stats.commands {
                let sub_of = n
                    .strip_prefix(name.as_str())
                    .is_some_and(|r| r.starts_with('|'));
                if *n == name || sub_of {
                    out.push((n.clone(), c));
                }
            }
        }
        out
    };
    Reply::Map(
        wanted
            .into_iter()
            .filter_map(|(name, c)| {
                let h = c.hist.as_ref()?;
                let mut buckets = Vec::new();
                let mut total = 0u64;
                for v in h.iter_log(1024, 2.0) {
                    let before = total;
                    total += v.count_since_last_iteration();
                    if total > before {
                        let micros = h.highest_equivalent(v.value_iterated_to()) / 1000;
                        buckets.push((Reply::Int(micros as i64), Reply::Int(total as i64)));
                    }
                }
                let body = Reply::Map(vec![
                    (Reply::bulk("calls"), Reply::Int(h.len() as i64)),
                    (Reply::bulk("histogram_usec"), Reply::Map(buckets)),
                ]);
                Some((Reply::Bulk(name.into_bytes()), body))
            })
            .collect(),
    )
}

/// An event's samples as columns of `#` four rows high (the oldest on the left),
/// each labelled below with how long ago it was.
fn graph(event: &str, s: &Series) -> String {
    const COLS: usize = 80;
    const ROWS: u64 = 4;
    let samples = &s.samples[s.samples.len().saturating_sub(COLS)..];
    let high = samples.iter().map(|x| x.1).max().unwrap_or(0);
    let low = samples.iter().map(|x| x.1).min().unwrap_or(0);
    let mut out = format!(
        "{event} - high {high} ms, low {low} ms (all time high {} ms)\n{}\n",
        s.max,
        "-".repeat(COLS)
    );
    let height = |ms: u64| {
        if high == low {
            ROWS
        } else {
            1 + (ms - low) * (ROWS - 1) / (high - low)
        }
    };
    for row in (1..=ROWS).rev() {
        let line: String = samples
            .iter()
            .map(|x| if height(x.1) >= row { '#' } else { ' ' })
            .collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let now = shards::clock::system_ms() / 1000;
    let labels: Vec<String> = samples
        .iter()
        .map(|x| ago(now.saturating_sub(x.0)))
        .collect();
    let depth = labels.iter().map(String::len).max().unwrap_or(0);
    for i in 0..depth {
        let line: String = labels
            .iter()
            .map(|l| l.as_bytes().get(i).map_or(' ', |b| *b as char))
            .collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `12s`, `5m`, `3h`, `2d`.
fn ago(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

/// LATENCY DOCTOR: each event's figures, and what the settings allow.
fn doctor() -> String {
    let events = latency::all();
    let threshold = latency::threshold_ms();
    let mut out = String::new();
    if threshold == 0 {
        out.push_str(
            "The latency monitor is off (latency-monitor-threshold 0): no event is \
             recorded. Turn it on with CONFIG SET latency-monitor-threshold <milliseconds>.\n",
        );
    }
    if events.is_empty() {
        out.push_str("No latency event was recorded: no command took as long as the threshold.\n");
        return out;
    }
    let _ = writeln!(
        out,
        "{} latency event(s) recorded since the last LATENCY RESET:\n",
        events.len()
    );
    for (i, (name, s)) in events.iter().enumerate() {
        let n = s.samples.len() as u64;
        let avg = s.samples.iter().map(|x| x.1).sum::<u64>() / n.max(1);
        let mad = s.samples.iter().map(|x| x.1.abs_diff(avg)).sum::<u64>() / n.max(1);
        let span = match (s.samples.first(), s.samples.last()) {
            (Some(a), Some(b)) => b.0 - a.0,
            _ => 0,
        };
        let _ = writeln!(
            out,
            "{}. {name}: {n} second(s) with a sample over {span} s, average {avg} ms, \
             mean deviation {mad} ms, highest {} ms.",
            i + 1,
            s.max
        );
    }
    let names: Vec<&str> = events.iter().map(|e| e.0.as_str()).collect();
    if names
        .iter()
        .any(|n| *n == "command" || *n == "fast-command")
    {
        out.push_str(
            "\nSlow commands: SLOWLOG GET shows which; commands over large values or whole \
             keyspaces (KEYS, SORT, LRANGE of long lists, big SUNION/ZUNIONSTORE) take time \
             in proportion to their data.\n",
        );
    }
    out
}
