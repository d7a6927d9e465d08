use super::*;

const T0: i64 = 1_796_000_000_000 / MINUTE_MS * MINUTE_MS;
const DAY: i64 = 24 * 60 * MINUTE_MS;

fn slo() -> SloKey {
    SloKey {
        account: Some("111122223333".into()),
        api_id: "a1b2c3".into(),
        stage: "prod".into(),
        route: None,
    }
}

/// Two routes, `minutes` minutes from T0: `GET /pets` with 100 requests a minute,
/// `bad(m)` of them bad, and `GET /health` with 20 good ones.
fn counts(minutes: i64, bad: impl Fn(i64) -> u64) -> SloCounts {
    let mut c = SloCounts::default();
    for m in 0..minutes {
        let at = T0 + m * MINUTE_MS;
        let pets = Tally {
            total: 100,
            bad: bad(m),
        };
        let health = Tally { total: 20, bad: 0 };
        c.routes
            .entry("GET /pets".into())
            .or_default()
            .insert(at, pets);
        c.routes
            .entry("GET /health".into())
            .or_default()
            .insert(at, health);
        let day = at.div_euclid(DAY) * DAY;
        let d = c.days.entry(day).or_default();
        d.add(pets);
        d.add(health);
    }
    c.first_minute = Some(T0);
    c
}

/// The notices a run of assessments makes, minute by minute, as (minute, status, severity).
fn replay(c: &SloCounts, minutes: std::ops::Range<i64>) -> Vec<(i64, Status, BudgetSeverity)> {
    let mut open: Option<BudgetNotice> = None;
    let mut out = Vec::new();
    for m in minutes {
        let now = T0 + m * MINUTE_MS;
        let f = assess(&slo(), Objective::default(), c, now);
        if let Some(step) = observe(
            open.as_ref(),
            &slo(),
            Objective::default(),
            &f.assessment,
            now,
        ) {
            out.push((m, step.status, step.notice.severity));
            open = step.next;
        }
    }
    out
}

#[test]
fn three_days_at_0_4_percent_is_one_ticket_and_no_page() {
    // 0.4 % of all requests (both routes): 12 bad of 3,000 every 25 minutes, evenly.
    let minutes = 3 * 24 * 60;
    let c = counts(minutes, |m| u64::from(m % 25 < 12));
    let steps = replay(&c, 0..minutes);
    assert_eq!(steps.len(), 1, "{steps:?}");
    assert_eq!(steps[0].1, Status::Firing);
    assert_eq!(steps[0].2, BudgetSeverity::Ticket);
}

#[test]
fn a_burst_pages_once_and_resolves_after_it() {
    // Three days of good traffic (with less, the 3 days / 6 h ticket rule reads the burst
    // as a day's burn), then 10 minutes with 20 % of all requests bad (24 of the 120 a
    // minute, all on GET /pets), then good again.
    let start = 3 * 24 * 60;
    let c = counts(start + 120, |m| {
        if (start..start + 10).contains(&m) {
            24
        } else {
            0
        }
    });
    let steps = replay(&c, start..start + 120);
    let kinds: Vec<(Status, BudgetSeverity)> = steps.iter().map(|s| (s.1, s.2)).collect();
    assert_eq!(
        kinds,
        [
            (Status::Firing, BudgetSeverity::Page),
            (Status::Resolved, BudgetSeverity::Page)
        ],
        "{steps:?}"
    );
    // It fires when the 1 h window passes 14.4 (1.44 % of its 7,200 requests, 104 bad):
    // at the fifth burst minute, 120 bad (k = 4). It resolves when the 5-minute window (minutes
    // k-4..k) holds none of the burst (minutes 0..9): k = 14.
    assert_eq!(steps[0].0, start + 4);
    assert_eq!(steps[1].0, start + 14);
}

#[test]
fn one_failure_of_three_requests_pages_nobody() {
    let mut c = SloCounts::default();
    c.routes
        .entry("GET /".into())
        .or_default()
        .insert(T0, Tally { total: 3, bad: 1 });
    c.days
        .insert(T0.div_euclid(DAY) * DAY, Tally { total: 3, bad: 1 });
    let f = assess(&slo(), Objective::default(), &c, T0);
    assert_eq!(f.assessment.severity, None);
    assert!(f.assessment.rules[0].long_rate.unwrap() > 300.0);
}

#[test]
fn the_routes_burning_most_come_first_and_good_routes_are_left_out() {
    let c = counts(60, |_| 30);
    let f = assess(&slo(), Objective::default(), &c, T0 + 59 * MINUTE_MS);
    assert_eq!(f.assessment.severity, Some(BudgetSeverity::Page));
    assert_eq!(f.routes_window_ms, 60 * MINUTE_MS);
    assert_eq!(f.routes.len(), 1);
    assert_eq!(f.routes[0].route, "GET /pets");
    assert_eq!(
        f.routes[0].tally,
        Tally {
            total: 6000,
            bad: 1800
        }
    );
    assert!((f.routes[0].burn_rate.unwrap() - 300.0).abs() < 1e-9);
}

#[test]
fn the_budget_counts_whole_days_from_the_first_minute() {
    // Two days at 0.1 % bad (burn 1) on a 30-day objective: 2/30 of the budget spent.
    let minutes = 2 * 24 * 60;
    let c = counts(minutes, |m| u64::from(m % 25 == 0) * 3);
    let now = T0 + (minutes - 1) * MINUTE_MS;
    let f = assess(&slo(), Objective::default(), &c, now);
    let total: u64 = c.days.values().map(|t| t.total).sum();
    let bad: u64 = c.days.values().map(|t| t.bad).sum();
    let covered = (now + MINUTE_MS - T0.max(T0.div_euclid(DAY) * DAY)) as f64;
    let expected = 1.0 - bad as f64 / (total as f64 * 30.0 * DAY as f64 / covered * 0.001);
    assert!((f.assessment.budget_left.unwrap() - expected).abs() < 1e-9);
}

#[test]
fn a_severity_change_is_an_update_and_the_id_stays() {
    let page = Assessment {
        severity: Some(BudgetSeverity::Page),
        rules: vec![],
        budget_left: None,
        exhausted_at: None,
    };
    let ticket = Assessment {
        severity: Some(BudgetSeverity::Ticket),
        ..page.clone()
    };
    let first = observe(None, &slo(), Objective::default(), &ticket, T0).unwrap();
    assert_eq!(first.expected(), 0);
    let open = first.next.unwrap();
    assert_eq!(open.id, notice_id(&slo(), T0));
    assert_eq!(
        observe(
            Some(&open),
            &slo(),
            Objective::default(),
            &ticket,
            T0 + MINUTE_MS
        ),
        None
    );
    let up = observe(
        Some(&open),
        &slo(),
        Objective::default(),
        &page,
        T0 + MINUTE_MS,
    )
    .unwrap();
    assert_eq!((up.status, up.expected()), (Status::Update, 1));
    let up = up.next.unwrap();
    assert_eq!(
        (up.id.as_str(), up.version, up.severity),
        (open.id.as_str(), 2, BudgetSeverity::Page)
    );
    let none = Assessment {
        severity: None,
        ..page
    };
    let done = observe(
        Some(&up),
        &slo(),
        Objective::default(),
        &none,
        T0 + 2 * MINUTE_MS,
    )
    .unwrap();
    assert_eq!((done.status, done.expected()), (Status::Resolved, 2));
    assert_eq!(done.next, None);
}
