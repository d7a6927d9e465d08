//! A finding's backend run: what kept API Gateway waiting, and the evidence for it.

use crate::model::backend::Backend;
use crate::model::diagnosis::{Likely, Remedy};

/// A cold start's START comes after the init phase, which Lambda stops at 10 s.
pub const COLD_START_MARGIN_MS: i64 = 10_000;

/// What kept API Gateway waiting, per request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Wait {
    /// The function started promptly and was still running when the gateway gave up.
    Read,
    /// As `Read`, but most of the limit went to the function's initialisation.
    ColdStart,
    /// The function's log is complete for the window and no run started.
    NotReached,
    /// A fast network, TLS or DNS failure on the way to an HTTP / VPC-link backend.
    Connect,
    /// No backend evidence.
    #[default]
    Unknown,
}

impl Wait {
    pub fn as_str(self) -> &'static str {
        match self {
            Wait::Read => "read",
            Wait::ColdStart => "cold_start",
            Wait::NotReached => "not_reached",
            Wait::Connect => "connect",
            Wait::Unknown => "unknown",
        }
    }
}

/// How a run ended, as far as its log tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Finished,
    TimedOut,
    Error,
    /// START seen, no REPORT yet: still running when the log was read.
    Running,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// Same X-Ray trace id.
    Xray,
    /// The execution log named the run's Lambda request id.
    RequestId,
    /// The only run that started within the margin after sending.
    Time,
}

/// The run that served a request: the finding's `backend_run`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BackendRun {
    /// The Lambda request id of the run.
    pub request_id: String,
    /// The run's START (after any init), RFC 3339.
    pub started: String,
    /// REPORT's `Duration` (init excluded), rounded to the millisecond; null while running.
    pub duration_ms: Option<u64>,
    /// REPORT's `Init Duration` (or SnapStart's `Restore Duration`): a cold start.
    pub init_duration_ms: Option<u64>,
    pub outcome: Outcome,
    #[serde(rename = "match")]
    pub matched: MatchKind,
    /// Epoch ms of START, for the words.
    #[serde(skip)]
    pub started_ms: i64,
}

impl BackendRun {
    /// Init plus run: how long API Gateway waited on this function (when it finished).
    pub fn total_ms(&self) -> Option<u64> {
        Some(self.duration_ms? + self.init_duration_ms.unwrap_or(0))
    }
}

/// The facts behind a verdict, for the words each renderer chooses.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Evidence {
    /// Not a backend this join applies to (AWS service integrations), or not looked at.
    #[default]
    None,
    /// The run (in [`Join::backend_run`]) was still running when the gateway gave up.
    Run {
        function: String,
        /// `XRAY`/`tracing` trace id when matched by it.
        trace_id: Option<String>,
        /// When API Gateway gave up (timeouts) or got its answer (near-limit).
        gateway_done_ms: Option<i64>,
        /// The gateway answered (near-limit) rather than gave up.
        answered: bool,
    },
    /// The matched run ended well before the gateway gave up: it does not explain the wait.
    EndedBefore { function: String, gave_up_ms: i64 },
    /// Several runs started within the margin: the match by time is refused.
    Ambiguous {
        function: String,
        candidates: usize,
        from_ms: i64,
        to_ms: i64,
    },
    /// The log is complete over the window and no run started in it.
    NoRun {
        function: String,
        from_ms: i64,
        to_ms: i64,
        /// Runs seen in the window that belong to other requests (other trace ids).
        others: usize,
    },
    /// Nothing from the function's log: what would give the answer.
    NoLog {
        function: String,
        /// The function's account, from its ARN: where its log group is to be subscribed.
        account: Option<String>,
        has_trace: bool,
        looked_up: bool,
    },
    /// The function's log is in another account that this function may not read.
    Unreadable {
        function: String,
        account: String,
        why: crate::model::diagnosis::NoAccess,
    },
    /// The function's log is there, but no run fits and it is not known complete.
    NoFit { function: String, has_trace: bool },
    /// An HTTP / VPC-link backend failed fast on the network.
    Connect { detail: String },
    /// An HTTP backend without a connection failure: the backend's own logs can tell.
    Http { has_trace: bool },
}

/// The finding's join to its backend run: `backend_run` and `wait` in its JSON.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Join {
    pub backend_run: Option<BackendRun>,
    pub wait: Wait,
    #[serde(skip)]
    pub evidence: Evidence,
    /// The lookup that could still answer (timeouts on Lambda backends without a verdict).
    #[serde(skip)]
    pub lookup: Option<LookupPlan>,
}

/// What the join needs to know about one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Wanted {
    pub backend: Option<Backend>,
    /// `1-…` (any `Root=`/`;Parent=` already taken off).
    pub trace_id: Option<String>,
    pub lambda_request_id: Option<String>,
    /// Epoch ms of `Sending request to`.
    pub sent: Option<i64>,
    /// Epoch ms when API Gateway gave up (timeouts) or got the answer (near-limit).
    pub done: Option<i64>,
    /// The gateway gave up (a timeout), rather than got an answer.
    pub timed_out: bool,
    pub limit_ms: u64,
    /// A fast network / TLS / DNS failure, as the connection-failure cause says.
    pub connection_failure: Option<String>,
}

/// The lookup that can still answer a timeout: `FilterLogEvents` on the function's
/// group over [sent − 5 s, sent + limit + 120 s], filtered to START and REPORT
/// records and, with X-Ray, the request's trace id.
#[derive(Debug, Clone, PartialEq)]
pub struct LookupPlan {
    pub log_group: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub filter_pattern: String,
    /// What the join needs again once the events are in.
    pub wanted: Wanted,
}

impl Join {
    /// The verdict in few words' worth of facts, for the headline.
    pub fn likely(&self) -> Option<Likely> {
        Some(match self.wait {
            Wait::Read | Wait::ColdStart => {
                let run = self.backend_run.as_ref()?;
                Likely::Ran {
                    total_ms: run.total_ms(),
                    init_ms: run.init_duration_ms,
                    cold_start: self.wait == Wait::ColdStart,
                }
            }
            Wait::NotReached => Likely::NotReached,
            Wait::Connect => Likely::Connect,
            Wait::Unknown => return None,
        })
    }

    /// Remedies that follow from the verdict, most useful first.
    pub fn remedies(&self) -> Vec<Remedy> {
        let function = match &self.evidence {
            Evidence::Run { function, .. } | Evidence::NoRun { function, .. } => function.clone(),
            _ => String::new(),
        };
        match self.wait {
            Wait::ColdStart => vec![Remedy::ProvisionedConcurrency { function }],
            Wait::NotReached => vec![Remedy::InvokeNotReached { function }],
            // The connection-failure cause's own remedies say it (diagnosis).
            Wait::Connect | Wait::Read | Wait::Unknown => Vec::new(),
        }
    }
}
