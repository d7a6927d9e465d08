//! The JSON report's shapes: one finding, one incident, the whole report.

use super::*;
use crate::model::diagnosis::RouteHealth;
use crate::render::words::diagnosis::Words;
use crate::render::words::route_health;

/// One finding as the JSON report and the automation alert carry it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FindingJson<'a> {
    pub kind: &'static str,
    pub cause: &'static str,
    pub request_id: Option<&'a str>,
    pub api_id: &'a str,
    pub stage: &'a str,
    pub route: &'a str,
    pub status: Option<u16>,
    pub invoked: Option<bool>,
    pub integration_latency_ms: Option<u64>,
    pub elapsed_ms: Option<u64>,
    pub limit_ms: u64,
    pub api_type: crate::model::limits::ApiKind,
    pub backend: Option<&'a crate::model::backend::Backend>,
    pub timestamp: Option<i64>,
    pub diagnosis: String,
    pub headline: String,
    pub evidence: Vec<String>,
    pub cannot_show: Vec<String>,
    pub route_health: Option<String>,
    pub remedies: Vec<String>,
    pub insights_query: Option<&'a str>,
    pub console_url: Option<&'a str>,
    pub log_group: &'a str,
    pub log_stream: &'a str,
    pub lambda_request_id: Option<&'a str>,
    pub xray_trace_id: Option<&'a str>,
    /// The backend run that served the request (connect or read), and the verdict.
    pub backend_run: Option<&'a crate::model::backend_run::BackendRun>,
    pub wait: crate::model::backend_run::Wait,
    /// Evidence in another account that could not be read (its words are in `cannot_show`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_readable: Vec<NotReadableJson<'a>>,
}

/// One piece of evidence in another account, not read: `{"evidence": "early_lines",
/// "account": "111122223333", "reason": "denied", "via": "role"}`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NotReadableJson<'a> {
    /// `early_lines` (a split request's start) or `backend_run` (the function's log).
    pub evidence: &'static str,
    pub account: &'a str,
    #[serde(flatten)]
    pub why: crate::model::diagnosis::NoAccess,
}

fn not_readable(f: &Finding) -> Vec<NotReadableJson<'_>> {
    use crate::model::backend_run::Evidence;
    use crate::model::diagnosis::Unhealed;
    let mut out = Vec::new();
    if let Some(Unhealed::NotReadable { account, why }) = &f.diagnosis.unhealed {
        out.push(NotReadableJson {
            evidence: "early_lines",
            account,
            why: *why,
        });
    }
    if let Evidence::Unreadable { account, why, .. } = &f.run.evidence {
        out.push(NotReadableJson {
            evidence: "backend_run",
            account,
            why: *why,
        });
    }
    out
}

impl<'a> FindingJson<'a> {
    pub fn new(f: &'a Finding) -> Self {
        let words = Words::of(f);
        FindingJson {
            kind: f.kind.as_str(),
            cause: f.cause.as_str(),
            request_id: f.request_id.as_deref(),
            api_id: &f.api_id,
            stage: &f.stage,
            route: f.route.as_str(),
            status: f.status,
            invoked: f.invoked,
            integration_latency_ms: f.integration_latency_ms,
            elapsed_ms: f.elapsed_ms,
            limit_ms: f.limit_ms,
            api_type: f.api_kind,
            backend: f.backend.as_ref(),
            timestamp: f.timestamp,
            diagnosis: words.text(),
            headline: words.headline,
            evidence: words.shows,
            cannot_show: words.cannot_show,
            route_health: words.route_health,
            remedies: words.remedies,
            insights_query: f.diagnosis.insights_query.as_deref(),
            console_url: f.diagnosis.console_url.as_deref(),
            log_group: &f.provenance.log_group,
            log_stream: &f.provenance.log_stream,
            lambda_request_id: f.lambda_request_id.as_deref(),
            xray_trace_id: f.xray_trace_id.as_deref(),
            backend_run: f.run.backend_run.as_ref(),
            wait: f.run.wait,
            not_readable: not_readable(f),
        }
    }
}

#[derive(Debug, serde::Serialize)]
pub struct IncidentJson<'a> {
    /// Whose logs, when the input holds several accounts'.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<&'a str>,
    pub kind: &'static str,
    pub backend: Option<&'a str>,
    pub cause: &'static str,
    pub api_id: &'a str,
    pub stage: &'a str,
    pub route: &'a str,
    pub count: u64,
    pub route_requests: Option<u64>,
    pub rate_pct: Option<f64>,
    pub first: Option<i64>,
    pub last: Option<i64>,
    pub exemplars: Vec<Option<&'a str>>,
    pub remedies: Vec<String>,
    /// The changes before its onset, most likely first (empty: none, or no change data).
    pub changes: Vec<super::changes::ChangeJson<'a>>,
    /// That none was found in the window, or that the changes could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes_note: Option<String>,
}

#[derive(serde::Serialize)]
pub(super) struct ReportJson<'a> {
    pub(super) summary: &'a Summary,
    pub(super) findings: Vec<FindingJson<'a>>,
    pub(super) routes: Vec<RouteJson<'a>>,
    pub(super) limits: Vec<LimitJson<'a>>,
    pub(super) functions: &'a [crate::model::stats::FunctionStats],
    pub(super) timeline: &'a Timeline,
    pub(super) incidents: Vec<IncidentJson<'a>>,
    /// Every change read that could precede something in the report.
    pub(super) changes: Vec<super::changes::ChangeJson<'a>>,
    pub(super) change_source: super::changes::ChangeSourceJson,
    /// Per SLO, what the logs spent of the error budget.
    pub(super) budget: Vec<super::budget::BudgetJson<'a>>,
    pub(super) warnings: &'a [String],
    /// Drift toward the limit (only when the logs span 7 days or more).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) drift: Vec<super::drift::DriftJson<'a>>,
}

/// One route: its statistics and its health sentence (`health`, as before the facts).
#[derive(Debug, serde::Serialize)]
pub(super) struct RouteJson<'a> {
    #[serde(flatten)]
    pub(super) stats: &'a RouteStats,
    pub(super) health: String,
}

impl<'a> RouteJson<'a> {
    pub(super) fn all(routes: &'a [RouteStats], health: &[RouteHealth]) -> Vec<RouteJson<'a>> {
        routes
            .iter()
            .map(|stats| RouteJson {
                stats,
                health: health
                    .iter()
                    .find(|h| h.key == stats.key)
                    .map(route_health::words)
                    .unwrap_or_default(),
            })
            .collect()
    }
}

/// The limit a route was held against and where it came from: `setting` (`--timeout-ms`,
/// `--timeout-overrides`), `api` (the integration's `timeoutInMillis`, fetch mode),
/// `log` (the log says the response was streamed: the 15-minute ceiling) or `default`
/// (the API type's).
#[derive(Debug, serde::Serialize)]
pub(super) struct LimitJson<'a> {
    pub(super) api_id: &'a str,
    pub(super) stage: &'a str,
    pub(super) route: &'a str,
    pub(super) limit_ms: u64,
    pub(super) source: crate::model::limits::LimitSource,
}

impl<'a> LimitJson<'a> {
    pub(super) fn new(r: &'a RouteStats) -> LimitJson<'a> {
        LimitJson {
            api_id: &r.key.api_id,
            stage: &r.key.stage,
            route: r.key.route.as_str(),
            limit_ms: r.limit_ms,
            source: r.limit_source,
        }
    }
}
