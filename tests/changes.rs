//! "What changed" end to end in the handler: CloudTrail change events delivered by
//! EventBridge are recorded, and the alert of the incident that followed names the
//! change that explains it first (the held-out case of issue 23), with who, when and
//! before → after; a change to another API stays out; a change store that fails
//! degrades the alert's "what changed", never the alert.

mod common;

use std::sync::Arc;

use apigw_doctor::lambda::config::Config;
use apigw_doctor::lambda::wiring::Recorded;
use apigw_doctor::model::change::Change;
use apigw_doctor::monitor::changes::{ChangeStore, MemoryChanges};
use apigw_doctor::monitor::recorder::Recorder;
use apigw_doctor::monitor::state::{StateError, StateFuture};
use apigw_doctor::monitor::Ports;
use common::alerts;
use common::rest_batch::{rid, Batch, Outcome};

/// The onset: 2026-11-30T10:10:00Z.
const ONSET: i64 = 1_796_033_400_000;
const MIN: i64 = 60_000;
const API: &str = "a1b2c3d4e5";

fn config() -> Config {
    Config::from_lookup(|k| (k == "CHANGE_WINDOW_MINUTES").then(|| "60".to_owned())).unwrap()
}

fn monitor(changes: Arc<dyn ChangeStore>) -> Recorded {
    let recorder = Arc::new(Recorder::default());
    let ports = Ports::in_memory(&recorder).with_changes(Some(changes));
    Recorded::with_ports(&config(), ports, recorder)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// An EventBridge "AWS API Call via CloudTrail" event around one CloudTrail record.
fn eventbridge(id: &str, name: &str, at: i64, actor: &str, params: serde_json::Value) -> Vec<u8> {
    let time = chrono::DateTime::from_timestamp_millis(at)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    serde_json::to_vec(&serde_json::json!({
        "version": "0", "id": format!("eb-{id}"), "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.apigateway", "account": "123456789012", "time": time, "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventVersion": "1.11", "eventTime": time, "eventSource": "apigateway.amazonaws.com",
            "eventName": name, "awsRegion": "us-east-1", "eventID": id, "readOnly": false,
            "eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": "123456789012",
            "userIdentity": {"type": "IAMUser", "arn": actor, "accountId": "123456789012",
                             "accessKeyId": "AKIAEXAMPLESECRETKEY"},
            "requestParameters": params, "responseElements": null
        }
    }))
    .unwrap()
}

fn integration(api: &str, patch: Option<&str>, timeout: Option<u64>) -> serde_json::Value {
    let mut p = serde_json::json!({"restApiId": api, "resourceId": "5tf0ab", "httpMethod": "POST"});
    if let Some(v) = patch {
        p["patchOperations"] =
            serde_json::json!([{"op": "replace", "path": "/timeoutInMillis", "value": v}]);
    }
    if let Some(t) = timeout {
        p["timeoutInMillis"] = t.into();
    }
    p
}

/// The changes before the incident: the integration created at 29 s two days earlier
/// (CloudFormation), lowered to 5 s by alice 4 minutes before the onset, and another
/// API's stage updated a minute before it (closer in time, unrelated).
fn changes() -> Vec<Vec<u8>> {
    vec![
        eventbridge(
            "ev-put",
            "PutIntegration",
            ONSET - 2 * 24 * 60 * MIN,
            "arn:aws:sts::123456789012:assumed-role/cfn-exec/AWSCloudFormation",
            integration(API, None, Some(29_000)),
        ),
        eventbridge(
            "ev-lowered",
            "UpdateIntegration",
            ONSET - 4 * MIN,
            "arn:aws:iam::123456789012:user/alice",
            integration(API, Some("5000"), None),
        ),
        eventbridge(
            "ev-other",
            "UpdateStage",
            ONSET - MIN,
            "arn:aws:iam::123456789012:user/bob",
            serde_json::json!({"restApiId": "z9y8x7w6v5", "stageName": "prod",
                "patchOperations": [{"op": "replace", "path": "/deploymentId", "value": "d1"}]}),
        ),
    ]
}

/// POST /orders timing out after 5 s (the lowered limit) beside healthy requests.
fn timeouts() -> Vec<u8> {
    let mut b = Batch::new(API, 7);
    for k in 0..12u64 {
        let outcome = if k % 3 == 0 {
            Outcome::TimeoutAfter(5_003)
        } else {
            Outcome::Ok(900)
        };
        b.request(
            &rid(7_000 + k),
            ONSET + k as i64 * 1_000,
            "POST",
            "/orders",
            "/orders",
            "orders-api-handler",
            outcome,
        );
    }
    b.event()
}

#[test]
fn the_alert_names_the_change_that_lowered_the_integration_timeout_first() {
    let store = Arc::new(MemoryChanges::default());
    let m = monitor(store.clone());
    let rt = rt();
    for e in changes() {
        let s = rt.block_on(m.handle_at(&e, None, ONSET)).unwrap();
        assert_eq!((s.changes_recorded, s.changes_ignored), (1, 0));
    }
    // The same event again (EventBridge delivers at least once): still one change.
    rt.block_on(m.handle_at(&changes()[1], None, ONSET))
        .unwrap();
    let kept = rt
        .block_on(store.changes(Some("123456789012"), 0, i64::MAX, 100))
        .unwrap();
    assert_eq!(kept.len(), 3);
    assert!(
        m.take().is_empty(),
        "a change event alerts nobody by itself"
    );

    let s = rt
        .block_on(m.handle_at(&timeouts(), None, ONSET + 20 * 1000))
        .unwrap();
    assert_eq!(s.alerts_sent, 1);
    let published = m.take();
    let a = alerts(&published)[0];
    let lines: Vec<&str> = a.email.lines().collect();
    assert_eq!(
        lines[3],
        "What changed: UpdateIntegration on integration of API a1b2c3d4e5 (POST, resource 5tf0ab) by alice, \
         4 min before the onset: timeoutInMillis 29000 → 5000 \
         (it lowered the integration timeout to what the failing requests ran into)"
    );
    assert!(
        !a.email.contains("z9y8x7w6v5"),
        "another API's change is not shown"
    );
    assert!(!a.email.contains("AKIAEXAMPLESECRETKEY"));
    let j: serde_json::Value = serde_json::from_str(&a.automation).unwrap();
    let c = &j["changes"];
    assert_eq!(c["source"], "searched");
    assert_eq!(c["window_minutes"], 60);
    assert_eq!(c["changes"].as_array().unwrap().len(), 1);
    let top = &c["changes"][0];
    assert_eq!(top["rank"], 1);
    assert_eq!(top["event_name"], "UpdateIntegration");
    // The onset is the first 504, 5 s after its request started.
    assert_eq!(top["before_onset_s"], 245);
    assert_eq!(top["actor"], "arn:aws:iam::123456789012:user/alice");
    assert_eq!(
        top["detail"],
        serde_json::json!([{"field": "timeoutInMillis", "before": "29000", "after": "5000"}])
    );
    assert_eq!(top["explains"], "integration_timeout_lowered");
    insta::assert_snapshot!("what_changed_email", a.email);
    let chatbot: serde_json::Value = serde_json::from_str(&a.chatbot).unwrap();
    insta::assert_snapshot!(
        "what_changed_chatbot",
        chatbot["content"]["description"].as_str().unwrap()
    );
}

#[test]
fn without_a_change_in_the_window_the_alert_says_so() {
    let m = monitor(Arc::new(MemoryChanges::default()));
    let rt = rt();
    // Only the unrelated change.
    rt.block_on(m.handle_at(&changes()[2], None, ONSET))
        .unwrap();
    rt.block_on(m.handle_at(&timeouts(), None, ONSET + 20 * 1000))
        .unwrap();
    let published = m.take();
    let a = alerts(&published)[0];
    assert!(a.email.contains(
        "WHAT CHANGED\n- No API Gateway or Lambda change to this API, stage or backend function was recorded in the 60 min before the onset."
    ), "{}", a.email);
    let j: serde_json::Value = serde_json::from_str(&a.automation).unwrap();
    assert_eq!(j["changes"]["source"], "searched");
    assert_eq!(j["changes"]["changes"], serde_json::json!([]));
}

/// A change store that fails every call.
struct Failing;

impl ChangeStore for Failing {
    fn put_change<'a>(&'a self, _: &'a Change, _: i64) -> StateFuture<'a, bool> {
        Box::pin(async { Err(failed()) })
    }
    fn changes<'a>(
        &'a self,
        _: Option<&'a str>,
        _: i64,
        _: i64,
        _: usize,
    ) -> StateFuture<'a, Vec<Change>> {
        Box::pin(async { Err(failed()) })
    }
}

fn failed() -> StateError {
    StateError::Dynamo {
        op: "Query",
        table: "t".into(),
        message: "throttled".into(),
    }
}

#[test]
fn a_failing_change_store_degrades_what_changed_never_the_alert() {
    let m = monitor(Arc::new(Failing));
    let rt = rt();
    // The change is not lost: the invocation fails, to be retried (then the failure destination).
    let e = rt
        .block_on(m.handle_at(&changes()[1], None, ONSET))
        .unwrap_err();
    assert!(e.is_retryable());
    let s = rt
        .block_on(m.handle_at(&timeouts(), None, ONSET + 20 * 1000))
        .unwrap();
    assert_eq!(s.alerts_sent, 1);
    let published = m.take();
    let a = alerts(&published)[0];
    assert!(a.email.contains(
        "- The change history could not be read: whether anything changed in the 60 min before the onset is not known."
    ), "{}", a.email);
    let j: serde_json::Value = serde_json::from_str(&a.automation).unwrap();
    assert_eq!(j["changes"]["source"], "unavailable");
}

#[test]
fn cloudtrail_events_that_are_not_changes_are_ignored_and_never_rejected() {
    let m = monitor(Arc::new(MemoryChanges::default()));
    let rt = rt();
    let read_only = eventbridge(
        "ev-get",
        "GetRestApi",
        ONSET,
        "arn:aws:iam::123456789012:user/a",
        serde_json::json!({"restApiId": API}),
    );
    let s = rt.block_on(m.handle_at(&read_only, None, ONSET)).unwrap();
    assert_eq!((s.changes_recorded, s.changes_ignored), (0, 1));
}
