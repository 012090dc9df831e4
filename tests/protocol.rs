//! The wire protocol, byte for byte: RESP2 and inline requests, RESP3 after HELLO 3, and
//! protocol errors, which close only the offending connection.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::time::Duration;

use common::*;

/// Asserts nothing arrives within `ms` and the connection stays open.
fn assert_silent_and_open(r: &mut Raw, ms: u64) {
    r.stream
        .set_read_timeout(Some(Duration::from_millis(ms)))
        .unwrap();
    let mut buf = [0u8; 256];
    match r.stream.read(&mut buf) {
        Ok(0) => panic!("the server closed the connection"),
        Ok(n) => panic!("unexpected reply {:?}", String::from_utf8_lossy(&buf[..n])),
        Err(e) => assert!(
            matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "read failed: {e}"
        ),
    }
    r.stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
}

/// Sends `request` on a fresh connection, expects exactly `reply` and then the close,
/// while an already open connection keeps working and the server stays up.
fn assert_protocol_error_closes(s: &mut Server, request: &[u8], reply: &[u8]) {
    let mut bystander = s.raw();
    bystander.roundtrip(b"PING\r\n", b"+PONG\r\n");
    let mut r = s.raw();
    r.send(request);
    let got = r.read_until_closed();
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(reply),
        "reply to {:?}",
        String::from_utf8_lossy(&request[..request.len().min(40)])
    );
    assert!(s.alive(), "the server died");
    bystander.roundtrip(&resp(&[b"SET", b"after", b"1"]), b"+OK\r\n");
    bystander.roundtrip(&resp(&[b"GET", b"after"]), b"$1\r\n1\r\n");
    s.raw().roundtrip(b"PING\r\n", b"+PONG\r\n");
}

#[test]
fn ping_replies_exactly() {
    let s = Server::start(2);
    let mut r = s.raw();
    r.roundtrip(b"*1\r\n$4\r\nPING\r\n", b"+PONG\r\n");
    r.roundtrip(b"PING\r\n", b"+PONG\r\n");
    r.roundtrip(b"*2\r\n$4\r\nping\r\n$5\r\nhello\r\n", b"$5\r\nhello\r\n");
    r.roundtrip(
        b"*3\r\n$4\r\nPING\r\n$1\r\na\r\n$1\r\nb\r\n",
        b"-ERR wrong number of arguments for 'ping' command\r\n",
    );
    // Empty frames are skipped silently.
    r.roundtrip(b"*0\r\n*-1\r\n\r\n  \r\nPING\r\n", b"+PONG\r\n");
}

#[test]
fn inline_commands_are_split_like_redis() {
    let s = Server::start(2);
    let mut r = s.raw();
    r.roundtrip(b"PING\r\n", b"+PONG\r\n");
    r.roundtrip(b"SET k \"a b\"\r\n", b"+OK\r\n");
    r.roundtrip(b"GET k\r\n", b"$3\r\na b\r\n");
    r.roundtrip(b"ECHO 'x'\n", b"$1\r\nx\r\n");
    r.roundtrip(b"ECHO \"a\\x41\\n\"\r\n", b"$3\r\naA\n\r\n");
    r.roundtrip(b"ECHO 'it\\'s'\r\n", b"$4\r\nit's\r\n");
    r.roundtrip(b"  set   k2   v2  \r\nget k2\n", b"+OK\r\n$2\r\nv2\r\n");
    // Inline and multibulk mixed in one packet.
    r.roundtrip(
        b"GET k\r\n*2\r\n$3\r\nGET\r\n$2\r\nk2\r\nPING\r\n",
        b"$3\r\na b\r\n$2\r\nv2\r\n+PONG\r\n",
    );
}

#[test]
fn binary_safe_bulk_strings_round_trip() {
    let s = Server::start(2);
    let mut r = s.raw();
    let value: Vec<u8> = (0..=255u8).chain(b"\r\n\r\n".iter().copied()).collect();
    r.roundtrip(&resp(&[b"SET", b"bin\x00key", &value]), b"+OK\r\n");
    let mut want = format!("${}\r\n", value.len()).into_bytes();
    want.extend_from_slice(&value);
    want.extend_from_slice(b"\r\n");
    r.roundtrip(&resp(&[b"GET", b"bin\x00key"]), &want);
}

#[test]
fn resp3_replies_after_hello_3() {
    let s = Server::start(2);
    let mut r = s.raw();
    r.roundtrip(&resp(&[b"GET", b"missing"]), b"$-1\r\n");
    r.send(b"HELLO 3\r\n");
    let head = r.read_exact_len(4);
    assert_eq!(&head, b"%7\r\n");
    // Drain the rest of the map: 7 pairs; read up to the last one, `modules` => `*0`.
    let mut rest = Vec::new();
    while !rest.ends_with(b"$7\r\nmodules\r\n*0\r\n") {
        rest.extend(r.read_exact_len(1));
        assert!(rest.len() < 1000, "HELLO reply too long: {rest:?}");
    }
    let text = String::from_utf8_lossy(&rest);
    assert!(
        text.starts_with("$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n"),
        "{text}"
    );
    assert!(text.contains("$5\r\nproto\r\n:3\r\n"), "{text}");
    assert!(
        text.contains("$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"),
        "{text}"
    );

    r.roundtrip(&resp(&[b"GET", b"missing"]), b"_\r\n");
    r.roundtrip(
        &resp(&[b"MGET", b"missing", b"missing2"]),
        b"*2\r\n_\r\n_\r\n",
    );
    r.roundtrip(&resp(&[b"SET", b"k", b"v"]), b"+OK\r\n");
    r.roundtrip(&resp(&[b"EXISTS", b"k"]), b":1\r\n");
    r.roundtrip(
        &resp(&[b"CONFIG", b"GET", b"maxclients"]),
        b"%1\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n",
    );
    // Back to RESP2.
    r.send(b"HELLO 2\r\n");
    let head = r.read_exact_len(5);
    assert_eq!(&head, b"*14\r\n");
    let mut rest = Vec::new();
    while !rest.ends_with(b"$7\r\nmodules\r\n*0\r\n") {
        rest.extend(r.read_exact_len(1));
        assert!(rest.len() < 1000);
    }
    r.roundtrip(&resp(&[b"GET", b"missing"]), b"$-1\r\n");
    r.roundtrip(b"HELLO 4\r\n", b"-NOPROTO unsupported protocol version\r\n");
}

#[test]
fn protocol_error_invalid_multibulk_length_closes_connection() {
    let mut s = Server::start(2);
    assert_protocol_error_closes(
        &mut s,
        b"*abc\r\n",
        b"-ERR Protocol error: invalid multibulk length\r\n",
    );
    // Commands before the bad frame in the same packet are answered first.
    assert_protocol_error_closes(
        &mut s,
        b"PING\r\n*1\r\n$4\r\nPING\r\n*x\r\nPING\r\n",
        b"+PONG\r\n+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n",
    );
    // Beyond INT_MAX arguments Redis refuses the count.
    assert_protocol_error_closes(
        &mut s,
        b"*3000000000\r\n",
        b"-ERR Protocol error: invalid multibulk length\r\n",
    );
}

#[test]
fn multibulk_count_of_three_million_is_accepted() {
    let mut s = Server::start(2);
    let mut r = s.raw();
    r.send(b"*3000000\r\n");
    // Redis waits for the 3 000 000 arguments: no reply, connection open.
    assert_silent_and_open(&mut r, 300);
    assert!(s.alive());
}

#[test]
fn protocol_error_invalid_bulk_length_closes_connection() {
    let mut s = Server::start(2);
    assert_protocol_error_closes(
        &mut s,
        b"*1\r\n$abc\r\n",
        b"-ERR Protocol error: invalid bulk length\r\n",
    );
    assert_protocol_error_closes(
        &mut s,
        b"*2\r\n$3\r\nGET\r\n$-1\r\n",
        b"-ERR Protocol error: invalid bulk length\r\n",
    );
}

#[test]
fn protocol_error_expected_dollar_closes_connection() {
    let mut s = Server::start(2);
    assert_protocol_error_closes(
        &mut s,
        b"*1\r\n+x\r\n",
        b"-ERR Protocol error: expected '$', got '+'\r\n",
    );
    assert_protocol_error_closes(
        &mut s,
        b"*2\r\n$3\r\nGET\r\n:1\r\n",
        b"-ERR Protocol error: expected '$', got ':'\r\n",
    );
}

#[test]
fn protocol_error_bulk_over_proto_max_bulk_len_closes_connection() {
    let mut s = Server::start(2);
    let mut c = s.raw();
    // 1 MiB is the smallest value Redis accepts.
    c.roundtrip(
        &resp(&[b"CONFIG", b"SET", b"proto-max-bulk-len", b"1048576"]),
        b"+OK\r\n",
    );
    c.roundtrip(
        &resp(&[b"CONFIG", b"GET", b"proto-max-bulk-len"]),
        b"*2\r\n$18\r\nproto-max-bulk-len\r\n$7\r\n1048576\r\n",
    );
    // Exactly the limit is fine.
    let big = vec![b'x'; 1048576];
    c.roundtrip(&resp(&[b"SET", b"big", &big]), b"+OK\r\n");
    c.roundtrip(&resp(&[b"STRLEN", b"big"]), b":1048576\r\n");
    // One byte more is refused at the header (every shard got the setting).
    for _ in 0..4 {
        assert_protocol_error_closes(
            &mut s,
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        );
    }
}

#[test]
fn config_set_proto_max_bulk_len_below_one_mib_is_refused() {
    let s = Server::start(2);
    let mut c = s.raw();
    c.send(&resp(&[b"CONFIG", b"SET", b"proto-max-bulk-len", b"1000"]));
    assert_eq!(
        c.read_line(),
        "-ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument \
         must be between 1048576 and 9223372036854775807 inclusive\r\n"
    );
}

#[test]
fn protocol_error_unbalanced_quotes_closes_connection() {
    let mut s = Server::start(2);
    assert_protocol_error_closes(
        &mut s,
        b"SET \"a\r\n",
        b"-ERR Protocol error: unbalanced quotes in request\r\n",
    );
    assert_protocol_error_closes(
        &mut s,
        b"ECHO 'a\r\n",
        b"-ERR Protocol error: unbalanced quotes in request\r\n",
    );
    // A closing quote must be followed by a space.
    assert_protocol_error_closes(
        &mut s,
        b"ECHO \"a\"b\r\n",
        b"-ERR Protocol error: unbalanced quotes in request\r\n",
    );
}

#[test]
fn random_garbage_without_newline_gets_a_protocol_error_and_close() {
    let mut s = Server::start(2);
    let mut bystander = s.raw();
    bystander.roundtrip(b"PING\r\n", b"+PONG\r\n");
    let mut x: u64 = 0x1234_5678_9abc_def1;
    let mut garbage: Vec<u8> = Vec::with_capacity(100 * 1024);
    while garbage.len() < 100 * 1024 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let b = (x >> 24) as u8;
        if b != b'\n' && b != b'\r' && !(garbage.is_empty() && b == b'*') {
            garbage.push(b);
        }
    }
    let mut r = s.raw();
    // The server may close before all of it is written.
    let _ = r.stream.write_all(&garbage);
    let got = r.read_until_closed();
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.starts_with("-ERR Protocol error: ")
            && text.ends_with("\r\n")
            && text.lines().count() == 1,
        "got {text:?}"
    );
    assert_eq!(text, "-ERR Protocol error: too big inline request\r\n");
    assert!(s.alive());
    bystander.roundtrip(b"PING\r\n", b"+PONG\r\n");
    s.raw().roundtrip(b"PING\r\n", b"+PONG\r\n");
}

#[test]
fn unknown_command_error_keeps_connection_open() {
    let s = Server::start(2);
    let mut r = s.raw();
    r.roundtrip(
        b"foo a b\r\n",
        b"-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n",
    );
    r.roundtrip(
        &resp(&[b"FOO"]),
        b"-ERR unknown command 'FOO', with args beginning with: \r\n",
    );
    r.roundtrip(b"PING\r\n", b"+PONG\r\n");
}

#[test]
fn wrong_arity_error_keeps_connection_open() {
    let s = Server::start(2);
    let mut r = s.raw();
    r.roundtrip(
        b"GET\r\n",
        b"-ERR wrong number of arguments for 'get' command\r\n",
    );
    r.roundtrip(
        &resp(&[b"get", b"a", b"b"]),
        b"-ERR wrong number of arguments for 'get' command\r\n",
    );
    r.roundtrip(
        &resp(&[b"MSET", b"a"]),
        b"-ERR wrong number of arguments for 'mset' command\r\n",
    );
    r.roundtrip(b"SET k v\r\nGET k\r\n", b"+OK\r\n$1\r\nv\r\n");
}

#[test]
fn unauthenticated_multibulk_over_10_arguments_is_refused_as_redis() {
    let mut s = Server::start_with(2, &["--requirepass", "secret"]);
    assert_protocol_error_closes_authed(
        &mut s,
        b"*11\r\n",
        b"-ERR Protocol error: unauthenticated multibulk length\r\n",
    );
}

#[test]
fn unauthenticated_bulk_over_16k_is_refused_as_redis() {
    let mut s = Server::start_with(2, &["--requirepass", "secret"]);
    assert_protocol_error_closes_authed(
        &mut s,
        b"*1\r\n$20000\r\n",
        b"-ERR Protocol error: unauthenticated bulk length\r\n",
    );
}

/// `assert_protocol_error_closes` for a server with `requirepass secret`.
fn assert_protocol_error_closes_authed(s: &mut Server, request: &[u8], reply: &[u8]) {
    let mut bystander = s.raw();
    bystander.roundtrip(b"AUTH secret\r\n", b"+OK\r\n");
    let mut r = s.raw();
    r.send(request);
    let got = r.read_until_closed();
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(reply)
    );
    assert!(s.alive());
    bystander.roundtrip(b"PING\r\n", b"+PONG\r\n");
}

#[test]
fn authenticated_clients_may_send_large_requests() {
    let s = Server::start_with(2, &["--requirepass", "secret"]);
    let mut r = s.raw();
    r.roundtrip(b"AUTH secret\r\n", b"+OK\r\n");
    let mut args: Vec<Vec<u8>> = vec![b"MSET".to_vec()];
    for i in 0..20 {
        args.push(format!("k{i}").into_bytes());
        args.push(vec![b'v'; 20_000]);
    }
    let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    r.roundtrip(&resp(&refs), b"+OK\r\n");
    r.roundtrip(&resp(&[b"STRLEN", b"k19"]), b":20000\r\n");
}

#[test]
fn quit_replies_ok_and_closes_without_running_later_commands() {
    let mut s = Server::start(2);
    let mut r = s.raw();
    r.send(b"SET q 0\r\nPING\r\nQUIT\r\nSET q 1\r\n");
    let got = r.read_until_closed();
    assert_eq!(String::from_utf8_lossy(&got), "+OK\r\n+PONG\r\n+OK\r\n");
    assert!(s.alive());
    s.raw().roundtrip(b"GET q\r\n", b"$1\r\n0\r\n");
}
