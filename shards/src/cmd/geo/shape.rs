//! Search areas (a radius or a box around a centre) and the scan of the geohash cells
//! that cover one.

use super::geohash::{
    decode, decode_score, deg_rad, distance, encode, estimate_steps, lat_distance, neighbors,
    rad_deg, HashBits, EARTH_RADIUS_M, LAT_RANGE, LON_RANGE,
};
use crate::types::zset::ZSet;

#[derive(Debug, Clone, Copy)]
pub(super) enum Extent {
    Radius(f64),
    Box { width: f64, height: f64 },
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Shape {
    pub(super) lon: f64,
    pub(super) lat: f64,
    pub(super) extent: Extent,
    /// Metres per unit of the query.
    pub(super) conversion: f64,
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
pub(super) struct Found {
    pub(super) member: Vec<u8>,
    pub(super) score: f64,
    /// Metres from the centre.
    pub(super) dist: f64,
    pub(super) lon: f64,
    pub(super) lat: f64,
}

/// The members of `zs` inside `shape`, cell by cell; with `limit` > 0 it stops once that
/// many were found (COUNT n ANY).
pub(super) fn search_shape(zs: &ZSet, shape: &Shape, limit: usize) -> Vec<Found> {
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
