//! Redis 7's multi-part append-only file, as data: the manifest that lists a base file
//! and incremental files, and the command stream of an AOF file (RESP arrays, `#`
//! annotation lines), read with the position where the last whole command ends so a
//! torn tail can be cut.

use bytes::Bytes;

/// What a file listed in the manifest is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Base,
    History,
    Incr,
}

impl FileKind {
    fn letter(self) -> &'static str {
        match self {
            FileKind::Base => "b",
            FileKind::History => "h",
            FileKind::Incr => "i",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestFile {
    pub name: String,
    pub seq: u64,
    pub kind: FileKind,
}

/// The manifest: at most one base, then the incremental files in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<ManifestFile>,
    pub incrs: Vec<ManifestFile>,
    /// Files of earlier generations still on disk (deleted after a rewrite).
    pub history: Vec<ManifestFile>,
}

impl Manifest {
    /// Parses a manifest (`file <name> seq <n> type <b|h|i>` per line, `#` comments).
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let mut m = Manifest::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words = crate::words::split(line)
                .ok_or_else(|| format!("Invalid AOF manifest file format (line {})", n + 1))?;
            let mut name = None;
            let mut seq = None;
            let mut kind = None;
            for pair in words.chunks(2) {
                let [k, v] = pair else {
                    return Err(format!("Invalid AOF manifest file format (line {})", n + 1));
                };
                match k.as_str() {
                    "file" => name = Some(v.clone()),
                    "seq" => seq = v.parse::<u64>().ok(),
                    "type" => {
                        kind = match v.as_str() {
                            "b" => Some(FileKind::Base),
                            "h" => Some(FileKind::History),
                            "i" => Some(FileKind::Incr),
                            _ => None,
                        }
                    }
                    _ => {}
                }
            }
            let (Some(name), Some(seq), Some(kind)) = (name, seq, kind) else {
                return Err(format!("Invalid AOF manifest file format (line {})", n + 1));
            };
            if name.contains('/') {
                return Err(format!(
                    "File can't be a path, just a filename (line {})",
                    n + 1
                ));
            }
            let f = ManifestFile { name, seq, kind };
            match kind {
                FileKind::Base if m.base.is_some() => {
                    return Err("Found duplicate base file information".into())
                }
                FileKind::Base => m.base = Some(f),
                FileKind::History => m.history.push(f),
                FileKind::Incr => {
                    if m.incrs.last().is_some_and(|l| l.seq >= seq) {
                        return Err("Found a non-monotonic sequence number".into());
                    }
                    m.incrs.push(f)
                }
            }
        }
        if m.base.is_none() && m.incrs.is_empty() {
            return Err("Found an empty AOF manifest".into());
        }
        Ok(m)
    }

    /// The manifest's text, as Redis writes it.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let all = self.base.iter().chain(&self.history).chain(&self.incrs);
        for f in all {
            out.push_str(&format!(
                "file {} seq {} type {}\n",
                crate::words::quote(&f.name),
                f.seq,
                f.kind.letter()
            ));
        }
        out
    }

    /// The highest sequence number of the incremental files (0 without any).
    pub fn last_incr_seq(&self) -> u64 {
        self.incrs.last().map_or(0, |f| f.seq)
    }
}

/// The file names Redis 7 gives the parts of `appendfilename`.
pub fn base_name(prefix: &str, seq: u64, rdb: bool) -> String {
    format!("{prefix}.{seq}.base.{}", if rdb { "rdb" } else { "aof" })
}

pub fn incr_name(prefix: &str, seq: u64) -> String {
    format!("{prefix}.{seq}.incr.aof")
}

pub fn manifest_name(prefix: &str) -> String {
    format!("{prefix}.manifest")
}

/// An AOF file's commands.
#[derive(Debug, Default)]
pub struct Commands {
    pub commands: Vec<Vec<Bytes>>,
    /// Bytes up to the end of the last whole command outside an unfinished
    /// MULTI block: what stays when a torn tail is cut.
    pub valid_len: usize,
    /// The file ends inside a command, or inside a MULTI block without its EXEC.
    pub truncated: bool,
}

/// Reads the commands of an AOF file. A file that is not a command stream (bad
/// framing before its end) is an error naming the offset; a file that stops inside
/// a command is `truncated`.
pub fn read_commands(data: &Bytes) -> Result<Commands, String> {
    let mut out = Commands::default();
    let mut pos = 0;
    // Where the open MULTI started, and how many commands came before it.
    let mut multi: Option<(usize, usize)> = None;
    while pos < data.len() {
        if data[pos] == b'#' {
            match find_crlf(data, pos) {
                Some(end) => {
                    pos = end + 2;
                    if multi.is_none() {
                        out.valid_len = pos;
                    }
                    continue;
                }
                None => {
                    out.truncated = true;
                    break;
                }
            }
        }
        match read_one(data, pos)? {
            None => {
                out.truncated = true;
                break;
            }
            Some((cmd, next)) => {
                let name = cmd[0].to_ascii_lowercase();
                if name == b"multi" {
                    multi = Some((pos, out.commands.len()));
                } else if name == b"exec" {
                    multi = None;
                }
                out.commands.push(cmd);
                pos = next;
                if multi.is_none() {
                    out.valid_len = pos;
                }
            }
        }
    }
    if let Some((_, before)) = multi {
        out.commands.truncate(before);
        out.truncated = true;
    }
    Ok(out)
}

fn find_crlf(data: &[u8], from: usize) -> Option<usize> {
    data[from..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|i| from + i)
}

/// A number line `<prefix><n>\r\n` at `pos`: the number and where the next line
/// starts; None when the data ends first.
fn number_line(data: &[u8], pos: usize, prefix: u8) -> Result<Option<(usize, usize)>, String> {
    let bad = || format!("Bad file format reading the append only file (offset {pos})");
    if pos >= data.len() {
        return Ok(None);
    }
    if data[pos] != prefix {
        return Err(bad());
    }
    let Some(end) = find_crlf(data, pos) else {
        // A number cut short, or garbage without an end of line.
        if data.len() - pos > 32 {
            return Err(bad());
        }
        return Ok(None);
    };
    let n = std::str::from_utf8(&data[pos + 1..end])
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .ok_or_else(bad)?;
    Ok(Some((n, end + 2)))
}

/// One command at `pos`, and where the next starts; None when the data ends inside it.
fn read_one(data: &Bytes, pos: usize) -> Result<Option<(Vec<Bytes>, usize)>, String> {
    let Some((argc, mut p)) = number_line(data, pos, b'*')? else {
        return Ok(None);
    };
    if argc == 0 || argc > 1 << 20 {
        return Err(format!(
            "Bad file format reading the append only file (offset {pos})"
        ));
    }
    let mut args = Vec::with_capacity(argc);
    for _ in 0..argc {
        let Some((len, start)) = number_line(data, p, b'$')? else {
            return Ok(None);
        };
        if start + len + 2 > data.len() {
            return Ok(None);
        }
        if &data[start + len..start + len + 2] != b"\r\n" {
            return Err(format!(
                "Bad file format reading the append only file (offset {start})"
            ));
        }
        args.push(data.slice(start..start + len));
        p = start + len + 2;
    }
    Ok(Some((args, p)))
}

#[cfg(test)]
#[path = "aof_tests.rs"]
mod tests;
