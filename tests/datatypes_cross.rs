//! Multi-key data-type commands give the same replies and final state whether their keys
//! share a shard or not: every scenario runs twice on a 4-shard server, once with keys
//! forced onto one shard by a hash tag and once with keys spread over the shards, and
//! both runs must agree (and, on one shard, agree with a 1-shard server).

mod common;

use common::*;
use redis::Value;

/// A scenario: commands with `A`, `B`, `C`, `D` standing for keys.
struct Scenario {
    name: &'static str,
    steps: &'static [&'static [&'static str]],
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "set algebra",
        steps: &[
            &["SADD", "A", "1", "2", "3", "x"],
            &["SADD", "B", "2", "3", "4"],
            &["SADD", "C", "3", "5"],
            &["SINTER", "A", "B"],
            &["SUNION", "A", "B", "C"],
            &["SDIFF", "A", "B", "C"],
            &["SINTERCARD", "2", "A", "B"],
            &["SINTERSTORE", "D", "A", "B"],
            &["SMEMBERS", "D"],
            &["SUNIONSTORE", "D", "A", "C"],
            &["SCARD", "D"],
            &["SDIFFSTORE", "D", "A", "A"],
            &["EXISTS", "D"],
            &["SMOVE", "A", "B", "x"],
            &["SMOVE", "A", "B", "nope"],
            &["SISMEMBER", "B", "x"],
            &["SINTER", "A", "missing"],
        ],
    },
    Scenario {
        name: "list moves",
        steps: &[
            &["RPUSH", "A", "a", "b", "c"],
            &["LMOVE", "A", "B", "LEFT", "RIGHT"],
            &["RPOPLPUSH", "A", "B"],
            &["LRANGE", "A", "0", "-1"],
            &["LRANGE", "B", "0", "-1"],
            &["LMPOP", "2", "C", "B", "RIGHT", "COUNT", "5"],
            &["EXISTS", "B"],
            &["LMOVE", "A", "A", "LEFT", "RIGHT"],
            &["SET", "C", "string"],
            &["LMOVE", "A", "C", "LEFT", "LEFT"],
            &["LRANGE", "A", "0", "-1"],
        ],
    },
    Scenario {
        name: "sorted set algebra",
        steps: &[
            &["ZADD", "A", "1", "a", "2", "b", "3", "c"],
            &["ZADD", "B", "10", "b", "20", "d"],
            &["ZUNION", "2", "A", "B", "WITHSCORES"],
            &["ZINTER", "2", "A", "B", "WEIGHTS", "2", "3", "WITHSCORES"],
            &["ZDIFF", "2", "A", "B"],
            &["ZUNIONSTORE", "C", "2", "A", "B", "AGGREGATE", "MAX"],
            &["ZRANGE", "C", "0", "-1", "WITHSCORES"],
            &["ZINTERSTORE", "D", "2", "A", "B"],
            &["ZRANGE", "D", "0", "-1", "WITHSCORES"],
            &["ZDIFFSTORE", "D", "2", "A", "B"],
            &["ZINTERCARD", "2", "A", "B"],
            &["ZRANGESTORE", "D", "A", "0", "1"],
            &["ZRANGE", "D", "0", "-1"],
            &["ZMPOP", "2", "C", "A", "MIN", "COUNT", "2"],
        ],
    },
    Scenario {
        name: "hyperloglog and bitops",
        steps: &[
            &["PFADD", "A", "a", "b", "c"],
            &["PFADD", "B", "c", "d"],
            &["PFCOUNT", "A", "B"],
            &["PFMERGE", "C", "A", "B"],
            &["PFCOUNT", "C"],
            &["SET", "A", "\u{ff}\u{f0}"],
            &["SET", "B", "\u{0f}"],
            &["BITOP", "AND", "D", "A", "B"],
            &["GET", "D"],
            &["BITOP", "OR", "D", "A", "B", "C"],
        ],
    },
    Scenario {
        name: "rename, copy and sort of collections",
        steps: &[
            &["RPUSH", "A", "3", "1", "2"],
            &["RENAME", "A", "B"],
            &["TYPE", "B"],
            &["COPY", "B", "C"],
            &["LRANGE", "C", "0", "-1"],
            &["SORT", "C", "STORE", "D"],
            &["LRANGE", "D", "0", "-1"],
            &["HSET", "A", "f", "v"],
            &["RENAMENX", "A", "B"],
            &["RENAMENX", "A", "E"],
            &["HGETALL", "E"],
        ],
    },
    Scenario {
        name: "geo stores and blocking pops that find data",
        steps: &[
            &[
                "GEOADD",
                "A",
                "13.361389",
                "38.115556",
                "Palermo",
                "15.087269",
                "37.502669",
                "Catania",
            ],
            &[
                "GEOSEARCHSTORE",
                "B",
                "A",
                "FROMLONLAT",
                "15",
                "37",
                "BYRADIUS",
                "200",
                "km",
                "ASC",
                "STOREDIST",
            ],
            &["ZRANGE", "B", "0", "-1", "WITHSCORES"],
            &["GEORADIUS", "A", "15", "37", "200", "km", "STORE", "C"],
            &["ZRANGE", "C", "0", "-1", "WITHSCORES"],
            &["RPUSH", "D", "x", "y", "z"],
            &["BLMPOP", "1", "2", "C", "D", "LEFT"],
            &["BLMPOP", "1", "2", "missing", "D", "RIGHT", "COUNT", "2"],
            &["BZMPOP", "1", "2", "C", "B", "MIN", "COUNT", "1"],
            &["BZPOPMAX", "missing", "C", "1"],
            &["RPUSH", "D", "a", "b"],
            &["BLPOP", "missing", "D", "1"],
            &["BRPOPLPUSH", "D", "missing", "1"],
            &["LRANGE", "missing", "0", "-1"],
            &["BLMOVE", "D", "C", "LEFT", "LEFT", "1"],
        ],
    },
];

/// Names for A..D: either all tagged onto one slot, or one per shard of 4.
fn key_names(tagged: bool) -> Vec<String> {
    if tagged {
        return ["{t}a", "{t}b", "{t}c", "{t}d"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    }
    keys_on_every_shard(4)
}

fn run(s: &Server, scenario: &Scenario, names: &[String]) -> Vec<String> {
    let mut c = s.conn();
    let _: Value = redis::cmd("FLUSHALL").query(&mut c).unwrap();
    let mut out = Vec::new();
    for step in scenario.steps {
        let mut cmd = redis::cmd(step[0]);
        for arg in &step[1..] {
            let arg = match *arg {
                "A" => names[0].as_str(),
                "B" => names[1].as_str(),
                "C" => names[2].as_str(),
                "D" => names[3].as_str(),
                other => other,
            };
            cmd.arg(arg);
        }
        let reply = match cmd.query::<Value>(&mut c) {
            Ok(v) => normalize(step[0], v, names),
            Err(e) => format!("error: {e}"),
        };
        out.push(format!("{:?} -> {reply}", step));
    }
    out
}

/// Commands whose replies Redis leaves unordered.
const UNORDERED: &[&str] = &["SMEMBERS", "SINTER", "SUNION", "SDIFF"];

/// Replaces key names by their letters and sorts unordered replies (SMEMBERS ...).
fn normalize(cmd: &str, v: Value, names: &[String]) -> String {
    let mut text = format!("{v:?}");
    for (i, n) in names.iter().enumerate() {
        text = text.replace(n.as_str(), ["A", "B", "C", "D"][i]);
    }
    if let Value::Set(mut items) | Value::Array(mut items) = v {
        if UNORDERED.contains(&cmd) {
            items.sort_by_key(|i| format!("{i:?}"));
            return normalize_sorted(items, names);
        }
    }
    text
}

fn normalize_sorted(items: Vec<Value>, names: &[String]) -> String {
    let mut text = format!("{items:?}");
    for (i, n) in names.iter().enumerate() {
        text = text.replace(n.as_str(), ["A", "B", "C", "D"][i]);
    }
    text
}

#[test]
fn multi_key_commands_agree_across_shard_layouts() {
    let four = Server::start(4);
    let one = Server::start(1);
    for scenario in SCENARIOS {
        let tagged = run(&four, scenario, &key_names(true));
        let spread = run(&four, scenario, &key_names(false));
        let single = run(&one, scenario, &key_names(true));
        assert_eq!(
            tagged, single,
            "{}: 4 shards (one slot) vs 1 shard",
            scenario.name
        );
        assert_eq!(
            spread, tagged,
            "{}: keys spread over shards vs one shard",
            scenario.name
        );
        assert!(
            !spread.iter().any(|l| l.contains("not implemented")),
            "{}: {spread:#?}",
            scenario.name
        );
    }
}

/// SORT and SORT_RO with BY and GET patterns read the keys the patterns name on
/// whatever shard owns them (all shards held while it runs), and STORE writes its key
/// where it lives.
#[test]
fn sort_patterns_read_keys_of_every_shard() {
    for shards in [2, 4] {
        let s = Server::start(shards);
        let mut c = s.conn();
        let ids: Vec<String> = (0..30).map(|i| i.to_string()).collect();
        let mut rpush = vec!["RPUSH", "ids"];
        rpush.extend(ids.iter().map(String::as_str));
        let _: i64 = q(&mut c, &rpush);
        for i in 0..30 {
            // Distinct weights: a reversed order.
            let _: () = q(
                &mut c,
                &["SET", &format!("weight:{i}"), &(100 - i).to_string()],
            );
            let _: i64 = q(
                &mut c,
                &["HSET", &format!("user:{i}"), "name", &format!("n{i}")],
            );
        }
        let sorted: Vec<String> = q(&mut c, &["SORT", "ids", "BY", "weight:*"]);
        let want: Vec<String> = (0..30).rev().map(|i| i.to_string()).collect();
        assert_eq!(sorted, want, "{shards} shards");
        let names: Vec<String> = q(
            &mut c,
            &[
                "SORT_RO",
                "ids",
                "BY",
                "weight:*",
                "LIMIT",
                "0",
                "3",
                "GET",
                "#",
                "GET",
                "user:*->name",
            ],
        );
        assert_eq!(names, ["29", "n29", "28", "n28", "27", "n27"]);
        let n: i64 = q(
            &mut c,
            &[
                "SORT",
                "ids",
                "BY",
                "weight:*",
                "GET",
                "user:*->name",
                "STORE",
                "dest",
            ],
        );
        assert_eq!(n, 30);
        let stored: Vec<String> = q(&mut c, &["LRANGE", "dest", "0", "2"]);
        assert_eq!(stored, ["n29", "n28", "n27"]);
        // A pattern naming no key sorts by nothing found; GET of a missing key is nil.
        let got: Vec<Option<String>> = q(
            &mut c,
            &[
                "SORT",
                "ids",
                "BY",
                "nosort",
                "GET",
                "missing:*",
                "LIMIT",
                "0",
                "1",
            ],
        );
        assert_eq!(got, [None]);
    }
}

/// Inside MULTI/EXEC and scripts too, SORT's patterns read keys of every shard, and
/// see what earlier commands of the transaction or script wrote.
#[test]
fn sort_patterns_in_transactions_and_scripts() {
    for shards in [2, 4] {
        let s = Server::start(shards);
        let mut c = s.conn();
        let _: i64 = q(&mut c, &["RPUSH", "ids", "1", "2", "3", "4", "5", "6"]);
        for i in 1..=6 {
            let _: () = q(&mut c, &["SET", &format!("w:{i}"), &(10 * i).to_string()]);
            let _: () = q(&mut c, &["SET", &format!("name:{i}"), &format!("n{i}")]);
        }
        let _: () = q(&mut c, &["WATCH", "ids"]);
        let _: () = q(&mut c, &["MULTI"]);
        let _: String = q(&mut c, &["SET", "w:4", "-5"]);
        let _: String = q(
            &mut c,
            &[
                "SORT", "ids", "BY", "w:*", "GET", "name:*", "LIMIT", "0", "2",
            ],
        );
        let _: String = q(
            &mut c,
            &["SORT", "ids", "BY", "w:*", "DESC", "STORE", "out"],
        );
        let _: String = q(&mut c, &["LRANGE", "out", "0", "-1"]);
        let (ok, top, n, out): (String, Vec<String>, i64, Vec<String>) = q(&mut c, &["EXEC"]);
        assert_eq!(ok, "OK");
        assert_eq!(top, ["n4", "n1"], "{shards} shards");
        assert_eq!(n, 6);
        assert_eq!(out, ["6", "5", "3", "2", "1", "4"]);

        let script = "redis.call('SET', 'w:2', '1000') \
                      return redis.call('SORT', KEYS[1], 'BY', 'w:*', 'DESC', 'GET', 'name:*', 'LIMIT', 0, 2)";
        let got: Vec<String> = q(&mut c, &["EVAL", script, "1", "ids"]);
        assert_eq!(got, ["n2", "n6"], "{shards} shards");
        let ro = "return redis.call('SORT_RO', KEYS[1], 'BY', 'w:*', 'GET', '#', 'LIMIT', 0, 1)";
        let got: Vec<String> = q(&mut c, &["EVAL_RO", ro, "1", "ids"]);
        assert_eq!(got, ["4"]);
    }
}
