//! One client connection: read whatever is there, take every complete command, route
//! the whole batch, write all its replies at once.

use std::os::fd::AsRawFd;
use std::rc::Rc;

use bytes::BytesMut;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;

use crate::resp::{self, Limits};
use crate::router::{Batch, Flow};
use crate::shard::Shard;

const READ_CHUNK: usize = 16 * 1024;

pub async fn reject(mut stream: TcpStream) {
    let _ = stream
        .write_all(b"-ERR max number of clients reached\r\n")
        .await;
    let _ = stream.close().await;
}

pub async fn serve(shard: Rc<Shard>, mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let now = shards::clock::system_ms();
    let client = shard.clients.borrow_mut().register(
        stream.as_raw_fd(),
        stream.peer_addr().ok(),
        stream.local_addr().ok(),
        now,
    );
    shard.stats.borrow_mut().connections += 1;
    let mut input = BytesMut::with_capacity(READ_CHUNK);
    let mut chunk = vec![0u8; READ_CHUNK];
    let mut out: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    loop {
        let n = match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if client.killed.get() {
            break;
        }
        input.extend_from_slice(&chunk[..n]);
        let (limits, query_limit) = {
            let s = shard.settings.borrow();
            let authenticated = client.info.borrow().authenticated || s.requirepass.is_empty();
            (
                Limits {
                    proto_max_bulk_len: s.proto_max_bulk_len,
                    authenticated,
                },
                s.client_query_buffer_limit,
            )
        };
        shard.stats.borrow_mut().net_input_bytes += n as u64;
        let (cmds, err) = resp::take_commands(&mut input, limits);
        let mut close = false;
        if !cmds.is_empty() && Batch::new(&shard, &client).run(cmds, &mut out).await == Flow::Close
        {
            close = true;
        }
        if let Some(e) = err {
            resp::encode_error_line(&mut out, &e.message());
            close = true;
        }
        if input.len() > query_limit {
            crate::log::warning(&format!(
                "closing client id={}: query buffer over client-query-buffer-limit",
                client.info.borrow().id
            ));
            close = true;
        }
        client.info.borrow_mut().qbuf = input.len();
        if !out.is_empty() {
            shard.stats.borrow_mut().net_output_bytes += out.len() as u64;
            if stream.write_all(&out).await.is_err() {
                break;
            }
            out.clear();
        }
        if close || client.killed.get() {
            break;
        }
    }
    let id = client.info.borrow().id;
    shard.clients.borrow_mut().unregister(id);
    let _ = stream.close().await;
}
