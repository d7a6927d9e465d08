//! The words for a finding's diagnosis: its headline, what the logs show and cannot
//! show, and the paragraph a report prints. Made from the facts in `model::diagnosis`
//! and the finding's backend run, once, for every rendering.

use crate::model::backend::Backend;
use crate::model::diagnosis::{Gap, Headline, Likely, Remedy, Shown, Unhealed, What};
use crate::model::finding::Finding;
use crate::model::kind::{ConnectionProblem, Kind};
use crate::render::display::{capitalised, ms, seconds, thousands, time};
use crate::render::words::access::no_access;
use crate::render::words::backend_run::{self, secs};
use crate::render::words::{self, remedy, route_health};

/// A finding's diagnosis in words, in the order every rendering prints them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Words {
    pub headline: String,
    pub shows: Vec<String>,
    pub cannot_show: Vec<String>,
    pub route_health: Option<String>,
    pub remedies: Vec<String>,
}

impl Words {
    pub fn of(f: &Finding) -> Words {
        let d = &f.diagnosis;
        let mut shows: Vec<String> = d.shows.iter().map(shown).collect();
        let run = backend_run::sentence(&f.run, f.limit_ms);
        let run_gap = match &run {
            None if f.kind == Kind::Timeout => Some(
                backend_run::what_would_tell(&f.run)
                    .unwrap_or_else(|| backend_run::connect_vs_read(f)),
            ),
            _ => None,
        };
        shows.extend(run);
        let mut cannot_show: Vec<String> = d.cannot_show.iter().map(|g| gap(*g)).collect();
        cannot_show.extend(run_gap);
        cannot_show.extend(d.unhealed.as_ref().map(unhealed));
        Words {
            headline: headline(&d.headline),
            shows,
            cannot_show,
            route_health: d.route.as_ref().map(route_health::words),
            remedies: remedies(f).iter().map(remedy::words).collect(),
        }
    }

    /// The diagnosis as one paragraph of prose (the JSON report's `diagnosis`).
    pub fn text(&self) -> String {
        let mut parts = vec![self.headline.clone()];
        parts.extend(self.shows.iter().cloned());
        parts.extend(self.cannot_show.iter().cloned());
        parts.extend(self.route_health.iter().cloned());
        parts.join(" ")
    }
}

/// The finding's remedies as facts, most useful first: the backend run's, then the diagnosis'.
pub fn remedies(f: &Finding) -> Vec<Remedy> {
    let mut r = f.run.remedies();
    r.extend(f.diagnosis.remedies.iter().cloned());
    r
}

fn where_(h: &Headline) -> String {
    match (&h.route, &h.api_id) {
        (None, None) => "the request".to_owned(),
        (None, Some(api)) => format!("a request on {api}/{}", h.stage),
        (Some(route), None) => format!("route {route}"),
        (Some(route), Some(api)) => format!("{route} on {api}/{}", h.stage),
    }
}

pub(crate) fn backend_name(backend: Option<&Backend>) -> String {
    backend.map_or_else(|| "the integration".to_owned(), ToString::to_string)
}

/// How the headline of a timeout whose integration was sent the request ends, unless
/// the backend run's verdict ends it.
const GENERIC_END: &str = ": the integration did not answer in time";

/// The headline: what happened, in one sentence.
pub fn headline(h: &Headline) -> String {
    let at = || where_(h);
    let target = || backend_name(h.backend.as_ref());
    let limit = ms(h.limit_ms);
    let status = h.status.unwrap_or_default();
    let said = match &h.what {
        What::Nothing => return String::new(),
        What::HttpTimeout { waited_ms } => format!(
            "The HTTP API answered {} with {status}{}: its integration did not answer within the {limit} limit.",
            at(),
            waited_ms.map(|l| format!(" after {}", ms(l))).unwrap_or_default()
        ),
        What::GaveUpAfter { elapsed_ms } => {
            let end = match &h.likely {
                Some(l) => format!(": {}", likely(l, h.limit_ms)),
                None => GENERIC_END.to_owned(),
            };
            return format!(
                "API Gateway sent {} to {} and gave up {} later (limit {limit}){end}.",
                at(),
                target(),
                ms(*elapsed_ms)
            );
        }
        What::InvokedGaveUp => format!(
            "API Gateway invoked {} for {} and gave up waiting for it (limit {limit}).",
            target(),
            at()
        ),
        What::NotInvoked => format!(
            "{} timed out before API Gateway sent anything to the integration: the backend never received this request.",
            capitalised(&at())
        ),
        What::AccessLogTimeout { latency_ms } => format!(
            "The access log records an integration timeout for {}{} (limit {limit}).",
            at(),
            latency_ms.map(|l| format!(" after {}", ms(l))).unwrap_or_default()
        ),
        What::TimeoutLinesElsewhere => format!(
            "API Gateway timed out waiting for the integration of {} ({status}, limit {limit}); this request's earlier lines are not in what this analysis saw.",
            at()
        ),
        What::Timeout => format!(
            "API Gateway timed out waiting for the integration of {} ({status}, limit {limit}).",
            at()
        ),
        What::AnsweredAfterLimit { latency_ms } => format!(
            "{} answered in {}, after the {limit} limit it was held against: this API's limit is not {}.",
            capitalised(&at()),
            ms(*latency_ms),
            seconds(h.limit_ms)
        ),
        What::NearLimit {
            latency_ms,
            timeout_status,
        } => format!(
            "{} answered in {}, {}% of the {limit} limit: {} from a {timeout_status}.",
            capitalised(&at()),
            ms(*latency_ms),
            latency_ms * 100 / h.limit_ms.max(1),
            ms(h.limit_ms.saturating_sub(*latency_ms))
        ),
        What::ServiceRejected {
            cause,
            integration_status,
        } => format!(
            "{}: {} answered {integration_status} (the client got {}): {}.",
            capitalised(&at()),
            target(),
            h.status
                .map_or_else(|| "an unknown status".to_owned(), |s| s.to_string()),
            words::cause::title(*cause)
        ),
        What::Failed { cause } => format!(
            "{} failed{}: {}.",
            capitalised(&at()),
            h.status.map(|s| format!(" with {s}")).unwrap_or_default(),
            words::cause::title(*cause)
        ),
        What::FunctionOverLimit { function, on_api } => format!(
            "Lambda function {function} runs longer than API Gateway waits for it ({limit} limit on {}).",
            if *on_api { "its API".to_owned() } else { at() }
        ),
    };
    match &h.likely {
        Some(l) => format!("{said} Likely: {}.", likely(l, h.limit_ms)),
        None => said,
    }
}

/// The backend run's verdict in a few words, for the alerts' "likely cause" line.
pub fn likely(l: &Likely, limit_ms: u64) -> String {
    match l {
        Likely::Ran {
            total_ms,
            init_ms,
            cold_start,
        } => {
            let cold = match (init_ms, cold_start) {
                (Some(i), true) => format!(", {} of it a cold start (most of the limit)", secs(*i)),
                (Some(i), false) => format!(" ({} of it a cold start)", secs(*i)),
                (None, _) => String::new(),
            };
            let ran = total_ms.map_or_else(|| "was still running".to_owned(), |t| format!("ran {}", secs(t)));
            format!(
                "the function {ran}{cold}; API Gateway gave up at {} while it kept running",
                secs(limit_ms)
            )
        }
        Likely::NotReached => "the invoke never reached the function, whose log shows no run starting (throttling or a concurrency limit)".to_owned(),
        Likely::Connect => "a fast network, TLS or DNS failure on the way to the backend".to_owned(),
    }
}

/// One thing the logs show, in one sentence (plain text; renderers escape it).
pub fn shown(s: &Shown) -> String {
    match s {
        Shown::HttpTimeoutStatus {
            status,
            integration_latency_ms,
        } => format!(
            "HTTP APIs answer a timed-out integration with {status} Service Unavailable (not 504); the access log records status {status}{}.",
            integration_latency_ms
                .map(|l| format!(" and an integration latency of {}", ms(l)))
                .unwrap_or_default()
        ),
        Shown::SentAndGaveUp { sent_ms, elapsed_ms } => format!(
            "The request was sent at {} and API Gateway gave up at {}; no `Received response` line was logged, so nothing came back before the limit.",
            time(*sent_ms),
            time(sent_ms.saturating_add(*elapsed_ms as i64))
        ),
        Shown::GaveUpEarly { elapsed_ms, limit_ms } => format!(
            "It gave up after {} instead of {}: this integration's own timeoutInMillis is probably lower than assumed; set --timeout-ms or TIMEOUT_OVERRIDES to the configured value.",
            ms(*elapsed_ms),
            ms(*limit_ms)
        ),
        Shown::WholeLimitElapsed => "The whole limit elapsed after sending: the backend was reached or was still being reached, and did not answer in time.".to_owned(),
        Shown::Invoked { endpoint_lines, timestamps } => {
            let evidence = if *endpoint_lines {
                "its `Endpoint request URI` / `Sending request to` lines were logged"
            } else {
                "the logs record an integration latency"
            };
            if *timestamps {
                format!("The integration was invoked ({evidence}), but the sending time or the failure time was not in what this analysis saw, so the elapsed time cannot be computed.")
            } else {
                format!("The integration was invoked ({evidence}); this input carries no timestamps, so the elapsed time cannot be computed.")
            }
        }
        Shown::NotInvokedLines => "The INFO-level lines of this request stop before `Endpoint request URI` / `Sending request to`: the integration was not invoked.".to_owned(),
        Shown::AccessLogOutcome { status } => {
            format!("Client status {status}, response type INTEGRATION_TIMEOUT.")
        }
        Shown::LimitHigherThanAssumed { latency_ms, api_id, stage } => format!(
            "API Gateway waited {} and got an answer, so the integration's timeout is higher than assumed (a Regional or private REST API with a raised \"Maximum integration timeout\" quota). Set TIMEOUT_OVERRIDES (CLI: --timeout-overrides) to the real limit, e.g. `{api_id}/{stage}={}`, so that near-limit and headroom figures are true.",
            ms(*latency_ms),
            override_example(*latency_ms)
        ),
        Shown::NearLimitLatency { latency_ms, backend: Some(b) } => format!(
            "`Received response` reports an integration latency of {} from {b}.",
            ms(*latency_ms)
        ),
        Shown::NearLimitLatency { latency_ms, backend: None } => {
            format!("The logs report an integration latency of {}.", ms(*latency_ms))
        }
        Shown::ThrottledResponse => "The Lambda service answered TooManyRequestsException (concurrency exhausted), which API Gateway reported as a malformed proxy response.".to_owned(),
        Shown::GatewayLogged { detail } => format!("API Gateway logged: {detail}"),
        Shown::FailedFast { after_ms, problem, backend } => format!(
            "API Gateway failed fast{} with a {} while connecting to {}: the request never reached a backend that could answer. A timeout is different: it waits the whole limit with no answer.",
            after_ms.map(|e| format!(" after {}", ms(e))).unwrap_or_default(),
            match problem {
                Some(ConnectionProblem::Dns) => "DNS error (the endpoint's name did not resolve)",
                Some(ConnectionProblem::Tls) => "TLS error (the certificate or handshake was refused)",
                _ => "network error (connect)",
            },
            backend_name(backend.as_ref())
        ),
        Shown::ServiceRefused { backend, integration_status } => format!(
            "{} answered {}: the request reached the service, which refused it.",
            capitalised(&backend_name(backend.as_ref())),
            integration_status.map_or_else(|| "4xx".to_owned(), |s| s.to_string())
        ),
        Shown::AnsweredAfter { latency_ms } => {
            format!("The integration answered after {}.", ms(*latency_ms))
        }
        Shown::FunctionOverLimit { function, configured_ms, longest_ms, limit_ms } => {
            let mut parts = Vec::new();
            if let Some(c) = configured_ms {
                parts.push(format!("its timeout is {}", seconds(*c)));
            }
            if let Some(r) = longest_ms {
                parts.push(format!("a run lasted {}", ms(*r)));
            }
            format!(
                "The function {function}'s own log shows {}: above the gateway's {} limit, so it keeps running (and billing) after API Gateway has answered 504.",
                parts.join(" and "),
                ms(*limit_ms)
            )
        }
        Shown::FunctionRuns { runs, longest_ms, own_timeouts } => format!(
            "{} run{} seen, longest {}, {own_timeouts} ended by the function's own timeout.",
            thousands(*runs),
            if *runs == 1 { "" } else { "s" },
            ms(*longest_ms)
        ),
    }
}

/// A round limit above an observed latency, for the TIMEOUT_OVERRIDES example.
fn override_example(latency_ms: u64) -> u64 {
    latency_ms.div_ceil(10_000) * 10_000
}

/// One thing the logs cannot show, and where to look instead.
pub fn gap(g: Gap) -> String {
    match g {
        Gap::HttpNoExecutionLog => "HTTP APIs have no execution log: whether the backend received the request, and when, is only in the backend's own logs (for Lambda, its log group and REPORT lines).",
        Gap::AccessLogOnly => "Access logs record only the outcome: whether and when the integration was invoked is in the execution log (REST and WebSocket, at INFO level), which this analysis did not see for this request.",
        Gap::LinesElsewhere => "Whether the integration was invoked: the stage logs at INFO (other requests here have INFO lines), but this request's lines before the timeout went to another log stream or batch. The Logs Insights query below finds them in the stage's log group.",
        Gap::OnlyErrorLines => "Whether the integration was invoked: only ERROR-level lines were seen for this request (or its start was in a batch this instance did not see). Set the stage's execution logging to INFO to log `Sending request to` and `Received response`.",
        Gap::RunsNotLinked => "Which API requests these runs served: the function's REPORT lines carry the Lambda request id, not the API Gateway one (the execution log's `AWS Integration Endpoint RequestId` links them).",
    }
    .to_owned()
}

/// Why a split request's beginning is missing.
pub fn unhealed(u: &Unhealed) -> String {
    const LINES: &str =
        "This request's earlier log lines (route, backend, whether the integration was invoked)";
    let why = match u {
        Unhealed::NotFound => {
            "were looked up in the log group but not found (expired, or not logged at INFO level)"
        }
        Unhealed::LookupFailed => "could not be looked up (the lookup failed)",
        Unhealed::Skipped => {
            "were not looked up (LOG_LOOKUPS_MAX or the invocation's deadline reached)"
        }
        Unhealed::NotReadable { account, why } => {
            return format!(
                "{LINES} are in account {account} and could not be read ({}).",
                no_access(*why)
            )
        }
    };
    format!("{LINES} arrived in another batch and {why}.")
}

/// The sentences of a finding's evidence that is in another account and could not be read
/// (the early lines, the backend function's runs), for renderings that list only these.
pub fn not_readable(f: &Finding) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if let Some(u @ Unhealed::NotReadable { .. }) = &f.diagnosis.unhealed {
        out.push(unhealed(u));
    }
    if let crate::model::backend_run::Evidence::Unreadable { .. } = &f.run.evidence {
        out.extend(backend_run::what_would_tell(&f.run));
    }
    out
}
