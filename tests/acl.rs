//! Access control lists through real clients: users and their rules, NOPERM for
//! commands, keys and channels, ACL LOG, AUTH and HELLO AUTH, `requirepass` as the
//! default user's password, changes seen at once by clients on every shard, DELUSER
//! closing its users' connections, and the ACL file (LOAD, SAVE, start-up).

mod common;

use common::{err, q, resp, scratch_dir, Raw, Server};

fn as_user(s: &Server, user: &str, pass: &str) -> redis::Connection {
    redis::Client::open(format!("redis://{user}:{pass}@127.0.0.1:{}/", s.port))
        .unwrap()
        .get_connection()
        .unwrap()
}

#[test]
fn users_get_only_their_commands_keys_and_channels() {
    let s = Server::start(2);
    let mut admin = s.conn();
    let _: () = q(
        &mut admin,
        &[
            "ACL",
            "SETUSER",
            "app",
            "on",
            ">secret",
            "~app:*",
            "%R~shared:*",
            "&news.*",
            "+@read",
            "+set",
            "+publish",
            "+multi",
            "+exec",
            "-debug",
            "+acl|whoami",
        ],
    );
    let mut c = as_user(&s, "app", "secret");
    assert_eq!(q::<String>(&mut c, &["ACL", "WHOAMI"]), "app");
    let _: () = q(&mut c, &["SET", "app:1", "v"]);
    let v: Option<String> = q(&mut c, &["GET", "shared:x"]);
    assert_eq!(v, None);
    assert_eq!(
        err(&mut c, &["SET", "shared:x", "v"]),
        "NOPERM this user has no permissions to access one of the keys used as arguments"
    );
    assert_eq!(
        err(&mut c, &["DEL", "app:1"]),
        "NOPERM this user has no permissions to run the 'del' command"
    );
    assert_eq!(
        err(&mut c, &["PUBLISH", "other", "m"]),
        "NOPERM this user has no permissions to access one of the channels used as arguments"
    );
    let n: i64 = q(&mut c, &["PUBLISH", "news.today", "m"]);
    assert_eq!(n, 0);
    // Keys on both shards: every key is checked.
    let e = err(&mut c, &["MGET", "app:1", "app:2", "secret"]);
    assert!(e.starts_with("NOPERM"), "{e}");
    // Inside MULTI the refusal discards the transaction.
    let mut raw = Raw::connect(s.port);
    raw.roundtrip(&resp(&[b"AUTH", b"app", b"secret"]), b"+OK\r\n");
    raw.roundtrip(&resp(&[b"MULTI"]), b"+OK\r\n");
    raw.roundtrip(
        &resp(&[b"INCR", b"app:n"]),
        b"-NOPERM this user has no permissions to run the 'incr' command\r\n",
    );
    raw.roundtrip(
        &resp(&[b"EXEC"]),
        b"-EXECABORT Transaction discarded because of previous errors.\r\n",
    );
    // ACL LOG has them, newest first, with Redis's fields.
    let log: Vec<redis::Value> = q(&mut admin, &["ACL", "LOG", "1"]);
    let text = format!("{log:?}");
    for want in [
        "\"command\"",
        "\"multi\"",
        "\"incr\"",
        "\"app\"",
        "user=app",
    ] {
        assert!(text.contains(want), "{want} in {text}");
    }
    // Five refusals above, and the client library's CLIENT SETINFO at connect (denied
    // too: `+@read` does not cover it).
    let log: Vec<redis::Value> = q(&mut admin, &["ACL", "LOG"]);
    assert_eq!(log.len(), 6, "{log:?}");
    assert!(format!("{log:?}").contains("client|setinfo"));
    // CLIENT LIST names the user.
    let list: String = q(&mut admin, &["CLIENT", "LIST"]);
    assert!(list.contains("user=app"), "{list}");
    // DRYRUN answers without running.
    let r: String = q(
        &mut admin,
        &["ACL", "DRYRUN", "app", "set", "shared:x", "v"],
    );
    assert_eq!(
        r,
        "This user has no permissions to access the 'shared:x' key"
    );
    let _: () = q(&mut admin, &["ACL", "DRYRUN", "app", "get", "shared:x"]);
}

#[test]
fn changes_reach_clients_on_every_shard_before_the_reply() {
    let s = Server::start(4);
    let mut admin = s.conn();
    let _: () = q(
        &mut admin,
        &["ACL", "SETUSER", "w", "on", ">p", "allkeys", "+get", "+set"],
    );
    // Connections spread over the shards (SO_REUSEPORT): enough that all get some.
    let mut conns: Vec<redis::Connection> = (0..16).map(|_| as_user(&s, "w", "p")).collect();
    for c in &mut conns {
        let _: () = q(c, &["SET", "k", "v"]);
    }
    let _: () = q(&mut admin, &["ACL", "SETUSER", "w", "-set"]);
    for c in &mut conns {
        assert_eq!(
            err(c, &["SET", "k", "v"]),
            "NOPERM this user has no permissions to run the 'set' command"
        );
        let v: String = q(c, &["GET", "k"]);
        assert_eq!(v, "v");
    }
    // Deleting the user closes its connections, wherever they are.
    let n: i64 = q(&mut admin, &["ACL", "DELUSER", "w", "nosuch"]);
    assert_eq!(n, 1);
    for c in &mut conns {
        let r: redis::RedisResult<String> = redis::cmd("GET").arg("k").query(c);
        assert!(r.is_err(), "a deleted user's connection still answers");
    }
    let list: String = q(&mut admin, &["CLIENT", "LIST"]);
    assert!(!list.contains("user=w "), "{list}");
}

#[test]
fn requirepass_is_the_default_users_password_and_hello_authenticates() {
    let s = Server::start_with(2, &["--requirepass", "pw"]);
    let mut raw = Raw::connect(s.port);
    raw.roundtrip(
        &resp(&[b"GET", b"x"]),
        b"-NOAUTH Authentication required.\r\n",
    );
    raw.roundtrip(
        &resp(&[b"AUTH", b"wrong"]),
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    );
    raw.roundtrip(&resp(&[b"AUTH", b"pw"]), b"+OK\r\n");
    raw.roundtrip(&resp(&[b"GET", b"x"]), b"$-1\r\n");
    let mut c = as_user(&s, "default", "pw");
    let got: Vec<String> = q(&mut c, &["ACL", "LIST"]);
    assert_eq!(
        got,
        ["user default on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~* &* +@all"]
    );
    let _: () = q(&mut c, &["ACL", "SETUSER", "h", "on", ">hp", "+@all", "~*"]);
    // HELLO 3 AUTH on a fresh connection.
    let mut h = Raw::connect(s.port);
    h.send(&resp(&[b"HELLO", b"3", b"AUTH", b"h", b"hp"]));
    let first = h.read_line();
    assert!(first.starts_with('%'), "{first}");
    // CONFIG SET requirepass "" opens the default user again.
    let _: () = q(&mut c, &["CONFIG", "SET", "requirepass", ""]);
    let mut open = Raw::connect(s.port);
    open.roundtrip(&resp(&[b"PING"]), b"+PONG\r\n");
    let log: Vec<redis::Value> = q(&mut c, &["ACL", "LOG"]);
    let text = format!("{log:?}");
    assert!(
        text.contains("\"auth\"") && text.contains("\"AUTH\""),
        "{text}"
    );
}

#[test]
fn the_acl_file_loads_at_start_and_with_acl_load_and_is_saved() {
    let dir = scratch_dir("aclfile");
    let path = dir.join("users.acl");
    std::fs::write(
        &path,
        "user default on nopass ~* &* +@all\nuser ro on >r ~* resetchannels -@all +@read\n",
    )
    .unwrap();
    let p = path.to_str().unwrap();
    let s = Server::start_with(2, &["--aclfile", p]);
    let mut admin = s.conn();
    let mut ro = as_user(&s, "ro", "r");
    assert!(err(&mut ro, &["SET", "a", "1"]).starts_with("NOPERM"));
    let _: () = q(&mut admin, &["ACL", "SETUSER", "new", "on", ">n", "+ping"]);
    let _: () = q(&mut admin, &["ACL", "SAVE"]);
    let saved = std::fs::read_to_string(&path).unwrap();
    assert!(saved.contains("user new on #"), "{saved}");
    // A bad line leaves every user as it was.
    std::fs::write(
        &path,
        "user default on nopass ~* &* +@all\nuser x on +nosuchcommand\n",
    )
    .unwrap();
    let e = err(&mut admin, &["ACL", "LOAD"]);
    assert!(e.contains("Unknown command or category name in ACL"), "{e}");
    let users: Vec<String> = q(&mut admin, &["ACL", "USERS"]);
    assert_eq!(users, ["default", "new", "ro"]);
    std::fs::write(&path, saved.replace("user ro ", "user ro2 ")).unwrap();
    let _: () = q(&mut admin, &["ACL", "LOAD"]);
    let users: Vec<String> = q(&mut admin, &["ACL", "USERS"]);
    assert_eq!(users, ["default", "new", "ro2"]);
    // `user` directives and an ACL file at once are refused, as Redis does.
    let out = common::start_must_fail(&["--aclfile", p, "--user", "a on"]);
    assert!(out.contains("not supported"), "{out}");
    let s2 = Server::start_with(1, &["--user", "cfg on >c ~k* +get"]);
    let mut c = as_user(&s2, "cfg", "c");
    let v: Option<String> = q(&mut c, &["GET", "k1"]);
    assert_eq!(v, None);
    assert!(err(&mut c, &["GET", "x"]).starts_with("NOPERM"));
}

#[test]
fn a_scripts_commands_are_checked_against_its_callers_user() {
    // 2 shards: the script runs on its keys' shard, maybe not the caller's.
    let s = Server::start(2);
    let mut admin = s.conn();
    let _: () = q(
        &mut admin,
        &[
            "ACL", "SETUSER", "s", "on", ">s", "~b*", "+eval", "+get", "+set", "+fcall",
        ],
    );
    let mut c = as_user(&s, "s", "s");
    let e = err(&mut c, &["EVAL", "return redis.call('get','a')", "0"]);
    assert!(
        e.starts_with("ERR The user executing the script can't access at least one of the keys"),
        "{e}"
    );
    let r: String = q(&mut c, &["EVAL", "return redis.pcall('set','b1','1')", "0"]);
    assert_eq!(r, "OK");
    let e = err(&mut c, &["EVAL", "return redis.pcall('del','b1')", "0"]);
    assert_eq!(
        e,
        "ERR The user executing the script can't run this command or subcommand"
    );
    let log: Vec<redis::Value> = q(&mut admin, &["ACL", "LOG", "1"]);
    let text = format!("{log:?}");
    assert!(
        text.contains("\"lua\"") && text.contains("\"del\""),
        "{text}"
    );
    // A function's commands too (its declared keys are the command's own).
    let _: String = q(
        &mut admin,
        &[
            "FUNCTION",
            "LOAD",
            "#!lua name=l\nredis.register_function('f', function(k) return redis.call('set', k[1], 'x') end)\nredis.register_function('g', function() return redis.call('set', 'a9', 'x') end)",
        ],
    );
    assert!(err(&mut c, &["FCALL", "f", "1", "a1"]).starts_with("NOPERM"));
    let r: String = q(&mut c, &["FCALL", "f", "1", "b2"]);
    assert_eq!(r, "OK");
    let e = err(&mut c, &["FCALL", "g", "0"]);
    assert!(e.contains("can't access at least one of the keys"), "{e}");
}

/// This machine's address outside the loopback interface, if it has one (no packet
/// is sent: a UDP socket's connect only picks the route).
fn outside_ip() -> Option<std::net::IpAddr> {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("192.0.2.1:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[test]
fn protected_mode_turns_away_clients_from_outside_the_loopback_interface() {
    let Some(ip) = outside_ip() else {
        eprintln!("note: no address outside the loopback interface; nothing to check");
        return;
    };
    let dir = scratch_dir("protected");
    let s = Server::start_exact(&[
        "--bind",
        "0.0.0.0",
        "--port",
        "0",
        "--threads",
        "2",
        "--no-pin",
        "--save",
        "",
        "--dir",
        dir.to_str().unwrap(),
    ]);
    let outside = |cmd: &[&[u8]]| -> String {
        let mut c = std::net::TcpStream::connect((ip, s.port)).unwrap();
        c.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        std::io::Write::write_all(&mut c, &resp(cmd)).unwrap();
        let mut out = Vec::new();
        let _ = std::io::Read::read_to_end(&mut c, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    };
    let denied = outside(&[b"PING"]);
    assert!(
        denied.starts_with("-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user."),
        "{denied}"
    );
    let mut local = s.conn();
    let _: () = q(&mut local, &["CONFIG", "SET", "requirepass", "pw"]);
    let mut r = Raw {
        stream: std::net::TcpStream::connect((ip, s.port)).unwrap(),
    };
    r.roundtrip(&resp(&[b"PING"]), b"-NOAUTH Authentication required.\r\n");
    let _: () = q(&mut local, &["CONFIG", "SET", "requirepass", ""]);
    let _: () = q(&mut local, &["CONFIG", "SET", "protected-mode", "no"]);
    let mut r = Raw {
        stream: std::net::TcpStream::connect((ip, s.port)).unwrap(),
    };
    r.roundtrip(&resp(&[b"PING"]), b"+PONG\r\n");
}
