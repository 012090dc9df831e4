//! Unit tests of SORT and SORT_RO (`cmd::sort`).

use super::*;
use crate::cmd::test_env::{Env, Rng, T0};

/// Runs the sorting core directly.
impl Env {
    /// Runs the sorting core on `elems` with the options of `options` (the words
    /// after the key), resolving patterns against this keyspace.
    fn sort_core(
        &mut self,
        kind: Kind,
        elems: &[&str],
        options: &str,
    ) -> Result<Vec<Option<String>>, CmdError> {
        let mut line = vec!["SORT", "k"];
        line.extend(options.split(' ').filter(|w| !w.is_empty()));
        let args: Vec<Bytes> = line
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        let opts = SortOpts::parse(&args, false)?;
        let elems = elems.iter().map(|e| e.as_bytes().to_vec()).collect();
        let ks = &mut self.ks;
        let rows = sort_elements(kind, elems, &opts, &mut |p: &[u8], e: &[u8]| {
            lookup_by_pattern(ks, 0, true, p, e)
        })?;
        Ok(rows
            .into_iter()
            .map(|r| r.map(|b| String::from_utf8(b).unwrap()))
            .collect())
    }

    /// `sort_core` when every row is present.
    fn sorted(&mut self, kind: Kind, elems: &[&str], options: &str) -> Vec<String> {
        self.sort_core(kind, elems, options)
            .unwrap()
            .into_iter()
            .map(|r| r.expect("row"))
            .collect()
    }
}

fn list(env: &mut Env, elems: &[&str], options: &str) -> Vec<String> {
    env.sorted(Kind::List, elems, options)
}

fn err(e: CmdError) -> Reply {
    Reply::Error(e)
}

fn score_err() -> CmdError {
    CmdError::other("ERR One or more scores can't be converted into double")
}

// ---- Parsing and the handler ----

#[test]
fn option_errors_come_before_the_type_check() {
    let mut env = Env::new();
    env.set("str", "hello");
    assert_eq!(
        env.run(sort, "SORT str LIMIT x y"),
        err(CmdError::NotInteger)
    );
    assert_eq!(
        env.run(sort, "SORT str LIMIT 0 y"),
        err(CmdError::NotInteger)
    );
    assert_eq!(env.run(sort, "SORT str foo"), err(CmdError::Syntax));
    assert_eq!(env.run(sort, "SORT nokey LIMIT 0"), err(CmdError::Syntax));
    assert_eq!(env.run(sort, "SORT nokey STORE"), err(CmdError::Syntax));
    assert_eq!(env.run(sort, "SORT nokey BY"), err(CmdError::Syntax));
    assert_eq!(env.run(sort, "SORT nokey GET"), err(CmdError::Syntax));
    assert_eq!(
        env.run(sort_ro, "SORT_RO nokey STORE d"),
        err(CmdError::Syntax)
    );
}

#[test]
fn sorting_a_string_is_wrongtype() {
    let mut env = Env::new();
    env.set("str", "hello");
    assert_eq!(env.run(sort, "SORT str"), err(CmdError::WrongType));
    assert_eq!(
        env.run(sort_ro, "SORT_RO str ALPHA"),
        err(CmdError::WrongType)
    );
    assert_eq!(env.run(sort, "SORT str STORE d"), err(CmdError::WrongType));
    assert!(!env.ks.exists(0, b"d"));
}

#[test]
fn missing_key_sorts_as_empty_list() {
    let mut env = Env::new();
    assert_eq!(env.run(sort, "SORT nokey"), Reply::Array(vec![]));
    assert_eq!(
        env.run(sort_ro, "SORT_RO nokey BY w_* GET # LIMIT 0 10 DESC ALPHA"),
        Reply::Array(vec![])
    );
}

#[test]
fn store_of_empty_result_deletes_dest() {
    let mut env = Env::new();
    env.set("d", "x");
    assert_eq!(env.run(sort, "SORT nokey STORE d"), Reply::Int(0));
    assert!(!env.ks.exists(0, b"d"));
}

#[test]
fn store_writes_a_list_replacing_dest_and_its_ttl() {
    let mut env = Env::new();
    env.set("d", "x");
    env.ks.set_expire(0, b"d", T0 + 10_000);
    let args: Vec<Bytes> = ["SORT", "k", "STORE", "d"]
        .iter()
        .map(|a| Bytes::from_static(a.as_bytes()))
        .collect();
    let opts = SortOpts::parse(&args, false).unwrap();
    let mut ctx = Ctx {
        ks: &mut env.ks,
        db: 0,
        touch: true,
    };
    let rows = vec![Some(b"a".to_vec()), None, Some(b"c".to_vec())];
    assert_eq!(finish(&mut ctx, &opts, rows), Reply::Int(3));
    let e = env.ks.lookup(0, b"d").unwrap();
    assert_eq!(e.value().type_name(), "list");
    assert_eq!(e.expire_at(), 0);
}

#[test]
fn replies_nil_for_missing_get_rows() {
    let mut env = Env::new();
    let args: Vec<Bytes> = vec![Bytes::from_static(b"SORT"), Bytes::from_static(b"k")];
    let opts = SortOpts::parse(&args, false).unwrap();
    let mut ctx = Ctx {
        ks: &mut env.ks,
        db: 0,
        touch: true,
    };
    assert_eq!(
        finish(&mut ctx, &opts, vec![Some(b"a".to_vec()), None]),
        Reply::Array(vec![Reply::bulk("a"), Reply::Nil])
    );
}

// ---- Ordering ----

#[test]
fn numeric_sort_ascending_and_descending() {
    let mut env = Env::new();
    let elems = ["3", "1", "2", "-1.5", "10", "1e1"];
    assert_eq!(
        list(&mut env, &elems, ""),
        ["-1.5", "1", "2", "3", "10", "1e1"]
    );
    assert_eq!(
        list(&mut env, &elems, "DESC"),
        ["1e1", "10", "3", "2", "1", "-1.5"]
    );
    assert_eq!(
        list(&mut env, &elems, "desc asc"),
        ["-1.5", "1", "2", "3", "10", "1e1"]
    );
}

#[test]
fn non_numeric_values_without_alpha_fail() {
    let mut env = Env::new();
    for bad in ["a", "1e-310", "1e400", "nan", "5 ", "1_0", "   ", "0x"] {
        assert_eq!(
            env.sort_core(Kind::List, &[bad, "7"], ""),
            Err(score_err()),
            "{bad:?}"
        );
    }
}

#[test]
fn numeric_parsing_follows_strtod() {
    let mut env = Env::new();
    for (v, before_7) in [
        ("", true),
        (" 5", true),
        ("0x10", false),
        ("inf", false),
        ("-inf", true),
        ("+5", true),
        ("5.", true),
        (".5", true),
        ("1e5", false),
        ("infinity", false),
        ("0x1p3", false),
        ("  -2.5e1", true),
        ("\t3", true),
        ("-0", true),
        ("0x1.8p2", true),
    ] {
        let want = if before_7 { [v, "7"] } else { ["7", v] };
        assert_eq!(list(&mut env, &[v, "7"], ""), want, "{v:?}");
    }
}

#[test]
fn score_parser_values() {
    assert_eq!(parse_score(b""), Some(0.0));
    assert_eq!(parse_score(b"0x1.8p2"), Some(6.0));
    assert_eq!(parse_score(b"0X.8"), Some(0.5));
    assert_eq!(parse_score(b"-Infinity"), Some(f64::NEG_INFINITY));
    assert_eq!(parse_score(b"5\0junk"), Some(5.0));
    assert_eq!(parse_score(b"1e"), None);
    assert_eq!(parse_score(b"1.e5"), Some(100000.0));
    assert_eq!(parse_score(b"0e999999999999"), Some(0.0));
    assert_eq!(parse_score(b"1e999999999999"), None);
    assert_eq!(parse_score(b"-"), None);
    assert_eq!(parse_score(b"infin"), None);
}

#[test]
fn equal_scores_order_by_element_bytes() {
    let mut env = Env::new();
    assert_eq!(
        list(&mut env, &["1.0", "01", "1", "1e0"], ""),
        ["01", "1", "1.0", "1e0"]
    );
    assert_eq!(
        list(&mut env, &["1.0", "01", "1", "1e0"], "DESC"),
        ["1e0", "1.0", "1", "01"]
    );
}

#[test]
fn alpha_sorts_by_bytes() {
    let mut env = Env::new();
    let elems = ["b", "a", "B", "10", "9", "ab"];
    assert_eq!(
        list(&mut env, &elems, "ALPHA"),
        ["10", "9", "B", "a", "ab", "b"]
    );
    assert_eq!(
        list(&mut env, &elems, "ALPHA DESC"),
        ["b", "ab", "a", "B", "9", "10"]
    );
}

#[test]
fn alpha_compares_c_strings_unless_storing() {
    let mut env = Env::new();
    // "a\0z" and "a\0b" compare equal as C strings: stable order is kept.
    let elems = ["a\0z", "a\0b"];
    assert_eq!(list(&mut env, &elems, "ALPHA"), ["a\0z", "a\0b"]);
    assert_eq!(list(&mut env, &elems, "ALPHA STORE d"), ["a\0b", "a\0z"]);
}

#[test]
fn sorted_set_members_sort_numerically_without_by() {
    let mut env = Env::new();
    assert_eq!(
        env.sorted(Kind::ZSet, &["10", "2", "33"], ""),
        ["2", "10", "33"]
    );
    assert_eq!(env.sort_core(Kind::ZSet, &["b", "a"], ""), Err(score_err()));
    assert_eq!(env.sorted(Kind::ZSet, &["b", "a"], "ALPHA"), ["a", "b"]);
}

// ---- LIMIT ----

#[test]
fn limit_clamps_like_redis() {
    let mut env = Env::new();
    let elems = ["3", "1", "2"];
    for (options, want) in [
        ("LIMIT 0 1", vec!["1"]),
        ("LIMIT 1 1", vec!["2"]),
        ("LIMIT 1 -1", vec!["2", "3"]),
        ("LIMIT -5 -1", vec!["1", "2", "3"]),
        ("LIMIT -5 2", vec!["1", "2"]),
        ("LIMIT 0 0", vec![]),
        ("LIMIT 5 1", vec![]),
        ("LIMIT 3 1", vec![]),
        ("LIMIT 2 9223372036854775807", vec!["3"]),
        ("LIMIT 9223372036854775807 9223372036854775807", vec![]),
        (
            "LIMIT -9223372036854775808 -9223372036854775808",
            vec!["1", "2", "3"],
        ),
        ("LIMIT 1 1 DESC", vec!["2"]),
    ] {
        assert_eq!(list(&mut env, &elems, options), want, "{options}");
    }
    assert_eq!(list(&mut env, &[], "LIMIT 0 5"), Vec::<String>::new());
}

// ---- BY ----

#[test]
fn by_constant_keeps_list_order_and_desc_reverses_it() {
    let mut env = Env::new();
    let elems = ["3", "1", "2", "x"];
    assert_eq!(list(&mut env, &elems, "BY nosort"), ["3", "1", "2", "x"]);
    assert_eq!(
        list(&mut env, &elems, "BY nosort DESC"),
        ["x", "2", "1", "3"]
    );
    assert_eq!(list(&mut env, &elems, "BY nosort LIMIT 1 1 DESC"), ["2"]);
    assert_eq!(list(&mut env, &elems, "BY nosort LIMIT 1 2"), ["1", "2"]);
    assert_eq!(
        list(&mut env, &elems, "BY nosort LIMIT 9 2"),
        Vec::<String>::new()
    );
    // A later BY with a star does not turn sorting back on.
    assert_eq!(
        list(&mut env, &elems, "BY nosort BY w_*"),
        ["3", "1", "2", "x"]
    );
}

#[test]
fn by_constant_keeps_sorted_set_rank_order() {
    let mut env = Env::new();
    let elems = ["low", "mid", "high"];
    assert_eq!(env.sorted(Kind::ZSet, &elems, "BY nosort"), elems);
    assert_eq!(
        env.sorted(Kind::ZSet, &elems, "BY nosort DESC LIMIT 0 2"),
        ["high", "mid"]
    );
}

#[test]
fn by_constant_on_set_keeps_iteration_order_unless_stored() {
    let mut env = Env::new();
    let elems = ["c", "a", "b"];
    assert_eq!(env.sorted(Kind::Set, &elems, "BY nosort"), ["c", "a", "b"]);
    assert_eq!(
        env.sorted(Kind::Set, &elems, "BY nosort STORE d"),
        ["a", "b", "c"]
    );
    assert_eq!(
        env.sorted(Kind::Set, &elems, "BY nosort STORE d DESC LIMIT 0 2"),
        ["c", "b"]
    );
}

#[test]
fn by_pattern_sorts_by_weight_keys() {
    let mut env = Env::new();
    env.set("w_a", "3");
    env.set("w_b", "1");
    env.set("w_c", "2");
    let elems = ["a", "b", "c", "d"];
    // d has no weight: score 0.
    assert_eq!(list(&mut env, &elems, "BY w_*"), ["d", "b", "c", "a"]);
    assert_eq!(list(&mut env, &elems, "BY w_* DESC"), ["a", "c", "b", "d"]);
    assert_eq!(list(&mut env, &elems, "BY w_* LIMIT 1 2"), ["b", "c"]);
    env.set("w_d", "x");
    assert_eq!(
        env.sort_core(Kind::List, &elems, "BY w_*"),
        Err(score_err())
    );
}

#[test]
fn by_pattern_star_anywhere_in_the_key() {
    let mut env = Env::new();
    env.set("pre-a-post", "2");
    env.set("pre-b-post", "1");
    assert_eq!(list(&mut env, &["a", "b"], "BY pre-*-post"), ["b", "a"]);
}

#[test]
fn by_alpha_puts_missing_weights_first_and_keeps_ties_stable() {
    let mut env = Env::new();
    env.set("n_a", "zeta");
    env.set("n_b", "alpha");
    let elems = ["c", "a", "b", "d"];
    assert_eq!(list(&mut env, &elems, "BY n_* ALPHA"), ["c", "d", "b", "a"]);
    assert_eq!(
        list(&mut env, &elems, "BY n_* ALPHA DESC"),
        ["a", "b", "c", "d"]
    );
    assert_eq!(
        list(&mut env, &["c", "a", "b"], "BY nokey_* ALPHA"),
        ["c", "a", "b"]
    );
    assert_eq!(
        list(&mut env, &["c", "a", "b"], "BY nokey_*"),
        ["a", "b", "c"]
    );
}

#[test]
fn by_hash_field_on_strings_finds_nothing() {
    let mut env = Env::new();
    env.set("w_a", "3");
    env.set("w_b", "1");
    // `w_*->f` reads field f of hash w_a: a string there is no match (score 0).
    assert_eq!(list(&mut env, &["b", "a"], "BY w_*->f"), ["a", "b"]);
}

#[test]
fn by_numeric_uses_weights_not_elements() {
    let mut env = Env::new();
    env.set("w_x", "5");
    env.set("w_y", "-5");
    assert_eq!(list(&mut env, &["x", "y"], "BY w_*"), ["y", "x"]);
}

// ---- GET ----

#[test]
fn get_patterns_fetch_per_element_rows() {
    let mut env = Env::new();
    env.set("obj_1", "one");
    env.set("obj_2", "two");
    assert_eq!(
        env.sort_core(Kind::List, &["2", "1", "3"], "GET obj_* GET #"),
        Ok(vec![
            Some("one".into()),
            Some("1".into()),
            Some("two".into()),
            Some("2".into()),
            None,
            Some("3".into()),
        ])
    );
}

#[test]
fn get_without_star_or_of_non_strings_is_nil() {
    let mut env = Env::new();
    env.set("fixed", "v");
    env.ks.set(0, b"h_1", Value::Hash(Default::default()), 0);
    assert_eq!(
        env.sort_core(Kind::List, &["1"], "GET fixed GET h_* GET h_*->f GET #x"),
        Ok(vec![None, None, None, None])
    );
}

#[test]
fn get_arrow_without_field_is_part_of_the_key() {
    let mut env = Env::new();
    env.set("k_1->", "arrow");
    assert_eq!(
        env.sort_core(Kind::List, &["1"], "GET k_*->"),
        Ok(vec![Some("arrow".into())])
    );
}

#[test]
fn get_with_limit_and_by() {
    let mut env = Env::new();
    for (e, w, name) in [("1", "30", "x"), ("2", "10", "y"), ("3", "20", "z")] {
        env.set(&format!("w_{e}"), w);
        env.set(&format!("n_{e}"), name);
    }
    assert_eq!(
        list(&mut env, &["1", "2", "3"], "BY w_* GET n_* LIMIT 1 5"),
        ["z", "x"]
    );
}

#[test]
fn pattern_lookups_count_keyspace_hits_and_misses() {
    let mut env = Env::new();
    env.set("w_a", "1");
    let (h, m) = (env.ks.stats.hits, env.ks.stats.misses);
    list(&mut env, &["a", "b"], "BY w_*");
    assert_eq!((env.ks.stats.hits - h, env.ks.stats.misses - m), (1, 1));
}

// ---- Model-based property test ----

#[test]
fn random_sorts_match_a_simple_model() {
    let mut env = Env::new();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for round in 0..1500 {
        let n = rng.below(12) as usize;
        let elems: Vec<String> = (0..n)
            .map(|_| match rng.below(3) {
                0 => (rng.below(40) as i64 - 20).to_string(),
                1 => format!("{}.5", rng.below(10)),
                _ => format!("0{}", rng.below(5)),
            })
            .collect();
        let alpha = rng.below(2) == 0;
        let desc = rng.below(2) == 0;
        let limit =
            (rng.below(2) == 0).then(|| (rng.below(16) as i64 - 3, rng.below(16) as i64 - 3));
        let mut options = String::new();
        if alpha {
            options.push_str("ALPHA ");
        }
        if desc {
            options.push_str("DESC ");
        }
        if let Some((o, c)) = limit {
            options.push_str(&format!("LIMIT {o} {c}"));
        }
        // Model: stable sort by (number, text) or by text, then slice.
        let mut model = elems.clone();
        model.sort_by(|a, b| {
            let ord = if alpha {
                a.cmp(b)
            } else {
                let (x, y): (f64, f64) = (a.parse().unwrap(), b.parse().unwrap());
                x.partial_cmp(&y).unwrap().then_with(|| a.cmp(b))
            };
            if desc {
                ord.reverse()
            } else {
                ord
            }
        });
        let model: Vec<String> = match limit {
            None => model,
            Some((o, c)) => {
                let skip = o.max(0) as usize;
                let take = if c < 0 { usize::MAX } else { c as usize };
                model.into_iter().skip(skip).take(take).collect()
            }
        };
        let refs: Vec<&str> = elems.iter().map(String::as_str).collect();
        assert_eq!(
            list(&mut env, &refs, &options),
            model,
            "round {round}: {elems:?} {options}"
        );
    }
}
