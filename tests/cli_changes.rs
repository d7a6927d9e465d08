//! `analyze --changes`: CloudTrail change history beside the logs of the CLI's incident
//! fixture, in both CloudTrail formats (a trail's file, plain and gzipped, and
//! `lookup-events` output), ranked per incident with true times; without change data
//! the report says it had none; bad change files warn and never break the log report.

mod common;

use assert_cmd::Command;
use common::fixture;

/// The first 504 of the fixture's incident: its first timed-out request (truth.json's
/// onset) answered 29,004 ms later.
const FIRST_504_MS: i64 = 1_795_601_298_357 + 29_004;
/// alice's memory change, 2026-11-25T10:02:00Z.
const MEMORY_CHANGE_MS: i64 = 1_795_600_920_000;

fn run(args: &[&str]) -> (i32, String, String) {
    let logs = fixture("cli/aws-logs.json.gz");
    let out = Command::cargo_bin("apigw-doctor")
        .unwrap()
        .args(["analyze", logs.to_str().unwrap()])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A fresh directory for one test's files.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir =
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-changes-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn json(args: &[&str]) -> serde_json::Value {
    let mut a = vec!["--format", "json"];
    a.extend_from_slice(args);
    let (code, out, err) = run(&a);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

/// The fixture's trail file in the other shapes: gzipped, and as `lookup-events` output.
fn formats(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let trail = fixture("cloudtrail/cli-incident-trail.json");
    let bytes = std::fs::read(&trail).unwrap();
    let gz = dir.join("trail.json.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut enc, &bytes).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let records: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let events: Vec<serde_json::Value> = records["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            serde_json::json!({"EventId": r["eventID"], "EventName": r["eventName"], "ReadOnly": "false",
                "EventTime": r["eventTime"], "EventSource": r["eventSource"], "Username": "alice",
                "Resources": [], "CloudTrailEvent": r.to_string()})
        })
        .collect();
    let lookup = dir.join("lookup-events.json");
    std::fs::write(
        &lookup,
        serde_json::to_vec(&serde_json::json!({"Events": events})).unwrap(),
    )
    .unwrap();
    vec![trail, gz, lookup]
}

#[test]
fn both_cloudtrail_formats_rank_the_memory_change_first_with_true_times() {
    let dir = scratch("formats");
    for path in formats(&dir) {
        let p = path.to_str().unwrap();
        let v = json(&["--changes", p]);
        // Five records: the failed UpdateIntegration changed nothing.
        assert_eq!(v["change_source"]["source"], "files", "{p}");
        assert_eq!(v["change_source"]["read"], 4, "{p}");
        assert_eq!(v["change_source"]["window_minutes"], 60);
        let timeouts = &v["incidents"][0];
        assert_eq!(timeouts["kind"], "timeout");
        let related = timeouts["changes"].as_array().unwrap();
        let names: Vec<&str> = related
            .iter()
            .map(|c| c["event_name"].as_str().unwrap())
            .collect();
        // Another API's stage update is not related; the explaining change ranks first.
        assert_eq!(
            names,
            ["UpdateFunctionConfiguration20150331v2", "CreateDeployment"],
            "{p}"
        );
        let top = &related[0];
        assert_eq!(top["rank"], 1);
        assert_eq!(
            top["before_onset_s"],
            (FIRST_504_MS - MEMORY_CHANGE_MS) / 1000
        );
        assert_eq!(top["actor"], "arn:aws:iam::123456789012:user/alice");
        assert_eq!(top["event_time"], "2026-11-25T10:02:00Z");
        assert_eq!(top["event_source"], "lambda.amazonaws.com");
        assert_eq!(top["resource"], "function orders-api");
        assert_eq!(
            top["detail"],
            serde_json::json!([{"field": "memorySize", "before": "1024", "after": "512"}])
        );
        assert_eq!(related[1]["detail"][0]["after"], "dep42x");
        // Top level: every change that could precede something in the report (the
        // two-day-old one cannot), related or not.
        let all: Vec<&str> = v["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["event_id"].as_str().unwrap())
            .collect();
        assert_eq!(all.len(), 3, "{all:?}");
        assert!(!all.contains(&"c0000000-0000-4000-8000-000000000001"));
    }
}

#[test]
fn the_text_report_has_a_what_changed_section() {
    let trail = fixture("cloudtrail/cli-incident-trail.json");
    let (code, text, _) = run(&["--changes", trail.to_str().unwrap()]);
    assert_eq!(code, 0);
    let section: String = text
        .lines()
        .skip_while(|l| !l.starts_with("WHAT CHANGED"))
        .take_while(|l| !l.starts_with("ROUTES BY IMPACT"))
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!("changes-text", section);
    let (_, md, _) = run(&["--format", "md", "--changes", trail.to_str().unwrap()]);
    assert!(
        md.contains(r"## What changed \(CloudTrail files, 60 min before each onset\)"),
        "{md}"
    );
    let (_, html, _) = run(&["--format", "html", "--changes", trail.to_str().unwrap()]);
    assert!(
        html.contains("configuration changes (dashed)"),
        "the timeline marks the changes"
    );
    assert!(html.contains("<h2 id=\"changes\">"));
    // The chart letters its dashed lines; the caption names them, in time order.
    assert!(
        html.contains(
            "A: UpdateFunctionConfiguration on function orders-api at 2026-11-25 10:02:00.000Z"
        ),
        "{html}"
    );
    assert!(html.contains("B: CreateDeployment on stage prod of API a1b2c3d4e5 at"));
}

#[test]
fn without_change_data_the_report_says_it_had_none() {
    let v = json(&[]);
    assert_eq!(v["change_source"]["source"], "none");
    assert!(v["change_source"]["note"]
        .as_str()
        .unwrap()
        .starts_with("No change data was given"));
    assert_eq!(v["incidents"][0]["changes"], serde_json::json!([]));
    let (_, text, _) = run(&[]);
    assert!(text.contains("No change data was given"), "{text}");
}

#[test]
fn a_window_without_changes_says_none_was_found() {
    let v = json(&[
        "--changes",
        fixture("cloudtrail/cli-incident-trail.json")
            .to_str()
            .unwrap(),
        "--change-window",
        "1",
    ]);
    assert_eq!(
        v["incidents"][0]["changes_note"],
        "No API Gateway or Lambda change to this API, stage or backend function was recorded in the 1 min before the onset."
    );
}

#[test]
fn bad_change_files_warn_and_the_log_report_stands() {
    let dir = scratch("bad");
    let truncated = dir.join("truncated.json");
    std::fs::write(&truncated, br#"{"Records":[{"eventName":"UpdateSt"#).unwrap();
    let embedded = dir.join("embedded.json");
    std::fs::write(
        &embedded,
        br#"{"Events":[{"EventName":"UpdateStage","CloudTrailEvent":"{oops"}]}"#,
    )
    .unwrap();
    for (path, says) in [
        (&truncated, "not JSON"),
        (&embedded, "CloudTrailEvent strings are not JSON"),
    ] {
        let (code, out, err) = run(&["--format", "json", "--changes", path.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains(says), "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["summary"]["timeouts"], 12, "the log report is whole");
        assert!(v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains(says)));
    }
    let (code, _, err) = run(&["--changes", "/nonexistent/ct.json"]);
    assert_eq!(code, 2, "{err}");
}
