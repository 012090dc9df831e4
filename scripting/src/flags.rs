//! Script flags and the `#!lua` shebang line of EVAL scripts and function libraries.

use shards::{CmdError, Reply};

/// Flags from an EVAL script's shebang or a function's `flags` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScriptFlags {
    pub no_writes: bool,
    pub allow_oom: bool,
    pub allow_stale: bool,
    pub no_cluster: bool,
    pub allow_cross_slot_keys: bool,
    /// An EVAL script without a shebang: may write, may touch undeclared keys, and is
    /// not subject to the flag checks a server makes before running flagged scripts.
    pub legacy: bool,
}

impl ScriptFlags {
    /// Flags of a script without a shebang.
    pub const LEGACY: ScriptFlags = ScriptFlags {
        no_writes: false,
        allow_oom: false,
        allow_stale: false,
        no_cluster: false,
        allow_cross_slot_keys: false,
        legacy: true,
    };

    /// Sets the flag named `name`; false for an unknown name.
    pub(crate) fn set(&mut self, name: &[u8]) -> bool {
        match name {
            b"no-writes" => self.no_writes = true,
            b"allow-oom" => self.allow_oom = true,
            b"allow-stale" => self.allow_stale = true,
            b"no-cluster" => self.no_cluster = true,
            b"allow-cross-slot-keys" => self.allow_cross_slot_keys = true,
            _ => return false,
        }
        true
    }

    /// Flag names as FUNCTION LIST reports them.
    pub fn names(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.no_writes {
            v.push("no-writes");
        }
        if self.allow_oom {
            v.push("allow-oom");
        }
        if self.allow_stale {
            v.push("allow-stale");
        }
        if self.no_cluster {
            v.push("no-cluster");
        }
        if self.allow_cross_slot_keys {
            v.push("allow-cross-slot-keys");
        }
        v
    }
}

fn err(msg: impl Into<String>) -> Reply {
    Reply::Error(CmdError::other(msg))
}

/// The first line of `body` when it is a shebang (`#!...`), without its newline.
pub(crate) fn shebang_line(body: &[u8]) -> Option<&[u8]> {
    if !body.starts_with(b"#!") {
        return None;
    }
    let end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
    Some(&body[..end])
}

/// Parses an EVAL script's shebang. Returns the flags and how many bytes of `body` the
/// shebang line takes (the newline stays, so line numbers in errors are unchanged).
pub(crate) fn parse_eval_shebang(body: &[u8]) -> Result<(ScriptFlags, usize), Reply> {
    let Some(line) = shebang_line(body) else {
        return Ok((ScriptFlags::LEGACY, 0));
    };
    let mut parts = line[2..].split(|&b| b == b' ').filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or(b"");
    if engine != b"lua" {
        return Err(err(format!(
            "ERR Unexpected engine in script shebang: {}",
            String::from_utf8_lossy(line)
        )));
    }
    let mut flags = ScriptFlags::default();
    for part in parts {
        let Some(list) = part.strip_prefix(b"flags=") else {
            return Err(err(format!(
                "ERR Unknown lua shebang option: {}",
                String::from_utf8_lossy(part)
            )));
        };
        for name in list.split(|&b| b == b',').filter(|n| !n.is_empty()) {
            if !flags.set(name) {
                return Err(err(format!(
                    "ERR Unexpected flag in script shebang: {}",
                    String::from_utf8_lossy(name)
                )));
            }
        }
    }
    Ok((flags, line.len()))
}

/// Parses a function library's shebang (`#!lua name=<lib>`): the library name and the
/// shebang's length. The checks and their errors come in Redis 7.0's order: the words
/// after the engine (split as Redis splits arguments), then the name's presence, the
/// engine, the name's characters.
pub(crate) fn parse_library_shebang(code: &[u8]) -> Result<(String, usize), Reply> {
    let Some(line) = shebang_line(code) else {
        return Err(err("ERR Missing library metadata"));
    };
    let text = String::from_utf8_lossy(&line[2..]);
    let Some(parts) = shards::words::split(&text).filter(|p| !p.is_empty()) else {
        return Err(err("ERR Invalid library metadata"));
    };
    let mut name: Option<&str> = None;
    for part in &parts[1..] {
        let lower = part.to_ascii_lowercase();
        if !lower.starts_with("name=") {
            return Err(err(format!("ERR Invalid metadata value given: {part}")));
        }
        if name.is_some() {
            return Err(err(
                "ERR Invalid metadata value, name argument was given multiple times",
            ));
        }
        name = Some(&part[5..]);
    }
    let Some(name) = name else {
        return Err(err("ERR Library name was not given"));
    };
    if !parts[0].eq_ignore_ascii_case("lua") {
        return Err(err(format!("ERR Engine '{}' not found", parts[0])));
    }
    if !valid_name(name.as_bytes()) {
        return Err(err("ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"));
    }
    Ok((name.to_string(), line.len()))
}

/// Library and function names: letters, digits and underscores, at least one.
pub(crate) fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(r: Reply) -> String {
        match r {
            Reply::Error(e) => e.to_string(),
            other => panic!("not an error: {other:?}"),
        }
    }

    #[test]
    fn no_shebang_is_legacy() {
        assert_eq!(
            parse_eval_shebang(b"return 1").unwrap(),
            (ScriptFlags::LEGACY, 0)
        );
    }

    #[test]
    fn shebang_flags_parse_and_keep_the_newline() {
        let (f, len) = parse_eval_shebang(b"#!lua flags=no-writes,allow-oom\nreturn 1").unwrap();
        assert!(f.no_writes && f.allow_oom && !f.legacy && !f.allow_cross_slot_keys);
        assert_eq!(len, "#!lua flags=no-writes,allow-oom".len());
        let (f, _) = parse_eval_shebang(b"#!lua\nreturn 1").unwrap();
        assert_eq!(f, ScriptFlags::default());
    }

    #[test]
    fn shebang_errors_match_redis() {
        assert_eq!(
            msg(parse_eval_shebang(b"#!lua flags=bad\nreturn 1").unwrap_err()),
            "ERR Unexpected flag in script shebang: bad"
        );
        assert_eq!(
            msg(parse_eval_shebang(b"#!luax\nreturn 1").unwrap_err()),
            "ERR Unexpected engine in script shebang: #!luax"
        );
        assert_eq!(
            msg(parse_eval_shebang(b"#!lua name=x\nreturn 1").unwrap_err()),
            "ERR Unknown lua shebang option: name=x"
        );
    }

    #[test]
    fn library_shebang_errors_match_redis() {
        assert_eq!(parse_library_shebang(b"#!lua name=lib\n").unwrap().0, "lib");
        assert_eq!(
            msg(parse_library_shebang(b"return 1").unwrap_err()),
            "ERR Missing library metadata"
        );
        for (bad, expected) in [
            (&b"#!lua"[..], "ERR Library name was not given"),
            (b"#!lua name=l3 foo=bar", "ERR Invalid metadata value given: foo=bar"),
            (b"#!luaa name=x", "ERR Engine 'luaa' not found"),
            (b"#!lua name=", "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"),
        ] {
            assert_eq!(msg(parse_library_shebang(bad).unwrap_err()), expected);
        }
        assert_eq!(parse_library_shebang(b"#!LUA NAME=lib\n").unwrap().0, "lib");
        assert_eq!(
            msg(parse_library_shebang(b"#!lua name=a name=b").unwrap_err()),
            "ERR Invalid metadata value, name argument was given multiple times"
        );
    }
}
