//! Drift toward the limit in words: the daily digest the schedule sends (subject,
//! e-mail text, AWS Chatbot custom notification, automation JSON
//! `apigw-doctor/drift/1`) and the pieces the CLI's report shares (the sparkline, a
//! route's sentence, day dates). The engine gives the facts ([`RouteDrift`]).
//!
//! Route text comes from logs: plain text (no control characters) for e-mail and the
//! subject, Slack mrkdwn escaping ([`alert::slack`], [`alert::code`]) for Chatbot.
//! A digest never pages: its `pages` is `None`.

use std::fmt::Write as _;

use crate::engine::daily_latency::RouteDrift;
use crate::engine::drift::DayPoint;
use crate::render::alert::{self, plain, slack, stable_id, subject_line, AlertContext, Rendered};
use crate::render::display::{ms, seconds};

/// The automation JSON's schema name.
pub const SCHEMA: &str = "apigw-doctor/drift/1";
/// Routes named one by one in the e-mail and Chatbot text (the automation JSON has up
/// to [`MAX_ROUTES_JSON`]): the digest stays far under SNS's 256 KB and Chatbot's 8,000
/// characters (the automation JSON goes twice into the SNS message).
const MAX_ROUTES_TEXT: usize = 20;
const MAX_ROUTES_JSON: usize = 50;
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// `2026-11-25` for a day since the epoch.
pub fn date(day: i64) -> String {
    chrono::DateTime::from_timestamp(day.saturating_mul(86_400), 0).map_or_else(
        || format!("day {day}"),
        |t| t.format("%Y-%m-%d").to_string(),
    )
}

/// One bar per value, on a scale from 0 to `top` (the limit: a full bar is at it).
pub fn sparkline(values: &[u64], top: u64) -> String {
    values
        .iter()
        .map(|&v| {
            let k = (v.min(top) as u128 * 8 / u128::from(top.max(1))) as usize;
            BARS[k.min(7)]
        })
        .collect()
}

/// The route's days as a sparkline against its limit.
pub fn route_sparkline(d: &RouteDrift) -> String {
    let v: Vec<u64> = d.drift.days.iter().map(|p| p.p95_ms).collect();
    sparkline(&v, d.limit_ms)
}

/// `+1.6 s a day`.
fn slope(ms_per_day: f64) -> String {
    format!("+{:.1} s a day", ms_per_day / 1000.0)
}

/// The route's finding in one sentence (route text as given: the caller escapes it).
pub fn sentence(d: &RouteDrift, today: i64) -> String {
    let days = &d.drift.days;
    let (first, last) = (days.first(), days.last());
    let span = match (first, last) {
        (Some(a), Some(b)) => format!(
            "p95 {} → {} from {} to {} ({} days)",
            seconds_of(a),
            seconds_of(b),
            date(a.day),
            date(b.day),
            days.len()
        ),
        _ => "p95".to_owned(),
    };
    let ahead = d.drift.crosses_on_day - today;
    let when = match ahead {
        i64::MIN..=0 => "today".to_owned(),
        1 => "in 1 day".to_owned(),
        n => format!("in {n} days"),
    };
    format!(
        "{span}, {} (Kendall tau {:.2}): at this rate it reaches {} (80% of the {} limit) on {} ({when}).",
        slope(d.drift.slope_ms_per_day),
        d.drift.tau,
        seconds((d.drift.crossing_ms.max(0.0)) as u64 / 100 * 100),
        seconds(d.limit_ms),
        date(d.drift.crosses_on_day),
    )
}

fn seconds_of(p: &DayPoint) -> String {
    format!("{:.1} s", p.p95_ms as f64 / 1000.0)
}

/// `GET /reports/{id} · a1b2c3d4e5/prod`.
fn place(d: &RouteDrift, ctx: &AlertContext) -> String {
    let known = Some(d.account.as_str()).filter(|a| !matches!(*a, "-" | ""));
    let api = ctx
        .api_name(known, &d.api_id)
        .map_or_else(|| d.api_id.clone(), |n| format!("{n} ({})", d.api_id));
    let account = match known {
        None => String::new(),
        Some(a) => format!(", account {}", ctx.account_label(a)),
    };
    format!("{} · {api}/{}{account}", d.route, d.stage)
}

/// The days, `2026-11-20 8,012 ms (5,000 requests)` each.
fn day_lines(d: &RouteDrift) -> Vec<String> {
    d.drift
        .days
        .iter()
        .map(|p| {
            format!(
                "{} {} ({} requests)",
                date(p.day),
                ms(p.p95_ms),
                crate::render::display::thousands(p.requests)
            )
        })
        .collect()
}

fn title(drifts: &[RouteDrift]) -> String {
    let first = drifts.first().map(|d| d.route.as_str()).unwrap_or_default();
    let more = match drifts.len() {
        0 | 1 => String::new(),
        n => format!(" +{} route{}", n - 1, if n == 2 { "" } else { "s" }),
    };
    let soonest = drifts.iter().map(|d| d.drift.crosses_on_day).min();
    let when = soonest.map(|d| format!(", 80% of the limit by {}", date(d)));
    format!(
        "[DRIFT] latency rising toward the limit: {first}{more}{}",
        when.unwrap_or_default()
    )
}

fn email(drifts: &[RouteDrift], today: i64, ctx: &AlertContext, id: &str) -> String {
    let mut out = format!(
        "{} route{} drifting toward the integration timeout (daily digest, {}).\nThe censored p95 of the integration latency per UTC day (timeouts counted at the limit), a Theil–Sen trend through the days, and the day it reaches 80% of the route's limit.\n",
        drifts.len(),
        if drifts.len() == 1 { " is" } else { "s are" },
        date(today)
    );
    for d in drifts.iter().take(MAX_ROUTES_TEXT) {
        let _ = write!(
            out,
            "\n{}\n  {}\n  {}  {}\n",
            place(d, ctx),
            sentence(d, today),
            route_sparkline(d),
            day_lines(d).join(", ")
        );
    }
    if drifts.len() > MAX_ROUTES_TEXT {
        let _ = writeln!(
            out,
            "\nand {} more (see the automation JSON or run `apigw-doctor analyze`).",
            drifts.len() - MAX_ROUTES_TEXT
        );
    }
    let _ = write!(
        out,
        "\nNothing has failed yet: this is a forecast, not an incident. Look at what grew (payloads, data, a dependency) before the route times out.\nDigest {id}.\n"
    );
    plain(&out)
}

fn chatbot(
    drifts: &[RouteDrift],
    today: i64,
    ctx: &AlertContext,
    subject: &str,
    id: &str,
) -> serde_json::Value {
    let mut md = String::new();
    for d in drifts.iter().take(MAX_ROUTES_TEXT) {
        let api = format!("{}/{}", d.api_id, d.stage);
        let _ = write!(
            md,
            "{}• {} {}: {}\n`{}`",
            if md.is_empty() { "" } else { "\n" },
            alert::code(&d.route),
            alert::code(&api),
            slack(&sentence(d, today)),
            route_sparkline(d)
        );
    }
    if drifts.len() > MAX_ROUTES_TEXT {
        let _ = write!(md, "\n… and {} more", drifts.len() - MAX_ROUTES_TEXT);
    }
    let mut context = serde_json::Map::new();
    if let Some(a) = &ctx.account {
        context.insert("account".into(), a.clone().into());
    }
    serde_json::json!({
        "version": "1.0", "source": "custom", "id": id,
        "content": {"textType": "client-markdown", "title": format!(":chart_with_upwards_trend: {}", slack(subject)),
                    "description": md, "keywords": ["drift"]},
        "metadata": {"threadId": "apigw-doctor/drift", "summary": slack(subject), "eventType": "drift",
                     "additionalContext": context},
    })
}

fn automation(drifts: &[RouteDrift], today: i64, id: &str) -> serde_json::Value {
    let routes: Vec<serde_json::Value> = drifts
        .iter()
        .take(MAX_ROUTES_JSON)
        .map(|d| {
            serde_json::json!({
                "account": d.account, "api_id": d.api_id, "stage": d.stage, "route": plain(&d.route),
                "limit_ms": d.limit_ms, "slope_ms_per_day": d.drift.slope_ms_per_day.round(),
                "tau": (d.drift.tau * 1000.0).round() / 1000.0,
                "fitted_today_ms": d.drift.fitted_today_ms.round(), "crossing_ms": d.drift.crossing_ms,
                "crosses_on": date(d.drift.crosses_on_day),
                "days": d.drift.days.iter().map(|p| serde_json::json!({"day": date(p.day), "p95_ms": p.p95_ms, "requests": p.requests})).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({"schema": SCHEMA, "digest_id": id, "day": date(today),
        "routes_drifting": drifts.len(), "routes": routes})
}

/// The daily digest of the routes drifting toward their limit, for `today` (days since
/// the epoch); one notification, never a page.
pub fn digest(drifts: &[RouteDrift], today: i64, ctx: &AlertContext) -> Rendered {
    let day = date(today);
    let mut parts: Vec<&str> = vec!["drift", &day];
    for d in drifts {
        parts.extend([d.account.as_str(), &d.api_id, &d.stage, &d.route]);
    }
    let id = stable_id(&parts);
    let subject = subject_line(&title(drifts));
    let email = email(drifts, today, ctx, &id);
    let chatbot = chatbot(drifts, today, ctx, &subject, &id).to_string();
    let automation = automation(drifts, today, &id).to_string();
    let message = alert::message(&chatbot, &email, &automation);
    Rendered {
        id,
        subject,
        email,
        chatbot,
        automation,
        message,
        pages: None,
    }
}

#[cfg(test)]
mod tests;
