//! The frequency sketch of `allkeys-tinylfu`: a count-min sketch of 4-bit counters
//! (TinyLFU, Einziger, Friedman and Manes, 2017) that estimates how often each key
//! was asked for lately, whether or not it is in memory now. Every access of a key,
//! hit or miss, adds one; when as many additions as ten times the counters of a row
//! have been made, every counter is halved, so old popularity fades. A row has about as
//! many counters as the shard has keys (grown as the keyspace grows, from 4096).

/// Rows of the sketch (independent hash functions).
const ROWS: usize = 4;
const MIN_WIDTH: usize = 1 << 12;
const MAX_WIDTH: usize = 1 << 22;
/// The largest estimate.
pub const MAX_ESTIMATE: u8 = 15;

pub struct Sketch {
    counters: Vec<u8>,
    /// Counters per row (a power of two).
    width: usize,
    hasher: ahash::RandomState,
    additions: usize,
}

impl Default for Sketch {
    fn default() -> Self {
        Sketch {
            counters: Vec::new(),
            width: MIN_WIDTH,
            hasher: ahash::RandomState::with_seeds(
                0x51_7c_c1_b7,
                0x27_22_0a_95,
                0x9e_37_79_b9,
                0x85_eb_ca_6b,
            ),
            additions: 0,
        }
    }
}

impl Sketch {
    fn slots(&self, key: &[u8]) -> [usize; ROWS] {
        let h = self.hasher.hash_one(key);
        let (a, b) = (h as usize, (h >> 32) as usize | 1);
        let w = self.width;
        std::array::from_fn(|i| i * w + (a.wrapping_add(i.wrapping_mul(b)) & (w - 1)))
    }

    /// Grows the rows to about `keys` counters (never shrinks; growing starts over).
    pub fn fit(&mut self, keys: usize) {
        let want = keys.next_power_of_two().clamp(MIN_WIDTH, MAX_WIDTH);
        if want > self.width {
            self.width = want;
            self.counters.clear();
            self.additions = 0;
        }
    }

    /// One more access of `key`.
    pub fn add(&mut self, key: &[u8]) {
        if self.counters.is_empty() {
            // Allocated on first use: only the tinylfu policy pays for it.
            self.counters = vec![0; ROWS * self.width];
        }
        let slots = self.slots(key);
        let least = slots.iter().map(|&s| self.counters[s]).min().unwrap_or(0);
        // Conservative update: only the counters at the minimum grow.
        for s in slots {
            if self.counters[s] == least && least < MAX_ESTIMATE {
                self.counters[s] += 1;
            }
        }
        self.additions += 1;
        if self.additions >= 10 * self.width {
            self.additions = 0;
            for c in &mut self.counters {
                *c /= 2;
            }
        }
    }

    /// About how often `key` was asked for lately (0..=15).
    pub fn estimate(&self, key: &[u8]) -> u8 {
        if self.counters.is_empty() {
            return 0;
        }
        self.slots(key)
            .iter()
            .map(|&s| self.counters[s])
            .min()
            .unwrap_or(0)
    }
}
