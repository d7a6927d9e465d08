//! The HTML report's "Drift toward the limit": per route an inline SVG sparkline of
//! its daily censored p95 against its limit (red line) and the 80 % line (dashed),
//! drawn by hand: numbers only, no text from the logs inside the SVG.

use std::fmt::Write as _;

use serde::Serialize;

use crate::engine::daily_latency::RouteTrend;
use crate::engine::drift::CROSSING_SHARE;
use crate::render::report::drift::{name, trend_sentence};
use crate::render::report::Report;

const WIDTH: f64 = 160.0;
const HEIGHT: f64 = 36.0;

#[derive(Serialize)]
pub(super) struct DriftCtx {
    name: String,
    sentence: String,
    svg: String,
    drifting: bool,
}

/// The sparkline: x the days (one step each), y from 0 to 10 % above the limit.
pub(super) fn svg(t: &RouteTrend) -> String {
    let top = (t.limit_ms.max(1) as f64) * 1.1;
    let y = |ms: f64| HEIGHT - (ms.min(top) / top) * HEIGHT;
    let steps = t.days.len().saturating_sub(1).max(1) as f64;
    let mut points = String::new();
    for (k, p) in t.days.iter().enumerate() {
        let x = k as f64 * WIDTH / steps;
        let _ = write!(
            points,
            "{}{x:.1},{:.1}",
            if k == 0 { "" } else { " " },
            y(p.p95_ms as f64)
        );
    }
    let limit = y(t.limit_ms as f64);
    let near = y(t.limit_ms as f64 * CROSSING_SHARE);
    let stroke = if t.drift.is_some() {
        "#c81e1e"
    } else {
        "#1f77b4"
    };
    format!(
        concat!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"p95 per day\">",
            "<line x1=\"0\" y1=\"{limit:.1}\" x2=\"{w}\" y2=\"{limit:.1}\" stroke=\"#c81e1e\" stroke-width=\"1\"/>",
            "<line x1=\"0\" y1=\"{near:.1}\" x2=\"{w}\" y2=\"{near:.1}\" stroke=\"#999\" stroke-width=\"1\" stroke-dasharray=\"3,3\"/>",
            "<polyline fill=\"none\" stroke=\"{stroke}\" stroke-width=\"2\" points=\"{points}\"/></svg>"
        ),
        w = WIDTH,
        h = HEIGHT,
        limit = limit,
        near = near,
        stroke = stroke,
        points = points
    )
}

pub(super) fn ctx(r: &Report<'_>) -> Vec<DriftCtx> {
    r.drift
        .iter()
        .map(|t| DriftCtx {
            name: name(r.analysis, t),
            sentence: trend_sentence(r.analysis, t),
            svg: svg(t),
            drifting: t.drift.is_some(),
        })
        .collect()
}
