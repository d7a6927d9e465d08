use super::*;
use crate::engine::budget::{self, observe, SloCounts};
use crate::engine::burn::Tally;

const T0: i64 = 1_795_600_800_000;
const MIN: i64 = 60_000;

fn slo(route: Option<&str>) -> SloKey {
    SloKey {
        account: Some("123456789012".into()),
        api_id: "a1b2c3d4e5".into(),
        stage: "prod".into(),
        route: route.map(str::to_owned),
    }
}

fn ctx() -> AlertContext {
    AlertContext {
        account: Some("123456789012".into()),
        region: Some("us-east-1".into()),
        api_names: [("a1b2c3d4e5".to_owned(), "Orders API".to_owned())].into(),
        ..AlertContext::default()
    }
}

/// A day of `per` requests a minute on two routes; `bad(m)` of `GET /orders` bad.
fn counts(minutes: i64, bad: impl Fn(i64) -> u64, second_route: &str) -> SloCounts {
    let mut c = SloCounts::default();
    for m in 0..minutes {
        let at = T0 + m * MIN;
        let a = Tally {
            total: 100,
            bad: bad(m),
        };
        let b = Tally {
            total: 50,
            bad: bad(m) / 4,
        };
        c.routes
            .entry("GET /orders".into())
            .or_default()
            .insert(at, a);
        c.routes
            .entry(second_route.into())
            .or_default()
            .insert(at, b);
        let d = c
            .days
            .entry(at.div_euclid(1440 * MIN) * 1440 * MIN)
            .or_default();
        d.add(a);
        d.add(b);
    }
    c.first_minute = Some(T0);
    c
}

/// The steps of a run (firing page, resolve) and the facts of each.
fn steps(
    key: &SloKey,
    c: &SloCounts,
    minutes: std::ops::Range<i64>,
) -> Vec<(BudgetStep, BudgetFacts)> {
    let mut open = None;
    let mut out = Vec::new();
    for m in minutes {
        let f = budget::assess(key, Objective::default(), c, T0 + m * MIN);
        if let Some(s) = observe(
            open.as_ref(),
            key,
            Objective::default(),
            &f.assessment,
            f.at,
        ) {
            open = s.next.clone();
            out.push((s, f));
        }
    }
    out
}

#[test]
fn a_page_and_its_resolve_in_every_medium() {
    // 10 minutes at 25 % after 6 quiet hours: a page, resolved once the 5-minute window
    // has passed the burst (the ticket rules wait for a whole day watched).
    let c = counts(
        14 * 60 + 90,
        |m| if (360..370).contains(&m) { 30 } else { 0 },
        "POST /orders",
    );
    let run = steps(&slo(None), &c, 300..14 * 60 + 90);
    let names: Vec<&str> = run.iter().map(|(s, _)| s.status.as_str()).collect();
    assert_eq!(names, ["firing", "resolved"]);
    for (step, facts) in &run {
        let r = render(step, facts, &ctx());
        let name = step.status.as_str();
        assert!(r.subject.chars().count() < 100, "{}", r.subject);
        insta::assert_snapshot!(format!("budget-{name}-subject"), r.subject);
        insta::assert_snapshot!(format!("budget-{name}-email"), r.email);
        let chatbot: serde_json::Value = serde_json::from_str(&r.chatbot).unwrap();
        insta::assert_json_snapshot!(format!("budget-{name}-chatbot"), chatbot);
        let auto: serde_json::Value = serde_json::from_str(&r.automation).unwrap();
        insta::assert_json_snapshot!(format!("budget-{name}-automation"), auto);
        insta::assert_json_snapshot!(format!("budget-{name}-pages"), r.pages);
        let msg: serde_json::Value = serde_json::from_str(&r.message).unwrap();
        assert_eq!(msg["email"], r.email.as_str());
    }
}

#[test]
fn a_ticket_becoming_a_page_is_an_update_that_says_so() {
    // 0.4 % for a day (burn 4: a ticket, 1 day / 2 h over 3), then 6.7 % (a page).
    let c = counts(
        26 * 60,
        |m| {
            if m < 24 * 60 {
                u64::from(m % 10 < 6)
            } else {
                8
            }
        },
        "POST /orders",
    );
    let run = steps(&slo(Some("GET /orders")), &c, 0..26 * 60);
    let kinds: Vec<(Status, BudgetSeverity)> = run
        .iter()
        .map(|(s, _)| (s.status, s.notice.severity))
        .collect();
    assert_eq!(
        kinds[..2],
        [
            (Status::Firing, BudgetSeverity::Ticket),
            (Status::Update, BudgetSeverity::Page)
        ]
    );
    let (step, facts) = &run[1];
    let r = render(step, facts, &ctx());
    assert!(r.email.contains("Now a page, was a ticket."), "{}", r.email);
    assert_eq!(
        r.pages.as_ref().unwrap().pagerduty["payload"]["severity"],
        "critical"
    );
    assert_eq!(r.pages.as_ref().unwrap().opsgenie.body["priority"], "P1");
    assert_eq!(
        r.pages.as_ref().unwrap().pagerduty["dedup_key"],
        run[0].0.notice.id.as_str()
    );
    insta::assert_snapshot!("budget-update-email", r.email);
}

#[test]
fn route_names_from_logs_are_escaped_for_slack() {
    let hostile = "GET /<!channel>|<http://evil|x> @here";
    let c = counts(60, |_| 30, hostile);
    let run = steps(&slo(None), &c, 0..60);
    let (step, facts) = &run[0];
    let r = render(step, facts, &ctx());
    let chatbot: serde_json::Value = serde_json::from_str(&r.chatbot).unwrap();
    let md = chatbot["content"]["description"].as_str().unwrap();
    assert!(md.contains("GET /&lt;!channel&gt;"), "{md}");
    assert!(
        !md.contains("<!channel>") && !md.contains("@here") && !md.contains('\\'),
        "{md}"
    );
}

#[test]
fn windows_and_objectives_read_as_people_write_them() {
    assert_eq!(window(5 * MIN), "5 min");
    assert_eq!(window(60 * MIN), "1 h");
    assert_eq!(window(1440 * MIN), "1 day");
    assert_eq!(window(3 * 1440 * MIN), "3 days");
    assert_eq!(objective_text(&Objective::default()), "99.9 % over 30 days");
    assert_eq!(
        objective_text(&Objective {
            target: 0.995,
            period_ms: 7 * 1440 * MIN
        }),
        "99.5 % over 7 days"
    );
    assert_eq!(span(36 * 60 * MIN + 5 * MIN), "1 d 12 h");
    assert_eq!(rate_vs(Some(14.44), 14.4), "14.44");
    assert_eq!(rate_vs(Some(14.36), 14.4), "14.36");
    assert_eq!(rate_vs(Some(16.44), 14.4), "16.4");
}

#[test]
fn another_accounts_budget_says_whose() {
    let c = counts(
        14 * 60 + 90,
        |m| if (360..370).contains(&m) { 30 } else { 0 },
        "POST /orders",
    );
    let run = steps(&slo(None), &c, 300..14 * 60 + 90);
    let (step, facts) = &run[0];
    let mut theirs = ctx();
    theirs.home_account = Some("999999999999".into());
    theirs.account_names = [("123456789012".to_owned(), "payments-prod".to_owned())].into();
    let r = render(step, facts, &theirs);
    assert!(
        r.email
            .contains("stage prod in account payments-prod (123456789012)"),
        "{}",
        r.email
    );
    // The doctor's own account is not said again.
    theirs.home_account = Some("123456789012".into());
    assert!(!render(step, facts, &theirs)
        .email
        .contains("in account payments-prod"));
}
