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

use std::cmp::Ordering;

use bytes::Bytes;

use super::zsets::{parse_score, read_zset, store_result, zadd_apply, ZaddFlags};
use super::Ctx;
use crate::args::{eq_ic, parse_i64};
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;
use crate::types::zset::{Elem, ZSet};

const LAT_MIN: f64 = -85.05112878;
const LAT_MAX: f64 = 85.05112878;
const LON_MIN: f64 = -180.0;
const LON_MAX: f64 = 180.0;
const STEP_MAX: u8 = 26;
const EARTH_RADIUS_M: f64 = 6372797.560856;
/// Half the Mercator projection's width in metres: the size of a step-1 cell.
const MERCATOR_MAX: f64 = 20037726.37;
const GEO_ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";

fn arg(args: &[Bytes], i: usize) -> CmdResult<&[u8]> {
    args.get(i).map(|a| &a[..]).ok_or(CmdError::Syntax)
}

fn other(msg: impl Into<String>) -> CmdError {
    CmdError::other(msg)
}

// Geohash ----------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct HashBits {
    bits: u64,
    step: u8,
}

impl HashBits {
    /// A cell removed from a search (Redis marks it with bits and step 0).
    const NONE: HashBits = HashBits { bits: 0, step: 0 };

    fn is_none(&self) -> bool {
        self.bits == 0 && self.step == 0
    }

    /// The cell's first score, aligned to 52 bits.
    fn align52(&self) -> u64 {
        self.bits << (52 - 2 * self.step as u32)
    }
}

#[derive(Debug, Clone, Copy)]
struct Range {
    min: f64,
    max: f64,
}

const LON_RANGE: Range = Range {
    min: LON_MIN,
    max: LON_MAX,
};
const LAT_RANGE: Range = Range {
    min: LAT_MIN,
    max: LAT_MAX,
};

#[derive(Debug, Clone, Copy)]
struct Area {
    lon: Range,
    lat: Range,
}

/// Spreads the 32 bits of `v` to the even bit positions of a u64.
fn spread(v: u32) -> u64 {
    let mut x = v as u64;
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    (x | (x << 1)) & 0x5555_5555_5555_5555
}

/// Gathers the even bits of `v` into a u32.
fn squash(v: u64) -> u32 {
    let mut x = v & 0x5555_5555_5555_5555;
    x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
    x = (x | (x >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x >> 16)) & 0x0000_0000_FFFF_FFFF;
    x as u32
}

/// Latitude bits even, longitude bits odd.
fn interleave(lat: u32, lon: u32) -> u64 {
    spread(lat) | (spread(lon) << 1)
}

fn deinterleave(bits: u64) -> (u32, u32) {
    (squash(bits), squash(bits >> 1))
}

/// C's double -> uint32 conversion of a value known to be in range.
fn to_u32(v: f64) -> u32 {
    v as u32
}

fn encode(lon_r: Range, lat_r: Range, lon: f64, lat: f64, step: u8) -> Option<HashBits> {
    if !(LON_MIN..=LON_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return None;
    }
    if lat < lat_r.min || lat > lat_r.max || lon < lon_r.min || lon > lon_r.max {
        return None;
    }
    let scale = (1u64 << step) as f64;
    let lat_off = (lat - lat_r.min) / (lat_r.max - lat_r.min) * scale;
    let lon_off = (lon - lon_r.min) / (lon_r.max - lon_r.min) * scale;
    Some(HashBits {
        bits: interleave(to_u32(lat_off), to_u32(lon_off)),
        step,
    })
}

fn decode(lon_r: Range, lat_r: Range, hash: HashBits) -> Area {
    let (ilat, ilon) = deinterleave(hash.bits);
    let scale = (1u64 << hash.step) as f64;
    let lat_scale = lat_r.max - lat_r.min;
    let lon_scale = lon_r.max - lon_r.min;
    Area {
        lat: Range {
            min: lat_r.min + (ilat as f64 / scale) * lat_scale,
            max: lat_r.min + (ilat.wrapping_add(1) as f64 / scale) * lat_scale,
        },
        lon: Range {
            min: lon_r.min + (ilon as f64 / scale) * lon_scale,
            max: lon_r.min + (ilon.wrapping_add(1) as f64 / scale) * lon_scale,
        },
    }
}

/// The 52-bit score of a position (already range-checked).
pub fn encode_score(lon: f64, lat: f64) -> Option<u64> {
    encode(LON_RANGE, LAT_RANGE, lon, lat, STEP_MAX).map(|h| h.align52())
}

/// A score as the C code converts it to uint64 on x86-64 (out-of-range scores of
/// non-geo sets decode to something, not to an error).
fn score_bits(score: f64) -> u64 {
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    if score >= TWO63 {
        let low = score - TWO63;
        if low < TWO63 {
            (low as i64 as u64) ^ (1 << 63)
        } else {
            0
        }
    } else if score >= -TWO63 {
        score as i64 as u64
    } else {
        1 << 63
    }
}

/// The centre of the cell a score names: (longitude, latitude).
pub fn decode_score(score: f64) -> (f64, f64) {
    let area = decode(
        LON_RANGE,
        LAT_RANGE,
        HashBits {
            bits: score_bits(score),
            step: STEP_MAX,
        },
    );
    let lon = ((area.lon.min + area.lon.max) / 2.0).clamp(LON_MIN, LON_MAX);
    let lat = ((area.lat.min + area.lat.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (lon, lat)
}

/// The standard 11-character geohash of a score (latitude range -90..90).
fn geohash_string(score: f64) -> Vec<u8> {
    let (lon, lat) = decode_score(score);
    let lat90 = Range {
        min: -90.0,
        max: 90.0,
    };
    let bits = encode(LON_RANGE, lat90, lon, lat, STEP_MAX).map_or(0, |h| h.bits);
    (0..11)
        .map(|i| {
            // 52 bits give ten characters; the eleventh is always '0'.
            let idx = if i == 10 {
                0
            } else {
                (bits >> (52 - (i + 1) * 5)) & 0x1f
            };
            GEO_ALPHABET[idx as usize]
        })
        .collect()
}

fn deg_rad(d: f64) -> f64 {
    d * (std::f64::consts::PI / 180.0)
}

fn rad_deg(r: f64) -> f64 {
    r / (std::f64::consts::PI / 180.0)
}

/// Great-circle distance in metres (haversine). When the longitudes agree the
/// distance is taken along the meridian, as Redis 7.0 does (to the last bit).
pub fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let (lon1r, lon2r) = (deg_rad(lon1), deg_rad(lon2));
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let (lat1r, lat2r) = (deg_rad(lat1), deg_rad(lat2));
    let u = ((lat2r - lat1r) / 2.0).sin();
    2.0 * EARTH_RADIUS_M * (u * u + lat1r.cos() * lat2r.cos() * v * v).sqrt().asin()
}

fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_M * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

fn move_x(h: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let shift = 64 - 2 * h.step as u32;
    let mut x = h.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let y = h.bits & 0x5555_5555_5555_5555;
    let zz = 0x5555_5555_5555_5555u64 >> shift;
    if d > 0 {
        x = x.wrapping_add(zz + 1);
    } else {
        x |= zz;
        x = x.wrapping_sub(zz + 1);
    }
    x &= 0xaaaa_aaaa_aaaa_aaaau64 >> shift;
    h.bits = x | y;
}

fn move_y(h: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let shift = 64 - 2 * h.step as u32;
    let x = h.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let mut y = h.bits & 0x5555_5555_5555_5555;
    let zz = 0xaaaa_aaaa_aaaa_aaaau64 >> shift;
    if d > 0 {
        y = y.wrapping_add(zz + 1);
    } else {
        y |= zz;
        y = y.wrapping_sub(zz + 1);
    }
    y &= 0x5555_5555_5555_5555u64 >> shift;
    h.bits = x | y;
}

/// The eight neighbours of a cell.
#[derive(Debug, Clone, Copy)]
struct Neighbors {
    north: HashBits,
    south: HashBits,
    east: HashBits,
    west: HashBits,
    north_east: HashBits,
    north_west: HashBits,
    south_east: HashBits,
    south_west: HashBits,
}

fn neighbors(h: HashBits) -> Neighbors {
    let at = |dx: i8, dy: i8| {
        let mut n = h;
        move_x(&mut n, dx);
        move_y(&mut n, dy);
        n
    };
    Neighbors {
        east: at(1, 0),
        west: at(-1, 0),
        south: at(0, -1),
        north: at(0, 1),
        north_west: at(-1, 1),
        south_west: at(-1, -1),
        north_east: at(1, 1),
        south_east: at(1, -1),
    }
}

fn estimate_steps(mut range_m: f64, lat: f64) -> u8 {
    if range_m == 0.0 {
        return STEP_MAX;
    }
    let mut step: i32 = 1;
    while range_m < MERCATOR_MAX {
        range_m *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, STEP_MAX as i32) as u8
}

// Shapes and search ------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Extent {
    Radius(f64),
    Box { width: f64, height: f64 },
}

#[derive(Debug, Clone, Copy)]
struct Shape {
    lon: f64,
    lat: f64,
    extent: Extent,
    /// Metres per unit of the query.
    conversion: f64,
}

impl Shape {
    /// (min_lon, min_lat, max_lon, max_lat) of the search area.
    fn bounding_box(&self) -> (f64, f64, f64, f64) {
        let (h, w) = match self.extent {
            Extent::Radius(r) => (r, r),
            Extent::Box { width, height } => (height / 2.0, width / 2.0),
        };
        let height = self.conversion * h;
        let width = self.conversion * w;
        let lat_delta = rad_deg(height / EARTH_RADIUS_M);
        let lon_delta_top = rad_deg(width / EARTH_RADIUS_M / deg_rad(self.lat + lat_delta).cos());
        let lon_delta_bottom =
            rad_deg(width / EARTH_RADIUS_M / deg_rad(self.lat - lat_delta).cos());
        // The wider edge is the one nearer the equator.
        let delta = if self.lat < 0.0 {
            lon_delta_bottom
        } else {
            lon_delta_top
        };
        (
            self.lon - delta,
            self.lat - lat_delta,
            self.lon + delta,
            self.lat + lat_delta,
        )
    }

    /// The cells to scan, in Redis's order: centre, N, S, E, W, NE, NW, SE, SW; cells
    /// that cannot hold results are `HashBits::NONE`.
    fn cells(&self) -> [HashBits; 9] {
        let (min_lon, min_lat, max_lon, max_lat) = self.bounding_box();
        let radius_m = match self.extent {
            Extent::Radius(r) => r,
            Extent::Box { width, height } => {
                ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
            }
        } * self.conversion;
        let mut steps = estimate_steps(radius_m, self.lat);
        let cell = |steps| {
            let hash =
                encode(LON_RANGE, LAT_RANGE, self.lon, self.lat, steps).unwrap_or(HashBits {
                    bits: 0,
                    step: steps,
                });
            (hash, neighbors(hash), decode(LON_RANGE, LAT_RANGE, hash))
        };
        let (mut hash, mut n, mut area) = cell(steps);
        let north = decode(LON_RANGE, LAT_RANGE, n.north);
        let south = decode(LON_RANGE, LAT_RANGE, n.south);
        let east = decode(LON_RANGE, LAT_RANGE, n.east);
        let west = decode(LON_RANGE, LAT_RANGE, n.west);
        // Near a cell edge the neighbours may not reach far enough: go one step coarser.
        let decrease = north.lat.max < max_lat
            || south.lat.min > min_lat
            || east.lon.max < max_lon
            || west.lon.min > min_lon;
        if steps > 1 && decrease {
            steps -= 1;
            (hash, n, area) = cell(steps);
        }
        if steps >= 2 {
            if area.lat.min < min_lat {
                n.south = HashBits::NONE;
                n.south_west = HashBits::NONE;
                n.south_east = HashBits::NONE;
            }
            if area.lat.max > max_lat {
                n.north = HashBits::NONE;
                n.north_east = HashBits::NONE;
                n.north_west = HashBits::NONE;
            }
            if area.lon.min < min_lon {
                n.west = HashBits::NONE;
                n.south_west = HashBits::NONE;
                n.north_west = HashBits::NONE;
            }
            if area.lon.max > max_lon {
                n.east = HashBits::NONE;
                n.south_east = HashBits::NONE;
                n.north_east = HashBits::NONE;
            }
        }
        [
            hash,
            n.north,
            n.south,
            n.east,
            n.west,
            n.north_east,
            n.north_west,
            n.south_east,
            n.south_west,
        ]
    }

    /// The distance in metres from the centre when (lon, lat) is inside the shape.
    fn contains(&self, lon: f64, lat: f64) -> Option<f64> {
        match self.extent {
            Extent::Radius(r) => {
                let d = distance(self.lon, self.lat, lon, lat);
                (d <= r * self.conversion).then_some(d)
            }
            Extent::Box { width, height } => {
                let (w, h) = (width * self.conversion, height * self.conversion);
                if lat_distance(lat, self.lat) > h / 2.0 {
                    return None;
                }
                if distance(lon, lat, self.lon, lat) > w / 2.0 {
                    return None;
                }
                Some(distance(self.lon, self.lat, lon, lat))
            }
        }
    }
}

/// A point found by a search.
#[derive(Debug, Clone)]
struct Found {
    member: Vec<u8>,
    score: f64,
    /// Metres from the centre.
    dist: f64,
    lon: f64,
    lat: f64,
}

/// The members of `zs` inside `shape`, cell by cell; with `limit` > 0 it stops once that
/// many were found (COUNT n ANY).
fn search_shape(zs: &ZSet, shape: &Shape, limit: usize) -> Vec<Found> {
    let cells = shape.cells();
    let mut found = Vec::new();
    let mut last: Option<usize> = None;
    for (i, cell) in cells.iter().enumerate() {
        if cell.is_none() {
            continue;
        }
        // A huge radius can make neighbouring cells coincide: skip repeats of the
        // previous scanned cell (as Redis, never comparing against the centre).
        if let Some(l) = last.filter(|&l| l > 0) {
            if cells[l] == *cell {
                continue;
            }
        }
        if !found.is_empty() && limit > 0 && found.len() >= limit {
            break;
        }
        let min = cell.align52() as f64;
        let max = HashBits {
            bits: cell.bits.wrapping_add(1),
            step: cell.step,
        }
        .align52() as f64;
        let (start, end) = zs.range_ranks(|s, _| s >= min, |s, _| s < max);
        for (member, score) in zs.iter_range(start, end, false) {
            let (lon, lat) = decode_score(score);
            if let Some(dist) = shape.contains(lon, lat) {
                found.push(Found {
                    member: member.to_vec(),
                    score,
                    dist,
                    lon,
                    lat,
                });
            }
            if !found.is_empty() && limit > 0 && found.len() >= limit {
                break;
            }
        }
        last = Some(i);
    }
    found
}

/// Sorts `v` far enough that positions `0..=last` hold the smallest elements in order,
/// with the same partitioning as Redis 7.0's partial quicksort (a Bentley-McIlroy
/// quicksort that skips partitions entirely past `last`, without the later "no swaps:
/// switch to insertion sort" shortcut), so ties come out in the same order.
fn partial_sort<T>(v: &mut [T], last: usize, cmp: &impl Fn(&T, &T) -> Ordering) {
    let mut lo = 0;
    let mut n = v.len();
    loop {
        let a = lo;
        if n < 7 {
            insertion_sort(&mut v[a..a + n], cmp);
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(v, pm - d, pm, pm + d, cmp);
                pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(v, pl, pm, pn, cmp);
        }
        v.swap(a, pm);
        let (mut pa, mut pb) = (a + 1, a + 1);
        let (mut pc, mut pd) = (a + n - 1, a + n - 1);
        loop {
            while pb <= pc {
                let r = cmp(&v[pb], &v[a]);
                if r == Ordering::Greater {
                    break;
                }
                if r == Ordering::Equal {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let r = cmp(&v[pc], &v[a]);
                if r == Ordering::Less {
                    break;
                }
                if r == Ordering::Equal {
                    v.swap(pc, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        let pn = a + n;
        let r = (pa - a).min(pb - pa);
        swap_runs(v, a, pb - r, r);
        let r = (pd - pc).min(pn - pd - 1);
        swap_runs(v, pb, pn - r, r);
        let left = pb - pa;
        if left > 1 && a <= last {
            partial_sort_range(v, a, left, last, cmp);
        }
        let right = pd - pc;
        if right > 1 && pn - right <= last {
            lo = pn - right;
            n = right;
            continue;
        }
        return;
    }
}

fn partial_sort_range<T>(
    v: &mut [T],
    start: usize,
    len: usize,
    last: usize,
    cmp: &impl Fn(&T, &T) -> Ordering,
) {
    // Positions are relative to the sub-slice from here on.
    let sub = &mut v[start..start + len];
    let last_in = last.saturating_sub(start).min(len - 1);
    partial_sort(sub, last_in, cmp);
}

fn insertion_sort<T>(v: &mut [T], cmp: &impl Fn(&T, &T) -> Ordering) {
    for m in 1..v.len() {
        let mut l = m;
        while l > 0 && cmp(&v[l - 1], &v[l]) == Ordering::Greater {
            v.swap(l, l - 1);
            l -= 1;
        }
    }
}

fn med3<T>(v: &[T], a: usize, b: usize, c: usize, cmp: &impl Fn(&T, &T) -> Ordering) -> usize {
    if cmp(&v[a], &v[b]) == Ordering::Less {
        if cmp(&v[b], &v[c]) == Ordering::Less {
            b
        } else if cmp(&v[a], &v[c]) == Ordering::Less {
            c
        } else {
            a
        }
    } else if cmp(&v[b], &v[c]) == Ordering::Greater {
        b
    } else if cmp(&v[a], &v[c]) == Ordering::Less {
        a
    } else {
        c
    }
}

/// Swaps the `n` elements at `a` with the `n` at `b`, pairwise in order.
fn swap_runs<T>(v: &mut [T], a: usize, b: usize, n: usize) {
    for i in 0..n {
        v.swap(a + i, b + i);
    }
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

#[cfg(test)]
#[path = "tests/geo.rs"]
mod tests;
