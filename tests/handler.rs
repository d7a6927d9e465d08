//! The Lambda's handler on the events in events/ and on built batches, with the
//! dry-run sink and the in-memory incident store: what it would publish (snapshots of
//! every rendering and of the metric data), the incident lifecycle across invocations,
//! and what a failing state store does.

mod common;

use apigw_doctor::lambda::config::Config;
use apigw_doctor::lambda::wiring::Recorded;
use apigw_doctor::monitor::recorder::Published;
use common::alerts;
use common::rest_batch::{self, rid, Batch, Outcome};
use common::{handle as go, repo, schedule};

/// 2026-11-25T10:05:00Z: five minutes after the sample events.
const NOW: i64 = 1_795_601_100_000;

/// The Lambda's configuration from these environment variables only.
fn config(env: &[(&str, &str)]) -> Config {
    let env: std::collections::HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Config::from_lookup(|k| env.get(k).cloned()).unwrap()
}

fn monitor(env: &[(&str, &str)]) -> Recorded {
    Recorded::new(&config(env))
}

fn event(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("events").join(format!("{name}.json"))).unwrap()
}

fn run(
    m: &Recorded,
    name: &str,
    now: i64,
) -> (apigw_doctor::monitor::InvocationSummary, Vec<Published>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let s = rt.block_on(m.handle_at(&event(name), None, now)).unwrap();
    (s, m.take())
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
fn near_limit_incidents_need_enough_requests_timeouts_always_alert() {
    // 3 routes × 2 near-limit requests, one backend: one incident of 6.
    let (s, p) = run(
        &monitor(&[("NEAR_LIMIT_ALERT_MIN", "7")]),
        "near-limit",
        NOW,
    );
    assert_eq!((s.alerts_sent, alerts(&p).len()), (0, 0), "6 is below 7");
    let (s, _) = run(
        &monitor(&[("NEAR_LIMIT_ALERT_MIN", "6")]),
        "near-limit",
        NOW,
    );
    assert_eq!((s.incidents, s.alerts_sent), (1, 1));
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

// ---------------------------------------------------------------- built batches

const API: &str = "a1b2c3d4e5";

const ROUTES: [(&str, &str, &str); 4] = [
    ("GET", "/reports/{reportId}", "/reports/rep-1"),
    ("POST", "/reports", "/reports"),
    ("GET", "/reports/{reportId}/pdf", "/reports/rep-2/pdf"),
    ("DELETE", "/reports/{reportId}", "/reports/rep-3"),
];

/// Traffic on four routes behind one function, `timeouts` of them per route timing out.
fn four_routes(serial: u64, t0: i64, ok_per_route: u64, timeouts_per_route: u64) -> Vec<u8> {
    let mut b = Batch::new(API, serial);
    let mut n = serial * 1000;
    for (i, (m, tpl, path)) in ROUTES.iter().enumerate() {
        for k in 0..ok_per_route {
            n += 1;
            b.request(
                &rid(n),
                t0 + (i as i64) * 1000 + k as i64 * 100,
                m,
                tpl,
                path,
                "reports-api",
                Outcome::Ok(80 + k * 10),
            );
        }
        for k in 0..timeouts_per_route {
            n += 1;
            b.request(
                &rid(n),
                t0 + 500 + (i as i64) * 1000 + k as i64 * 50,
                m,
                tpl,
                path,
                "reports-api",
                Outcome::Timeout,
            );
        }
    }
    b.event()
}

/// Requests to a function API Gateway may not invoke: every one fails with 500.
fn permissions(serial: u64, t0: i64, count: u64) -> Vec<u8> {
    rest_batch::permissions("p9q8r7s6t5", &ROUTES[..2], "billing", serial, t0, count)
}

fn automation(a: &apigw_doctor::render::alert::Rendered) -> serde_json::Value {
    serde_json::from_str(&a.automation).unwrap()
}

fn snapshot_all(name: &str, a: &apigw_doctor::render::alert::Rendered) {
    assert!(a.subject.chars().count() < 100 && !a.subject.chars().any(char::is_control));
    let chatbot: serde_json::Value = serde_json::from_str(&a.chatbot).unwrap();
    assert_eq!(chatbot["version"], "1.0");
    assert_eq!(chatbot["content"]["textType"], "client-markdown");
    let msg: serde_json::Value = serde_json::from_str(&a.message).unwrap();
    assert_eq!(msg["default"], a.chatbot.as_str());
    assert_eq!(msg["email"], a.email.as_str());
    assert_eq!(msg["sqs"], a.automation.as_str());
    assert_eq!(msg["lambda"], a.automation.as_str());
    insta::assert_snapshot!(format!("{name}-subject"), &a.subject);
    insta::assert_snapshot!(format!("{name}-email"), &a.email);
    insta::assert_json_snapshot!(format!("{name}-chatbot"), chatbot);
    insta::assert_json_snapshot!(format!("{name}-automation"), automation(a));
}

const INCIDENT_ENV: &[(&str, &str)] = &[
    ("AWS_REGION", "us-east-1"),
    (
        "ALERT_TOPIC_ARN",
        "arn:aws:sns:us-east-1:123456789012:apigw-doctor-alerts",
    ),
    ("AWS_LAMBDA_FUNCTION_NAME", "apigw-doctor"),
    ("API_NAMES", "a1b2c3d4e5=Reports API"),
    (
        "RUNBOOK_URL",
        "https://wiki.example.com/runbooks/apigw?api={api_id}&stage={stage}&route={route}",
    ),
];

/// 10:00:00Z, the sample events' T0.
const T0: i64 = 1_795_600_800_000;

#[test]
fn timeout_incident_across_four_routes_fires_updates_resolves() {
    // Updates at most every 5 minutes (the default, 15, needs 15 minutes of batches).
    let mut env = INCIDENT_ENV.to_vec();
    env.push(("INCIDENT_UPDATE_SECONDS", "300"));
    let m = monitor(&env);
    // 4 routes × (3 answered + 1 timeout): one incident, 4/16.
    let (s, p) = go(&m, &four_routes(1, T0, 3, 1), T0 + 60_000);
    assert_eq!((s.incidents, s.alerts_sent), (1, 1));
    let a = alerts(&p);
    assert_eq!(a.len(), 1, "one alert for four routes");
    let firing = automation(a[0]);
    assert_eq!(firing["status"], "firing");
    assert_eq!(
        (firing["affected"].as_u64(), firing["requests"].as_u64()),
        (Some(4), Some(16))
    );
    assert_eq!(firing["routes"].as_array().unwrap().len(), 4);
    assert_eq!(firing["rate"], 0.25);
    assert!(
        a[0].subject
            .starts_with("[FIRING] 504 timeouts 4 of 16 (25%) "),
        "{}",
        a[0].subject
    );
    // The first six lines: what (with account and region), where, cause, three checks.
    let head: Vec<&str> = a[0].email.lines().take(6).collect();
    assert!(
        head[0].contains("account 123456789012, us-east-1"),
        "{}",
        head[0]
    );
    assert!(
        head[1].starts_with("Where: 4 routes") && head[1].contains("Lambda function reports-api"),
        "{}",
        head[1]
    );
    assert!(head[2].starts_with("Likely cause: "));
    assert!(
        head[3].starts_with("Check 1: Logs Insights")
            && head[3].contains("~start~'2026-11-25T09*3A55"),
        "{}",
        head[3]
    );
    assert!(head[4].starts_with("Check 2: Lambda function reports-api: monitoring"));
    assert!(head[5].starts_with("Check 3: Dashboard apigw-doctor"));
    assert!(
        !head.join(" ").to_lowercase().contains("retry"),
        "retries are never the first step"
    );
    snapshot_all("incident-timeout-firing", a[0]);
    let id = firing["incident_id"].clone();

    // A minute later, one more timeout per route: doubled, but too soon for an update.
    let (s, p) = go(&m, &four_routes(2, T0 + 60_000, 0, 1), T0 + 120_000);
    assert_eq!((s.incidents, s.alerts_sent, s.alerts_held), (1, 0, 1));
    assert!(alerts(&p).is_empty());

    // Five minutes after firing, still worse than notified: one update, same incident.
    let (s, p) = go(&m, &four_routes(3, T0 + 300_000, 1, 2), T0 + 360_000);
    assert_eq!(s.alerts_sent, 1);
    let a = alerts(&p);
    let update = automation(a[0]);
    assert_eq!(
        (update["status"].as_str(), &update["incident_id"]),
        (Some("update"), &id)
    );
    assert_eq!(
        (update["affected"].as_u64(), update["requests"].as_u64()),
        (Some(16), Some(32))
    );
    assert!(a[0].email.contains("[was 4]"), "{}", a[0].email);
    let chatbot: serde_json::Value = serde_json::from_str(&a[0].chatbot).unwrap();
    assert_eq!(
        chatbot["metadata"]["threadId"], id,
        "one thread per incident"
    );
    snapshot_all("incident-timeout-update", a[0]);

    // The schedule, before and after INCIDENT_RESOLVE_SECONDS (600) of quiet.
    let (s, p) = go(&m, &schedule(), T0 + 360_000 + 599_000);
    assert_eq!((s.resolved, alerts(&p).len()), (0, 0));
    let (s, p) = go(&m, &schedule(), T0 + 360_000 + 600_000);
    assert_eq!((s.resolved, s.alerts_sent), (1, 1));
    let a = alerts(&p);
    let resolved = automation(a[0]);
    assert_eq!(
        (resolved["status"].as_str(), &resolved["incident_id"]),
        (Some("resolved"), &id)
    );
    snapshot_all("incident-timeout-resolved", a[0]);

    // Nothing is left to resolve; the next timeout opens a new incident.
    let (s, _) = go(&m, &schedule(), T0 + 2_000_000);
    assert_eq!(s.resolved, 0);
    let (_, p) = go(&m, &four_routes(4, T0 + 2_000_000, 0, 1), T0 + 2_060_000);
    let next = automation(alerts(&p)[0]);
    assert_eq!(next["status"], "firing");
    assert_ne!(next["incident_id"], id);
}

#[test]
fn permissions_incident_is_critical_and_renders() {
    let mut env = INCIDENT_ENV.to_vec();
    env.push(("INCIDENT_UPDATE_SECONDS", "300"));
    let m = monitor(&env);
    let (_, p) = go(&m, &permissions(1, T0, 3), T0 + 60_000);
    let a = alerts(&p);
    assert_eq!(a.len(), 1);
    let j = automation(a[0]);
    assert_eq!(
        (
            j["severity"].as_str(),
            j["cause"].as_str(),
            j["kind"].as_str()
        ),
        (Some("critical"), Some("lambda_permissions"), Some("error"))
    );
    assert_eq!(j["rate"], 1.0);
    snapshot_all("incident-permissions-firing", a[0]);
    let (_, p) = go(&m, &permissions(2, T0 + 360_000, 6), T0 + 370_000);
    let a = alerts(&p);
    assert_eq!(
        (a.len(), automation(a[0])["status"].as_str()),
        (1, Some("update"))
    );
    snapshot_all("incident-permissions-update", a[0]);
    let (_, p) = go(&m, &schedule(), T0 + 970_000);
    let a = alerts(&p);
    assert_eq!(
        (a.len(), automation(a[0])["status"].as_str()),
        (1, Some("resolved"))
    );
    assert_eq!(automation(a[0])["affected"], 9);
    snapshot_all("incident-permissions-resolved", a[0]);
}

#[test]
fn slack_text_escapes_only_what_slack_needs() {
    let m = monitor(INCIDENT_ENV);
    let (_, p) = go(&m, &four_routes(1, T0, 1, 1), T0 + 60_000);
    let chatbot: serde_json::Value = serde_json::from_str(&alerts(&p)[0].chatbot).unwrap();
    let d = chatbot["content"]["description"].as_str().unwrap();
    assert!(!d.contains('\\'), "no backslash escapes in Slack text: {d}");
    assert!(
        d.contains("`API-Gateway-Execution-Logs_a1b2c3d4e5/prod`")
            || d.contains("`GET /reports/{reportId}`"),
        "{d}"
    );
    for v in chatbot["metadata"]["additionalContext"]
        .as_object()
        .unwrap()
        .values()
    {
        let v = v.as_str().unwrap();
        assert!(
            !v.contains("&amp;") && !v.contains("&lt;"),
            "escaped text in additionalContext: {v}"
        );
    }
}

/// A DynamoDB store whose every call fails at once (nothing listens on port 9).
fn failing_store(config: &Config) -> Recorded {
    use apigw_doctor::aws::state::DynamoStore;
    use apigw_doctor::monitor::recorder::Recorder;
    use apigw_doctor::monitor::Ports;
    use std::sync::Arc;
    let settings = config;
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        .build();
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::from_conf(config),
        "incidents",
    ));
    let recorder = Arc::new(Recorder::default());
    let ports = Ports::in_memory(&recorder).with_shared_state(store);
    Recorded::with_ports(settings, ports, recorder)
}

#[test]
fn a_failing_state_store_still_alerts_marked_possibly_duplicate() {
    let m = failing_store(&config(INCIDENT_ENV));
    let (s, p) = go(&m, &four_routes(1, T0, 1, 1), T0 + 60_000);
    assert_eq!(s.alerts_sent, 1, "the alert is not lost");
    assert!(
        s.state_errors >= 2,
        "claim, incident (and finishing the claim): {}",
        s.state_errors
    );
    let a = alerts(&p);
    assert_eq!(automation(a[0])["possibly_duplicate"], true);
    assert!(a[0].email.contains("possible duplicate"), "{}", a[0].email);
    let counted = p.iter().any(|x| matches!(x, Published::Metrics(b) if b.data.iter().any(|d| d.name == "StateErrors" && d.values[0] as u64 == s.state_errors)));
    assert!(counted, "StateErrors counted");
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
        a[0].email
            .contains("invoked: yes; waited: 29,003 ms of 29,000 ms"),
        "{}",
        a[0].email
    );

    // A fresh container saw only the end: it says so.
    let (_, p) = run(&monitor(&[]), "split-part2", NOW);
    assert!(
        alerts(&p)[0].email.contains("invoked: unknown"),
        "{}",
        alerts(&p)[0].email
    );
}

#[test]
fn alert_cap_folds_the_rest_into_one_summary() {
    // One route calling three functions: three incidents; a cap of 2 sends one and a summary.
    let mut b = Batch::new(API, 1);
    for (i, f) in ["fa", "fb", "fc"].iter().enumerate() {
        b.request(
            &rid(i as u64 + 1),
            T0 + i as i64 * 10,
            "GET",
            "/x",
            "/x",
            f,
            Outcome::Timeout,
        );
    }
    let (s, p) = go(
        &monitor(&[("MAX_ALERTS_PER_INVOCATION", "2")]),
        &b.event(),
        T0 + 60_000,
    );
    let a = alerts(&p);
    assert_eq!((s.incidents, s.alerts_sent, a.len()), (3, 2, 2));
    assert!(
        a[1].subject.contains("2 more incidents"),
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
    let counted = m.take();
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
        (1, 6, 2)
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

#[test]
fn dry_run_json_prints_metric_data_and_alerts() {
    let out = assert_cmd::Command::cargo_bin("apigw-doctor")
        .unwrap()
        .args(["dry-run", "--format", "json"])
        .arg(repo().join("events/timeout-info.json"))
        .arg(repo().join("events/schedule.json"))
        .env_remove("INCIDENTS_TABLE")
        .env_remove("ALERT_TOPIC_ARN")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let metrics = v["metrics"].as_array().unwrap();
    let timeouts = metrics
        .iter()
        .find(|m| {
            m["MetricName"] == "IntegrationTimeouts"
                && m["Dimensions"].as_array().unwrap().len() == 2
        })
        .unwrap();
    assert_eq!(timeouts["Dimensions"][0]["Name"], "ApiId");
    assert_eq!(timeouts["Unit"], "Count");
    assert_eq!(timeouts["Value"], 1.0);
    assert!(metrics
        .iter()
        .any(|m| m["MetricName"] == "IntegrationLatency"
            && m["Values"].is_array()
            && m["Counts"].is_array()));
    let alerts = v["alerts"].as_array().unwrap();
    assert_eq!(
        alerts.len(),
        1,
        "the schedule tick comes long before the incident is quiet"
    );
    assert_eq!(alerts[0]["schema"], "apigw-doctor/incident/1");
    assert_eq!(alerts[0]["status"], "firing");
    assert_eq!(alerts[0]["affected"], 1);
}

#[test]
fn hostile_route_text_cannot_mention_or_link_in_slack() {
    let mut b = Batch::new(API, 9);
    b.request(
        &rid(1),
        T0,
        "GET",
        "/x/<!channel>/@here/<http://evil.example|click>",
        "/x/<!channel>/@here/<http://evil.example|click>",
        "f",
        Outcome::Timeout,
    );
    let (_, p) = go(&monitor(INCIDENT_ENV), &b.event(), T0 + 60_000);
    let a = alerts(&p);
    assert_eq!(a.len(), 1);
    let chatbot: serde_json::Value = serde_json::from_str(&a[0].chatbot).unwrap();
    for field in [
        &chatbot["content"]["title"],
        &chatbot["content"]["description"],
        &chatbot["metadata"]["summary"],
    ] {
        let t = field.as_str().unwrap();
        assert!(!t.contains("<!channel>") && !t.contains("@here"), "{t}");
        assert!(!t.contains("<http://evil"), "{t}");
    }
    assert!(chatbot["content"]["description"]
        .as_str()
        .unwrap()
        .contains("&lt;!channel&gt;"));
    assert!(!a[0].subject.chars().any(char::is_control));
}

/// The start and the end of one request, as two batches of one stream.
fn split_request(latency: u64) -> (Vec<u8>, Vec<u8>) {
    let mut whole = Batch::new(API, 7);
    whole.request(
        &rid(70),
        T0,
        "GET",
        "/orders/{orderId}",
        "/orders/o-70",
        "orders",
        Outcome::Ok(latency),
    );
    let (mut start, mut end) = (Batch::new(API, 7), Batch::new(API, 8));
    let (s, e) = whole.events.split_at(6);
    start.events = s.to_vec();
    end.events = e.to_vec();
    (start.event(), end.event())
}

/// (Route, value) of every `Requests` datum with a Route dimension.
fn requests_by_route(p: &[Published]) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for x in p {
        if let Published::Metrics(b) = x {
            for d in b.data.iter().filter(|d| d.name == "Requests") {
                if let Some((_, r)) = d.dimensions.iter().find(|(n, _)| *n == "Route") {
                    out.push((r.clone(), d.values[0]));
                }
            }
        }
    }
    out
}

/// Two containers share the state (the DynamoDB table): the end of a request reaches
/// one, its start the other, end first. The end is left out where it arrived; the start's
/// container joins the two and counts the request once, on its route.
#[test]
fn a_request_split_between_containers_is_counted_once_on_its_route() {
    use apigw_doctor::monitor::state::MemoryStore;
    let shared = std::sync::Arc::new(MemoryStore::default());
    let container = || Recorded::shared(&config(&[]), &shared);
    let (a, b) = (container(), container());
    let (start, end) = split_request(24_000);
    let (s, p) = go(&b, &end, T0 + 60_000);
    assert_eq!((s.joining.writes, s.joining.deferred), (1, 1));
    assert!(
        requests_by_route(&p).is_empty(),
        "{:?}",
        requests_by_route(&p)
    );
    let (s, p) = go(&a, &start, T0 + 61_000);
    assert_eq!((s.joining.writes, s.joining.joined), (1, 1));
    assert_eq!(
        requests_by_route(&p),
        [("GET /orders/{orderId}".to_owned(), 1.0)]
    );
    assert_eq!(s.analysis.near_limit, 1, "the near-limit finding, whole");

    // With each container's own memory, the end is counted where it arrived, routeless.
    let (c, d) = (monitor(&[]), monitor(&[]));
    let (s, p) = go(&d, &end, T0 + 60_000);
    assert_eq!(s.joining.writes, 0);
    assert_eq!(requests_by_route(&p), [("Other".to_owned(), 1.0)]);
    let (_, p) = go(&c, &start, T0 + 61_000);
    assert!(
        requests_by_route(&p).is_empty(),
        "still waiting: not counted"
    );
}

/// The table fails: the end is counted where it arrived (under its unknown route),
/// never lost, and the failed write counts in `StateErrors`.
#[test]
fn a_failing_state_store_counts_the_split_end_where_it_arrives() {
    let m = failing_store(&config(&[]));
    let (_, end) = split_request(300);
    let (s, p) = go(&m, &end, T0 + 60_000);
    assert_eq!((s.joining.failed, s.joining.deferred), (1, 0));
    assert_eq!(requests_by_route(&p), [("Other".to_owned(), 1.0)]);
    assert!(s.state_errors >= 2, "claim and half: {}", s.state_errors);
}

/// Two accounts whose APIs have the same id and stage (issue 25's case; the envelope's
/// `owner` in the model, issue 21): two incidents, two state keys, each alert naming its
/// own account.
#[test]
fn two_accounts_with_the_same_api_get_an_incident_each() {
    let batch = |owner: &str| {
        let r = "5eed0000-0000-4000-8000-0000000a0001";
        let events = [
            serde_json::json!({"id": format!("{owner}-1"), "timestamp": T0, "message": format!("({r}) Execution failed due to a timeout error")}),
            serde_json::json!({"id": format!("{owner}-2"), "timestamp": T0, "message": format!("({r}) Method completed with status: 504")}),
        ];
        common::subscription::lambda_event_of(
            owner,
            "API-Gateway-Execution-Logs_a1b2c3d4e5/prod",
            &format!("stream-{owner}"),
            &events,
        )
    };
    let m = monitor(&[]);
    let (s1, p1) = go(&m, &batch("111111111111"), T0 + 60_000);
    let (s2, p2) = go(&m, &batch("222222222222"), T0 + 61_000);
    assert_eq!((s1.alerts_sent, s2.alerts_sent), (1, 1), "a firing each");
    let (a1, a2) = (alerts(&p1), alerts(&p2));
    assert_ne!(a1[0].id, a2[0].id);
    assert!(
        a1[0].email.contains("in account 111111111111"),
        "{}",
        a1[0].email
    );
    assert!(
        a2[0].email.contains("in account 222222222222"),
        "{}",
        a2[0].email
    );
    assert_eq!(
        automation(a2[0])["status"],
        "firing",
        "not an update of the first"
    );
}

/// A notifier that fails its first `failures` sends (as SNS does when throttled past
/// its retries), then records like the dry run.
struct Flaky {
    failures: std::sync::atomic::AtomicUsize,
    recorder: std::sync::Arc<apigw_doctor::monitor::recorder::Recorder>,
}

impl apigw_doctor::monitor::outputs::Notifier for Flaky {
    fn name(&self) -> &'static str {
        "flaky"
    }
    fn send<'a>(
        &'a self,
        alert: &'a apigw_doctor::render::alert::Rendered,
    ) -> apigw_doctor::monitor::outputs::OutputFuture<'a, bool> {
        use std::sync::atomic::Ordering;
        let left = self.failures.load(Ordering::SeqCst);
        if left == 0 {
            return self.recorder.send(alert);
        }
        self.failures.store(left - 1, Ordering::SeqCst);
        let id = alert.id.clone();
        Box::pin(async move {
            Err(apigw_doctor::monitor::outputs::PublishError::Alert {
                notifier: "flaky",
                alert_id: id,
                message: "Throttling: Rate exceeded".into(),
            })
        })
    }
}

/// An incident that expired with no schedule tick to resolve it is replaced when its
/// kind comes back; the `resolved` of the old one and the `firing` of the new one go out
/// together. When that send fails, the retry sends both: the old incident's `resolved`
/// is never lost (issue 22).
#[test]
fn a_resolved_lost_to_a_failed_send_after_a_replace_is_sent_on_the_retry() {
    use apigw_doctor::monitor::recorder::Recorder;
    use apigw_doctor::monitor::Ports;
    use std::sync::Arc;
    let config = config(INCIDENT_ENV);
    let recorder = Arc::new(Recorder::default());
    let flaky = Arc::new(Flaky {
        failures: 0.into(),
        recorder: recorder.clone(),
    });
    let mut ports = Ports::in_memory(&recorder);
    ports.notifiers = vec![flaky.clone()];
    let m = Recorded::with_ports(&config, ports, recorder);

    let (_, p) = go(&m, &four_routes(1, T0, 3, 1), T0 + 60_000);
    let first = automation(alerts(&p)[0])["incident_id"].clone();

    // 20 minutes of quiet and no tick (INCIDENT_RESOLVE_SECONDS is 600), then timeouts
    // again, and the first send of the invocation fails.
    let later = T0 + 1_260_000;
    let batch = four_routes(2, later, 3, 1);
    flaky.failures.store(1, std::sync::atomic::Ordering::SeqCst);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = rt
        .block_on(m.handle_at(&batch, None, later + 60_000))
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(alerts(&m.take()).is_empty(), "nothing went out");

    // Lambda's retry of the same batch: the old incident resolves, the new one fires.
    let (s, p) = go(&m, &batch, later + 120_000);
    let sent: Vec<(String, serde_json::Value)> = alerts(&p)
        .iter()
        .map(|a| {
            let j = automation(a);
            (
                j["status"].as_str().unwrap().to_owned(),
                j["incident_id"].clone(),
            )
        })
        .collect();
    assert_eq!(s.alerts_sent, 2, "{sent:?}");
    assert_eq!(sent[0], ("resolved".to_owned(), first.clone()));
    assert_eq!(sent[1].0, "firing");
    assert_ne!(sent[1].1, first);

    // The schedule finds nothing more of the old incident to resolve.
    let (s, _) = go(&m, &schedule(), later + 180_000);
    assert_eq!(s.resolved, 0);
}

/// An incident's `requests` counts every request of its routes while it is open, also
/// those of batches that carried none of its findings (issue 22): the ground truth is the
/// sum of the batches' requests on its four routes.
#[test]
fn incident_requests_count_every_request_of_its_routes() {
    let mut env = INCIDENT_ENV.to_vec();
    env.push(("INCIDENT_UPDATE_SECONDS", "300"));
    let m = monitor(&env);
    let (_, p) = go(&m, &four_routes(1, T0, 3, 1), T0 + 60_000);
    assert_eq!(automation(alerts(&p)[0])["requests"], 16);
    // Healthy: 3 answered requests on each route, no finding.
    let (s, p) = go(&m, &four_routes(2, T0 + 60_000, 3, 0), T0 + 120_000);
    assert_eq!((s.alerts_sent, s.state_errors), (0, 0));
    assert!(alerts(&p).is_empty());
    // 1 answered and 2 timeouts per route: 12 affected of 16 + 12 + 12 requests.
    let (_, p) = go(&m, &four_routes(3, T0 + 300_000, 1, 2), T0 + 360_000);
    let update = automation(alerts(&p)[0]);
    assert_eq!(update["status"], "update");
    assert_eq!(
        (update["affected"].as_u64(), update["requests"].as_u64()),
        (Some(12), Some(40))
    );
    assert_eq!(update["rate"], 0.3);
}
