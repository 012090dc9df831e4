use super::common::*;
use shards::Reply;

fn ints(v: &[i64]) -> Reply {
    Reply::Array(v.iter().map(|&i| Reply::Int(i)).collect())
}

fn bulks(v: &[&[u8]]) -> Reply {
    Reply::Array(v.iter().map(|b| Reply::Bulk(b.to_vec())).collect())
}

#[test]
fn cjson_encodes_as_redis() {
    let mut b = Bench::new();
    let cases: &[(&str, &[u8])] = &[
        (
            r#"{1,2,3,{a=1.5},"x\"y/\n\1", true, false, cjson.null}"#,
            br#"[1,2,3,{"a":1.5},"x\"y\/\n\u0001",true,false,null]"#,
        ),
        (
            "{0.1, 1e20, 123456789012345678, -0.0, 1/3, 100, 1e-5}",
            b"[0.1,1e+20,1.2345678901235e+17,-0,0.33333333333333,100,1e-05]",
        ),
        ("{}", b"{}"),
        ("{[1]=1,[3]=3}", b"[1,null,3]"),
        ("{a={b={}}}", br#"{"a":{"b":{}}}"#),
        ("'\\127\\128\\255'", b"\"\\u007f\x80\xff\""),
        ("{a=1, [1]=2}", br#"{"a":1,"1":2}"#),
        ("{'\\t\\b\\f\\r'}", br#"["\t\b\f\r"]"#),
    ];
    for (expr, json) in cases {
        assert_eq!(
            b.eval(&format!("return cjson.encode({expr})")),
            Reply::Bulk(json.to_vec()),
            "{expr}"
        );
    }
}

#[test]
fn cjson_encode_errors_match_lua_cjson() {
    let mut b = Bench::new();
    let cases = [
        (
            "{[1]=1,[20]=3}",
            "Cannot serialise table: excessively sparse array",
        ),
        ("1/0", "Cannot serialise number: must not be NaN or Inf"),
        (
            "function() end",
            "Cannot serialise function: type not supported",
        ),
        (
            "{[true]=1}",
            "Cannot serialise boolean: table key must be a number or string",
        ),
    ];
    for (expr, msg) in cases {
        let body = format!("return cjson.encode({expr})");
        assert_eq!(
            err_text(&b.eval(&body)),
            format!("ERR user_script:1: {msg}{}", at(&body, 1)),
            "{expr}"
        );
    }
    let body = "local t = {} t[1] = t return cjson.encode(t)";
    assert_eq!(
        err_text(&b.eval(body)),
        format!(
            "ERR user_script:1: Cannot serialise, excessive nesting (1001){}",
            at(body, 1)
        )
    );
}

#[test]
fn cjson_decodes_as_redis() {
    let mut b = Bench::new();
    assert_eq!(
        b.eval(
            r#"local t = cjson.decode("[1,2.5,\"x\",null,true,{\"a\":[]}]") return {t[1], tostring(t[2]), t[3], tostring(t[4] == cjson.null), tostring(t[5]), type(t[6].a)}"#
        ),
        Reply::Array(vec![
            Reply::Int(1),
            bulk("2.5"),
            bulk("x"),
            bulk("true"),
            bulk("true"),
            bulk("table")
        ])
    );
    assert_eq!(
        b.eval(r#"return cjson.decode("\"\\u00e9\\ud83d\\ude00\"")"#),
        Reply::Bulk("é😀".as_bytes().to_vec())
    );
    assert_eq!(b.eval(r#"return cjson.decode("[0x10]")"#), ints(&[16]));
    assert_eq!(
        b.eval(r#"return cjson.decode("[-0, 1E2, 1e-2, -1.5e+3]")"#),
        ints(&[0, 100, 0, -1500])
    );
    assert_eq!(
        b.eval(r#"return cjson.encode(cjson.decode("{\"a\":[1,2,{\"b\":null}]}"))"#),
        bulk(r#"{"a":[1,2,{"b":null}]}"#)
    );
    assert_eq!(b.eval("return type(cjson.null)"), bulk("userdata"));
}

#[test]
fn cjson_decode_errors_match_lua_cjson() {
    let mut b = Bench::new();
    let cases = [
        (
            r#""[1,2""#,
            "Expected comma or array end but found T_END at character 5",
        ),
        (
            r#""{\"a\":1}x""#,
            "Expected the end but found invalid token at character 8",
        ),
        (
            r#""nul""#,
            "Expected value but found invalid token at character 1",
        ),
        (r#""""#, "Expected value but found T_END at character 1"),
        (
            r#""{1:2}""#,
            "Expected object key string but found T_NUMBER at character 2",
        ),
    ];
    for (arg, msg) in cases {
        let body = format!("return cjson.decode({arg})");
        assert_eq!(
            err_text(&b.eval(&body)),
            format!("ERR user_script:1: {msg}{}", at(&body, 1)),
            "{arg}"
        );
    }
}

#[test]
fn bit_follows_luabitop() {
    let mut b = Bench::new();
    assert_eq!(
        b.eval("return {bit.tobit(0xffffffff), bit.tobit(2^32+5), bit.tobit(-1), bit.tobit(1.5), bit.tobit(2.5), bit.bnot(0), bit.band(0xff, 0x0f, 0x3), bit.bor(1,2,4), bit.bxor(5,3), bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.rol(0x12345678, 8), bit.ror(0x12345678, 8), bit.bswap(0x12345678), bit.lshift(1, 33)}"),
        ints(&[-1, 5, -1, 2, 2, -1, 3, 7, 6, -2147483648, 15, -16, 878082066, 2014458966, 2018915346, 2])
    );
    assert_eq!(
        b.eval("return {bit.tohex(255), bit.tohex(-1), bit.tohex(255, 2), bit.tohex(255, -4), bit.tohex(0x12345678, 10)}"),
        bulks(&[b"000000ff", b"ffffffff", b"ff", b"00FF", b"12345678"])
    );
    let body = "return bit.band('x')";
    assert_eq!(
        err_text(&b.eval(body)),
        format!(
            "ERR user_script:1: bad argument #1 to 'band' (number expected, got string){}",
            at(body, 1)
        )
    );
    let body = "return bit.tobit()";
    assert!(err_text(&b.eval(body))
        .contains("bad argument #1 to 'tobit' (number expected, got no value)"));
}

#[test]
fn deep_nesting_is_refused_without_exhausting_the_stack() {
    let mut b = Bench::new();
    let r = b.eval("return cjson.decode(string.rep('[', 1001) .. string.rep(']', 1001))");
    assert!(
        err_text(&r).contains("Found too many nested data structures (1001) at character 1001"),
        "{r:?}"
    );
    let r = b.eval("local t = cjson.decode(string.rep('[', 1000) .. string.rep(']', 1000)) return cjson.encode(t):len()");
    assert_eq!(r, Reply::Int(2000));
    // A table that contains itself ends in an error element, not a crash.
    let mut r = b.eval("local t = {} t[1] = t return t");
    let mut depth = 0;
    while let Reply::Array(mut items) = r {
        r = items.remove(0);
        depth += 1;
    }
    assert_eq!(err_text(&r), "ERR reached lua stack limit");
    assert_eq!(depth, 200);
}

const HEX: &str = "local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end ";

#[test]
fn cmsgpack_packs_as_redis() {
    let mut b = Bench::new();
    let cases: &[(&str, &str)] = &[
        (
            "1, -1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649",
            "01ff7fcc80ccffcd0100cdffffce00010000ceffffffffcf0000000100000000e0d0dfd080d1ff7fd18000d2ffff7fffd280000000d3ffffffff7fffffff",
        ),
        ("0.5, 0.1, 1e300, -0.0, 3.0", "ca3f000000cb3fb999999999999acb7e37e43c8800759c0003"),
        ("1.5, 2^53, -2^63, 2^64", "ca3fc00000cf0020000000000000d38000000000000000ca5f800000"),
        ("{}, {1,2}, {a=1}, true, false, nil", "9092010281a16101c3c2c0"),
        ("{1,nil,3}", "8201010303"),
        ("cjson.null", "c0"),
        ("'', 'abc'", "a0a3616263"),
    ];
    for (args, hex) in cases {
        let body = format!("{HEX} return hex(cmsgpack.pack({args}))");
        assert_eq!(b.eval(&body), bulk(hex), "{args}");
    }
    let body = format!("{HEX} return hex(cmsgpack.pack(string.rep('x', 32)))");
    assert_eq!(b.eval(&body), bulk(&format!("d920{}", "78".repeat(32))));
    let body =
        format!("{HEX} local t = {{}} for i=1,20 do t = {{t}} end return hex(cmsgpack.pack(t))");
    assert_eq!(b.eval(&body), bulk(&format!("{}c0", "91".repeat(16))));
}

#[test]
fn cmsgpack_unpacks_as_redis() {
    let mut b = Bench::new();
    assert_eq!(
        b.eval("return {cmsgpack.unpack(cmsgpack.pack(1, 'a', {1,2}, {a=5}))}"),
        Reply::Array(vec![
            Reply::Int(1),
            bulk("a"),
            ints(&[1, 2]),
            Reply::Array(vec![])
        ])
    );
    assert_eq!(
        b.eval("return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))}"),
        ints(&[1, 1])
    );
    assert_eq!(
        b.eval("return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 1)}"),
        ints(&[2, 2])
    );
    assert_eq!(
        b.eval("return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}"),
        ints(&[2, 1, 2])
    );
    assert_eq!(
        b.eval("return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 3)}"),
        ints(&[-1])
    );
    assert_eq!(
        b.eval("return tostring(cmsgpack.unpack('\\207\\255\\255\\255\\255\\255\\255\\255\\255'))"),
        bulk("-1")
    );
    assert_eq!(
        b.eval("return tostring(cmsgpack.unpack('\\202\\63\\192\\0\\0'))"),
        bulk("1.5")
    );
    assert_eq!(
        b.eval(&format!(
            "{HEX} return hex(cmsgpack.pack(cmsgpack.unpack('\\220\\0\\2\\1\\2')))"
        )),
        bulk("920102")
    );
    for (input, msg) in [
        ("'\\217'", "Missing bytes in input."),
        ("'\\193'", "Bad data format in input."),
    ] {
        let body = format!("return cmsgpack.unpack({input})");
        assert_eq!(
            err_text(&b.eval(&body)),
            format!("ERR user_script:1: {msg}{}", at(&body, 1))
        );
    }
    let body = "return cmsgpack.pack()";
    assert_eq!(
        err_text(&b.eval(body)),
        format!(
            "ERR user_script:1: bad argument #0 to 'pack' (MessagePack pack needs input.){}",
            at(body, 1)
        )
    );
}

#[test]
fn struct_packs_as_redis() {
    let mut b = Bench::new();
    let cases: &[(&str, &str)] = &[
        (
            "'>i2<I4bBhHlL', 1, 2, -1, 255, -2, 65535, -3, 4",
            "000102000000fffffefffffffdffffffffffffff0400000000000000",
        ),
        ("'!4 b i', 1, 2", "0100000002000000"),
        ("'>d<f', 1.5, 2.5", "3ff800000000000000002040"),
        ("'c3', 'abcdef'", "616263"),
        ("'s', 'hi'", "686900"),
        ("'c0', 'hello'", "68656c6c6f"),
        ("'xbx', 7", "000700"),
        ("'i', 2^31", "00000080"),
        ("'T', 5", "0500000000000000"),
        ("'B', 300", "2c"),
        ("'i17', 1", "0100000000000000000000000000000000"),
    ];
    for (args, hex) in cases {
        let body = format!("{HEX} return hex(struct.pack({args}))");
        assert_eq!(b.eval(&body), bulk(hex), "{args}");
    }
}

#[test]
fn struct_unpacks_and_sizes_as_redis() {
    let mut b = Bench::new();
    assert_eq!(
        b.eval("return {struct.unpack('>i2<I4', struct.pack('>i2<I4', -5, 7))}"),
        ints(&[-5, 7, 7])
    );
    assert_eq!(
        b.eval("return {struct.unpack('s', 'hi\\0rest')}"),
        Reply::Array(vec![bulk("hi"), Reply::Int(4)])
    );
    assert_eq!(
        b.eval("return {struct.unpack('bc0', '\\3abcd')}"),
        Reply::Array(vec![bulk("abc"), Reply::Int(5)])
    );
    assert_eq!(
        b.eval("return {struct.unpack('c2', 'abcd', 2)}"),
        Reply::Array(vec![bulk("bc"), Reply::Int(4)])
    );
    assert_eq!(
        b.eval("return {struct.unpack('<i3', '\\255\\255\\255')}"),
        ints(&[-1, 4])
    );
    assert_eq!(
        b.eval("return tostring(struct.unpack('<d', struct.pack('<d', 0.1)))"),
        bulk("0.1")
    );
    assert_eq!(
        b.eval("return {struct.size('>i2<I4bd'), struct.size('!8bd'), struct.size('c10')}"),
        ints(&[15, 16, 10])
    );
    let cases = [
        (
            "struct.pack('q', 1)",
            "bad argument #1 to 'pack' (invalid format option 'q')",
        ),
        (
            "struct.unpack('i4', 'ab')",
            "bad argument #2 to 'unpack' (data string too short)",
        ),
        (
            "struct.size('s')",
            "bad argument #1 to 'size' (option 's' has no fixed size)",
        ),
        (
            "struct.pack('i', 'x')",
            "bad argument #2 to 'pack' (number expected, got string)",
        ),
        (
            "struct.pack('c2', 5)",
            "bad argument #3 to 'pack' (string too short)",
        ),
        (
            "struct.unpack('b', 'a', 0)",
            "bad argument #3 to 'unpack' (offset must be 1 or greater)",
        ),
    ];
    for (call, msg) in cases {
        let body = format!("return {call}");
        assert_eq!(
            err_text(&b.eval(&body)),
            format!("ERR user_script:1: {msg}{}", at(&body, 1)),
            "{call}"
        );
    }
}

#[test]
fn encoders_see_the_contents_of_library_tables() {
    let mut b = Bench::new();
    let body = "return cjson.encode(string)";
    assert_eq!(
        err_text(&b.eval(body)),
        format!(
            "ERR user_script:1: Cannot serialise function: type not supported{}",
            at(body, 1)
        )
    );
    // 15 functions of the string library, packed as nil values.
    assert_eq!(
        b.eval("return cmsgpack.pack(string):byte(1)"),
        Reply::Int(0x8f)
    );
}
