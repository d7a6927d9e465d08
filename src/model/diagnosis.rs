//! A finding's diagnosis, as facts: what happened (the headline), what the logs show
//! and cannot show, how the route does, and what to do. The words for each fact are
//! made once, in render/words/diagnosis.rs; the backend run's facts are the finding's
//! `run` and join them there. A later lookup replaces a fact, never edits words.

use crate::model::backend::Backend;
use crate::model::kind::{Cause, ConnectionProblem};
use crate::model::limits::ApiKind;
use crate::model::stats::{Percentile, RouteKey, RouteVerdict};

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Diagnosis {
    /// What happened, in one fact (what alerts give as the likely cause).
    pub headline: Headline,
    /// What the logs show, with evidence.
    pub shows: Vec<Shown>,
    /// What the logs cannot show, and where to look instead.
    pub cannot_show: Vec<Gap>,
    /// Why the request's beginning is missing, when healing it failed.
    pub unhealed: Option<Unhealed>,
    /// How the other requests of the route did.
    pub route: Option<RouteHealth>,
    /// What to do, most useful first (the backend run's remedies come before these).
    pub remedies: Vec<Remedy>,
    /// CloudWatch Logs Insights query that pulls the request's full trace.
    pub insights_query: Option<String>,
    /// Console link to the log events of the request.
    pub console_url: Option<String>,
}

/// The headline's facts, self-contained: an incident keeps its onset's headline for
/// the `resolved` notice, which has no findings.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Headline {
    /// The route when known, the API id when known, and the stage.
    pub route: Option<String>,
    pub api_id: Option<String>,
    pub stage: String,
    /// The integration's backend (None: "the integration").
    pub backend: Option<Backend>,
    pub limit_ms: u64,
    /// What the client got.
    pub status: Option<u16>,
    pub what: What,
    /// The backend run's verdict (timeouts), set and replaced with the run.
    #[serde(default)]
    pub likely: Option<Likely>,
}

/// What happened to the request.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum What {
    /// No headline (a misconfiguration without a function).
    #[default]
    Nothing,
    /// An HTTP API answered its timeout status (503), after `waited_ms` when logged.
    HttpTimeout { waited_ms: Option<u64> },
    /// Sent to the integration, given up `elapsed_ms` later.
    GaveUpAfter { elapsed_ms: u64 },
    /// Invoked, elapsed time unknown.
    InvokedGaveUp,
    /// Timed out before anything was sent.
    NotInvoked,
    /// Only the access log saw it.
    AccessLogTimeout { latency_ms: Option<u64> },
    /// A timeout whose earlier lines are elsewhere (the stage logs at INFO).
    TimeoutLinesElsewhere,
    /// A timeout, nothing more known.
    Timeout,
    /// Answered after the limit it was held against: the limit is wrong.
    AnsweredAfterLimit { latency_ms: u64 },
    /// Answered, close to the limit.
    NearLimit {
        latency_ms: u64,
        timeout_status: u16,
    },
    /// An AWS service integration refused the call (the client may have got a 2xx).
    ServiceRejected {
        cause: Cause,
        integration_status: u16,
    },
    /// Another integration failure.
    Failed { cause: Cause },
    /// A backend function runs longer than the gateway waits (`on_api`: the route is unknown).
    FunctionOverLimit { function: String, on_api: bool },
}

/// The backend run's verdict in few words, from `Join::likely`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "likely", rename_all = "snake_case")]
pub enum Likely {
    /// The function ran (or was running) when the gateway gave up.
    Ran {
        total_ms: Option<u64>,
        init_ms: Option<u64>,
        /// The cold start was most of the limit.
        cold_start: bool,
    },
    /// The invoke never reached the function.
    NotReached,
    /// A fast network, TLS or DNS failure.
    Connect,
}

/// One thing the logs show.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "shown", rename_all = "snake_case")]
pub enum Shown {
    /// An HTTP API's timeout status in the access log.
    HttpTimeoutStatus {
        status: u16,
        integration_latency_ms: Option<u64>,
    },
    /// When the request was sent and when the gateway gave up.
    SentAndGaveUp { sent_ms: i64, elapsed_ms: u64 },
    /// It gave up before the assumed limit: the integration's own timeout is lower.
    GaveUpEarly { elapsed_ms: u64, limit_ms: u64 },
    /// The whole limit elapsed after sending.
    WholeLimitElapsed,
    /// Invoked, elapsed not computable (`timestamps`: the input has them).
    Invoked {
        endpoint_lines: bool,
        timestamps: bool,
    },
    /// The INFO lines stop before sending.
    NotInvokedLines,
    /// The access log's outcome.
    AccessLogOutcome { status: u16 },
    /// An answer after the assumed limit: the real limit is higher.
    LimitHigherThanAssumed {
        latency_ms: u64,
        api_id: String,
        stage: String,
    },
    /// The integration latency of an answer close to the limit.
    NearLimitLatency {
        latency_ms: u64,
        backend: Option<Backend>,
    },
    /// Lambda answered TooManyRequestsException.
    ThrottledResponse,
    /// API Gateway's own words (untrusted log text; renderers escape it).
    GatewayLogged { detail: String },
    /// Failed fast while connecting.
    FailedFast {
        after_ms: Option<u64>,
        problem: Option<ConnectionProblem>,
        backend: Option<Backend>,
    },
    /// An AWS service refused the call.
    ServiceRefused {
        backend: Option<Backend>,
        integration_status: Option<u16>,
    },
    /// The integration answered after this long.
    AnsweredAfter { latency_ms: u64 },
    /// The function's own log shows a timeout or a run above the gateway's limit.
    FunctionOverLimit {
        function: String,
        configured_ms: Option<u64>,
        longest_ms: Option<u64>,
        limit_ms: u64,
    },
    /// The function's runs in this analysis.
    FunctionRuns {
        runs: u64,
        longest_ms: u64,
        own_timeouts: u64,
    },
}

/// One thing the logs cannot show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Gap {
    /// HTTP APIs have no execution log.
    HttpNoExecutionLog,
    /// Only the access log was seen for this request.
    AccessLogOnly,
    /// The stage logs at INFO, but this request's early lines are elsewhere.
    LinesElsewhere,
    /// Only ERROR-level lines were seen.
    OnlyErrorLines,
    /// REPORT lines carry the Lambda request id, not the API Gateway one.
    RunsNotLinked,
}

/// Why a split request could not be healed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unhealed {
    NotFound,
    LookupFailed,
    Skipped,
    /// Its lines are in another account that this function may not read.
    NotReadable {
        account: String,
        why: NoAccess,
    },
}

/// Why evidence in another account could not be read (`CROSS_ACCOUNT_EVIDENCE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason", content = "via")]
pub enum NoAccess {
    /// No cross-account access is configured (`off`).
    NotConfigured,
    /// The account refused: no OAM link sharing the group, or the role is missing,
    /// does not trust this function, or may not read the group.
    Denied(Via),
    /// Assuming the role did not end in time (bounded by the invocation's deadline).
    TimedOut,
    /// STS answered with another error (throttled, region disabled…).
    AssumeFailed,
}

/// How another account's evidence is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// CloudWatch cross-account observability: the group's ARN, this account's credentials.
    Oam,
    /// `sts:AssumeRole` into a role of that account.
    Role,
}

/// The route's statistics as its health fact: computed once per route, quoted by every
/// finding on it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RouteHealth {
    pub key: RouteKey,
    pub limit_ms: u64,
    /// The near-limit threshold and the ratio it comes from (parts per million).
    pub near_ms: u64,
    pub ratio_ppm: u64,
    pub requests: u64,
    pub timeouts: u64,
    pub near_limit: u64,
    pub errors: u64,
    pub observed: u64,
    pub censored: u64,
    pub slow: u64,
    pub fast: u64,
    pub p50: Option<Percentile>,
    pub p95: Option<Percentile>,
    pub p99: Option<Percentile>,
    pub max: Option<Percentile>,
    /// The smallest answered latency.
    pub min_ms: Option<u64>,
    pub verdict: RouteVerdict,
}

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "remedy", rename_all = "snake_case")]
pub enum Remedy {
    RetryNotInvoked,
    LookBeforeIntegration,
    TurnOnInfoLogging,
    ShortenWork,
    /// `lambda`: the backend is a Lambda function, something else, or unknown.
    Asynchronous {
        lambda: Option<bool>,
    },
    Faster {
        lambda: Option<bool>,
    },
    RaiseLimit {
        api_kind: ApiKind,
        limit_ms: u64,
    },
    ClientRetryIdempotent {
        timeout_status: u16,
    },
    TellRealLimit {
        api_id: String,
        stage: String,
    },
    FunctionTimeoutFirst {
        limit_ms: u64,
    },
    ReadFunctionLog {
        lambda_request_id: Option<String>,
    },
    RaiseConcurrency,
    RetryWithJitter,
    AllowInvoke,
    ProxyResponseShape,
    ThrottleInBody,
    CheckAuthorizer,
    CheckIntegrationConfig,
    /// The backend's certificate does not fit the host API Gateway connects to.
    FixCertificateName,
    /// A VPC link's internal error: its load balancer's targets or security groups.
    CheckVpcLinkTarget,
    CheckBackendHealth,
    FixConnection {
        problem: Option<ConnectionProblem>,
    },
    RetrySafeOnceReachable,
    FixServiceCall {
        integration_status: Option<u16>,
    },
    SetFunctionTimeout {
        function: String,
        limit_ms: u64,
    },
    /// From the backend run: most of the wait was the function's init.
    ProvisionedConcurrency {
        function: String,
    },
    /// From the backend run: the invoke never reached the function.
    InvokeNotReached {
        function: String,
    },
}

/// Where a remedy goes: retry advice last when the backend is too slow (retries add load).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    Fix,
    Retry,
}

impl Remedy {
    pub fn priority(&self) -> Priority {
        match self {
            Remedy::RetryNotInvoked
            | Remedy::ClientRetryIdempotent { .. }
            | Remedy::RetryWithJitter
            | Remedy::RetrySafeOnceReachable => Priority::Retry,
            _ => Priority::Fix,
        }
    }
}
