use super::*;

/// 2026-11-20 as days since the epoch.
const DAY0: i64 = 20_777;

/// A deterministic noise source (xorshift), the same on every run.
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn points(days: i64, mut p95: impl FnMut(i64) -> f64) -> Vec<DayPoint> {
    (0..days)
        .map(|d| DayPoint {
            day: DAY0 + d,
            p95_ms: p95(d).max(0.0) as u64,
            requests: 5_000,
        })
        .collect()
}

#[test]
fn theil_sen_ignores_one_wild_point() {
    let mut xy: Vec<(f64, f64)> = (0..10).map(|x| (x as f64, 2.0 * x as f64 + 1.0)).collect();
    xy[4].1 = 1_000.0;
    let (slope, intercept) = theil_sen(&xy).unwrap();
    assert!((slope - 2.0).abs() < 1e-9 && (intercept - 1.0).abs() < 1e-9);
    assert_eq!(theil_sen(&[(1.0, 1.0)]), None);
    assert!((kendall_tau(&[(0.0, 0.0), (1.0, 1.0), (2.0, 2.0)]) - 1.0).abs() < 1e-12);
}

#[test]
fn a_route_drifting_from_8_to_22_seconds_over_ten_days_gets_its_crossing_date() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // 8 s on day 0 to 22 s on day 9 (1,556 ms a day), ± 500 ms of noise.
    let pts = points(10, |d| {
        8_000.0 + d as f64 * 14_000.0 / 9.0 + (rng.unit() - 0.5) * 1_000.0
    });
    let d = drift(&pts, 29_000).expect("a drift");
    assert!(
        (d.slope_ms_per_day - 1_555.6).abs() < 150.0,
        "{}",
        d.slope_ms_per_day
    );
    assert!(d.tau > 0.9);
    // 80 % of 29 s is 23.2 s: about (23.2 − 22) / 1.556 ≈ 0.8 day after day 9, on day 10.
    assert_eq!(d.crossing_ms, 23_200.0);
    assert!(
        (DAY0 + 10..=DAY0 + 11).contains(&d.crosses_on_day),
        "{}",
        d.crosses_on_day - DAY0
    );
    assert_eq!(d.days.len(), 10);
}

#[test]
fn thirty_flat_noisy_routes_get_no_notice() {
    let mut rng = Rng(42);
    for route in 0..30 {
        let base = 2_000.0 + route as f64 * 500.0;
        // ± 40 % day to day around a flat level, 14 days.
        let pts = points(14, |_| base * (0.6 + 0.8 * rng.unit()));
        assert_eq!(drift(&pts, 29_000), None, "route {route}");
    }
}

#[test]
fn too_few_busy_days_a_fall_and_an_immaterial_rise_get_none() {
    let rising = |d: i64| 8_000.0 + d as f64 * 1_500.0;
    assert_eq!(drift(&points(6, rising), 29_000), None, "6 days");
    let mut quiet = points(10, rising);
    for p in quiet.iter_mut().skip(4) {
        p.requests = 10;
    }
    assert_eq!(
        drift(&quiet, 29_000),
        None,
        "days under 50 requests are left out"
    );
    assert_eq!(
        drift(&points(10, |d| 22_000.0 - d as f64 * 1_500.0), 29_000),
        None
    );
    // 8.0 s → 8.9 s over 9 days: 900 ms is 3 % of the limit.
    assert_eq!(
        drift(&points(10, |d| 8_000.0 + d as f64 * 100.0), 29_000),
        None
    );
    // Already over the line: the near-limit findings say it.
    assert_eq!(
        drift(&points(10, |d| 24_000.0 + d as f64 * 400.0), 29_000),
        None
    );
}
