//! Lists with `list-compress-depth` (LZF-compressed interior quicklist nodes) and plain
//! nodes (DEBUG QUICKLIST-PACKED-THRESHOLD), through a real client: memory drops, every
//! list command reads and writes compressed nodes, and DUMP/RESTORE, COPY and a reload
//! keep the data. tests/compat/lists_compressed.txt replays the replies against
//! redis-server.

mod common;

use common::{q, scratch_dir, Server, SHARD_COUNTS};

fn element(i: usize) -> String {
    format!("element-{i:05}-{}", "abcdefgh".repeat(6))
}

fn debug_object(c: &mut redis::Connection, key: &str) -> String {
    q(c, &["DEBUG", "OBJECT", key])
}

fn debug_field(line: &str, field: &str) -> String {
    line.split(' ')
        .find_map(|f| f.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("{field} in {line}"))
        .to_string()
}

fn fill(c: &mut redis::Connection, key: &str, n: usize) -> Vec<String> {
    let items: Vec<String> = (0..n).map(element).collect();
    for chunk in items.chunks(500) {
        let mut cmd = redis::cmd("RPUSH");
        cmd.arg(key).arg(chunk);
        let _: i64 = cmd.query(c).unwrap();
    }
    items
}

#[test]
fn compressed_lists_take_less_memory_and_read_back_whole() {
    for shards in SHARD_COUNTS {
        let s = Server::start(shards);
        let mut c = s.conn();
        let want = fill(&mut c, "plain", 3000);
        let _: () = q(&mut c, &["CONFIG", "SET", "list-compress-depth", "1"]);
        let got: Vec<String> = q(&mut c, &["CONFIG", "GET", "list-compress-depth"]);
        assert_eq!(got, ["list-compress-depth", "1"]);
        fill(&mut c, "packed", 3000);
        let plain: i64 = q(&mut c, &["MEMORY", "USAGE", "plain"]);
        let packed: i64 = q(&mut c, &["MEMORY", "USAGE", "packed"]);
        assert!(
            packed * 3 < plain,
            "compressed {packed} bytes against {plain} uncompressed"
        );
        let line = debug_object(&mut c, "packed");
        assert_eq!(debug_field(&line, "ql_compressed"), "1");
        assert_eq!(
            debug_field(&debug_object(&mut c, "plain"), "ql_compressed"),
            "0"
        );
        // The same uncompressed size as the uncompressed list.
        assert_eq!(
            debug_field(&line, "ql_uncompressed_size"),
            debug_field(&debug_object(&mut c, "plain"), "ql_uncompressed_size")
        );
        let all: Vec<String> = q(&mut c, &["LRANGE", "packed", "0", "-1"]);
        assert_eq!(all, want);
        let mid: Vec<String> = q(&mut c, &["LRANGE", "packed", "1200", "1210"]);
        assert_eq!(mid, want[1200..=1210]);
        let one: String = q(&mut c, &["LINDEX", "packed", "1777"]);
        assert_eq!(one, want[1777]);
        let pos: i64 = q(&mut c, &["LPOS", "packed", &want[2222]]);
        assert_eq!(pos, 2222);
        let digest = |c: &mut redis::Connection, k: &str| -> Vec<String> {
            q(c, &["DEBUG", "DIGEST-VALUE", k])
        };
        assert_eq!(digest(&mut c, "packed"), digest(&mut c, "plain"));
    }
}

#[test]
fn writes_in_the_middle_of_a_compressed_list() {
    let s = Server::start(2);
    let mut c = s.conn();
    let _: () = q(&mut c, &["CONFIG", "SET", "list-compress-depth", "2"]);
    let mut model = fill(&mut c, "l", 2000);
    let x = element(90_001);
    let y = element(90_002);
    let n: i64 = q(&mut c, &["LINSERT", "l", "BEFORE", &model[1000], &x]);
    model.insert(1000, x.clone());
    assert_eq!(n as usize, model.len());
    let _: () = q(&mut c, &["LSET", "l", "1500", &y]);
    model[1500] = y.clone();
    let _: () = q(&mut c, &["LSET", "l", "700", "short"]);
    model[700] = "short".into();
    let removed: i64 = q(&mut c, &["LREM", "l", "0", &model[333]]);
    assert_eq!(removed, 1);
    model.remove(333);
    let _: () = q(&mut c, &["LTRIM", "l", "10", "-11"]);
    model = model[10..model.len() - 10].to_vec();
    let all: Vec<String> = q(&mut c, &["LRANGE", "l", "0", "-1"]);
    assert_eq!(all, model);
    let line = debug_object(&mut c, "l");
    let nodes: usize = debug_field(&line, "ql_nodes").parse().unwrap();
    assert!(nodes > 10, "{line}");

    // DUMP/RESTORE and COPY give the same list; COPY keeps its compression.
    let dump: Vec<u8> = redis::cmd("DUMP").arg("l").query(&mut c).unwrap();
    let _: () = redis::cmd("RESTORE")
        .arg("r")
        .arg(0)
        .arg(dump)
        .query(&mut c)
        .unwrap();
    let _: i64 = q(&mut c, &["COPY", "l", "{l}copy"]);
    for k in ["r", "{l}copy"] {
        let got: Vec<String> = q(&mut c, &["LRANGE", k, "0", "-1"]);
        assert_eq!(got, model, "{k}");
        assert_eq!(debug_field(&debug_object(&mut c, k), "ql_compressed"), "1");
    }
}

#[test]
fn plain_nodes_hold_large_elements_through_a_reload() {
    let dir = scratch_dir("plain-nodes");
    let s = Server::start_with(2, &["--dir", dir.to_str().unwrap()]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "100"]);
    let _: () = q(&mut c, &["CONFIG", "SET", "list-max-listpack-size", "4"]);
    let big = |ch: &str| ch.repeat(150);
    let mut model: Vec<String> = (0..12).map(|i| format!("s{i}")).collect();
    let mut cmd = redis::cmd("RPUSH");
    cmd.arg("l").arg(&model);
    let _: i64 = cmd.query(&mut c).unwrap();
    let before = debug_field(&debug_object(&mut c, "l"), "ql_nodes");
    // A large element in the middle of a node splits it around a plain node.
    let _: i64 = q(&mut c, &["LINSERT", "l", "AFTER", "s5", &big("x")]);
    model.insert(6, big("x"));
    let after = debug_field(&debug_object(&mut c, "l"), "ql_nodes");
    assert_eq!(
        after.parse::<usize>().unwrap(),
        before.parse::<usize>().unwrap() + 2
    );
    let _: i64 = q(&mut c, &["LPUSH", "l", &big("y")]);
    model.insert(0, big("y"));
    let _: () = q(&mut c, &["LSET", "l", "3", &big("z")]);
    model[3] = big("z");
    let _: () = q(&mut c, &["LSET", "l", "7", "small"]);
    model[7] = "small".into();
    let all: Vec<String> = q(&mut c, &["LRANGE", "l", "0", "-1"]);
    assert_eq!(all, model);
    let _: () = q(&mut c, &["DEBUG", "RELOAD"]);
    let all: Vec<String> = q(&mut c, &["LRANGE", "l", "0", "-1"]);
    assert_eq!(all, model);
    let e: redis::RedisResult<()> = redis::cmd("DEBUG")
        .arg("QUICKLIST-PACKED-THRESHOLD")
        .arg("5gb")
        .query(&mut c);
    assert!(e
        .unwrap_err()
        .to_string()
        .contains("argument must be a memory value bigger than 1 and smaller than 4gb"));
    let s: String = q(&mut c, &["DEBUG", "QUICKLIST", "l"]);
    assert_eq!(s, "Quicklist structure printed on stdout");
    let e: redis::RedisResult<()> = redis::cmd("DEBUG").arg("LISTPACK").arg("l").query(&mut c);
    assert!(e
        .unwrap_err()
        .to_string()
        .contains("Not a listpack encoded object."));
}
