//! AWS faults, injected by a fake endpoint on 127.0.0.1 that the real SDK clients are
//! pointed at (tests/common/loopback.rs): CloudWatch 5xx, SNS throttling, an endpoint
//! that refuses connections, answers slower than the invocation's deadline, and the CLI's
//! paginated FilterLogEvents with a throttled page. Retries stay bounded and inside
//! the deadline, the invocation fails (so Lambda's retry and then the failure
//! destination keep the batch), and nothing is published twice.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use apigw_doctor::lambda::config::Config;
use apigw_doctor::monitor::outputs::PublishError;
use apigw_doctor::monitor::recorder::Recorder;
use apigw_doctor::monitor::{HandlerError, Monitor};

#[path = "common/loopback.rs"]
mod loopback;
use loopback::{response, Answer};

const NOW: i64 = 1_795_601_100_000;

#[derive(Clone, Copy, PartialEq)]
enum Reply {
    Ok,
    ServerError,
    Throttled,
    Hang,
}

#[derive(Default)]
struct Counts {
    metrics: AtomicUsize,
    publishes: AtomicUsize,
}

/// Serves CloudWatch (`/service/GraniteServiceVersion20100801/...`, CBOR) and SNS (`/`, query
/// protocol) with the given replies; counts the calls.
async fn fake_aws(cloudwatch: Reply, sns: Reply) -> (String, Arc<Counts>) {
    let counts = Arc::new(Counts::default());
    let c = counts.clone();
    let url = loopback::serve(move |head, _body| {
        let is_cloudwatch = head.starts_with("POST /service/GraniteServiceVersion20100801");
        let reply = if is_cloudwatch {
            c.metrics.fetch_add(1, Ordering::SeqCst);
            cloudwatch
        } else {
            c.publishes.fetch_add(1, Ordering::SeqCst);
            sns
        };
        match (reply, is_cloudwatch) {
            (Reply::Hang, _) => Answer::Hang,
            // An empty CBOR map (0xa0): PutMetricData's empty output.
            (Reply::Ok, true) => response(
                "200 OK",
                "smithy-protocol: rpc-v2-cbor\r\ncontent-type: application/cbor\r\n",
                &[0xa0],
            ),
            (Reply::Ok, false) => response(
                "200 OK",
                "content-type: text/xml\r\n",
                b"<PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>",
            ),
            (Reply::ServerError, _) => response("500 Internal Server Error", "", b""),
            (Reply::Throttled, _) => response(
                "400 Bad Request",
                "content-type: text/xml\r\n",
                b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r-2</RequestId></ErrorResponse>",
            ),
        }
    })
    .await;
    (url, counts)
}

async fn monitor(endpoint: &str) -> Monitor {
    let config = Config::from_lookup(|k| match k {
        "ALERT_TOPIC_ARN" => Some("arn:aws:sns:us-east-1:123456789012:alerts".into()),
        _ => None,
    })
    .unwrap();
    let shared = loopback::loader(endpoint).load().await;
    let recorder = Arc::new(Recorder::default());
    apigw_doctor::lambda::wiring::monitor(&config, Some(&shared), &recorder)
}

/// One invocation against `endpoint` that must fail; returns the error and how long it took.
async fn failing_invocation(endpoint: &str) -> (HandlerError, Duration) {
    let started = Instant::now();
    let err = monitor(endpoint)
        .await
        .handle_at(&event(), None, NOW)
        .await
        .unwrap_err();
    (err, started.elapsed())
}

fn event() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/events/timeout-info.json"
    ))
    .unwrap()
}

#[tokio::test]
async fn the_fake_endpoint_accepts_a_healthy_invocation() {
    let (url, counts) = fake_aws(Reply::Ok, Reply::Ok).await;
    let s = monitor(&url)
        .await
        .handle_at(&event(), None, NOW)
        .await
        .unwrap();
    assert_eq!((s.metric_calls, s.alerts_sent), (1, 1));
    assert_eq!(
        (
            counts.metrics.load(Ordering::SeqCst),
            counts.publishes.load(Ordering::SeqCst)
        ),
        (1, 1)
    );
}

#[tokio::test]
async fn cloudwatch_5xx_is_retried_three_times_then_fails_the_invocation() {
    let (url, counts) = fake_aws(Reply::ServerError, Reply::Ok).await;
    let (err, took) = failing_invocation(&url).await;
    assert!(err.is_retryable(), "{err}");
    assert!(
        matches!(err, HandlerError::Publish(PublishError::Metrics { .. })),
        "{err}"
    );
    assert_eq!(counts.metrics.load(Ordering::SeqCst), 3, "bounded retries");
    assert_eq!(
        counts.publishes.load(Ordering::SeqCst),
        0,
        "no alert before the metrics are out"
    );
    assert!(took < Duration::from_secs(20));
}

#[tokio::test]
async fn sns_throttled_fails_then_the_retry_sends_no_metrics_twice() {
    let (url, counts) = fake_aws(Reply::Ok, Reply::Throttled).await;
    let m = monitor(&url).await;
    let err = m.handle_at(&event(), None, NOW).await.unwrap_err();
    assert!(
        matches!(err, HandlerError::Publish(PublishError::Alert { .. })),
        "{err}"
    );
    assert_eq!(
        counts.publishes.load(Ordering::SeqCst),
        3,
        "bounded retries"
    );
    assert_eq!(counts.metrics.load(Ordering::SeqCst), 1);
    // Lambda's retry of the same batch in this warm container: the metrics already went
    // out, so only the alert is tried again.
    let _ = m.handle_at(&event(), None, NOW + 60_000).await.unwrap_err();
    assert_eq!(
        counts.metrics.load(Ordering::SeqCst),
        1,
        "metrics not counted twice"
    );
    assert_eq!(counts.publishes.load(Ordering::SeqCst), 6);
}

#[tokio::test]
async fn an_unreachable_endpoint_fails_fast() {
    // A port that was just free: nothing listens there.
    let port = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (err, took) = failing_invocation(&format!("http://127.0.0.1:{port}")).await;
    assert!(err.is_retryable(), "{err}");
    assert!(took < Duration::from_secs(20), "{took:?}");
}

#[tokio::test]
async fn a_slow_endpoint_is_cut_off_before_the_deadline() {
    let (url, _) = fake_aws(Reply::Hang, Reply::Hang).await;
    let m = monitor(&url).await;
    let started = Instant::now();
    let deadline = started + Duration::from_millis(3500);
    let err = m
        .handle_at(&event(), Some(deadline), NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(err, HandlerError::Publish(PublishError::Deadline(_))),
        "{err}"
    );
    assert!(Instant::now() < deadline, "returned after the deadline");
}

/// The CLI's fetch (`aws::fetch`) against a fake CloudWatch Logs: three pages, the second
/// throttled once. Every event is read, in order, and the throttled page is retried.
#[tokio::test]
async fn fetch_reads_every_page_and_retries_a_throttled_one() {
    use apigw_doctor::aws::fetch::{Fetcher, Progress};
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let url = loopback::serve(move |_head, body| {
        let n = c.fetch_add(1, Ordering::SeqCst);
        let page = |i: usize, next: Option<&str>| {
            let events: Vec<serde_json::Value> = (0..3)
                .map(|k| serde_json::json!({"logStreamName": "s", "timestamp": 1000 + i * 10 + k,
                    "message": format!("(r{i}{k}) Sending request to https://x"), "eventId": format!("e{i}{k}")}))
                .collect();
            let mut v = serde_json::json!({"events": events, "searchedLogStreams": []});
            if let Some(t) = next {
                v["nextToken"] = serde_json::json!(t);
            }
            v.to_string()
        };
        let json = "content-type: application/x-amz-json-1.1\r\n";
        if body.contains("\"p2\"") && n == 1 {
            response(
                "400 Bad Request",
                json,
                br#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
            )
        } else if body.contains("\"p2\"") {
            response("200 OK", json, page(2, Some("p3")).as_bytes())
        } else if body.contains("\"p3\"") {
            response("200 OK", json, page(3, None).as_bytes())
        } else {
            response("200 OK", json, page(1, Some("p2")).as_bytes())
        }
    })
    .await;
    let fetcher = Fetcher::with_loader(loopback::loader(&url)).await;
    let mut progress = Progress {
        groups: 1,
        group_index: 1,
        start_ms: 1000,
        end_ms: 1040,
        ..Progress::default()
    };
    let mut pages = 0;
    let mut ids = Vec::new();
    fetcher
        .read_group(
            "g",
            1000,
            1040,
            &mut progress,
            &mut |_| pages += 1,
            &mut |e| ids.push(e.id.to_owned()),
        )
        .await
        .unwrap();
    assert_eq!(pages, 3);
    assert_eq!(ids.len(), 9);
    assert_eq!(ids[0], "e10");
    assert_eq!(ids[8], "e32");
    assert_eq!(progress.events, 9);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        4,
        "three pages and one throttled retry"
    );
}

/// A fake API Gateway for the fetch's stage lookup: `routes` maps a request line's path
/// prefix (method and path, query included) to its status and JSON body; the rest is 404.
async fn fake_apigw(
    routes: Vec<(&'static str, &'static str, &'static str)>,
) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let url = loopback::serve(move |head, _body| {
        let line = head.lines().next().unwrap_or_default().to_owned();
        log.lock().unwrap().push(line.clone());
        let target = line.split(' ').take(2).collect::<Vec<_>>().join(" ");
        let json = "content-type: application/json\r\n";
        // The longest matching prefix answers (`GET /restapis/a` is not `GET /restapis/a/stages`).
        let hit = routes
            .iter()
            .filter(|(prefix, _, _)| target == *prefix || target.starts_with(&format!("{prefix}?")))
            .max_by_key(|(prefix, _, _)| prefix.len());
        match hit {
            Some((_, status, body)) => {
                let error = if status.starts_with('2') {
                    String::new()
                } else {
                    let kind = if status.starts_with("403") {
                        "AccessDeniedException"
                    } else {
                        "NotFoundException"
                    };
                    format!("x-amzn-errortype: {kind}\r\n")
                };
                response(status, &format!("{json}{error}"), body.as_bytes())
            }
            None => response(
                "404 Not Found",
                &format!("{json}x-amzn-errortype: NotFoundException\r\n"),
                br#"{"message":"Invalid API identifier specified"}"#,
            ),
        }
    })
    .await;
    (url, seen)
}

/// No `apigateway:GET`: the execution-log group and the defaults, with one warning that
/// names both failures (REST's, then apigatewayv2's).
#[tokio::test]
async fn fetch_stage_without_permission_keeps_the_defaults() {
    use apigw_doctor::aws::fetch::Fetcher;
    let denied = r#"{"message":"User is not authorized to access this resource"}"#;
    let (url, seen) = fake_apigw(vec![
        ("GET /restapis/abc123/stages/prod", "403 Forbidden", denied),
        ("GET /v2/apis/abc123/stages/prod", "403 Forbidden", denied),
    ])
    .await;
    let fetcher = Fetcher::with_loader(loopback::loader(&url)).await;
    let info = fetcher.stage("abc123", "prod").await;
    assert_eq!(info.groups, vec!["API-Gateway-Execution-Logs_abc123/prod"]);
    assert!(info.limits.is_none());
    assert_eq!(info.warnings.len(), 1, "{:?}", info.warnings);
    assert!(
        info.warnings[0].contains("default limits"),
        "{}",
        info.warnings[0]
    );
    assert!(
        info.warnings[0].contains("apigatewayv2"),
        "{}",
        info.warnings[0]
    );
    let calls = seen.lock().unwrap().clone();
    assert!(
        calls
            .iter()
            .any(|l| l.contains("/v2/apis/abc123/stages/prod")),
        "{calls:?}"
    );
}

/// A REST stage: GetResources with embed=methods, page by page; the edge-optimized type read.
#[tokio::test]
async fn fetch_stage_reads_every_resources_page() {
    use apigw_doctor::aws::fetch::Fetcher;
    use apigw_doctor::model::limits::{Endpoint, IntegrationLimit};
    let (url, seen) = fake_apigw(vec![
        ("GET /restapis/abc123/stages/prod", "200 OK", r#"{"stageName":"prod","accessLogSettings":{"destinationArn":"arn:aws:logs:us-east-1:1:log-group:acc"}}"#),
        ("GET /restapis/abc123", "200 OK", r#"{"id":"abc123","endpointConfiguration":{"types":["EDGE"]}}"#),
        ("GET /restapis/abc123/resources", "200 OK", r#"{"item":[{"id":"r1","path":"/a","resourceMethods":{"GET":{"httpMethod":"GET","methodIntegration":{"type":"AWS_PROXY","timeoutInMillis":60000}}}}],"position":"p2"}"#),
    ])
    .await;
    let fetcher = Fetcher::with_loader(loopback::loader(&url)).await;
    let info = fetcher.stage("abc123", "prod").await;
    assert_eq!(
        info.groups,
        vec!["API-Gateway-Execution-Logs_abc123/prod", "acc"]
    );
    let lines = seen.lock().unwrap().clone();
    let resources: Vec<&String> = lines.iter().filter(|l| l.contains("/resources")).collect();
    assert!(
        resources.iter().all(|l| l.contains("embed=methods")),
        "{resources:?}"
    );
    assert!(
        resources.iter().any(|l| l.contains("position=p2")),
        "the second page was asked for: {resources:?}"
    );
    // The fake answers every page with the same item and position: the repeated position
    // ends the listing after the second page, as it would loop forever otherwise.
    let limits = info.limits.expect("limits read");
    assert_eq!(limits.endpoint, Endpoint::Edge);
    assert_eq!(
        limits.integrations[0],
        IntegrationLimit {
            route: "GET /a".into(),
            ms: Some(60_000),
            streaming: false
        }
    );
    assert_eq!(resources.len(), 2, "{resources:?}");
}

/// REST answers NotFound: the stage is an HTTP API's (apigatewayv2), its access-log group
/// the only one (no execution log), its route's limit joined through the integration.
#[tokio::test]
async fn fetch_stage_of_an_http_api_reads_apigatewayv2() {
    use apigw_doctor::aws::fetch::Fetcher;
    use apigw_doctor::model::limits::{Endpoint, IntegrationLimit};
    let (url, _) = fake_apigw(vec![
        ("GET /v2/apis/h1/stages/prod", "200 OK", r#"{"stageName":"prod","accessLogSettings":{"destinationArn":"arn:aws:logs:us-east-1:1:log-group:/http/acc","format":"{}"}}"#),
        ("GET /v2/apis/h1", "200 OK", r#"{"apiId":"h1","name":"x","protocolType":"HTTP"}"#),
        ("GET /v2/apis/h1/routes", "200 OK", r#"{"items":[{"routeId":"r1","routeKey":"GET /x","target":"integrations/i1"},{"routeId":"r2","routeKey":"$default"}]}"#),
        ("GET /v2/apis/h1/integrations", "200 OK", r#"{"items":[{"integrationId":"i1","integrationType":"HTTP_PROXY","timeoutInMillis":45000}]}"#),
    ])
    .await;
    let fetcher = Fetcher::with_loader(loopback::loader(&url)).await;
    let info = fetcher.stage("h1", "prod").await;
    assert_eq!(info.groups, vec!["/http/acc"]);
    assert!(info.warnings.is_empty(), "{:?}", info.warnings);
    let limits = info.limits.expect("limits read");
    assert_eq!(limits.endpoint, Endpoint::Http);
    assert_eq!(
        limits.integrations,
        vec![IntegrationLimit {
            route: "GET /x".into(),
            ms: Some(45_000),
            streaming: false
        }]
    );
}
