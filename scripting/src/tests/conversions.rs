use super::common::*;
use shards::Reply;

fn arr(v: Vec<Reply>) -> Reply {
    Reply::Array(v)
}

#[test]
fn lua_values_to_resp2_replies() {
    let mut b = Bench::new();
    assert_eq!(
        b.eval("return {1,2,3,nil,4}"),
        arr(vec![Reply::Int(1), Reply::Int(2), Reply::Int(3)])
    );
    assert_eq!(
        b.eval("return {1.9,-2.7,'a',true,false,{ok='o'},{err='E x'}}"),
        arr(vec![
            Reply::Int(1),
            Reply::Int(-2),
            bulk("a"),
            Reply::Int(1),
            Reply::Nil,
            Reply::Status("o".into()),
            Reply::Error(shards::CmdError::other("E x")),
        ])
    );
    assert_eq!(b.eval("return 3.99"), Reply::Int(3));
    assert_eq!(b.eval("return true"), Reply::Int(1));
    assert_eq!(b.eval("return false"), Reply::Nil);
    assert_eq!(b.eval("return nil"), Reply::Nil);
    assert_eq!(b.eval("return {}"), arr(vec![]));
    assert_eq!(b.eval("return {a=1}"), arr(vec![]));
}

#[test]
fn resp3_shaped_tables_become_typed_replies() {
    let mut b = Bench::new();
    assert_eq!(
        b.eval("return {map={a=1}}"),
        Reply::Map(vec![(bulk("a"), Reply::Int(1))])
    );
    assert_eq!(b.eval("return {set={a=true}}"), Reply::Set(vec![bulk("a")]));
    assert_eq!(b.eval("return {double=3.5}"), Reply::Double(3.5));
    assert_eq!(b.eval("return {big_number='123'}"), bulk("123"));
    assert_eq!(
        b.eval("return {verbatim_string={format='txt', string='hi'}}"),
        Reply::Verbatim("hi".into())
    );
    assert_eq!(b.eval("redis.setresp(3) return true"), Reply::Bool(true));
    assert_eq!(b.eval("redis.setresp(3) return false"), Reply::Bool(false));
}

#[test]
fn resp2_replies_to_lua() {
    let mut b = Bench::new();
    b.h.cmd(&["hset", "h", "a", "1", "b", "2"]);
    assert_eq!(
        b.eval("return redis.call('ping')"),
        Reply::Status("PONG".into())
    );
    assert_eq!(b.eval("return redis.call('get', 'nokey')"), Reply::Nil);
    assert_eq!(
        b.eval("return type(redis.call('get', 'nokey'))"),
        bulk("boolean")
    );
    assert_eq!(b.eval("return redis.call('set', 'x', 1).ok"), bulk("OK"));
    assert_eq!(
        b.eval("return type(redis.call('incr', 'n'))"),
        bulk("number")
    );
    assert_eq!(
        b.eval("return redis.call('hgetall', 'h')"),
        arr(vec![bulk("a"), bulk("1"), bulk("b"), bulk("2")])
    );
    b.h.cmd(&["zadd", "z", "1.5", "m"]);
    assert_eq!(b.eval("return redis.call('zscore', 'z', 'm')"), bulk("1.5"));
    assert_eq!(
        b.eval("return redis.call('zrange', 'z', 0, -1, 'withscores')"),
        arr(vec![bulk("m"), bulk("1.5")])
    );
}

#[test]
fn resp3_replies_to_lua() {
    let mut b = Bench::new();
    b.h.cmd(&["hset", "h", "a", "1"]);
    assert_eq!(
        b.eval(
            "redis.setresp(3) local t = redis.call('hgetall', 'h') return {type(t.map), t.map.a}"
        ),
        arr(vec![bulk("table"), bulk("1")])
    );
    assert_eq!(
        b.eval("redis.setresp(3) return type(redis.call('get', 'nokey'))"),
        bulk("nil")
    );
    assert_eq!(
        b.eval("redis.setresp(3) return redis.call('hgetall', 'h')"),
        Reply::Map(vec![(bulk("a"), bulk("1"))])
    );
    b.h.cmd(&["sadd", "s", "x"]);
    assert_eq!(
        b.eval("redis.setresp(3) return tostring(redis.call('smembers', 's').set.x)"),
        bulk("true")
    );
    b.h.cmd(&["zadd", "z", "1.5", "m"]);
    assert_eq!(
        b.eval("redis.setresp(3) return tostring(redis.call('zscore', 'z', 'm').double)"),
        bulk("1.5")
    );
    assert_eq!(
        b.eval("redis.setresp(3) local r = redis.call('zrange', 'z', 0, -1, 'withscores') return {r[1][1], type(r[1][2])}"),
        arr(vec![bulk("m"), bulk("table")])
    );
}

#[test]
fn lua_numbers_become_arguments_as_17_digit_text() {
    let mut b = Bench::new();
    for (expr, text) in [
        ("0.1", "0.10000000000000001"),
        ("3.5", "3.5"),
        ("1e20", "1e+20"),
        ("123456789012345678", "1.2345678901234568e+17"),
        ("-0.0", "-0"),
        ("1/0", "inf"),
        ("42", "42"),
    ] {
        let body = format!("redis.call('set', 'a', {expr}) return redis.call('get', 'a')");
        assert_eq!(b.eval(&body), bulk(text), "{expr}");
    }
}
