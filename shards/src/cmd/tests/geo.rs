//! Unit tests of the geo commands (`cmd::geo`).

use super::geohash::{deinterleave, interleave};
use super::*;
use crate::cmd::test_env::Env;
use crate::cmd::zsets::{zrange, zscore};
use crate::cmd::Handler;

// Expected values below were read from redis-server 7.0.15.

impl Env {
    /// A keyspace with the geo set "Sicily": Palermo and Catania.
    fn sicily() -> Env {
        let mut e = Env::new();
        let r = e.call(
            geoadd,
            &[
                "geoadd",
                "Sicily",
                "13.361389",
                "38.115556",
                "Palermo",
                "15.087269",
                "37.502669",
                "Catania",
            ],
        );
        assert_eq!(r, Reply::Int(2));
        e
    }
}

fn b(s: &str) -> Reply {
    Reply::bulk(s)
}

fn arr(items: &[&str]) -> Reply {
    Reply::Array(items.iter().map(|s| b(s)).collect())
}

fn err(msg: &str) -> Reply {
    Reply::Error(CmdError::other(msg))
}

/// A double as redis-server printed it (%.17g round-trips exactly).
fn redis_double(text: &str) -> Reply {
    Reply::Double(text.parse().unwrap())
}

#[test]
fn geoadd_stores_redis_geohash_scores() {
    let mut e = Env::sicily();
    assert_eq!(
        e.call(zscore, &["zscore", "Sicily", "Palermo"]),
        Reply::Double(3479099956230698.0)
    );
    assert_eq!(
        e.call(zscore, &["zscore", "Sicily", "Catania"]),
        Reply::Double(3479447370796909.0)
    );
    // The extreme corners, including Redis's overflow into bits 52/53.
    e.call(
        geoadd,
        &[
            "geoadd",
            "g",
            "180",
            "85.05112878",
            "ne",
            "-180",
            "-85.05112878",
            "sw",
        ],
    );
    assert_eq!(
        e.call(zscore, &["zscore", "g", "ne"]),
        Reply::Double(13510798882111488.0)
    );
    assert_eq!(e.call(zscore, &["zscore", "g", "sw"]), Reply::Double(0.0));
}

#[test]
fn geoadd_options_and_errors_follow_zadd() {
    let mut e = Env::sicily();
    assert_eq!(
        e.call(
            geoadd,
            &["geoadd", "Sicily", "ch", "1", "1", "Palermo", "2", "2", "x"]
        ),
        Reply::Int(2)
    );
    assert_eq!(
        e.call(geoadd, &["geoadd", "Sicily", "nx", "3", "3", "x"]),
        Reply::Int(0)
    );
    assert_eq!(
        e.call(geoadd, &["geoadd", "Sicily", "xx", "3", "3", "y"]),
        Reply::Int(0)
    );
    assert_eq!(
        e.call(geoadd, &["geoadd", "Sicily", "1", "100", "x"]),
        err("ERR invalid longitude,latitude pair 1.000000,100.000000")
    );
    assert_eq!(
        e.call(geoadd, &["geoadd", "Sicily", "1e500", "10", "x"]),
        CmdError::NotFloat.into()
    );
    let syntax: Reply = CmdError::Syntax.into();
    assert_eq!(
        e.call(geoadd, &["geoadd", "Sicily", "nx", "xx", "1", "1", "x"]),
        syntax
    );
    assert_eq!(
        e.call(geoadd, &["geoadd", "Sicily", "gt", "1", "1", "x"]),
        syntax
    );
}

#[test]
fn geodist_replies_four_decimals_in_the_unit() {
    let mut e = Env::sicily();
    assert_eq!(
        e.call(geodist, &["geodist", "Sicily", "Palermo", "Catania"]),
        b("166274.1516")
    );
    assert_eq!(
        e.call(geodist, &["geodist", "Sicily", "Palermo", "Catania", "km"]),
        b("166.2742")
    );
    e.call(
        geoadd,
        &["geoadd", "Sicily", "13.583333", "37.316667", "Agrigento"],
    );
    assert_eq!(
        e.call(
            geodist,
            &["geodist", "Sicily", "Palermo", "Agrigento", "MI"]
        ),
        b("56.5311")
    );
    assert_eq!(
        e.call(
            geodist,
            &["geodist", "Sicily", "Palermo", "Agrigento", "ft"]
        ),
        b("298483.4434")
    );
    assert_eq!(
        e.call(geodist, &["geodist", "Sicily", "Palermo", "nope"]),
        Reply::Nil
    );
    assert_eq!(e.call(geodist, &["geodist", "nokey", "a", "b"]), Reply::Nil);
    assert_eq!(
        e.call(geodist, &["geodist", "nokey", "a", "b", "yd"]),
        err("ERR unsupported unit provided. please use M, KM, FT, MI")
    );
    assert_eq!(
        e.call(geodist, &["geodist", "Sicily", "a", "b", "m", "x"]),
        CmdError::Syntax.into()
    );
}

#[test]
fn geopos_and_geohash_decode_like_redis() {
    let mut e = Env::sicily();
    let d = |v: &str| Reply::DoubleText(v.to_string());
    let pos = |lon: &str, lat: &str| Reply::Array(vec![d(lon), d(lat)]);
    assert_eq!(
        e.call(geopos, &["geopos", "Sicily", "Palermo", "Catania", "nope"]),
        Reply::Array(vec![
            pos("13.36138933897018433", "38.11555639549629859"),
            pos("15.08726745843887329", "37.50266842333162032"),
            Reply::NilArray,
        ])
    );
    assert_eq!(
        e.call(geopos, &["geopos", "nokey", "a"]),
        Reply::Array(vec![Reply::NilArray])
    );
    assert_eq!(
        e.call(
            geohash,
            &["geohash", "Sicily", "Palermo", "Catania", "nope"]
        ),
        Reply::Array(vec![b("sqc8b49rny0"), b("sqdtr74hyu0"), Reply::Nil])
    );
    e.call(
        geoadd,
        &[
            "geoadd",
            "g",
            "180",
            "85.05112878",
            "ne",
            "-180",
            "-85.05112878",
            "sw",
        ],
    );
    assert_eq!(
        e.call(geopos, &["geopos", "g", "ne", "sw"]),
        Reply::Array(vec![
            pos("180", "85.0511287799999991"),
            pos("-179.99999731779098511", "-85.05112751263942528"),
        ])
    );
    assert_eq!(
        e.call(geohash, &["geohash", "g", "ne", "sw"]),
        Reply::Array(vec![b("bp05b5048p0"), b("00bh0hbj200")])
    );
}

#[test]
fn georadius_replies_members_with_requested_details() {
    let mut e = Env::sicily();
    let item = |m: &str, d: &str, h: i64, lon: &str, lat: &str| {
        Reply::Array(vec![
            b(m),
            b(d),
            Reply::Int(h),
            Reply::Array(vec![
                Reply::DoubleText(lon.to_string()),
                Reply::DoubleText(lat.to_string()),
            ]),
        ])
    };
    assert_eq!(
        e.call(
            georadius,
            &[
                "georadius",
                "Sicily",
                "15",
                "37",
                "200",
                "km",
                "WITHDIST",
                "WITHCOORD",
                "WITHHASH"
            ]
        ),
        Reply::Array(vec![
            item(
                "Palermo",
                "190.4424",
                3479099956230698,
                "13.36138933897018433",
                "38.11555639549629859"
            ),
            item(
                "Catania",
                "56.4413",
                3479447370796909,
                "15.08726745843887329",
                "37.50266842333162032"
            ),
        ])
    );
    assert_eq!(
        e.call(georadius, &["georadius", "Sicily", "15", "37", "100", "km"]),
        arr(&["Catania"])
    );
    e.call(
        geoadd,
        &["geoadd", "Sicily", "13.583333", "37.316667", "Agrigento"],
    );
    assert_eq!(
        e.call(
            georadiusbymember,
            &["georadiusbymember", "Sicily", "Agrigento", "100", "km"]
        ),
        arr(&["Agrigento", "Palermo"])
    );
    assert_eq!(
        e.call(
            georadius_ro,
            &[
                "georadius_ro",
                "Sicily",
                "15",
                "37",
                "200",
                "km",
                "DESC",
                "COUNT",
                "1"
            ]
        ),
        arr(&["Palermo"])
    );
    assert_eq!(
        e.call(
            georadius,
            &[
                "georadius",
                "Sicily",
                "15",
                "37",
                "200",
                "km",
                "WITHDIST",
                "ASC"
            ]
        ),
        Reply::Array(vec![
            Reply::Array(vec![b("Catania"), b("56.4413")]),
            Reply::Array(vec![b("Agrigento"), b("130.4235")]),
            Reply::Array(vec![b("Palermo"), b("190.4424")]),
        ])
    );
}

#[test]
fn geosearch_by_box_and_from_member() {
    let mut e = Env::sicily();
    e.call(
        geoadd,
        &["geoadd", "Sicily", "13.583333", "37.316667", "Agrigento"],
    );
    assert_eq!(
        e.call(
            geosearch,
            &[
                "geosearch",
                "Sicily",
                "FROMLONLAT",
                "15",
                "37",
                "BYBOX",
                "400",
                "400",
                "km",
                "ASC"
            ]
        ),
        arr(&["Catania", "Agrigento", "Palermo"])
    );
    assert_eq!(
        e.call(
            geosearch,
            &[
                "geosearch",
                "Sicily",
                "FROMMEMBER",
                "Palermo",
                "BYRADIUS",
                "300",
                "km",
                "WITHDIST"
            ]
        ),
        Reply::Array(vec![
            Reply::Array(vec![b("Agrigento"), b("90.9778")]),
            Reply::Array(vec![b("Palermo"), b("0.0000")]),
            Reply::Array(vec![b("Catania"), b("166.2742")]),
        ])
    );
    assert_eq!(
        e.call(
            geosearch,
            &[
                "geosearch",
                "nokey",
                "FROMMEMBER",
                "x",
                "BYRADIUS",
                "1",
                "km"
            ]
        ),
        arr(&[])
    );
}

#[test]
fn store_variants_store_hashes_or_distances() {
    let mut e = Env::sicily();
    e.call(
        geoadd,
        &["geoadd", "Sicily", "13.583333", "37.316667", "Agrigento"],
    );
    assert_eq!(
        e.call(
            geosearchstore,
            &[
                "geosearchstore",
                "dst",
                "Sicily",
                "FROMLONLAT",
                "15",
                "37",
                "BYBOX",
                "400",
                "400",
                "km",
                "ASC",
                "COUNT",
                "3",
                "STOREDIST"
            ]
        ),
        Reply::Int(3)
    );
    assert_eq!(
        e.call(zrange, &["zrange", "dst", "0", "-1", "withscores"]),
        Reply::Pairs(vec![
            (b("Catania"), redis_double("56.441257870158204")),
            (b("Agrigento"), redis_double("130.42348706714702")),
            (b("Palermo"), redis_double("190.44242984775784")),
        ])
    );
    assert_eq!(
        e.call(
            georadius,
            &[
                "georadius",
                "Sicily",
                "15",
                "37",
                "100",
                "km",
                "STORE",
                "dst"
            ]
        ),
        Reply::Int(1)
    );
    assert_eq!(
        e.call(zscore, &["zscore", "dst", "Catania"]),
        Reply::Double(3479447370796909.0)
    );
    assert_eq!(
        e.call(
            georadius,
            &[
                "georadius",
                "Sicily",
                "15",
                "37",
                "1",
                "m",
                "STOREDIST",
                "dst"
            ]
        ),
        Reply::Int(0)
    );
    assert!(!e.ks.exists(0, b"dst"));
    e.call(geoadd, &["geoadd", "dst", "1", "1", "x"]);
    assert_eq!(
        e.call(
            georadiusbymember,
            &["georadiusbymember", "nokey", "m", "x", "y", "STORE", "dst"]
        ),
        Reply::Int(0)
    );
    assert!(!e.ks.exists(0, b"dst"));
}

#[test]
fn search_errors_use_redis_texts() {
    let mut e = Env::sicily();
    let s = |e: &mut Env, h: Handler, args: &[&str]| e.call(h, args);
    assert_eq!(
        s(&mut e, georadius, &["georadius", "Sicily", "15", "37", "200", "km", "STORE", "d", "WITHDIST"]),
        err("ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
    );
    assert_eq!(
        s(
            &mut e,
            geosearchstore,
            &[
                "geosearchstore",
                "d",
                "Sicily",
                "FROMLONLAT",
                "15",
                "37",
                "BYRADIUS",
                "1",
                "km",
                "WITHHASH"
            ]
        ),
        err("ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
    );
    assert_eq!(
        s(
            &mut e,
            georadius_ro,
            &[
                "georadius_ro",
                "Sicily",
                "15",
                "37",
                "200",
                "km",
                "STORE",
                "d"
            ]
        ),
        CmdError::Syntax.into()
    );
    assert_eq!(
        s(
            &mut e,
            georadius,
            &["georadius", "Sicily", "15", "37", "-1", "km"]
        ),
        err("ERR radius cannot be negative")
    );
    assert_eq!(
        s(
            &mut e,
            georadius,
            &["georadius", "Sicily", "15", "37", "x", "km"]
        ),
        err("ERR need numeric radius")
    );
    assert_eq!(
        s(
            &mut e,
            georadius,
            &["georadius", "Sicily", "15", "37", "1", "yd"]
        ),
        err("ERR unsupported unit provided. please use M, KM, FT, MI")
    );
    assert_eq!(
        s(
            &mut e,
            georadius,
            &["georadius", "Sicily", "15", "37", "1", "km", "COUNT", "0"]
        ),
        err("ERR COUNT must be > 0")
    );
    assert_eq!(
        s(
            &mut e,
            georadius,
            &["georadius", "Sicily", "15", "37", "1", "km", "ANY"]
        ),
        err("ERR the ANY argument requires COUNT argument")
    );
    assert_eq!(
        s(
            &mut e,
            georadiusbymember,
            &["georadiusbymember", "Sicily", "nope", "1", "km"]
        ),
        err("ERR could not decode requested zset member")
    );
    assert_eq!(
        s(
            &mut e,
            geosearch,
            &["GEOSEARCH", "Sicily", "BYRADIUS", "1", "km", "ASC"]
        ),
        err("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for GEOSEARCH")
    );
    assert_eq!(
        s(
            &mut e,
            geosearch,
            &["geosearch", "Sicily", "FROMLONLAT", "1", "2", "ASC"]
        ),
        err("ERR exactly one of BYRADIUS and BYBOX can be specified for geosearch")
    );
    assert_eq!(
        s(
            &mut e,
            geosearch,
            &[
                "geosearch",
                "Sicily",
                "FROMLONLAT",
                "1",
                "2",
                "BYBOX",
                "-1",
                "1",
                "km"
            ]
        ),
        err("ERR height or width cannot be negative")
    );
    assert_eq!(
        s(
            &mut e,
            geosearch,
            &[
                "geosearch",
                "Sicily",
                "FROMLONLAT",
                "1",
                "2",
                "BYBOX",
                "1",
                "x",
                "km"
            ]
        ),
        err("ERR need numeric height")
    );
    assert_eq!(
        s(
            &mut e,
            geosearch,
            &[
                "geosearch",
                "Sicily",
                "FROMMEMBER",
                "Palermo",
                "FROMLONLAT",
                "1",
                "2",
                "BYRADIUS",
                "1",
                "km"
            ]
        ),
        CmdError::Syntax.into()
    );
}

#[test]
fn count_orders_ties_like_redis_partial_sort() {
    let mut e = Env::new();
    e.call(
        crate::cmd::zsets::zadd,
        &[
            "zadd",
            "t",
            "0",
            "a",
            "0",
            "b",
            "0",
            "c",
            "0",
            "d",
            "1",
            "e",
            "3",
            "f",
            "550038720751",
            "g",
            "2887198726373",
            "h",
        ],
    );
    let q = |e: &mut Env, extra: &[&str]| {
        let mut args = vec!["geosearch", "t", "FROMMEMBER", "c", "BYRADIUS", "200", "km"];
        args.extend_from_slice(extra);
        e.call(geosearch, &args)
    };
    assert_eq!(
        q(&mut e, &[]),
        arr(&["a", "b", "c", "d", "e", "f", "g", "h"])
    );
    assert_eq!(
        q(&mut e, &["COUNT", "6"]),
        arr(&["a", "b", "c", "d", "e", "f"])
    );
    assert_eq!(
        q(&mut e, &["COUNT", "6", "DESC"]),
        arr(&["h", "g", "f", "e", "a", "d"])
    );
    assert_eq!(q(&mut e, &["COUNT", "2", "ANY"]), arr(&["a", "b"]));
}

#[test]
fn geohash_bits_round_trip() {
    for (lon, lat) in [
        (0.0, 0.0),
        (13.361389, 38.115556),
        (-122.4194, 37.7749),
        (179.99, -85.0),
    ] {
        let score = encode_score(lon, lat).unwrap() as f64;
        let (dlon, dlat) = decode_score(score);
        assert!((dlon - lon).abs() < 1e-5 && (dlat - lat).abs() < 1e-5);
        assert_eq!(encode_score(dlon, dlat).unwrap() as f64, score);
    }
    assert_eq!(
        deinterleave(interleave(0x3ff_ffff, 0x155_5555)),
        (0x3ff_ffff, 0x155_5555)
    );
}
