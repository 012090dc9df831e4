//! Entering the ring through its registered fd. The io-uring crate keeps a registered
//! ring fd inside a short-lived `Submitter`, so the driver registers the fd and calls
//! `io_uring_enter` itself (kernel ABI values below, from io_uring.h).

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

const IORING_ENTER_GETEVENTS: u32 = 1 << 0;
const IORING_ENTER_EXT_ARG: u32 = 1 << 3;
const IORING_ENTER_REGISTERED_RING: u32 = 1 << 4;
const IORING_REGISTER_RING_FDS: u32 = 20;

#[repr(C)]
struct RsrcUpdate {
    offset: u32,
    resv: u32,
    data: u64,
}

#[repr(C)]
struct GetEventsArg {
    sigmask: u64,
    sigmask_sz: u32,
    min_wait_usec: u32,
    ts: u64,
}

#[repr(C)]
struct KernelTimespec {
    tv_sec: i64,
    tv_nsec: i64,
}

/// How the driver names its ring to the kernel.
#[derive(Clone, Copy)]
pub struct RingHandle {
    fd: RawFd,
    /// Index of the registered ring fd, when registration worked.
    registered: Option<u32>,
}

impl RingHandle {
    /// Registers the ring's fd (falls back to the plain fd where that fails).
    pub fn register(fd: RawFd) -> RingHandle {
        let mut up = RsrcUpdate {
            offset: u32::MAX,
            resv: 0,
            data: fd as u64,
        };
        // SAFETY: `up` is a valid io_uring_rsrc_update the kernel fills in.
        let res = unsafe {
            libc::syscall(
                libc::SYS_io_uring_register,
                fd,
                IORING_REGISTER_RING_FDS,
                &mut up as *mut RsrcUpdate,
                1u32,
            )
        };
        RingHandle {
            fd,
            registered: (res == 1).then_some(up.offset),
        }
    }

    /// Submits `to_submit` entries and, when `min_complete` > 0, waits for that many
    /// completions or `timeout`; always runs the ring's deferred completions.
    pub fn enter(
        &self,
        to_submit: u32,
        min_complete: u32,
        timeout: Option<Duration>,
    ) -> io::Result<usize> {
        let (fd, mut flags) = match self.registered {
            Some(i) => (i as i32, IORING_ENTER_REGISTERED_RING),
            None => (self.fd, 0),
        };
        flags |= IORING_ENTER_GETEVENTS;
        let ts = timeout.map(|t| KernelTimespec {
            tv_sec: t.as_secs() as i64,
            tv_nsec: t.subsec_nanos() as i64,
        });
        let arg = GetEventsArg {
            sigmask: 0,
            sigmask_sz: 0,
            min_wait_usec: 0,
            ts: ts.as_ref().map_or(0, |t| t as *const KernelTimespec as u64),
        };
        let (argp, argsz) = if ts.is_some() {
            flags |= IORING_ENTER_EXT_ARG;
            (
                &arg as *const GetEventsArg as *const libc::c_void,
                std::mem::size_of::<GetEventsArg>(),
            )
        } else {
            (std::ptr::null(), 0)
        };
        // SAFETY: plain io_uring_enter; `arg` and `ts` outlive the call.
        let res = unsafe {
            libc::syscall(
                libc::SYS_io_uring_enter,
                fd,
                to_submit,
                min_complete,
                flags,
                argp,
                argsz,
            )
        };
        if res < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(res as usize)
        }
    }
}
