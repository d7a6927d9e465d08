//! Error-budget burn rates against an objective, as the Google SRE workbook alerts on
//! them ("Alerting on SLOs", multi-window, multi-burn-rate): page when the 1 h and 5 min
//! burn rates both exceed 14.4 (2 % of a 30-day budget in an hour) or the 6 h and 30 min
//! both exceed 6 (5 % in 6 h); ticket when the 1 day and 2 h both exceed 3 (10 % in a
//! day) or the 3 days and 6 h both exceed 1. Plain functions on per-minute counts.
//!
//! A burn rate is the bad share of requests divided by the share the objective allows
//! (1 − target): 1 spends the budget exactly over the period. Low traffic: a rule fires
//! only when its long window holds at least [`MIN_BAD`] bad requests of at least
//! [`MIN_REQUESTS`], so 1 failure of 3 requests (a 33 % rate, burn 333) pages nobody.
//! Short history: a rule fires only once the counts cover its whole long window (since
//! the first minute counted), so that a freshly deployed doctor does not read five
//! minutes as six hours; a ticket can come a day after the first count at the earliest.

pub use crate::model::tally::MINUTE_MS;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Bad requests a rule's long window needs before it may fire.
pub const MIN_BAD: u64 = 5;
/// Requests a rule's long window needs before it may fire.
pub const MIN_REQUESTS: u64 = 50;

/// What the requests are held to: `target` of them good over `period_ms`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Objective {
    /// 0.999: 99.9 % of requests neither timed out nor answered 5XX.
    pub target: f64,
    pub period_ms: i64,
}

impl Default for Objective {
    fn default() -> Self {
        Objective {
            target: 0.999,
            period_ms: 30 * DAY_MS,
        }
    }
}

impl Objective {
    /// The share of requests the budget allows to be bad.
    pub fn budget(&self) -> f64 {
        (1.0 - self.target).max(f64::MIN_POSITIVE)
    }

    /// The burn rate of `t` (`None`: no requests).
    pub fn burn_rate(&self, t: &Tally) -> Option<f64> {
        t.bad_share().map(|s| s / self.budget())
    }
}

pub use crate::model::tally::{Series, Tally};

/// The requests of the minutes in `(to − span, to]` (minute starts).
pub fn tally(series: &Series, to: i64, span_ms: i64) -> Tally {
    let mut t = Tally::default();
    for (_, m) in series.range(to - span_ms + 1..=to) {
        t.add(*m);
    }
    t
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum BudgetSeverity {
    Page,
    Ticket,
}

/// One multi-window rule.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Rule {
    pub severity: BudgetSeverity,
    pub long_ms: i64,
    pub short_ms: i64,
    /// Both windows' burn rates must exceed it.
    pub threshold: f64,
}

/// The workbook's four rules, pages first.
pub const RULES: [Rule; 4] = [
    Rule {
        severity: BudgetSeverity::Page,
        long_ms: HOUR_MS,
        short_ms: 5 * MINUTE_MS,
        threshold: 14.4,
    },
    Rule {
        severity: BudgetSeverity::Page,
        long_ms: 6 * HOUR_MS,
        short_ms: 30 * MINUTE_MS,
        threshold: 6.0,
    },
    Rule {
        severity: BudgetSeverity::Ticket,
        long_ms: DAY_MS,
        short_ms: 2 * HOUR_MS,
        threshold: 3.0,
    },
    Rule {
        severity: BudgetSeverity::Ticket,
        long_ms: 3 * DAY_MS,
        short_ms: 6 * HOUR_MS,
        threshold: 1.0,
    },
];

/// One rule, evaluated.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct RuleBurn {
    pub rule: Rule,
    pub long: Tally,
    pub short: Tally,
    pub long_rate: Option<f64>,
    pub short_rate: Option<f64>,
    /// Both rates over the threshold, with enough traffic behind the long one.
    pub fires: bool,
}

/// Where an objective stands at one minute.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Assessment {
    /// The worst firing rule's severity (`None`: nothing fires; an open notice resolves).
    pub severity: Option<BudgetSeverity>,
    pub rules: Vec<RuleBurn>,
    /// The share of the period's budget not spent yet (negative: overspent). With fewer
    /// counts than a period, the period's traffic is taken to run at the rate of the
    /// span counted.
    pub budget_left: Option<f64>,
    /// At the 1 h burn rate, when the budget left runs out (epoch ms); `None`: it does
    /// not at that rate, or nothing is left to spend.
    pub exhausted_at: Option<i64>,
}

/// Every rule at the minute starting `now` (its counts included), and the budget, from
/// `series` alone (the period's counts are the series' own).
pub fn assess(series: &Series, now: i64, o: &Objective) -> Assessment {
    let period = tally(series, now, o.period_ms);
    let first = series
        .range(now - o.period_ms + 1..=now)
        .next()
        .map(|(first, _)| *first);
    assess_with(
        series,
        Period {
            tally: period,
            first,
        },
        now,
        o,
    )
}

/// The requests of the objective's period so far: their count, and the first minute
/// they cover (`None`: the period's start).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Period {
    pub tally: Tally,
    pub first: Option<i64>,
}

/// [`assess`], with the period counted apart (the state table keeps it per day).
pub fn assess_with(series: &Series, period: Period, now: i64, o: &Objective) -> Assessment {
    let watched_ms = period.first.map_or(i64::MAX, |f| now + MINUTE_MS - f);
    let rules: Vec<RuleBurn> = RULES
        .iter()
        .map(|r| {
            let long = tally(series, now, r.long_ms);
            let short = tally(series, now, r.short_ms);
            let (long_rate, short_rate) = (o.burn_rate(&long), o.burn_rate(&short));
            let over = |x: Option<f64>| x.is_some_and(|x| x > r.threshold);
            RuleBurn {
                rule: *r,
                long,
                short,
                long_rate,
                short_rate,
                fires: over(long_rate)
                    && over(short_rate)
                    && long.bad >= MIN_BAD
                    && long.total >= MIN_REQUESTS
                    && watched_ms >= r.long_ms,
            }
        })
        .collect();
    let severity = rules
        .iter()
        .filter(|r| r.fires)
        .map(|r| r.rule.severity)
        .min();
    let covered_ms = now + MINUTE_MS - period.first.unwrap_or(now - o.period_ms + MINUTE_MS);
    let budget_left = (period.tally.total > 0).then(|| {
        let period_total =
            period.tally.total as f64 * o.period_ms as f64 / covered_ms.max(MINUTE_MS) as f64;
        1.0 - period.tally.bad as f64 / (period_total * o.budget())
    });
    let hour_rate = rules[0].long_rate.unwrap_or(0.0);
    let exhausted_at = match budget_left {
        // At burn rate b the whole budget lasts period / b.
        Some(left) if left > 0.0 && hour_rate > 0.0 => {
            Some(now + MINUTE_MS + (left * o.period_ms as f64 / hour_rate) as i64)
        }
        _ => None,
    };
    Assessment {
        severity,
        rules,
        budget_left,
        exhausted_at,
    }
}

#[cfg(test)]
mod tests;
