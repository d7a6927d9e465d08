//! Drift from the shared daily latencies: each route's days (merged across writers) →
//! daily points → [`crate::engine::drift::drift`]. The histogram itself is
//! [`crate::model::daily_latency`].

use std::collections::BTreeMap;

use crate::engine::drift::{self, DayPoint, Drift, MAX_DAYS, MIN_DAYS, MIN_REQUESTS_PER_DAY};
use crate::model::daily_latency::{DailyLatency, DayLatency};
use crate::model::stats::RouteStats;

/// The day as [`drift::drift`] reads it: its censored p95 and its observations.
pub fn point(d: &DayLatency) -> Option<DayPoint> {
    Some(DayPoint {
        day: d.day,
        p95_ms: d.percentile(95)?,
        requests: d.observed(),
    })
}

/// Each day's point, oldest first.
pub fn points(daily: &DailyLatency) -> Vec<DayPoint> {
    daily.days.iter().filter_map(point).collect()
}

/// One route's day in the shared store: what the monitor adds and the digest reads.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RouteDay {
    /// The account whose logs these are (`-`: not in the logs).
    pub account: String,
    pub api_id: String,
    pub stage: String,
    pub route: String,
    pub latency: DayLatency,
}

impl RouteDay {
    /// What tells routes apart across the days.
    pub fn scope(&self) -> (&str, &str, &str, &str) {
        (&self.account, &self.api_id, &self.stage, &self.route)
    }
}

/// A route drifting toward its limit, for the digest and the report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RouteDrift {
    pub account: String,
    pub api_id: String,
    pub stage: String,
    pub route: String,
    pub limit_ms: u64,
    #[serde(flatten)]
    pub drift: Drift,
}

/// Every route of `rows` (any order, any days) that drifts toward its limit, in route
/// order; the days of one route are merged first (two writers of one day add up).
pub fn drifting(rows: &[RouteDay]) -> Vec<RouteDrift> {
    let mut by_route: BTreeMap<(&str, &str, &str, &str), DailyLatency> = BTreeMap::new();
    for r in rows {
        let days = &mut by_route.entry(r.scope()).or_default().days;
        match days.binary_search_by_key(&r.latency.day, |d| d.day) {
            Ok(i) => days[i].merge(&r.latency),
            Err(i) => days.insert(i, r.latency.clone()),
        }
    }
    by_route
        .into_iter()
        .filter_map(|((account, api_id, stage, route), daily)| {
            let limit_ms = daily.limit_ms();
            let drift = drift::drift(&points(&daily), limit_ms)?;
            Some(RouteDrift {
                account: account.to_owned(),
                api_id: api_id.to_owned(),
                stage: stage.to_owned(),
                route: route.to_owned(),
                limit_ms,
                drift,
            })
        })
        .collect()
}

/// One route's busy days in an analysis and their trend (the CLI's report), drifting
/// or not.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RouteTrend {
    /// Index into the analysis' routes.
    #[serde(skip)]
    pub route: usize,
    pub limit_ms: u64,
    /// The last [`MAX_DAYS`] days with at least [`MIN_REQUESTS_PER_DAY`] requests, oldest first.
    pub days: Vec<DayPoint>,
    /// Theil–Sen slope (ms a day) and Kendall's tau through them.
    pub slope_ms_per_day: f64,
    pub tau: f64,
    /// The drift rules' verdict: `None` when flat, noisy, immaterial or already at the line.
    pub drift: Option<Drift>,
}

/// The trend of every route with at least [`MIN_DAYS`] busy days, when the logs span
/// at least that many UTC days (else none): drifting routes first, soonest crossing
/// first, then the others in route order.
pub fn trends(routes: &[RouteStats]) -> Vec<RouteTrend> {
    let days = routes
        .iter()
        .flat_map(|r| r.daily.days.iter().map(|d| d.day));
    let (Some(lo), Some(hi)) = (days.clone().min(), days.max()) else {
        return Vec::new();
    };
    if hi - lo + 1 < MIN_DAYS as i64 {
        return Vec::new();
    }
    let mut out: Vec<RouteTrend> = routes
        .iter()
        .enumerate()
        .filter_map(|(route, r)| {
            let mut busy: Vec<DayPoint> = points(&r.daily)
                .into_iter()
                .filter(|p| p.requests >= MIN_REQUESTS_PER_DAY)
                .collect();
            busy.drain(..busy.len().saturating_sub(MAX_DAYS));
            if busy.len() < MIN_DAYS {
                return None;
            }
            let xy: Vec<(f64, f64)> = busy
                .iter()
                .map(|p| (p.day as f64, p.p95_ms as f64))
                .collect();
            let (slope_ms_per_day, _) = drift::theil_sen(&xy)?;
            let limit_ms = r.daily.limit_ms();
            Some(RouteTrend {
                route,
                limit_ms,
                slope_ms_per_day,
                tau: drift::kendall_tau(&xy),
                drift: drift::drift(&busy, limit_ms),
                days: busy,
            })
        })
        .collect();
    out.sort_by_key(|t| {
        (
            t.drift.as_ref().map_or(i64::MAX, |d| d.crosses_on_day),
            t.route,
        )
    });
    out
}

#[cfg(test)]
mod tests;
