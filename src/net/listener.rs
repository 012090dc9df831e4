//! Listening sockets: the public port (one SO_REUSEPORT socket per shard, so the kernel
//! spreads connections over shards) and, in cluster mode, each shard's node port. Every
//! accepted connection becomes a task of the shard that accepted it, unless the process
//! is at `maxclients`.

use std::os::fd::RawFd;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use glommio::net::TcpListener;

use crate::base::log;
use crate::net::conn;
use crate::net::transport::Transport;
use crate::runtime::driver::Driver;
use crate::runtime::exec;
use crate::runtime::shard::Shard;
use crate::runtime::sleep::sleep;

/// Accepts on `fd` through the shard's network driver.
pub fn listen_on_driver(
    driver: &Driver,
    shard: Rc<Shard>,
    fd: RawFd,
    connections: Arc<AtomicUsize>,
    node_port: bool,
) {
    driver.listen(
        fd,
        Rc::new(move |sock| {
            if let Some(t) = node_tls(Transport::Uring(sock), node_port) {
                admit(&shard, &connections, t, node_port)
            }
        }),
    );
}

/// A node port's connection under TLS with `tls-cluster yes` (`None`: the session could
/// not be made); any other connection as it is.
fn node_tls(t: Transport, node_port: bool) -> Option<Transport> {
    match crate::runtime::tls::cluster_server() {
        Some(config) if node_port => Transport::tls(t, config),
        _ => Some(t),
    }
}

/// Accepts TLS clients on `fd` (the TLS port) through the shard's network driver; each
/// new connection takes the TLS configuration in force (`tls::server`).
pub fn listen_tls_on_driver(
    driver: &Driver,
    shard: Rc<Shard>,
    fd: RawFd,
    connections: Arc<AtomicUsize>,
) {
    driver.listen(
        fd,
        Rc::new(move |sock| {
            let t = crate::runtime::tls::server()
                .and_then(|config| Transport::tls(Transport::Uring(sock), config));
            if let Some(t) = t {
                admit(&shard, &connections, t, false);
            }
        }),
    );
}

/// Accepts on a glommio listener for as long as the shard runs.
pub async fn accept_loop(
    shard: Rc<Shard>,
    listener: TcpListener,
    connections: Arc<AtomicUsize>,
    node_port: bool,
) {
    loop {
        match listener.accept().await {
            Ok(stream) => {
                if let Some(t) = node_tls(Transport::stream(stream), node_port) {
                    admit(&shard, &connections, t, node_port)
                }
            }
            Err(e) => {
                log::warning(&format!("accept failed: {e}"));
                sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Accepts TLS clients on a glommio listener of the TLS port for as long as the
/// shard runs.
pub async fn accept_tls(shard: Rc<Shard>, listener: TcpListener, connections: Arc<AtomicUsize>) {
    loop {
        match listener.accept().await {
            Ok(stream) => {
                let t = crate::runtime::tls::server()
                    .and_then(|config| Transport::tls(Transport::stream(stream), config));
                if let Some(t) = t {
                    admit(&shard, &connections, t, false);
                }
            }
            Err(e) => {
                log::warning(&format!("accept failed on the TLS port: {e}"));
                sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Serves a new connection, or turns it away at `maxclients`.
fn admit(shard: &Rc<Shard>, connections: &Arc<AtomicUsize>, t: Transport, node_port: bool) {
    if crate::runtime::acl::refuses_peer(t.peer_addr()) {
        shard.stats.borrow_mut().rejected_connections += 1;
        exec::spawn(conn::deny(t));
        return;
    }
    let max = shard.settings.borrow().maxclients;
    if connections.fetch_add(1, Ordering::Relaxed) >= max {
        connections.fetch_sub(1, Ordering::Relaxed);
        shard.stats.borrow_mut().rejected_connections += 1;
        exec::spawn(conn::reject(t));
        return;
    }
    let (shard, connections) = (shard.clone(), connections.clone());
    exec::spawn(async move {
        conn::serve(shard, t, node_port).await;
        connections.fetch_sub(1, Ordering::Relaxed);
    });
}
