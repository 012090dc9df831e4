//! The configuration file: `corecache /etc/corecache.conf [--flag value ...]`, as
//! `redis-server /etc/redis/redis.conf --port 7000`. Each line is a directive with its
//! arguments under Redis's name, which is also the flag's name (`maxmemory 2gb` is
//! `--maxmemory 2gb`); `#` starts a comment. The file's directives become flags placed
//! before the command line's, so a flag given on the command line wins, as in Redis.
//! Several `save` lines add their points (`save ""` clears them), as in Redis. A
//! directive corecache does not know is reported and skipped, so a redis.conf with
//! settings corecache lacks still starts it.

use std::collections::HashMap;
use std::ffi::OsString;

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
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("corecache: cannot read the configuration file {path}: {e}"))?;
    let (flags, warnings) = flags_of(&text, &path, &known_flags())?;
    let mut out = vec![args[0].clone()];
    out.extend(flags.into_iter().map(OsString::from));
    out.extend(args.into_iter().skip(2));
    Ok((out, warnings))
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

/// The flags the file's text stands for.
fn flags_of(
    text: &str,
    path: &str,
    known: &HashMap<String, bool>,
) -> Result<(Vec<String>, Vec<String>), String> {
    let mut flags = Vec::new();
    let mut warnings = Vec::new();
    let mut save: Option<Vec<String>> = None;
    // Each line sets one class; together they are one value.
    let mut limits: Vec<String> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |why: &str| format!("corecache: {path}, line {}: {why}: {line}", n + 1);
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
            None => warnings.push(format!(
                "{path}, line {}: '{name}' is not a corecache setting; skipped",
                n + 1
            )),
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
        flags_of(text, "test.conf", &known_flags())
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
