//! A route's integration latency per UTC day, as a histogram that adds up: two
//! containers' counts of one day merge by plain addition (DynamoDB `ADD`), so that the
//! daily p95 the drift rules read (`engine::daily_latency`) is the same however the
//! requests were split between batches and containers. It lives in the model because
//! [`crate::model::stats::RouteStats`] carries it; the engine fills and reads it.
//!
//! Resolution: log-linear, [`SUB_BUCKETS`] buckets per power of two. Below 128 ms each
//! bucket is 1 ms; above, a bucket is at most 1/64 of its values (256 ms wide between
//! 16.4 s and 32.8 s, under 1 % of a 29 s limit). A percentile read from it is its
//! bucket's upper edge: never below the exact value, and at most one bucket above.
//! Timeouts are censored: counted apart, at (at least) the route's limit.

/// Buckets per power of two.
pub const SUB_BUCKETS: u64 = 64;
const SUB_BITS: u32 = 6;
const MS_PER_DAY: i64 = 86_400_000;

/// The UTC day (days since the epoch) of an epoch-ms timestamp.
pub fn day_of(epoch_ms: i64) -> i64 {
    epoch_ms.div_euclid(MS_PER_DAY)
}

/// The bucket of a latency (ms).
pub fn bucket_of(ms: u64) -> u32 {
    if ms < 2 * SUB_BUCKETS {
        return ms as u32;
    }
    let e = (63 - ms.leading_zeros()) - SUB_BITS;
    (u64::from(e) * SUB_BUCKETS + (ms >> e)) as u32
}

/// The smallest and the largest latency (ms) in bucket `b`; `None` past the last bucket.
pub fn bucket_range(b: u32) -> Option<(u64, u64)> {
    let b = u64::from(b);
    if b < 2 * SUB_BUCKETS {
        return Some((b, b));
    }
    let e = b / SUB_BUCKETS - 1;
    let sub = b - e * SUB_BUCKETS;
    if e > 57 {
        return None;
    }
    let lo = sub << e;
    Some((lo, lo + ((1u64 << e) - 1)))
}

/// One route's latencies of one UTC day.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DayLatency {
    /// Days since the epoch (UTC).
    pub day: i64,
    /// The route's limit (ms), which the timeouts are counted at.
    pub limit_ms: u64,
    /// Timeouts (censored: they lasted at least the limit).
    pub timeouts: u64,
    /// Answered requests by bucket, ascending, no zero counts.
    pub buckets: Vec<(u32, u64)>,
}

impl DayLatency {
    pub fn new(day: i64, limit_ms: u64) -> DayLatency {
        DayLatency {
            day,
            limit_ms,
            ..DayLatency::default()
        }
    }

    /// Answered requests plus timeouts.
    pub fn observed(&self) -> u64 {
        self.answered().saturating_add(self.timeouts)
    }

    pub fn answered(&self) -> u64 {
        self.buckets
            .iter()
            .fold(0u64, |n, (_, c)| n.saturating_add(*c))
    }

    /// Counts `c` answered requests into bucket `b` (an allocation only for a bucket
    /// not seen before this day).
    pub fn add_bucket(&mut self, b: u32, c: u64) {
        if c == 0 {
            return;
        }
        match self.buckets.binary_search_by_key(&b, |x| x.0) {
            Ok(i) => self.buckets[i].1 = self.buckets[i].1.saturating_add(c),
            Err(i) => self.buckets.insert(i, (b, c)),
        }
    }

    pub fn add_latency(&mut self, ms: u64) {
        self.add_bucket(bucket_of(ms), 1);
    }

    /// Adds `other`'s counts (the same day); the larger limit stays.
    pub fn merge(&mut self, other: &DayLatency) {
        self.timeouts = self.timeouts.saturating_add(other.timeouts);
        self.limit_ms = self.limit_ms.max(other.limit_ms);
        for &(b, c) in &other.buckets {
            self.add_bucket(b, c);
        }
    }

    /// The nearest-rank `p`th percentile (0 < p ≤ 100): its bucket's upper edge, or
    /// the limit when the rank falls among the timeouts; `None` without observations.
    pub fn percentile(&self, p: u64) -> Option<u64> {
        let n = self.observed();
        if n == 0 {
            return None;
        }
        let rank = (u128::from(p.clamp(1, 100)) * u128::from(n)).div_ceil(100) as u64;
        let mut seen = 0u64;
        for &(b, c) in &self.buckets {
            seen = seen.saturating_add(c);
            if seen >= rank {
                return bucket_range(b).map(|r| r.1);
            }
        }
        Some(self.limit_ms)
    }
}

/// A route's days, oldest first: what one analysis counted per UTC day.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DailyLatency {
    pub days: Vec<DayLatency>,
}

impl DailyLatency {
    /// The day of `epoch_ms`, made on first use (batches rarely span more than one day:
    /// the last day is looked at first).
    fn day_mut(&mut self, epoch_ms: i64, limit_ms: u64) -> &mut DayLatency {
        let day = day_of(epoch_ms);
        let at = match self.days.last() {
            Some(d) if d.day == day => self.days.len() - 1,
            _ => match self.days.binary_search_by_key(&day, |d| d.day) {
                Ok(i) => i,
                Err(i) => {
                    self.days.insert(i, DayLatency::new(day, limit_ms));
                    i
                }
            },
        };
        let d = &mut self.days[at];
        d.limit_ms = d.limit_ms.max(limit_ms);
        d
    }

    /// An answered request of `latency_ms` at `epoch_ms`.
    pub fn answered(&mut self, epoch_ms: i64, latency_ms: u64, limit_ms: u64) {
        self.day_mut(epoch_ms, limit_ms).add_latency(latency_ms);
    }

    /// A timeout at `epoch_ms` against `limit_ms`.
    pub fn timed_out(&mut self, epoch_ms: i64, limit_ms: u64) {
        let d = self.day_mut(epoch_ms, limit_ms);
        d.timeouts = d.timeouts.saturating_add(1);
    }

    /// The largest limit of the days (what the route is held against).
    pub fn limit_ms(&self) -> u64 {
        self.days.iter().map(|d| d.limit_ms).max().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests;
