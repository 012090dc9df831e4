//! The tips of Redis 7's commands for COMMAND INFO (`request_policy:multi_shard`,
//! `nondeterministic_output` ...), from `tips.txt` (written by
//! `scripts/gen_command_tips.py` from redis-server 7's COMMAND: facts about Redis's
//! commands).

use std::collections::HashMap;
use std::sync::LazyLock;

static TIPS: LazyLock<HashMap<&'static str, Vec<&'static str>>> = LazyLock::new(|| {
    include_str!("tips.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .map(|(name, tips)| (name, tips.split(',').collect()))
        .collect()
});

/// The tips of a command (`keys`) or subcommand (`client|list`); none for most.
pub fn of(name: &str) -> &'static [&'static str] {
    TIPS.get(name).map_or(&[], Vec::as_slice)
}

#[cfg(test)]
mod tests {
    #[test]
    fn tips_of_commands_and_subcommands() {
        assert_eq!(super::of("mget"), ["request_policy:multi_shard"]);
        assert!(super::of("client|list").contains(&"nondeterministic_output"));
        assert!(super::of("get").is_empty());
    }
}
