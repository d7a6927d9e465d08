//! Issue 16's lookup path against a local CloudWatch Logs: a backend function's log
//! group in the runtime's text format (START / REPORT with tabs and the XRAY line, two
//! streams, concurrent runs), looked up with FilterLogEvents through `CloudWatchLookup`
//! for the timeouts of an analysis, and the verdicts that come back. `make aws-lookup`
//! runs it under MiniStack (`tests/aws/ministack.py -- cargo test --test
//! aws_backend_lookup`); without `AWS_ENDPOINT_URL` it says so and does nothing.

#[path = "common/emulator.rs"]
mod emulator;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use apigw_doctor::aws::lookup::cloudwatch_lookup;
use apigw_doctor::engine::analysis::Analyzer;
use apigw_doctor::engine::config::EngineConfig;
use apigw_doctor::logs::envelope::Source;
use apigw_doctor::model::backend_run::{MatchKind, Outcome, Wait};
use apigw_doctor::monitor::backend_runs::look_up;
use apigw_doctor::monitor::lookup::LogLookup;
use apigw_doctor::render::words::diagnosis::Words;

const EXEC: &str = "API-Gateway-Execution-Logs_a1b2c3d4e5/prod";
const FUNCTION: &str = "orders-api";
const GROUP: &str = "/aws/lambda/orders-api";
const URI: &str = "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:orders-api/invocations";
const TRACE: &str = "1-6744a000-0000000000000000000000a1";

fn req(n: u32) -> String {
    format!("00016bac-0000-4000-8000-{n:012}")
}

#[test]
fn backend_runs_looked_up_in_the_emulator() {
    let Some((rt, conf)) = emulator::emulator("make aws-lookup") else {
        return;
    };
    rt.block_on(async {
        let logs = aws_sdk_cloudwatchlogs::Client::new(&conf);
        logs.create_log_group().log_group_name(GROUP).send().await.unwrap();
        let now = emulator::now_ms();
        // Four timeouts, a minute apart; the gateway waited 29 s for each.
        let t = now - 600_000;
        let sent = |k: i64| t + k * 60_000 + 1;
        let report = |id: &str, dur: f64, init: Option<f64>, xray: Option<&str>, status: &str| {
            let mut s = format!("REPORT RequestId: {id}\tDuration: {dur:.2} ms\tBilled Duration: {} ms\tMemory Size: 512 MB\tMax Memory Used: 90 MB\t", dur.ceil());
            if let Some(i) = init {
                s.push_str(&format!("Init Duration: {i:.2} ms\t"));
            }
            if !status.is_empty() {
                s.push_str(&format!("Status: {status}\t"));
            }
            s.push('\n');
            if let Some(x) = xray {
                s.push_str(&format!("XRAY TraceId: {x}\tSegmentId: 0a1b2c3d4e5f6071\tSampled: true\t\n"));
            }
            s
        };
        let start = |id: &str| format!("START RequestId: {id} Version: $LATEST\n");
        let streams: [(&str, Vec<(i64, String)>); 2] = [
            (
                "2026/11/25/[$LATEST]00000000000000000000000000000001",
                vec![
                    // 0: traced, a cold start of 7.9 s, finished after the 504.
                    (sent(0) + 7_950, start("run-a")),
                    (sent(0) + 7_950 + 2, format!("{}\trun-a\tINFO\tcharging card\n", sent(0))),
                    (sent(0) + 31_242, report("run-a", 23_291.62, Some(7_912.35), Some(TRACE), "")),
                    // 1: two concurrent runs (with the one in the other stream): refused.
                    (sent(1) + 30, start("run-b1")),
                    (sent(1) + 30_030, report("run-b1", 30_000.0, None, None, "timeout")),
                    // 3: runs long before and long after; none while the gateway waited.
                    (sent(3) - 4_000, start("run-d0")),
                    (sent(3) - 3_900, report("run-d0", 100.0, None, None, "")),
                    (sent(3) + 45_000, start("run-d1")),
                    (sent(3) + 45_100, report("run-d1", 100.0, None, None, "")),
                ],
            ),
            (
                "2026/11/25/[$LATEST]00000000000000000000000000000002",
                vec![
                    (sent(1) + 55, start("run-b2")),
                    (sent(1) + 31_555, report("run-b2", 31_500.0, None, None, "")),
                    // 2: one warm run, still running (no REPORT yet).
                    (sent(2) + 41, start("run-c")),
                ],
            ),
        ];
        for (stream, events) in &streams {
            logs.create_log_stream()
                .log_group_name(GROUP)
                .log_stream_name(*stream)
                .send()
                .await
                .unwrap();
            let mut events = events.clone();
            events.sort_by_key(|e| e.0);
            let mut put = logs.put_log_events().log_group_name(GROUP).log_stream_name(*stream);
            for (ts, message) in events {
                put = put.log_events(
                    aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                        .timestamp(ts)
                        .message(message)
                        .build()
                        .unwrap(),
                );
            }
            put.send().await.unwrap();
        }

        // The execution log of the four timeouts (the function's log not subscribed).
        let config = EngineConfig::default();
        let mut a = Analyzer::new(&config);
        let src = Source {
            log_group: EXEC,
            log_stream: "e7f0",
        };
        for k in 0..4i64 {
            let id = req(k as u32 + 1);
            let mut lines = vec![
                (0, format!("HTTP Method: POST, Resource Path: /r{k}")),
                (1, format!("Sending request to {URI}")),
                (29_004, "Execution failed due to a timeout error".to_owned()),
                (29_004, "Method completed with status: 504".to_owned()),
            ];
            if k == 0 {
                lines.push((0, format!("X-ray Tracing ID : Root={TRACE}")));
            }
            for (i, (dt, text)) in lines.into_iter().enumerate() {
                a.add_event(src, &format!("{k}-{i}"), sent(k) - 1 + dt, &format!("({id}) {text}"));
            }
        }
        let mut findings = a.finish().0.findings;
        findings.sort_by(|x, y| x.route.as_str().cmp(y.route.as_str()));
        assert_eq!(findings.len(), 4);
        assert!(findings.iter().all(|f| f.run.wait == Wait::Unknown && f.run.lookup.is_some()));

        let lookup: Arc<dyn LogLookup> = cloudwatch_lookup(&conf);
        let allowed: HashSet<String> = [FUNCTION.to_owned()].into();
        let done = look_up(
            &mut findings,
            Some(&lookup),
            &allowed,
            20,
            Some(Instant::now() + Duration::from_secs(30)),
        )
        .await;
        // Overlapping windows of one function share lookups.
        assert_eq!((done.wanted, done.failed, done.skipped), (4, 0, 0), "{done:?}");
        assert!(done.lookups >= 1 && done.lookups < 4, "{done:?}");

        let verdicts: Vec<(&str, Wait)> = findings
            .iter()
            .map(|f| (f.route.as_str(), f.run.wait))
            .collect();
        assert_eq!(
            verdicts,
            [
                ("POST /r0", Wait::Read),
                ("POST /r1", Wait::Unknown),
                ("POST /r2", Wait::Read),
                ("POST /r3", Wait::NotReached),
            ]
        );
        let a0 = findings[0].run.backend_run.as_ref().unwrap();
        assert_eq!(
            (a0.request_id.as_str(), a0.matched, a0.duration_ms, a0.init_duration_ms, a0.outcome),
            ("run-a", MatchKind::Xray, Some(23_292), Some(7_912), Outcome::Finished)
        );
        let c = findings[2].run.backend_run.as_ref().unwrap();
        assert_eq!(
            (c.request_id.as_str(), c.matched, c.outcome),
            ("run-c", MatchKind::Time, Outcome::Running)
        );
        assert!(Words::of(&findings[1])
            .shows
            .iter()
            .any(|s| s.starts_with("2 runs of orders-api started")));

        // A function the stack may not read is never looked up.
        let mut again = findings.clone();
        let none = look_up(&mut again, Some(&lookup), &HashSet::new(), 20, None).await;
        assert_eq!(none.lookups, 0);
    });
}
