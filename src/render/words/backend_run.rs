//! The words for a finding's backend run: the evidence sentence, what would tell the
//! answer, the likely cause in few words, and the remedies the verdict calls for. Made
//! from the facts in `model::backend_run`, once, for every rendering.

use crate::model::backend_run::{Evidence, Join, MatchKind, Outcome, Wait, COLD_START_MARGIN_MS};
use crate::model::finding::Finding;
use crate::render::display::time;

/// `31204` → `31.2 s`.
fn secs(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

/// The evidence in one sentence (plain text; renderers escape it), or None when there
/// is nothing better than the general "connect or read" paragraph.
pub fn sentence(j: &Join, limit_ms: u64) -> Option<String> {
    Some(match (&j.evidence, &j.backend_run) {
        (
            Evidence::Run {
                function,
                trace_id,
                gateway_done_ms,
                answered,
            },
            Some(run),
        ) => {
            let how = match (run.matched, trace_id) {
                (MatchKind::Xray, Some(t)) => format!("matched by X-Ray trace {t}"),
                (MatchKind::Xray, None) => "matched by X-Ray trace id".to_owned(),
                (MatchKind::RequestId, _) => "matched by its Lambda request id".to_owned(),
                (MatchKind::Time, _) => format!(
                    "matched by time only: the one run of {function} that started within {} of sending",
                    secs(COLD_START_MARGIN_MS as u64)
                ),
            };
            let cold = run
                .init_duration_ms
                .map(|i| format!(" ({} of it a cold start)", secs(i)))
                .unwrap_or_default();
            let ran = match run.total_ms() {
                Some(t) => format!("ran {}{cold}", secs(t)),
                None => format!("started at {}{cold} and had not reported yet", time(run.started_ms)),
            };
            let gave_up = gateway_done_ms
                .map(|d| {
                    let since = run
                        .started_ms
                        .saturating_sub(run.init_duration_ms.unwrap_or(0) as i64);
                    secs(u64::try_from(d.saturating_sub(since)).unwrap_or(0))
                })
                .unwrap_or_else(|| secs(limit_ms));
            if *answered {
                format!(
                    "The function {function} ran the request as {} ({how}): it {ran}, and API Gateway got its answer after {gave_up} of its {} limit.",
                    run.request_id,
                    secs(limit_ms)
                )
            } else {
                let end = match run.outcome {
                    Outcome::Finished => "then finished, after the client had its 504",
                    Outcome::TimedOut => "then hit its own timeout",
                    Outcome::Error => "then failed",
                    Outcome::Running => "was still running when its log was read",
                };
                format!(
                    "The function {function} {ran} serving this request as {} ({how}); API Gateway gave up at {gave_up} while it kept running, and it {end}. The work went on, and billed, after the client got its 504: a client retry runs it a second time alongside, so retry only with an idempotency key.",
                    run.request_id
                )
            }
        }
        (Evidence::EndedBefore { function, gave_up_ms }, Some(run)) => format!(
            "The matched run {} of {function} ended before API Gateway gave up at {}: it does not explain the wait (the answer was lost on the way back, or the match is wrong).",
            run.request_id,
            time(*gave_up_ms)
        ),
        (
            Evidence::Ambiguous {
                function,
                candidates,
                from_ms,
                to_ms,
            },
            _,
        ) => format!(
            "{candidates} runs of {function} started between {} and {}: a match by time would be a guess, so none is made. X-Ray tracing on the stage and the function makes the match exact.",
            time(*from_ms),
            time(*to_ms)
        ),
        (
            Evidence::NoRun {
                function,
                from_ms,
                to_ms,
                others,
            },
            _,
        ) => format!(
            "The log of {function} is complete from {} to {} and no run of it started for this request{}: the invoke never reached the function (throttling, a concurrency limit, or the Lambda service).",
            time(*from_ms),
            time(*to_ms),
            if *others > 0 {
                format!(" ({others} run(s) in that time served other traced requests)")
            } else {
                String::new()
            }
        ),
        _ => return None,
    })
}

/// What would give the answer, when there is none: replaces the general "connect or
/// read" paragraph for Lambda backends.
pub fn what_would_tell(j: &Join) -> Option<String> {
    let xray = |has_trace: bool| {
        if has_trace {
            " The request's X-Ray trace id will make that match exact."
        } else {
            " X-Ray tracing on the stage and the function makes the match exact (the REPORT line then carries the request's trace id)."
        }
    };
    match &j.evidence {
        Evidence::NoLog {
            function,
            has_trace,
            looked_up: false,
        } => Some(format!(
            "Connect or read: the execution log has no connect timestamp, and the function's own log, which has the answer, was not in this analysis. Subscribe /aws/lambda/{function} too (list it in ApiLogGroupNames), or list {function} in BackendFunctionNames so that timeouts are looked up there: its START and REPORT lines show whether the function ran, for how long, and how much of it was a cold start.{}",
            xray(*has_trace)
        )),
        Evidence::NoLog {
            function,
            has_trace,
            looked_up: true,
        }
        | Evidence::NoFit {
            function,
            has_trace,
        } => Some(format!(
            "Connect or read: the log of {function} has no run that fits this request (none started just after sending, and the log is not known complete for the wait, so absence proves nothing).{}",
            xray(*has_trace)
        )),
        _ => None,
    }
}

/// The verdict in a few words, for the alerts' "likely cause" line.
pub fn likely_cause(j: &Join, limit_ms: u64) -> Option<String> {
    let run = j.backend_run.as_ref();
    Some(match j.wait {
        Wait::Read | Wait::ColdStart => {
            let run = run?;
            let cold = match (run.init_duration_ms, j.wait) {
                (Some(i), Wait::ColdStart) => {
                    format!(", {} of it a cold start (most of the limit)", secs(i))
                }
                (Some(i), _) => format!(" ({} of it a cold start)", secs(i)),
                (None, _) => String::new(),
            };
            let ran = run
                .total_ms()
                .map_or_else(|| "was still running".to_owned(), |t| format!("ran {}", secs(t)));
            format!(
                "the function {ran}{cold}; API Gateway gave up at {} while it kept running",
                secs(limit_ms)
            )
        }
        Wait::NotReached => {
            "the invoke never reached the function, whose log shows no run starting (throttling or a concurrency limit)"
                .to_owned()
        }
        Wait::Connect => "a fast network, TLS or DNS failure on the way to the backend".to_owned(),
        Wait::Unknown => return None,
    })
}

/// [`likely_cause`] of a finding.
pub fn likely_cause_of(f: &Finding) -> Option<String> {
    likely_cause(&f.run, f.limit_ms)
}

/// Remedies that follow from the verdict, most useful first.
pub fn remedies(j: &Join) -> Vec<String> {
    let function = match &j.evidence {
        Evidence::Run { function, .. } | Evidence::NoRun { function, .. } => function.as_str(),
        _ => "",
    };
    match j.wait {
        Wait::ColdStart => vec![format!(
            "Most of the wait was the function's initialisation: give {function} provisioned concurrency (or SnapStart for Java, Python and .NET), and move init work (SDK clients, configuration, large imports) out of the request path or make it lazy."
        )],
        Wait::NotReached => vec![format!(
            "The invoke never reached {function}: look at its Throttles and ConcurrentExecutions metrics at that time, its reserved concurrency, and the account's concurrency quota."
        )],
        // The connection-failure cause's own remedies say it (diagnosis).
        Wait::Connect | Wait::Read | Wait::Unknown => Vec::new(),
    }
}
