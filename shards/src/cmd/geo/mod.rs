//! Geo commands on top of sorted sets (GEOADD, GEOSEARCH ...).
//!
//! A position is stored as a sorted-set score: the 52-bit geohash of the point, its
//! latitude (range -85.05112878..85.05112878, the Web Mercator limits) and longitude
//! (-180..180) each quantised to 26 bits and interleaved, latitude in the even bits.
//! Searches cover the query shape with the geohash cell of a suitable precision around
//! the centre plus its eight neighbours, scan each cell's score range in the set, and
//! keep the points inside the shape. Distances are haversine on a sphere of Redis's
//! earth radius. Arithmetic follows Redis step by step so scores, distances and the
//! order of unsorted results come out identical.
//!
//! This file holds the argument parsing and reply formatting the commands share, and
//! GEOADD, GEODIST, GEOHASH and GEOPOS; `geohash` has the cell arithmetic and
//! distances, `shape` the search areas and the scan of a set's cells, `partial_sort`
//! Redis's partial quicksort of results, `search` GEOSEARCH[STORE] and the GEORADIUS
//! family.

mod geohash;
mod partial_sort;
mod search;
mod shape;

use bytes::Bytes;

use self::geohash::{geohash_string, LAT_MAX, LAT_MIN, LON_MAX, LON_MIN};
use super::zsets::{parse_score, read_zset, zadd_apply, ZaddFlags};
use super::Ctx;
use crate::args::eq_ic;
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;
use crate::types::zset::ZSet;

pub use geohash::{decode_score, distance, encode_score};
pub use search::{
    georadius, georadius_ro, georadiusbymember, georadiusbymember_ro, geosearch, geosearchstore,
};

fn arg(args: &[Bytes], i: usize) -> CmdResult<&[u8]> {
    args.get(i).map(|a| &a[..]).ok_or(CmdError::Syntax)
}

fn other(msg: impl Into<String>) -> CmdError {
    CmdError::other(msg)
}

// Argument parsing -------------------------------------------------------------------

fn parse_unit(u: &[u8]) -> CmdResult<f64> {
    match () {
        _ if eq_ic(u, "m") => Ok(1.0),
        _ if eq_ic(u, "km") => Ok(1000.0),
        _ if eq_ic(u, "ft") => Ok(0.3048),
        _ if eq_ic(u, "mi") => Ok(1609.34),
        _ => Err(other(
            "ERR unsupported unit provided. please use M, KM, FT, MI",
        )),
    }
}

/// A longitude, latitude pair, range-checked like Redis.
fn parse_lonlat(lon: &[u8], lat: &[u8]) -> CmdResult<(f64, f64)> {
    let lon = parse_score(lon)?;
    let lat = parse_score(lat)?;
    if !(LON_MIN..=LON_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return Err(other(format!(
            "ERR invalid longitude,latitude pair {},{}",
            c_fixed6(lon),
            c_fixed6(lat)
        )));
    }
    Ok((lon, lat))
}

/// C's `%f`.
fn c_fixed6(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    format!("{v:.6}")
}

/// A radius and its unit: (radius, metres per unit).
fn parse_radius(r: &[u8], unit: &[u8]) -> CmdResult<(f64, f64)> {
    let r = parse_score(r).map_err(|_| other("ERR need numeric radius"))?;
    if r < 0.0 {
        return Err(other("ERR radius cannot be negative"));
    }
    Ok((r, parse_unit(unit)?))
}

/// BYBOX width height unit: (width, height, metres per unit).
fn parse_box(w: &[u8], h: &[u8], unit: &[u8]) -> CmdResult<(f64, f64, f64)> {
    let w = parse_score(w).map_err(|_| other("ERR need numeric width"))?;
    let h = parse_score(h).map_err(|_| other("ERR need numeric height"))?;
    if h < 0.0 || w < 0.0 {
        return Err(other("ERR height or width cannot be negative"));
    }
    Ok((w, h, parse_unit(unit)?))
}

fn member_position(zs: &ZSet, member: &[u8]) -> CmdResult<(f64, f64)> {
    zs.score(member)
        .map(decode_score)
        .ok_or_else(|| other("ERR could not decode requested zset member"))
}

/// How coordinates are printed: `%.17Lf` with trailing zeros (and a bare point) cut.
fn human_double(v: f64) -> String {
    let mut s = format!("{v:.17}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}

fn distance_reply(d: f64) -> Reply {
    Reply::Bulk(format!("{d:.4}").into_bytes())
}

// Commands ---------------------------------------------------------------------------

/// GEOADD key [NX|XX] [CH] longitude latitude member ...: a ZADD of geohash scores.
pub fn geoadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let mut flags = ZaddFlags::default();
    let mut idx = 2;
    while let Some(a) = args.get(idx) {
        match () {
            _ if eq_ic(a, "nx") => flags.nx = true,
            _ if eq_ic(a, "xx") => flags.xx = true,
            _ if eq_ic(a, "ch") => flags.ch = true,
            _ => break,
        }
        idx += 1;
    }
    let rest = &args[idx.min(args.len())..];
    if !rest.len().is_multiple_of(3) || (flags.xx && flags.nx) || rest.is_empty() {
        return Err(CmdError::Syntax);
    }
    let mut pairs = Vec::with_capacity(rest.len() / 3);
    for t in rest.chunks(3) {
        let (lon, lat) = parse_lonlat(&t[0], &t[1])?;
        let bits = encode_score(lon, lat).ok_or(CmdError::Syntax)?;
        pairs.push((bits as f64, &t[2][..]));
    }
    zadd_apply(ctx, key, flags, &pairs)
}

pub fn geodist(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let to_meter = match args.len() {
        0..=4 => 1.0,
        5 => parse_unit(&args[4])?,
        _ => return Err(CmdError::Syntax),
    };
    let Some(zs) = read_zset(ctx, arg(args, 1)?)? else {
        return Ok(Reply::Nil);
    };
    let (Some(a), Some(b)) = (zs.score(arg(args, 2)?), zs.score(arg(args, 3)?)) else {
        return Ok(Reply::Nil);
    };
    let (lon1, lat1) = decode_score(a);
    let (lon2, lat2) = decode_score(b);
    Ok(distance_reply(distance(lon1, lat1, lon2, lat2) / to_meter))
}

pub fn geohash(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let zs = read_zset(ctx, arg(args, 1)?)?;
    Ok(Reply::Array(
        args[2..]
            .iter()
            .map(|m| match zs.and_then(|z| z.score(m)) {
                Some(s) => Reply::Bulk(geohash_string(s)),
                None => Reply::Nil,
            })
            .collect(),
    ))
}

/// GEOPOS: each position as [longitude, latitude] strings, or a null array.
pub fn geopos(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let zs = read_zset(ctx, arg(args, 1)?)?;
    Ok(Reply::Array(
        args[2..]
            .iter()
            .map(|m| match zs.and_then(|z| z.score(m)) {
                Some(s) => {
                    let (lon, lat) = decode_score(s);
                    Reply::Array(vec![
                        Reply::DoubleText(human_double(lon)),
                        Reply::DoubleText(human_double(lat)),
                    ])
                }
                None => Reply::NilArray,
            })
            .collect(),
    ))
}

#[cfg(test)]
#[path = "../tests/geo.rs"]
mod tests;
