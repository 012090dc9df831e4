//! Geohash cells: encoding positions into 52-bit scores and back, cell neighbours,
//! the step a search radius needs, and distances on Redis's sphere.

pub(super) const LAT_MIN: f64 = -85.05112878;
pub(super) const LAT_MAX: f64 = 85.05112878;
pub(super) const LON_MIN: f64 = -180.0;
pub(super) const LON_MAX: f64 = 180.0;
const STEP_MAX: u8 = 26;
pub(super) const EARTH_RADIUS_M: f64 = 6372797.560856;
/// Half the Mercator projection's width in metres: the size of a step-1 cell.
const MERCATOR_MAX: f64 = 20037726.37;
const GEO_ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(super) struct HashBits {
    pub(super) bits: u64,
    pub(super) step: u8,
}

impl HashBits {
    /// A cell removed from a search (Redis marks it with bits and step 0).
    pub(super) const NONE: HashBits = HashBits { bits: 0, step: 0 };

    pub(super) fn is_none(&self) -> bool {
        self.bits == 0 && self.step == 0
    }

    /// The cell's first score, aligned to 52 bits.
    pub(super) fn align52(&self) -> u64 {
        self.bits << (52 - 2 * self.step as u32)
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Range {
    pub(super) min: f64,
    pub(super) max: f64,
}

pub(super) const LON_RANGE: Range = Range {
    min: LON_MIN,
    max: LON_MAX,
};
pub(super) const LAT_RANGE: Range = Range {
    min: LAT_MIN,
    max: LAT_MAX,
};

#[derive(Debug, Clone, Copy)]
pub(super) struct Area {
    pub(super) lon: Range,
    pub(super) lat: Range,
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
pub(super) fn interleave(lat: u32, lon: u32) -> u64 {
    spread(lat) | (spread(lon) << 1)
}

pub(super) fn deinterleave(bits: u64) -> (u32, u32) {
    (squash(bits), squash(bits >> 1))
}

/// C's double -> uint32 conversion of a value known to be in range.
fn to_u32(v: f64) -> u32 {
    v as u32
}

pub(super) fn encode(lon_r: Range, lat_r: Range, lon: f64, lat: f64, step: u8) -> Option<HashBits> {
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

pub(super) fn decode(lon_r: Range, lat_r: Range, hash: HashBits) -> Area {
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
pub(super) fn geohash_string(score: f64) -> Vec<u8> {
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

pub(super) fn deg_rad(d: f64) -> f64 {
    d * (std::f64::consts::PI / 180.0)
}

pub(super) fn rad_deg(r: f64) -> f64 {
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

pub(super) fn lat_distance(lat1: f64, lat2: f64) -> f64 {
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
pub(super) struct Neighbors {
    pub(super) north: HashBits,
    pub(super) south: HashBits,
    pub(super) east: HashBits,
    pub(super) west: HashBits,
    pub(super) north_east: HashBits,
    pub(super) north_west: HashBits,
    pub(super) south_east: HashBits,
    pub(super) south_west: HashBits,
}

pub(super) fn neighbors(h: HashBits) -> Neighbors {
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

pub(super) fn estimate_steps(mut range_m: f64, lat: f64) -> u8 {
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
