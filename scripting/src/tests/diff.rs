//! Differential run against a real Redis: `SCRIPT_CASES=file cargo test -p scripting
//! differential -- --ignored` evaluates every line of the file (a script; `\n` escapes
//! a newline) and prints each reply in RESP2, for comparison with `redis-server`.

use super::common::*;
use shards::Reply;

fn resp2(r: &Reply, out: &mut Vec<u8>) {
    match r {
        Reply::Ok => out.extend_from_slice(b"+OK\r\n"),
        Reply::Status(s) => out.extend_from_slice(format!("+{s}\r\n").as_bytes()),
        Reply::Int(i) => out.extend_from_slice(format!(":{i}\r\n").as_bytes()),
        Reply::Bulk(b) => {
            out.extend_from_slice(format!("${}\r\n", b.len()).as_bytes());
            out.extend_from_slice(b);
            out.extend_from_slice(b"\r\n");
        }
        Reply::Nil => out.extend_from_slice(b"$-1\r\n"),
        Reply::NilArray => out.extend_from_slice(b"*-1\r\n"),
        Reply::Array(items) | Reply::Set(items) | Reply::Push(items) => {
            out.extend_from_slice(format!("*{}\r\n", items.len()).as_bytes());
            for it in items {
                resp2(it, out);
            }
        }
        Reply::Frames(items) => {
            for it in items {
                resp2(it, out);
            }
        }
        Reply::KeyedArrays(pairs) => {
            out.extend_from_slice(format!("*{}\r\n", pairs.len()).as_bytes());
            for (k, v) in pairs {
                out.extend_from_slice(b"*2\r\n");
                resp2(k, out);
                resp2(v, out);
            }
        }
        Reply::Map(pairs) | Reply::Pairs(pairs) => {
            out.extend_from_slice(format!("*{}\r\n", pairs.len() * 2).as_bytes());
            for (k, v) in pairs {
                resp2(k, out);
                resp2(v, out);
            }
        }
        Reply::Double(d) => resp2(&bulk(&shards::args::format_double(*d)), out),
        Reply::DoubleText(s) | Reply::Verbatim(s) => resp2(&bulk(s), out),
        Reply::Bool(b) => resp2(&Reply::Int(*b as i64), out),
        Reply::Error(e) => out.extend_from_slice(format!("-{e}\r\n").as_bytes()),
    }
}

#[test]
#[ignore]
fn differential() {
    let Ok(path) = std::env::var("SCRIPT_CASES") else {
        return;
    };
    let text = std::fs::read_to_string(path).unwrap();
    let mut b = Bench::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let body = line.replace("\\n", "\n");
        let r = b.eval(&body);
        let mut out = Vec::new();
        resp2(&r, &mut out);
        println!(
            "HEX {}",
            out.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
    }
}
