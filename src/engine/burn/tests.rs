use super::*;

const T0: i64 = 1_796_000_000_000 / MINUTE_MS * MINUTE_MS;

/// `minutes` minutes from T0 with `total` requests each, `bad(minute)` of them bad.
fn steady(minutes: i64, total: u64, bad: impl Fn(i64) -> u64) -> Series {
    (0..minutes)
        .map(|m| (T0 + m * MINUTE_MS, Tally { total, bad: bad(m) }))
        .collect()
}

fn at(minute: i64) -> i64 {
    T0 + minute * MINUTE_MS
}

#[test]
fn burn_rate_is_the_bad_share_over_the_allowed_share() {
    let o = Objective::default();
    let t = Tally {
        total: 1000,
        bad: 4,
    };
    assert!((o.burn_rate(&t).unwrap() - 4.0).abs() < 1e-9);
    assert_eq!(o.burn_rate(&Tally::default()), None);
}

#[test]
fn a_route_at_0_4_percent_for_three_days_is_a_ticket_not_a_page() {
    let o = Objective::default();
    let minutes = 3 * 24 * 60;
    let s = steady(minutes, 1000, |_| 4);
    let a = assess(&s, at(minutes - 1), &o);
    assert_eq!(a.severity, Some(BudgetSeverity::Ticket));
    let fires: Vec<(BudgetSeverity, i64)> = a
        .rules
        .iter()
        .filter(|r| r.fires)
        .map(|r| (r.rule.severity, r.rule.long_ms / MINUTE_MS))
        .collect();
    // 1 day/2 h (4 > 3) and 3 days/6 h (4 > 1); 1 h/5 min and 6 h/30 min need 14.4 and 6.
    assert_eq!(
        fires,
        [
            (BudgetSeverity::Ticket, 24 * 60),
            (BudgetSeverity::Ticket, 3 * 24 * 60)
        ]
    );
    for r in &a.rules {
        assert!((r.long_rate.unwrap() - 4.0).abs() < 1e-9);
    }
    // Burn 4 for 3 days of a 30-day period spends 40 %: 60 % left, gone in
    // 0.6 × 30 days / 4 = 4.5 days at this rate.
    assert!((a.budget_left.unwrap() - 0.6).abs() < 1e-9);
    let left_ms = a.exhausted_at.unwrap() - (at(minutes - 1) + MINUTE_MS);
    assert_eq!(left_ms, (4.5 * 86_400_000.0) as i64);
}

#[test]
fn a_ten_minute_burst_at_20_percent_pages_and_resolves_after_it() {
    let o = Objective::default();
    // Three clean days at 1,000 requests a minute, the burst in the next ten minutes,
    // then clean again.
    let b = 3 * 24 * 60;
    let s = steady(
        b + 60,
        1000,
        |m| if (b..b + 10).contains(&m) { 200 } else { 0 },
    );
    assert_eq!(assess(&s, at(b - 1), &o).severity, None);
    let during = assess(&s, at(b + 9), &o);
    assert_eq!(during.severity, Some(BudgetSeverity::Page));
    let hour = &during.rules[0];
    // 1 h: 2,000 bad of 60,000 (3.3 %, burn 33.3); 5 min: 20 % (burn 200).
    assert_eq!((hour.long.bad, hour.long.total), (2_000, 60_000));
    assert!((hour.long_rate.unwrap() - 2000.0 / 60.0).abs() < 1e-6);
    assert!((hour.short_rate.unwrap() - 200.0).abs() < 1e-9);
    assert!(hour.fires);
    // 6 h: 2,000 of 360,000 (burn 5.6 < 6); 1 day: 2,000 of 1,440,000 (1.4 < 3); 3 days:
    // 0.46 < 1. Only the 1-hour rule fires: one page, no ticket.
    let fired: Vec<bool> = during.rules.iter().map(|r| r.fires).collect();
    assert_eq!(fired, [true, false, false, false]);
    // Still paging while the 5-minute window holds burst minutes…
    assert_eq!(
        assess(&s, at(b + 13), &o).severity,
        Some(BudgetSeverity::Page)
    );
    // …resolved once it is clean (minutes b+10..b+14).
    assert_eq!(assess(&s, at(b + 14), &o).severity, None);
}

#[test]
fn low_traffic_needs_enough_requests_before_anything_fires() {
    let o = Objective::default();
    // 1 failure of 3 requests: a 33 % rate, burn 333, but nobody is paged.
    let s: Series = [(T0, Tally { total: 3, bad: 1 })].into();
    let a = assess(&s, T0, &o);
    assert_eq!(a.severity, None);
    assert!(a.rules[0].long_rate.unwrap() > 300.0);
    // 5 bad of 50 in the hour, the last one in the last 5 minutes: now it pages.
    let s = steady(60, 1, |m| u64::from(m % 12 == 11));
    let a = assess(&s, at(59), &o);
    assert_eq!((a.rules[0].long.bad, a.rules[0].long.total), (5, 60));
    assert_eq!(a.severity, Some(BudgetSeverity::Page));
}

#[test]
fn a_rate_at_the_threshold_does_not_fire() {
    let o = Objective::default();
    // Exactly 6.0 in both 6 h and 30 min (6 of 1,000 every minute): not above it.
    let s = steady(6 * 60, 1000, |_| 6);
    let a = assess(&s, at(6 * 60 - 1), &o);
    assert!(!a.rules[1].fires);
    // The day's rule (burn 6 > 3) waits for a whole day watched.
    assert_eq!(a.severity, None);
    let s = steady(24 * 60, 1000, |_| 6);
    let a = assess(&s, at(24 * 60 - 1), &o);
    assert_eq!(a.severity, Some(BudgetSeverity::Ticket));
}

#[test]
fn a_rule_fires_only_once_its_long_window_is_watched() {
    let o = Objective::default();
    // 1 % bad (burn 10) from the first minute: over the 6 h / 30 min rule's 6, but the
    // 6 h window is watched only after 6 h; the 1 h rule needs 14.4.
    let s = steady(6 * 60, 1000, |_| 10);
    assert_eq!(assess(&s, at(6 * 60 - 2), &o).severity, None);
    assert_eq!(
        assess(&s, at(6 * 60 - 1), &o).severity,
        Some(BudgetSeverity::Page)
    );
}
