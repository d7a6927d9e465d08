//! The report as one self-contained HTML file (`--format html`): no network access
//! to open it (inline CSS, SVG and script; a CSP that forbids loading anything).
//! Charts are drawn by plotters' SVG backend, the page by a minijinja template with
//! HTML autoescaping (log content is untrusted; plotters escapes its own labels).

use plotters::prelude::*;
use serde::Serialize;

use crate::engine::timeline::{self, Timeline};
use crate::render::display::{thousands, time};
use crate::render::report::{
    bucket_name, elapsed_text, group_facts, invoked_text, route_p95, short_time, Report,
};
use crate::render::words;
use crate::render::words::diagnosis::Words;

mod drift;

const TEMPLATE: &str = include_str!("../../templates/report.html");
/// Routes drawn in the charts (the table has them all).
const CHARTED: usize = 6;
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(23, 190, 207),
];
const TIMEOUT_RED: RGBColor = RGBColor(200, 30, 30);
/// Configuration changes on the timeline.
const CHANGE_BLUE: RGBColor = RGBColor(30, 90, 200);

#[derive(Serialize)]
struct RouteCtx {
    name: String,
    requests: u64,
    requests_text: String,
    timeout_pct: f64,
    timeout_pct_text: String,
    error_pct: f64,
    error_pct_text: String,
    near: u64,
    near_text: String,
    p50: i64,
    p50_text: String,
    p95: i64,
    p95_text: String,
    limit: u64,
    limit_text: String,
    first: i64,
    first_text: String,
    last: i64,
    last_text: String,
}

#[derive(Serialize)]
struct ExemplarCtx {
    kind: &'static str,
    id: String,
    at: Option<String>,
    headline: String,
    facts: Vec<String>,
    console: Option<String>,
    query: Option<String>,
}

#[derive(Serialize)]
struct IncidentCtx {
    title: String,
    facts: String,
    exemplars: Vec<ExemplarCtx>,
    remedies: Vec<String>,
}

#[derive(Serialize)]
struct ChangesCtx {
    title: String,
    lines: Vec<crate::render::report::changes::Line>,
}

#[derive(Serialize)]
struct Ctx {
    title: String,
    warnings: Vec<String>,
    summary: Vec<(&'static str, String)>,
    bucket: String,
    timeline_svg: Option<String>,
    latency_svgs: Vec<String>,
    incidents: Vec<IncidentCtx>,
    /// "What changed": its title, a note for the whole report, or each incident's lines.
    changes_title: String,
    changes_note: Option<String>,
    changes: Vec<ChangesCtx>,
    /// What each lettered dashed line on the timeline is.
    change_marks: Vec<String>,
    nothing_found: String,
    routes: Vec<RouteCtx>,
    /// Drift toward the limit: routes with enough busy days, each with its sparkline.
    drift: Vec<drift::DriftCtx>,
    /// The error budget per SLO: what the logs spent, what would have been sent.
    budget: Vec<BudgetCtx>,
}

#[derive(Serialize)]
struct BudgetCtx {
    spent: String,
    sent: String,
}

fn budget_ctx(r: &Report<'_>) -> Vec<BudgetCtx> {
    crate::render::report::budget::lines(&r.budgets)
        .into_iter()
        .map(|(spent, sent)| BudgetCtx { spent, sent })
        .collect()
}

pub fn render(r: &Report<'_>) -> Result<String, String> {
    let a = r.analysis;
    let charted: Vec<usize> = r
        .routes
        .iter()
        .take(CHARTED)
        .filter_map(|row| a.routes.iter().position(|s| std::ptr::eq(s, row.stats)))
        .collect();
    let title = match r.window() {
        Some((lo, hi)) => format!("{} → {}", time(lo), time(hi)),
        None => "(no timestamps)".to_owned(),
    };
    let ctx = Ctx {
        title,
        warnings: r.options.warnings.clone(),
        summary: r.summary_rows(),
        bucket: bucket_name(r.timeline.bucket_ms),
        timeline_svg: (!r.timeline.buckets.is_empty())
            .then(|| timeline_chart(r, &charted))
            .transpose()?,
        latency_svgs: charted
            .iter()
            .map(|&i| latency_chart(r, i))
            .collect::<Result<_, _>>()?,
        incidents: r
            .shown_groups()
            .iter()
            .map(|g| IncidentCtx {
                title: g.title(),
                facts: group_facts(g),
                exemplars: g
                    .findings
                    .iter()
                    .take(r.options.exemplars)
                    .map(|f| {
                        let mut facts = Vec::new();
                        if let Some(b) = &f.backend {
                            facts.push(format!("Backend: {b}."));
                        }
                        if f.kind == crate::model::kind::Kind::Timeout {
                            facts.push(format!("Invoked: {}.", invoked_text(f)));
                        }
                        if let Some(e) = f.elapsed_ms {
                            facts.push(format!("Elapsed: {}.", elapsed_text(f, e)));
                        }
                        let words = Words::of(f);
                        facts.extend(words.shows);
                        facts.extend(words.cannot_show.iter().map(|c| format!("Not shown: {c}")));
                        ExemplarCtx {
                            kind: f.kind.as_str(),
                            id: f
                                .request_id
                                .clone()
                                .unwrap_or_else(|| "(no request id)".into()),
                            at: f.timestamp.map(time),
                            headline: words.headline,
                            facts,
                            console: f
                                .diagnosis
                                .console_url
                                .clone()
                                .filter(|u| u.starts_with("https://")),
                            query: f.diagnosis.insights_query.clone(),
                        }
                    })
                    .collect(),
                remedies: g.remedies(),
            })
            .collect(),
        changes_title: words::change::section_title(&r.options.changes),
        changes_note: words::change::source_note(&r.options.changes),
        changes: changes_ctx(r),
        change_marks: change_marks(r).into_iter().map(|m| m.2).collect(),
        nothing_found: r.nothing_found(),
        drift: drift::ctx(r),
        budget: budget_ctx(r),
        routes: r
            .routes
            .iter()
            .map(|row| {
                let s = row.stats;
                let num = |v: Option<u64>| v.map_or(-1, |v| v as i64);
                RouteCtx {
                    name: row.name(),
                    requests: s.requests,
                    requests_text: thousands(s.requests),
                    timeout_pct: row.timeout_pct().unwrap_or(0.0),
                    timeout_pct_text: row.timeout_share(),
                    error_pct: row.error_pct().unwrap_or(0.0),
                    error_pct_text: row.error_share(),
                    near: s.near_limit,
                    near_text: thousands(s.near_limit),
                    p50: num(s.p50_ms),
                    p50_text: s.p50_ms.map_or_else(|| "-".to_owned(), thousands),
                    p95: num(timeline::censored_percentile(
                        &s.latencies,
                        s.timeouts,
                        s.limit_ms,
                        95,
                    )
                    .map(|v| v.0)),
                    p95_text: route_p95(row.stats),
                    limit: s.limit_ms,
                    limit_text: thousands(s.limit_ms),
                    first: row.first_seen.unwrap_or(-1),
                    first_text: row.first_seen.map_or_else(|| "-".to_owned(), short_time),
                    last: row.last_seen.unwrap_or(-1),
                    last_text: row.last_seen.map_or_else(|| "-".to_owned(), short_time),
                }
            })
            .collect(),
    };
    let mut env = minijinja::Environment::new();
    env.add_template("report.html", TEMPLATE)
        .map_err(|e| format!("HTML template: {e}"))?;
    env.get_template("report.html")
        .and_then(|t| t.render(&ctx))
        .map_err(|e| format!("HTML template: {e}"))
}

/// Each shown incident's "What changed" lines.
fn changes_ctx(r: &Report<'_>) -> Vec<ChangesCtx> {
    r.shown_groups()
        .iter()
        .map(|g| ChangesCtx {
            title: g.title(),
            lines: crate::render::report::changes::lines(g, 3)
                .into_iter()
                .map(|mut l| {
                    l.url = l.url.filter(|u| u.starts_with("https://"));
                    l
                })
                .collect(),
        })
        .collect()
}

/// The shown incidents' top related changes, once each, in time order, lettered:
/// (time, letter, caption). The chart shows the letter (names would overlap), the
/// caption under it names each.
fn change_marks(r: &Report<'_>) -> Vec<(i64, String, String)> {
    let mut seen = std::collections::HashSet::new();
    let mut changes: Vec<&crate::model::change::Change> = r
        .shown_groups()
        .iter()
        .flat_map(|g| g.changes.related().iter().take(3))
        .map(|c| &c.change)
        .filter(|c| seen.insert(c.event_id.as_str()))
        .collect();
    changes.sort_by_key(|c| c.event_time);
    changes
        .into_iter()
        .zip(b'A'..=b'Z')
        .map(|(c, letter)| {
            let letter = char::from(letter).to_string();
            let caption = format!(
                "{letter}: {} on {} at {}",
                words::change::event_label(c),
                words::change::resource(c),
                time(c.event_time)
            );
            (c.event_time, letter, caption)
        })
        .collect()
}

fn chart_err<E: std::fmt::Debug>(e: E) -> String {
    format!("chart: {e:?}")
}

fn clock(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map_or_else(String::new, |t| t.format("%H:%M").to_string())
}

/// Requests (solid) and timeouts (red markers, right scale) per bucket for the worst routes.
fn timeline_chart(r: &Report<'_>, routes: &[usize]) -> Result<String, String> {
    let t: &Timeline = &r.timeline;
    let lines: Vec<(String, Timeline)> = routes
        .iter()
        .map(|&i| {
            let k = &r.analysis.routes[i].key;
            (
                format!("{}/{} {}", k.api_id, k.stage, k.route),
                timeline::on_grid(r.analysis, i, t),
            )
        })
        .collect();
    let marks = change_marks(r);
    // The chart starts early enough to show the changes before the first request.
    let x0 = t.buckets.first().map_or(0, |b| b.start_ms);
    let x0 = marks.iter().map(|m| m.0 - t.bucket_ms).fold(x0, i64::min);
    let x1 = t.buckets.last().map_or(0, |b| b.start_ms) + t.bucket_ms;
    let ymax = lines
        .iter()
        .flat_map(|(_, l)| l.buckets.iter().map(|b| b.requests.max(b.timeouts)))
        .max()
        .unwrap_or(0)
        .max(1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, 380)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(56)
            .build_cartesian_2d(x0..x1, 0u64..(ymax + ymax / 10 + 1))
            .map_err(chart_err)?;
        chart
            .configure_mesh()
            .x_labels(10)
            .x_label_formatter(&|x| clock(*x))
            .y_desc(format!("per {}", bucket_name(t.bucket_ms)))
            .draw()
            .map_err(chart_err)?;
        for (n, (name, l)) in lines.iter().enumerate() {
            let color = PALETTE[n % PALETTE.len()];
            let pts: Vec<(i64, u64)> = l.buckets.iter().map(|b| (b.start_ms, b.requests)).collect();
            chart
                .draw_series(LineSeries::new(pts, color.stroke_width(2)))
                .map_err(chart_err)?
                .label(format!("{name}: requests"))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
            let tpts: Vec<(i64, u64)> = l
                .buckets
                .iter()
                .filter(|b| b.timeouts > 0)
                .map(|b| (b.start_ms, b.timeouts))
                .collect();
            if !tpts.is_empty() {
                chart
                    .draw_series(
                        tpts.iter()
                            .map(|&p| Cross::new(p, 5, TIMEOUT_RED.stroke_width(2))),
                    )
                    .map_err(chart_err)?;
                chart
                    .draw_series(LineSeries::new(tpts, color.stroke_width(1)))
                    .map_err(chart_err)?
                    .label(format!("{name}: timeouts (✕)"))
                    .legend(move |(x, y)| Cross::new((x + 9, y), 5, TIMEOUT_RED.stroke_width(2)));
            }
        }
        let top = ymax + ymax / 10;
        for (k, (at, label, _)) in marks.iter().enumerate() {
            chart
                .draw_series(std::iter::once(Text::new(
                    label.clone(),
                    (*at, top),
                    ("sans-serif", 13).into_font().color(&CHANGE_BLUE),
                )))
                .map_err(chart_err)?;
            let series = chart
                .draw_series(DashedLineSeries::new(
                    vec![(*at, 0), (*at, top)],
                    6,
                    4,
                    CHANGE_BLUE.stroke_width(2),
                ))
                .map_err(chart_err)?;
            if k == 0 {
                series
                    .label("configuration changes (dashed)")
                    .legend(|(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], CHANGE_BLUE.stroke_width(2))
                    });
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(chart_err)?;
        root.present().map_err(chart_err)?;
    }
    Ok(svg)
}

/// The cumulative distribution of a route's integration latency, its timeouts at the limit.
fn latency_chart(r: &Report<'_>, i: usize) -> Result<String, String> {
    let s = &r.analysis.routes[i];
    let mut values: Vec<u64> = s.latencies.clone();
    values.extend(std::iter::repeat_n(s.limit_ms, s.timeouts as usize));
    values.sort_unstable();
    let n = values.len().max(1) as f64;
    let xmax = values.last().copied().unwrap_or(0).max(s.limit_ms) as f64 * 1.05;
    let accounts = r.analysis.counters.accounts.len() > 1;
    let name = format!("{} {}", s.key.api_stage(accounts), s.key.route);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (520, 300)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(&name, ("sans-serif", 14))
            .margin(10)
            .x_label_area_size(32)
            .y_label_area_size(44)
            .build_cartesian_2d(0f64..xmax, 0f64..1.0)
            .map_err(chart_err)?;
        chart
            .configure_mesh()
            .x_desc("integration latency, ms")
            .y_desc("share of requests")
            .x_label_formatter(&|x| thousands(*x as u64))
            .y_label_formatter(&|y| format!("{:.0}%", y * 100.0))
            .draw()
            .map_err(chart_err)?;
        let mut pts = vec![(0.0, 0.0)];
        for (k, v) in values.iter().enumerate() {
            let x = *v as f64;
            pts.push((x, k as f64 / n));
            pts.push((x, (k + 1) as f64 / n));
        }
        chart
            .draw_series(LineSeries::new(pts, PALETTE[0].stroke_width(2)))
            .map_err(chart_err)?
            .label(format!(
                "{} requests, p95 {} ms",
                thousands(s.requests),
                route_p95(s)
            ))
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], PALETTE[0].stroke_width(2))
            });
        let limit = s.limit_ms as f64;
        chart
            .draw_series(LineSeries::new(
                vec![(limit, 0.0), (limit, 1.0)],
                TIMEOUT_RED.stroke_width(2),
            ))
            .map_err(chart_err)?
            .label(format!(
                "limit {} ms; {} timeouts drawn here",
                thousands(s.limit_ms),
                thousands(s.timeouts)
            ))
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], TIMEOUT_RED.stroke_width(2))
            });
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(chart_err)?;
        root.present().map_err(chart_err)?;
    }
    Ok(svg)
}
