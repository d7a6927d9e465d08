//! Budget notices: incidents of their own kind, one per SLO, in the same lifecycle as
//! the others (firing, update, resolved). A notice fires when a burn-rate rule fires
//! ([`burn::assess`]), is updated when its severity changes (a ticket becomes a page, or
//! a page calms to a ticket), and resolves when no rule fires any more: every rule's
//! long or short window has fallen below its threshold. Plain functions on data; the
//! state table keeps the open notice, with conditional writes, so that containers agree.

use std::collections::BTreeMap;

use crate::engine::analysis::Analysis;
use crate::engine::burn::{self, Assessment, BudgetSeverity, Objective, Period, Series, Tally};
use crate::engine::incidents::Status;
use crate::engine::slo::{SloKey, SloSettings};
use crate::model::tally::MINUTE_MS;

/// Routes listed as burning most.
pub const TOP_ROUTES: usize = 5;

/// An open budget notice, as the state table keeps it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BudgetNotice {
    pub id: String,
    pub slo: SloKey,
    pub objective: Objective,
    pub severity: BudgetSeverity,
    /// The minute it first fired.
    pub opened_at: i64,
    /// The minute of its last notification.
    pub notified_at: i64,
    pub version: u64,
}

/// The notice id: the SLO and the minute it fired, so that the same counts replayed give
/// the same id (a pager's dedup key).
pub fn notice_id(slo: &SloKey, opened_at: i64) -> String {
    let text = format!("budget#{}#{opened_at}", slo.store_key());
    let h = crate::model::incident::fnv1a(text.bytes());
    format!("slo-{h:016x}")
}

/// What one assessment does to the SLO's notice: the notification to send, and the
/// notice to keep (`None` with `Resolved`: remove it).
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetStep {
    pub status: Status,
    /// The notice as notified (for `Resolved`, as it was when it resolved).
    pub notice: BudgetNotice,
    /// What to write: `Some` for firing and update, `None` for resolved.
    pub next: Option<BudgetNotice>,
    /// The notice stored before (`None`: none), to compare the write with and to undo it.
    pub previous: Option<BudgetNotice>,
}

impl BudgetStep {
    /// The version stored before (0: none), for the conditional write.
    pub fn expected(&self) -> u64 {
        self.previous.as_ref().map_or(0, |p| p.version)
    }
}

/// The step an assessment at `now` (a minute start) makes, if any.
pub fn observe(
    current: Option<&BudgetNotice>,
    slo: &SloKey,
    objective: Objective,
    a: &Assessment,
    now: i64,
) -> Option<BudgetStep> {
    match (current, a.severity) {
        (None, None) => None,
        (None, Some(severity)) => {
            let n = BudgetNotice {
                id: notice_id(slo, now),
                slo: slo.clone(),
                objective,
                severity,
                opened_at: now,
                notified_at: now,
                version: 1,
            };
            Some(BudgetStep {
                status: Status::Firing,
                notice: n.clone(),
                next: Some(n),
                previous: None,
            })
        }
        (Some(cur), Some(severity)) if severity == cur.severity => None,
        (Some(cur), Some(severity)) => {
            let n = BudgetNotice {
                severity,
                notified_at: now,
                version: cur.version + 1,
                objective,
                ..cur.clone()
            };
            Some(BudgetStep {
                status: Status::Update,
                notice: n.clone(),
                next: Some(n),
                previous: Some(cur.clone()),
            })
        }
        (Some(cur), None) => Some(BudgetStep {
            status: Status::Resolved,
            notice: BudgetNotice {
                notified_at: now,
                ..cur.clone()
            },
            next: None,
            previous: Some(cur.clone()),
        }),
    }
}

/// What the state table holds of one SLO: per route, per minute, the longest window's
/// counts; per day, the period's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SloCounts {
    pub routes: BTreeMap<String, Series>,
    /// Day start (epoch ms) → the day's requests, every route.
    pub days: Series,
    /// The first minute ever counted for the SLO (the budget's extrapolation starts there).
    pub first_minute: Option<i64>,
}

/// One route's requests in a window.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RouteBurn {
    pub route: String,
    pub tally: Tally,
    pub burn_rate: Option<f64>,
}

/// An SLO assessed: what a budget notice says.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BudgetFacts {
    pub slo: SloKey,
    pub objective: Objective,
    pub assessment: Assessment,
    /// The window the routes are ranked over: the worst firing rule's long window
    /// (the first rule's when none fires).
    pub routes_window_ms: i64,
    /// The routes with bad requests in that window, most bad first.
    pub routes: Vec<RouteBurn>,
    /// The assessed minute.
    pub at: i64,
}

/// Every route's minutes added together.
pub fn combined(counts: &SloCounts) -> Series {
    let mut s = Series::new();
    for series in counts.routes.values() {
        for (m, t) in series {
            s.entry(*m).or_default().add(*t);
        }
    }
    s
}

/// The SLO at the minute `now`: its rules, its budget, its routes burning most.
pub fn assess(slo: &SloKey, objective: Objective, counts: &SloCounts, now: i64) -> BudgetFacts {
    let series = combined(counts);
    // Whole UTC days, from the one the period starts in (or the first minute counted).
    let day = 24 * 60 * MINUTE_MS;
    let start_day = (now - objective.period_ms + MINUTE_MS).div_euclid(day) * day;
    let period = Period {
        tally: burn::tally(&counts.days, now, now - start_day + 1),
        first: Some(counts.first_minute.map_or(start_day, |f| f.max(start_day))),
    };
    let assessment = burn::assess_with(&series, period, now, &objective);
    let firing = assessment.rules.iter().find(|r| r.fires);
    let routes_window_ms = firing.unwrap_or(&assessment.rules[0]).rule.long_ms;
    let mut routes: Vec<RouteBurn> = counts
        .routes
        .iter()
        .map(|(route, s)| {
            let tally = burn::tally(s, now, routes_window_ms);
            RouteBurn {
                route: route.clone(),
                tally,
                burn_rate: objective.burn_rate(&tally),
            }
        })
        .filter(|r| r.tally.bad > 0)
        .collect();
    routes.sort_by(|a, b| b.tally.bad.cmp(&a.tally.bad).then(a.route.cmp(&b.route)));
    routes.truncate(TOP_ROUTES);
    BudgetFacts {
        slo: slo.clone(),
        objective,
        assessment,
        routes_window_ms,
        routes,
        at: now,
    }
}

/// One addition: a route's requests in one minute, toward its SLO.
#[derive(Debug, Clone, PartialEq)]
pub struct SloCount {
    pub slo: SloKey,
    pub route: String,
    pub minute: i64,
    pub tally: Tally,
    /// How long the day's count must be kept (the objective's period).
    pub period_ms: i64,
}

/// An analysis' counts, one per (SLO, route, minute).
pub fn counts(analysis: &Analysis, slos: &SloSettings) -> Vec<SloCount> {
    let mut out = Vec::new();
    for r in &analysis.routes {
        if r.minutes.is_empty() {
            continue;
        }
        let route = r.key.route.to_string();
        // Each route is counted under its own account: a Kinesis batch fans in several.
        let account = r.key.account.as_deref();
        let Some((slo, objective)) = slos.slo_for(account, &r.key.api_id, &r.key.stage, &route)
        else {
            continue;
        };
        for (minute, tally) in &r.minutes {
            out.push(SloCount {
                slo: slo.clone(),
                route: route.clone(),
                minute: *minute,
                tally: *tally,
                period_ms: objective.period_ms,
            });
        }
    }
    out
}

pub mod replay;

#[cfg(test)]
mod tests;
