use super::*;
use crate::model::kind::Cause;
use crate::model::limits::LimitSource;
use crate::model::stats::RouteVerdict;

use crate::model::diagnosis::{Gap, Remedy, Shown, What};

fn health<'a>(a: &'a Analysis, r: &RouteStats) -> &'a RouteHealth {
    a.route_health.iter().find(|h| h.key == r.key).unwrap()
}
use crate::model::stats::Percentile;

#[test]
fn percentiles() {
    let v: Vec<u64> = (1..=100).collect();
    assert_eq!(percentile(&v, 95), Some(95));
    assert_eq!(percentile(&v, 50), Some(50));
    assert_eq!(percentile(&[7], 95), Some(7));
    assert_eq!(percentile(&[], 95), None);
}

#[test]
fn body_lines_with_escapes_read_as_unescaped() {
    let header = Header {
        message_type: "DATA_MESSAGE".into(),
        log_group: "API-Gateway-Execution-Logs_abc/prod".into(),
        log_stream: "s".into(),
        ..Header::default()
    };
    let lines = [
        r#"(r1) Endpoint response body before transformations: {\"errorMessage\":\"Execution failed due to a timeout error\"}"#,
        r#"(r1) Method response body after transformations: \"x\""#,
        r#"(r1) Execution failed due to an \"odd\" error"#,
        r#"(r\"1) Endpoint request body after transformations: {}"#,
    ];
    let summary = |escaped: bool| {
        let config = EngineConfig::default();
        let mut a = Analyzer::new(&config);
        for (i, l) in lines.iter().enumerate() {
            if escaped {
                a.add_escaped_event(&header, &i.to_string(), 1, l);
            } else {
                let src = Source {
                    log_group: &header.log_group,
                    log_stream: "s",
                };
                a.add_event(src, &i.to_string(), 1, &crate::logs::envelope::unescape(l));
            }
        }
        let (analysis, _) = a.finish();
        serde_json::to_string(&analysis).unwrap()
    };
    assert_eq!(summary(true), summary(false));
    assert!(
        summary(true).contains("\"timeouts\":0"),
        "{}",
        summary(true)
    );
}

/// Access-log records in, analysis out.
pub(crate) fn analyse(config: &EngineConfig, records: &[String]) -> Analysis {
    let mut a = Analyzer::new(config);
    let src = Source {
        log_group: "api-access",
        log_stream: "s",
    };
    for (i, r) in records.iter().enumerate() {
        a.add_event(src, &i.to_string(), 1_764_064_800_000 + i as i64, r);
    }
    a.finish().0
}

/// Execution-log lines of API abc123/prod in, one event each, all at one time.
fn feed_exec(a: &mut Analyzer<'_>, lines: &[&str]) {
    let exec = Source {
        log_group: "API-Gateway-Execution-Logs_abc123/prod",
        log_stream: "s",
    };
    for (i, line) in lines.iter().enumerate() {
        a.add_event(exec, &i.to_string(), 1_764_064_800_000, line);
    }
}

pub(crate) fn rest(id: &str, route: &str, status: u16, latency: u64) -> String {
    let (method, path) = route.split_once(' ').unwrap();
    let timeout = if status == 504 {
        r#","responseType":"INTEGRATION_TIMEOUT","responseLatency":"29010""#.to_owned()
    } else {
        format!(r#","integrationLatency":"{latency}""#)
    };
    format!(
        r#"{{"requestId":"{id}","apiId":"abc123","stage":"prod","httpMethod":"{method}","resourcePath":"{path}","status":"{status}"{timeout}}}"#
    )
}

fn route<'a>(a: &'a Analysis, name: &str) -> &'a RouteStats {
    a.routes
        .iter()
        .find(|r| r.key.route.as_str() == name)
        .unwrap()
}

#[test]
fn timeouts_are_censored_observations_not_missing_ones() {
    let mut recs: Vec<String> = (0..80)
        .map(|i| rest(&format!("t{i}"), "POST /pay", 504, 0))
        .collect();
    recs.extend((0..20).map(|i| rest(&format!("f{i}"), "POST /pay", 200, 100 + i)));
    let a = analyse(&EngineConfig::default(), &recs);
    let r = route(&a, "POST /pay");
    assert_eq!(
        (r.requests, r.timeouts, r.observed, r.censored),
        (100, 80, 100, 80)
    );
    assert_eq!((r.responses, r.slow, r.fast), (20, 80, 20));
    let p95 = r.p95.unwrap();
    assert!(p95.at_least && p95.ms == 29_000, "{p95:?}");
    assert!(
        r.p50.unwrap().at_least,
        "80% timed out: the median is among them"
    );
    assert_eq!(r.headroom_pct(), Some(0));
    assert_eq!(r.verdict, RouteVerdict::RoutinelyNearLimit);
    assert_eq!(
        r.max.unwrap(),
        Percentile {
            ms: 29_010,
            at_least: true
        }
    );
    let h = health(&a, r);
    assert_eq!((h.timeouts, h.requests, h.observed), (80, 100, 100));
    assert_eq!(h.p95.map(|p| (p.ms, p.at_least)), Some((29_000, true)));
    // Every finding quotes the same route health.
    assert!(a
        .findings
        .iter()
        .all(|f| f.diagnosis.route.as_ref() == Some(h)));
    // The metrics see the timeouts' latencies too.
    let latencies = a
        .observations
        .iter()
        .filter(|o| o.integration_latency_ms.is_some());
    assert_eq!(latencies.count(), 100);
}

#[test]
fn p95_is_a_lower_bound_from_five_percent_of_timeouts() {
    for (timeouts, at_least) in [(4, false), (5, true)] {
        let mut recs: Vec<String> = (0..timeouts)
            .map(|i| rest(&format!("t{i}"), "GET /x", 504, 0))
            .collect();
        recs.extend((0..100 - timeouts).map(|i| rest(&format!("f{i}"), "GET /x", 200, 100 + i)));
        let a = analyse(&EngineConfig::default(), &recs);
        let p95 = route(&a, "GET /x").p95.unwrap();
        assert_eq!(p95.at_least, at_least, "{timeouts} timeouts: {p95:?}");
    }
}

#[test]
fn a_timeline_bucket_gives_no_p95_below_twenty_but_its_count() {
    // All records fall in one minute (they are 1 ms apart).
    for (n, p95) in [(19, None), (20, Some(118))] {
        let recs: Vec<String> = (0..n)
            .map(|i| rest(&format!("f{i}"), "GET /x", 200, 100 + i))
            .collect();
        let a = analyse(&EngineConfig::default(), &recs);
        let t = crate::engine::timeline::timeline(&a, None);
        let b = &t.buckets[0];
        assert_eq!(
            (t.buckets.len(), b.measured, b.p95_ms),
            (1, n, p95),
            "n={n}"
        );
    }
}

#[test]
fn no_percentile_below_twenty_observations() {
    for (n, some) in [(19, false), (20, true)] {
        let recs: Vec<String> = (0..n)
            .map(|i| rest(&format!("f{i}"), "GET /x", 200, 100 + i))
            .collect();
        let a = analyse(&EngineConfig::default(), &recs);
        let r = route(&a, "GET /x");
        assert_eq!(r.p95.is_some(), some, "n={n}");
        assert_eq!(r.p50_ms.is_some(), some, "n={n}");
        assert!(r.max.is_some());
    }
}

#[test]
fn a_fast_majority_with_a_slow_tail_is_bimodal_not_routinely_slow() {
    let mut recs: Vec<String> = (0..8)
        .map(|i| rest(&format!("f{i}"), "GET /orders", 200, 150 + i))
        .collect();
    recs.push(rest("s1", "GET /orders", 200, 27_000));
    recs.push(rest("s2", "GET /orders", 200, 27_310));
    let a = analyse(&EngineConfig::default(), &recs);
    let r = route(&a, "GET /orders");
    assert_eq!(r.verdict, RouteVerdict::Bimodal);
    assert_eq!((r.fast, r.slow), (8, 2));
    assert_eq!(r.p95, None);
    let h = health(&a, r);
    assert_eq!(
        (h.verdict, h.fast, h.slow, h.near_ms),
        (RouteVerdict::Bimodal, 8, 2, 23_200)
    );
}

#[test]
fn verdicts_at_their_boundaries() {
    use RouteVerdict::*;
    for (n, slow, verdict) in [
        (0, 0, NoBaseline),
        (4, 4, TooFew),
        (5, 0, Fast),
        (5, 1, Outlier),
        (5, 2, Bimodal),
        (5, 3, RoutinelyNearLimit),
        (10, 5, Bimodal),
        (10, 6, RoutinelyNearLimit),
        (100, 1, Outlier),
    ] {
        assert_eq!(RouteVerdict::of(n, slow), verdict, "n={n} slow={slow}");
    }
}

#[test]
fn http_api_timeouts_are_503s_with_access_log_times() {
    let rec = r#"{"requestId":"KyDfdgZ9oAMEYpA=","apiId":"h1","stage":"$default","routeKey":"GET /slow","status":"503","integrationLatency":"30001","responseLatency":"30012","requestTimeEpoch":"1764064800"}"#;
    let config = EngineConfig::default();
    let mut a = Analyzer::new(&config);
    let src = Source {
        log_group: "http-access",
        log_stream: "s",
    };
    a.add_event(src, "e1", 0, rec);
    let (a, _) = a.finish();
    let f = &a.findings[0];
    assert_eq!(
        (f.kind, f.status, f.limit_ms),
        (Kind::Timeout, Some(503), 30_000)
    );
    assert_eq!(f.timestamp, Some(1_764_064_800_000));
    assert_eq!(f.integration_latency_ms, None, "a timeout is not an answer");
    let d = &f.diagnosis;
    assert_eq!(
        d.headline.what,
        What::HttpTimeout {
            waited_ms: Some(30_012)
        }
    );
    assert_eq!(d.headline.status, Some(503));
    assert_eq!(
        d.shows,
        [Shown::HttpTimeoutStatus {
            status: 503,
            integration_latency_ms: Some(30_001)
        }]
    );
    assert!(d.remedies.contains(&Remedy::ClientRetryIdempotent {
        timeout_status: 503
    }));
    let r = &a.routes[0];
    assert_eq!((r.responses, r.censored), (0, 1));
}

#[test]
fn an_answer_above_the_limit_says_the_limit_is_wrong() {
    let a = analyse(
        &EngineConfig::default(),
        &[rest("r1", "POST /report", 200, 45_000)],
    );
    let d = &a.findings[0].diagnosis;
    assert_eq!(
        (&d.headline.what, d.headline.limit_ms),
        (&What::AnsweredAfterLimit { latency_ms: 45_000 }, 29_000)
    );
    assert_eq!(
        d.shows,
        [Shown::LimitHigherThanAssumed {
            latency_ms: 45_000,
            api_id: "abc123".into(),
            stage: "prod".into()
        }]
    );
}

#[test]
fn orphaned_timeouts_on_an_info_stage_do_not_ask_for_info_logging() {
    let config = EngineConfig::default();
    let mut a = Analyzer::new(&config);
    feed_exec(
        &mut a,
        &[
            "(aaaaaaaa-0000-4000-8000-000000000001) Starting execution for request: aaaaaaaa-0000-4000-8000-000000000001",
            "(aaaaaaaa-0000-4000-8000-000000000001) HTTP Method: GET, Resource Path: /health",
            "(aaaaaaaa-0000-4000-8000-000000000001) Method completed with status: 200",
            "(bbbbbbbb-0000-4000-8000-000000000002) Execution failed due to a timeout error",
            "(bbbbbbbb-0000-4000-8000-000000000002) Method completed with status: 504",
        ],
    );
    // The orphan's access-log record names its route.
    let access = Source {
        log_group: "api-access",
        log_stream: "s",
    };
    a.add_event(access, "x", 1_764_064_800_000, r#"{"requestId":"bbbbbbbb-0000-4000-8000-000000000002","httpMethod":"POST","resourcePath":"/orders","status":"504","responseType":"INTEGRATION_TIMEOUT"}"#);
    let (a, _) = a.finish();
    let f = a.findings.iter().find(|f| f.kind == Kind::Timeout).unwrap();
    assert_eq!(f.route.as_str(), "POST /orders");
    let d = &f.diagnosis;
    assert!(
        !d.remedies.contains(&Remedy::TurnOnInfoLogging),
        "{:?}",
        d.remedies
    );
    assert_eq!(d.cannot_show, [Gap::LinesElsewhere]);
    assert!(f.diagnosis.insights_query.is_some());
}

#[test]
fn runs_that_share_a_synthetic_id_stay_separate_findings() {
    let config = EngineConfig::default();
    let mut a = Analyzer::new(&config);
    let src = Source {
        log_group: "test-invoke.txt",
        log_stream: "",
    };
    let id = "test-invoke-request";
    for (i, text) in [
        "Starting execution for request: test-invoke-request",
        "Execution failed due to configuration error: Invalid permissions on Lambda function",
        "Method completed with status: 500",
        "Starting execution for request: test-invoke-request",
        "Execution failed due to configuration error: Malformed Lambda proxy response",
        "Method completed with status: 502",
        // A third run without its `Starting execution` line.
        "Execution failed due to configuration error: Rate Exceeded.",
        "Method completed with status: 500",
    ]
    .iter()
    .enumerate()
    {
        a.add_execution_line(src, &i.to_string(), id, 1_000 + i as i64, text);
    }
    let (a, _) = a.finish();
    let causes: Vec<Cause> = a.findings.iter().map(|f| f.cause).collect();
    assert_eq!(
        causes,
        [
            Cause::LambdaPermissions,
            Cause::MalformedProxyResponse,
            Cause::LambdaThrottled
        ]
    );
    assert_eq!(a.summary.requests, 3);
    // Real ids are never split.
    let mut b = Analyzer::new(&config);
    for (i, text) in [
        "Execution failed due to configuration error: Invalid permissions on Lambda function",
        "Method completed with status: 500",
        "Execution failed due to configuration error: Malformed Lambda proxy response",
    ]
    .iter()
    .enumerate()
    {
        b.add_execution_line(
            src,
            &i.to_string(),
            "aaaaaaaa-0000-4000-8000-000000000001",
            1,
            text,
        );
    }
    assert_eq!(b.finish().0.summary.requests, 1);
}

#[test]
fn an_aws_service_4xx_is_an_integration_role_finding() {
    let config = EngineConfig::default();
    let mut a = Analyzer::new(&config);
    feed_exec(
        &mut a,
        &[
            "(cccccccc-0000-4000-8000-000000000003) Starting execution for request: cccccccc-0000-4000-8000-000000000003",
            "(cccccccc-0000-4000-8000-000000000003) HTTP Method: POST, Resource Path: /jobs",
            "(cccccccc-0000-4000-8000-000000000003) Method request path: {}",
            "(cccccccc-0000-4000-8000-000000000003) Sending request to https://sqs.us-east-1.amazonaws.com/123456789012/jobs",
            "(cccccccc-0000-4000-8000-000000000003) Received response. Status: 403, Integration latency: 12 ms",
            "(cccccccc-0000-4000-8000-000000000003) Method completed with status: 200",
        ],
    );
    let (a, _) = a.finish();
    let f = &a.findings[0];
    assert_eq!((f.kind, f.cause), (Kind::Error, Cause::AwsServiceRejected));
    let d = &f.diagnosis;
    assert_eq!(
        d.remedies[0],
        Remedy::FixServiceCall {
            integration_status: Some(403)
        }
    );
    assert!(d.shows.iter().any(|s| matches!(
        s,
        Shown::ServiceRefused {
            integration_status: Some(403),
            ..
        }
    )));
}

#[test]
fn near_limit_threshold_is_exact() {
    let c = EngineConfig::default();
    assert_eq!(c.near_limit_ms(29_000), 23_200);
    assert_eq!(c.near_limit_ms(30_000), 24_000);
}

/// A streamed REST response (`responseTransferMode` `STREAM`, 2025) may run 15 minutes
/// and its `integrationLatency` lasts until the stream ends (AWS's "Troubleshoot response
/// streaming" page, docs/reference/limits-and-streaming.md §3): a 10-minute stream the
/// access log marks `STREAMED` is fine, the same record buffered is over its limit.
#[test]
fn a_streamed_response_is_held_against_the_streams_ceiling() {
    let record = |id: &str, mode: &str| {
        format!(
            r#"{{"requestId":"{id}","apiId":"abc123","stage":"prod","httpMethod":"GET","resourcePath":"/chat","status":"200","integrationLatency":"600000","responseTransferMode":"{mode}"}}"#
        )
    };
    let a = analyse(&EngineConfig::default(), &[record("s1", "STREAMED")]);
    assert!(a.findings.is_empty(), "{:?}", a.findings);
    let r = route(&a, "GET /chat");
    assert_eq!((r.limit_ms, r.limit_source), (900_000, LimitSource::Log));
    assert_eq!((r.requests, r.timeouts, r.near_limit), (1, 0, 0));
    let a = analyse(&EngineConfig::default(), &[record("b1", "BUFFERED")]);
    assert_eq!(
        (a.findings[0].limit_ms, route(&a, "GET /chat").limit_source),
        (29_000, LimitSource::Default)
    );
    // A streamed request the gateway says timed out is still a timeout, at its ceiling.
    let timed_out = r#"{"requestId":"t1","apiId":"abc123","stage":"prod","httpMethod":"GET","resourcePath":"/chat","status":"504","responseType":"INTEGRATION_TIMEOUT","integration.responseTransferMode":"STREAMED"}"#;
    let a = analyse(&EngineConfig::default(), &[timed_out.to_owned()]);
    assert_eq!(
        (a.findings[0].kind, a.findings[0].limit_ms),
        (Kind::Timeout, 900_000)
    );
    // An explicit setting still wins over the ceiling.
    let mut config = EngineConfig::default();
    config.limits = config.limits.with_overrides("abc123=120000").unwrap();
    let a = analyse(&config, &[record("s2", "STREAMED")]);
    assert_eq!(a.findings[0].limit_ms, 120_000);
}

/// Execution logs of a streaming Lambda integration name Lambda's streaming invoke path
/// (aws/aws-cdk PR #36155): the request is streamed, its function is read from the path.
#[test]
fn a_streamed_response_is_known_from_the_lambda_streaming_path() {
    let config = EngineConfig::default();
    let mut a = Analyzer::new(&config);
    feed_exec(
        &mut a,
        &[
            "(dddddddd-0000-4000-8000-000000000004) Starting execution for request: dddddddd-0000-4000-8000-000000000004",
            "(dddddddd-0000-4000-8000-000000000004) HTTP Method: POST, Resource Path: /chat",
            "(dddddddd-0000-4000-8000-000000000004) Endpoint request URI: https://lambda.us-east-1.amazonaws.com/2021-11-15/functions/arn:aws:lambda:us-east-1:123456789012:function:chat/response-streaming-invocations",
            "(dddddddd-0000-4000-8000-000000000004) Received response. Status: 200, Integration latency: 45000 ms",
            "(dddddddd-0000-4000-8000-000000000004) Method completed with status: 200",
        ],
    );
    let (a, _) = a.finish();
    assert!(a.findings.is_empty(), "{:?}", a.findings);
    let r = route(&a, "POST /chat");
    assert_eq!((r.limit_ms, r.limit_source), (900_000, LimitSource::Log));
}
