//! The CLI as a user runs it: exit codes, formats, stdin, several files as one stream.

mod common;

use assert_cmd::Command;
use common::{fixture, repo};

fn cli() -> Command {
    Command::cargo_bin("apigw-doctor").unwrap()
}

/// Runs `apigw-doctor ARGS` on `stdin`, expects success, returns the JSON it printed.
fn json_of(args: &[&str], stdin: &str) -> serde_json::Value {
    let out = cli()
        .args(args)
        .write_stdin(stdin)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn json_report_has_the_documented_fields() {
    let out = cli()
        .args(["analyze", "--format", "json"])
        .arg(repo().join("events/timeout-info.json"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    for k in ["log_events", "requests", "timeouts", "near_limit", "errors"] {
        assert!(v["summary"][k].is_u64(), "summary.{k}");
    }
    let f = &v["findings"][0];
    assert_eq!(f["kind"], "timeout");
    assert_eq!(f["cause"], "integration_timeout");
    assert_eq!(f["route"], "POST /orders/{orderId}/pay");
    assert_eq!(f["api_id"], "a1b2c3d4e5");
    assert_eq!(f["stage"], "prod");
    assert_eq!(f["status"], 504);
    assert_eq!(f["invoked"], true);
    assert!(f["integration_latency_ms"].is_null());
    assert_eq!(f["limit_ms"], 29000);
    assert!(f["request_id"].is_string());
    assert!(f["diagnosis"].as_str().unwrap().contains("gave up"));
    assert!(f["remedies"].as_array().unwrap().len() >= 3);
}

#[test]
fn stdin_and_text_copied_from_the_console() {
    let text = "2026-11-25T10:00:00.001Z\t(abc-1) Sending request to https://example.com/slow?key=SECRET\n\
                2026-11-25T10:00:29.010Z\t(abc-1) Execution failed due to a timeout error\n\
                2026-11-25T10:00:29.010Z\t(abc-1) Method completed with status: 504\n";
    let out = cli()
        .args(["analyze", "-"])
        .write_stdin(text)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("1 of 1 (100%) timed out"), "{out}");
    assert!(out.contains("29,009 ms"), "{out}");
    assert!(
        out.contains("HTTP endpoint https://example.com/slow"),
        "{out}"
    );
    assert!(!out.contains("SECRET"));
}

#[test]
fn test_invoke_log_with_multi_line_messages() {
    let text = "Execution log for request test-request\n\
                Thu Apr 05 09:01:24 UTC 2018 : Starting execution for request: test-invoke-request\n\
                Thu Apr 05 09:01:24 UTC 2018 : HTTP Method: GET, Resource Path: /pets/42\n\
                Thu Apr 05 09:01:24 UTC 2018 : Method request path: {petId=42}\n\
                Thu Apr 05 09:01:24 UTC 2018 : Sending request to https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/arn:aws:lambda:us-east-1:1:function:pets/invocations\n\
                Thu Apr 05 09:01:25 UTC 2018 : Received response. Status: 200, Integration latency: 812 ms\n\
                Thu Apr 05 09:01:25 UTC 2018 : Lambda execution failed with status 200 due to customer function error: boom\n  at line 1\n  at line 2. Lambda request id: 11-22\n\
                Thu Apr 05 09:01:25 UTC 2018 : Method completed with status: 502\n";
    let v = json_of(&["analyze", "--format", "json", "-"], text);
    let f = &v["findings"][0];
    assert_eq!(
        (f["kind"].as_str(), f["cause"].as_str()),
        (Some("error"), Some("function_error"))
    );
    assert_eq!(f["route"], "GET /pets/{petId}");
    assert_eq!(f["lambda_request_id"], "11-22");
}

#[test]
fn aws_logs_output_and_jsonl_access_logs() {
    let aws = r#"{"events":[{"logStreamName":"s1","timestamp":1795600800000,"message":"(r1) Execution failed due to a timeout error","ingestionTime":1,"eventId":"e1"},{"logStreamName":"s1","timestamp":1795600800000,"message":"(r1) Method completed with status: 504","eventId":"e2"}],"searchedLogStreams":[]}"#;
    let v = json_of(
        &[
            "analyze",
            "--format",
            "json",
            "--log-group",
            "API-Gateway-Execution-Logs_zz9/dev",
            "-",
        ],
        aws,
    );
    assert_eq!(v["summary"]["timeouts"], 1);
    assert_eq!(v["findings"][0]["api_id"], "zz9");
    assert!(v["findings"][0]["invoked"].is_null());

    let jsonl = "{\"requestId\":\"a\",\"status\":\"200\",\"integrationLatency\":\"24000\",\"httpMethod\":\"GET\",\"resourcePath\":\"/x\"}\n\
                 {\"requestId\":\"b\",\"status\":\"504\",\"errorResponseType\":\"INTEGRATION_TIMEOUT\",\"integrationLatency\":\"29001\"}\n";
    let v = json_of(&["analyze", "--format", "json", "-"], jsonl);
    assert_eq!(
        (
            v["summary"]["timeouts"].as_u64(),
            v["summary"]["near_limit"].as_u64()
        ),
        (Some(1), Some(1))
    );
}

#[test]
fn custom_access_log_format() {
    let fmt = "$context.requestId $context.status $context.integrationLatency $context.httpMethod $context.resourcePath";
    let v = json_of(
        &[
            "analyze",
            "--format",
            "json",
            "--access-log-format",
            fmt,
            "-",
        ],
        "r1 200 25000 GET /a\nr2 200 100 GET /a\n",
    );
    assert_eq!(v["summary"]["near_limit"], 1);
    assert_eq!(v["findings"][0]["route"], "GET /a");
}

#[test]
fn several_files_are_one_stream() {
    let out = cli()
        .args(["analyze", "--format", "json"])
        .arg(repo().join("events/split-part1.json"))
        .arg(repo().join("events/split-part2.json"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["findings"][0]["invoked"], true);
    assert_eq!(v["findings"][0]["elapsed_ms"], 29003);
}

#[test]
fn unreadable_input_exits_2_with_one_line() {
    for (args, needle) in [
        (vec!["analyze", "/no/such/file"], "/no/such/file"),
        (vec!["analyze", "--timeout-ms", "5", "x"], "--timeout-ms"),
        (
            vec!["analyze", "--near-limit-ratio", "2", "x"],
            "--near-limit-ratio",
        ),
        (
            vec!["analyze", "--access-log-format", "$context.status", "x"],
            "requestId",
        ),
    ] {
        let out = cli()
            .args(&args)
            .assert()
            .code(2)
            .get_output()
            .stderr
            .clone();
        let err = String::from_utf8(out).unwrap();
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{err}");
    }
    let out = cli()
        .arg("analyze")
        .arg(repo().join("events/malformed.json"))
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    assert!(String::from_utf8(out).unwrap().contains("not gzip"));
    cli()
        .args(["analyze", "-"])
        .write_stdin("")
        .assert()
        .code(2);
}

#[test]
fn the_samples_all_parse() {
    for entry in std::fs::read_dir(fixture("samples")).unwrap() {
        cli()
            .arg("analyze")
            .arg(entry.unwrap().path())
            .assert()
            .success();
    }
}
