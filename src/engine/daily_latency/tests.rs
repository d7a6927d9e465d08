use super::*;
use crate::model::daily_latency::bucket_of;

#[test]
fn drifting_merges_writers_and_names_only_the_rising_route() {
    let day0 = 20_777;
    let mut rows = Vec::new();
    for d in 0..10i64 {
        for (route, ms) in [
            ("GET /slow", 8_000 + d as u64 * 1_556),
            ("GET /flat", 3_000),
        ] {
            // Two containers' halves of the same day.
            for _ in 0..2 {
                let mut latency = DayLatency::new(day0 + d, 29_000);
                latency.add_bucket(bucket_of(ms), 40);
                rows.push(RouteDay {
                    account: "123456789012".into(),
                    api_id: "a1".into(),
                    stage: "prod".into(),
                    route: route.into(),
                    latency,
                });
            }
        }
    }
    let found = drifting(&rows);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].route, "GET /slow");
    assert_eq!(found[0].limit_ms, 29_000);
    assert!(found[0].drift.days.iter().all(|p| p.requests == 80));
}
