//! Requests counted per minute: how many, and how many were bad (timed out or 5XX), the
//! counts the error budget is measured on.

use std::collections::BTreeMap;

pub const MINUTE_MS: i64 = 60_000;

/// Requests in a span of time, and how many of them were good.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tally {
    pub total: u64,
    pub bad: u64,
}

impl Tally {
    pub fn add(&mut self, other: Tally) {
        self.total += other.total;
        self.bad += other.bad.min(other.total);
    }

    /// The bad share of these requests (`None`: no requests).
    pub fn bad_share(&self) -> Option<f64> {
        (self.total > 0).then(|| self.bad.min(self.total) as f64 / self.total as f64)
    }
}

/// Per-minute counts: minute start (epoch ms) → tally.
pub type Series = BTreeMap<i64, Tally>;

/// The minute a time falls in (its start, epoch ms).
pub fn minute_of(ms: i64) -> i64 {
    ms.div_euclid(MINUTE_MS) * MINUTE_MS
}
