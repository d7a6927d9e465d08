//! Issue 12's scenarios (tests/fixtures/issue12, made by its generate.py): verdicts
//! that need evidence, HTTP API timeouts, answers above the limit, orphaned
//! timeouts, connection failures and delivered execution logs. Each text report is
//! pinned by a snapshot; the facts behind it are asserted here.

mod common;

use apigw_doctor::engine::analysis::Analysis;

use apigw_doctor::engine::config::EngineConfig;

use apigw_doctor::model::backend::{Backend, PrivateTarget};
use apigw_doctor::model::kind::{Cause, Kind};
use apigw_doctor::model::stats::RouteVerdict;
use apigw_doctor::render::report;
use apigw_doctor::render::words::diagnosis::Words;
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
    assert_eq!(
        (r.verdict, r.fast, r.slow, r.observed),
        (RouteVerdict::Bimodal, 8, 2, 10)
    );
    assert_eq!(r.p95, None, "no percentile below n = 20");
    assert_eq!(a.findings.len(), 2);
    let health = Words::of(&a.findings[0]).route_health.unwrap();
    assert!(!health.contains("routinely"), "{health}");
    assert!(health.contains("8 of 10 (80%)"), "{health}");
    assert_eq!(Words::of(&a.findings[1]).route_health, Some(health));
    insta::assert_snapshot!("bimodal", report::text(&a));
}

#[test]
fn http_api_timeout() {
    let a = run(&["http-api-timeout"]);
    let f = &a.findings[0];
    assert_eq!(
        (f.kind, f.status, f.limit_ms),
        (Kind::Timeout, Some(503), 30_000)
    );
    assert_eq!(
        f.timestamp,
        Some(1_795_600_810_000),
        "from requestTimeEpoch"
    );
    let text = Words::of(f).text();
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
    assert!(Words::of(f)
        .headline
        .contains("this API's limit is not 29 s"));
    assert!(Words::of(f)
        .shows
        .iter()
        .any(|s| s.contains("TIMEOUT_OVERRIDES")));
    assert!(!Words::of(f).text().contains("from a 504"));
    insta::assert_snapshot!("above-limit", report::text(&a));
}

#[test]
fn orphaned_timeout() {
    let a = run(&["orphan-execution", "orphan-access"]);
    let f = a.findings.iter().find(|f| f.kind == Kind::Timeout).unwrap();
    assert_eq!(
        f.route.as_str(),
        "POST /orders",
        "the route from the access log"
    );
    assert!(!Words::of(f).remedies.iter().any(|r| r.contains("INFO")));
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
    let text = Words::of(f).text();
    assert!(text.contains("failed fast"), "{text}");
    assert!(!Words::of(f)
        .remedies
        .iter()
        .any(|r| r.contains("mapping template")));
    insta::assert_snapshot!("alb-connection-failure", report::text(&a));
}

#[test]
fn delivered_execution_logs() {
    let a = run(&["delivered-execution-logs"]);
    let f = &a.findings[0];
    assert_eq!(
        (f.kind, f.invoked, f.elapsed_ms),
        (Kind::Timeout, Some(true), Some(29_002))
    );
    assert_eq!(
        (f.api_id.as_str(), f.stage.as_str()),
        ("f1x2t3u4r5", "prod")
    );
    assert_eq!(f.route.as_str(), "PUT /orders/{orderId}");
    insta::assert_snapshot!("delivered-execution-logs", report::text(&a));
}

/// The incident: 600 requests over 10 minutes on 6 routes, 190 timeouts,
/// Lambda and ALB backends. Every count, rate and percentile against ground truth
/// computed here independently (timeouts as +∞, nearest rank).
#[test]
fn incident_scale_numbers_are_true() {
    use apigw_doctor::engine::analysis::Analyzer;
    use apigw_doctor::logs::envelope::Source;
    use apigw_doctor::render::metrics;
    use std::collections::BTreeMap;

    const LAMBDA: &str = "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:orders-api/invocations";
    const ALB: &str = "http://internal-orders-alb-1.us-east-1.elb.amazonaws.com/x";
    let t0: i64 = 1_795_600_800_000;
    let routes = [
        ("GET", "/orders", LAMBDA, 0u64),
        ("POST", "/orders", LAMBDA, 60),
        ("GET", "/stock", ALB, 5),
        ("PUT", "/cart", LAMBDA, 30),
        ("GET", "/health", ALB, 0),
        ("POST", "/pay", LAMBDA, 95),
    ];
    // Deterministic pseudo-randomness.
    let mut seed: u64 = 12;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        seed >> 33
    };
    let config = EngineConfig::default();
    let mut a = Analyzer::new(&config);
    let src = Source {
        log_group: "API-Gateway-Execution-Logs_inc1dent00/prod",
        log_stream: "s",
    };
    // route → (answered latencies, timeouts)
    let mut truth: BTreeMap<String, (Vec<u64>, u64)> = BTreeMap::new();
    let mut timeouts = 0;
    let mut i = 0u64;
    while i < 600 {
        let (method, path, uri, timeout_pct) = routes[(i % 6) as usize];
        // 190 timeouts in all: the timeout-heavy routes time out first.
        let times_out = timeouts < 190 && next() % 100 < timeout_pct;
        let id = format!("00000000-0000-4000-8000-{i:012}");
        let t = t0 + (i as i64) * 1000;
        let mut line = |dt: i64, text: &str| {
            a.add_event(
                src,
                &format!("{i}-{dt}-{}", text.len()),
                t + dt,
                &format!("({id}) {text}"),
            );
        };
        line(0, &format!("Starting execution for request: {id}"));
        line(0, &format!("HTTP Method: {method}, Resource Path: {path}"));
        line(0, "Method request path: {}");
        line(1, &format!("Sending request to {uri}"));
        let entry = truth.entry(format!("{method} {path}")).or_default();
        if times_out {
            timeouts += 1;
            entry.1 += 1;
            line(29_004, "Execution failed due to a timeout error");
            line(29_004, "Method completed with status: 504");
        } else {
            let l = if next() % 10 == 0 {
                20_000 + next() % 9_000
            } else {
                50 + next() % 400
            };
            entry.0.push(l);
            line(
                1 + l as i64,
                &format!("Received response. Status: 200, Integration latency: {l} ms"),
            );
            line(1 + l as i64, "Method completed with status: 200");
        }
        i += 1;
    }
    assert!(timeouts > 150, "{timeouts}");
    let (analysis, _) = a.finish();
    assert_eq!(
        (analysis.summary.requests, analysis.summary.timeouts),
        (600, timeouts)
    );
    let near_ms = config.near_limit_ms(29_000);
    for r in &analysis.routes {
        let (answered, t) = &truth[r.key.route.as_str()];
        let n = answered.len() as u64 + t;
        assert_eq!(
            (r.requests, r.timeouts, r.observed, r.censored),
            (n, *t, n, *t)
        );
        let slow = answered.iter().filter(|&&l| l >= near_ms).count() as u64 + t;
        assert_eq!(r.slow, slow, "{}", r.key.route);
        let mut all: Vec<u64> = answered.clone();
        all.sort_unstable();
        all.extend(std::iter::repeat_n(u64::MAX, *t as usize));
        for (p, got) in [(50, r.p50), (95, r.p95), (99, r.p99)] {
            let rank = ((p * n) as f64 / 100.0).ceil().max(1.0) as usize;
            let v = all[rank - 1];
            let bound = v == u64::MAX || t * 100 >= (100 - p) * n;
            let got = got.unwrap();
            assert_eq!(got.at_least, bound, "{} p{p}", r.key.route);
            if !bound {
                assert_eq!(got.ms, v, "{} p{p}", r.key.route);
            }
        }
        let facts = analysis
            .route_health
            .iter()
            .find(|h| h.key == r.key)
            .unwrap();
        let health = apigw_doctor::render::words::route_health::words(facts);
        if *t > 0 {
            let pct = (t * 100 + n / 2) / n;
            assert!(
                health.contains(&format!("{t} of {n} ({pct}%) timed out")),
                "{health}"
            );
        }
        assert!(health.contains(&format!("(n={n})")), "{health}");
    }
    // Metrics: every request counted once per level, timeouts' latencies included.
    let batch = metrics::build(&analysis, "ns", t0 + 700_000, metrics::Health::default());
    let sum = |name: &str, route: bool| -> f64 {
        batch
            .data
            .iter()
            .filter(|d| d.name == name && d.dimensions.iter().any(|(k, _)| *k == "Route") == route)
            .map(|d| {
                if name == metrics::INTEGRATION_LATENCY {
                    d.counts.iter().sum()
                } else {
                    d.values[0]
                }
            })
            .sum()
    };
    for route in [false, true] {
        assert_eq!(sum(metrics::REQUESTS, route), 600.0);
        assert_eq!(sum(metrics::INTEGRATION_TIMEOUTS, route), timeouts as f64);
        assert_eq!(sum(metrics::INTEGRATION_LATENCY, route), 600.0);
    }
}
