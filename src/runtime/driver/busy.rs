//! Serving a shard's own connections while a script keeps its thread.
//!
//! A script past `busy-reply-threshold` holds the shard's thread: no task of the shard
//! runs until it ends. So that SCRIPT KILL and FUNCTION KILL from a client of this very
//! shard still get through (and its other clients get `-BUSY` at once, as from
//! redis-server), the script's hook calls [`Driver::serve_while_busy`] every few
//! milliseconds. It reaps the ring's completions (received bytes land in the
//! connections' buffers as usual; a new connection's task is spawned, and when
//! `new_idle` the connection counts as idle until that task runs), and for each
//! connection whose task waits at a command boundary (`SockState::idle`) it takes the
//! complete commands and lets `answer` reply to them in order, up to the first one it
//! leaves for later: that one and the rest stay in the connection's input, for its task
//! once the script is over. The replies leave through the ring at once. Nothing here
//! touches the shard's state (the script is using it).

use std::rc::Rc;

use bytes::{Bytes, BytesMut};

use super::{Driver, SockState};
use crate::base::resp::{self, Limits};

/// What the busy shard answers for a command: its reply's bytes, or `None` to leave it
/// (and what follows it) to the connection's task.
pub type BusyAnswer<'a> = &'a mut dyn FnMut(&[Bytes]) -> Option<Vec<u8>>;

impl Driver {
    /// See the module comment.
    pub fn serve_while_busy(&self, limits: Limits, new_idle: bool, answer: BusyAnswer<'_>) {
        self.enter(false, None);
        self.accept_idle.set(new_idle);
        self.reap();
        self.accept_idle.set(false);
        let idle: Vec<Rc<SockState>> = self
            .socks
            .borrow()
            .iter()
            .flatten()
            .filter(|st| st.idle.get() && !st.input.borrow().is_empty())
            .cloned()
            .collect();
        for st in idle {
            self.answer_idle(&st, limits, answer);
        }
        self.submit_io();
        self.enter(false, None);
    }

    fn answer_idle(&self, st: &Rc<SockState>, limits: Limits, answer: BusyAnswer<'_>) {
        let mut input = st.input.borrow_mut();
        let mut rest = input.clone();
        let (cmds, err) = resp::take_commands(&mut rest, limits);
        if err.is_some() {
            // The task answers the protocol error (and closes) after the script.
            return;
        }
        let mut out = Vec::new();
        let mut answered = 0;
        for cmd in &cmds {
            match answer(cmd) {
                Some(bytes) => out.extend_from_slice(&bytes),
                None => break,
            }
            answered += 1;
        }
        if answered == 0 {
            return;
        }
        let mut left = Vec::new();
        for cmd in &cmds[answered..] {
            resp::encode_command(&mut left, cmd);
        }
        let mut kept = BytesMut::with_capacity(left.len() + rest.len());
        kept.extend_from_slice(&left);
        kept.extend_from_slice(&rest);
        *input = kept;
        drop(input);
        st.out.borrow_mut().extend_from_slice(&out);
        self.queue_send(st);
        self.resume_recv(st);
    }
}
