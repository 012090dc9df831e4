//! Redis glob-style pattern matching (KEYS, SCAN MATCH): `*`, `?`, `[abc]`, `[^a]`,
//! `[a-z]` and `\x` escapes, on bytes.

/// Whether `s` matches `pattern`, case-sensitively.
pub fn glob_match(pattern: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0usize, 0usize);
    // Backtracking point for the last `*`: (pattern index after it, string index).
    let mut star: Option<(usize, usize)> = None;
    loop {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    while p < pattern.len() && pattern[p] == b'*' {
                        p += 1;
                    }
                    if p == pattern.len() {
                        return true;
                    }
                    star = Some((p, i));
                    continue;
                }
                b'?' if i < s.len() => {
                    p += 1;
                    i += 1;
                    continue;
                }
                b'[' if i < s.len() => {
                    if let Some((matched, next)) = class_match(pattern, p, s[i]) {
                        if matched {
                            p = next;
                            i += 1;
                            continue;
                        }
                    }
                }
                b'\\' if p + 1 < pattern.len() && i < s.len() && pattern[p + 1] == s[i] => {
                    p += 2;
                    i += 1;
                    continue;
                }
                c if i < s.len() && c == s[i] && c != b'?' && c != b'[' => {
                    p += 1;
                    i += 1;
                    continue;
                }
                _ => {}
            }
        } else if i == s.len() {
            return true;
        }
        // Mismatch: let the last star swallow one more byte, if any.
        match star {
            Some((sp, si)) if si < s.len() => {
                star = Some((sp, si + 1));
                p = sp;
                i = si + 1;
            }
            _ => return false,
        }
    }
}

/// Matches `c` against the class starting at `pattern[start] == b'['`. Returns whether
/// it matched and the pattern index after the class.
fn class_match(pattern: &[u8], start: usize, c: u8) -> Option<(bool, usize)> {
    let mut p = start + 1;
    let negate = pattern.get(p) == Some(&b'^');
    if negate {
        p += 1;
    }
    let mut matched = false;
    loop {
        let Some(&b) = pattern.get(p) else {
            // Unterminated class: Redis treats the end of pattern as the end of class.
            return Some((matched != negate, p));
        };
        if b == b']' {
            return Some((matched != negate, p + 1));
        }
        if b == b'\\' && p + 1 < pattern.len() {
            if pattern[p + 1] == c {
                matched = true;
            }
            p += 2;
        } else if p + 2 < pattern.len() && pattern[p + 1] == b'-' && pattern[p + 2] != b']' {
            let (mut lo, mut hi) = (b, pattern[p + 2]);
            if lo > hi {
                std::mem::swap(&mut lo, &mut hi);
            }
            if (lo..=hi).contains(&c) {
                matched = true;
            }
            p += 3;
        } else {
            if b == c {
                matched = true;
            }
            p += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match as m;

    #[test]
    fn globs_match_like_redis() {
        assert!(m(b"*", b""));
        assert!(m(b"*", b"anything"));
        assert!(m(b"h?llo", b"hello"));
        assert!(!m(b"h?llo", b"hllo"));
        assert!(m(b"h*llo", b"heeeello"));
        assert!(m(b"h[ae]llo", b"hallo"));
        assert!(!m(b"h[ae]llo", b"hillo"));
        assert!(m(b"h[^e]llo", b"hallo"));
        assert!(!m(b"h[^e]llo", b"hello"));
        assert!(m(b"h[a-b]llo", b"hbllo"));
        assert!(m(b"h[b-a]llo", b"hallo"));
        assert!(m(b"h\\*llo", b"h*llo"));
        assert!(!m(b"h\\*llo", b"hello"));
        assert!(m(b"key:*:end", b"key:1:2:end"));
        assert!(!m(b"key:*:end", b"key:1:2:en"));
        assert!(m(b"*a*b*c*", b"xxaxxbxxcxx"));
        assert!(!m(b"abc", b"abcd"));
        assert!(m(b"user:?", b"user:1"));
    }
}
