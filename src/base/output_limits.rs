//! `client-output-buffer-limit`: per class of client (normal, replica, pubsub) a hard
//! limit, a soft limit and how long a client may stay over the soft one, in Redis's
//! syntax (`pubsub 32mb 8mb 60`, several classes in one value).

use shards::config::parse_memory;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimits {
    pub normal: OutputLimit,
    pub replica: OutputLimit,
    pub pubsub: OutputLimit,
}

impl Default for OutputLimits {
    /// Redis's defaults.
    fn default() -> Self {
        OutputLimits {
            normal: OutputLimit {
                hard: 0,
                soft: 0,
                soft_secs: 0,
            },
            replica: OutputLimit {
                hard: 256 * 1024 * 1024,
                soft: 64 * 1024 * 1024,
                soft_secs: 60,
            },
            pubsub: OutputLimit {
                hard: 32 * 1024 * 1024,
                soft: 8 * 1024 * 1024,
                soft_secs: 60,
            },
        }
    }
}

impl OutputLimits {
    /// These limits with the classes `value` names changed; None when it is not
    /// groups of `<class> <hard> <soft> <seconds>`.
    pub fn updated(&self, value: &str) -> Option<OutputLimits> {
        let words: Vec<&str> = value.split_whitespace().collect();
        if words.is_empty() || !words.len().is_multiple_of(4) {
            return None;
        }
        let mut out = *self;
        for group in words.chunks(4) {
            let limit = OutputLimit {
                hard: parse_memory(group[1])?,
                soft: parse_memory(group[2])?,
                soft_secs: group[3].parse().ok()?,
            };
            match group[0].to_ascii_lowercase().as_str() {
                "normal" => out.normal = limit,
                "replica" | "slave" => out.replica = limit,
                "pubsub" => out.pubsub = limit,
                _ => return None,
            }
        }
        Some(out)
    }

    /// CONFIG GET's form.
    pub fn render(&self) -> String {
        let one =
            |name: &str, l: &OutputLimit| format!("{name} {} {} {}", l.hard, l.soft, l.soft_secs);
        format!(
            "{} {} {}",
            one("normal", &self.normal),
            one("slave", &self.replica),
            one("pubsub", &self.pubsub)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_parse_with_units_and_render_as_redis() {
        let d = OutputLimits::default();
        assert_eq!(
            d.render(),
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        );
        let u = d.updated("pubsub 1mb 512kb 5 replica 0 0 0").unwrap();
        assert_eq!(u.pubsub.hard, 1024 * 1024);
        assert_eq!(u.pubsub.soft, 512 * 1024);
        assert_eq!(u.pubsub.soft_secs, 5);
        assert_eq!(u.replica.hard, 0);
        assert!(d.updated("pubsub 1mb 2mb").is_none());
        assert!(d.updated("other 1 1 1").is_none());
        assert!(d.updated("pubsub x 1 1").is_none());
    }
}
