//! The words for a finding's backend run: the evidence sentence, what would tell the
//! answer, and the general connect-or-read paragraph when nothing tells it. Made
//! from the facts in `model::backend_run`, once, for every rendering.

use crate::model::backend::Backend;
use crate::model::backend_run::{Evidence, Join, MatchKind, Outcome, COLD_START_MARGIN_MS};
use crate::model::finding::Finding;
use crate::model::limits::ApiKind;
use crate::render::display::time;

/// `31204` → `31.2 s`.
pub(crate) fn secs(ms: u64) -> String {
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
            account,
            has_trace,
            looked_up: false,
        } => Some(format!(
            "Connect or read: the execution log has no connect timestamp, and the function's own log, which has the answer, was not in this analysis. Subscribe /aws/lambda/{function}{} too (ApiLogGroupNames, or LogGroupNames of that account's source stack when it sends to a central destination), or list {function} in BackendFunctionNames so that timeouts are looked up there: its START and REPORT lines show whether the function ran, for how long, and how much of it was a cold start.{}",
            account.as_deref().map(|a| format!(" (account {a})")).unwrap_or_default(),
            xray(*has_trace)
        )),
        Evidence::NoLog {
            function,
            has_trace,
            looked_up: true,
            ..
        }
        | Evidence::NoFit {
            function,
            has_trace,
        } => Some(format!(
            "Connect or read: the log of {function} has no run that fits this request (none started just after sending, and the log is not known complete for the wait, so absence proves nothing).{}",
            xray(*has_trace)
        )),
        Evidence::Unreadable {
            function,
            account,
            why,
        } => Some(format!(
            "Connect or read: the log of {function} (/aws/lambda/{function}) is in account {account} and could not be read ({}); its START and REPORT lines would show whether the function ran, for how long, and how much of it was a cold start.",
            crate::render::words::access::no_access(*why)
        )),
        _ => None,
    }
}

/// The honest answer to "connect timeout or read timeout?" when the backend's own
/// log gave none.
pub fn connect_vs_read(f: &Finding) -> String {
    let trace = f
        .xray_trace_id
        .as_deref()
        .map(|t| format!(" (trace {t})"))
        .unwrap_or_default();
    match &f.backend {
        Some(Backend::Lambda { function_name, .. }) => format!(
            "The execution log has no connect timestamp, so it cannot separate connecting from waiting for the response. For a Lambda backend the wait is almost always the function's run: X-Ray{trace} shows the Lambda service and function segments, and the function's log group /aws/lambda/{function_name} shows its REPORT line with the real duration{}.",
            f.lambda_request_id
                .as_deref()
                .map(|id| format!(" (Lambda request id {id})"))
                .unwrap_or_default()
        ),
        Some(Backend::Http { .. } | Backend::PrivateHttp { .. }) => format!(
            "The {} cannot tell a connect timeout from a read timeout: a failed connection usually fails fast with a network error (`Network error communicating with endpoint`), while this request waited the whole limit with no answer. X-Ray{trace} shows the time to connect when tracing is on for the stage; the backend's own access log shows whether the request arrived and when it answered (nothing logged there means it never got through: DNS, security groups, VPC link and target health).",
            if f.api_kind == ApiKind::Http { "access log has no connect timestamp, so it" } else { "execution log has no connect timestamp, so it" }
        ),
        _ => format!(
            "The {} log has no connect timestamp, so it cannot separate connecting from waiting for the response: X-Ray{trace} and the backend's own logs can.",
            if f.api_kind == ApiKind::Http { "access" } else { "execution" }
        ),
    }
}
