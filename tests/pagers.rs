//! The pagers beside SNS (issue 24): the PagerDuty Events API v2 and Opsgenie Alert API
//! bodies of a firing, an update and a resolve, snapshotted and checked against the
//! vendor schemas in tests/schemas; then the real notifiers against a loopback endpoint
//! standing in for each vendor: one dedup key / alias from trigger to resolve, a 500
//! retried, and a failed page counted while the SNS alert still goes.

mod common;
#[path = "common/loopback.rs"]
mod loopback;

use std::sync::{Arc, Mutex};

use apigw_doctor::aws::publish::pager::opsgenie::OpsgenieNotifier;
use apigw_doctor::aws::publish::pager::pagerduty::PagerDutyNotifier;
use apigw_doctor::aws::publish::pager::{http_client, Key, KeySource};
use apigw_doctor::lambda::config::Config;
use apigw_doctor::lambda::wiring::Recorded;
use apigw_doctor::monitor::outputs::Notifier;
use apigw_doctor::monitor::recorder::{Published, Recorder};
use apigw_doctor::monitor::Ports;
use common::repo;
use common::rest_batch::{self, rid, Batch, Outcome};
use common::vendor_schemas::{assert_valid, schema};
use common::{alerts, schedule};

/// An incident alert's pages (every incident alert has them; only a digest has none).
fn pages_of(a: &apigw_doctor::render::alert::Rendered) -> &apigw_doctor::render::alert::Pages {
    a.pages.as_ref().expect("an incident alert has its pages")
}

/// 10:00:00Z, the sample events' T0.
const T0: i64 = 1_795_600_800_000;
const PD_KEY: &str = "R0UT1NGKEY0123456789abcdefABCDEF";
const OG_KEY: &str = "eb243592-faa2-4ba2-a551q-1afdf565c889";

const ENV: &[(&str, &str)] = &[
    ("AWS_REGION", "us-east-1"),
    (
        "ALERT_TOPIC_ARN",
        "arn:aws:sns:us-east-1:123456789012:apigw-doctor-alerts",
    ),
    ("AWS_LAMBDA_FUNCTION_NAME", "apigw-doctor"),
    ("API_NAMES", "p9q8r7s6t5=Billing API"),
    ("INCIDENT_UPDATE_SECONDS", "300"),
    (
        "RUNBOOK_URL",
        "https://wiki.example.com/runbooks/apigw?api={api_id}&stage={stage}",
    ),
];

fn config() -> Config {
    let env: std::collections::HashMap<String, String> = ENV
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Config::from_lookup(|k| env.get(k).cloned()).unwrap()
}

/// Requests to a function API Gateway may not invoke: every one fails with 500.
fn permissions(serial: u64, t0: i64, count: u64) -> Vec<u8> {
    let routes = [
        ("GET", "/invoices/{id}", "/invoices/42"),
        ("POST", "/invoices", "/invoices"),
    ];
    rest_batch::permissions("p9q8r7s6t5", &routes, "billing", serial, t0, count)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Firing, update, resolved of one incident, through `m`.
fn lifecycle(rt: &tokio::runtime::Runtime, m: &Recorded) -> Vec<Vec<Published>> {
    let mut out = Vec::new();
    for (event, now) in [
        (permissions(1, T0, 3), T0 + 60_000),
        (permissions(2, T0 + 360_000, 6), T0 + 370_000),
        (schedule(), T0 + 970_000),
    ] {
        rt.block_on(m.handle_at(&event, None, now)).unwrap();
        out.push(m.take());
    }
    out
}

#[test]
fn payloads_pass_the_vendor_schemas() {
    let (pd, og_create, og_close) = (
        schema("pagerduty/events-v2-enqueue.schema.json"),
        schema("opsgenie/create-alert.schema.json"),
        schema("opsgenie/close-alert.schema.json"),
    );
    let m = Recorded::new(&config());
    let rt = rt();
    let steps = lifecycle(&rt, &m);
    let mut ids = Vec::new();
    for (step, name) in steps.iter().zip(["firing", "update", "resolved"]) {
        let a = alerts(step);
        assert_eq!(a.len(), 1, "{name}");
        let pages = pages_of(a[0]);
        assert_valid(&pd, name, &pages.pagerduty);
        let og = &pages.opsgenie;
        if name == "resolved" {
            assert!(
                og.path.ends_with("/close?identifierType=alias"),
                "{}",
                og.path
            );
            assert_valid(&og_close, name, &og.body);
        } else {
            assert_eq!(og.path, "/v2/alerts");
            assert_valid(&og_create, name, &og.body);
        }
        ids.push((
            pages.pagerduty["dedup_key"].as_str().unwrap().to_owned(),
            og.body["alias"].as_str().map(str::to_owned),
        ));
        insta::assert_json_snapshot!(format!("pagerduty-{name}"), pages.pagerduty);
        insta::assert_json_snapshot!(format!("opsgenie-{name}"), og);
    }
    // One PagerDuty alert and one Opsgenie alert, from trigger to resolve.
    assert!(ids.iter().all(|(k, _)| *k == ids[0].0), "{ids:?}");
    assert_eq!(ids[0].1.as_deref(), Some(ids[0].0.as_str()));
    assert_eq!(ids[1].1, ids[0].1);
    let first = alerts(&steps[0]);
    let p = pages_of(first[0]);
    assert_eq!(p.pagerduty["event_action"], "trigger");
    assert_eq!(p.pagerduty["payload"]["severity"], "critical");
    assert_eq!(p.opsgenie.body["priority"], "P1");
    assert_eq!(
        p.pagerduty["routing_key"],
        apigw_doctor::render::alert::ROUTING_KEY_PLACEHOLDER
    );
    assert_eq!(
        pages_of(alerts(&steps[2])[0]).pagerduty["event_action"],
        "resolve"
    );
}

#[test]
fn the_summary_over_the_cap_pages_once_and_passes_the_schemas() {
    let mut cfg = config();
    cfg.max_alerts_per_invocation = 1;
    let m = Recorded::new(&cfg);
    let rt = rt();
    // Two incidents (two APIs) in one invocation, cap 1: one summary.
    let mut b = Batch::new("p9q8r7s6t5", 1);
    let mut c = Batch::new("a1b2c3d4e5", 2);
    for k in 0..3 {
        b.request(
            &rid(k),
            T0 + k as i64 * 100,
            "GET",
            "/a",
            "/a",
            "billing",
            Outcome::Permissions,
        );
        c.request(
            &rid(100 + k),
            T0 + k as i64 * 100,
            "GET",
            "/b",
            "/b",
            "reports",
            Outcome::Timeout,
        );
    }
    for e in [b.event(), c.event()] {
        rt.block_on(m.handle_at(&e, None, T0 + 60_000)).unwrap();
    }
    for a in alerts(&m.take()) {
        assert_valid(
            &schema("pagerduty/events-v2-enqueue.schema.json"),
            &a.id,
            &pages_of(a).pagerduty,
        );
        assert_valid(
            &schema("opsgenie/create-alert.schema.json"),
            &a.id,
            &pages_of(a).opsgenie.body,
        );
    }
}

#[test]
fn bounds_and_log_text_hold_on_hostile_input() {
    // An API name from settings and route text from logs, long and with controls.
    let mut cfg = config();
    cfg.api_names.insert(
        "p9q8r7s6t5".into(),
        format!(
            "Billing\u{7} Authorization=Bearer s3cr3tT0k3n {}",
            "é".repeat(3000)
        ),
    );
    let m = Recorded::new(&cfg);
    let rt = rt();
    let steps = lifecycle(&rt, &m);
    for step in &steps {
        for a in alerts(step) {
            let text = serde_json::to_string(pages_of(a)).unwrap();
            assert!(!text.contains("s3cr3tT0k3n"), "{text}");
            assert!(!text.contains("\\u0007"), "{text}");
            let s = &pages_of(a).pagerduty["payload"]["summary"];
            assert!(s.as_str().is_none_or(|s| s.chars().count() <= 1024));
            let msg = &pages_of(a).opsgenie.body["message"];
            assert!(msg.as_str().is_none_or(|s| s.chars().count() <= 130));
            if let Some(d) = pages_of(a).opsgenie.body["details"].as_object() {
                let total: usize = d
                    .iter()
                    .map(|(k, v)| k.chars().count() + v.as_str().unwrap().chars().count())
                    .sum();
                assert!(total <= 8000, "{total}");
            }
            assert_valid(
                &schema("pagerduty/events-v2-enqueue.schema.json"),
                &a.id,
                &pages_of(a).pagerduty,
            );
        }
    }
}

// ---------------------------------------------------------------- the notifiers

/// One request the fake vendor got: its request line and headers, and its body.
#[derive(Debug, Clone)]
struct Got {
    head: String,
    body: serde_json::Value,
}

/// A fake vendor on 127.0.0.1: answers each request with the next status of `statuses`
/// (then 202), and keeps what it got.
async fn vendor(statuses: Vec<u16>) -> (String, Arc<Mutex<Vec<Got>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = got.clone();
    let statuses = Arc::new(Mutex::new(statuses.into_iter()));
    let url = loopback::serve(move |head, body| {
        seen.lock().unwrap().push(Got {
            head: head.to_owned(),
            body: serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
        });
        let status = statuses.lock().unwrap().next().unwrap_or(202);
        let text = match status {
            202 => r#"{"status":"success","message":"Event processed","result":"Request will be processed"}"#,
            _ => r#"{"status":"error","message":"nope"}"#,
        };
        loopback::response(&format!("{status} X"), "content-type: application/json\r\n", text.as_bytes())
    })
    .await;
    (url, got)
}

/// SNS stands in as the recorder (the channel of record), then the two pagers.
fn monitor_with_pagers(pd_url: &str, og_url: &str) -> Recorded {
    let recorder = Arc::new(Recorder::default());
    let mut ports = Ports::in_memory(&recorder);
    let http = http_client();
    ports.notifiers.push(Arc::new(PagerDutyNotifier::new(
        http.clone(),
        format!("{pd_url}/v2/enqueue"),
        Key::new(KeySource::Fixed(PD_KEY.into())),
    )) as Arc<dyn Notifier>);
    ports.notifiers.push(Arc::new(OpsgenieNotifier::new(
        http,
        og_url,
        Key::new(KeySource::Fixed(OG_KEY.into())),
    )));
    Recorded::with_ports(&config(), ports, recorder)
}

fn notifier_failures(p: &[Published]) -> Vec<(String, f64)> {
    p.iter()
        .filter_map(|x| match x {
            Published::Metrics(m) => Some(m),
            _ => None,
        })
        .flat_map(|m| m.data.iter())
        .filter(|d| d.name == "NotifierFailures")
        .map(|d| (d.dimensions[0].1.clone(), d.values[0]))
        .collect()
}

#[test]
fn trigger_update_resolve_land_on_one_dedup_key_and_alias() {
    let rt = rt();
    // PagerDuty answers the first trigger with a 500: the notifier tries again.
    let ((pd_url, pd), (og_url, og)) =
        rt.block_on(async { (vendor(vec![500]).await, vendor(Vec::new()).await) });
    let m = monitor_with_pagers(&pd_url, &og_url);
    let steps = lifecycle(&rt, &m);
    for s in &steps {
        assert_eq!(alerts(s).len(), 1, "the SNS alert went out");
        assert!(
            notifier_failures(s).is_empty(),
            "{:?}",
            notifier_failures(s)
        );
    }
    let id = pages_of(alerts(&steps[0])[0]).pagerduty["dedup_key"].clone();

    let pd = pd.lock().unwrap().clone();
    assert_eq!(pd.len(), 4, "3 events, the first tried twice");
    let actions: Vec<&str> = pd
        .iter()
        .map(|g| g.body["event_action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["trigger", "trigger", "trigger", "resolve"]);
    for g in &pd {
        assert!(
            g.head.starts_with("POST /v2/enqueue HTTP/1.1"),
            "{}",
            g.head
        );
        assert_eq!(g.body["dedup_key"], id);
        assert_eq!(
            g.body["routing_key"], PD_KEY,
            "the key is put in at send time"
        );
        assert!(!g.head.to_lowercase().contains("authorization"));
    }

    let og = og.lock().unwrap().clone();
    assert_eq!(og.len(), 3);
    let alias = id.as_str().unwrap();
    let path_alias = percent_encode(alias);
    assert!(
        og[0].head.starts_with("POST /v2/alerts HTTP/1.1"),
        "{}",
        og[0].head
    );
    assert!(og[1].head.starts_with("POST /v2/alerts HTTP/1.1"));
    assert!(
        og[2].head.starts_with(&format!(
            "POST /v2/alerts/{path_alias}/close?identifierType=alias HTTP/1.1"
        )),
        "{}",
        og[2].head
    );
    assert_eq!(
        (og[0].body["alias"].as_str(), og[1].body["alias"].as_str()),
        (Some(alias), Some(alias))
    );
    for g in &og {
        assert!(
            g.head
                .lines()
                .any(|l| l.eq_ignore_ascii_case(&format!("authorization: GenieKey {OG_KEY}"))),
            "{}",
            g.head
        );
    }
    // What was recorded and logged never holds a key.
    let text = format!("{steps:?}");
    assert!(!text.contains(PD_KEY) && !text.contains(OG_KEY));
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn a_failed_page_is_counted_and_the_sns_alert_still_goes() {
    let rt = rt();
    // PagerDuty refuses (400: not retried); Opsgenie fails three times (500: retried, then given up).
    let ((pd_url, pd), (og_url, og)) =
        rt.block_on(async { (vendor(vec![400; 10]).await, vendor(vec![500; 3]).await) });
    let m = monitor_with_pagers(&pd_url, &og_url);
    rt.block_on(m.handle_at(&permissions(1, T0, 3), None, T0 + 60_000))
        .unwrap();
    let p = m.take();
    assert_eq!(alerts(&p).len(), 1, "the SNS alert went out");
    let mut failures = notifier_failures(&p);
    failures.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        failures,
        [("opsgenie".to_owned(), 1.0), ("pagerduty".to_owned(), 1.0)]
    );
    assert_eq!(pd.lock().unwrap().len(), 1, "a 400 is final");
    assert_eq!(og.lock().unwrap().len(), 3, "a 500 is tried three times");
}

#[test]
fn dry_run_json_shows_each_page_with_the_key_parameter_not_the_key() {
    let out = assert_cmd::Command::cargo_bin("apigw-doctor")
        .unwrap()
        .args(["dry-run", "--format", "json"])
        .arg(repo().join("events/timeout-info.json"))
        .env_remove("INCIDENTS_TABLE")
        .env_remove("ALERT_TOPIC_ARN")
        .env("PAGERDUTY_ROUTING_KEY_PARAMETER", "/apigw-doctor/pagerduty")
        .env_remove("OPSGENIE_API_KEY_PARAMETER")
        .env("OPSGENIE_API_URL", "https://api.eu.opsgenie.com")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let pages = v["pages"].as_array().unwrap();
    assert_eq!(pages.len(), 1);
    let pd = &pages[0]["pagerduty"];
    assert_eq!(pd["configured"], true);
    assert_eq!(pd["url"], "https://events.pagerduty.com/v2/enqueue");
    assert_eq!(
        pd["body"]["routing_key"],
        "<from SSM parameter /apigw-doctor/pagerduty>"
    );
    assert_eq!(pd["body"]["event_action"], "trigger");
    let og = &pages[0]["opsgenie"];
    assert_eq!(og["configured"], false);
    assert_eq!(og["url"], "https://api.eu.opsgenie.com/v2/alerts");
    assert_eq!(
        og["headers"]["Authorization"],
        "GenieKey <not configured: set OPSGENIE_API_KEY_PARAMETER>"
    );
    assert_eq!(
        pages[0]["alert_id"]
            .as_str()
            .map(|s| s.starts_with(pd["body"]["dedup_key"].as_str().unwrap())),
        Some(true)
    );
}
