//! CloudTrail change input (`logs::cloudtrail`): the three delivered shapes on the
//! fixtures, and bad input that must give a clear problem, never a panic.

mod common;

use apigw_doctor::logs::cloudtrail::{change_of_record, read_changes, ChangeInputProblem, Ignored};
use apigw_doctor::model::change::{ChangeAction, ChangeTarget};
use common::fixture;
use proptest::prelude::*;

fn read(rel: &str) -> apigw_doctor::logs::cloudtrail::ChangesRead {
    let bytes = std::fs::read(fixture(rel)).unwrap();
    read_changes(&bytes, rel)
}

#[test]
fn lookup_events_output_is_read_through_its_embedded_records() {
    let r = read("cloudtrail/lookup-events-cli-output.json");
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let names: Vec<_> = r.changes.iter().map(|c| c.event_name.as_str()).collect();
    assert_eq!(
        names,
        ["UpdateStage", "UpdateFunctionConfiguration20150331v2"]
    );
    let f = &r.changes[1];
    assert_eq!(f.action, ChangeAction::FunctionConfiguration);
    assert_eq!(f.function(), Some("orders-api-handler"));
    assert_eq!(f.detail("timeout").unwrap().after.as_deref(), Some("60"));
    assert_eq!(
        f.detail("memorySize").unwrap().after.as_deref(),
        Some("512")
    );
    let stage = &r.changes[0];
    assert_eq!(
        stage
            .detail("/*/*/logging/loglevel")
            .unwrap()
            .after
            .as_deref(),
        Some("ERROR")
    );
}

#[test]
fn a_trail_file_is_read_plain_and_gzipped_with_rest_and_http_targets() {
    let plain = std::fs::read(fixture("cloudtrail/s3-log-file-records.json")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &plain).unwrap();
    let gz = gz.finish().unwrap();
    for bytes in [plain, gz] {
        let r = read_changes(&bytes, "trail.json.gz");
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert_eq!(r.changes.len(), 3);
        let deploy = &r.changes[0];
        assert_eq!(deploy.action, ChangeAction::Deployment);
        assert_eq!(
            deploy.detail("deploymentId").unwrap().after.as_deref(),
            Some("dep9k2")
        );
        assert_eq!(
            deploy.actor.as_deref(),
            Some("arn:aws:sts::111122223333:assumed-role/deploy-role/ci-session")
        );
        assert_eq!(deploy.account.as_deref(), Some("111122223333"));
        let http = &r.changes[2];
        assert!(
            matches!(&http.target, ChangeTarget::Api { api_id, integration_id: Some(i), .. } if api_id == "h7g6f5e4d3" && i == "int0a1b")
        );
        assert_eq!(
            http.detail("timeoutInMillis").unwrap().after.as_deref(),
            Some("10000")
        );
    }
}

#[test]
fn an_eventbridge_event_is_its_detail() {
    let r = read("cloudtrail/eventbridge-api-call-lambda.json");
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let c = &r.changes[0];
    assert_eq!(c.action, ChangeAction::ReservedConcurrency);
    assert_eq!(c.event_time, 1_796_033_370_000);
    assert_eq!(
        c.detail("reservedConcurrentExecutions")
            .unwrap()
            .after
            .as_deref(),
        Some("5")
    );
}

#[test]
fn failed_read_only_and_unrelated_calls_are_not_changes() {
    let rec = |extra: serde_json::Value| {
        let mut r = serde_json::json!({"eventID": "e", "eventTime": "2026-11-30T10:00:00Z",
            "eventSource": "lambda.amazonaws.com", "eventName": "PutFunctionConcurrency20171031",
            "requestParameters": {"functionName": "arn:aws:lambda:eu-west-1:111122223333:function:orders:live",
                                  "reservedConcurrentExecutions": 0}});
        for (k, v) in extra.as_object().unwrap() {
            r[k] = v.clone();
        }
        r
    };
    let ok = change_of_record(&rec(serde_json::json!({}))).unwrap();
    assert_eq!(
        ok.target,
        ChangeTarget::Function {
            name: "orders".into(),
            qualifier: Some("live".into())
        }
    );
    assert_eq!(
        change_of_record(&rec(serde_json::json!({"errorCode": "AccessDenied"}))),
        Err(Ignored::Failed)
    );
    assert_eq!(
        change_of_record(&rec(
            serde_json::json!({"eventName": "GetFunction20150331v2"})
        )),
        Err(Ignored::NotAChange)
    );
    assert_eq!(
        change_of_record(&rec(serde_json::json!({"eventTime": "yesterday"}))),
        Err(Ignored::Incomplete)
    );
    assert_eq!(
        change_of_record(&rec(serde_json::json!({"requestParameters": {}}))),
        Err(Ignored::NoTarget)
    );
}

#[test]
fn stage_variable_values_are_never_kept() {
    let r = serde_json::json!({"eventID": "e", "eventTime": "2026-11-30T10:00:00Z",
        "eventSource": "apigateway.amazonaws.com", "eventName": "UpdateStage",
        "requestParameters": {"restApiId": "a1", "stageName": "prod", "patchOperations": [
            {"op": "replace", "path": "/variables/dbPassword", "value": "hunter2"}]}});
    let c = change_of_record(&r).unwrap();
    let text = serde_json::to_string(&c).unwrap();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("dbPassword"));
}

#[test]
fn bad_input_gives_a_clear_problem() {
    let truncated = read_changes(br#"{"Records":[{"eventName":"#, "t.json");
    assert!(matches!(
        truncated.problems[..],
        [ChangeInputProblem::NotJson { .. }]
    ));
    assert!(truncated.problems[0]
        .to_string()
        .starts_with("t.json: not JSON"));

    let embedded = read_changes(
        br#"{"Events":[{"EventName":"UpdateStage","CloudTrailEvent":"{not json"}]}"#,
        "l.json",
    );
    assert_eq!(
        embedded.problems,
        [ChangeInputProblem::EmbeddedNotJson {
            name: "l.json".into(),
            count: 1,
            first: 0
        }]
    );

    let other = read_changes(br#"{"logEvents":[]}"#, "o.json");
    assert!(matches!(
        other.problems[..],
        [ChangeInputProblem::UnknownShape { .. }]
    ));
    let empty = read_changes(br#"{"Records":[]}"#, "e.json");
    assert!(empty.problems.is_empty() && empty.changes.is_empty());
    let bad_gzip = read_changes(&[0x1f, 0x8b, 8, 0, 1, 2, 3], "b.json.gz");
    assert!(matches!(
        bad_gzip.problems[..],
        [ChangeInputProblem::Gzip { .. }]
    ));
}

#[test]
fn a_hundred_thousand_events_are_bounded_and_counted() {
    let record = |i: usize| {
        serde_json::json!({"eventID": format!("e{i}"), "eventTime": "2026-11-30T10:00:00Z",
            "eventSource": "apigateway.amazonaws.com", "eventName": "CreateDeployment",
            "requestParameters": {"restApiId": "a1", "stageName": "prod"}})
    };
    let events: Vec<_> = (0..100_000)
        .map(|i| serde_json::json!({"EventName": "CreateDeployment", "CloudTrailEvent": record(i).to_string()}))
        .collect();
    let bytes = serde_json::to_vec(&serde_json::json!({"Events": events})).unwrap();
    let r = read_changes(&bytes, "big.json");
    assert_eq!(r.records, 100_000);
    assert_eq!(r.changes.len(), apigw_doctor::logs::cloudtrail::MAX_CHANGES);
    assert_eq!(
        r.problems,
        [ChangeInputProblem::TooMany {
            name: "big.json".into(),
            kept: apigw_doctor::logs::cloudtrail::MAX_CHANGES,
            total: 100_000
        }]
    );
}

proptest! {
    #[test]
    fn any_bytes_read_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let r = read_changes(&bytes, "x");
        prop_assert!(r.changes.len() <= r.records);
    }

    #[test]
    fn any_record_shape_reads_without_panic(
        name in "(UpdateIntegration|CreateDeployment|UpdateFunctionConfiguration20150331v2|PutFunctionConcurrency|X)",
        params in proptest::collection::btree_map("[a-zA-Z]{1,12}", "[ -~]{0,20}", 0..6),
        time in "[0-9TZ:\\-]{0,25}",
    ) {
        let r = serde_json::json!({"eventID": "e", "eventTime": time, "eventSource": "s",
            "eventName": name, "requestParameters": params});
        let _ = change_of_record(&r);
    }
}
