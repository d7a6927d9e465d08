//! What the report is built from: routes by impact and incidents grouped as alerts group them.

use std::fmt::Write as _;

use crate::engine::analysis::Analysis;
use crate::engine::changes::{ChangeSource, Scope};
use crate::engine::incidents;
use crate::engine::timeline;
use crate::model::finding::Finding;
use crate::model::kind::Kind;
use crate::model::stats::RouteStats;
use crate::render::display::thousands;
use crate::render::words::diagnosis::Words;

/// A route's row in the table by impact.
#[derive(Debug, Clone)]
pub struct RouteRow<'a> {
    pub stats: &'a RouteStats,
    /// The input holds several accounts' logs: names say whose.
    pub with_account: bool,
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
}

impl RouteRow<'_> {
    pub fn timeout_pct(&self) -> Option<f64> {
        pct(self.stats.timeouts, self.stats.requests)
    }
    pub fn error_pct(&self) -> Option<f64> {
        pct(self.stats.errors, self.stats.requests)
    }
    /// `10%`, as every rendering writes a share ([`crate::render::display::percent`]).
    pub fn timeout_share(&self) -> String {
        crate::render::display::percent(self.stats.timeouts, self.stats.requests)
    }
    pub fn error_share(&self) -> String {
        crate::render::display::percent(self.stats.errors, self.stats.requests)
    }
    pub fn name(&self) -> String {
        let k = &self.stats.key;
        format!("{} {}", k.api_stage(self.with_account), k.route)
    }
}

pub fn pct(n: u64, of: u64) -> Option<f64> {
    (of > 0).then(|| n as f64 * 100.0 / of as f64)
}

/// One incident, grouped as alerts group them ([`incidents::group_analysis`]: API, stage,
/// backend, kind), with what the report shows of it.
#[derive(Debug, Clone)]
pub struct Group<'a> {
    /// Whose logs, when the input holds several accounts' (else `None`: not said).
    pub account: Option<&'a str>,
    pub api_id: &'a str,
    pub stage: &'a str,
    /// The member routes (or the Lambda function of a misconfiguration), as one name.
    pub target: String,
    /// The backend the incident is about, when the logs name it.
    pub backend: Option<String>,
    pub kind: Kind,
    /// The most frequent cause.
    pub cause: crate::model::kind::Cause,
    /// Worst first: the longest wait, then the earliest.
    pub findings: Vec<&'a Finding>,
    /// First and last request start among the findings.
    pub first: Option<i64>,
    pub last: Option<i64>,
    /// Requests on the member routes, for the rate.
    pub route_requests: Option<u64>,
    /// Member routes: (name, requests, affected).
    pub routes: Vec<(String, u64, u64)>,
    /// The configuration changes before its onset.
    pub changes: crate::engine::changes::ChangeEvidence,
}

impl Group<'_> {
    pub fn count(&self) -> u64 {
        self.findings.len() as u64
    }
    pub fn rate(&self) -> Option<f64> {
        self.route_requests.and_then(|n| pct(self.count(), n))
    }
    pub fn remedies(&self) -> Vec<String> {
        self.findings
            .first()
            .map_or_else(Vec::new, |f| Words::of(f).remedies)
    }
    pub fn title(&self) -> String {
        format!(
            "{} {} · {}{}/{} {}",
            thousands(self.count()),
            kind_label(self.kind, self.count()),
            self.account.map(|a| format!("{a}:")).unwrap_or_default(),
            self.api_id,
            self.stage,
            self.target
        )
    }
}

pub fn kind_label(k: Kind, n: u64) -> &'static str {
    match (k, n == 1) {
        (Kind::Timeout, true) => "timeout (504)",
        (Kind::Timeout, false) => "timeouts (504)",
        (Kind::Error, true) => "integration error",
        (Kind::Error, false) => "integration errors",
        (Kind::NearLimit, true) => "request near the limit",
        (Kind::NearLimit, false) => "requests near the limit",
        (Kind::Misconfiguration, true) => "misconfiguration",
        (Kind::Misconfiguration, false) => "misconfigurations",
    }
}

/// The analysis's incidents, grouped exactly as alerts group them.
pub fn groups<'a>(a: &'a Analysis, changes: &ChangeSource) -> Vec<Group<'a>> {
    let with_account = a.counters.accounts.len() > 1;
    incidents::group_analysis(a)
        .into_iter()
        .map(|g| {
            let changes = changes.evidence(Scope::of_group(&g).as_ref());
            let mut findings = g.findings;
            findings.sort_by(|a, b| {
                let wait = |f: &Finding| f.elapsed_ms.or(f.integration_latency_ms).unwrap_or(0);
                wait(b).cmp(&wait(a)).then(a.timestamp.cmp(&b.timestamp))
            });
            let times = findings
                .iter()
                .filter_map(|f| f.timestamp.filter(|t| *t > 0));
            let first = times.clone().min();
            let last = times.max();
            let routes: Vec<(String, u64, u64)> = g
                .routes
                .iter()
                .map(|(name, c)| (name.clone(), c.requests, c.affected))
                .collect();
            let mut names: Vec<&str> = routes.iter().map(|r| r.0.as_str()).collect();
            let more = names.len().saturating_sub(3);
            names.truncate(3);
            let mut target = names.join(", ");
            if more > 0 {
                let _ = write!(target, " and {more} more routes");
            }
            Group {
                account: findings
                    .first()
                    .and_then(|f| f.provenance.account.as_deref())
                    .filter(|_| with_account),
                api_id: findings.first().map_or("", |f| f.api_id.as_str()),
                stage: findings.first().map_or("", |f| f.stage.as_str()),
                target,
                backend: g.backend.map(|b| b.to_string()),
                kind: g.key.kind,
                cause: g.cause,
                findings,
                first,
                last,
                route_requests: (g.requests > 0).then_some(g.requests),
                routes,
                changes,
            }
        })
        .collect()
}

/// Routes by impact: timeouts, then errors, then near-limit requests, then traffic.
pub fn routes_by_impact(a: &Analysis) -> Vec<RouteRow<'_>> {
    let seen = timeline::route_seen(a);
    let with_account = a.counters.accounts.len() > 1;
    let mut rows: Vec<RouteRow<'_>> = a
        .routes
        .iter()
        .zip(seen)
        .map(|(stats, seen)| RouteRow {
            stats,
            with_account,
            first_seen: seen.map(|s| s.0),
            last_seen: seen.map(|s| s.1),
        })
        .collect();
    rows.sort_by(|a, b| {
        let (x, y) = (a.stats, b.stats);
        (y.timeouts, y.errors, y.near_limit, y.requests).cmp(&(
            x.timeouts,
            x.errors,
            x.near_limit,
            x.requests,
        ))
    });
    rows
}
