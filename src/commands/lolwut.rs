//! LOLWUT [VERSION v] [columns rows]: a drawing and the version line, as Redis's LOLWUT
//! ends with. corecache draws its own picture: shards as cores on a die, one column
//! of cells per shard (`columns` and `rows` change its size).

use bytes::Bytes;
use shards::{CmdError, Reply};

use super::REDIS_VERSION;

pub fn run(nshards: usize, args: &[Bytes]) -> Result<Reply, CmdError> {
    let mut rest = &args[1..];
    if rest
        .first()
        .is_some_and(|a| a.eq_ignore_ascii_case(b"VERSION"))
    {
        let Some(v) = rest.get(1) else {
            return Err(CmdError::Syntax);
        };
        shards::args::parse_i64(v)?;
        rest = &rest[2..];
    }
    let number = |i: usize, default: i64| match rest.get(i) {
        Some(a) => shards::args::parse_i64(a),
        None => Ok(default),
    };
    let cols = number(0, 48)?.clamp(8, 200) as usize;
    let rows = number(1, 8)?.clamp(2, 50) as usize;
    Ok(Reply::Verbatim(draw(nshards.max(1), cols, rows)))
}

/// A die outline with `nshards` cores side by side, each a column of cells.
fn draw(nshards: usize, cols: usize, rows: usize) -> String {
    let mut out = String::new();
    let inner = cols.saturating_sub(2);
    out.push('+');
    out.push_str(&"-".repeat(inner));
    out.push_str("+\n");
    let per = (inner / nshards).max(1);
    for r in 0..rows {
        out.push('|');
        let line: String = (0..inner)
            .map(|c| {
                let core = c / per;
                if core >= nshards || c % per == per - 1 {
                    ' '
                } else if (r + core).is_multiple_of(3) {
                    '#'
                } else {
                    '.'
                }
            })
            .collect();
        out.push_str(&line);
        out.push_str("|\n");
    }
    out.push('+');
    out.push_str(&"-".repeat(inner));
    out.push_str("+\n\n");
    out.push_str(&format!(
        "{nshards} shard(s), one core each, sharing nothing. Redis ver. {REDIS_VERSION}\n"
    ));
    out
}
