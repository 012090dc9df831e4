//! TLS on `--tls-port` with redis-cli --tls: client certificates required, optional or
//! not asked for; the plain port serves the same data; a bad certificate file stops the
//! start with a message naming it; CONFIG GET/SET of the tls-* settings; replication
//! over TLS both ways with redis-server (`tls-replication`). Certificates are made with
//! openssl for each run.

mod common;

use std::path::Path;
use std::process::Command;

use common::redis_server::RedisServer;
use common::{eventually, free_ports, q, scratch_dir, Server};

fn openssl(dir: &Path, args: &[&str]) -> bool {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, in `dir`.
fn make_certs(dir: &Path) -> bool {
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    let run = |line: String| openssl(dir, &line.split_whitespace().collect::<Vec<_>>());
    let ca = "req -x509 -new -nodes -newkey rsa:2048 -keyout ca.key -out ca.crt -days 2 \
              -subj /CN=corecache-test-ca";
    run(ca.to_string())
        && [("server", "localhost"), ("client", "client")]
            .iter()
            .all(|(who, cn)| {
                run(format!(
                "req -new -nodes -newkey rsa:2048 -keyout {who}.key -out {who}.csr -subj /CN={cn}"
            )) && run(format!(
                    "x509 -req -in {who}.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
                 -out {who}.crt -days 2 -extfile {who}.ext"
                ))
            })
}

/// redis-cli over TLS; `client_cert`: present the client certificate.
fn tls_cli(dir: &Path, port: u16, client_cert: bool, args: &[&str]) -> Option<String> {
    let mut c = Command::new("redis-cli");
    c.current_dir(dir)
        .args(["--tls", "--cacert", "ca.crt", "-p", &port.to_string()]);
    if client_cert {
        c.args(["--cert", "client.crt", "--key", "client.key"]);
    }
    let out = c.args(args).output().ok()?;
    Some(
        String::from_utf8_lossy(&out.stdout).trim().to_string()
            + String::from_utf8_lossy(&out.stderr).trim(),
    )
}

fn tools_present() -> bool {
    let have = |t: &str| Command::new(t).arg("--version").output().is_ok();
    let ok = have("openssl") && have("redis-cli");
    if !ok {
        eprintln!("note: openssl or redis-cli is not installed; TLS checks nothing");
    }
    ok
}

/// A scratch directory with the test certificates; `None` (the test checks nothing)
/// without openssl or redis-cli.
fn certificates(tag: &str) -> Option<common::Scratch> {
    if !tools_present() {
        return None;
    }
    let dir = scratch_dir(tag);
    assert!(
        make_certs(&dir),
        "openssl could not make the test certificates"
    );
    Some(dir)
}

fn start_tls(dir: &Path, port: u16, auth: &str) -> Server {
    let p = |f: &str| dir.join(f).to_str().unwrap().to_string();
    let port = port.to_string();
    Server::start_with(
        2,
        &[
            "--tls-port",
            &port,
            "--tls-cert-file",
            &p("server.crt"),
            "--tls-key-file",
            &p("server.key"),
            "--tls-ca-cert-file",
            &p("ca.crt"),
            "--tls-auth-clients",
            auth,
        ],
    )
}

#[test]
fn redis_cli_talks_tls_with_and_without_client_certificates() {
    let Some(dir) = certificates("tls") else {
        return;
    };
    let port = free_ports(1);
    let s = start_tls(&dir, port, "yes");
    assert_eq!(
        tls_cli(&dir, port, true, &["SET", "k", "over-tls"]).unwrap(),
        "OK"
    );
    assert_eq!(
        tls_cli(&dir, port, true, &["GET", "k"]).unwrap(),
        "over-tls"
    );
    // The plain port serves the same keyspace.
    let v: String = q(&mut s.conn(), &["GET", "k"]);
    assert_eq!(v, "over-tls");
    // A big value crosses many TLS records both ways.
    let big = "x".repeat(100_000);
    assert_eq!(
        tls_cli(&dir, port, true, &["SET", "big", &big]).unwrap(),
        "OK"
    );
    let got = tls_cli(&dir, port, true, &["STRLEN", "big"]).unwrap();
    assert_eq!(got, "100000");
    // Without a client certificate the handshake fails.
    let refused = tls_cli(&dir, port, false, &["PING"]).unwrap();
    assert_ne!(refused, "PONG");
    drop(s);

    let port = free_ports(1);
    let s = start_tls(&dir, port, "optional");
    assert_eq!(tls_cli(&dir, port, false, &["PING"]).unwrap(), "PONG");
    assert_eq!(tls_cli(&dir, port, true, &["PING"]).unwrap(), "PONG");
    drop(s);
}

#[test]
fn a_bad_certificate_file_stops_the_start_naming_it() {
    let dir = scratch_dir("tls-bad");
    let bad = dir.join("none.crt");
    let out = common::start_must_fail(&[
        "--tls-port",
        "1",
        "--tls-cert-file",
        bad.to_str().unwrap(),
        "--tls-key-file",
        bad.to_str().unwrap(),
        "--tls-auth-clients",
        "no",
    ]);
    assert!(
        out.contains("tls-cert-file") && out.contains("none.crt"),
        "{out}"
    );
    let out = common::start_must_fail(&["--tls-port", "1"]);
    assert!(out.contains("--tls-cert-file"), "{out}");
}

#[test]
fn tls_settings_show_in_config_and_new_connections_take_a_changed_one() {
    let Some(dir) = certificates("tls-config") else {
        return;
    };
    let port = free_ports(1);
    let s = start_tls(&dir, port, "yes");
    let mut c = s.conn();
    let got: Vec<String> = q(&mut c, &["CONFIG", "GET", "tls-*"]);
    let value = |name: &str| {
        let i = got
            .iter()
            .position(|n| n == name)
            .unwrap_or_else(|| panic!("{name} in {got:?}"));
        got[i + 1].clone()
    };
    assert_eq!(value("tls-port"), port.to_string());
    assert!(value("tls-cert-file").ends_with("server.crt"));
    assert_eq!(value("tls-auth-clients"), "yes");
    assert_eq!(value("tls-replication"), "no");
    assert_eq!(value("tls-cluster"), "no");
    // A file that is not there is refused, and what was in force stays.
    let e: redis::RedisResult<()> = redis::cmd("CONFIG")
        .arg("SET")
        .arg("tls-cert-file")
        .arg(dir.join("none.crt").to_str().unwrap())
        .query(&mut c);
    let e = e.unwrap_err().to_string();
    assert!(e.contains("Unable to update TLS configuration"), "{e}");
    assert_eq!(tls_cli(&dir, port, true, &["PING"]).unwrap(), "PONG");
    let e: redis::RedisResult<()> = redis::cmd("CONFIG")
        .arg("SET")
        .arg("tls-port")
        .arg("1")
        .query(&mut c);
    assert!(e.unwrap_err().to_string().contains("immutable"));
    // Client certificates become optional for the connections that come next.
    assert_ne!(tls_cli(&dir, port, false, &["PING"]).unwrap(), "PONG");
    let _: () = q(&mut c, &["CONFIG", "SET", "tls-auth-clients", "optional"]);
    assert_eq!(tls_cli(&dir, port, false, &["PING"]).unwrap(), "PONG");
    // tls-replication needs the CA, which is set: taken.
    let _: () = q(&mut c, &["CONFIG", "SET", "tls-replication", "yes"]);
    let on: Vec<String> = q(&mut c, &["CONFIG", "GET", "tls-replication"]);
    assert_eq!(on[1], "yes");
}

/// A replica reaches its primary over TLS, both ways with redis-server: redis-server
/// replicating a corecache primary through its TLS port, and corecache replicating a
/// redis-server primary through redis-server's TLS port.
#[test]
fn replication_runs_over_tls_both_ways_with_redis_server() {
    let Some(dir) = certificates("tls-repl") else {
        return;
    };
    let p = |f: &str| dir.join(f).to_str().unwrap().to_string();
    let tls_client_args = |cert: &str, key: &str| {
        vec![
            "--tls-replication".to_string(),
            "yes".into(),
            "--tls-cert-file".into(),
            p(cert),
            "--tls-key-file".into(),
            p(key),
            "--tls-ca-cert-file".into(),
            p("ca.crt"),
        ]
    };

    // redis-server follows corecache's TLS port.
    let port = free_ports(1);
    let primary = start_tls(&dir, port, "yes");
    let mut pc = primary.conn();
    let _: () = q(&mut pc, &["SET", "before", "sync"]);
    let mut args = tls_client_args("client.crt", "client.key");
    args.extend([
        "--replicaof".to_string(),
        "127.0.0.1".into(),
        port.to_string(),
        // The synced snapshot goes to the scratch directory, not the working
        // directory (where a later redis-server would load it).
        "--dir".into(),
        dir.to_str().unwrap().to_string(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let Some(replica) = RedisServer::start("replication over TLS", &args) else {
        return;
    };
    let mut rc = replica.conn();
    let got = |c: &mut redis::Connection, k: &str| {
        redis::cmd("GET")
            .arg(k)
            .query::<Option<String>>(c)
            .ok()
            .flatten()
    };
    eventually("redis-server synced over TLS", 20, || {
        got(&mut rc, "before").as_deref() == Some("sync")
    });
    let _: () = q(&mut pc, &["SET", "after", "stream"]);
    eventually("the stream reached redis-server over TLS", 20, || {
        got(&mut rc, "after").as_deref() == Some("stream")
    });
    drop(replica);

    // corecache follows redis-server's TLS port.
    let tls_port = free_ports(1);
    let tls_port_s = tls_port.to_string();
    let Some(rp) = RedisServer::start(
        "replication over TLS",
        &[
            "--tls-port",
            &tls_port_s,
            "--tls-cert-file",
            &p("server.crt"),
            "--tls-key-file",
            &p("server.key"),
            "--tls-ca-cert-file",
            &p("ca.crt"),
            "--tls-auth-clients",
            "yes",
            "--dir",
            dir.to_str().unwrap(),
        ],
    ) else {
        return;
    };
    let mut rpc = rp.conn();
    let _: () = q(&mut rpc, &["SET", "from", "redis"]);
    let args = tls_client_args("client.crt", "client.key");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let replica = Server::start_with(2, &args);
    let mut cc = replica.conn();
    let _: () = q(&mut cc, &["REPLICAOF", "127.0.0.1", &tls_port_s]);
    eventually("corecache synced over TLS", 20, || {
        got(&mut cc, "from").as_deref() == Some("redis")
    });
    let _: () = q(&mut rpc, &["SET", "more", "writes"]);
    eventually("the stream reached corecache over TLS", 20, || {
        got(&mut cc, "more").as_deref() == Some("writes")
    });
    let info: String = q(&mut cc, &["INFO", "replication"]);
    assert!(info.contains("master_link_status:up"), "{info}");
}

/// With `tls-cluster yes` the node ports speak TLS: `redis-cli --tls -c` follows MOVED
/// between them; a plain client gets no answer there; the public port stays plain.
#[test]
fn tls_cluster_puts_the_node_ports_under_tls() {
    let Some(dir) = certificates("tls-cluster") else {
        return;
    };
    let p = |f: &str| dir.join(f).to_str().unwrap().to_string();
    let nodes_file = dir.join("nodes.conf");
    let s = Server::start_with(
        2,
        &[
            "--cluster-mode",
            "yes",
            "--cluster-config-file",
            nodes_file.to_str().unwrap(),
            "--tls-cluster",
            "yes",
            "--tls-cert-file",
            &p("server.crt"),
            "--tls-key-file",
            &p("server.key"),
            "--tls-ca-cert-file",
            &p("ca.crt"),
        ],
    );
    let mut c = s.conn();
    let text: String = q(&mut c, &["CLUSTER", "NODES"]);
    let ports: Vec<u16> = text
        .lines()
        .map(|l| {
            let addr = l.split(' ').nth(1).unwrap().split('@').next().unwrap();
            addr.rsplit(':').next().unwrap().parse().unwrap()
        })
        .collect();
    assert_eq!(ports.len(), 2, "{text}");
    let on: Vec<String> = q(&mut c, &["CONFIG", "GET", "tls-cluster"]);
    assert_eq!(on[1], "yes");
    for i in 0..20 {
        let key = format!("key:{i}");
        let set = tls_cli(&dir, ports[0], true, &["-c", "SET", &key, &format!("v{i}")]).unwrap();
        assert_eq!(set, "OK", "SET {key} through the TLS node ports");
    }
    for i in 0..20 {
        let v: String = q(&mut c, &["GET", &format!("key:{i}")]);
        assert_eq!(v, format!("v{i}"));
    }
    // A plain client on a node port: the TLS session never starts, no reply.
    let plain = Command::new("redis-cli")
        .args(["-p", &ports[1].to_string(), "PING"])
        .output()
        .unwrap();
    assert_ne!(String::from_utf8_lossy(&plain.stdout).trim(), "PONG");
}
