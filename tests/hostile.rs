//! Broken and hostile batches, each through the Lambda handler and through the CLI
//! (`apigw-doctor analyze FILE`): a clear error that names the batch, or a clean,
//! counted skip; never a panic; memory bounded by the decompression cap.

use std::io::Write as _;
use std::sync::OnceLock;

use apigw_doctor::lambda::config::Config;
use apigw_doctor::lambda::wiring::Recorded;
use apigw_doctor::monitor::{HandlerError, InvocationSummary};
use assert_cmd::Command;
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

fn batch(messages: &[&str]) -> Vec<u8> {
    lambda_event(&gz(&document(messages.iter().map(|m| m.to_string()))))
}

/// 2 GiB of zeros as 2,048 gzip members of 1 MiB each (~2 MB compressed): the cap
/// covers all members together, so this is refused after 64 MiB.
fn two_gib_bomb() -> &'static [u8] {
    static BOMB: OnceLock<Vec<u8>> = OnceLock::new();
    BOMB.get_or_init(|| gz(&vec![0u8; 1 << 20]).repeat(2048))
}

/// What must happen to an input.
enum Expect {
    /// Refused; the error says this (it names the batch where the batch has a name).
    Error(&'static str),
    /// Read; (log events, timeouts, unrecognised lines) as counted.
    Counts(u64, u64, u64),
}

fn cases() -> Vec<(&'static str, Vec<u8>, Expect)> {
    use Expect::*;
    let truncated = gz(b"{\"messageType\":\"DATA_MESSAGE\"");
    let mut trailing = gz(&document(std::iter::once(
        "(r) Method completed with status: 200".to_owned(),
    )));
    trailing.extend_from_slice(b"\0\0garbage");
    let limit = "exceeds the cap of 67108864 bytes";
    vec![
        ("invalid base64", br#"{"awslogs":{"data":"not base64!"}}"#.to_vec(), Error("invalid base64")),
        ("not gzip", lambda_event(b"plain text"), Error("not gzip")),
        ("truncated gzip", lambda_event(&truncated[..20]), Error("corrupt or truncated gzip")),
        ("trailing garbage after gzip", lambda_event(&trailing), Counts(1, 0, 0)),
        ("gzip bomb, 100 MiB in one member", lambda_event(&gz(&vec![0u8; 100 << 20])), Error(limit)),
        ("gzip bomb, 2 GiB of zeros", lambda_event(two_gib_bomb()), Error(limit)),
        ("gzip of invalid JSON", lambda_event(&gz(b"{not json")), Error("not a CloudWatch Logs subscription document")),
        (
            "wrong type in an event",
            lambda_event(&gz(br#"{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[{"id":"e1","timestamp":"soon","message":"m"}]}"#)),
            Error("log group g, log stream s, first event id e1"),
        ),
        (
            "missing messageType",
            lambda_event(&gz(br#"{"logGroup":"g","logStream":"s","logEvents":[{"id":"e1","timestamp":1,"message":"m"}]}"#)),
            Error("log group g, log stream s, first event id e1"),
        ),
        ("non-UTF-8 document", lambda_event(&gz(b"\xff\xfe{\"messageType\"")), Error("not a CloudWatch Logs subscription document")),
        ("empty file", Vec::new(), Error("empty")),
        ("JSON of another shape", br#"{"Records":[{"kinesis":{"partitionKey":"p"}}]}"#.to_vec(), Error("unrecognised event")),
        ("a wrong type in the wrapper", br#"{"awslogs":{"data":42}}"#.to_vec(), Error("unrecognised event")),
        ("empty logEvents", lambda_event(&gz(&document(std::iter::empty()))), Counts(0, 0, 0)),
        (
            "NUL and control bytes, and a 5 MB line",
            lambda_event(&gz(&document(
                [
                    "(r1) Execution failed due to a timeout error\u{0}\u{7}".to_owned(),
                    "(r1) Method completed with status: 504".to_owned(),
                    "\u{0}\u{0}\u{0}".to_owned(),
                    format!("(r2) Method request body before transformations: {}", "x".repeat(5 << 20)),
                ]
                .into_iter(),
            ))),
            Counts(4, 1, 1),
        ),
        (
            "a 6 MB event (incompressible messages)",
            lambda_event(&gz(&document((0..1500u64).map(|i| {
                let noise: String = (0..3000u64)
                    .map(|j| char::from(b'!' + ((i * 7919 + j * 104_729) % 89 + (i ^ j) % 5) as u8))
                    .collect();
                format!("({i:08}-0000-4000-8000-000000000000) Method request headers: {{X={noise}}}")
            })))),
            Counts(1500, 0, 0),
        ),
        (
            "100,000 events",
            lambda_event(&gz(&document((0..100_000).map(|i| {
                format!("({i:08}-0000-4000-8000-000000000000) Method completed with status: 200")
            })))),
            Counts(100_000, 0, 0),
        ),
        (
            "the timeout text inside bodies of a request that succeeded",
            batch(&[
                "(ok) Method request body before transformations: Execution failed due to a timeout error",
                "(ok) Endpoint response body before transformations: {\"e\":\"Execution failed due to a timeout error\"}",
                "(ok) Received response. Status: 200, Integration latency: 12 ms",
                "(ok) Method completed with status: 200",
            ]),
            Counts(4, 0, 0),
        ),
    ]
}

fn run(event: &[u8]) -> Result<InvocationSummary, HandlerError> {
    let m = Recorded::new(&Config::from_lookup(|_| None).unwrap());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(m.handle_at(event, None, NOW))
}

#[test]
fn through_the_handler() {
    for (name, input, expect) in cases() {
        match (run(&input), expect) {
            (Err(e), Expect::Error(needle)) => {
                assert!(!e.is_retryable(), "{name}: a broken batch is not retried");
                assert!(
                    e.to_string().contains(needle),
                    "{name}: {e} does not say {needle}"
                );
            }
            (Ok(s), Expect::Counts(events, timeouts, unrecognised)) => assert_eq!(
                (
                    s.analysis.log_events,
                    s.analysis.timeouts,
                    s.analysis.unrecognised_lines
                ),
                (events, timeouts, unrecognised),
                "{name}"
            ),
            (Ok(s), Expect::Error(needle)) => {
                panic!("{name}: read ({s:?}), expected an error saying {needle}")
            }
            (Err(e), Expect::Counts(..)) => panic!("{name}: {e}"),
        }
    }
}

#[test]
fn through_the_cli() {
    let dir = std::env::temp_dir().join(format!("apigw-doctor-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (i, (name, input, expect)) in cases().into_iter().enumerate() {
        let file = dir.join(format!("case-{i}.json"));
        std::fs::write(&file, &input).unwrap();
        let out = Command::cargo_bin("apigw-doctor")
            .unwrap()
            .args(["analyze", "--format", "json"])
            .arg(&file)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        match expect {
            Expect::Error(needle) => {
                assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
                // One line that names the file, and says what is wrong.
                assert_eq!(stderr.trim_end().lines().count(), 1, "{name}: {stderr}");
                assert!(
                    stderr.contains(&*file.to_string_lossy()) || stderr.contains("awslogs.data"),
                    "{name}: {stderr}"
                );
                assert!(
                    stderr.contains(needle),
                    "{name}: {stderr} does not say {needle}"
                );
            }
            Expect::Counts(events, timeouts, unrecognised) => {
                assert_eq!(out.status.code(), Some(0), "{name}: {stderr}");
                let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                let s = &v["summary"];
                assert_eq!(
                    (
                        s["log_events"].as_u64(),
                        s["timeouts"].as_u64(),
                        s["unrecognised_lines"].as_u64()
                    ),
                    (Some(events), Some(timeouts), Some(unrecognised)),
                    "{name}"
                );
            }
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}
