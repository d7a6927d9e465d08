//! Issue 12's scenarios (tests/fixtures/issue12, made by its generate.py): verdicts
//! that need evidence, HTTP API timeouts, answers above the limit, orphaned
//! timeouts, connection failures and delivered execution logs. Each text report is
//! pinned by a snapshot; the facts behind it are asserted here.

mod common;

use apigw_doctor::engine::analysis::{Analysis, EngineConfig, RouteVerdict};
use apigw_doctor::engine::backend::{Backend, PrivateTarget};
use apigw_doctor::engine::findings::{Cause, Kind};
use apigw_doctor::render::report;
use common::{analyze_files, fixture};

fn run(names: &[&str]) -> Analysis {
    let paths: Vec<_> = names
        .iter()
        .map(|n| fixture(&format!("issue12/{n}.json")))
        .collect();
    let refs: Vec<&std::path::Path> = paths.iter().map(|p| p.as_path()).collect();
    analyze_files(&EngineConfig::default(), &refs)
}

#[test]
fn bimodal_route() {
    let a = run(&["bimodal"]);
    let r = &a.routes[0];
    assert_eq!((r.verdict, r.fast, r.slow, r.observed), (RouteVerdict::Bimodal, 8, 2, 10));
    assert_eq!(r.p95, None, "no percentile below n = 20");
    assert_eq!(a.findings.len(), 2);
    let health = a.findings[0].diagnosis.route_health.as_deref().unwrap();
    assert!(!health.contains("routinely"), "{health}");
    assert!(health.contains("8 of 10 (80%)"), "{health}");
    assert_eq!(a.findings[1].diagnosis.route_health.as_deref(), Some(health));
    insta::assert_snapshot!("bimodal", report::text(&a));
}

#[test]
fn http_api_timeout() {
    let a = run(&["http-api-timeout"]);
    let f = &a.findings[0];
    assert_eq!((f.kind, f.status, f.limit_ms), (Kind::Timeout, Some(503), 30_000));
    assert_eq!(f.timestamp, Some(1_795_600_810_000), "from requestTimeEpoch");
    let text = f.diagnosis.text();
    assert!(!text.contains("Sending request to"), "{text}");
    assert!(!text.contains("no timestamps"), "{text}");
    let r = &a.routes[0];
    assert_eq!((r.responses, r.censored, r.timeouts), (6, 1, 1));
    insta::assert_snapshot!("http-api-timeout", report::text(&a));
}

#[test]
fn answer_above_the_limit() {
    let a = run(&["above-limit"]);
    let f = &a.findings[0];
    assert_eq!(f.integration_latency_ms, Some(45_000));
    assert!(f.diagnosis.headline.contains("this API's limit is not 29 s"));
    assert!(f.diagnosis.shows.iter().any(|s| s.contains("TIMEOUT_OVERRIDES")));
    assert!(!f.diagnosis.text().contains("from a 504"));
    insta::assert_snapshot!("above-limit", report::text(&a));
}

#[test]
fn orphaned_timeout() {
    let a = run(&["orphan-execution", "orphan-access"]);
    let f = a.findings.iter().find(|f| f.kind == Kind::Timeout).unwrap();
    assert_eq!(f.route.as_str(), "POST /orders", "the route from the access log");
    assert!(!f.diagnosis.remedies.iter().any(|r| r.contains("INFO")));
    assert!(f.diagnosis.insights_query.is_some());
    insta::assert_snapshot!("orphan", report::text(&a));
}

#[test]
fn alb_connection_failure() {
    let a = run(&["alb-connection-failure"]);
    let f = &a.findings[0];
    assert_eq!((f.kind, f.cause), (Kind::Error, Cause::ConnectionFailure));
    assert!(matches!(
        f.backend,
        Some(Backend::PrivateHttp {
            target: PrivateTarget::ApplicationLoadBalancer,
            ..
        })
    ));
    let text = f.diagnosis.text();
    assert!(text.contains("failed fast"), "{text}");
    assert!(!f.diagnosis.remedies.iter().any(|r| r.contains("mapping template")));
    insta::assert_snapshot!("alb-connection-failure", report::text(&a));
}

#[test]
fn delivered_execution_logs() {
    let a = run(&["delivered-execution-logs"]);
    let f = &a.findings[0];
    assert_eq!((f.kind, f.invoked, f.elapsed_ms), (Kind::Timeout, Some(true), Some(29_002)));
    assert_eq!((f.api_id.as_str(), f.stage.as_str()), ("f1x2t3u4r5", "prod"));
    assert_eq!(f.route.as_str(), "PUT /orders/{orderId}");
    insta::assert_snapshot!("delivered-execution-logs", report::text(&a));
}
