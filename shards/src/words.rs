//! A line of a configuration file or manifest split into words as Redis splits them
//! (its `sdssplitargs`): spaces separate words; a word may be "double quoted" (with
//! backslash escapes, `\n`, `\t`, `\xHH`) or 'single quoted' (only `\'` escaped); a
//! quote must be followed by a space or the end of the line.

/// `word` as a line's word that `split` reads back: as it is when it has no space,
/// quote, backslash or control character and is not empty, else double-quoted with
/// backslash escapes.
pub fn quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !matches!(c, '"' | '\\' | '\''))
    {
        return word.to_string();
    }
    let mut out = String::from("\"");
    for c in word.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The words of `line`; None when a quote is not closed or is followed by a character
/// other than a space.
pub fn split(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return Some(words);
        };
        let mut w = String::new();
        match first {
            '"' => {
                chars.next();
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            'n' => w.push('\n'),
                            'r' => w.push('\r'),
                            't' => w.push('\t'),
                            'b' => w.push('\u{8}'),
                            'a' => w.push('\u{7}'),
                            'x' => {
                                let hex: String = [chars.next()?, chars.next()?].iter().collect();
                                w.push(u8::from_str_radix(&hex, 16).ok()? as char);
                            }
                            c => w.push(c),
                        },
                        c => w.push(c),
                    }
                }
                if chars.peek().is_some_and(|c| !c.is_whitespace()) {
                    return None;
                }
            }
            '\'' => {
                chars.next();
                loop {
                    match chars.next()? {
                        '\'' => break,
                        '\\' if chars.peek() == Some(&'\'') => {
                            chars.next();
                            w.push('\'');
                        }
                        c => w.push(c),
                    }
                }
                if chars.peek().is_some_and(|c| !c.is_whitespace()) {
                    return None;
                }
            }
            _ => {
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() {
                        break;
                    }
                    w.push(c);
                    chars.next();
                }
            }
        }
        words.push(w);
    }
}

#[cfg(test)]
mod tests {
    use super::{quote, split};

    #[test]
    fn quoted_words_read_back() {
        for w in [
            "plain",
            "",
            "a b",
            "say \"hi\"",
            "back\\slash",
            "new\nline",
            "it's",
            "\u{1}",
        ] {
            let line = format!("x {}", quote(w));
            assert_eq!(split(&line).unwrap(), ["x", w], "{line}");
        }
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote(""), "\"\"");
    }

    #[test]
    fn words_quotes_and_escapes() {
        assert_eq!(split("save 900 1").unwrap(), ["save", "900", "1"]);
        assert_eq!(split("  save \"\"  ").unwrap(), ["save", ""]);
        assert_eq!(split("dir \"/a b/c\"").unwrap(), ["dir", "/a b/c"]);
        assert_eq!(split("x \"a\\x41\\n\"").unwrap(), ["x", "aA\n"]);
        assert_eq!(split("x 'it\\'s'").unwrap(), ["x", "it's"]);
        assert!(split("x \"open").is_none());
        assert!(split("x \"a\"b").is_none());
        assert!(split("").unwrap().is_empty());
    }
}
