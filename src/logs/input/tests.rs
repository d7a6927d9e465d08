use super::*;
use crate::engine::analysis::Analyzer;

#[test]
fn detection() {
    assert_eq!(detect(r#"{"awslogs":{"data":"x"}}"#), InputKind::Event);
    assert_eq!(detect(r#"{"Records":[]}"#), InputKind::Event);
    assert_eq!(
        detect(r#"{ "messageType": "DATA_MESSAGE" }"#),
        InputKind::Subscription
    );
    assert_eq!(
        detect(r#"{"events":[],"searchedLogStreams":[]}"#),
        InputKind::AwsLogs
    );
    assert_eq!(
        detect("{\"requestId\":\"a\",\"status\":\"200\"}\n{}"),
        InputKind::Lines
    );
    assert_eq!(detect("(abc) Sending request to x"), InputKind::Console);
    assert_eq!(
        detect("Execution log for request test-request\nThu Apr 05 09:01:24 UTC 2018 : Starting execution"),
        InputKind::TestInvoke
    );
}

#[test]
fn timestamps() {
    assert_eq!(
        leading_timestamp("2016-10-01T10:55:45.602Z Verifying"),
        Some((1_475_319_345_602, "Verifying"))
    );
    assert_eq!(
        leading_timestamp("2024-05-01T10:00:00.000+00:00\t(abc) x").map(|x| x.1),
        Some("(abc) x")
    );
    assert_eq!(
        leading_timestamp("1551194973732\t(a) b").map(|x| x.0),
        Some(1_551_194_973_732)
    );
    assert_eq!(leading_timestamp("(a) b"), None);
    assert_eq!(
        test_invoke_time("Thu Apr 05 09:01:24 UTC 2018 : x").map(|x| x.1),
        Some("x")
    );
    assert_eq!(
        announced_request_id("Starting execution for request: 9ac0."),
        Some("9ac0")
    );
}

fn read_all(text: &str) {
    let config = crate::engine::config::EngineConfig::default();
    for kind in [
        InputKind::Auto,
        InputKind::Tail,
        InputKind::Insights,
        InputKind::Json,
        InputKind::TestInvoke,
        InputKind::Console,
    ] {
        let mut a = Analyzer::new(&config);
        let mut sink = Windowed::new(
            &mut a,
            Window {
                since: Some(1),
                until: Some(1_800_000_000_000),
            },
        );
        let _ = feed_window(text.as_bytes(), kind, "x", "", 1 << 20, &mut sink);
        let _ = a.finish();
    }
}

proptest::proptest! {
    #[test]
    fn new_readers_never_panic(
        head in proptest::sample::select(vec![
            "", "@timestamp,@message\n", "{\"results\":[[{\"field\":\"@message\",\"value\":\"",
            "[{\"@message\":\"", "2026-11-25T10:00:00.000000+00:00 s ", "{\"log\":\"Execution log for request ",
            "{\n  \"requestId\": \"", "\"a,\"\"b\"\n",
        ]),
        body in "[ -~\n\t\"{}\\[\\],:()@]{0,300}",
    ) {
        read_all(&format!("{head}{body}"));
    }
}

#[test]
fn formats_read() {
    let config = crate::engine::config::EngineConfig::default();
    let run = |text: &str, kind: InputKind| {
        let mut a = Analyzer::new(&config);
        feed(
            text.as_bytes(),
            kind,
            "x",
            "API-Gateway-Execution-Logs_abc/prod",
            1 << 20,
            &mut a,
        )
        .unwrap();
        a.finish().0.summary
    };
    let exec = "(r1) Sending request to https://example.com/x\n(r1) Execution failed due to a timeout error\n";
    let lines: Vec<&str> = exec.lines().collect();
    let tail = format!(
        "2026-11-25T10:00:00.000000+00:00 s1 {}\n2026-11-25T10:00:29.000000+00:00 s1 {}\n",
        lines[0], lines[1]
    );
    assert_eq!(detect(&tail), InputKind::Tail);
    assert_eq!(run(&tail, InputKind::Auto).timeouts, 1);
    let csv = format!(
        "@timestamp,@message\n2026-11-25 10:00:00.000,\"{}\"\n2026-11-25 10:00:29.000,{}\n",
        lines[0], lines[1]
    );
    assert_eq!(detect(&csv), InputKind::Insights);
    assert_eq!(run(&csv, InputKind::Auto).timeouts, 1);
    let console_json =
        serde_json::json!([{"@timestamp": "2026-11-25 10:00:00.000", "@message": lines[0]},
        {"@timestamp": "2026-11-25 10:00:29.000", "@message": lines[1]}])
        .to_string();
    assert_eq!(detect(&console_json), InputKind::Insights);
    assert_eq!(run(&console_json, InputKind::Auto).timeouts, 1);
    assert_eq!(
        csv_records("a,\"b,\"\"c\"\"\nd\"\n", ','),
        vec![vec!["a", "b,\"c\"\nd"]]
    );
    assert_eq!(detect("{\n  \"status\": \"504\"\n}\n"), InputKind::Json);
    assert_eq!(detect("[{\"status\": \"504\"}]"), InputKind::Json);
}

#[test]
fn times() {
    let now = 1_764_590_400_000; // 2025-12-01T12:00:00Z
    assert_eq!(parse_time("2h", now), Ok(now - 7_200_000));
    assert_eq!(parse_time("30m", now), Ok(now - 1_800_000));
    assert_eq!(parse_time("2025-12-01T11:00:00Z", now), Ok(now - 3_600_000));
    assert_eq!(parse_time("2025-12-01 11:00", now), Ok(now - 3_600_000));
    assert_eq!(parse_time("1764590400000", now), Ok(now));
    assert!(parse_time("yesterday", now).is_err());
    assert!(parse_time("2x", now).is_err());
    let w = Window {
        since: Some(10),
        until: Some(20),
    };
    assert!(w.contains(10) && !w.contains(20) && !w.contains(9) && w.contains(0));
}

#[test]
fn comment_headers_are_skipped() {
    assert_eq!(skip_comment_header("# a\n# b\n(x) y"), "(x) y");
    assert_eq!(skip_comment_header("# only"), "");
}
