//! GEOSEARCH, GEOSEARCHSTORE and the GEORADIUS family: one parser and one search.

use std::cmp::Ordering;

use bytes::Bytes;

use super::partial_sort::partial_sort;
use super::shape::{search_shape, Extent, Found, Shape};
use super::{
    arg, distance_reply, human_double, member_position, other, parse_box, parse_lonlat,
    parse_radius, Ctx,
};
use crate::args::{eq_ic, parse_i64};
use crate::cmd::zsets::{read_zset, store_result};
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;
use crate::types::zset::Elem;

/// Which command family is parsing.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// GEORADIUS key lon lat radius unit ...
    RadiusCoords,
    /// GEORADIUSBYMEMBER key member radius unit ...
    RadiusMember,
    /// GEOSEARCH key ...
    Search,
    /// GEOSEARCHSTORE dst key ...
    SearchStore,
}

#[derive(Clone, Copy, PartialEq)]
enum Sort {
    None,
    Asc,
    Desc,
}

fn radius_generic(ctx: &mut Ctx, args: &[Bytes], kind: Kind, no_store: bool) -> CmdResult<Reply> {
    let src_idx = if kind == Kind::SearchStore { 2 } else { 1 };
    let zs = read_zset(ctx, arg(args, src_idx)?)?;
    let mut center: Option<(f64, f64)> = None;
    let mut extent: Option<(Extent, f64)> = None;
    let mut store: Option<&[u8]> = None;
    let mut storedist = false;
    let base = match kind {
        Kind::RadiusCoords => {
            center = Some(parse_lonlat(arg(args, 2)?, arg(args, 3)?)?);
            let (r, conv) = parse_radius(arg(args, 4)?, arg(args, 5)?)?;
            extent = Some((Extent::Radius(r), conv));
            6
        }
        Kind::RadiusMember => {
            // Without the key, Redis checks neither member nor radius, only the options.
            if let Some(z) = zs {
                center = Some(member_position(z, arg(args, 2)?)?);
                let (r, conv) = parse_radius(arg(args, 3)?, arg(args, 4)?)?;
                extent = Some((Extent::Radius(r), conv));
            }
            5
        }
        Kind::Search => 2,
        Kind::SearchStore => {
            store = Some(arg(args, 1)?);
            3
        }
    };
    let search = matches!(kind, Kind::Search | Kind::SearchStore);
    let (mut withdist, mut withhash, mut withcoord, mut any) = (false, false, false, false);
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let mut sort = Sort::None;
    let mut count: i64 = 0;
    let rest = args.get(base..).unwrap_or_default();
    let mut i = 0;
    while i < rest.len() {
        let a = &rest[i][..];
        let left = rest.len() - i - 1;
        if eq_ic(a, "withdist") {
            withdist = true;
        } else if eq_ic(a, "withhash") {
            withhash = true;
        } else if eq_ic(a, "withcoord") {
            withcoord = true;
        } else if eq_ic(a, "any") {
            any = true;
        } else if eq_ic(a, "asc") {
            sort = Sort::Asc;
        } else if eq_ic(a, "desc") {
            sort = Sort::Desc;
        } else if eq_ic(a, "count") && left >= 1 {
            count = parse_i64(&rest[i + 1])?;
            if count <= 0 {
                return Err(other("ERR COUNT must be > 0"));
            }
            i += 1;
        } else if (eq_ic(a, "store") || eq_ic(a, "storedist")) && left >= 1 && !no_store && !search
        {
            store = Some(&rest[i + 1]);
            storedist = eq_ic(a, "storedist");
            i += 1;
        } else if eq_ic(a, "storedist") && kind == Kind::SearchStore {
            storedist = true;
        } else if eq_ic(a, "frommember") && left >= 1 && search && !fromloc {
            if let Some(z) = zs {
                center = Some(member_position(z, &rest[i + 1])?);
            }
            frommember = true;
            i += 1;
        } else if eq_ic(a, "fromlonlat") && left >= 2 && search && !frommember {
            center = Some(parse_lonlat(&rest[i + 1], &rest[i + 2])?);
            fromloc = true;
            i += 2;
        } else if eq_ic(a, "byradius") && left >= 2 && search && !bybox {
            let (r, conv) = parse_radius(&rest[i + 1], &rest[i + 2])?;
            extent = Some((Extent::Radius(r), conv));
            byradius = true;
            i += 2;
        } else if eq_ic(a, "bybox") && left >= 3 && search && !byradius {
            let (width, height, conv) = parse_box(&rest[i + 1], &rest[i + 2], &rest[i + 3])?;
            extent = Some((Extent::Box { width, height }, conv));
            bybox = true;
            i += 3;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if store.is_some() && (withdist || withhash || withcoord) {
        let who = if kind == Kind::SearchStore {
            "GEOSEARCHSTORE"
        } else {
            "STORE option in GEORADIUS"
        };
        return Err(other(format!(
            "ERR {who} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        )));
    }
    let name = String::from_utf8_lossy(arg(args, 0)?).into_owned();
    if search && !(frommember || fromloc) {
        return Err(other(format!(
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
        )));
    }
    if search && !(byradius || bybox) {
        return Err(other(format!(
            "ERR exactly one of BYRADIUS and BYBOX can be specified for {name}"
        )));
    }
    if any && count == 0 {
        return Err(other("ERR the ANY argument requires COUNT argument"));
    }
    let (Some(zs), Some((lon, lat)), Some((extent, conversion))) = (zs, center, extent) else {
        // No source key.
        if let Some(dst) = store {
            store_result(ctx, dst, Vec::new());
            return Ok(Reply::Int(0));
        }
        return Ok(Reply::Array(Vec::new()));
    };
    if count != 0 && sort == Sort::None && !any {
        sort = Sort::Asc;
    }
    let shape = Shape {
        lon,
        lat,
        extent,
        conversion,
    };
    let limit = if any { count as usize } else { 0 };
    let mut found = search_shape(zs, &shape, limit);
    if sort != Sort::None {
        let desc = sort == Sort::Desc;
        let by_dist = |a: &Found, b: &Found| {
            let o = a.dist.partial_cmp(&b.dist).unwrap_or(Ordering::Equal);
            if desc {
                o.reverse()
            } else {
                o
            }
        };
        let wanted = if count > 0 {
            (count as u64).min(found.len() as u64) as usize
        } else {
            found.len()
        };
        if wanted == found.len() {
            // libc's qsort here is a merge sort: stable.
            found.sort_by(by_dist);
        } else if wanted > 0 {
            partial_sort(&mut found, wanted - 1, &by_dist);
        }
    }
    if count > 0 && (count as u64) < found.len() as u64 {
        found.truncate(count as usize);
    }
    if let Some(dst) = store {
        let elems: Vec<Elem> = found
            .iter()
            .map(|f| {
                let score = if storedist {
                    f.dist / conversion
                } else {
                    f.score
                };
                Elem::new(&f.member, score)
            })
            .collect();
        let n = elems.len();
        store_result(ctx, dst, elems);
        return Ok(Reply::Int(n as i64));
    }
    let nested = withdist || withhash || withcoord;
    Ok(Reply::Array(
        found
            .into_iter()
            .map(|f| {
                if !nested {
                    return Reply::Bulk(f.member);
                }
                let mut item = vec![Reply::Bulk(f.member)];
                if withdist {
                    item.push(distance_reply(f.dist / conversion));
                }
                if withhash {
                    item.push(Reply::Int(f.score as i64));
                }
                if withcoord {
                    item.push(Reply::Array(vec![
                        Reply::DoubleText(human_double(f.lon)),
                        Reply::DoubleText(human_double(f.lat)),
                    ]));
                }
                Reply::Array(item)
            })
            .collect(),
    ))
}

pub fn geosearch(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    radius_generic(ctx, args, Kind::Search, true)
}

pub fn geosearchstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    radius_generic(ctx, args, Kind::SearchStore, false)
}

pub fn georadius(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    radius_generic(ctx, args, Kind::RadiusCoords, false)
}

pub fn georadiusbymember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    radius_generic(ctx, args, Kind::RadiusMember, false)
}

pub fn georadius_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    radius_generic(ctx, args, Kind::RadiusCoords, true)
}

pub fn georadiusbymember_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    radius_generic(ctx, args, Kind::RadiusMember, true)
}
