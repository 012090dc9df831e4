//! The typed reply of a command. Protocol-neutral: the server encodes it as RESP2 or
//! RESP3 at the edge (maps become flat arrays in RESP2, doubles bulk strings, ...).

use crate::error::CmdError;

#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+OK`
    Ok,
    /// A status line (`+PONG`, `+string`).
    Status(String),
    Int(i64),
    Bulk(Vec<u8>),
    /// Null bulk string (`$-1` / `_`).
    Nil,
    /// Null array (`*-1` / `_`).
    NilArray,
    Array(Vec<Reply>),
    /// RESP3 map; a flat array in RESP2.
    Map(Vec<(Reply, Reply)>),
    /// RESP3 map; in RESP2 an array of two-element [key, value] arrays (XREAD).
    KeyedArrays(Vec<(Reply, Reply)>),
    /// RESP3 set; an array in RESP2.
    Set(Vec<Reply>),
    /// Element/score style pairs: a flat array in RESP2, an array of two-element arrays
    /// in RESP3 (ZRANGE WITHSCORES, HRANDFIELD WITHVALUES, ZPOPMIN with a count ...).
    Pairs(Vec<(Reply, Reply)>),
    /// A double as Redis's addReplyDouble sends it: `%.17g` text, as a bulk string in
    /// RESP2 and a `,` double in RESP3.
    Double(f64),
    /// A double already formatted (geo coordinates use `%.17Lf`): a bulk string in
    /// RESP2, a `,` double in RESP3.
    DoubleText(String),
    /// RESP3 boolean; an integer 0/1 in RESP2.
    Bool(bool),
    /// RESP3 verbatim string (`=txt:`); a bulk string in RESP2.
    Verbatim(String),
    /// RESP3 push (`>`: Pub/Sub messages and confirmations); an array in RESP2.
    Push(Vec<Reply>),
    /// Several replies to one command, one after another (SUBSCRIBE confirms each
    /// channel with a reply of its own).
    Frames(Vec<Reply>),
    Error(CmdError),
}

impl Reply {
    pub fn bulk(b: impl AsRef<[u8]>) -> Reply {
        Reply::Bulk(b.as_ref().to_vec())
    }

    pub fn status(s: impl Into<String>) -> Reply {
        Reply::Status(s.into())
    }

    pub fn bulk_or_nil(b: Option<impl AsRef<[u8]>>) -> Reply {
        match b {
            Some(b) => Reply::bulk(b),
            None => Reply::Nil,
        }
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }
}

impl From<CmdError> for Reply {
    fn from(e: CmdError) -> Self {
        Reply::Error(e)
    }
}

impl From<Result<Reply, CmdError>> for Reply {
    fn from(r: Result<Reply, CmdError>) -> Self {
        r.unwrap_or_else(Reply::Error)
    }
}
