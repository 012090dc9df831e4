//! INFO's instantaneous figures (`instantaneous_ops_per_sec`, `instantaneous_input_kbps`,
//! `instantaneous_output_kbps`) for one shard: its counters sampled every 100 ms by the
//! shard's periodic task, the rate the average over the last 16 samples, as Redis.

use std::time::Instant;

const SAMPLES: usize = 16;
const PERIOD_MS: u128 = 100;

/// The counters sampled: commands, input bytes, output bytes.
type Counters = [u64; 3];

#[derive(Default)]
pub struct Instantaneous {
    last: Option<(Instant, Counters)>,
    /// Per-second rates of each counter, a ring of the latest samples.
    rates: Vec<[f64; 3]>,
    next: usize,
}

impl Instantaneous {
    /// Takes a sample when 100 ms passed since the last one.
    pub fn sample(&mut self, now: Instant, counters: Counters) {
        let Some((at, before)) = self.last else {
            self.last = Some((now, counters));
            return;
        };
        let ms = now.duration_since(at).as_millis();
        if ms < PERIOD_MS {
            return;
        }
        let rate = |i: usize| counters[i].saturating_sub(before[i]) as f64 * 1000.0 / ms as f64;
        let r = [rate(0), rate(1), rate(2)];
        if self.rates.len() < SAMPLES {
            self.rates.push(r);
        } else {
            self.rates[self.next] = r;
        }
        self.next = (self.next + 1) % SAMPLES;
        self.last = Some((now, counters));
    }

    /// Commands per second, input and output KiB per second.
    pub fn rates(&self) -> [f64; 3] {
        if self.rates.is_empty() {
            return [0.0; 3];
        }
        let n = self.rates.len() as f64;
        let sum = |i: usize| self.rates.iter().map(|r| r[i]).sum::<f64>() / n;
        [sum(0), sum(1) / 1024.0, sum(2) / 1024.0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rates_average_the_latest_samples() {
        let mut m = Instantaneous::default();
        let t0 = Instant::now();
        m.sample(t0, [0, 0, 0]);
        // 100 commands and 2048 bytes in per 100 ms: 1000/s, 20 KiB/s.
        for k in 1..=20u64 {
            m.sample(t0 + Duration::from_millis(100 * k), [100 * k, 2048 * k, 0]);
        }
        let [ops, kin, kout] = m.rates();
        assert!((ops - 1000.0).abs() < 1e-6, "{ops}");
        assert!((kin - 20.0).abs() < 1e-6, "{kin}");
        assert_eq!(kout, 0.0);
        // Too soon: no sample.
        m.sample(t0 + Duration::from_millis(2050), [1_000_000, 0, 0]);
        assert!((m.rates()[0] - 1000.0).abs() < 1e-6);
    }
}
