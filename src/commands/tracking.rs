//! CLIENT TRACKING, CLIENT CACHING, CLIENT GETREDIR and CLIENT TRACKINGINFO, with
//! redis-server 7.0's options, checks and error texts (the tables and invalidations are
//! `runtime::tracking`).

use std::rc::Rc;

use bytes::Bytes;
use shards::args::{eq_ic, parse_i64};
use shards::{CmdError, Reply};

use crate::runtime::clients::ClientHandle;
use crate::runtime::invalidate::broadcast_prefixes;
use crate::runtime::shard::Shard;
use crate::runtime::tracking::{prefix_overlap, ClientTracking};
use crate::runtime::work::{Answer, Job, Work};

fn err(msg: &str) -> CmdError {
    CmdError::other(format!("ERR {msg}"))
}

/// Whether client `id` is connected (on any shard).
async fn client_exists(shard: &Rc<Shard>, id: u64) -> bool {
    if id == 0 {
        return false;
    }
    let home = ((id - 1) % shard.nshards as u64) as usize;
    if home == shard.id {
        return shard.clients.borrow().get(id).is_some();
    }
    let job: Job =
        Box::new(move |sh: &Rc<Shard>| Box::new(sh.clients.borrow().get(id).is_some()) as Answer);
    match shard.send(home, Work::Admin(job)).await {
        Ok(crate::runtime::work::WorkDone::Answer(a)) => a.downcast::<bool>().is_ok_and(|b| *b),
        _ => false,
    }
}

/// CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]
pub async fn tracking(
    shard: &Rc<Shard>,
    client: &Rc<ClientHandle>,
    args: &[Bytes],
) -> Result<Reply, CmdError> {
    let mut redirect = 0u64;
    let (mut bcast, mut optin, mut optout, mut noloop) = (false, false, false, false);
    let mut prefixes: Vec<Bytes> = Vec::new();
    let mut j = 3;
    while j < args.len() {
        let more = j + 1 < args.len();
        let a = &args[j][..];
        if eq_ic(a, "redirect") && more {
            j += 1;
            if redirect != 0 {
                return Err(err("A client can only redirect to a single other client"));
            }
            let id = parse_i64(&args[j])?;
            if id <= 0 || !client_exists(shard, id as u64).await {
                return Err(err("The client ID you want redirect to does not exist"));
            }
            redirect = id as u64;
        } else if eq_ic(a, "bcast") {
            bcast = true;
        } else if eq_ic(a, "optin") {
            optin = true;
        } else if eq_ic(a, "optout") {
            optout = true;
        } else if eq_ic(a, "noloop") {
            noloop = true;
        } else if eq_ic(a, "prefix") && more {
            j += 1;
            prefixes.push(args[j].clone());
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let id = client.info.borrow().id;
    if eq_ic(&args[2], "off") {
        let was_bcast = {
            let mut t = client.tracking.borrow_mut();
            let b = t.on && t.bcast;
            *t = ClientTracking::default();
            b
        };
        if was_bcast {
            broadcast_prefixes(shard, id, Vec::new(), false).await;
        }
        return Ok(Reply::Ok);
    }
    if !eq_ic(&args[2], "on") {
        return Err(CmdError::Syntax);
    }
    let current = client.tracking.borrow().clone();
    if !bcast && !prefixes.is_empty() {
        return Err(err("PREFIX option requires BCAST mode to be enabled"));
    }
    if current.on && current.bcast != bcast {
        return Err(err(
            "You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.",
        ));
    }
    if bcast && (optin || optout) {
        return Err(err("OPTIN and OPTOUT are not compatible with BCAST"));
    }
    if optin && optout {
        return Err(err("You can't specify both OPTIN mode and OPTOUT mode"));
    }
    if (optin && current.optout) || (optout && current.optin) {
        return Err(err(
            "You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.",
        ));
    }
    if bcast {
        if let Some(e) = prefix_overlap(&current.prefixes, &prefixes) {
            return Err(CmdError::other(e));
        }
        if prefixes.is_empty() {
            prefixes.push(Bytes::new());
        }
    }
    let all_prefixes = {
        let mut t = client.tracking.borrow_mut();
        let mut kept = std::mem::take(&mut t.prefixes);
        for p in prefixes {
            if !kept.contains(&p) {
                kept.push(p);
            }
        }
        *t = ClientTracking {
            on: true,
            bcast,
            optin,
            optout,
            noloop,
            caching: false,
            broken_redirect: false,
            redirect,
            prefixes: kept,
        };
        t.prefixes.clone()
    };
    client.ensure_push_queue();
    if bcast {
        broadcast_prefixes(shard, id, all_prefixes, noloop).await;
    }
    Ok(Reply::Ok)
}

/// CLIENT CACHING YES|NO
pub fn caching(client: &ClientHandle, args: &[Bytes]) -> Result<Reply, CmdError> {
    let mut t = client.tracking.borrow_mut();
    if !t.on {
        return Err(err(
            "CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
        ));
    }
    if eq_ic(&args[2], "yes") {
        if !t.optin {
            return Err(err(
                "CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            ));
        }
    } else if eq_ic(&args[2], "no") {
        if !t.optout {
            return Err(err(
                "CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            ));
        }
    } else {
        return Err(CmdError::Syntax);
    }
    t.caching = true;
    Ok(Reply::Ok)
}

/// CLIENT GETREDIR: -1 without tracking, 0 without a redirect.
pub fn getredir(client: &ClientHandle) -> Reply {
    let t = client.tracking.borrow();
    Reply::Int(if t.on { t.redirect as i64 } else { -1 })
}

/// CLIENT TRACKINGINFO
pub fn trackinginfo(client: &ClientHandle) -> Reply {
    let t = client.tracking.borrow();
    let mut flags = vec![if t.on { "on" } else { "off" }];
    if t.bcast {
        flags.push("bcast");
    }
    if t.optin {
        flags.push("optin");
        if t.caching {
            flags.push("caching-yes");
        }
    }
    if t.optout {
        flags.push("optout");
        if t.caching {
            flags.push("caching-no");
        }
    }
    if t.noloop {
        flags.push("noloop");
    }
    if t.broken_redirect {
        flags.push("broken_redirect");
    }
    Reply::Map(vec![
        (
            Reply::bulk("flags"),
            Reply::Set(flags.into_iter().map(Reply::bulk).collect()),
        ),
        (
            Reply::bulk("redirect"),
            Reply::Int(if t.on { t.redirect as i64 } else { -1 }),
        ),
        (
            Reply::bulk("prefixes"),
            Reply::Array({
                let mut p: Vec<Reply> =
                    t.prefixes.iter().map(|p| Reply::Bulk(p.to_vec())).collect();
                p.sort_by(|a, b| match (a, b) {
                    (Reply::Bulk(a), Reply::Bulk(b)) => a.cmp(b),
                    _ => std::cmp::Ordering::Equal,
                });
                p
            }),
        ),
    ])
}

/// A client leaving (or RESET): its BCAST prefixes leave every shard.
pub async fn forget(shard: &Rc<Shard>, client: &ClientHandle) {
    let (id, bcast) = {
        let mut t = client.tracking.borrow_mut();
        let bcast = t.on && t.bcast;
        *t = ClientTracking::default();
        (client.info.borrow().id, bcast)
    };
    if bcast {
        broadcast_prefixes(shard, id, Vec::new(), false).await;
    }
}
