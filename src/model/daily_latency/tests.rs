use proptest::prelude::*;

use super::*;

/// The exact nearest-rank percentile of answered latencies plus `timeouts` at the limit.
fn exact(latencies: &[u64], timeouts: u64, limit: u64, p: u64) -> u64 {
    let mut all: Vec<u64> = latencies.to_vec();
    all.sort_unstable();
    let n = all.len() as u64 + timeouts;
    let rank = (p * n).div_ceil(100).max(1);
    all.get(rank as usize - 1).copied().unwrap_or(limit)
}

#[test]
fn buckets_tile_the_line_and_stay_within_one_64th() {
    let mut next = 0u64;
    for b in 0..1_200u32 {
        let (lo, hi) = bucket_range(b).unwrap();
        assert_eq!(
            lo,
            next,
            "bucket {b} starts where {} ended",
            b.saturating_sub(1)
        );
        assert!(hi >= lo);
        assert_eq!((bucket_of(lo), bucket_of(hi)), (b, b));
        if lo >= 128 {
            assert!((hi - lo + 1) * SUB_BUCKETS <= lo, "bucket {b}: {lo}..{hi}");
        }
        next = hi + 1;
    }
    // 16.4 s to 32.8 s: 256 ms buckets.
    let (lo, hi) = bucket_range(bucket_of(22_000)).unwrap();
    assert_eq!(hi - lo + 1, 256);
    assert_eq!(bucket_range(bucket_of(u64::MAX)).unwrap().1, u64::MAX);
    assert_eq!(bucket_range(4_000), None);
}

#[test]
fn days_are_utc_days() {
    // 2026-11-25T00:00:00Z and a millisecond before.
    assert_eq!(day_of(1_795_564_800_000), 20_782);
    assert_eq!(day_of(1_795_564_799_999), 20_781);
    assert_eq!(day_of(-1), -1);
}

#[test]
fn a_day_of_timeouts_reads_the_limit_and_an_empty_one_nothing() {
    let mut d = DailyLatency::default();
    for k in 0..100 {
        if k < 10 {
            d.timed_out(1_795_564_800_000 + k, 29_000);
        } else {
            d.answered(1_795_564_800_000 + k, 1_000, 29_000);
        }
    }
    let day = &d.days[0];
    assert_eq!((day.observed(), day.timeouts), (100, 10));
    // 10 % timeouts: the p95 is among them, at (at least) the limit.
    assert_eq!(day.percentile(95), Some(29_000));
    // 1,000 ms reads as its bucket's upper edge, 1,007 ms (8 ms buckets from 512 ms).
    assert_eq!(day.percentile(50), Some(1_007));
    assert_eq!(DayLatency::new(1, 29_000).percentile(95), None);
}

proptest! {
    /// The p95 read from the histogram is the upper edge of the exact p95's bucket.
    #[test]
    fn p95_is_the_exact_ones_bucket_edge(
        latencies in proptest::collection::vec(0u64..120_000, 1..400),
        timeouts in 0u64..30,
        p in 1u64..=100,
    ) {
        let limit = 29_000;
        let mut d = DayLatency::new(0, limit);
        for &l in &latencies {
            d.add_latency(l);
        }
        d.timeouts = timeouts;
        let want = exact(&latencies, timeouts, limit, p);
        let got = d.percentile(p).unwrap();
        let in_timeouts = (p * (latencies.len() as u64 + timeouts)).div_ceil(100) > latencies.len() as u64;
        if in_timeouts {
            prop_assert_eq!(got, limit);
        } else {
            prop_assert_eq!(got, bucket_range(bucket_of(want)).unwrap().1);
            prop_assert!(got >= want && got - want < want / 64 + 1);
        }
    }

    /// Counting split any way and merged equals counting all at once.
    #[test]
    fn merging_by_addition_is_counting_once(
        latencies in proptest::collection::vec((0u64..3 * 86_400_000, 0u64..60_000, any::<bool>()), 0..300),
        cut in 0usize..300,
    ) {
        let count = |reqs: &[(u64, u64, bool)]| {
            let mut d = DailyLatency::default();
            for &(t, l, timeout) in reqs {
                if timeout { d.timed_out(t as i64, 29_000) } else { d.answered(t as i64, l, 29_000) }
            }
            d
        };
        let cut = cut.min(latencies.len());
        let (a, b) = (count(&latencies[..cut]), count(&latencies[cut..]));
        let mut merged = a.clone();
        for day in &b.days {
            match merged.days.binary_search_by_key(&day.day, |d| d.day) {
                Ok(i) => merged.days[i].merge(day),
                Err(i) => merged.days.insert(i, day.clone()),
            }
        }
        prop_assert_eq!(merged, count(&latencies));
    }
}
