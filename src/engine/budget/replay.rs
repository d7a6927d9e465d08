//! The error budget over a file of logs (the CLI's report): per SLO, the requests and
//! the bad ones in the logs' span, the burn rate over it, and the notices a deployed
//! doctor would have sent, assessing every minute as its tick does. The watch starts at
//! the logs' first minute, so a rule fires only once the logs cover its long window.

use std::collections::BTreeMap;

use super::{assess, observe, BudgetNotice, SloCount, SloCounts};
use crate::engine::burn::{BudgetSeverity, Objective, Tally};
use crate::engine::incidents::Status;
use crate::engine::slo::SloKey;
use crate::model::tally::MINUTE_MS;

const DAY_MS: i64 = 24 * 60 * MINUTE_MS;
/// Minutes assessed per SLO at most (a year of logs is cut to its last 90 days).
const MAX_MINUTES: i64 = 90 * 24 * 60;

/// One notice the replay sent.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ReplayedNotice {
    /// The minute assessed (epoch ms).
    pub at: i64,
    pub status: Status,
    pub severity: BudgetSeverity,
    pub id: String,
    /// The deciding rule's long-window burn rate then.
    pub burn_rate: Option<f64>,
}

/// One SLO over the logs.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SloReplay {
    pub slo: SloKey,
    pub objective: Objective,
    pub tally: Tally,
    /// From the first minute counted to the end of the last.
    pub first_ms: i64,
    pub span_ms: i64,
    /// The burn rate over the whole span.
    pub burn_rate: Option<f64>,
    /// The share of a period's budget the span's bad requests spent (bad over what the
    /// objective allows in a period at the span's traffic).
    pub budget_spent: Option<f64>,
    pub notices: Vec<ReplayedNotice>,
    /// Still open at the end of the logs.
    pub open_at_end: Option<BudgetSeverity>,
}

/// The counts grouped per SLO, as the state table would hold them.
pub fn group(counts: &[SloCount]) -> BTreeMap<SloKey, (Objective, SloCounts)> {
    let mut out: BTreeMap<SloKey, (Objective, SloCounts)> = BTreeMap::new();
    for c in counts {
        let e = out.entry(c.slo.clone()).or_insert_with(|| {
            (
                Objective {
                    period_ms: c.period_ms,
                    ..Objective::default()
                },
                SloCounts::default(),
            )
        });
        let series = e.1.routes.entry(c.route.clone()).or_default();
        series.entry(c.minute).or_default().add(c.tally);
        e.1.days
            .entry(c.minute.div_euclid(DAY_MS) * DAY_MS)
            .or_default()
            .add(c.tally);
        e.1.first_minute = Some(e.1.first_minute.map_or(c.minute, |f| f.min(c.minute)));
    }
    out
}

/// Every SLO of `counts`, replayed; `objective_of` gives each its objective.
pub fn replay_all(
    counts: &[SloCount],
    objective_of: impl Fn(&SloKey) -> Option<Objective>,
) -> Vec<SloReplay> {
    group(counts)
        .into_iter()
        .filter_map(|(slo, (_, c))| {
            let o = objective_of(&slo)?;
            Some(replay(&slo, o, &c))
        })
        .collect()
}

/// One SLO, minute by minute from its first count to the end of its last minute.
pub fn replay(slo: &SloKey, objective: Objective, counts: &SloCounts) -> SloReplay {
    let mut tally = Tally::default();
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    for s in counts.routes.values() {
        for (m, t) in s {
            tally.add(*t);
            first = first.min(*m);
            last = last.max(*m);
        }
    }
    if tally.total == 0 {
        return SloReplay {
            slo: slo.clone(),
            objective,
            tally,
            first_ms: 0,
            span_ms: 0,
            burn_rate: None,
            budget_spent: None,
            notices: Vec::new(),
            open_at_end: None,
        };
    }
    let span_ms = last + MINUTE_MS - first;
    let mut open: Option<BudgetNotice> = None;
    let mut notices = Vec::new();
    // Each minute once its counts are in; one more, after the last, for a resolve.
    let mut m = first.max(last - MAX_MINUTES * MINUTE_MS);
    while m <= last + MINUTE_MS {
        let f = assess(slo, objective, counts, m);
        if let Some(step) = observe(open.as_ref(), slo, objective, &f.assessment, m) {
            let deciding = f
                .assessment
                .rules
                .iter()
                .find(|r| r.fires)
                .unwrap_or(&f.assessment.rules[0]);
            notices.push(ReplayedNotice {
                at: m,
                status: step.status,
                severity: step.notice.severity,
                id: step.notice.id.clone(),
                burn_rate: deciding.long_rate,
            });
            open = step.next;
        }
        m += MINUTE_MS;
    }
    let spent = tally.bad as f64
        / (tally.total as f64 * objective.period_ms as f64 / span_ms as f64 * objective.budget());
    SloReplay {
        slo: slo.clone(),
        objective,
        tally,
        first_ms: first,
        span_ms,
        burn_rate: objective.burn_rate(&tally),
        budget_spent: Some(spent),
        notices,
        open_at_end: open.map(|n| n.severity),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_796_000_000_000 / MINUTE_MS * MINUTE_MS;

    #[test]
    fn a_burst_in_a_file_of_logs_is_a_page_and_its_resolve() {
        let slo = SloKey {
            account: None,
            api_id: "a".into(),
            stage: "prod".into(),
            route: None,
        };
        // Two hours at 100 a minute, minutes 70..80 with 20 bad.
        let counts: Vec<SloCount> = (0..120)
            .map(|m| SloCount {
                slo: slo.clone(),
                route: "GET /".into(),
                minute: T0 + m * MINUTE_MS,
                tally: Tally {
                    total: 100,
                    bad: if (70..80).contains(&m) { 20 } else { 0 },
                },
                period_ms: Objective::default().period_ms,
            })
            .collect();
        let r = replay_all(&counts, |_| Some(Objective::default()));
        assert_eq!(r.len(), 1);
        let r = &r[0];
        assert_eq!(
            r.tally,
            Tally {
                total: 12_000,
                bad: 200
            }
        );
        assert_eq!(r.span_ms, 120 * MINUTE_MS);
        // 200 bad of 12,000 is 1.67 %: burn 16.7; at that traffic a 30-day period holds
        // 12,000 × 360 requests, whose budget (0.1 %) is 4,320: 200 spend 4.63 % of it.
        assert!((r.burn_rate.unwrap() - 200.0 / 12.0).abs() < 1e-9);
        assert!((r.budget_spent.unwrap() - 200.0 / 4320.0).abs() < 1e-12);
        let kinds: Vec<(Status, BudgetSeverity, i64)> = r
            .notices
            .iter()
            .map(|n| (n.status, n.severity, (n.at - T0) / MINUTE_MS))
            .collect();
        // The 1 h window (minutes 15..74 at minute 74) holds 100 bad of 6,000: 16.7.
        // Resolved when the 5-minute window has passed minute 79: minute 84.
        assert_eq!(
            kinds,
            [
                (Status::Firing, BudgetSeverity::Page, 74),
                (Status::Resolved, BudgetSeverity::Page, 84)
            ]
        );
        assert_eq!(r.open_at_end, None);
    }
}
