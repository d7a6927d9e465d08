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

// ---------------------------------------------------------------------------
// The incident report on tests/fixtures/cli (python3 tests/fixtures/cli/generate.py):
// every format read, every number against truth.json, exit statuses, filters.

fn incident(name: &str) -> std::path::PathBuf {
    fixture("cli").join(name)
}

fn truth() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(incident("truth.json")).unwrap()).unwrap()
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = cli().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn report_json(extra: &[&str], file: &str) -> serde_json::Value {
    let path = incident(file);
    let mut args = vec!["analyze", "--format", "json"];
    args.extend_from_slice(extra);
    args.push(path.to_str().unwrap());
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{file}: {err}");
    serde_json::from_str(&out).unwrap()
}

/// Summary, per-minute timeline (with the censored p95), routes and incidents against truth.json.
fn assert_matches_truth(v: &serde_json::Value, what: &str) {
    let t = truth();
    for k in ["requests", "timeouts", "errors", "near_limit"] {
        assert_eq!(v["summary"][k], t["summary"][k], "{what}: summary.{k}");
    }
    assert_eq!(v["summary"]["unrecognised_lines"], 0, "{what}");
    assert_eq!(v["timeline"]["bucket_ms"], 60_000, "{what}");
    let buckets = v["timeline"]["buckets"].as_array().unwrap();
    let minutes = t["timeline"].as_array().unwrap();
    assert_eq!(buckets.len(), minutes.len(), "{what}: minutes");
    for (b, m) in buckets.iter().zip(minutes) {
        for k in [
            "start_ms",
            "requests",
            "timeouts",
            "errors",
            "near_limit",
            "measured",
            "p95_ms",
            "p95_censored",
        ] {
            assert_eq!(b[k], m[k], "{what}: minute {} {k}", m["start_ms"]);
        }
    }
    for r in v["routes"].as_array().unwrap() {
        let route = r["route"].as_str().unwrap();
        let tr = &t["routes"][route];
        for k in [
            "requests",
            "timeouts",
            "errors",
            "near_limit",
            "p50_ms",
            "p95_ms",
        ] {
            assert_eq!(r[k], tr[k], "{what}: {route} {k}");
        }
    }
    let pay = v["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "timeout")
        .expect("a timeout incident");
    assert_eq!(pay["route"], "POST /orders/{orderId}/pay");
    assert_eq!(pay["count"], t["summary"]["timeouts"]);
    assert_eq!(pay["first"], t["onset_ms"]);
    assert_eq!(pay["last"], t["end_ms"]);
    assert_eq!(pay["route_requests"], 40);
    assert_eq!(pay["rate_pct"], 30.0);
    assert!(v["warnings"].as_array().unwrap().is_empty(), "{what}");
}

#[test]
fn every_export_format_gives_the_same_true_numbers() {
    let group = "API-Gateway-Execution-Logs_a1b2c3d4e5/prod";
    for (file, extra) in [
        ("aws-logs.json.gz", vec!["--log-group", group]),
        ("insights.json.gz", vec![]),
        ("insights.csv.gz", vec![]),
        ("tail.txt.gz", vec!["--log-group", group]),
    ] {
        assert_matches_truth(&report_json(&extra, file), file);
    }
}

#[test]
fn pretty_printed_access_log_records() {
    let v = report_json(&[], "access-pretty.json.gz");
    let t = truth();
    for k in ["requests", "timeouts", "errors"] {
        assert_eq!(v["summary"][k], t["summary"][k], "summary.{k}");
    }
    assert_eq!(v["timeline"]["buckets"].as_array().unwrap().len(), 20);
}

#[test]
fn test_invoke_json_times_are_to_the_second() {
    let path = incident("test-invoke.json");
    let (code, out, err) = run(&["analyze", "--details", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("TIMEOUT"), "{out}");
    assert!(out.contains("to the second"), "{out}");
    assert!(!out.contains("29,000 ms after sending"), "{out}");
}

#[test]
fn unrecognised_input_warns_and_exits_3() {
    let path = incident("unrecognised.txt");
    let (code, out, err) = run(&["analyze", path.to_str().unwrap()]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("unrecognised.txt") && err.contains("100%"),
        "{err}"
    );
    assert!(err.contains("expected API Gateway"), "{err}");
    assert!(out.contains("WARNING"), "{out}");
    assert!(!out.contains("No integration timeouts"), "{out}");
    assert!(out.contains("all-clear"), "{out}");
    let (code, _, _) = run(&["analyze", "--allow-unrecognised", path.to_str().unwrap()]);
    assert_eq!(code, 0);
    // A Logs Insights JSON array without @message is a clear error, not a serde message alone.
    let (code, _, err) = cli_stdin(
        &["analyze", "-"],
        r#"[{"@timestamp":"2026-11-25 10:00:00.000","msg":"x"}]"#,
    );
    assert_ne!(code, 0, "{err}");
}

fn cli_stdin(args: &[&str], stdin: &str) -> (i32, String, String) {
    let out = cli().args(args).write_stdin(stdin).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn fail_on_sets_exit_4() {
    let path = incident("aws-logs.json.gz");
    let p = path.to_str().unwrap();
    assert_eq!(run(&["analyze", "--fail-on", "timeout", p]).0, 4);
    assert_eq!(run(&["analyze", "--fail-on", "near_limit", p]).0, 4);
    assert_eq!(
        run(&[
            "analyze",
            "--fail-on",
            "timeout",
            "--route",
            "GET /orders",
            p
        ])
        .0,
        0
    );
    assert_eq!(run(&["analyze", "--fail-on", "misconfiguration", p]).0, 0);
}

#[test]
fn filters_narrow_the_report() {
    let v = report_json(&["--route", "pay", "--kind", "timeout"], "aws-logs.json.gz");
    assert_eq!(v["summary"]["requests"], 40);
    assert_eq!(v["summary"]["timeouts"], 12);
    assert_eq!(v["summary"]["near_limit"], 0);
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["kind"] == "timeout"));
    // Minutes 8 to 9 (10:08:00 to 10:10:00): 12 requests, 4 timeouts.
    let v = report_json(
        &[
            "--since",
            "2026-11-25T10:08:00Z",
            "--until",
            "2026-11-25T10:10:00Z",
        ],
        "aws-logs.json.gz",
    );
    assert_eq!(v["summary"]["requests"], 12);
    assert_eq!(v["summary"]["timeouts"], 4);
    let v = report_json(&["--api-id", "other"], "aws-logs.json.gz");
    assert_eq!(v["summary"]["requests"], 0);
}

#[test]
fn text_and_markdown_reports_of_an_incident() {
    let path = incident("aws-logs.json.gz");
    let p = path.to_str().unwrap();
    let (code, text, _) = run(&["analyze", p]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("incident-text", text);
    let (code, md, _) = run(&["analyze", "--format", "md", p]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("incident-markdown", md);
    // The report is a report: one screen of summary, not a block per finding.
    assert!(text.lines().count() < 250, "{} lines", text.lines().count());
    let t = truth();
    assert!(text.contains("12 of 120 (10%)"), "{text}");
    assert!(
        text.contains(&format!(
            "{} → ",
            apigw_doctor::render::display::time(t["onset_ms"].as_i64().unwrap())
        )) || text.contains("first timeout")
    );
}

#[test]
fn html_report_is_self_contained() {
    let path = incident("aws-logs.json.gz");
    let (code, html, err) = run(&["analyze", "--format", "html", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        html.matches("<svg").count() >= 4,
        "a timeline and a latency chart per route"
    );
    for bad in ["<script src", "<link", "@import", "src=\"http"] {
        assert!(!html.contains(bad), "{bad}");
    }
    assert!(html.contains("sortable"));
}

#[test]
fn broken_pipe_ends_quietly() {
    use std::io::Read as _;
    use std::process::{Command, Stdio};
    let path = incident("aws-logs.json.gz");
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("apigw-doctor"))
        .args(["analyze", "--details", path.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 64];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut head)
        .unwrap();
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert!(matches!(status.code(), Some(0) | Some(141)), "{status:?}");
}

/// Issue 22: a function's own log group (text and JSON log formats), a WebSocket access
/// log and the gateway's configuration errors are read whole: exit 0, no warning. The files
/// are composed; tests/fixtures/samples-external/README.md cites the public formats.
#[test]
fn external_samples_read_without_a_warning() {
    for file in [
        "lambda-text-format-function-timeout.txt",
        "lambda-json-format-error-log.txt",
        "websocket-access-log-connect-500.txt",
        "rest-execution-log-vpclink-config-errors-500.txt",
    ] {
        let path = fixture("samples-external").join(file);
        let (code, out, err) = run(&["analyze", path.to_str().unwrap()]);
        assert_eq!(code, 0, "{file}: {err}");
        assert!(!err.contains("WARNING"), "{file}: {err}");
        assert!(!out.contains("WARNING"), "{file}: {out}");
        assert!(out.contains(", 0 not recognised"), "{file}: {out}");
    }
}

/// The same logs give the same incident id however often and whenever they are handled
/// (issue 24): the id comes from the incident's key and its onset on the logs' clock, so
/// a pager's dedup key survives replays and redeploys.
#[test]
fn two_dry_runs_of_one_incident_give_the_same_id() {
    let event = repo().join("events/timeout-info.json");
    let ids = || -> Vec<String> {
        let v = json_of(
            &["dry-run", "--format", "json", event.to_str().unwrap()],
            "",
        );
        v["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["incident_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = ids();
    assert!(!first.is_empty());
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(first, ids());
}
