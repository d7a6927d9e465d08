//! An analysis over time: requests, timeouts, errors and a censored p95 per time
//! bucket (per minute for an hour or two), and when each route was first and last
//! seen. Read from the analysis's observations and findings, so that the report's
//! numbers are the engine's.

use crate::engine::analysis::{percentile, Analysis};
use crate::model::kind::Kind;
use crate::model::stats::PERCENTILE_MIN;

const MINUTE_MS: i64 = 60_000;
/// Buckets grow past this many rows: 1, 5, 15, 60 minutes, then days.
const MAX_ROWS: i64 = 120;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Bucket {
    /// Epoch ms of the bucket's start (UTC, aligned to its width).
    pub start_ms: i64,
    pub requests: u64,
    pub timeouts: u64,
    pub errors: u64,
    pub near_limit: u64,
    /// Requests with a known integration latency or a timeout: the p95's sample.
    pub measured: u64,
    /// Nearest-rank p95 of integration latency, timeouts counted at their limit; none
    /// below [`PERCENTILE_MIN`] measured requests (the report shows `measured` instead).
    pub p95_ms: Option<u64>,
    /// The p95 fell on a timeout: the true value is at least `p95_ms`.
    pub p95_censored: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Timeline {
    /// Width of each bucket.
    pub bucket_ms: i64,
    /// Every bucket from the first request's to the last's, empty ones included.
    pub buckets: Vec<Bucket>,
    /// Requests whose logs carried no timestamp (not in any bucket).
    pub undated_requests: u64,
}

impl Timeline {
    /// First and last bucket start that hold a timeout: the incident's onset and end.
    pub fn timeout_span(&self) -> Option<(i64, i64)> {
        let first = self.buckets.iter().find(|b| b.timeouts > 0)?.start_ms;
        let last = self.buckets.iter().rev().find(|b| b.timeouts > 0)?.start_ms;
        Some((first, last))
    }
}

fn dated(ts: Option<i64>) -> Option<i64> {
    ts.filter(|t| *t > 0)
}

/// The timeline of every route (`route` None) or of one (an index into `a.routes`).
pub fn timeline(a: &Analysis, route: Option<usize>) -> Timeline {
    let wanted = |r: usize| route.is_none_or(|x| x == r);
    let times = a
        .observations
        .iter()
        .filter(|o| wanted(o.route))
        .filter_map(|o| dated(o.timestamp));
    let (Some(lo), Some(hi)) = (times.clone().min(), times.max()) else {
        return Timeline {
            bucket_ms: MINUTE_MS,
            buckets: Vec::new(),
            undated_requests: a.observations.iter().filter(|o| wanted(o.route)).count() as u64,
        };
    };
    let bucket_ms = bucket_width(hi - lo);
    let first = lo.div_euclid(bucket_ms) * bucket_ms;
    let n = ((hi - first) / bucket_ms + 1) as usize;
    fill(a, route, first, bucket_ms, n)
}

/// One route's timeline on the buckets of `like` (the whole analysis's), for charts.
pub fn on_grid(a: &Analysis, route: usize, like: &Timeline) -> Timeline {
    let first = like.buckets.first().map_or(0, |b| b.start_ms);
    fill(a, Some(route), first, like.bucket_ms, like.buckets.len())
}

fn fill(a: &Analysis, route: Option<usize>, first: i64, bucket_ms: i64, n: usize) -> Timeline {
    let wanted = |r: usize| route.is_none_or(|x| x == r);
    let route_of = |f: &crate::model::finding::Finding| {
        let account = f.provenance.account.as_deref();
        a.routes
            .iter()
            .position(|r| r.key.is(account, &f.api_id, &f.stage, f.route.as_str()))
    };
    let mut buckets: Vec<Bucket> = (0..n)
        .map(|i| Bucket {
            start_ms: first + i as i64 * bucket_ms,
            requests: 0,
            timeouts: 0,
            errors: 0,
            near_limit: 0,
            measured: 0,
            p95_ms: None,
            p95_censored: false,
        })
        .collect();
    let at = |ts: i64| ((ts - first).max(0) / bucket_ms) as usize;
    let mut latencies: Vec<Vec<u64>> = vec![Vec::new(); n];
    // Timeouts at their limit: (limit, count) per bucket.
    let mut censored: Vec<Vec<u64>> = vec![Vec::new(); n];
    let mut undated = 0;
    for o in a.observations.iter().filter(|o| wanted(o.route)) {
        let Some(ts) = dated(o.timestamp) else {
            undated += 1;
            continue;
        };
        if ts < first || at(ts) >= n {
            continue;
        }
        let b = at(ts);
        buckets[b].requests += 1;
        // Timeouts come in below from their findings, censored at their limit.
        if let (Some(l), false) = (o.integration_latency_ms, o.timed_out) {
            latencies[b].push(l);
        }
    }
    for f in &a.findings {
        let Some(ts) = dated(f.timestamp) else {
            continue;
        };
        if f.kind == Kind::Misconfiguration || ts < first || at(ts) >= n {
            continue;
        }
        if route.is_some() && route_of(f).is_none_or(|r| !wanted(r)) {
            continue;
        }
        let b = at(ts);
        match f.kind {
            Kind::Timeout => {
                buckets[b].timeouts += 1;
                censored[b].push(f.limit_ms);
            }
            Kind::Error => buckets[b].errors += 1,
            Kind::NearLimit => buckets[b].near_limit += 1,
            Kind::Misconfiguration => {}
        }
    }
    for ((b, lat), cens) in buckets.iter_mut().zip(latencies).zip(censored) {
        // A timeout's latency is at least its limit: it sorts after every answer
        // below the limit; among equal values the answered one comes first.
        let mut all: Vec<(u64, bool)> = lat.into_iter().map(|l| (l, false)).collect();
        all.extend(cens.into_iter().map(|l| (l, true)));
        all.sort_unstable();
        let values: Vec<u64> = all.iter().map(|v| v.0).collect();
        b.measured = values.len() as u64;
        if b.measured < PERCENTILE_MIN {
            continue;
        }
        if let Some(p) = percentile(&values, 95) {
            let rank = (95 * values.len() as u64).div_ceil(100).max(1) as usize;
            b.p95_ms = Some(p);
            b.p95_censored = all[rank - 1].1;
        }
    }
    Timeline {
        bucket_ms,
        buckets,
        undated_requests: undated,
    }
}

/// Nearest-rank percentile of answered latencies (`sorted`) and `timeouts` requests
/// whose latency is at least `limit_ms`: (value, whether it fell on a timeout).
pub fn censored_percentile(
    sorted: &[u64],
    timeouts: u64,
    limit_ms: u64,
    p: u64,
) -> Option<(u64, bool)> {
    let n = sorted.len() as u64 + timeouts;
    if n == 0 {
        return None;
    }
    let rank = (p * n).div_ceil(100).max(1) as usize;
    // Answers at or above the limit sort before the timeouts (equal values: answered first).
    let below = sorted.partition_point(|&l| l <= limit_ms);
    if rank <= below {
        Some((sorted[rank - 1], false))
    } else if rank <= below + timeouts as usize {
        Some((limit_ms, true))
    } else {
        Some((sorted[rank - 1 - timeouts as usize], false))
    }
}

fn bucket_width(span_ms: i64) -> i64 {
    for minutes in [1, 5, 15, 60, 360, 1440] {
        let w = minutes * MINUTE_MS;
        if span_ms / w < MAX_ROWS {
            return w;
        }
    }
    1440 * MINUTE_MS * (span_ms / (1440 * MINUTE_MS * MAX_ROWS) + 1)
}

/// When each route (by index into `a.routes`) was first and last seen.
pub fn route_seen(a: &Analysis) -> Vec<Option<(i64, i64)>> {
    let mut seen: Vec<Option<(i64, i64)>> = vec![None; a.routes.len()];
    for o in &a.observations {
        if let (Some(ts), Some(s)) = (dated(o.timestamp), seen.get_mut(o.route)) {
            *s = Some(s.map_or((ts, ts), |(lo, hi)| (lo.min(ts), hi.max(ts))));
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths() {
        assert_eq!(bucket_width(0), MINUTE_MS);
        assert_eq!(bucket_width(119 * MINUTE_MS), MINUTE_MS);
        assert_eq!(bucket_width(120 * MINUTE_MS), 5 * MINUTE_MS);
        assert_eq!(bucket_width(24 * 60 * MINUTE_MS), 15 * MINUTE_MS);
    }

    #[test]
    fn censored() {
        // 19 answers of 100 ms and one timeout: the 95th of 20 is the 19th, an answer.
        let l = vec![100; 19];
        assert_eq!(censored_percentile(&l, 1, 29_000, 95), Some((100, false)));
        assert_eq!(censored_percentile(&l, 2, 29_000, 95), Some((29_000, true)));
        assert_eq!(
            censored_percentile(&[], 1, 29_000, 95),
            Some((29_000, true))
        );
        assert_eq!(censored_percentile(&[], 0, 29_000, 95), None);
        assert_eq!(
            censored_percentile(&[10, 30_000], 1, 29_000, 95),
            Some((30_000, false))
        );
    }
}
