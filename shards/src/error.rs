//! Typed command errors. Handlers return these; `CmdError::message` is the one place
//! that spells Redis's error text.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum CmdError {
    WrongType,
    NotInteger,
    NotFloat,
    Syntax,
    Overflow,
    NanOrInfinity,
    NoSuchKey,
    /// A command that may grow memory while the shard is over its budget.
    OutOfMemory,
    /// `invalid expire time in '<cmd>' command`
    InvalidExpire(String),
    WrongArity(String),
    UnknownCommand {
        name: String,
        args: Vec<String>,
    },
    UnknownSubcommand {
        sub: String,
        cmd: String,
    },
    /// A known subcommand with arguments its command refuses (Redis's
    /// addReplySubcommandSyntaxError).
    SubcommandSyntax {
        sub: String,
        cmd: String,
    },
    DbIndexOutOfRange,
    SameObject,
    OffsetOutOfRange,
    StringTooLong,
    BitOffset,
    NotAllowedWithSelect,
    /// Any other error; the text includes the prefix (`ERR ...`, `NOAUTH ...`).
    Other(String),
}

impl CmdError {
    /// The error line without the leading `-` and trailing CRLF.
    pub fn message(&self) -> String {
        match self {
            CmdError::WrongType => {
                "WRONGTYPE Operation against a key holding the wrong kind of value".into()
            }
            CmdError::NotInteger => "ERR value is not an integer or out of range".into(),
            CmdError::NotFloat => "ERR value is not a valid float".into(),
            CmdError::Syntax => "ERR syntax error".into(),
            CmdError::Overflow => "ERR increment or decrement would overflow".into(),
            CmdError::NanOrInfinity => "ERR increment would produce NaN or Infinity".into(),
            CmdError::NoSuchKey => "ERR no such key".into(),
            CmdError::OutOfMemory => {
                "OOM command not allowed when used memory > 'maxmemory'.".into()
            }
            CmdError::InvalidExpire(cmd) => format!("ERR invalid expire time in '{cmd}' command"),
            CmdError::WrongArity(cmd) => {
                format!("ERR wrong number of arguments for '{cmd}' command")
            }
            CmdError::UnknownCommand { name, args } => {
                // Redis lists arguments until about 128 characters are shown.
                let mut shown = String::new();
                for a in args {
                    if shown.len() >= 128 {
                        break;
                    }
                    let room = 128 - shown.len();
                    shown.push('\'');
                    shown.extend(a.chars().take(room));
                    shown.push_str("' ");
                }
                format!("ERR unknown command '{name}', with args beginning with: {shown}")
            }
            CmdError::SubcommandSyntax { sub, cmd } => format!(
                "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try {} HELP.",
                cmd.to_ascii_uppercase()
            ),
            CmdError::UnknownSubcommand { sub, cmd } => format!(
                "ERR unknown subcommand '{sub}'. Try {} HELP.",
                cmd.to_ascii_uppercase()
            ),
            CmdError::DbIndexOutOfRange => "ERR DB index is out of range".into(),
            CmdError::SameObject => "ERR source and destination objects are the same".into(),
            CmdError::OffsetOutOfRange => "ERR offset is out of range".into(),
            CmdError::StringTooLong => {
                "ERR string exceeds maximum allowed size (proto-max-bulk-len)".into()
            }
            CmdError::BitOffset => "ERR bit offset is not an integer or out of range".into(),
            CmdError::NotAllowedWithSelect => "ERR SELECT is not allowed in cluster mode".into(),
            CmdError::Other(s) => s.clone(),
        }
    }

    pub fn other(msg: impl Into<String>) -> Self {
        CmdError::Other(msg.into())
    }
}

impl fmt::Display for CmdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for CmdError {}

pub type CmdResult<T> = Result<T, CmdError>;
