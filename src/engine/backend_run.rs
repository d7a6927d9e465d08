//! Connect or read: joins a timed-out or near-limit request to the run of the Lambda
//! function that served it, from the function's own log (the same analysis, or a
//! lookup), and gives the wait its verdict with the evidence.
//!
//! - Exact: the request's X-Ray trace id is the run's (`XRAY TraceId` on REPORT, or
//!   `tracing.value` on the JSON records), or the execution log named the run's
//!   Lambda request id.
//! - Probable, by time: the only run of the function whose START falls within
//!   [sent, sent + cold-start margin]. The margin is the run's own `Init Duration`
//!   plus 1 s when its REPORT says, 1 s for a reported warm run, 10 s (Lambda's init
//!   limit) while it is still running. Two or more fit: refused, the verdict stays
//!   unknown (a wrong join is worse than none). `match` says which (`xray`,
//!   `request_id`, `time`).
//! - Not reached: the function's log is known complete over the wait and no run of
//!   it started: the invoke never got to the function.

use std::collections::HashMap;

use crate::engine::request::Request;
use crate::logs::function_log::{self, FunctionLine, RunStatus};
use crate::model::backend::Backend;
use crate::model::backend_run::COLD_START_MARGIN_MS;
use crate::model::backend_run::{
    BackendRun, Evidence, Join, LookupPlan, MatchKind, Outcome, Wait, Wanted,
};
use crate::model::diagnosis::Diagnosis;
use crate::model::finding::Finding;
use crate::model::kind::{Cause, Kind};

/// From API Gateway sending to a warm run's START (tens of ms seen; 1 s is generous).
pub const WARM_MARGIN_MS: i64 = 1_000;
/// A matched run that ended this long before the gateway gave up did not cause the wait.
const ENDED_EARLY_MS: i64 = 1_000;
/// The lookup window: [sent − 5 s, sent + limit + 120 s].
pub const LOOKUP_BEFORE_MS: i64 = 5_000;
pub const LOOKUP_AFTER_MS: i64 = 120_000;

/// One run, as its lines tell it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Invocation {
    pub request_id: String,
    /// Epoch ms of START.
    pub started: Option<i64>,
    /// Epoch ms of REPORT.
    pub reported: Option<i64>,
    pub duration_ms: Option<f64>,
    pub init_duration_ms: Option<f64>,
    pub status: Option<RunStatus>,
    pub task_timed_out: bool,
    pub trace_id: Option<String>,
}

impl Invocation {
    /// START, or REPORT minus the duration when START was not seen.
    pub fn start_ms(&self) -> Option<i64> {
        self.started.or_else(|| {
            Some(
                self.reported?
                    .saturating_sub(self.duration_ms?.round() as i64),
            )
        })
    }

    pub fn end_ms(&self) -> Option<i64> {
        Some(
            self.start_ms()?
                .saturating_add(self.duration_ms?.round() as i64),
        )
    }

    pub fn outcome(&self) -> Outcome {
        match self.status {
            Some(RunStatus::Timeout) => Outcome::TimedOut,
            _ if self.task_timed_out => Outcome::TimedOut,
            Some(RunStatus::Error) => Outcome::Error,
            Some(RunStatus::Success) => Outcome::Finished,
            None => Outcome::Running,
        }
    }

    /// How late after sending its START may come: init (if known) plus the warm margin.
    fn margin_ms(&self) -> i64 {
        match (self.status, self.init_duration_ms) {
            // Init past 10 s happens too (it is then retried inside the invoke phase).
            (_, Some(init)) => init.round() as i64 + WARM_MARGIN_MS,
            // Reported without init: a warm run.
            (Some(_), None) => WARM_MARGIN_MS,
            // Still running: a cold start cannot be ruled out.
            (None, None) => COLD_START_MARGIN_MS,
        }
    }
}

/// One function's runs.
#[derive(Debug, Clone, Default)]
pub struct FunctionLog {
    runs: Vec<Invocation>,
    by_id: HashMap<String, usize>,
    /// Spans over which this log holds every run of the function.
    complete: Vec<(i64, i64)>,
    first_ts: Option<i64>,
    last_ts: Option<i64>,
    /// Built by [`FunctionLog::prepare`] once the runs are in: starts in order, traces,
    /// and the largest margin, so that a join does not scan every run.
    starts: Vec<(i64, usize)>,
    by_trace: HashMap<String, usize>,
    max_margin_ms: i64,
    /// The index is up to date (any line added since clears it).
    indexed: bool,
}

impl FunctionLog {
    /// Indexes the runs for joins (a log read in full can hold many thousands).
    pub fn prepare(&mut self) {
        self.starts = self
            .runs
            .iter()
            .enumerate()
            .filter_map(|(i, r)| Some((r.start_ms()?, i)))
            .collect();
        self.starts.sort_unstable();
        self.by_trace = self
            .runs
            .iter()
            .enumerate()
            .filter_map(|(i, r)| Some((r.trace_id.clone()?, i)))
            .collect();
        self.max_margin_ms = self
            .runs
            .iter()
            .map(Invocation::margin_ms)
            .max()
            .unwrap_or(0);
        self.indexed = true;
    }

    /// Whether [`FunctionLog::prepare`] ran since the last run was added.
    fn prepared(&self) -> bool {
        self.indexed
    }

    /// Runs whose start is in [from, to], by index when prepared.
    fn started_between(&self, from: i64, to: i64) -> Vec<&Invocation> {
        if self.prepared() {
            let lo = self.starts.partition_point(|&(s, _)| s < from);
            let hi = self.starts.partition_point(|&(s, _)| s <= to);
            return self.starts[lo..hi.max(lo)]
                .iter()
                .map(|&(_, i)| &self.runs[i])
                .collect();
        }
        self.runs
            .iter()
            .filter(|r| r.start_ms().is_some_and(|s| s >= from && s <= to))
            .collect()
    }
    pub fn runs(&self) -> &[Invocation] {
        &self.runs
    }

    fn run(&mut self, request_id: &str) -> &mut Invocation {
        let at = match self.by_id.get(request_id) {
            Some(&at) => at,
            None => {
                self.runs.push(Invocation {
                    request_id: request_id.to_owned(),
                    ..Invocation::default()
                });
                self.by_id
                    .insert(request_id.to_owned(), self.runs.len() - 1);
                self.runs.len() - 1
            }
        };
        &mut self.runs[at]
    }

    pub fn add(&mut self, ts: i64, line: &FunctionLine<'_>) {
        self.indexed = false;
        let ts = (ts > 0).then_some(ts);
        if let Some(t) = ts {
            self.first_ts = Some(self.first_ts.map_or(t, |f| f.min(t)));
            self.last_ts = Some(self.last_ts.map_or(t, |l| l.max(t)));
        }
        match line {
            FunctionLine::Start {
                request_id,
                trace_id,
            } => {
                let run = self.run(request_id);
                if run.started.is_none() {
                    run.started = ts;
                }
                if let Some(t) = trace_id {
                    run.trace_id.get_or_insert_with(|| t.to_string());
                }
            }
            FunctionLine::Report {
                request_id,
                duration_ms,
                init_duration_ms,
                status,
                trace_id,
                ..
            } => {
                let run = self.run(request_id);
                run.reported = ts.or(run.reported);
                run.duration_ms = Some(*duration_ms);
                run.init_duration_ms = *init_duration_ms;
                run.status = Some(*status);
                if let Some(t) = trace_id {
                    run.trace_id.get_or_insert_with(|| t.to_string());
                }
            }
            FunctionLine::TaskTimedOut {
                request_id: Some(id),
                ..
            } => self.run(id).task_timed_out = true,
            FunctionLine::End { .. }
            | FunctionLine::TaskTimedOut { .. }
            | FunctionLine::Platform => {}
        }
    }

    /// The log holds every run that started in [from, to] (a lookup read every page).
    pub fn mark_complete(&mut self, from: i64, to: i64) {
        if from <= to {
            self.complete.push((from, to));
        }
    }

    /// Marks the span of what was seen complete (an export of the whole group).
    pub fn mark_seen_complete(&mut self) {
        if let (Some(a), Some(b)) = (self.first_ts, self.last_ts) {
            self.mark_complete(a, b);
        }
    }

    fn is_complete(&self, from: i64, to: i64) -> bool {
        self.complete.iter().any(|&(a, b)| a <= from && to <= b)
    }
}

/// The runs of every function whose log this analysis (or a lookup) read.
#[derive(Debug, Clone, Default)]
pub struct FunctionLogs {
    by_function: HashMap<String, FunctionLog>,
}

impl FunctionLogs {
    pub fn add(&mut self, function: &str, ts: i64, line: &FunctionLine<'_>) {
        if matches!(line, FunctionLine::Platform) {
            return;
        }
        self.function_mut(function).add(ts, line);
    }

    pub fn function_mut(&mut self, function: &str) -> &mut FunctionLog {
        if !self.by_function.contains_key(function) {
            self.by_function
                .insert(function.to_owned(), FunctionLog::default());
        }
        self.by_function.get_mut(function).expect("inserted above")
    }

    pub fn get(&self, function: &str) -> Option<&FunctionLog> {
        self.by_function.get(function)
    }

    pub fn is_empty(&self) -> bool {
        self.by_function.is_empty()
    }

    /// Indexes every function's runs (after the last line is in).
    pub fn prepare(&mut self) {
        self.by_function.values_mut().for_each(FunctionLog::prepare);
    }

    /// Every function's log is an export of its whole group over the span it covers.
    pub fn mark_seen_complete(&mut self) {
        self.by_function
            .values_mut()
            .for_each(FunctionLog::mark_seen_complete);
    }
}

impl Wanted {
    fn function(&self) -> Option<&str> {
        self.backend.as_ref().and_then(Backend::lambda_name)
    }

    /// When the gateway was done waiting: the logged time, or sending plus the limit.
    fn done_ms(&self) -> Option<i64> {
        self.done.or_else(|| {
            Some(
                self.sent?
                    .saturating_add(i64::try_from(self.limit_ms).ok()?),
            )
        })
    }
}

enum Found<'l> {
    Exact(&'l Invocation, MatchKind),
    ByTime(&'l Invocation),
    Ambiguous(usize, i64, i64),
    NoRun(i64, i64, usize),
    NoFit,
}

fn find<'l>(log: &'l FunctionLog, w: &Wanted) -> Found<'l> {
    if let Some(&at) = w
        .lambda_request_id
        .as_deref()
        .and_then(|id| log.by_id.get(id))
    {
        return Found::Exact(&log.runs[at], MatchKind::RequestId);
    }
    if let Some(trace) = w.trace_id.as_deref() {
        let run = match log.prepared() {
            true => log.by_trace.get(trace).map(|&i| &log.runs[i]),
            false => log
                .runs
                .iter()
                .find(|r| r.trace_id.as_deref() == Some(trace)),
        };
        if let Some(run) = run {
            return Found::Exact(run, MatchKind::Xray);
        }
    }
    let Some(sent) = w.sent else {
        return Found::NoFit;
    };
    // A run traced under another root served another request.
    let other_trace =
        |r: &Invocation| w.trace_id.is_some() && r.trace_id.is_some() && r.trace_id != w.trace_id;
    // Each run's own margin decides below; the index only narrows the search.
    let widest = match log.prepared() {
        true => log.max_margin_ms.max(COLD_START_MARGIN_MS),
        false => i64::MAX,
    };
    let near = log.started_between(sent, sent.saturating_add(widest));
    let mut fits = near.into_iter().filter(|r| {
        !other_trace(r)
            && r.start_ms()
                .is_some_and(|s| s >= sent && s <= sent.saturating_add(r.margin_ms()))
    });
    let first = fits.next();
    let more = fits.count();
    match first {
        Some(run) if more == 0 => Found::ByTime(run),
        Some(_) => Found::Ambiguous(more + 1, sent, sent.saturating_add(COLD_START_MARGIN_MS)),
        None => {
            let to = w.done_ms().unwrap_or(sent);
            if w.timed_out && log.is_complete(sent, to) {
                let others = log.started_between(sent, to).len();
                Found::NoRun(sent, to, others)
            } else {
                Found::NoFit
            }
        }
    }
}

/// The join and verdict for one request. `logs` is what the analysis (or a lookup)
/// read; `looked_up` says a lookup already ran for this request.
pub fn join(w: &Wanted, logs: &FunctionLogs, looked_up: bool) -> Join {
    let has_trace = w.trace_id.is_some();
    // HTTP and VPC-link backends (or one the logs did not name) that failed to connect.
    if let (Some(detail), Some(Backend::Http { .. }) | None) = (&w.connection_failure, &w.backend) {
        return Join {
            wait: Wait::Connect,
            evidence: Evidence::Connect {
                detail: detail.clone(),
            },
            ..Join::default()
        };
    }
    match &w.backend {
        Some(Backend::Http { .. }) => {
            return Join {
                evidence: Evidence::Http { has_trace },
                ..Join::default()
            };
        }
        Some(Backend::Lambda { .. }) => {}
        Some(_) => return Join::default(),
        // The logs named no backend (access logs only): the trace id finds the run, and
        // with it the function, in any function log read.
        None => {
            let Some(trace) = w.trace_id.as_deref() else {
                return Join::default();
            };
            let mut names: Vec<&String> = logs.by_function.keys().collect();
            names.sort();
            for name in names {
                let log = &logs.by_function[name];
                if let Some(run) = log
                    .runs
                    .iter()
                    .find(|r| r.trace_id.as_deref() == Some(trace))
                {
                    return from_run(w, run, MatchKind::Xray, name.clone());
                }
            }
            return Join::default();
        }
    }
    let function = w.function().unwrap_or_default().to_owned();
    let Some(log) = logs.get(&function) else {
        let account = w
            .backend
            .as_ref()
            .and_then(Backend::account)
            .map(str::to_owned);
        return Join {
            evidence: Evidence::NoLog {
                function,
                account,
                has_trace,
                looked_up,
            },
            lookup: plan_lookup(w),
            ..Join::default()
        };
    };
    let (run, matched) = match find(log, w) {
        Found::Exact(run, kind) => (run, kind),
        Found::ByTime(run) => (run, MatchKind::Time),
        Found::Ambiguous(candidates, from_ms, to_ms) => {
            return Join {
                evidence: Evidence::Ambiguous {
                    function,
                    candidates,
                    from_ms,
                    to_ms,
                },
                ..Join::default()
            };
        }
        Found::NoRun(from_ms, to_ms, others) => {
            return Join {
                wait: Wait::NotReached,
                evidence: Evidence::NoRun {
                    function,
                    from_ms,
                    to_ms,
                    others,
                },
                ..Join::default()
            };
        }
        Found::NoFit => {
            return Join {
                evidence: Evidence::NoFit {
                    function,
                    has_trace,
                },
                lookup: if looked_up { None } else { plan_lookup(w) },
                ..Join::default()
            };
        }
    };
    from_run(w, run, matched, function)
}

/// The join once the run is known.
fn from_run(w: &Wanted, run: &Invocation, matched: MatchKind, function: String) -> Join {
    let has_trace = w.trace_id.is_some();
    let Some(started_ms) = run.start_ms() else {
        // Matched by id but with neither START nor REPORT time (text without timestamps).
        return Join {
            evidence: Evidence::NoFit {
                function,
                has_trace,
            },
            ..Join::default()
        };
    };
    let backend_run = BackendRun {
        request_id: run.request_id.clone(),
        started: rfc3339(started_ms),
        duration_ms: run.duration_ms.map(|d| d.round() as u64),
        init_duration_ms: run.init_duration_ms.map(|d| d.round() as u64),
        outcome: run.outcome(),
        matched,
        started_ms,
    };
    let done = w.done_ms();
    // A run that ended well before the gateway gave up did not keep it waiting.
    if let (true, Some(end), Some(done)) = (w.timed_out, run.end_ms(), done) {
        if end.saturating_add(ENDED_EARLY_MS) < done {
            return Join {
                backend_run: Some(backend_run),
                evidence: Evidence::EndedBefore {
                    function,
                    gave_up_ms: done,
                },
                ..Join::default()
            };
        }
    }
    let init = backend_run.init_duration_ms.unwrap_or(0);
    let wait = if init * 2 >= w.limit_ms {
        Wait::ColdStart
    } else {
        Wait::Read
    };
    Join {
        backend_run: Some(backend_run),
        wait,
        evidence: Evidence::Run {
            function,
            trace_id: (matched == MatchKind::Xray)
                .then(|| run.trace_id.clone())
                .flatten(),
            gateway_done_ms: done,
            answered: !w.timed_out,
        },
        lookup: None,
    }
}

pub fn plan_lookup(w: &Wanted) -> Option<LookupPlan> {
    if !w.timed_out {
        return None;
    }
    let function = w.function()?;
    let sent = w.sent?;
    let limit = i64::try_from(w.limit_ms).ok()?;
    // START lines (text) carry no trace id, so they are always asked for: they tell
    // whether a run began at all. The trace id brings the run's REPORT (its XRAY line).
    let mut terms: Vec<String> = function_log::RUN_TERMS
        .iter()
        .map(|t| format!("\"{t}\""))
        .collect();
    if let Some(t) = w.trace_id.as_deref() {
        terms.push(format!("\"{t}\""));
    }
    Some(LookupPlan {
        log_group: format!("/aws/lambda/{}", function_name_only(function)),
        start_ms: sent.saturating_sub(LOOKUP_BEFORE_MS),
        end_ms: sent.saturating_add(limit).saturating_add(LOOKUP_AFTER_MS),
        filter_pattern: terms
            .iter()
            .map(|t| format!("?{t}"))
            .collect::<Vec<_>>()
            .join(" "),
        wanted: w.clone(),
    })
}

/// The group is named for the function, not an alias or version (`name:live` → `name`).
fn function_name_only(name: &str) -> &str {
    name.split(':').next().unwrap_or(name)
}

/// Joins again with the events a lookup returned. `complete`: every page was read
/// over the plan's window.
pub fn join_looked_up(plan: &LookupPlan, events: &[(i64, &str)], complete: bool) -> Join {
    let function = plan.wanted.function().unwrap_or_default().to_owned();
    let mut logs = FunctionLogs::default();
    let log = logs.function_mut(&function);
    for (ts, message) in events {
        if let Some(line) = function_log::parse_line(message) {
            log.add(*ts, &line);
        }
    }
    if complete {
        log.mark_complete(plan.start_ms, plan.end_ms);
    }
    log.prepare();
    join(&plan.wanted, &logs, true)
}

/// The join for one finding of the analysis: timeouts and near-limit requests on a
/// Lambda backend, and failures of HTTP backends (connect).
pub fn join_request(f: &Finding, req: &Request, logs: &FunctionLogs) -> Join {
    let relevant = match f.kind {
        Kind::Timeout | Kind::NearLimit => true,
        Kind::Error => f.cause == Cause::ConnectionFailure,
        Kind::Misconfiguration => false,
    };
    if !relevant {
        return Join::default();
    }
    let w = Wanted {
        backend: f.backend.clone(),
        trace_id: req
            .xray_trace_id
            .as_deref()
            .and_then(function_log::trace_root)
            .map(str::to_owned),
        lambda_request_id: req.lambda_request_id().map(str::to_owned),
        sent: req.sending_ts(),
        done: if f.kind == Kind::Timeout {
            req.failed_ts()
        } else {
            req.received_ts()
        },
        timed_out: f.kind == Kind::Timeout,
        limit_ms: f.limit_ms,
        // The statistics work's cause: a network, DNS or TLS failure, failed fast.
        connection_failure: (f.cause == Cause::ConnectionFailure)
            .then(|| f.detail.clone().unwrap_or_default()),
    };
    join(&w, logs, false)
}

/// Sets the headline's verdict from the backend run (timeouts: what alerts give as the
/// likely cause). The run's evidence, gaps and remedies are read from the finding's
/// `run` by the words.
pub fn explain(d: &mut Diagnosis, f: &Finding) {
    d.headline.likely = (f.kind == Kind::Timeout).then(|| f.run.likely()).flatten();
}

/// After a lookup: the finding's join replaced, and the headline's verdict with it.
pub fn apply(f: &mut Finding, join: Join) {
    f.run = join;
    let mut d = std::mem::take(&mut f.diagnosis);
    explain(&mut d, f);
    f.diagnosis = d;
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    // The joins themselves are tested in tests/backend_run_join.rs.
    #[test]
    fn an_alias_or_version_still_names_the_functions_group() {
        assert_eq!(super::function_name_only("orders:live"), "orders");
        assert_eq!(super::function_name_only("orders"), "orders");
    }
}
