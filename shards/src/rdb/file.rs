//! Whole RDB files, as redis-server 7.0 writes and reads them: the `REDIS0010` header,
//! auxiliary fields, per database a SELECTDB and RESIZEDB opcode then its keys (each
//! with its expiry time and, under an LRU or LFU policy, its idle time or frequency),
//! EOF and a CRC-64 of everything before it.
//!
//! A shard writes its keys entry by entry with `EntryFormat::write` (its snapshot,
//! `crate::snapshot`); the server concatenates the shards' parts database by database
//! between `write_header`, `write_db_start` and `write_footer`, so the file is one
//! stream whatever the number of shards. Reading
//! (`read_file`) hands every key to a callback with its database, so each can go to the
//! shard of its slot.

use super::crc64::crc64;
use super::decode::{read_value, DecodeError, Decoded, Reader};
use super::encode::{write_len, write_object, write_string};
use crate::config::EngineConfig;
use crate::evict::{access, Policy};
use crate::keyspace::{Entry, Keyspace, Stored};

pub mod opcode {
    pub const FUNCTION2: u8 = 0xf5;
    pub const MODULE_AUX: u8 = 0xf7;
    pub const IDLE: u8 = 0xf8;
    pub const FREQ: u8 = 0xf9;
    pub const AUX: u8 = 0xfa;
    pub const RESIZEDB: u8 = 0xfb;
    pub const EXPIRETIME_MS: u8 = 0xfc;
    pub const EXPIRETIME: u8 = 0xfd;
    pub const SELECTDB: u8 = 0xfe;
    pub const EOF: u8 = 0xff;
}

/// The magic and version redis-server 7.0 writes.
pub const MAGIC: &[u8] = b"REDIS0010";

/// The header and auxiliary fields, as redis-server 7.0 writes them.
pub fn write_header(out: &mut Vec<u8>, aux: &[(&str, String)]) {
    out.extend_from_slice(MAGIC);
    for (k, v) in aux {
        out.push(opcode::AUX);
        write_string(out, k.as_bytes());
        write_string(out, v.as_bytes());
    }
}

/// A function library's code (Redis 7's FUNCTION2 record, written after the
/// auxiliary fields).
pub fn write_function(out: &mut Vec<u8>, code: &[u8]) {
    out.push(opcode::FUNCTION2);
    write_string(out, code);
}

/// SELECTDB and RESIZEDB for a database holding `keys` keys, `expires` of them with
/// a TTL.
pub fn write_db_start(out: &mut Vec<u8>, db: usize, keys: u64, expires: u64) {
    out.push(opcode::SELECTDB);
    write_len(out, db as u64);
    out.push(opcode::RESIZEDB);
    write_len(out, keys);
    write_len(out, expires);
}

/// EOF and the checksum of everything before it (0 when `checksum` is off, as
/// `rdbchecksum no` does).
pub fn write_footer(out: &mut Vec<u8>, crc_so_far: u64, checksum: bool) -> u64 {
    out.push(opcode::EOF);
    let crc = if checksum {
        crc64(crc_so_far, &[opcode::EOF])
    } else {
        0
    };
    out.extend_from_slice(&crc.to_le_bytes());
    crc
}

/// How many keys a part holds, and how many of them with a TTL (RESIZEDB).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Written {
    pub keys: u64,
    pub expires: u64,
}

impl Written {
    /// Counts one key written (`ttl`: with an expiry time).
    pub fn add(&mut self, ttl: bool) {
        self.keys += 1;
        self.expires += u64::from(ttl);
    }
}

/// How a keyspace's entries are written: the time their idle time counts from and
/// which access information the policy keeps.
#[derive(Clone, Copy)]
pub struct EntryFormat {
    pub now: u64,
    pub policy: Policy,
    pub lfu: access::LfuParams,
}

impl EntryFormat {
    pub fn of(ks: &Keyspace) -> EntryFormat {
        EntryFormat {
            now: ks.now(),
            policy: ks.config.maxmemory_policy,
            lfu: ks.lfu_params(),
        }
    }

    /// One key: its expiry time, idle time or frequency, type, name and value. `scratch`
    /// is a buffer to reuse. Returns whether it had a TTL.
    pub fn write(&self, out: &mut Vec<u8>, scratch: &mut Vec<u8>, key: &[u8], e: &Stored) -> bool {
        let at = e.expire_at();
        if at != 0 {
            out.push(opcode::EXPIRETIME_MS);
            out.extend_from_slice(&at.to_le_bytes());
        }
        if self.policy.is_lfu() {
            out.push(opcode::FREQ);
            out.push(access::lfu_counter(e.access(), self.now, self.lfu));
        } else if matches!(self.policy, Policy::AllkeysLru | Policy::VolatileLru) {
            out.push(opcode::IDLE);
            write_len(out, access::idle_ms(e.access(), self.now) / 1000);
        }
        scratch.clear();
        write_object(scratch, e.value());
        out.push(scratch[0]);
        write_string(out, key);
        out.extend_from_slice(&scratch[1..]);
        at != 0
    }
}

/// What a file held besides its keys.
#[derive(Debug, Default)]
pub struct FileInfo {
    pub version: u16,
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    /// Function libraries' code (FUNCTION2 records), in file order.
    pub functions: Vec<Vec<u8>>,
    pub keys: u64,
    /// Keys skipped because their TTL had passed.
    pub expired: u64,
}

/// One key read from a file.
pub struct Loaded {
    pub db: usize,
    pub key: Vec<u8>,
    pub entry: Entry,
    /// The key's LFU frequency or idle seconds, when the file had them.
    pub freq: Option<u8>,
    pub idle_secs: Option<u64>,
}

/// Reads a whole RDB file (versions 1 to 11), checking its checksum when it has one,
/// and passes every key to `visit`, skipping those whose expiry is before `now`
/// (as a master loading a file does).
pub fn read_file(
    buf: &[u8],
    config: &EngineConfig,
    now: u64,
    mut visit: impl FnMut(Loaded),
) -> Decoded<FileInfo> {
    if buf.len() < 9 || &buf[..5] != b"REDIS" {
        return Err(DecodeError("wrong signature trying to load DB from file"));
    }
    let version: u16 = std::str::from_utf8(&buf[5..9])
        .ok()
        .and_then(|v| v.parse().ok())
        .ok_or(DecodeError("bad RDB version"))?;
    if !(1..=super::RDB_VERSION_READ).contains(&version) {
        return Err(DecodeError("can't handle RDB format version"));
    }
    let mut info = FileInfo {
        version,
        ..FileInfo::default()
    };
    let mut r = Reader::new(&buf[9..]);
    let mut db = 0usize;
    let (mut expire_at, mut freq, mut idle) = (0u64, None, None);
    loop {
        let op = r.byte()?;
        match op {
            opcode::EOF => break,
            opcode::AUX => {
                let k = r.string()?;
                let v = r.string()?;
                info.aux.push((k, v));
            }
            opcode::SELECTDB => {
                db = usize::try_from(r.length()?).map_err(|_| DecodeError("bad db"))?;
            }
            opcode::RESIZEDB => {
                r.length()?;
                r.length()?;
            }
            opcode::EXPIRETIME_MS => {
                expire_at = u64::from_le_bytes(r.take(8)?.try_into().expect("8 bytes"));
            }
            opcode::EXPIRETIME => {
                let s = u32::from_le_bytes(r.take(4)?.try_into().expect("4 bytes"));
                expire_at = u64::from(s) * 1000;
            }
            opcode::FREQ => freq = Some(r.byte()?),
            opcode::IDLE => idle = Some(r.length()?),
            opcode::FUNCTION2 => info.functions.push(r.string()?),
            opcode::MODULE_AUX => return Err(DecodeError("module data is not supported")),
            kind => {
                let key = r.string()?;
                let value = read_value(&mut r, kind, config)?;
                let at = std::mem::take(&mut expire_at);
                let (f, i) = (freq.take(), idle.take());
                if at != 0 && at <= now {
                    info.expired += 1;
                    continue;
                }
                info.keys += 1;
                visit(Loaded {
                    db,
                    key,
                    entry: Entry {
                        value,
                        expire_at: at,
                        access: 0,
                    },
                    freq: f,
                    idle_secs: i,
                });
            }
        }
    }
    if version >= 5 {
        let body = buf.len() - r.remaining();
        let stored = r.take(8)?;
        let stored = u64::from_le_bytes(stored.try_into().expect("8 bytes"));
        if stored != 0 && crc64(0, &buf[..body]) != stored {
            return Err(DecodeError("RDB CRC error"));
        }
    }
    Ok(info)
}
