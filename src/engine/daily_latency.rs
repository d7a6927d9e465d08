//! Drift from the shared daily latencies: each route's days (merged across writers) →
//! daily points → [`crate::engine::drift::drift`]. The histogram itself is
//! [`crate::model::daily_latency`].

use std::collections::BTreeMap;

use crate::engine::drift::{self, DayPoint, Drift};
use crate::model::daily_latency::{DailyLatency, DayLatency};

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

#[cfg(test)]
mod tests;
