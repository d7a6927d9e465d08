//! The Lambda's handler on the events in events/, with the dry-run sink: what it
//! would publish (snapshots of every rendering and of the metric data), and how it
//! behaves across invocations of one warm container.

mod common;

use apigw_doctor::aws::publish::{Published, Sink};
use apigw_doctor::lambda::config::Config;
use apigw_doctor::lambda::handler::Monitor;
use common::repo;

/// 2026-11-25T10:05:00Z: five minutes after the sample events.
const NOW: i64 = 1_795_601_100_000;

fn monitor(env: &[(&str, &str)]) -> Monitor {
    let env: std::collections::HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Monitor::new(
        Config::from_lookup(|k| env.get(k).cloned()).unwrap(),
        Sink::dry_run(),
    )
}

fn event(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("events").join(format!("{name}.json"))).unwrap()
}

fn run(
    m: &Monitor,
    name: &str,
    now: i64,
) -> (
    apigw_doctor::lambda::handler::InvocationSummary,
    Vec<Published>,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let s = rt.block_on(m.handle_at(&event(name), None, now)).unwrap();
    (s, m.sink().take_recorded())
}

fn alerts(p: &[Published]) -> Vec<&apigw_doctor::render::alert::Rendered> {
    p.iter()
        .filter_map(|x| match x {
            Published::Alert(a) => Some(a),
            _ => None,
        })
        .collect()
}

#[test]
fn alert_renderings() {
    for name in [
        "timeout-info",
        "near-limit",
        "access-log",
        "backend-lambda-log",
    ] {
        let m = monitor(&[("NEAR_LIMIT_ALERT_MIN", "2")]);
        let (_, published) = run(&m, name, NOW);
        for (i, a) in alerts(&published).into_iter().enumerate() {
            assert!(a.subject.chars().count() < 100 && !a.subject.chars().any(char::is_control));
            let chatbot: serde_json::Value = serde_json::from_str(&a.chatbot).unwrap();
            assert_eq!(chatbot["version"], "1.0");
            assert_eq!(chatbot["source"], "custom");
            assert_eq!(chatbot["content"]["textType"], "client-markdown");
            let msg: serde_json::Value = serde_json::from_str(&a.message).unwrap();
            assert_eq!(msg["default"], a.chatbot.as_str());
            assert_eq!(msg["email"], a.email.as_str());
            assert_eq!(msg["sqs"], a.automation.as_str());
            insta::assert_snapshot!(format!("{name}-{i}-subject"), &a.subject);
            insta::assert_snapshot!(format!("{name}-{i}-email"), &a.email);
            insta::assert_json_snapshot!(format!("{name}-{i}-chatbot"), chatbot);
            insta::assert_json_snapshot!(
                format!("{name}-{i}-automation"),
                serde_json::from_str::<serde_json::Value>(&a.automation).unwrap()
            );
        }
    }
}

#[test]
fn metric_data() {
    let m = monitor(&[]);
    let (summary, published) = run(&m, "timeout-info", NOW);
    assert_eq!(
        summary.metric_calls, 1,
        "a typical batch is one PutMetricData call"
    );
    let Some(Published::Metrics(batch)) = published
        .iter()
        .find(|p| matches!(p, Published::Metrics(_)))
    else {
        panic!("no metrics")
    };
    insta::assert_json_snapshot!("timeout-info-metrics", batch);
}

#[test]
fn near_limit_alerts_need_enough_requests_timeouts_always_alert() {
    let (s, p) = run(
        &monitor(&[("NEAR_LIMIT_ALERT_MIN", "3")]),
        "near-limit",
        NOW,
    );
    assert_eq!(
        (s.alerts_sent, alerts(&p).len()),
        (0, 0),
        "2 per route is below 3"
    );
    let (s, _) = run(
        &monitor(&[("NEAR_LIMIT_ALERT_MIN", "2")]),
        "near-limit",
        NOW,
    );
    assert_eq!(s.alerts_sent, 3);
    let (s, _) = run(
        &monitor(&[("NEAR_LIMIT_ALERT_MIN", "100")]),
        "timeout-info",
        NOW,
    );
    assert_eq!(s.alerts_sent, 1);
}

#[test]
fn clean_traffic_sends_metrics_but_no_alert() {
    let (s, p) = run(&monitor(&[]), "clean", NOW);
    assert_eq!((s.alerts_sent, s.metric_calls), (0, 1));
    assert!(alerts(&p).is_empty());
}

#[test]
fn the_same_batch_twice_alerts_once() {
    let m = monitor(&[]);
    let (first, _) = run(&m, "timeout-info", NOW);
    let (second, p) = run(&m, "timeout-info", NOW + 1000);
    assert_eq!(first.alerts_sent, 1);
    assert_eq!(
        (
            second.duplicate_events,
            second.analysis.log_events,
            second.alerts_sent
        ),
        (412, 0, 0)
    );
    assert!(alerts(&p).is_empty());
}

/// A subscription event with one ERROR-level timeout.
fn timeout_event(request_id: &str, ts: i64) -> Vec<u8> {
    use base64::Engine as _;
    use std::io::Write as _;
    let doc = serde_json::json!({
        "messageType": "DATA_MESSAGE", "owner": "1", "logGroup": "API-Gateway-Execution-Logs_a1b2c3d4e5/prod",
        "logStream": "s", "subscriptionFilters": ["f"],
        "logEvents": [
            {"id": format!("{request_id}-1"), "timestamp": ts, "message": format!("({request_id}) Execution failed due to a timeout error")},
            {"id": format!("{request_id}-2"), "timestamp": ts, "message": format!("({request_id}) Method completed with status: 504")},
        ]
    });
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(doc.to_string().as_bytes()).unwrap();
    let data = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
    serde_json::json!({"awslogs": {"data": data}})
        .to_string()
        .into_bytes()
}

#[test]
fn cooldown_holds_and_counts_then_reports_the_suppressed() {
    let m = monitor(&[("ALERT_COOLDOWN_SECONDS", "300")]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let go = |id: &str, now: i64| {
        let s = rt
            .block_on(m.handle_at(&timeout_event(id, now - 30_000), None, now))
            .unwrap();
        (s, m.sink().take_recorded())
    };
    let (s, _) = go("r-1", NOW);
    assert_eq!((s.alerts_sent, s.alerts_held), (1, 0));
    let (s, p) = go("r-2", NOW + 60_000);
    assert_eq!(
        (s.analysis.timeouts, s.alerts_sent, s.alerts_held),
        (1, 0, 1)
    );
    assert!(alerts(&p).is_empty());
    let (s, p) = go("r-3", NOW + 400_000);
    assert_eq!(s.alerts_sent, 1);
    assert!(
        alerts(&p)[0]
            .email
            .contains("1 more of these were held back by the cooldown"),
        "{}",
        alerts(&p)[0].email
    );
}

#[test]
fn a_request_split_over_two_invocations_is_joined() {
    let m = monitor(&[]);
    let (s1, p1) = run(&m, "split-part1", NOW);
    assert_eq!((s1.analysis.timeouts, s1.pending_requests), (0, 1));
    assert!(alerts(&p1).is_empty());
    let (s2, p2) = run(&m, "split-part2", NOW + 29_000);
    assert_eq!((s2.analysis.timeouts, s2.pending_requests), (1, 0));
    let a = alerts(&p2);
    assert!(
        a[0].subject.contains("PUT /orders/{orderId}"),
        "{}",
        a[0].subject
    );
    assert!(
        a[0].email.contains("Invoked: yes; elapsed 29,003 ms"),
        "{}",
        a[0].email
    );

    // A fresh container saw only the end: it says so.
    let (_, p) = run(&monitor(&[]), "split-part2", NOW);
    assert!(alerts(&p)[0].email.contains("Invoked: unknown"));
}

#[test]
fn alert_cap_folds_the_rest_into_one_summary() {
    let (s, p) = run(
        &monitor(&[
            ("MAX_ALERTS_PER_INVOCATION", "2"),
            ("NEAR_LIMIT_ALERT_MIN", "1"),
        ]),
        "near-limit",
        NOW,
    );
    let a = alerts(&p);
    assert_eq!((s.alerts_sent, a.len()), (2, 2));
    assert!(
        a[1].subject
            .starts_with("apigw-doctor: 2 more alert groups"),
        "{}",
        a[1].subject
    );
}

#[test]
fn malformed_and_control_batches() {
    let m = monitor(&[]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let err = rt
        .block_on(m.handle_at(&event("malformed"), None, NOW))
        .unwrap_err();
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("awslogs.data: not gzip"), "{err}");
    let counted = m.sink().take_recorded();
    let Some(Published::Metrics(b)) = counted.first() else {
        panic!("BatchesRejected not counted")
    };
    assert!(b
        .data
        .iter()
        .any(|d| d.name == "BatchesRejected" && d.values == [1.0]));

    let (s, p) = run(&m, "control-message", NOW);
    assert_eq!((s.analysis.control_messages, s.alerts_sent), (1, 0));
    assert!(alerts(&p).is_empty());
}

#[test]
fn kinesis_records_are_one_invocation() {
    let (s, _) = run(&monitor(&[("NEAR_LIMIT_ALERT_MIN", "2")]), "kinesis", NOW);
    assert_eq!(
        (s.analysis.timeouts, s.analysis.near_limit, s.alerts_sent),
        (1, 6, 4)
    );
}

#[test]
fn emf_mode_prints_lines_and_calls_no_api() {
    let (s, p) = run(&monitor(&[("METRICS_MODE", "emf")]), "timeout-info", NOW);
    assert_eq!(s.metric_calls, 0);
    let Some(Published::Emf(lines)) = p.first() else {
        panic!("no EMF")
    };
    let v: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(
        v["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "ApigwDoctor"
    );
}

#[test]
fn secrets_never_reach_alerts_or_metrics() {
    for name in [
        "timeout-info",
        "near-limit",
        "function-timeout-502",
        "access-log",
    ] {
        let (_, p) = run(&monitor(&[("NEAR_LIMIT_ALERT_MIN", "1")]), name, NOW);
        let text = format!("{p:?}");
        for secret in [
            "eyJhbGciOiJIUzI1NiJ9",
            "abc123secret",
            "AKIAFAKEKEY",
            "IQoJb3JpZ2lu",
            "Execution failed due to a timeout error\\\"}",
        ] {
            assert!(!text.contains(secret), "{name}: {secret} leaked");
        }
    }
}
