//! ACL users in Redis 7's rule language, as plain data: parsing rules (`ACL SETUSER`,
//! `user` lines of an ACL file), describing a user back (`ACL LIST`, `ACL GETUSER`),
//! and the passwords. What a user may run is `check.rs`.
//!
//! A user has a root selector and any number of extra selectors; each selector says
//! which commands (a flag per row of the command table, plus first-argument rules such
//! as `+config|get`), which keys (glob patterns with read and/or write access) and which
//! Pub/Sub channels it allows.

use sha2::{Digest, Sha256};
use shards::cmd::{subcommands, COMMANDS};

/// Redis 7's ACL categories, in ACL CAT's order.
pub const CATEGORIES: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// Why a rule was refused, in Redis's words (after "Error in ACL SETUSER modifier").
#[derive(Debug, Clone, PartialEq)]
pub enum RuleError {
    Syntax,
    Unknown,
    KeysAfterAll,
    ChannelsAfterAll,
    NoSuchPassword,
    BadHash,
    Unbalanced(String),
    SubcommandFirstArg,
}

impl RuleError {
    pub fn text(&self) -> String {
        match self {
            RuleError::Syntax => "Syntax error".into(),
            RuleError::Unknown => "Unknown command or category name in ACL".into(),
            RuleError::KeysAfterAll => "Adding a pattern after the * pattern (or the 'allkeys' \
                flag) is not valid and does not have any effect. Try 'resetkeys' to start with \
                an empty list of patterns"
                .into(),
            RuleError::ChannelsAfterAll => "Adding a pattern after the * pattern (or the \
                'allchannels' flag) is not valid and does not have any effect. Try \
                'resetchannels' to start with an empty list of channels"
                .into(),
            RuleError::NoSuchPassword => {
                "The password you are trying to remove from the user does not exist".into()
            }
            RuleError::BadHash => "The password hash must be exactly 64 characters and contain \
                only lowercase hexadecimal characters"
                .into(),
            RuleError::SubcommandFirstArg => {
                "Allowing first-arg of a subcommand is not supported".into()
            }
            RuleError::Unbalanced(at) => {
                format!("Unmatched parenthesis in acl selector starting at '{at}'.")
            }
        }
    }
}

/// A key pattern and the access it gives.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyPattern {
    pub pattern: Vec<u8>,
    pub read: bool,
    pub write: bool,
}

/// Which commands, keys and channels one selector allows.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    /// One flag per command id (rows of `COMMANDS`, then subcommands).
    pub allowed: Vec<bool>,
    /// Set by `+@all`: commands added later would be allowed too.
    pub all_commands: bool,
    /// First arguments allowed of a command that is otherwise not (`+select|0`), in
    /// order: (row, lower-case argument). Containers take subcommands instead.
    pub first_args: Vec<(usize, Vec<u8>)>,
    pub all_keys: bool,
    pub keys: Vec<KeyPattern>,
    pub all_channels: bool,
    pub channels: Vec<Vec<u8>>,
}

impl Selector {
    /// Nothing allowed.
    pub fn empty() -> Selector {
        Selector {
            allowed: vec![false; subcommands::id_count()],
            all_commands: false,
            first_args: Vec::new(),
            all_keys: false,
            keys: Vec::new(),
            all_channels: false,
            channels: Vec::new(),
        }
    }

    /// Applies one selector rule (keys, channels, commands).
    pub fn apply(&mut self, op: &[u8]) -> Result<(), RuleError> {
        let lower = op.to_ascii_lowercase();
        match &lower[..] {
            b"allkeys" => return self.add_keys(b"*", true, true),
            b"resetkeys" => {
                self.all_keys = false;
                self.keys.clear();
                return Ok(());
            }
            b"allchannels" => return self.add_channel(b"*"),
            b"resetchannels" => {
                self.all_channels = false;
                self.channels.clear();
                return Ok(());
            }
            b"allcommands" => return self.apply(b"+@all"),
            b"nocommands" => return self.apply(b"-@all"),
            _ => {}
        }
        match op.first() {
            Some(b'~') => self.add_keys(&op[1..], true, true),
            Some(b'%') => {
                let tilde = op
                    .iter()
                    .position(|&b| b == b'~')
                    .ok_or(RuleError::Syntax)?;
                let (mut read, mut write) = (false, false);
                for &f in &op[1..tilde] {
                    match f.to_ascii_uppercase() {
                        b'R' => read = true,
                        b'W' => write = true,
                        _ => return Err(RuleError::Syntax),
                    }
                }
                if !read && !write {
                    return Err(RuleError::Syntax);
                }
                self.add_keys(&op[tilde + 1..], read, write)
            }
            Some(b'&') => self.add_channel(&op[1..]),
            Some(&sign @ (b'+' | b'-')) => self.command_rule(&lower[1..], sign == b'+'),
            _ => Err(RuleError::Syntax),
        }
    }

    fn add_keys(&mut self, pattern: &[u8], read: bool, write: bool) -> Result<(), RuleError> {
        if self.all_keys {
            return Err(RuleError::KeysAfterAll);
        }
        if pattern == b"*" && read && write {
            self.all_keys = true;
            self.keys.clear();
            return Ok(());
        }
        match self.keys.iter_mut().find(|k| k.pattern == pattern) {
            Some(k) => {
                k.read |= read;
                k.write |= write;
            }
            None => self.keys.push(KeyPattern {
                pattern: pattern.to_vec(),
                read,
                write,
            }),
        }
        Ok(())
    }

    fn add_channel(&mut self, pattern: &[u8]) -> Result<(), RuleError> {
        if self.all_channels {
            return Err(RuleError::ChannelsAfterAll);
        }
        if pattern == b"*" {
            self.all_channels = true;
            self.channels.clear();
        } else if !self.channels.iter().any(|c| c == pattern) {
            self.channels.push(pattern.to_vec());
        }
        Ok(())
    }

    /// `+name`, `-name`, `+@category`, `-@category`, `+name|sub`, `-name|sub` and
    /// `+name|first-arg` (lower case), as Redis 7.0 reads them.
    fn command_rule(&mut self, what: &[u8], allow: bool) -> Result<(), RuleError> {
        if let Some(cat) = what.strip_prefix(b"@") {
            if cat == b"all" {
                self.allowed.iter_mut().for_each(|a| *a = allow);
                self.all_commands = allow;
                self.first_args.clear();
                return Ok(());
            }
            let cat = std::str::from_utf8(cat).map_err(|_| RuleError::Unknown)?;
            return self.category(cat, allow);
        }
        let Some(bar) = what.iter().rposition(|&b| b == b'|') else {
            let id = subcommands::lookup_id(what).ok_or(RuleError::Unknown)?;
            self.change(id, allow);
            return Ok(());
        };
        if !allow {
            // Only a real subcommand can be taken away.
            let id = subcommands::lookup_id(what).ok_or(RuleError::Unknown)?;
            self.change(id, false);
            return Ok(());
        }
        let (name, arg) = (&what[..bar], &what[bar + 1..]);
        let base = subcommands::lookup_id(name).ok_or(RuleError::Unknown)?;
        if base >= COMMANDS.len() {
            return Err(RuleError::SubcommandFirstArg);
        }
        if arg.is_empty() {
            return Err(RuleError::Syntax);
        }
        if subcommands::has_subcommands(base) {
            let id = subcommands::id_of(base, arg).ok_or(RuleError::Unknown)?;
            self.change(id, true);
        } else if !self.first_args.iter().any(|(r, a)| *r == base && a == arg) {
            self.first_args.push((base, arg.to_vec()));
        }
        Ok(())
    }

    /// Allows or refuses one command id; a container's subcommands go with it.
    fn change(&mut self, id: usize, allow: bool) {
        self.allowed[id] = allow;
        if id < COMMANDS.len() {
            self.first_args.retain(|(r, _)| *r != id);
            for sub in subcommands::ids_of(id) {
                self.allowed[sub] = allow;
            }
        }
    }

    /// `+@cat` / `-@cat`: every command and subcommand in the category.
    fn category(&mut self, cat: &str, allow: bool) -> Result<(), RuleError> {
        for id in category_ids(cat).ok_or(RuleError::Unknown)? {
            self.change(id, allow);
        }
        Ok(())
    }

    /// Whether the command of row `row` is allowed, called with `args` (the whole
    /// command: a container's subcommand or a first-argument rule may decide).
    pub fn allows_command<A: AsRef<[u8]>>(&self, row: usize, args: &[A]) -> bool {
        let spec = &COMMANDS[row];
        if let Some(id) = subcommands::called(spec, args) {
            return self.allowed[id];
        }
        self.allowed[row]
            || args.get(1).is_some_and(|arg| {
                let arg = arg.as_ref();
                self.first_args
                    .iter()
                    .any(|(r, a)| *r == row && a.eq_ignore_ascii_case(arg))
            })
    }

    /// The command rules as Redis 7.0 describes them: `+@all` or `-@all`, then, one
    /// at a time, the category that best fits what is left to say (more of its commands
    /// agree than differ, fewest differences), then single commands and subcommands,
    /// then first-argument rules. They read back as the same selector.
    pub fn describe_commands(&self) -> String {
        let additive = !self.all_commands;
        let mut out = vec![if additive { "-@all" } else { "+@all" }.to_string()];
        let mut fake = Selector::empty();
        fake.command_rule(b"@all", !additive).ok();
        let mut temp = Selector::empty();
        temp.allowed = self.allowed.clone();
        let mut applied = [false; CATEGORIES.len()];
        loop {
            let mut best = None;
            let (mut min_diff, mut max_same) = (usize::MAX, 0);
            for (j, cat) in CATEGORIES.iter().enumerate() {
                if applied[j] {
                    continue;
                }
                let ids = category_ids(cat).unwrap_or_default();
                let on = ids.iter().filter(|&&id| temp.allowed[id]).count();
                let off = ids.len() - on;
                let (diff, same) = if additive { (off, on) } else { (on, off) };
                if same > diff && (diff < min_diff || (diff == min_diff && same > max_same)) {
                    best = Some(j);
                    min_diff = diff;
                    max_same = same;
                }
            }
            let Some(j) = best else { break };
            let cat = CATEGORIES[j];
            fake.category(cat, additive).ok();
            temp.category(cat, !additive).ok();
            out.push(format!("{}@{cat}", if additive { '+' } else { '-' }));
            applied[j] = true;
        }
        for (row, spec) in COMMANDS.iter().enumerate() {
            for id in std::iter::once(row).chain(subcommands::ids_of(row)) {
                if self.allowed[id] != fake.allowed[id] {
                    let sign = if self.allowed[id] { '+' } else { '-' };
                    out.push(format!("{sign}{}", subcommands::name(id)));
                    fake.change(id, self.allowed[id]);
                }
            }
            if !self.allowed[row] {
                for (_, arg) in self.first_args.iter().filter(|(r, _)| *r == row) {
                    out.push(format!("+{}|{}", spec.name, String::from_utf8_lossy(arg)));
                }
            }
        }
        out.join(" ")
    }

    /// Key patterns as `~p`, `%R~p`, `%W~p` (`~*` for all keys).
    pub fn describe_keys(&self) -> String {
        if self.all_keys {
            return "~*".into();
        }
        self.keys
            .iter()
            .map(|k| {
                let prefix = match (k.read, k.write) {
                    (true, true) => "~",
                    (true, false) => "%R~",
                    _ => "%W~",
                };
                format!("{prefix}{}", String::from_utf8_lossy(&k.pattern))
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Channel patterns as `&p` (`&*` for all channels).
    pub fn describe_channels(&self) -> String {
        if self.all_channels {
            return "&*".into();
        }
        self.channels
            .iter()
            .map(|c| format!("&{}", String::from_utf8_lossy(c)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The selector as ACL LIST shows it.
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        let keys = self.describe_keys();
        if !keys.is_empty() {
            parts.push(keys);
        }
        if !self.all_channels {
            parts.push("resetchannels".into());
        }
        let channels = self.describe_channels();
        if !channels.is_empty() {
            parts.push(channels);
        }
        parts.push(self.describe_commands());
        parts.join(" ")
    }
}

/// The command ids (commands and subcommands) in a category, in Redis's walk order
/// (`None`: no such category).
pub fn category_ids(cat: &str) -> Option<Vec<usize>> {
    let cat = cat.to_ascii_lowercase();
    if !CATEGORIES.contains(&cat.as_str()) {
        return None;
    }
    let tag = format!("@{cat}");
    Some(
        subcommands::walk()
            .filter(|&id| subcommands::in_category(id, &tag))
            .collect(),
    )
}

/// A user: whether it may log in, its passwords, and its selectors.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub name: String,
    pub enabled: bool,
    pub nopass: bool,
    /// SHA-256 of each password, in the order they were added.
    pub passwords: Vec<[u8; 32]>,
    /// `sanitize-payload` / `skip-sanitize-payload`, when given.
    pub sanitize: Option<bool>,
    pub root: Selector,
    pub selectors: Vec<Selector>,
    /// Whether it may do anything at all (kept by `sealed`): the command path skips
    /// every check for it.
    pub open: bool,
}

pub fn hash_password(pass: &[u8]) -> [u8; 32] {
    Sha256::digest(pass).into()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_hash(text: &[u8]) -> Result<[u8; 32], RuleError> {
    if text.len() != 64 || !text.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(RuleError::BadHash);
    }
    let mut out = [0u8; 32];
    for (i, pair) in text.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).map_err(|_| RuleError::BadHash)?;
        out[i] = u8::from_str_radix(s, 16).map_err(|_| RuleError::BadHash)?;
    }
    Ok(out)
}

impl User {
    /// A new user as `ACL SETUSER name` makes it: off, no password, no commands, no
    /// keys, channels as `acl-pubsub-default` says.
    pub fn new(name: &str, all_channels: bool) -> User {
        let mut root = Selector::empty();
        root.all_channels = all_channels;
        User {
            name: name.to_string(),
            enabled: false,
            nopass: false,
            passwords: Vec::new(),
            sanitize: None,
            root,
            selectors: Vec::new(),
            open: false,
        }
    }

    /// The user as the table keeps it, `open` worked out.
    pub fn sealed(mut self) -> std::sync::Arc<User> {
        self.open = self.unrestricted();
        std::sync::Arc::new(self)
    }

    /// The `default` user of a server without ACLs: everything, no password.
    pub fn default_user() -> User {
        let mut u = User::new("default", true);
        u.enabled = true;
        u.nopass = true;
        u.root.all_keys = true;
        u.root.apply(b"+@all").expect("+@all");
        u.open = true;
        u
    }

    /// Whether the user may do anything at all (the fast path skips every check).
    pub fn unrestricted(&self) -> bool {
        let r = &self.root;
        r.all_commands && r.all_keys && r.all_channels && r.allowed.iter().all(|&a| a)
    }

    /// Whether `pass` logs in as this user.
    pub fn accepts(&self, pass: &[u8]) -> bool {
        self.enabled && (self.nopass || self.passwords.contains(&hash_password(pass)))
    }

    /// Applies rules in order (ACL SETUSER's arguments, already merged into selectors).
    pub fn apply_all(
        &mut self,
        rules: &[Vec<u8>],
        all_channels_default: bool,
    ) -> Result<(), (Vec<u8>, RuleError)> {
        for r in rules {
            self.apply(r, all_channels_default)
                .map_err(|e| (r.clone(), e))?;
        }
        Ok(())
    }

    /// Applies one rule.
    pub fn apply(&mut self, op: &[u8], all_channels_default: bool) -> Result<(), RuleError> {
        let lower = op.to_ascii_lowercase();
        match &lower[..] {
            b"on" => self.enabled = true,
            b"off" => self.enabled = false,
            b"nopass" => {
                self.nopass = true;
                self.passwords.clear();
            }
            b"resetpass" => {
                self.nopass = false;
                self.passwords.clear();
            }
            b"skip-sanitize-payload" => self.sanitize = Some(false),
            b"sanitize-payload" => self.sanitize = Some(true),
            b"clearselectors" => self.selectors.clear(),
            b"reset" => {
                let name = std::mem::take(&mut self.name);
                *self = User::new(&name, all_channels_default);
                self.sanitize = Some(true);
            }
            _ => match op.first() {
                Some(b'>') => {
                    let h = hash_password(&op[1..]);
                    if !self.passwords.contains(&h) {
                        self.passwords.push(h);
                    }
                    self.nopass = false;
                }
                Some(b'#') => {
                    let h = parse_hash(&op[1..])?;
                    if !self.passwords.contains(&h) {
                        self.passwords.push(h);
                    }
                    self.nopass = false;
                }
                Some(b'<') => self.remove_password(hash_password(&op[1..]))?,
                Some(b'!') => self.remove_password(parse_hash(&op[1..])?)?,
                Some(b'(') => {
                    let inner = op
                        .strip_prefix(b"(")
                        .and_then(|o| o.strip_suffix(b")"))
                        .ok_or(RuleError::Syntax)?;
                    let mut sel = Selector::empty();
                    sel.all_channels = all_channels_default;
                    for word in inner.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
                        sel.apply(word)?;
                    }
                    self.selectors.push(sel);
                }
                _ => self.root.apply(op)?,
            },
        }
        Ok(())
    }

    fn remove_password(&mut self, h: [u8; 32]) -> Result<(), RuleError> {
        let before = self.passwords.len();
        self.passwords.retain(|p| *p != h);
        if self.passwords.len() == before {
            return Err(RuleError::NoSuchPassword);
        }
        Ok(())
    }

    /// The flags GETUSER lists.
    pub fn flags(&self) -> Vec<&'static str> {
        let mut f = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            f.push("nopass");
        }
        match self.sanitize {
            Some(false) => f.push("skip-sanitize-payload"),
            Some(true) => f.push("sanitize-payload"),
            None => {}
        }
        f
    }

    /// The rules after `user <name>` in ACL LIST and an ACL file.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self.flags().iter().map(|s| s.to_string()).collect();
        parts.extend(self.passwords.iter().map(|p| format!("#{}", hex(p))));
        parts.push(self.root.describe());
        parts.extend(self.selectors.iter().map(|s| format!("({})", s.describe())));
        parts.join(" ")
    }
}

/// Joins ACL SETUSER arguments that a selector spreads over (`(~x` `+get)`), as Redis
/// does; a selector left open is an error naming where it starts.
pub fn merge_selector_args(args: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, (Vec<u8>, RuleError)> {
    let mut out = Vec::new();
    let mut open: Option<Vec<u8>> = None;
    for a in args {
        match open.as_mut() {
            Some(sel) => {
                sel.push(b' ');
                sel.extend_from_slice(a);
                if a.ends_with(b")") {
                    out.push(open.take().unwrap_or_default());
                }
            }
            None if a.starts_with(b"(") && !a.ends_with(b")") => open = Some(a.clone()),
            None => out.push(a.clone()),
        }
    }
    if let Some(sel) = open {
        let at = String::from_utf8_lossy(&sel).into_owned();
        return Err((sel, RuleError::Unbalanced(at)));
    }
    Ok(out)
}
