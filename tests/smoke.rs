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
