//! Redis's RDB serialization of single values, as DUMP, RESTORE and MIGRATE exchange
//! them (and as a future RDB file would store them).
//!
//! A DUMP payload is the object type byte, the value in RDB encoding, the RDB version
//! as two little-endian bytes, and a CRC-64 (little-endian) of everything before it.
//! We write RDB version 10 (Redis 7.0), so redis-server 7.0 and later load our payloads,
//! and accept payloads up to version 11 (Redis 7.2).

pub mod crc64;
mod decode;
mod encode;
pub mod file;
pub mod intset;
pub mod listpack;
mod stream;
pub mod ziplist;

pub use decode::{read_object, read_value, DecodeError, Decoded, Reader};
pub use encode::{with_compression, write_len, write_object, write_string};

use crate::config::EngineConfig;
use crate::value::Value;

/// The RDB version we write.
pub const RDB_VERSION: u16 = 10;
/// The newest RDB version whose payloads we read.
pub const RDB_VERSION_READ: u16 = 11;

/// Object type bytes and string encoding markers of the RDB format.
pub mod types {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    /// Redis 5 and 6 streams (no first ID, deleted ID, added and read counters).
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    /// Redis 7.0 streams, which we write.
    pub const STREAM_LISTPACKS_2: u8 = 19;
    /// Redis 7.2 (RDB 11) only.
    pub const SET_LISTPACK: u8 = 20;
    /// Redis 7.2 (RDB 11) only: streams with consumers' active time.
    pub const STREAM_LISTPACKS_3: u8 = 21;

    /// Quicklist 2 node containers.
    pub const QUICKLIST_NODE_PLAIN: u64 = 1;
    pub const QUICKLIST_NODE_PACKED: u64 = 2;

    /// Low six bits of a `11xxxxxx` string header.
    pub const ENC_INT8: u8 = 0;
    pub const ENC_INT16: u8 = 1;
    pub const ENC_INT32: u8 = 2;
    pub const ENC_LZF: u8 = 3;
}

/// Bytes after the value: version (2) and CRC-64 (8).
const FOOTER: usize = 10;

/// The DUMP payload of `value`.
pub fn dump_payload(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_object(&mut out, value);
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64::crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Whether a payload carries a version we read and a correct checksum (Redis's
/// "DUMP payload version or checksum are wrong" otherwise).
pub fn payload_ok(payload: &[u8]) -> bool {
    if payload.len() < FOOTER {
        return false;
    }
    let body_and_version = payload.len() - 8;
    let version =
        u16::from_le_bytes([payload[body_and_version - 2], payload[body_and_version - 1]]);
    if version > RDB_VERSION_READ {
        return false;
    }
    let crc = u64::from_le_bytes(payload[body_and_version..].try_into().expect("8 bytes"));
    crc64::crc64(0, &payload[..body_and_version]) == crc
}

/// The value in a payload that passed `payload_ok`. Bytes after the value, before the
/// footer, are ignored (as redis-server does).
pub fn load_payload(payload: &[u8], config: &EngineConfig) -> Decoded<Value> {
    let body = &payload[..payload.len().saturating_sub(FOOTER)];
    read_object(&mut Reader::new(body), config)
}

#[cfg(test)]
mod tests;
