//! The backend function's run, looked up after the fact (issue 16): for each timeout on
//! a Lambda backend that the analysis could not answer, `FilterLogEvents` on
//! `/aws/lambda/NAME` over [sent − 5 s, sent + limit + 120 s] (see
//! [`backend_run::plan_lookup`]), through the same [`LogLookup`] as the healing of split
//! requests, within what is left of its budget and deadline. Timeouts of one function
//! whose windows overlap share one lookup.
//!
//! The terms are [`function_log::RUN_TERMS`]: the runtime's `START` / `REPORT` lines (a
//! START is logged as soon as a run begins, long before its REPORT, whose `XRAY` line
//! makes the match exact) in the text format, and `platform.start` / `platform.report`
//! in the JSON one, whose key is `requestId` (a case-sensitive `RequestId` missed them).
//!
//! Completeness: FilterLogEvents interleaves a group's streams in time order, so the
//! pages read cover [start, last event returned] in full, however many pages were
//! left unread. A run absent from that span did not start in it (`not_reached`); past
//! it nothing is claimed.

use crate::engine::backend_run::{self, FunctionLogs};
use crate::logs::function_log;
use crate::model::backend_run::Evidence;
use crate::model::backend_run::LookupPlan;
use crate::model::finding::Finding;
use crate::monitor::lookup::{lookup_all, FetchedEvent, LogLookup, LookupError, Outcome, Query};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

/// What the backend lookups did in one invocation.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BackendLookups {
    /// Timeouts that wanted their run looked up (on a function the stack may read).
    pub wanted: usize,
    /// Lookups made (one per function and window).
    pub lookups: usize,
    /// Timeouts that got a verdict from a lookup.
    pub answered: usize,
    pub failed: usize,
    /// Over the budget or past the deadline.
    pub skipped: usize,
    /// In another account that this function may not read (`CROSS_ACCOUNT_EVIDENCE`).
    #[serde(skip_serializing_if = "is_zero")]
    pub not_readable: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Which runs may be looked up: the functions listed (`BACKEND_FUNCTION_NAMES`), each in
/// its own account (the function ARN's, else the request's) when that is not `own_account`.
#[derive(Debug, Clone, Copy)]
pub struct Allowed<'a> {
    pub functions: &'a HashSet<String>,
    pub own_account: Option<&'a str>,
}

impl<'a> From<&'a HashSet<String>> for Allowed<'a> {
    fn from(functions: &'a HashSet<String>) -> Self {
        Allowed {
            functions,
            own_account: None,
        }
    }
}

/// The account whose `/aws/lambda/NAME` holds the finding's runs, when not the own one.
fn run_account(f: &Finding, own: Option<&str>) -> Option<String> {
    let from_arn = f
        .backend
        .as_ref()
        .and_then(crate::model::backend::Backend::account);
    crate::monitor::accounts::foreign(from_arn.or(f.provenance.account.as_deref()), own)
}

/// One lookup: a function's group over the union of overlapping windows.
struct Window {
    query: Query,
    /// Indexes of the findings it serves.
    findings: Vec<usize>,
}

/// Groups the findings' plans by function and merges overlapping windows.
fn windows(findings: &[Finding], allowed: Allowed<'_>) -> Vec<Window> {
    let mut plans: Vec<(usize, &LookupPlan, Option<String>)> = findings
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let p = f.run.lookup.as_ref()?;
            Some((i, p, run_account(f, allowed.own_account)))
        })
        .filter(|(_, p, _)| {
            p.log_group
                .strip_prefix("/aws/lambda/")
                .is_some_and(|name| allowed.functions.contains(name))
        })
        .collect();
    // One function's group per account: two accounts' `orders` are two groups.
    plans.sort_by(|a, b| {
        (&a.1.log_group, &a.2, a.1.start_ms).cmp(&(&b.1.log_group, &b.2, b.1.start_ms))
    });
    let mut out: Vec<Window> = Vec::new();
    for (i, p, account) in plans {
        match out.last_mut() {
            Some(w)
                if w.query.log_group == p.log_group
                    && w.query.account == account
                    && p.start_ms <= w.query.end_ms =>
            {
                w.query.end_ms = w.query.end_ms.max(p.end_ms);
                w.findings.push(i);
            }
            _ => out.push(Window {
                query: Query {
                    log_group: p.log_group.clone(),
                    account,
                    log_stream: None,
                    terms: function_log::RUN_TERMS.map(str::to_owned).to_vec(),
                    start_ms: p.start_ms,
                    end_ms: p.end_ms,
                    until: None,
                },
                findings: vec![i],
            }),
        }
    }
    out
}

/// The runs in what a lookup returned, with the span it covers in full.
pub fn logs_from(query: &Query, events: &[FetchedEvent]) -> FunctionLogs {
    let function = query
        .log_group
        .strip_prefix("/aws/lambda/")
        .unwrap_or(&query.log_group);
    let mut logs = FunctionLogs::default();
    let log = logs.function_mut(function);
    for e in events {
        if let Some(line) = function_log::parse_line(&e.message) {
            log.add(e.timestamp, &line);
        }
    }
    if let Some(last) = events.iter().map(|e| e.timestamp).max() {
        log.mark_complete(query.start_ms, last.min(query.end_ms));
    }
    log.prepare();
    logs
}

/// Looks up the runs of the timeouts in `findings` that want it, on the functions in
/// `allowed` (`BACKEND_FUNCTION_NAMES`), and updates their verdicts and diagnoses.
/// `lookup` `None` (lookups off): nothing happens. A failed lookup leaves the finding
/// as it was; a log in an account that may not be read says so.
pub async fn look_up<'a>(
    findings: &mut [Finding],
    lookup: Option<&Arc<dyn LogLookup>>,
    allowed: impl Into<Allowed<'a>>,
    budget: usize,
    until: Option<Instant>,
) -> BackendLookups {
    let windows = windows(findings, allowed.into());
    let mut out = BackendLookups {
        wanted: windows.iter().map(|w| w.findings.len()).sum(),
        ..BackendLookups::default()
    };
    let Some(lookup) = lookup.filter(|_| !windows.is_empty()) else {
        return out;
    };
    let queries = windows.iter().map(|w| w.query.clone()).collect();
    let done = lookup_all(lookup, queries, budget, until).await;
    out.lookups = done.calls;
    for (w, (query, outcome)) in windows.iter().zip(done.results) {
        match outcome {
            Outcome::Found(events) => {
                let logs = logs_from(&query, &events);
                for &i in &w.findings {
                    let f = &mut findings[i];
                    let Some(plan) = f.run.lookup.take() else {
                        continue;
                    };
                    let join = backend_run::join(&plan.wanted, &logs, true);
                    if join.wait != crate::model::backend_run::Wait::Unknown {
                        out.answered += 1;
                    }
                    backend_run::apply(f, join);
                }
            }
            Outcome::Failed(LookupError::NotReadable { account, why, .. }) => {
                out.not_readable += w.findings.len();
                for &i in &w.findings {
                    let f = &mut findings[i];
                    let Some(plan) = f.run.lookup.take() else {
                        continue;
                    };
                    let function = plan.log_group.strip_prefix("/aws/lambda/");
                    f.run.evidence = Evidence::Unreadable {
                        function: function.unwrap_or(&plan.log_group).to_owned(),
                        account: account.clone(),
                        why,
                    };
                }
            }
            Outcome::Failed(e) => {
                tracing::warn!(error = %e, "backend function log lookup failed");
                out.failed += w.findings.len();
            }
            Outcome::Skipped => out.skipped += w.findings.len(),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::analysis::Analyzer;
    use crate::engine::config::EngineConfig;
    use crate::logs::envelope::Source;
    use crate::model::backend_run::{MatchKind, Wait};
    use crate::monitor::lookup::MemoryLookup;
    use crate::render::words::diagnosis::Words;

    const T0: i64 = 1_795_600_800_000;
    const GROUP: &str = "API-Gateway-Execution-Logs_a1b2c3d4e5/prod";
    const URI: &str = "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:orders/invocations";

    fn timeouts(starts: &[(&str, i64)]) -> Vec<Finding> {
        let config = EngineConfig::default();
        let mut a = Analyzer::new(&config);
        let src = Source {
            log_group: GROUP,
            log_stream: "s",
        };
        for (n, (id, t)) in starts.iter().enumerate() {
            for (dt, text) in [
                (0, "HTTP Method: POST, Resource Path: /pay".to_owned()),
                (1, format!("Sending request to {URI}")),
                (29_004, "Execution failed due to a timeout error".to_owned()),
                (29_004, "Method completed with status: 504".to_owned()),
            ] {
                a.add_event(src, &format!("{n}-{dt}"), t + dt, &format!("({id}) {text}"));
            }
        }
        a.finish().0.findings
    }

    fn ev(ts: i64, message: String) -> FetchedEvent {
        FetchedEvent {
            id: ts.to_string(),
            timestamp: ts,
            message,
            log_stream: "2026/11/25/[$LATEST]abc".into(),
        }
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    }

    #[test]
    fn one_lookup_per_function_and_window_and_verdicts_from_it() {
        let mut findings = timeouts(&[
            ("00000000-0000-4000-8000-000000000001", T0),
            ("00000000-0000-4000-8000-000000000002", T0 + 600_000),
        ]);
        let mem = Arc::new(MemoryLookup::default());
        // The first request's run: started 40 ms after sending, still running.
        mem.add(
            "/aws/lambda/orders",
            ev(T0 + 41, "START RequestId: run-1 Version: $LATEST".into()),
        );
        // Later runs in the second window (not this request's): the log covers it.
        mem.add(
            "/aws/lambda/orders",
            ev(
                T0 + 600_000 + 40_000,
                "START RequestId: run-9 Version: $LATEST".into(),
            ),
        );
        let lookup: Arc<dyn LogLookup> = Arc::new(Arc::clone(&mem));
        let allowed: HashSet<String> = ["orders".to_owned()].into();
        let got = rt().block_on(look_up(&mut findings, Some(&lookup), &allowed, 20, None));
        assert_eq!(
            got,
            BackendLookups {
                wanted: 2,
                lookups: 2,
                answered: 2,
                failed: 0,
                skipped: 0,
                not_readable: 0,
            }
        );
        let first = &findings[0];
        assert_eq!(first.run.wait, Wait::Read);
        assert_eq!(
            first.run.backend_run.as_ref().unwrap().matched,
            MatchKind::Time
        );
        let said = Words::of(first);
        assert!(said
            .shows
            .iter()
            .any(|s| s.contains("was still running when its log was read")));
        assert!(!said
            .cannot_show
            .iter()
            .any(|s| s.starts_with("Connect or read")));
        assert!(
            said.headline.ends_with(
                "to Lambda function orders and gave up 29,003 ms later (limit 29,000 ms): the function was still running; API Gateway gave up at 29.0 s while it kept running."
            ),
            "{}",
            said.headline
        );
        // Applying a join again does not stack the words.
        let mut again = first.clone();
        let join = again.run.clone();
        crate::engine::backend_run::apply(&mut again, join);
        assert_eq!(again.diagnosis, first.diagnosis);
        assert_eq!(findings[1].run.wait, Wait::NotReached);
        assert!(Words::of(&findings[1]).remedies[0].contains("Throttles"));
    }

    #[test]
    fn json_format_runs_are_looked_up_too() {
        // The JSON log format's records (shapes of the composed
        // tests/fixtures/samples-external/lambda-json-format-error-log.txt, after the Lambda
        // docs' telemetry schema): `requestId`, which the old term `RequestId` missed.
        let mut findings = timeouts(&[("00000000-0000-4000-8000-000000000001", T0)]);
        let mem = Arc::new(MemoryLookup::default());
        mem.add(
            "/aws/lambda/orders",
            ev(
                T0 + 41,
                r#"{"time":"2026-11-25T10:00:00.041Z","type":"platform.start","record":{"requestId":"9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d","version":"$LATEST"}}"#.into(),
            ),
        );
        mem.add(
            "/aws/lambda/orders",
            ev(
                T0 + 50,
                r#"{"timestamp":"2026-11-25T10:00:00.050Z","level":"INFO","message":"charging card","requestId":"9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"}"#.into(),
            ),
        );
        let lookup: Arc<dyn LogLookup> = Arc::new(Arc::clone(&mem));
        let allowed: HashSet<String> = ["orders".to_owned()].into();
        let got = rt().block_on(look_up(&mut findings, Some(&lookup), &allowed, 20, None));
        assert_eq!((got.lookups, got.answered), (1, 1));
        assert_eq!(findings[0].run.wait, Wait::Read);
    }

    #[test]
    fn only_allowed_functions_and_failures_degrade() {
        let mut findings = timeouts(&[("00000000-0000-4000-8000-000000000001", T0)]);
        let mem = Arc::new(MemoryLookup::default());
        let lookup: Arc<dyn LogLookup> = Arc::new(Arc::clone(&mem));
        let got = rt().block_on(look_up(
            &mut findings,
            Some(&lookup),
            &HashSet::new(),
            20,
            None,
        ));
        assert_eq!((got.wanted, got.lookups), (0, 0));
        mem.fail.store(true, std::sync::atomic::Ordering::Relaxed);
        let allowed: HashSet<String> = ["orders".to_owned()].into();
        let before = findings[0].clone();
        let got = rt().block_on(look_up(&mut findings, Some(&lookup), &allowed, 20, None));
        assert_eq!((got.lookups, got.failed), (1, 1));
        assert_eq!(findings[0], before);
        // Over the budget: skipped.
        let got = rt().block_on(look_up(&mut findings, Some(&lookup), &allowed, 0, None));
        assert_eq!((got.lookups, got.skipped), (0, 1));
    }

    #[test]
    fn nothing_found_is_not_proof() {
        // An empty answer covers nothing: the verdict stays unknown, not not_reached.
        let mut findings = timeouts(&[("00000000-0000-4000-8000-000000000001", T0)]);
        let mem = Arc::new(MemoryLookup::default());
        let lookup: Arc<dyn LogLookup> = Arc::new(Arc::clone(&mem));
        let allowed: HashSet<String> = ["orders".to_owned()].into();
        rt().block_on(look_up(&mut findings, Some(&lookup), &allowed, 20, None));
        assert_eq!(findings[0].run.wait, Wait::Unknown);
        assert!(Words::of(&findings[0])
            .cannot_show
            .iter()
            .any(|s| s.contains("no run that fits")));
    }
}
