//! Broken and hostile batches through the Lambda handler: a clear error that names
//! the batch, or a clean, counted skip; never a panic; memory bounded by the cap.

use std::io::Write as _;

use apigw_doctor::config::Config;
use apigw_doctor::handler::{HandlerError, InvocationSummary, Monitor};
use apigw_doctor::publish::Sink;
use base64::Engine as _;

const NOW: i64 = 1_795_601_100_000;

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn lambda_event(gzip: &[u8]) -> Vec<u8> {
    let data = base64::engine::general_purpose::STANDARD.encode(gzip);
    format!(r#"{{"awslogs":{{"data":"{data}"}}}}"#).into_bytes()
}

fn document(messages: impl Iterator<Item = String>) -> Vec<u8> {
    let events: Vec<serde_json::Value> = messages
        .enumerate()
        .map(|(i, m)| serde_json::json!({"id": format!("e{i}"), "timestamp": NOW - 60_000, "message": m}))
        .collect();
    serde_json::json!({"messageType": "DATA_MESSAGE", "owner": "1", "logGroup": "API-Gateway-Execution-Logs_a/b",
                       "logStream": "s", "subscriptionFilters": ["f"], "logEvents": events})
    .to_string()
    .into_bytes()
}

fn run(event: &[u8]) -> Result<InvocationSummary, HandlerError> {
    let m = Monitor::new(Config::from_lookup(|_| None).unwrap(), Sink::dry_run());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(m.handle_at(event, None, NOW))
}

#[test]
fn gzip_bomb_stops_at_the_cap() {
    // 100 MiB of zeros compress to ~100 KB; the default cap is 64 MiB.
    let bomb = gz(&vec![0u8; 100 << 20]);
    let err = run(&lambda_event(&bomb)).unwrap_err();
    assert!(!err.is_retryable());
    assert!(
        err.to_string()
            .contains("exceeds the cap of 67108864 bytes"),
        "{err}"
    );
}

#[test]
fn broken_encodings_name_the_batch() {
    for (event, needle) in [
        (br#"{"awslogs":{"data":"not base64!"}}"#.to_vec(), "invalid base64"),
        (lambda_event(b"plain text"), "not gzip"),
        (lambda_event(&gz(b"{\"messageType\":\"DATA_MESSAGE\"")[..20]), "corrupt or truncated gzip"),
        (lambda_event(&gz(b"{not json")), "not a CloudWatch Logs subscription document"),
        (lambda_event(&gz(br#"{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[{"id":"e1","timestamp":"soon","message":"m"}]}"#)), "log group g, log stream s, first event id e1"),
        (lambda_event(&gz(b"\xff\xfe{\"messageType\"")), "not a CloudWatch Logs subscription document"),
        (b"".to_vec(), "unrecognised event"),
        (b"[]".to_vec(), "unrecognised event"),
    ] {
        let err = run(&event).unwrap_err();
        assert!(err.to_string().contains(needle), "{err} does not say {needle}");
    }
}

#[test]
fn odd_but_valid_batches_are_skipped_cleanly() {
    // No events at all.
    let s = run(&lambda_event(&gz(&document(std::iter::empty())))).unwrap();
    assert_eq!((s.analysis.log_events, s.analysis.requests), (0, 0));
    // NUL bytes, control characters and a 5 MB line.
    let messages = vec![
        "(r1) Execution failed due to a timeout error\u{0}\u{7}".to_owned(),
        "(r1) Method completed with status: 504".to_owned(),
        "\u{0}\u{0}\u{0}".to_owned(),
        format!(
            "(r2) Method request body before transformations: {}",
            "x".repeat(5 << 20)
        ),
    ];
    let s = run(&lambda_event(&gz(&document(messages.into_iter())))).unwrap();
    assert_eq!(
        (
            s.analysis.log_events,
            s.analysis.timeouts,
            s.analysis.unrecognised_lines
        ),
        (4, 1, 1)
    );
    // Trailing garbage after the gzip member is ignored (and logged), not fatal.
    let mut data = gz(&document(std::iter::once(
        "(r) Method completed with status: 200".to_owned(),
    )));
    data.extend_from_slice(b"\0\0garbage");
    assert_eq!(run(&lambda_event(&data)).unwrap().analysis.log_events, 1);
}

#[test]
fn one_hundred_thousand_events() {
    let messages = (0..100_000)
        .map(|i| format!("({i:08}-0000-4000-8000-000000000000) Method completed with status: 200"));
    let s = run(&lambda_event(&gz(&document(messages)))).unwrap();
    assert_eq!(
        (s.analysis.log_events, s.analysis.requests),
        (100_000, 100_000)
    );
}

#[test]
fn a_timeout_string_inside_a_body_is_not_a_timeout() {
    let messages = [
        "(ok) Method request body before transformations: Execution failed due to a timeout error",
        "(ok) Endpoint response body before transformations: {\"e\":\"Execution failed due to a timeout error\"}",
        "(ok) Received response. Status: 200, Integration latency: 12 ms",
        "(ok) Method completed with status: 200",
    ];
    let s = run(&lambda_event(&gz(&document(
        messages.iter().map(|m| m.to_string()),
    ))))
    .unwrap();
    assert_eq!(
        (s.analysis.timeouts, s.analysis.errors, s.alerts_sent),
        (0, 0, 0)
    );
}
