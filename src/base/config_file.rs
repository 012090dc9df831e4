//! The configuration file: `corecache /etc/corecache.conf [--flag value ...]`, as
//! `redis-server /etc/redis/redis.conf --port 7000`. Each line is a directive with its
//! arguments under Redis's name, which is also the flag's name (`maxmemory 2gb` is
//! `--maxmemory 2gb`); `#` starts a comment. The file's directives become flags placed
//! before the command line's, so a flag given on the command line wins, as in Redis.
//! Several `save` lines add their points (`save ""` clears them), as in Redis.
//! `include <path>` reads another file in its place (relative paths from the working
//! directory, as Redis; at most 16 deep). A redis.conf directive corecache does not
//! have is reported and skipped, so a redis.conf with settings corecache lacks still
//! starts it; a name that is no Redis directive either is an error naming the file
//! and line. The file's path is kept for CONFIG REWRITE.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::OnceLock;

use clap::CommandFactory;

use crate::base::config::Config;

/// `args` (the process's arguments) with a leading configuration file replaced by the
/// flags it stands for; and the warnings about directives it skipped.
pub fn expand(args: Vec<OsString>) -> Result<(Vec<OsString>, Vec<String>), String> {
    let Some(first) = args.get(1).and_then(|a| a.to_str()) else {
        return Ok((args, Vec::new()));
    };
    if first.starts_with('-') {
        return Ok((args, Vec::new()));
    }
    let path = first.to_string();
    let mut lines = Vec::new();
    gather(&path, 0, &mut lines)?;
    let (flags, warnings) = flags_of(&lines, &known_flags())?;
    let absolute = std::fs::canonicalize(&path).unwrap_or_else(|_| PathBuf::from(&path));
    let _ = CONFIG_FILE.set(absolute);
    let mut out = vec![args[0].clone()];
    out.extend(flags.into_iter().map(OsString::from));
    out.extend(args.into_iter().skip(2));
    Ok((out, warnings))
}

static CONFIG_FILE: OnceLock<PathBuf> = OnceLock::new();

/// The configuration file the server started with, if any (CONFIG REWRITE's target).
pub fn config_file() -> Option<&'static PathBuf> {
    CONFIG_FILE.get()
}

/// How deep `include` may nest.
const MAX_INCLUDE_DEPTH: usize = 16;

/// One line of a configuration file: its file, its number, its text.
struct Line {
    path: String,
    number: usize,
    text: String,
}

impl Line {
    fn error(&self, why: &str) -> String {
        format!(
            "corecache: {}, line {}: {why}: {}",
            self.path,
            self.number,
            self.text.trim()
        )
    }
}

/// The lines of the file at `path`, with `include`d files' lines in their place.
fn gather(path: &str, depth: usize, out: &mut Vec<Line>) -> Result<(), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("corecache: cannot read the configuration file {path}: {e}"))?;
    for (n, text) in text.lines().enumerate() {
        let line = Line {
            path: path.to_string(),
            number: n + 1,
            text: text.to_string(),
        };
        let words = shards::words::split(text.trim()).unwrap_or_default();
        if words
            .first()
            .is_some_and(|w| w.eq_ignore_ascii_case("include"))
        {
            let [_, inner] = words.as_slice() else {
                return Err(line.error("include takes one path"));
            };
            if depth >= MAX_INCLUDE_DEPTH {
                return Err(line.error("includes nest too deep"));
            }
            gather(inner, depth + 1, out)
                .map_err(|e| format!("{e} (included from {path}:{})", n + 1))?;
            continue;
        }
        out.push(line);
    }
    Ok(())
}

/// Every flag's long name and aliases, and whether it takes a value.
fn known_flags() -> HashMap<String, bool> {
    let mut names = HashMap::new();
    for a in Config::command().get_arguments() {
        let takes = a.get_action().takes_values();
        if let Some(l) = a.get_long() {
            names.insert(l.to_string(), takes);
        }
        for alias in a.get_all_aliases().unwrap_or_default() {
            names.insert(alias.to_string(), takes);
        }
    }
    names
}

/// The flags the files' lines stand for.
fn flags_of(
    lines: &[Line],
    known: &HashMap<String, bool>,
) -> Result<(Vec<String>, Vec<String>), String> {
    let mut flags = Vec::new();
    let mut warnings = Vec::new();
    let mut save: Option<Vec<String>> = None;
    // Each line sets one class; together they are one value.
    let mut limits: Vec<String> = Vec::new();
    for l in lines {
        let line = l.text.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |why: &str| l.error(why);
        let words = shards::words::split(line).ok_or_else(|| bad("unbalanced quotes"))?;
        let name = words[0].to_ascii_lowercase();
        let values = &words[1..];
        if name == "client-output-buffer-limit" {
            limits.extend(values.iter().cloned());
            continue;
        }
        if name == "save" {
            let points = save.get_or_insert_with(Vec::new);
            if values.iter().all(|v| v.is_empty()) {
                points.clear();
            } else {
                points.extend(values.iter().cloned());
            }
            continue;
        }
        match known.get(&name) {
            None if shards::config::EngineConfig::knows(&name) => match values {
                [v] => {
                    flags.push("--engine-setting".into());
                    flags.push(format!("{name}={v}"));
                }
                _ => return Err(bad("expects one value")),
            },
            None if crate::base::redis_directives::is_redis_directive(&name) => {
                warnings.push(format!(
                    "{}, line {}: '{name}' is not a corecache setting; skipped",
                    l.path, l.number
                ))
            }
            None => return Err(bad(&format!("unknown directive '{name}'"))),
            Some(false) => match values {
                [v] if v.eq_ignore_ascii_case("yes") => flags.push(format!("--{name}")),
                [v] if v.eq_ignore_ascii_case("no") => {}
                _ => return Err(bad("expects yes or no")),
            },
            Some(true) => {
                let value = match (name.as_str(), values) {
                    (_, []) => return Err(bad("wrong number of arguments")),
                    // Redis binds every address listed; corecache binds the first.
                    ("bind", [first, ..]) => first.clone(),
                    (_, vs) => vs.join(" "),
                };
                flags.push(format!("--{name}"));
                flags.push(value);
            }
        }
    }
    if !limits.is_empty() {
        flags.push("--client-output-buffer-limit".into());
        flags.push(limits.join(" "));
    }
    if let Some(points) = save {
        flags.push("--save".into());
        flags.push(points.join(" "));
    }
    Ok((flags, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(text: &str) -> Result<(Vec<String>, Vec<String>), String> {
        let lines: Vec<Line> = text
            .lines()
            .enumerate()
            .map(|(n, t)| Line {
                path: "test.conf".into(),
                number: n + 1,
                text: t.into(),
            })
            .collect();
        flags_of(&lines, &known_flags())
    }

    #[test]
    fn directives_become_flags_and_save_lines_add_up() {
        let (f, w) = flags(
            "# a comment\nport 7000\nmaxmemory 2gb\nsave 900 1\nsave 300 10\n\
             appendonly yes\ndir \"/var/lib/a b\"\nno-pin yes\ntcp-backlog 511\n",
        )
        .unwrap();
        assert_eq!(
            f,
            [
                "--port",
                "7000",
                "--maxmemory",
                "2gb",
                "--appendonly",
                "yes",
                "--dir",
                "/var/lib/a b",
                "--no-pin",
                "--save",
                "900 1 300 10"
            ]
        );
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("tcp-backlog"), "{w:?}");
        let (f, _) = flags("save 900 1\nsave \"\"\n").unwrap();
        assert_eq!(f, ["--save", ""]);
    }

    #[test]
    fn metrics_directives_become_flags() {
        use clap::Parser;
        let (f, w) = flags("metrics-port 9121\nmetrics-bind 0.0.0.0\n").unwrap();
        assert_eq!(f, ["--metrics-port", "9121", "--metrics-bind", "0.0.0.0"]);
        assert!(w.is_empty(), "{w:?}");
        let mut args = vec!["corecache".to_string()];
        args.extend(f);
        let c = Config::try_parse_from(args).unwrap();
        assert_eq!(c.metrics_port, 9121);
        assert_eq!(c.metrics_bind.as_deref(), Some("0.0.0.0"));
        let c = Config::try_parse_from(["corecache"]).unwrap();
        assert_eq!((c.metrics_port, c.metrics_bind), (0, None));
    }

    #[test]
    fn bad_lines_name_the_file_and_line() {
        let e = flags("port\n").unwrap_err();
        assert!(e.contains("line 1"), "{e}");
        let e = flags("port 1\ndir \"open\n").unwrap_err();
        assert!(e.contains("line 2") && e.contains("quotes"), "{e}");
        let e = flags("port 1\n\nmaxmemroy 1gb\n").unwrap_err();
        assert!(
            e.contains("line 3") && e.contains("unknown directive 'maxmemroy'"),
            "{e}"
        );
    }

    #[test]
    fn includes_read_other_files_in_place() {
        let dir = std::env::temp_dir().join(format!("corecache-inc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let inner = dir.join("inner.conf");
        let outer = dir.join("outer.conf");
        std::fs::write(&inner, "maxmemory 5mb\nhz 20\n").unwrap();
        std::fs::write(
            &outer,
            format!("port 7000\ninclude {}\nhz 30\n", inner.display()),
        )
        .unwrap();
        let mut lines = Vec::new();
        gather(outer.to_str().unwrap(), 0, &mut lines).unwrap();
        let (f, _) = flags_of(&lines, &known_flags()).unwrap();
        assert_eq!(
            f,
            [
                "--port",
                "7000",
                "--maxmemory",
                "5mb",
                "--hz",
                "20",
                "--hz",
                "30"
            ]
        );
        // A file including itself stops at the depth limit with an error.
        std::fs::write(&outer, format!("include {}\n", outer.display())).unwrap();
        let mut lines = Vec::new();
        let e = gather(outer.to_str().unwrap(), 0, &mut lines)
            .err()
            .unwrap();
        assert!(e.contains("nest too deep"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_command_line_wins_over_the_file() {
        use clap::Parser;
        let dir = std::env::temp_dir().join(format!("corecache-conf-{}", std::process::id()));
        std::fs::write(&dir, "port 7000\nmaxmemory 10mb\n").unwrap();
        let args: Vec<OsString> = ["corecache", dir.to_str().unwrap(), "--port", "7001"]
            .iter()
            .map(OsString::from)
            .collect();
        let (args, _) = expand(args).unwrap();
        let _ = std::fs::remove_file(&dir);
        let c = Config::try_parse_from(args).unwrap();
        assert_eq!(c.port, 7001);
        assert_eq!(c.maxmemory, 10 * 1024 * 1024);
    }
}
