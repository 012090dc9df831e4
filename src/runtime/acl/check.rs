//! Whether a user may run a command: the command (or its first argument's rule), every
//! key with the access the command needs, and the Pub/Sub channels it names. A user
//! passes if its root selector or any other selector allows the whole command.
//!
//! Key access: a command flagged `write` needs write access to its keys, any other
//! read access (Redis 7 looks at each key's own flags; a command that reads one key and
//! writes another asks write access for both here).

use shards::cmd::{index_of, subcommands, CommandSpec};
use shards::glob::glob_match;

use super::rules::{Selector, User};

/// What a selector refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Denied {
    /// The command (`name` or `name|subcommand`).
    Command(String),
    Key(Vec<u8>),
    Channel(Vec<u8>),
}

impl Denied {
    /// The error a client gets, in Redis 7.0's words.
    pub fn message(&self) -> String {
        match self {
            Denied::Command(name) => {
                format!("NOPERM this user has no permissions to run the '{name}' command")
            }
            Denied::Key(_) => {
                "NOPERM this user has no permissions to access one of the keys used as arguments"
                    .into()
            }
            Denied::Channel(_) => "NOPERM this user has no permissions to access one of the \
                channels used as arguments"
                .into(),
        }
    }

    /// ACL DRYRUN's answer.
    pub fn dryrun(&self) -> String {
        match self {
            Denied::Command(name) => {
                format!("This user has no permissions to run the '{name}' command")
            }
            Denied::Key(k) => format!(
                "This user has no permissions to access the '{}' key",
                String::from_utf8_lossy(k)
            ),
            Denied::Channel(c) => format!(
                "This user has no permissions to access the '{}' channel",
                String::from_utf8_lossy(c)
            ),
        }
    }

    /// ACL LOG's `reason` and `object`.
    pub fn reason(&self) -> &'static str {
        match self {
            Denied::Command(_) => "command",
            Denied::Key(_) => "key",
            Denied::Channel(_) => "channel",
        }
    }

    pub fn object(&self) -> String {
        match self {
            Denied::Command(name) => name.clone(),
            Denied::Key(k) | Denied::Channel(k) => String::from_utf8_lossy(k).into_owned(),
        }
    }
}

/// Checks `args` (the whole command) against the user's selectors.
pub fn check<A: AsRef<[u8]>>(user: &User, spec: &CommandSpec, args: &[A]) -> Result<(), Denied> {
    let root = allows(&user.root, spec, args);
    if root.is_ok() || user.selectors.iter().any(|s| allows(s, spec, args).is_ok()) {
        return Ok(());
    }
    root
}

fn allows<A: AsRef<[u8]>>(sel: &Selector, spec: &CommandSpec, args: &[A]) -> Result<(), Denied> {
    if !sel.allows_command(index_of(spec), args) {
        let name = subcommands::full_name(spec, args);
        return Err(Denied::Command(name.to_string()));
    }
    if !sel.all_keys {
        // Each key as the command uses it (Redis's key specifications): read access for
        // a key it reads, write access for one it changes.
        let positions: Vec<usize> = spec.key_positions(args).collect();
        let uses = shards::cmd::key_specs::key_flags(spec, args, &positions);
        for (pos, used) in positions.into_iter().zip(uses) {
            let key = args[pos].as_ref();
            let (read, write) = shards::cmd::key_specs::needs(used);
            let ok = sel
                .keys
                .iter()
                .any(|k| (!read || k.read) && (!write || k.write) && glob_match(&k.pattern, key));
            if !ok {
                return Err(Denied::Key(key.to_vec()));
            }
        }
    }
    if !sel.all_channels {
        let (channels, literal): (&[A], bool) = match spec.name {
            "publish" | "spublish" => (args.get(1..2).unwrap_or(&[]), false),
            "subscribe" | "ssubscribe" => (args.get(1..).unwrap_or(&[]), false),
            "psubscribe" => (args.get(1..).unwrap_or(&[]), true),
            _ => (&[], false),
        };
        for c in channels {
            let c = c.as_ref();
            let ok = sel
                .channels
                .iter()
                .any(|p| if literal { p == c } else { glob_match(p, c) });
            if !ok {
                return Err(Denied::Channel(c.to_vec()));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::acl::rules::{merge_selector_args, RuleError, User};
    use shards::cmd::lookup;

    fn user(rules: &[&str]) -> User {
        let mut u = User::new("u", false);
        let rules: Vec<Vec<u8>> = rules.iter().map(|r| r.as_bytes().to_vec()).collect();
        let merged = merge_selector_args(&rules).unwrap();
        u.apply_all(&merged, false).unwrap();
        u
    }

    fn run(u: &User, args: &[&str]) -> Result<(), Denied> {
        check(u, lookup(args[0].as_bytes()).unwrap(), args)
    }

    #[test]
    fn commands_categories_and_first_args() {
        let u = user(&[
            "on",
            "+@string",
            "-set",
            "+config|get",
            "+client",
            "-client|kill",
        ]);
        assert!(run(&u, &["get", "k"]).is_err()); // no keys yet
        let u = user(&[
            "on",
            "allkeys",
            "+@string",
            "-set",
            "+config|get",
            "+client",
            "-client|kill",
        ]);
        assert_eq!(run(&u, &["get", "k"]), Ok(()));
        assert_eq!(
            run(&u, &["set", "k", "v"]),
            Err(Denied::Command("set".into()))
        );
        assert_eq!(run(&u, &["config", "GET", "x"]), Ok(()));
        assert_eq!(
            run(&u, &["config", "set", "x", "y"]),
            Err(Denied::Command("config|set".into()))
        );
        assert_eq!(run(&u, &["client", "list"]), Ok(()));
        assert!(run(&u, &["client", "kill", "1"]).is_err());
        // Described as Redis 7.0 does: the category that fits best, then single
        // commands and subcommands; the description reads back as the same rules.
        let text = u.root.describe_commands();
        assert_eq!(text, "-@all +@string -set +client -client|kill +config|get");
        let words: Vec<&str> = text.split(' ').collect();
        let mut again = user(&["on", "allkeys"]);
        again
            .apply_all(
                &words
                    .iter()
                    .map(|w| w.as_bytes().to_vec())
                    .collect::<Vec<_>>(),
                false,
            )
            .unwrap();
        assert_eq!(again.root, u.root);
    }

    #[test]
    fn subcommands_have_their_own_categories() {
        let u = user(&["on", "allkeys", "+@admin"]);
        assert_eq!(run(&u, &["config", "set", "x", "y"]), Ok(()));
        assert_eq!(
            run(&u, &["config", "help"]),
            Err(Denied::Command("config|help".into()))
        );
        assert_eq!(run(&u, &["client", "kill", "1"]), Ok(()));
        assert!(run(&u, &["client", "id"]).is_err());
        // A container in a category brings all its subcommands (Redis 7.0).
        let u = user(&["on", "allkeys", "-@all", "+@slow", "-@dangerous"]);
        assert_eq!(run(&u, &["config", "help"]), Ok(()));
        assert!(run(&u, &["config", "set", "x", "y"]).is_err());
        // DEBUG has no subcommands: a first argument may be allowed, and a refusal
        // names the command.
        let u = user(&["on", "allkeys", "+debug|object"]);
        assert_eq!(run(&u, &["debug", "OBJECT", "k"]), Ok(()));
        assert_eq!(
            run(&u, &["debug", "sleep", "0"]),
            Err(Denied::Command("debug".into()))
        );
        assert_eq!(u.root.describe_commands(), "-@all +debug|object");
        let mut v = user(&["on"]);
        for (rule, err) in [
            ("-select|0", RuleError::Unknown),
            ("-debug|object", RuleError::Unknown),
            ("+config|nosuch", RuleError::Unknown),
            ("-config|nosuch", RuleError::Unknown),
            ("+config|get|x", RuleError::SubcommandFirstArg),
            ("+debug|", RuleError::Syntax),
            ("+nosuch|x", RuleError::Unknown),
        ] {
            assert_eq!(v.apply(rule.as_bytes(), false), Err(err), "{rule}");
        }
        assert!(v.apply(b"+xinfo|stream", false).is_ok());
        assert_eq!(v.root.describe_commands(), "-@all +xinfo|stream");
    }

    #[test]
    fn keys_by_access_and_channels() {
        let u = user(&["on", "+@all", "~app:*", "%R~ro:*", "&news.*"]);
        assert_eq!(run(&u, &["get", "ro:1"]), Ok(()));
        assert_eq!(
            run(&u, &["set", "ro:1", "v"]),
            Err(Denied::Key(b"ro:1".to_vec()))
        );
        assert_eq!(run(&u, &["set", "app:1", "v"]), Ok(()));
        assert_eq!(
            run(&u, &["mget", "app:1", "x"]),
            Err(Denied::Key(b"x".to_vec()))
        );
        assert_eq!(run(&u, &["publish", "news.a", "m"]), Ok(()));
        assert_eq!(
            run(&u, &["publish", "x", "m"]),
            Err(Denied::Channel(b"x".to_vec()))
        );
        assert_eq!(run(&u, &["psubscribe", "news.*"]), Ok(()));
        assert!(run(&u, &["psubscribe", "news.a*"]).is_err());
        assert_eq!(u.root.describe_keys(), "~app:* %R~ro:*");
    }

    #[test]
    fn selectors_allow_what_the_root_does_not() {
        let u = user(&["on", "+get", "~a*", "(+set", "~b*)"]);
        assert_eq!(run(&u, &["get", "a1"]), Ok(()));
        assert_eq!(run(&u, &["set", "b1", "v"]), Ok(()));
        // The root's refusal is the one reported.
        assert_eq!(
            run(&u, &["set", "a1", "v"]),
            Err(Denied::Command("set".into()))
        );
        assert_eq!(
            u.describe(),
            "on ~a* resetchannels -@all +get (~b* resetchannels -@all +set)"
        );
    }

    #[test]
    fn passwords_and_descriptions_follow_redis() {
        let mut u = user(&["on", ">pw", "~*", "&*", "+@all"]);
        assert!(u.accepts(b"pw") && !u.accepts(b"no"));
        assert_eq!(
            u.describe(),
            "on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~* &* +@all"
        );
        assert!(u.apply(b"<nope", false).is_err());
        u.apply(b"<pw", false).unwrap();
        assert!(!u.accepts(b"pw"));
        u.apply(b"nopass", false).unwrap();
        assert!(u.accepts(b"anything"));
        assert!(User::default_user().unrestricted());
        assert!(u.apply(b"+@all", false).is_ok() && u.unrestricted());
        u.apply(b"-debug", false).unwrap();
        assert!(!u.unrestricted());
        assert_eq!(u.root.describe_commands(), "+@all -debug");
        let mut v = user(&["+@all", "-@all", "+@read", "-@write"]);
        assert_eq!(v.root.describe_commands(), "-@all +@read");
        v.apply(b"reset", false).unwrap();
        assert_eq!(v.describe(), "off sanitize-payload resetchannels -@all");
    }
}
