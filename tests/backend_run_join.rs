//! The join of a request to the backend run that served it, on small hand-made
//! function logs: exact matches, matches by time and their refusals, not reached,
//! lookups; the verdicts' facts and the words they give.

use apigw_doctor::engine::backend_run::*;
use apigw_doctor::logs::function_log;
use apigw_doctor::model::backend::Backend;
use apigw_doctor::model::backend_run::{Evidence, Join, MatchKind, Outcome, Wait, Wanted};
use apigw_doctor::render::words::backend_run::{sentence, what_would_tell};

fn likely_cause(j: &Join, limit_ms: u64) -> Option<String> {
    j.likely()
        .map(|l| apigw_doctor::render::words::diagnosis::likely(&l, limit_ms))
}

fn remedies(j: &Join) -> Vec<String> {
    j.remedies()
        .iter()
        .map(apigw_doctor::render::words::remedy::words)
        .collect()
}

const T0: i64 = 1_795_600_800_000;
const TRACE: &str = "1-5e1b4151-5ac6c58f5b5dbd6a1e6d2d8c";
const OTHER: &str = "1-5e1b4151-000000000000000000000001";

fn lambda() -> Option<Backend> {
    Backend::from_uri("https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/arn:aws:lambda:us-east-1:1:function:orders/invocations")
}

fn wanted(trace: Option<&str>) -> Wanted {
    Wanted {
        backend: lambda(),
        trace_id: trace.map(str::to_owned),
        sent: Some(T0),
        done: Some(T0 + 29_000),
        timed_out: true,
        limit_ms: 29_000,
        ..Wanted::default()
    }
}

fn logs(lines: &[(i64, String)]) -> FunctionLogs {
    let mut l = FunctionLogs::default();
    for (ts, m) in lines {
        l.add("orders", *ts, &function_log::parse_line(m).unwrap());
    }
    l
}

fn start(id: &str) -> String {
    format!("START RequestId: {id} Version: $LATEST")
}

fn report(id: &str, dur: f64, init: Option<f64>, trace: Option<&str>, status: &str) -> String {
    let mut s = format!("REPORT RequestId: {id}\tDuration: {dur:.2} ms\tBilled Duration: {} ms\tMemory Size: 512 MB\tMax Memory Used: 90 MB\t", dur.ceil());
    if let Some(i) = init {
        s.push_str(&format!("Init Duration: {i:.2} ms\t"));
    }
    if !status.is_empty() {
        s.push_str(&format!("Status: {status}\t"));
    }
    if let Some(t) = trace {
        s.push_str(&format!(
            "\nXRAY TraceId: {t}\tSegmentId: 6d7bc9e8a1c5e3f2\tSampled: true\t"
        ));
    }
    s
}

#[test]
fn read_by_xray_with_the_run_finishing_after_the_504() {
    // Warm run, traced, 31.2 s: the gateway gave up at 29 s.
    let l = logs(&[
        (T0 + 40, start("run-a")),
        (
            T0 + 40 + 31_204,
            report("run-a", 31_204.0, None, Some(TRACE), ""),
        ),
    ]);
    let j = join(&wanted(Some(TRACE)), &l, false);
    assert_eq!(j.wait, Wait::Read);
    let run = j.backend_run.as_ref().unwrap();
    assert_eq!(run.matched, MatchKind::Xray);
    assert_eq!(run.outcome, Outcome::Finished);
    assert_eq!(run.duration_ms, Some(31_204));
    assert_eq!(run.started, "2026-11-25T10:00:00.040Z");
    let s = sentence(&j, 29_000).unwrap();
    assert!(s.contains("ran 31.2 s serving this request as run-a (matched by X-Ray trace 1-5e1b4151-5ac6c58f5b5dbd6a1e6d2d8c)"), "{s}");
    assert!(s.contains("gave up at 29.0 s"), "{s}");
    assert!(
        s.contains("then finished, after the client had its 504"),
        "{s}"
    );
}

#[test]
fn cold_start_when_init_took_most_of_the_limit() {
    // Init 16.1 s, then 14.0 s of run: most of the limit was initialisation.
    let l = logs(&[
        (T0 + 16_150, start("run-c")),
        (
            T0 + 16_150 + 14_000,
            report("run-c", 14_000.0, Some(16_100.0), None, ""),
        ),
    ]);
    let j = join(&wanted(None), &l, false);
    assert_eq!(j.wait, Wait::ColdStart);
    assert_eq!(j.backend_run.as_ref().unwrap().matched, MatchKind::Time);
    assert_eq!(
        j.backend_run.as_ref().unwrap().init_duration_ms,
        Some(16_100)
    );
    // A short init is a read with a cold start, not a cold-start verdict.
    let l = logs(&[
        (T0 + 7_950, start("run-d")),
        (
            T0 + 7_950 + 23_300,
            report("run-d", 23_300.0, Some(7_900.0), None, ""),
        ),
    ]);
    let j = join(&wanted(None), &l, false);
    assert_eq!(j.wait, Wait::Read);
    assert_eq!(
        likely_cause(&j, 29_000).unwrap(),
        "the function ran 31.2 s (7.9 s of it a cold start); API Gateway gave up at 29.0 s while it kept running"
    );
    assert!(!remedies(&join(
        &wanted(None),
        &logs(&[
            (T0 + 16_150, start("run-c")),
            (
                T0 + 30_150,
                report("run-c", 14_000.0, Some(16_100.0), None, "")
            ),
        ]),
        false
    ))
    .is_empty());
}

#[test]
fn ambiguous_time_match_is_refused() {
    // Two untraced runs started within the margin: no guess.
    let l = logs(&[
        (T0 + 30, start("run-1")),
        (T0 + 55, start("run-2")),
        (
            T0 + 30_030,
            report("run-1", 30_000.0, None, None, "timeout"),
        ),
        (
            T0 + 30_055,
            report("run-2", 30_000.0, None, None, "timeout"),
        ),
    ]);
    let j = join(&wanted(None), &l, false);
    assert_eq!(j.wait, Wait::Unknown);
    assert_eq!(j.backend_run, None);
    assert!(matches!(
        j.evidence,
        Evidence::Ambiguous { candidates: 2, .. }
    ));
    assert!(sentence(&j, 29_000).unwrap().contains("would be a guess"));
    // With the trace id, the same log gives the exact answer when the runs are traced.
    let l = logs(&[
        (T0 + 30, start("run-1")),
        (T0 + 55, start("run-2")),
        (
            T0 + 30_030,
            report("run-1", 30_000.0, None, Some(OTHER), "timeout"),
        ),
        (
            T0 + 30_055,
            report("run-2", 30_000.0, None, Some(TRACE), "timeout"),
        ),
    ]);
    let j = join(&wanted(Some(TRACE)), &l, false);
    assert_eq!(j.wait, Wait::Read);
    let run = j.backend_run.unwrap();
    assert_eq!(
        (run.request_id.as_str(), run.outcome),
        ("run-2", Outcome::TimedOut)
    );
}

#[test]
fn not_reached_only_over_a_complete_log() {
    // A run long before, one long after: none in [sent, sent + margin].
    let lines = [
        (T0 - 60_000, start("early")),
        (T0 - 59_000, report("early", 1_000.0, None, None, "")),
        (T0 + 90_000, start("late")),
        (T0 + 90_500, report("late", 500.0, None, None, "")),
    ];
    let l = logs(&lines);
    let j = join(&wanted(None), &l, false);
    assert_eq!(j.wait, Wait::Unknown, "not known complete: no verdict");
    assert!(matches!(j.evidence, Evidence::NoFit { .. }));
    assert!(j.lookup.is_some());
    let mut l = logs(&lines);
    l.mark_seen_complete();
    let j = join(&wanted(None), &l, false);
    assert_eq!(j.wait, Wait::NotReached);
    assert!(sentence(&j, 29_000)
        .unwrap()
        .contains("never reached the function"));
    assert!(remedies(&j)[0].contains("Throttles and ConcurrentExecutions"));
    // A near-limit request was answered: a missing run is not "not reached".
    let w = Wanted {
        timed_out: false,
        ..wanted(None)
    };
    assert_eq!(join(&w, &l, false).wait, Wait::Unknown);
}

#[test]
fn not_reached_with_xray_counts_other_requests_runs() {
    let mut l = logs(&[
        (T0 + 20, start("other")),
        (T0 + 900, report("other", 880.0, None, Some(OTHER), "")),
    ]);
    l.function_mut("orders")
        .mark_complete(T0 - 5_000, T0 + 200_000);
    let j = join(&wanted(Some(TRACE)), &l, false);
    assert_eq!(j.wait, Wait::NotReached);
    assert!(matches!(j.evidence, Evidence::NoRun { others: 1, .. }));
}

#[test]
fn connect_and_unknown() {
    let http = Wanted {
        backend: Backend::from_uri("https://api.example.com/x"),
        connection_failure: Some("Connection refused".into()),
        ..wanted(None)
    };
    let j = join(&http, &FunctionLogs::default(), false);
    assert_eq!(j.wait, Wait::Connect);
    assert!(matches!(j.evidence, Evidence::Connect { .. }));
    assert!(likely_cause(&j, 29_000).unwrap().contains("TLS or DNS"));
    let j = join(
        &Wanted {
            connection_failure: None,
            ..http
        },
        &FunctionLogs::default(),
        false,
    );
    assert_eq!(j.wait, Wait::Unknown);
    // No function log at all: unknown, with what would tell, and a lookup to make.
    let j = join(&wanted(None), &FunctionLogs::default(), false);
    assert_eq!(j.wait, Wait::Unknown);
    assert!(what_would_tell(&j)
        .unwrap()
        .contains("X-Ray tracing on the stage and the function"));
    let plan = j.lookup.unwrap();
    assert_eq!(plan.log_group, "/aws/lambda/orders");
    assert_eq!(plan.start_ms, T0 - 5_000);
    assert_eq!(plan.end_ms, T0 + 29_000 + 120_000);
    assert_eq!(
        plan.filter_pattern,
        "?\"START RequestId\" ?\"REPORT RequestId\" ?\"platform.start\" ?\"platform.report\""
    );
    // AWS service integrations are not joined.
    let sqs = Wanted {
        backend: Backend::from_uri("https://sqs.us-east-1.amazonaws.com/1/q"),
        ..wanted(None)
    };
    assert_eq!(join(&sqs, &FunctionLogs::default(), false), Join::default());
}

#[test]
fn the_index_gives_the_same_joins_as_a_scan() {
    let cases = [
        vec![
            (T0 + 16_150, start("run-c")),
            (
                T0 + 30_150,
                report("run-c", 14_000.0, Some(16_100.0), None, ""),
            ),
        ],
        vec![
            (T0 + 30, start("run-1")),
            (T0 + 55, start("run-2")),
            (
                T0 + 30_030,
                report("run-1", 30_000.0, None, Some(OTHER), "timeout"),
            ),
            (
                T0 + 30_055,
                report("run-2", 30_000.0, None, Some(TRACE), "timeout"),
            ),
        ],
        vec![(T0 - 60_000, start("early")), (T0 + 90_000, start("late"))],
        vec![(
            T0 + 100 + 40_000,
            report("run-s", 40_000.0, None, None, "timeout"),
        )],
    ];
    for lines in cases {
        let mut l = logs(&lines);
        l.mark_seen_complete();
        for w in [wanted(None), wanted(Some(TRACE))] {
            let scanned = join(&w, &l, false);
            let mut indexed = l.clone();
            indexed.prepare();
            assert_eq!(join(&w, &indexed, false), scanned, "{lines:?}");
        }
    }
}

#[test]
fn near_limit_by_lambda_request_id() {
    // The execution log's `AWS Integration Endpoint RequestId` names the run.
    let l = logs(&[
        (T0 + 40, start("run-n")),
        (T0 + 24_040, report("run-n", 24_000.0, None, None, "")),
        (T0 + 45, start("run-m")),
    ]);
    let w = Wanted {
        lambda_request_id: Some("run-n".into()),
        done: Some(T0 + 24_100),
        timed_out: false,
        ..wanted(None)
    };
    let j = join(&w, &l, false);
    assert_eq!(j.wait, Wait::Read);
    assert_eq!(
        j.backend_run.as_ref().unwrap().matched,
        MatchKind::RequestId
    );
    let s = sentence(&j, 29_000).unwrap();
    assert!(
        s.contains("ran 24.0 s") && s.contains("got its answer after 24.1 s"),
        "{s}"
    );
    assert_eq!(j.lookup, None);
}

#[test]
fn a_run_that_ended_early_does_not_explain_the_wait() {
    let l = logs(&[
        (T0 + 30, start("quick")),
        (T0 + 530, report("quick", 500.0, None, Some(TRACE), "")),
    ]);
    let j = join(&wanted(Some(TRACE)), &l, false);
    assert_eq!(j.wait, Wait::Unknown);
    assert!(sentence(&j, 29_000)
        .unwrap()
        .contains("does not explain the wait"));
}

#[test]
fn lookups_join_again() {
    let w = wanted(Some(TRACE));
    let plan = plan_lookup(&w).unwrap();
    assert!(plan.filter_pattern.ends_with(&format!("?\"{TRACE}\"")));
    let rep = report("run-x", 31_000.0, Some(2_000.0), Some(TRACE), "");
    let start = start("run-x");
    let j = join_looked_up(&plan, &[(T0 + 2_040, &start), (T0 + 33_040, &rep)], true);
    assert_eq!(j.wait, Wait::Read);
    assert_eq!(j.backend_run.unwrap().matched, MatchKind::Xray);
    // Complete and empty: not reached. Incomplete and empty: unknown, no second lookup.
    assert_eq!(join_looked_up(&plan, &[], true).wait, Wait::NotReached);
    let j = join_looked_up(&plan, &[], false);
    assert_eq!(j.wait, Wait::Unknown);
    assert!(j.lookup.is_none());
    assert!(what_would_tell(&j).unwrap().contains("no run that fits"));
}

#[test]
fn running_runs_and_derived_starts() {
    // START only: still running; REPORT only: START is derived from the duration.
    let l = logs(&[(T0 + 100, start("run-r"))]);
    let j = join(&wanted(None), &l, false);
    assert_eq!(j.wait, Wait::Read);
    let run = j.backend_run.as_ref().unwrap();
    assert_eq!((run.outcome, run.duration_ms), (Outcome::Running, None));
    let l = logs(&[(
        T0 + 100 + 40_000,
        report("run-s", 40_000.0, None, None, "timeout"),
    )]);
    let j = join(&wanted(None), &l, false);
    assert_eq!(j.backend_run.unwrap().started, "2026-11-25T10:00:00.100Z");
}
