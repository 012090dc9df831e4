//! A Redis set value. (Placeholder: the data-types work fills this in.)

use crate::config::EngineConfig;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Set {}

impl Set {
    pub fn len(&self) -> usize {
        0
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The Redis encoding name OBJECT ENCODING reports.
    pub fn encoding(&self, _config: &EngineConfig) -> &'static str {
        "listpack"
    }

    /// Heap bytes owned (memory accounting).
    pub fn heap_size(&self) -> usize {
        0
    }
}
