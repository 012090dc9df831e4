mod common;

use common::*;

#[test]
fn server_answers_ping_on_every_shard_count() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        let pong: String = redis::cmd("PING").query(&mut c).unwrap();
        assert_eq!(pong, "PONG");
    }
}

/// A port another server listens on is refused, as redis-server refuses it, instead of
/// being shared through SO_REUSEPORT (connections would go to either server).
#[test]
fn a_port_in_use_is_refused() {
    let s = Server::start(1);
    let port = s.port.to_string();
    let err = common::start_must_fail(&["--port", &port]);
    assert!(err.contains("Address already in use"), "{err}");
    // The first server still answers every connection.
    for _ in 0..20 {
        let pong: String = common::q(&mut s.conn(), &["PING"]);
        assert_eq!(pong, "PONG");
    }
}
