//! The keyspace's notion of time. Production uses the system clock; tests use a manual
//! clock they advance themselves, so TTL tests never sleep.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub type Millis = u64;

#[derive(Clone, Default)]
pub enum Clock {
    #[default]
    System,
    Manual(Rc<Cell<Millis>>),
}

impl Clock {
    /// A manual clock starting at `start` ms, and the handle that moves it.
    pub fn manual(start: Millis) -> (Clock, Rc<Cell<Millis>>) {
        let cell = Rc::new(Cell::new(start));
        (Clock::Manual(cell.clone()), cell)
    }

    #[inline]
    pub fn now_ms(&self) -> Millis {
        match self {
            Clock::System => system_ms(),
            Clock::Manual(c) => c.get(),
        }
    }
}

pub fn system_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}
