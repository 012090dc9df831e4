//! Start-up: checks the memlock limit, binds one SO_REUSEPORT listener per shard, starts
//! one pinned glommio executor per shard, joins them in the channel mesh, and runs each
//! shard's accept loop, mailbox receivers and active expiry (and, on shard 0, the
//! metrics endpoint when `--metrics-port` is set).

use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{FromRawFd, IntoRawFd, RawFd};
use std::rc::Rc;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use glommio::net::TcpListener;
use glommio::{LocalExecutorBuilder, Placement};
use shards::evict::Usage;
use shards::{Clock, Keyspace, SlotMap};

use crate::base::config::{Config, Settings};
use crate::base::log;
use crate::commands::cluster;
use crate::net::{listener, metrics_http};
use crate::runtime::driver::{Driver, DriverConfig, Hooks};
use crate::runtime::exec;
use crate::runtime::mailbox::Mailbox;
use crate::runtime::shard::{Shard, ShardPostbox};
use crate::runtime::sleep::sleep;

/// io_uring needs this much locked memory per executor (glommio refuses less).
const MIN_MEMLOCK: u64 = 512 * 1024;

/// Raises the memlock soft limit to the hard limit if needed; explains the fix if the
/// limit is still too small for io_uring.
/// Turns transparent huge pages off for the process (memory already in huge pages
/// stays so; the shards allocate after this). Like Redis, a failure is not fatal.
fn disable_thp() {
    // SAFETY: prctl with integer arguments only.
    let r = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    if r != 0 {
        log::warning(&format!(
            "could not disable transparent huge pages: {}",
            std::io::Error::last_os_error()
        ));
    }
}

fn check_memlock() -> Result<(), String> {
    // SAFETY: plain getrlimit/setrlimit on a local struct.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut lim) != 0 {
            return Ok(());
        }
        if lim.rlim_cur >= MIN_MEMLOCK {
            return Ok(());
        }
        if lim.rlim_max >= MIN_MEMLOCK {
            lim.rlim_cur = lim.rlim_max;
            if libc::setrlimit(libc::RLIMIT_MEMLOCK, &lim) == 0 {
                return Ok(());
            }
        }
        Err(format!(
            "corecache: the locked-memory limit (ulimit -l) is {} KiB; io_uring needs at least \
             {} KiB per thread. Fix: run `ulimit -l 65536` before starting corecache (systemd: \
             LimitMEMLOCK=infinity; docker: --ulimit memlock=-1).",
            lim.rlim_cur / 1024,
            MIN_MEMLOCK / 1024
        ))
    }
}

/// Binds `n` listening sockets with SO_REUSEPORT on one address. The port is first
/// bound without SO_REUSEPORT: a port another process listens on is refused ("Address
/// already in use", as redis-server refuses it) rather than silently shared, and port 0
/// becomes a port no socket uses (a port-0 bind with SO_REUSEPORT may be handed a port
/// another server of the same user listens on).
fn bind_listeners(addr: SocketAddr, n: usize) -> std::io::Result<(Vec<RawFd>, u16)> {
    use socket2::{Domain, Protocol, Socket, Type};
    let mut fds = Vec::with_capacity(n);
    let mut addr = addr;
    {
        let domain = if addr.is_ipv6() {
            Domain::IPV6
        } else {
            Domain::IPV4
        };
        let probe = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
        // SO_REUSEADDR lets a fixed port in TIME_WAIT be taken again, as Redis does; on
        // port 0 it could hand out a port in use.
        probe.set_reuse_address(addr.port() != 0)?;
        probe.bind(&addr.into())?;
        let local = probe.local_addr()?.as_socket().expect("inet socket");
        addr.set_port(local.port());
    }
    for _ in 0..n {
        let domain = if addr.is_ipv6() {
            Domain::IPV6
        } else {
            Domain::IPV4
        };
        let sk = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
        sk.set_reuse_address(true)?;
        sk.set_reuse_port(true)?;
        sk.bind(&addr.into())?;
        sk.listen(1024)?;
        fds.push(sk.into_raw_fd());
    }
    Ok((fds, addr.port()))
}

/// Binds a listener of its own: a shard's node port, or the metrics port. No
/// SO_REUSEPORT (one listener), and SO_REUSEADDR only for a fixed port: with either, a
/// port-0 bind may be handed a port another socket uses, and listen then fails.
fn bind_node_listener(addr: SocketAddr) -> std::io::Result<(RawFd, u16)> {
    use socket2::{Domain, Protocol, Socket, Type};
    let domain = if addr.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let sk = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
    if addr.port() != 0 {
        sk.set_reuse_address(true)?;
    }
    sk.bind(&addr.into())?;
    sk.listen(1024)?;
    let port = sk.local_addr()?.as_socket().expect("inet socket").port();
    Ok((sk.into_raw_fd(), port))
}

pub fn run(mut config: Config) -> Result<(), String> {
    check_memlock()?;
    config.maxclients = adjust_open_files(config.maxclients);
    if config.disable_thp == "yes" {
        disable_thp();
    }
    let cpus = config.shard_cpus();
    let n = cpus.len();
    let addr = (config.bind.as_str(), config.port)
        .to_socket_addrs()
        .map_err(|e| format!("corecache: cannot resolve --bind {}: {e}", config.bind))?
        .next()
        .ok_or_else(|| format!("corecache: no address for --bind {}", config.bind))?;
    let (fds, port) =
        bind_listeners(addr, n).map_err(|e| format!("corecache: cannot listen on {addr}: {e}"))?;
    crate::base::config::set_public_addr(&config.bind, port);
    log::set_level(&config.loglevel);
    let metrics_fd = bind_metrics(&config)?;
    let tls_listeners = setup_tls(&config, addr, n)?;
    setup_acl(&config)?;

    let started_ms = shards::clock::system_ms();
    let (slots, cluster_start) = if config.cluster_enabled() {
        let (slots, start) = setup_cluster(&config, addr, port, n)?;
        (slots, Some(start))
    } else {
        (SlotMap::contiguous(n), None)
    };
    crate::commands::aof::set_replay(crate::net::replay::replay_boxed);
    crate::commands::replication::set_link_starter(crate::net::replica_link::run_boxed);
    crate::runtime::shard::on_stream_fed(crate::runtime::replicas::wake);
    let aof_plan = crate::commands::aof::plan_at_start(&config)?;
    let rdb = match &aof_plan {
        Some(plan) => plan.rdb_base(),
        None => Some(std::path::Path::new(&config.dir).join(&config.dbfilename)),
    };
    let mut aof_plan = aof_plan;
    let at_start = crate::commands::save::load_at_start(&config, &slots, n, rdb)?;
    let functions = Arc::new(at_start.functions);
    let mut loaded = at_start.keys.into_iter();
    crate::commands::save::install_signal_handlers();
    let post = ShardPostbox::new(n);
    let connections = Arc::new(AtomicUsize::new(0));
    let usage = Arc::new(Usage::new(n));
    let fds = Arc::new(fds);
    let mut handles = Vec::with_capacity(n);
    for (i, &cpu) in cpus.iter().enumerate() {
        let placement = if config.no_pin {
            Placement::Unbound
        } else {
            Placement::Fixed(cpu)
        };
        let tls_listeners = tls_listeners.clone();
        let (cfg, post, fds, slots, conns, cl, usage) = (
            config.clone(),
            post.clone(),
            fds.clone(),
            slots.clone(),
            connections.clone(),
            cluster_start.clone(),
            usage.clone(),
        );
        let keys = loaded.next().unwrap_or_default();
        let libraries = functions.clone();
        // Shard 0 replays the append-only file once every shard runs.
        let replay = if i == 0 { aof_plan.take() } else { None };
        let metrics = if i == 0 { metrics_fd } else { None };
        let handle = LocalExecutorBuilder::new(placement)
            .name(&format!("shard-{i}"))
            .io_memory(config.io_memory_kib * 1024)
            .spawn(move || async move {
                let shared = Shared {
                    post,
                    fds,
                    connections: conns,
                    usage,
                    loaded: keys,
                    libraries,
                    replay,
                    metrics,
                    tls: tls_listeners.as_ref().map(|fds| fds[i]),
                };
                shard_main(i, cfg, cpu, shared, slots, started_ms, cl).await;
            })
            .map_err(|e| format!("corecache: cannot start shard {i} on CPU {cpu}: {e}"))?;
        handles.push(handle);
    }
    log::notice(&format!(
        "corecache {} ready: {n} shards on {}:{port} (CPUs {:?}), pid {}, io engine {}",
        env!("CARGO_PKG_VERSION"),
        config.bind,
        cpus,
        std::process::id(),
        config.io_engine
    ));
    if let Some(c) = &cluster_start {
        log::notice(&format!(
            "cluster mode: shards are cluster nodes on ports {:?} (node ids in {})",
            c.ports, c.nodes_file
        ));
    }
    for h in handles {
        h.join()
            .map_err(|e| format!("corecache: shard failed: {e}"))?;
    }
    Ok(())
}

/// A panic on a shard thread outside the per-command containment (`shards::ops::
/// contained`) would end that shard's executor while the others keep waiting for its
/// answers: the process would hang. Such a panic ends the process instead, after the
/// usual panic message, so that it is seen (and restarted by systemd).
pub fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if shards::ops::panic_is_contained() {
            let at = info.location().map(|l| l.to_string()).unwrap_or_default();
            log::warning(&format!(
                "corecache: a command panicked at {at}; answered with an error"
            ));
            return;
        }
        default(info);
        let on_shard = std::thread::current()
            .name()
            .is_some_and(|n| n.starts_with("shard-"));
        if on_shard {
            eprintln!("corecache: a shard thread panicked; exiting");
            std::process::abort();
        }
    }));
}

/// Binds the metrics port (`--metrics-port`, on `--metrics-bind` or else `--bind`) and
/// logs where it is; None when it is off.
fn bind_metrics(config: &Config) -> Result<Option<RawFd>, String> {
    if config.metrics_port == 0 {
        return Ok(None);
    }
    let host = config.metrics_bind.as_deref().unwrap_or(&config.bind);
    let mut addr = (host, config.metrics_port)
        .to_socket_addrs()
        .map_err(|e| format!("corecache: cannot resolve --metrics-bind {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("corecache: no address for --metrics-bind {host}"))?;
    let (fd, port) = bind_node_listener(addr)
        .map_err(|e| format!("corecache: cannot listen for metrics on {addr}: {e}"))?;
    addr.set_port(port);
    log::notice(&format!("metrics on {addr} (GET /metrics)"));
    Ok(Some(fd))
}

/// Raises the open-files limit to what `maxclients` needs (plus 32 for the server's
/// own files, as Redis reserves); when the system allows less, `maxclients` shrinks to
/// fit, with Redis's warning. Returns the `maxclients` in force.
fn adjust_open_files(maxclients: usize) -> usize {
    const RESERVED: u64 = 32;
    let want = maxclients as u64 + RESERVED;
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit the call fills.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 || lim.rlim_cur >= want {
        return maxclients;
    }
    let target = want.min(lim.rlim_max);
    let raised = libc::rlimit {
        rlim_cur: target,
        rlim_max: lim.rlim_max,
    };
    // SAFETY: `raised` is a valid rlimit within the hard limit just read.
    let ok = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0;
    let now = if ok { target } else { lim.rlim_cur };
    if now >= want {
        return maxclients;
    }
    let fits = now.saturating_sub(RESERVED).max(1) as usize;
    log::warning(&format!(
        "You requested maxclients of {maxclients} requiring at least {want} max file \
         descriptors. Current maximum open files is {now}. maxclients has been reduced to \
         {fits} to compensate for low ulimit. If you need higher maxclients increase \
         'ulimit -n'."
    ));
    fits
}

/// The TLS settings from the certificate files (`net::tls`), and with `--tls-port`
/// one listener per shard on that port.
type TlsListeners = Option<Arc<Vec<RawFd>>>;

fn setup_tls(config: &Config, addr: SocketAddr, n: usize) -> Result<TlsListeners, String> {
    let file = |v: &Option<String>| v.clone().unwrap_or_default();
    crate::runtime::tls::configure(crate::runtime::tls::Settings {
        port: config.tls_port,
        cert: file(&config.tls_cert_file),
        key: file(&config.tls_key_file),
        ca: file(&config.tls_ca_cert_file),
        auth_clients: config.tls_auth_clients.clone(),
        client_cert: file(&config.tls_client_cert_file),
        client_key: file(&config.tls_client_key_file),
        replication: config.tls_replication == "yes",
        cluster: config.tls_cluster == "yes",
    })
    .map_err(|e| format!("corecache: {e}"))?;
    if config.tls_port == 0 {
        return Ok(None);
    }
    let mut at = addr;
    at.set_port(config.tls_port);
    let (fds, _) =
        bind_listeners(at, n).map_err(|e| format!("corecache: cannot listen on {at}: {e}"))?;
    Ok(Some(Arc::new(fds)))
}

/// The users at start-up: `requirepass` as the default user's password, then the
/// ACL file or the `user` directives.
fn setup_acl(config: &Config) -> Result<(), String> {
    use crate::runtime::acl;
    acl::set_pubsub_all_default(config.acl_pubsub_default == "allchannels");
    acl::set_protected_mode(config.protected_mode == "yes");
    acl::set_log_max(config.acllog_max_len);
    acl::set_requirepass(&config.requirepass);
    if let Some(path) = &config.aclfile {
        if !config.users.is_empty() {
            return Err(
                "corecache: configuring users in the config file and in an ACL file \
                        (aclfile) at once is not supported (as in Redis)"
                    .into(),
            );
        }
        acl::set_file(path);
        if std::path::Path::new(path).exists() {
            crate::commands::acl::load_file(path).map_err(|e| format!("corecache: {e}"))?;
        }
    }
    for line in &config.users {
        let mut words = line.split_whitespace();
        let name = words.next().unwrap_or("");
        let rules: Vec<bytes::Bytes> = words
            .map(|w| bytes::Bytes::copy_from_slice(w.as_bytes()))
            .collect();
        crate::commands::acl::setuser(name.as_bytes(), &rules)
            .map_err(|e| format!("corecache: user {name}: {}", e.message()))?;
    }
    Ok(())
}

/// What every shard needs to start as a cluster node.
#[derive(Clone)]
struct ClusterStart {
    state: cluster::State,
    fds: Arc<Vec<RawFd>>,
    ports: Vec<u16>,
    nodes_file: String,
}

/// Binds one node port per shard, reads or creates the node ids, reads the topology,
/// and builds the slot -> shard table of this process.
fn setup_cluster(
    config: &Config,
    addr: SocketAddr,
    port: u16,
    n: usize,
) -> Result<(SlotMap, ClusterStart), String> {
    let base = config.cluster_port_base.unwrap_or(if config.port == 0 {
        0
    } else {
        port.saturating_add(1)
    });
    let mut fds = Vec::with_capacity(n);
    let mut ports = Vec::with_capacity(n);
    for i in 0..n {
        let mut a = addr;
        if base != 0 {
            let p = base as usize + i;
            let p =
                u16::try_from(p).map_err(|_| format!("corecache: node port {p} is above 65535"))?;
            a.set_port(p);
        } else {
            a.set_port(0);
        }
        let (fd, p) = bind_node_listener(a)
            .map_err(|e| format!("corecache: cannot listen on cluster node port {a}: {e}"))?;
        fds.push(fd);
        ports.push(p);
    }
    let announce = match &config.cluster_announce_ip {
        Some(ip) => ip.clone(),
        None if addr.ip().is_unspecified() => String::new(),
        None => addr.ip().to_string(),
    };
    let nodes_file = config
        .cluster_config_file
        .clone()
        .unwrap_or_else(|| format!("nodes-{port}.conf"));
    let topology = match &config.cluster_config {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| format!("corecache: cannot read --cluster-config {path}: {e}"))?,
        ),
        None => None,
    };
    let (state, owners) = cluster::topology::build(&cluster::topology::Inputs {
        announce_ip: &announce,
        public_port: port,
        node_ports: &ports,
        topology: topology.as_deref(),
        nodes_file: &nodes_file,
    })?;
    cluster::enable();
    let start = ClusterStart {
        state,
        fds: Arc::new(fds),
        ports,
        nodes_file,
    };
    Ok((SlotMap::from_owners(&owners, n), start))
}

/// What every shard of the process shares.
struct Shared {
    post: Arc<ShardPostbox>,
    /// The listeners' fds.
    fds: Arc<Vec<RawFd>>,
    connections: Arc<AtomicUsize>,
    /// Every shard's memory measure (maxmemory).
    usage: Arc<Usage>,
    /// This shard's keys from the RDB file read at start-up.
    loaded: Vec<shards::rdb::file::Loaded>,
    /// The file's function libraries (every shard loads them).
    libraries: Arc<Vec<Vec<u8>>>,
    /// Shard 0: the append-only files to replay.
    replay: Option<crate::commands::aof::Plan>,
    /// Shard 0: the metrics port's listener, when `--metrics-port` is set.
    metrics: Option<RawFd>,
    /// This shard's listener of the TLS port, with `--tls-port`.
    tls: Option<RawFd>,
}

async fn shard_main(
    id: usize,
    config: Config,
    cpu: usize,
    shared: Shared,
    slots: SlotMap,
    started_ms: u64,
    cluster_start: Option<ClusterStart>,
) {
    let Shared {
        post,
        fds,
        connections,
        usage,
        loaded,
        libraries,
        replay,
        metrics,
        tls,
    } = shared;
    // Before any message from a peer can ask about it.
    if let Some(c) = &cluster_start {
        cluster::install(c.state.clone(), id);
    }
    let mut ks = Keyspace::new(config.databases, Clock::System);
    // Until the append-only file is replayed (see `commands::aof`).
    ks.loading = crate::commands::aof::loading();
    ks.budget.usage = usage;
    ks.budget.me = id;
    // Checked when the command line was parsed.
    let _ = ks.config.set("maxmemory-policy", &config.maxmemory_policy);
    for setting in &config.engine_setting {
        if let Some((name, value)) = setting.split_once('=') {
            let _ = ks.config.set(&name.to_ascii_lowercase(), value);
        }
    }
    crate::commands::save::insert_loaded(&mut ks, loaded);
    let settings = Settings::from_config(&config);
    crate::runtime::latency::set_threshold_ms(config.latency_monitor_threshold);
    crate::runtime::backlog::set_size(config.repl_backlog_size);
    crate::runtime::replicas::set_min_replicas(
        config.min_replicas_to_write,
        config.min_replicas_max_lag,
    );
    crate::runtime::upstream::set_serve_stale(config.replica_serve_stale_data == "yes");
    crate::runtime::upstream::set_read_only(config.replica_read_only == "yes");
    crate::runtime::upstream::set_repl_timeout(config.repl_timeout);
    let mail = Mailbox::new(id, post.clone());
    let shard = Rc::new(Shard::new(id, cpu, slots, ks, settings, mail, started_ms));
    shard.set_notify(shard.settings.borrow().notify_keyspace_events);
    shard.set_tracking_limit(shard.settings.borrow().tracking_table_max_keys);
    shard.set_maxmemory(config.maxmemory);

    for failed in crate::commands::script_admin::load_libraries(&shard, &libraries) {
        if id == 0 {
            log::warning(&format!(
                "a function library from the RDB file failed: {failed}"
            ));
        }
    }
    exec::spawn(expiry_loop(shard.clone()));
    if let Some(plan) = replay {
        exec::spawn(crate::net::replay::load_and_open(shard.clone(), plan));
    }
    if id == 0 {
        exec::spawn(crate::commands::save::persistence_loop(shard.clone()));
        exec::spawn(crate::commands::replication::ping_loop(shard.clone()));
        // `--replicaof host port` (two values, or one holding both).
        let words: Vec<String> = config
            .replicaof
            .iter()
            .flat_map(|w| w.split_whitespace().map(str::to_string))
            .collect();
        if cluster::enabled() {
            // A replica process of the cluster's topology starts its link.
            cluster::sync_upstream(&shard);
        }
        if let [host, port] = &words[..] {
            match port.parse::<u16>() {
                Ok(port) => crate::commands::replication::follow(&shard, host, port),
                Err(_) => log::warning(&format!("replicaof: invalid port {port}")),
            }
        }
    }
    if let Some(fd) = metrics {
        // SAFETY: shard 0 alone takes ownership of the metrics port's fd bound in `run`.
        let listener = unsafe { TcpListener::from_raw_fd(fd) };
        let sh = shard.clone();
        exec::spawn(async move {
            wait_loaded().await;
            metrics_http::serve(sh, listener).await;
        });
    }
    let node_fd = cluster_start.as_ref().map(|c| c.fds[id]);
    if config.uring_engine() {
        let driver_config = DriverConfig {
            idle_spin: Duration::from_micros(config.idle_spin_us),
            ..DriverConfig::default()
        };
        let driver = match Driver::new(driver_config) {
            Ok(d) => d,
            Err(e) => {
                log::warning(&format!(
                    "corecache: shard {id} cannot set up its io_uring ({e}); \
                     try --io-engine glommio"
                ));
                std::process::exit(1);
            }
        };
        post.set_ring(id, driver.ring_fd());
        shard.ks.borrow_mut().budget.not_counted = driver.buffer_bytes() as u64;
        shard.set_doorbell(driver.clone());
        let (reader, poster, parker, peeker, asker) = (
            shard.clone(),
            shard.clone(),
            post.clone(),
            post.clone(),
            shard.clone(),
        );
        driver.set_hooks(Hooks {
            read_inbox: Some(Box::new(move || {
                let mut any = false;
                while let Some(msg) = post.take(reader.id) {
                    reader.on_message(msg);
                    any = true;
                }
                any
            })),
            post_mail: Some(Box::new(move || poster.flush_mail())),
            park: Some(Box::new(move |parking| {
                if parking {
                    parker.park(id)
                } else {
                    parker.unpark(id);
                    true
                }
            })),
            has_mail: Some(Box::new(move || peeker.has_mail(id))),
            awaiting_answers: Some(Box::new(move || asker.mailbox().awaiting_answers())),
        });
        crate::commands::memory::note_startup(&shard);
        crate::runtime::driver::watchdog::spawn(driver.clone(), id);
        let (d, fd) = (driver.clone(), fds[id]);
        exec::spawn(async move {
            wait_loaded().await;
            if let Some(nfd) = node_fd {
                listener::listen_on_driver(&d, shard.clone(), nfd, connections.clone(), true);
            }
            if let Some(tfd) = tls {
                let c = connections.clone();
                listener::listen_tls_on_driver(&d, shard.clone(), tfd, c);
            }
            listener::listen_on_driver(&d, shard, fd, connections, false);
        });
        driver.run().await;
        return;
    }
    crate::commands::memory::note_startup(&shard);
    exec::spawn(read_inbox(shard.clone(), post));
    wait_loaded().await;
    if let Some(fd) = tls {
        // SAFETY: this shard alone takes ownership of its TLS listener's fd (one per
        // shard, bound in `run`).
        let listener = unsafe { TcpListener::from_raw_fd(fd) };
        exec::spawn(listener::accept_tls(
            shard.clone(),
            listener,
            connections.clone(),
        ));
    }
    if let Some(fd) = node_fd {
        // SAFETY: each shard takes ownership of its own node port's fd bound in `run`.
        let node = unsafe { TcpListener::from_raw_fd(fd) };
        exec::spawn(listener::accept_loop(
            shard.clone(),
            node,
            connections.clone(),
            true,
        ));
    }
    // SAFETY: each shard takes ownership of a distinct listening fd bound in `run`.
    let public = unsafe { TcpListener::from_raw_fd(fds[id]) };
    listener::accept_loop(shard, public, connections, false).await;
}

/// Until the append-only file is loaded, clients wait in the listen backlog.
async fn wait_loaded() {
    while crate::commands::aof::loading() {
        sleep(Duration::from_millis(2)).await;
    }
}

/// Reads the shard's inbox for as long as the shard runs (when no network ring of its
/// own reads it).
async fn read_inbox(shard: Rc<Shard>, post: Arc<ShardPostbox>) {
    loop {
        let msg = std::future::poll_fn(|cx| {
            post.register(shard.id, cx.waker());
            match post.take(shard.id) {
                Some(m) => std::task::Poll::Ready(m),
                None => std::task::Poll::Pending,
            }
        })
        .await;
        shard.on_message(msg);
    }
}

/// Active expiry: `hz` times a second, sample TTL keys and delete expired ones, for at
/// most about a millisecond per run so commands are not held up.
async fn expiry_loop(shard: Rc<Shard>) {
    let mut idle_purge = crate::runtime::memory::IdlePurge::default();
    loop {
        let hz = {
            let s = shard.settings.borrow();
            let mut hz = s.hz.max(1);
            if s.dynamic_hz {
                // As Redis: double while more than 200 clients (this shard's) fall on
                // each tick, up to 500 ticks per second.
                let clients = shard.clients.borrow().len() as u64;
                while clients / hz > 200 && hz < 500 {
                    hz = (hz * 2).min(500);
                }
            }
            hz
        };
        sleep(Duration::from_millis(1000 / hz)).await;
        let activity = {
            let st = shard.stats.borrow();
            (
                st.commands + st.net_input_bytes + st.hop_messages,
                shards::alloc::thread_used(),
            )
        };
        {
            let st = shard.stats.borrow();
            let counters = [st.commands, st.net_input_bytes, st.net_output_bytes];
            shard.instant.borrow_mut().sample(Instant::now(), counters);
        }
        if idle_purge.went_idle(activity) {
            crate::runtime::memory::purge_freed();
        }
        // A shard held by a transaction changes nothing until it is released.
        if shard.is_held() {
            continue;
        }
        // Eviction that ran out of time before a command goes on here.
        let _ = shard.evict_to_budget();
        // Resizes of the key tables move on while the shard is idle (about a
        // millisecond's worth per tick at most).
        shard.ks.borrow_mut().rehash(1000);
        // Every shard's measure stays current for the others (and the peak).
        shard.ks.borrow().budget.publish();
        // A replica leaves expiry to its primary, whose DELs come in the stream (as
        // Redis's replicas do).
        if !shard.settings.borrow().active_expire || crate::runtime::upstream::is_replica() {
            continue;
        }
        let start = Instant::now();
        loop {
            let mut ks = shard.ks.borrow_mut();
            ks.tick();
            let cycle = ks.active_expire_cycle(200);
            drop(ks);
            shard.publish_expired();
            // Go on while expired keys are dense among the TTL keys met, or while too
            // few TTL keys were met to tell (they may be sparse in the table), unless
            // the whole table was just walked (a few TTL keys among a few keys: going
            // round again would spin the tick's millisecond for nothing).
            let dense = cycle.sampled > 0 && cycle.expired * 4 >= cycle.sampled;
            let unsure = cycle.sampled < 20 && !cycle.covered;
            if cycle.looked == 0 || !(dense || unsure) || start.elapsed() > Duration::from_millis(1)
            {
                break;
            }
        }
        crate::runtime::latency::sample_since("expire-cycle", start);
    }
}
