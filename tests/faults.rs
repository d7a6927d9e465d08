//! AWS faults, injected by a fake endpoint on 127.0.0.1 that the real SDK clients are
//! pointed at: CloudWatch 5xx, SNS throttling, an endpoint that refuses connections,
//! and answers slower than the invocation's deadline. Retries stay bounded and inside
//! the deadline, the invocation fails (so Lambda's retry and then the failure
//! destination keep the batch), and nothing is published twice.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use apigw_doctor::aws::publish::{aws_sink, PublishError};
use apigw_doctor::lambda::config::Config;
use apigw_doctor::lambda::handler::{HandlerError, Monitor};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

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
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let counts = Arc::new(Counts::default());
    let c = counts.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let c = c.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                loop {
                    // Read one request: headers, then Content-Length bytes of body.
                    let n = match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    let Some(end) = text.find("\r\n\r\n") else {
                        continue;
                    };
                    let len = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if buf.len() < end + 4 + len {
                        continue;
                    }
                    let is_cloudwatch =
                        text.starts_with("POST /service/GraniteServiceVersion20100801");
                    let reply = if is_cloudwatch {
                        c.metrics.fetch_add(1, Ordering::SeqCst);
                        cloudwatch
                    } else {
                        c.publishes.fetch_add(1, Ordering::SeqCst);
                        sns
                    };
                    buf.drain(..end + 4 + len);
                    let response = match (reply, is_cloudwatch) {
                        (Reply::Hang, _) => {
                            tokio::time::sleep(Duration::from_secs(60)).await;
                            return;
                        }
                        // An empty CBOR map (0xa0): PutMetricData's empty output.
                        (Reply::Ok, true) => "HTTP/1.1 200 OK\r\nsmithy-protocol: rpc-v2-cbor\r\ncontent-type: application/cbor\r\ncontent-length: 1\r\n\r\n".to_owned(),
                        (Reply::Ok, false) => {
                            let body = "<PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>";
                            format!("HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncontent-length: {}\r\n\r\n{body}", body.len())
                        }
                        (Reply::ServerError, _) => "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n".to_owned(),
                        (Reply::Throttled, _) => {
                            let body = "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r-2</RequestId></ErrorResponse>";
                            format!("HTTP/1.1 400 Bad Request\r\ncontent-type: text/xml\r\ncontent-length: {}\r\n\r\n{body}", body.len())
                        }
                    };
                    let mut bytes = response.into_bytes();
                    if reply == Reply::Ok && is_cloudwatch {
                        bytes.push(0xa0);
                    }
                    if sock.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, counts)
}

async fn monitor(endpoint: &str) -> Monitor {
    let config = Config::from_lookup(|k| match k {
        "ALERT_TOPIC_ARN" => Some("arn:aws:sns:us-east-1:123456789012:alerts".into()),
        _ => None,
    })
    .unwrap();
    let loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_cloudwatch::config::Credentials::new(
            "test", "test", None, None, "test",
        ));
    Monitor::new(config, aws_sink(&loader.load().await))
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
    let port = TcpListener::bind("127.0.0.1:0")
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
