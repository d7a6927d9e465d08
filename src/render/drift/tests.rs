use super::*;
use crate::engine::daily_latency::{drifting, RouteDay};
use crate::model::daily_latency::{bucket_of, DayLatency};

/// 2026-11-20 as days since the epoch.
const DAY0: i64 = 20_777;

/// A route's p95 on each day (0 to 9).
type Level = fn(i64) -> u64;

/// Routes of 10 days each: `p95(day)` on every request of the day.
fn drifts(routes: &[(&str, Level)]) -> Vec<RouteDrift> {
    let mut rows = Vec::new();
    for (route, p95) in routes {
        for d in 0..10 {
            let mut latency = DayLatency::new(DAY0 + d, 29_000);
            latency.add_bucket(bucket_of(p95(d)), 120);
            rows.push(RouteDay {
                account: "123456789012".into(),
                api_id: "a1b2c3d4e5".into(),
                stage: "prod".into(),
                route: (*route).into(),
                latency,
            });
        }
    }
    drifting(&rows)
}

fn context() -> AlertContext {
    AlertContext {
        account: Some("123456789012".into()),
        region: Some("us-east-1".into()),
        ..AlertContext::default()
    }
}

#[test]
fn sparkline_is_scaled_to_the_limit() {
    assert_eq!(
        sparkline(&[0, 3_625, 14_500, 29_000, 40_000], 29_000),
        "▁▂▅██"
    );
    assert_eq!(sparkline(&[5], 0), "▁", "no limit: no scale");
    assert_eq!(sparkline(&[], 29_000), "");
    assert_eq!(date(DAY0), "2026-11-20");
}

#[test]
fn the_digest_of_one_drifting_route() {
    let d = drifts(&[("GET /reports/{id}", |d| 8_000 + d as u64 * 1_556)]);
    assert_eq!(d.len(), 1);
    let r = digest(&d, DAY0 + 10, &context());
    assert!(r.pages.is_none(), "a digest never pages");
    let msg: serde_json::Value = serde_json::from_str(&r.message).unwrap();
    assert_eq!(msg["email"], r.email.as_str());
    assert_eq!(msg["default"], r.chatbot.as_str());
    let auto: serde_json::Value = serde_json::from_str(&r.automation).unwrap();
    assert_eq!(auto["schema"], SCHEMA);
    assert_eq!(auto["routes"][0]["days"].as_array().unwrap().len(), 10);
    insta::assert_snapshot!("drift-digest-subject", &r.subject);
    insta::assert_snapshot!("drift-digest-email", &r.email);
    insta::assert_json_snapshot!(
        "drift-digest-chatbot",
        serde_json::from_str::<serde_json::Value>(&r.chatbot).unwrap()
    );
    insta::assert_json_snapshot!("drift-digest-automation", auto);
    assert_eq!(
        r.id,
        digest(&d, DAY0 + 10, &context()).id,
        "the same everywhere"
    );
}

#[test]
fn hostile_route_text_cannot_mention_or_link() {
    let d = drifts(&[("GET /<!channel>/@here/<http://evil|x>\u{7}", |d| {
        8_000 + d as u64 * 1_556
    })]);
    let r = digest(&d, DAY0 + 10, &context());
    let chatbot: serde_json::Value = serde_json::from_str(&r.chatbot).unwrap();
    let text = chatbot["content"]["description"].as_str().unwrap();
    assert!(!text.contains("<!channel>") && !text.contains("<http") && !text.contains("@here"));
    assert!(!r.email.contains('\u{7}') && !r.subject.contains('\u{7}'));
    assert!(!r.automation.contains("\\u0007"));
}

#[test]
fn many_routes_stay_under_the_limits() {
    let routes: Vec<(String, Level)> = (0..300)
        .map(|k| {
            (
                format!("GET /r{k}"),
                (|d| 8_000 + d as u64 * 1_556) as Level,
            )
        })
        .collect();
    let refs: Vec<(&str, Level)> = routes.iter().map(|(r, f)| (r.as_str(), *f)).collect();
    let d = drifts(&refs);
    let r = digest(&d, DAY0 + 10, &context());
    assert!(r.message.len() <= crate::render::alert::MAX_MESSAGE_BYTES);
    let chatbot: serde_json::Value = serde_json::from_str(&r.chatbot).unwrap();
    assert!(
        chatbot["content"]["description"]
            .as_str()
            .unwrap()
            .chars()
            .count()
            < 8_000
    );
    assert!(r.email.contains("and 280 more"));
    assert!(r.subject.chars().count() < 100);
}
