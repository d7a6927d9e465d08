//! "Drift toward the limit" in the CLI's report, when the logs span at least 7 UTC
//! days: per route with enough busy days, the censored p95 of each day (from the daily
//! histograms: at most one bucket, 1/64 of the value, above the exact p95), the
//! Theil–Sen slope, and the day it reaches 80 % of its limit when it drifts.

use std::fmt::Write as _;

use crate::engine::analysis::Analysis;
use crate::engine::daily_latency::{RouteDrift, RouteTrend};
use crate::render::drift::{date, sentence, sparkline};

/// One day as the JSON report gives it.
#[derive(Debug, serde::Serialize)]
pub struct DayJson {
    pub day: String,
    pub p95_ms: u64,
    pub requests: u64,
}

/// One route's trend in the JSON report's `drift` list.
#[derive(Debug, serde::Serialize)]
pub struct DriftJson<'a> {
    pub api_id: &'a str,
    pub stage: &'a str,
    pub route: &'a str,
    pub limit_ms: u64,
    pub slope_ms_per_day: f64,
    pub tau: f64,
    pub drifting: bool,
    /// The day the trend reaches 80 % of the limit (drifting routes only).
    pub crosses_on: Option<String>,
    pub sparkline: String,
    pub days: Vec<DayJson>,
}

pub fn json<'a>(a: &'a Analysis, trends: &[RouteTrend]) -> Vec<DriftJson<'a>> {
    trends
        .iter()
        .filter_map(|t| {
            let r = a.routes.get(t.route)?;
            Some(DriftJson {
                api_id: &r.key.api_id,
                stage: &r.key.stage,
                route: r.key.route.as_str(),
                limit_ms: t.limit_ms,
                slope_ms_per_day: t.slope_ms_per_day.round(),
                tau: (t.tau * 1000.0).round() / 1000.0,
                drifting: t.drift.is_some(),
                crosses_on: t.drift.as_ref().map(|d| date(d.crosses_on_day)),
                sparkline: spark(t),
                days: t
                    .days
                    .iter()
                    .map(|p| DayJson {
                        day: date(p.day),
                        p95_ms: p.p95_ms,
                        requests: p.requests,
                    })
                    .collect(),
            })
        })
        .collect()
}

pub fn spark(t: &RouteTrend) -> String {
    let v: Vec<u64> = t.days.iter().map(|p| p.p95_ms).collect();
    sparkline(&v, t.limit_ms)
}

/// The route's finding in one sentence, measured from its last day.
pub fn trend_sentence(a: &Analysis, t: &RouteTrend) -> String {
    let last = t.days.last().map_or(0, |p| p.day);
    match (&t.drift, a.routes.get(t.route)) {
        (Some(d), Some(r)) => sentence(
            &RouteDrift {
                account: String::new(),
                api_id: r.key.api_id.clone(),
                stage: r.key.stage.clone(),
                route: r.key.route.as_str().to_owned(),
                limit_ms: t.limit_ms,
                drift: d.clone(),
            },
            last,
        ),
        _ => {
            let (first, end) = (t.days.first(), t.days.last());
            let secs = |p: Option<&crate::engine::drift::DayPoint>| {
                format!("{:.1} s", p.map_or(0, |p| p.p95_ms) as f64 / 1000.0)
            };
            format!(
                "p95 {} → {} over {} days, {:+.1} s a day (Kendall tau {:.2}): no drift toward the limit.",
                secs(first),
                secs(end),
                t.days.len(),
                t.slope_ms_per_day / 1000.0,
                t.tau
            )
        }
    }
}

/// The route's name as the report writes it.
pub fn name(a: &Analysis, t: &RouteTrend) -> String {
    a.routes.get(t.route).map_or_else(String::new, |r| {
        format!(
            "{} · {}/{}",
            r.key.route.as_str(),
            r.key.api_id,
            r.key.stage
        )
    })
}

/// The text report's section (nothing when no route has enough busy days).
pub fn text(out: &mut String, a: &Analysis, trends: &[RouteTrend]) {
    if trends.is_empty() {
        return;
    }
    super::heading(out, "DRIFT TOWARD THE LIMIT (censored p95 per UTC day)");
    for t in trends {
        let mark = if t.drift.is_some() { "!!" } else { "  " };
        let _ = writeln!(out, "{mark} {}  {}", name(a, t), spark(t));
        let _ = writeln!(out, "   {}", super::wrap(&trend_sentence(a, t), 3));
        let days: Vec<String> = t
            .days
            .iter()
            .map(|p| {
                format!(
                    "{} {}",
                    date(p.day),
                    crate::render::display::thousands(p.p95_ms)
                )
            })
            .collect();
        let days = format!("p95 ms per day: {}", days.join(", "));
        let _ = writeln!(out, "   {}", super::wrap(&days, 3));
    }
    out.push('\n');
}
