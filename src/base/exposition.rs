//! Prometheus's text exposition format, version 0.0.4: metric families with their
//! `# HELP` and `# TYPE` lines, samples with escaped label values, and histograms as
//! cumulative `_bucket` samples with `_sum` and `_count`. Only the writing: what the
//! families hold is `commands/metrics.rs`'s.

use std::fmt::{Display, Write};

/// The Content-Type of the format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// A sample's value as the format writes it.
pub enum Number {
    Int(i64),
    Uint(u64),
    Float(f64),
}

impl From<u64> for Number {
    fn from(v: u64) -> Self {
        Number::Uint(v)
    }
}

impl From<usize> for Number {
    fn from(v: usize) -> Self {
        Number::Uint(v as u64)
    }
}

impl From<i64> for Number {
    fn from(v: i64) -> Self {
        Number::Int(v)
    }
}

impl From<f64> for Number {
    fn from(v: f64) -> Self {
        Number::Float(v)
    }
}

impl Display for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Number::Int(v) => write!(f, "{v}"),
            Number::Uint(v) => write!(f, "{v}"),
            Number::Float(v) if v.is_nan() => f.write_str("NaN"),
            Number::Float(v) if v.is_infinite() => {
                f.write_str(if *v > 0.0 { "+Inf" } else { "-Inf" })
            }
            // Rust writes floats in plain decimal, never with an exponent.
            Number::Float(v) => write!(f, "{v}"),
        }
    }
}

/// The text of one scrape, family after family.
#[derive(Default)]
pub struct Exposition {
    out: String,
    /// The current family's name (samples are named after it).
    family: String,
}

impl Exposition {
    pub fn new() -> Self {
        Exposition::default()
    }

    /// Starts a family; its samples follow, before the next family starts. A counter's
    /// name ends in `_total`, as its samples' names do.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        self.family.clear();
        self.family.push_str(name);
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {}", kind.name());
    }

    /// A sample of the current family.
    pub fn sample(&mut self, labels: &[(&str, &str)], value: impl Into<Number>) {
        self.line("", labels, None, value.into());
    }

    /// A histogram of the current family: `buckets` are the upper bounds (as written in
    /// `le`) with the count of observations at or below each, cumulative; `+Inf` (all
    /// `count` observations) is added.
    pub fn histogram(
        &mut self,
        labels: &[(&str, &str)],
        buckets: &[(&str, u64)],
        count: u64,
        sum: f64,
    ) {
        for (le, n) in buckets {
            self.line("_bucket", labels, Some(le), Number::Uint(*n));
        }
        self.line("_bucket", labels, Some("+Inf"), Number::Uint(count));
        self.line("_sum", labels, None, Number::Float(sum));
        self.line("_count", labels, None, Number::Uint(count));
    }

    fn line(&mut self, suffix: &str, labels: &[(&str, &str)], le: Option<&str>, value: Number) {
        let out = &mut self.out;
        out.push_str(&self.family);
        out.push_str(suffix);
        let all = labels.iter().copied().chain(le.map(|le| ("le", le)));
        for (i, (name, v)) in all.enumerate() {
            out.push(if i == 0 { '{' } else { ',' });
            let _ = write!(out, "{name}=\"{}\"", escape_label(v));
        }
        if !labels.is_empty() || le.is_some() {
            out.push('}');
        }
        let _ = writeln!(out, " {value}");
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// A label value as the format quotes it: backslash, double quote and line feed
/// escaped.
pub fn escape_label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// A HELP text: backslash and line feed escaped.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_and_help_are_escaped() {
        assert_eq!(escape_label(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape_label("x\ny"), "x\\ny");
        assert_eq!(escape_help("a\\b\nc \"q\""), "a\\\\b\\nc \"q\"");
    }

    #[test]
    fn families_samples_and_histograms() {
        let mut e = Exposition::new();
        e.family("x_total", Kind::Counter, "Things.");
        e.sample(&[], 3u64);
        e.sample(&[("shard", "0"), ("db", "1")], -2i64);
        e.family("d_seconds", Kind::Histogram, "Time.");
        e.histogram(&[("cmd", "get")], &[("0.001", 1), ("0.002", 4)], 5, 0.25);
        assert_eq!(
            e.finish(),
            "# HELP x_total Things.\n# TYPE x_total counter\nx_total 3\n\
             x_total{shard=\"0\",db=\"1\"} -2\n\
             # HELP d_seconds Time.\n# TYPE d_seconds histogram\n\
             d_seconds_bucket{cmd=\"get\",le=\"0.001\"} 1\n\
             d_seconds_bucket{cmd=\"get\",le=\"0.002\"} 4\n\
             d_seconds_bucket{cmd=\"get\",le=\"+Inf\"} 5\n\
             d_seconds_sum{cmd=\"get\"} 0.25\nd_seconds_count{cmd=\"get\"} 5\n"
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(Number::Float(1e-6).to_string(), "0.000001");
        assert_eq!(Number::Float(f64::INFINITY).to_string(), "+Inf");
        assert_eq!(Number::Float(f64::NAN).to_string(), "NaN");
        assert_eq!(Number::Float(3.0).to_string(), "3");
    }
}
