//! Every scenario in events/ gives the findings it was made for, and the text
//! report of each is pinned by a snapshot.

mod common;

use apigw_doctor::engine::config::EngineConfig;
use apigw_doctor::model::kind::{Cause, Kind};
use apigw_doctor::render::report;
use apigw_doctor::render::words::diagnosis::Words;
use common::{analyze, analyze_files, repo};

fn event(name: &str) -> std::path::PathBuf {
    repo().join("events").join(format!("{name}.json"))
}

fn kinds(name: &str) -> Vec<(Kind, Cause, Option<bool>)> {
    analyze(&event(name))
        .findings
        .iter()
        .map(|f| (f.kind, f.cause, f.invoked))
        .collect()
}

#[test]
fn scenarios() {
    use Cause::*;
    use Kind::*;
    assert_eq!(
        kinds("timeout-info"),
        [(Timeout, IntegrationTimeout, Some(true))]
    );
    assert_eq!(
        kinds("timeout-error-level"),
        [(Timeout, IntegrationTimeout, None)]
    );
    assert_eq!(
        kinds("timeout-not-invoked"),
        [(Timeout, IntegrationTimeout, Some(false))]
    );
    assert_eq!(kinds("near-limit").len(), 6);
    assert!(kinds("near-limit").iter().all(|k| k.0 == NearLimit));
    assert_eq!(kinds("clean"), []);
    assert_eq!(
        kinds("function-timeout-502"),
        [(Error, FunctionTimeout, Some(true))]
    );
    assert_eq!(
        kinds("access-log"),
        [
            (Timeout, IntegrationTimeout, None),
            (Error, FunctionError, Some(true)),
            (NearLimit, SlowIntegration, Some(true))
        ]
    );
    assert_eq!(
        kinds("backend-lambda-log"),
        [(Misconfiguration, FunctionTimeoutOverLimit, None)]
    );
    assert_eq!(kinds("kinesis").len(), 7);
    let control = analyze(&event("control-message"));
    assert_eq!(
        (control.summary.control_messages, control.findings.len()),
        (1, 0)
    );
}

#[test]
fn a_request_split_over_two_batches_is_joined() {
    let a = analyze_files(
        &EngineConfig::default(),
        &[&event("split-part1"), &event("split-part2")],
    );
    assert_eq!(a.findings.len(), 1);
    let f = &a.findings[0];
    assert_eq!(
        (f.kind, f.invoked, f.elapsed_ms),
        (Kind::Timeout, Some(true), Some(29_003))
    );
    assert_eq!(f.route.as_str(), "PUT /orders/{orderId}");
    // Alone, the second half cannot say whether the integration was invoked.
    assert_eq!(
        kinds("split-part2"),
        [(Kind::Timeout, Cause::IntegrationTimeout, None)]
    );
}

#[test]
fn timeout_limit_overrides_change_the_verdict() {
    let cfg = EngineConfig {
        limits: apigw_doctor::model::limits::Limits::default()
            .with_overrides("a1b2c3d4e5/prod=60000")
            .unwrap(),
        ..EngineConfig::default()
    };
    // With a 60 s limit, 26-28 s is no longer near it.
    let a = analyze_files(&cfg, &[&event("near-limit")]);
    assert_eq!(a.summary.near_limit, 0);
    assert!(a.routes.iter().all(|r| r.limit_ms == 60_000));
}

#[test]
fn secrets_in_logs_never_reach_the_report() {
    for name in [
        "timeout-info",
        "near-limit",
        "function-timeout-502",
        "access-log",
    ] {
        let a = analyze(&event(name));
        for out in [report::text(&a), report::json(&a)] {
            for secret in [
                "eyJhbGciOiJIUzI1NiJ9",
                "abc123secret",
                "AKIAFAKEKEY",
                "IQoJb3JpZ2lu",
            ] {
                assert!(!out.contains(secret), "{name}: {secret} leaked");
            }
        }
    }
}

#[test]
fn text_reports() {
    for name in [
        "timeout-info",
        "timeout-error-level",
        "timeout-not-invoked",
        "function-timeout-502",
        "access-log",
        "backend-lambda-log",
    ] {
        insta::assert_snapshot!(name, report::text(&analyze(&event(name))));
    }
}

#[test]
fn backend_function_logs_join_the_timeout_diagnosis() {
    let a = analyze_files(
        &EngineConfig::default(),
        &[&event("timeout-info"), &event("backend-lambda-log")],
    );
    let timeout = &a.findings[0];
    assert_eq!(timeout.kind, Kind::Timeout);
    let words = Words::of(timeout);
    assert!(words
        .shows
        .iter()
        .any(|s| s.contains("orders-api's own log shows its timeout is 60 s")));
    assert!(words.remedies[0].starts_with("Set the timeout of Lambda function orders-api to 28 s"));
    let mis = a
        .findings
        .iter()
        .find(|f| f.kind == Kind::Misconfiguration)
        .unwrap();
    assert_eq!((mis.api_id.as_str(), mis.limit_ms), ("a1b2c3d4e5", 29_000));
    assert!(
        !mis.route.is_unknown(),
        "the misconfiguration names a route that calls the function"
    );
}
