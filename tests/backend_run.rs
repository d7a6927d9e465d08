//! Issue 16: each timed-out request joined to the backend run that served it, from
//! fixtures in the real function-log formats (text with tabs and the XRAY line, JSON
//! platform records), with concurrent invocations; the verdicts, their numbers, the
//! finding's JSON, and the alerts for `read` with a cold start and `not_reached`.

mod common;

use apigw_doctor::engine::analysis::{Analysis, Analyzer};
use apigw_doctor::engine::config::EngineConfig;
use apigw_doctor::render::words::diagnosis::Words;

use apigw_doctor::engine::incidents::{self, Lifecycle, Status};
use apigw_doctor::logs::input::{self, InputKind};
use apigw_doctor::model::backend_run::{MatchKind, Outcome, Wait};
use apigw_doctor::model::finding::Finding;
use apigw_doctor::render::alert::{self, AlertContext, Notice};
use common::fixture;

const FILES: [&str; 3] = [
    "backend/execution.json",
    "backend/orders-api.json",
    "backend/orders-json.json",
];

fn analyze(files: &[&str], complete: bool) -> Analysis {
    let config = EngineConfig::default();
    let mut a = Analyzer::new(&config);
    if complete {
        a = a.with_complete_function_logs();
    }
    for f in files {
        let bytes = std::fs::read(fixture(f)).unwrap();
        input::feed(&bytes, InputKind::Auto, f, "", 64 << 20, &mut a).unwrap();
    }
    a.finish().0
}

fn on<'a>(a: &'a Analysis, route: &str) -> &'a Finding {
    a.findings
        .iter()
        .find(|f| f.route.as_str() == route)
        .unwrap_or_else(|| panic!("no finding on {route}"))
}

#[test]
fn verdicts_per_request() {
    let a = analyze(&FILES, true);
    assert_eq!(a.summary.timeouts, 5);

    // Traced: exact by X-Ray, a cold start of 7.9 s, then 23.3 s of run.
    let pay = on(&a, "POST /pay");
    assert_eq!(pay.run.wait, Wait::Read);
    let run = pay.run.backend_run.as_ref().unwrap();
    assert_eq!(run.matched, MatchKind::Xray);
    assert_eq!(run.request_id, "00016bac-0000-4000-8000-00000000238d");
    assert_eq!(run.duration_ms, Some(23_292));
    assert_eq!(run.init_duration_ms, Some(7_912));
    assert_eq!(run.outcome, Outcome::Finished);
    assert_eq!(run.started, "2026-11-25T10:00:08.952Z");
    let shown = Words::of(pay).shows.join(" ");
    assert!(
        shown.contains("ran 31.2 s (7.9 s of it a cold start)")
            && shown.contains("API Gateway gave up at 29.0 s while it kept running"),
        "{shown}"
    );

    // Two concurrent untraced runs fit: the match by time is refused.
    let refund = on(&a, "POST /refund");
    assert_eq!(refund.run.wait, Wait::Unknown);
    assert!(refund.run.backend_run.is_none());
    assert!(Words::of(refund)
        .shows
        .iter()
        .any(|s| s.starts_with("2 runs of orders-api started")));

    // One warm run fits: by time, and it then hit its own timeout.
    let ship = on(&a, "POST /ship");
    assert_eq!(ship.run.wait, Wait::Read);
    let run = ship.run.backend_run.as_ref().unwrap();
    assert_eq!(
        (
            run.matched,
            run.outcome,
            run.duration_ms,
            run.init_duration_ms
        ),
        (MatchKind::Time, Outcome::TimedOut, Some(30_004), None)
    );

    // The whole group was given and nothing started: not reached.
    let report = on(&a, "GET /report");
    assert_eq!(report.run.wait, Wait::NotReached);
    assert!(report.run.backend_run.is_none());
    assert!(Words::of(report).remedies[0].contains("Throttles and ConcurrentExecutions"));

    // JSON system logs, traced: init took 16.1 s of the 29 s.
    let import = on(&a, "POST /import");
    assert_eq!(import.run.wait, Wait::ColdStart);
    let run = import.run.backend_run.as_ref().unwrap();
    assert_eq!(
        (run.matched, run.duration_ms, run.init_duration_ms),
        (MatchKind::Xray, Some(14_006), Some(16_100))
    );
    assert!(Words::of(import).remedies[0].contains("provisioned concurrency"));
}

#[test]
fn without_the_whole_group_absence_proves_nothing() {
    // As subscribed (one stream per document), a missing run is not "not reached".
    let a = analyze(&FILES, false);
    assert_eq!(on(&a, "GET /report").run.wait, Wait::Unknown);
    assert_eq!(on(&a, "POST /pay").run.wait, Wait::Read);
    // Without the function logs: unknown, and the diagnosis says what would tell.
    let a = analyze(&FILES[..1], true);
    for f in &a.findings {
        assert_eq!(f.run.wait, Wait::Unknown, "{}", f.route);
        assert!(f.run.lookup.is_some());
        assert!(Words::of(f)
            .cannot_show
            .iter()
            .any(|s| s.contains("/aws/lambda/")));
    }
}

#[test]
fn finding_json_has_backend_run_and_wait() {
    let a = analyze(&FILES, true);
    let report: serde_json::Value =
        serde_json::from_str(&apigw_doctor::render::report::json(&a)).unwrap();
    let findings = report["findings"].as_array().unwrap();
    let pay = findings.iter().find(|f| f["route"] == "POST /pay").unwrap();
    assert_eq!(pay["wait"], "read");
    assert_eq!(
        pay["backend_run"],
        serde_json::json!({"request_id":"00016bac-0000-4000-8000-00000000238d",
            "started":"2026-11-25T10:00:08.952Z","duration_ms":23292,"init_duration_ms":7912,
            "outcome":"finished","match":"xray"})
    );
    let report_ = findings
        .iter()
        .find(|f| f["route"] == "GET /report")
        .unwrap();
    assert_eq!(
        (&report_["wait"], &report_["backend_run"]),
        (&serde_json::json!("not_reached"), &serde_json::Value::Null)
    );
}

#[test]
fn alerts_for_read_with_a_cold_start_and_not_reached() {
    let a = analyze(&FILES, true);
    // The incident each route belongs to, notified with that route's findings as the
    // examples (issue 11's incident notifications).
    let now = 1_795_601_100_000;
    let groups = incidents::group_analysis(&a);
    for (route, name) in [
        ("POST /pay", "read-cold-start"),
        ("GET /report", "not-reached"),
    ] {
        let g = groups
            .iter()
            .find(|g| g.routes.contains_key(route))
            .unwrap();
        let o = incidents::observe(None, g, now, Lifecycle::default());
        let n = Notice {
            status: Status::Firing,
            incident: &o.next,
            findings: g
                .findings
                .iter()
                .filter(|f| f.route.as_str() == route)
                .copied()
                .collect(),
            before: None,
            possibly_duplicate: false,
            now,
            changes: apigw_doctor::engine::changes::ChangeEvidence::NotConfigured,
        };
        let r = alert::render(&n, &AlertContext::default());
        insta::assert_snapshot!(format!("{name}-email"), &r.email);
        insta::assert_json_snapshot!(
            format!("{name}-chatbot"),
            serde_json::from_str::<serde_json::Value>(&r.chatbot).unwrap()
        );
    }
}

#[test]
fn connect_for_an_http_backend_that_failed_fast() {
    use apigw_doctor::logs::envelope::Source;
    let config = EngineConfig::default();
    let mut a = Analyzer::new(&config);
    let src = Source {
        log_group: "API-Gateway-Execution-Logs_a1b2c3d4e5/prod",
        log_stream: "s",
    };
    let id = "00016bac-0000-4000-8000-000000000042";
    for (i, (ts, text)) in [
        (1_000, "HTTP Method: GET, Resource Path: /stock"),
        (1_001, "Sending request to https://stock.internal.example.com/v1/stock"),
        (
            1_090,
            "Execution failed due to configuration error: Network error communicating with endpoint",
        ),
        (1_090, "Method completed with status: 500"),
    ]
    .into_iter()
    .enumerate()
    {
        a.add_event(src, &i.to_string(), ts, &format!("({id}) {text}"));
    }
    let analysis = a.finish().0;
    let f = &analysis.findings[0];
    assert_eq!(f.cause.as_str(), "connection_failure");
    assert_eq!(f.run.wait, Wait::Connect);
    assert!(f.run.backend_run.is_none());
}

#[test]
fn access_log_trace_id_joins_exactly() {
    use apigw_doctor::logs::envelope::Source;
    // An access-log-only timeout carries `$context.xrayTraceId`; the function's REPORT
    // carries the same trace: exact, without any execution log.
    let config = EngineConfig::default();
    let mut a = Analyzer::new(&config);
    let access = Source {
        log_group: "/apigw/access/orders",
        log_stream: "s",
    };
    a.add_event(
        access,
        "1",
        1_795_600_830_000,
        r#"{"requestId":"00016bac-0000-4000-8000-000000000077","apiId":"a1b2c3d4e5","stage":"prod","httpMethod":"POST","resourcePath":"/pay","status":"504","responseLatency":"29004","errorResponseType":"INTEGRATION_TIMEOUT","xrayTraceId":"Root=1-6744a000-0000000000000000000000a7"}"#,
    );
    let function = Source {
        log_group: "/aws/lambda/payments",
        log_stream: "2026/11/25/[$LATEST]0a",
    };
    a.add_event(
        function,
        "2",
        1_795_600_801_050,
        "START RequestId: run-p Version: $LATEST",
    );
    a.add_event(
        function,
        "3",
        1_795_600_833_050,
        "REPORT RequestId: run-p\tDuration: 32000.00 ms\tBilled Duration: 32000 ms\tMemory Size: 512 MB\tMax Memory Used: 90 MB\t\nXRAY TraceId: 1-6744a000-0000000000000000000000a7\tSegmentId: 0a\tSampled: true\t",
    );
    let analysis = a.finish().0;
    let f = analysis
        .findings
        .iter()
        .find(|f| f.request_id.as_deref() == Some("00016bac-0000-4000-8000-000000000077"))
        .unwrap();
    assert_eq!(
        f.xray_trace_id.as_deref(),
        Some("Root=1-6744a000-0000000000000000000000a7")
    );
    // The access log names no backend; the trace id finds the run and the function.
    assert_eq!(f.run.wait, Wait::Read);
    let run = f.run.backend_run.as_ref().unwrap();
    assert_eq!(
        (run.request_id.as_str(), run.matched, run.duration_ms),
        ("run-p", MatchKind::Xray, Some(32_000))
    );
    assert!(Words::of(f)
        .shows
        .iter()
        .any(|s| s.contains("The function payments ran 32.0 s")));
}

/// The Lambda's path: a timeout in events/timeout-info.json (the function's log not
/// subscribed) gets its run from a lookup of /aws/lambda/orders-api, because the
/// function is in BACKEND_FUNCTION_NAMES; without it, nothing is looked up.
#[test]
fn the_handler_looks_the_run_up_for_listed_functions_only() {
    use apigw_doctor::lambda::config::Config;
    use apigw_doctor::lambda::wiring::Recorded;
    use apigw_doctor::monitor::lookup::{FetchedEvent, LogLookup, MemoryLookup};
    use std::sync::Arc;

    // The timeout was sent at 10:00:00.501 (events/generate.py).
    let sent = 1_795_600_800_501;
    let mem = Arc::new(MemoryLookup::default());
    for (ts, message) in [
        (
            sent + 38,
            "START RequestId: 7c1e0000-0000-4000-8000-00000000beef Version: $LATEST\n",
        ),
        (
            sent + 60_000,
            "START RequestId: 7c1e0000-0000-4000-8000-00000000cafe Version: $LATEST\n",
        ),
    ] {
        mem.add(
            "/aws/lambda/orders-api",
            FetchedEvent {
                id: ts.to_string(),
                timestamp: ts,
                message: message.into(),
                log_stream: "2026/11/25/[$LATEST]0b".into(),
            },
        );
    }
    let event = std::fs::read(common::repo().join("events/timeout-info.json")).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let run = |names: &str| {
        let env: std::collections::HashMap<String, String> =
            [("BACKEND_FUNCTION_NAMES".to_owned(), names.to_owned())].into();
        let lookup: Arc<dyn LogLookup> = Arc::new(Arc::clone(&mem));
        let m = Recorded::new(&Config::from_lookup(|k| env.get(k).cloned()).unwrap())
            .with_lookup(lookup);
        rt.block_on(m.handle_at(&event, None, 1_795_601_100_000))
            .unwrap()
    };
    let s = run("orders-api");
    assert_eq!(
        (s.backend_lookups.wanted, s.backend_lookups.lookups),
        (1, 1)
    );
    let f = s
        .findings
        .iter()
        .find(|f| f.kind.as_str() == "timeout")
        .unwrap();
    assert_eq!(f.run.wait, Wait::Read);
    let r = f.run.backend_run.as_ref().unwrap();
    assert_eq!(
        (r.request_id.as_str(), r.matched, r.outcome),
        (
            "7c1e0000-0000-4000-8000-00000000beef",
            MatchKind::Time,
            Outcome::Running
        )
    );
    let s = run("payments");
    assert_eq!(
        (s.backend_lookups.wanted, s.backend_lookups.lookups),
        (0, 0)
    );
    assert!(s.findings.iter().all(|f| f.run.wait == Wait::Unknown));
}
