//! A budget notice in words: the e-mail, the AWS Chatbot custom notification, the
//! automation JSON (`apigw-doctor/budget/1`) and the pagers' bodies, made once from the
//! facts of [`crate::engine::budget`]. Route names come from logs: escaped per medium.

use super::*;
use crate::engine::budget::{BudgetFacts, BudgetStep};
use crate::engine::burn::{BudgetSeverity, Objective, Rule, RuleBurn};
use crate::engine::slo::SloKey;

mod pages;

pub fn severity_word(s: BudgetSeverity) -> &'static str {
    match s {
        BudgetSeverity::Page => "page",
        BudgetSeverity::Ticket => "ticket",
    }
}

/// `5 min`, `1 h`, `1 day`, `3 days`.
pub fn window(ms: i64) -> String {
    let min = ms / 60_000;
    match min {
        m if m < 60 => format!("{m} min"),
        m if m % 1440 == 0 && m / 1440 == 1 => "1 day".to_owned(),
        m if m % 1440 == 0 => format!("{} days", m / 1440),
        m => format!("{} h", m / 60),
    }
}

/// `99.9 % over 30 days`.
pub fn objective_text(o: &Objective) -> String {
    let pct = format!("{:.3}", o.target * 100.0);
    let pct = pct.trim_end_matches('0').trim_end_matches('.');
    format!("{pct} % over {}", window(o.period_ms))
}

/// What a rule's threshold means: `the rate that spends 2 % of the budget in 1 h`.
fn rule_meaning(r: &Rule, o: &Objective) -> String {
    let share = r.threshold * r.long_ms as f64 / o.period_ms as f64 * 100.0;
    format!(
        "the rate that spends {} of the budget in {}",
        trim_pct(share),
        window(r.long_ms)
    )
}

/// A burn rate beside a threshold: one decimal, more when one would hide which side
/// of the threshold it is on (14.44 is not "14.4").
fn rate_vs(rate: Option<f64>, threshold: f64) -> String {
    let Some(r) = rate else {
        return "–".to_owned();
    };
    for decimals in 1..4 {
        let text = format!("{r:.decimals$}");
        let shown: f64 = text.parse().unwrap_or(r);
        let same_side = (shown > threshold) == (r > threshold);
        if same_side && (shown != threshold || r == threshold) {
            return text;
        }
    }
    format!("{r:.4}")
}

/// UTC to the minute: `2026-11-27 10:46Z`.
pub fn minute_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || format!("{ms} (epoch ms)"),
        |t| t.format("%Y-%m-%d %H:%MZ").to_string(),
    )
}

pub fn trim_pct(p: f64) -> String {
    let s = format!("{p:.1}");
    format!("{} %", s.trim_end_matches(".0"))
}

pub fn rate_text(r: Option<f64>) -> String {
    r.map_or_else(|| "–".to_owned(), |r| format!("{r:.1}"))
}

/// `API abc123 (orders) stage prod` or `route GET /pets of API abc123 stage prod`, and
/// `in account payments-prod (111122223333)` when it is not the doctor's own.
fn scope_text(slo: &SloKey, ctx: &AlertContext) -> String {
    let words = scope_words(slo, &api_label(ctx, &slo.api_id));
    match ctx.foreign_account() {
        Some(a) => format!("{words} in account {}", ctx.account_label(a)),
        None => words,
    }
}

/// [`scope_text`] with the API as `api` names it (the report has no API names).
pub fn scope_words(slo: &SloKey, api: &str) -> String {
    match &slo.route {
        Some(r) => format!("route {r} of API {api} stage {}", slo.stage),
        None => format!("API {api} stage {}", slo.stage),
    }
}

/// The rule behind the severity: the worst firing one, else (resolved) the first.
fn deciding(f: &BudgetFacts) -> &RuleBurn {
    f.assessment
        .rules
        .iter()
        .find(|r| r.fires)
        .unwrap_or(&f.assessment.rules[0])
}

pub fn subject(step: &BudgetStep, f: &BudgetFacts, ctx: &AlertContext) -> String {
    let n = &step.notice;
    let scope = scope_text(&n.slo, ctx);
    let text = match step.status {
        Status::Resolved => format!(
            "[RESOLVED] apigw-doctor: error budget {} — {scope} no longer burning fast",
            severity_word(n.severity)
        ),
        s => format!(
            "[{}] apigw-doctor: error budget {} — {scope} burning {}×",
            status_word(s),
            severity_word(n.severity),
            rate_text(deciding(f).long_rate)
        ),
    };
    subject_line(&text)
}

/// The first lines: what is happening and why this severity (or why it resolved).
fn lead(step: &BudgetStep, f: &BudgetFacts, ctx: &AlertContext) -> Vec<String> {
    let n = &step.notice;
    let scope = scope_text(&n.slo, ctx);
    let obj = objective_text(&n.objective);
    let r = deciding(f);
    let mut out = Vec::new();
    if step.status == Status::Resolved {
        out.push(format!(
            "{scope} is no longer spending its error budget fast enough for a {}: no burn-rate rule fires ({obj}).",
            severity_word(n.severity)
        ));
        out.push(format!(
            "Now: the {} burn rate is {} and the {} one {} (a {} needs both above {}).",
            window(r.rule.long_ms),
            rate_vs(r.long_rate, r.rule.threshold),
            window(r.rule.short_ms),
            rate_vs(r.short_rate, r.rule.threshold),
            severity_word(r.rule.severity),
            r.rule.threshold
        ));
        return out;
    }
    out.push(format!(
        "{scope} is spending its error budget {} times as fast as its objective allows ({obj}; a request is bad when it timed out or answered 5XX).",
        rate_vs(r.long_rate, r.rule.threshold)
    ));
    if let (Status::Update, Some(prev)) = (step.status, &step.previous) {
        out.push(format!(
            "Now a {}, was a {}.",
            severity_word(n.severity),
            severity_word(prev.severity)
        ));
    }
    out.push(format!(
        "Why a {}: the {} burn rate ({}) and the {} burn rate ({}) both exceed {}, {}.",
        severity_word(r.rule.severity),
        window(r.rule.long_ms),
        rate_vs(r.long_rate, r.rule.threshold),
        window(r.rule.short_ms),
        rate_vs(r.short_rate, r.rule.threshold),
        r.rule.threshold,
        rule_meaning(&r.rule, &n.objective)
    ));
    out.push(budget_line(f));
    out
}

fn budget_line(f: &BudgetFacts) -> String {
    let Some(left) = f.assessment.budget_left else {
        return "Budget left: no requests counted in the period yet.".to_owned();
    };
    let mut s = format!(
        "Budget left: {} of the budget for {}",
        trim_pct(left * 100.0),
        window(f.objective.period_ms)
    );
    match f.assessment.exhausted_at {
        Some(at) => s.push_str(&format!(
            "; at the 1 h burn rate it runs out {} (in {}).",
            minute_time(at),
            span(at - f.at)
        )),
        None if left <= 0.0 => s.push_str(": spent."),
        None => s.push_str(&format!(
            "; at the 1 h burn rate ({}) it does not run out.",
            rate_text(f.assessment.rules[0].long_rate)
        )),
    }
    s
}

/// `1 d 12 h`, `3 h 5 min`, `12 min`.
pub fn span(ms: i64) -> String {
    let min = ms.max(0) / 60_000;
    let (d, h, m) = (min / 1440, min % 1440 / 60, min % 60);
    match (d, h) {
        (0, 0) => format!("{m} min"),
        (0, h) => format!("{h} h {m} min"),
        (d, h) => format!("{d} d {h} h"),
    }
}

/// One row per rule: its windows, each window's counts and burn rate, the threshold.
fn rule_rows(f: &BudgetFacts) -> Vec<String> {
    f.assessment
        .rules
        .iter()
        .map(|r| {
            let w = |t: &crate::engine::burn::Tally, rate: Option<f64>, threshold: f64| {
                format!(
                    "{} bad, burn {}",
                    crate::render::display::rate(t.bad, t.total),
                    rate_vs(rate, threshold)
                )
            };
            format!(
                "{:<6} {} / {}: {}  |  {}  (both > {}){}",
                severity_word(r.rule.severity),
                window(r.rule.long_ms),
                window(r.rule.short_ms),
                w(&r.long, r.long_rate, r.rule.threshold),
                w(&r.short, r.short_rate, r.rule.threshold),
                r.rule.threshold,
                if r.fires { "  FIRES" } else { "" }
            )
        })
        .collect()
}

/// The routes with bad requests in the ranking window, as (route, text).
fn route_rows(f: &BudgetFacts) -> Vec<(String, String)> {
    f.routes
        .iter()
        .map(|r| {
            (
                r.route.clone(),
                format!(
                    "{} bad, burn {}",
                    crate::render::display::rate(r.tally.bad, r.tally.total),
                    rate_text(r.burn_rate)
                ),
            )
        })
        .collect()
}

const FIRST_STEP: &str = "The timeouts and 5XX behind this burn are diagnosed in their own apigw-doctor alerts: start with the route burning most. If none fired, the bad requests are spread thin (each route below the incident thresholds): run `apigw-doctor analyze` on the period's logs.";
const CANNOT_SHOW: &str = "Only requests in the subscribed logs are counted: a stage without access or execution logs, or requests sampled out, are not. Counts arrive with the logs, a minute or two late, so the shortest windows trail.";

fn email(step: &BudgetStep, f: &BudgetFacts, ctx: &AlertContext, subject: &str) -> String {
    let mut s = format!("{subject}\n\n");
    for l in lead(step, f, ctx) {
        let _ = writeln!(s, "{l}");
    }
    let _ = writeln!(s, "\nBURN RATES (bad requests of all, per window)");
    for r in rule_rows(f) {
        let _ = writeln!(s, "  {r}");
    }
    let routes = route_rows(f);
    if !routes.is_empty() {
        let _ = writeln!(
            s,
            "\nROUTES BURNING MOST (last {})",
            window(f.routes_window_ms)
        );
        for (route, text) in &routes {
            let _ = writeln!(s, "  {route}: {text}");
        }
    }
    if step.status != Status::Resolved {
        let _ = writeln!(s, "\nWHAT TO DO FIRST\n  {FIRST_STEP}");
    }
    let _ = writeln!(s, "\nWHAT THE COUNTS CANNOT SHOW\n  {CANNOT_SHOW}");
    let n = &step.notice;
    let _ = writeln!(
        s,
        "\nNotice {}, opened {}; assessed {}.",
        n.id,
        minute_time(n.opened_at),
        minute_time(f.at)
    );
    plain(&s)
}

fn chatbot(step: &BudgetStep, f: &BudgetFacts, ctx: &AlertContext, subject: &str) -> String {
    let mut md: Vec<String> = lead(step, f, ctx).iter().map(|l| slack(l)).collect();
    let routes = route_rows(f);
    if !routes.is_empty() {
        md.push(format!(
            "*Routes burning most (last {})*",
            window(f.routes_window_ms)
        ));
        for (route, text) in routes {
            md.push(format!("• {}: {text}", code(&route)));
        }
    }
    let icon = match (step.status, step.notice.severity) {
        (Status::Resolved, _) => ":white_check_mark:",
        (_, BudgetSeverity::Page) => ":rotating_light:",
        (_, BudgetSeverity::Ticket) => ":warning:",
    };
    serde_json::json!({
        "version": "1.0", "source": "custom", "id": step.notice.id,
        "content": {"textType": "client-markdown", "title": format!("{icon} {}", slack(subject)),
                    "description": md.join("\n"), "keywords": ["error-budget", severity_word(step.notice.severity)]},
        "metadata": {"threadId": step.notice.id, "summary": slack(subject), "eventType": format!("budget_{}", step.status.as_str())},
    })
    .to_string()
}

fn tally_json(t: &crate::engine::burn::Tally, rate: Option<f64>) -> serde_json::Value {
    serde_json::json!({"requests": t.total, "bad": t.bad, "burn_rate": rate.map(round4)})
}

pub fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// The automation JSON: every number of the notice, for machines.
pub fn automation(step: &BudgetStep, f: &BudgetFacts) -> serde_json::Value {
    let n = &step.notice;
    let rules: Vec<serde_json::Value> = f
        .assessment
        .rules
        .iter()
        .map(|r| {
            serde_json::json!({
                "severity": severity_word(r.rule.severity),
                "long_window_s": r.rule.long_ms / 1000, "short_window_s": r.rule.short_ms / 1000,
                "threshold": r.rule.threshold, "fires": r.fires,
                "long": tally_json(&r.long, r.long_rate), "short": tally_json(&r.short, r.short_rate),
            })
        })
        .collect();
    let routes: Vec<serde_json::Value> = f
        .routes
        .iter()
        .map(|r| serde_json::json!({"route": plain(&r.route), "requests": r.tally.total, "bad": r.tally.bad, "burn_rate": r.burn_rate.map(round4)}))
        .collect();
    serde_json::json!({
        "schema": "apigw-doctor/budget/1",
        "notice_id": n.id,
        "status": step.status.as_str(),
        "severity": severity_word(n.severity),
        "previous_severity": step.previous.as_ref().map(|p| severity_word(p.severity)),
        "slo": {"account": n.slo.account, "api_id": n.slo.api_id, "stage": n.slo.stage, "route": n.slo.route.as_deref().map(plain)},
        "objective": {"target": n.objective.target, "period_s": n.objective.period_ms / 1000},
        "rules": rules,
        "budget_left": f.assessment.budget_left.map(round4),
        "exhausted_at": super::automation::rfc3339(f.assessment.exhausted_at),
        "routes_window_s": f.routes_window_ms / 1000,
        "routes": routes,
        "opened_at": super::automation::rfc3339(Some(n.opened_at)),
        "assessed_at": super::automation::rfc3339(Some(f.at)),
    })
}

/// Every rendering of one budget step.
pub fn render(step: &BudgetStep, f: &BudgetFacts, ctx: &AlertContext) -> Rendered {
    let subject = subject(step, f, ctx);
    let email = email(step, f, ctx, &subject);
    let chatbot = chatbot(step, f, ctx, &subject);
    let automation = automation(step, f).to_string();
    let message = message(&chatbot, &email, &automation);
    let pages = pages::pages(step, f, ctx, &subject, &email);
    Rendered {
        id: step.notice.id.clone(),
        subject,
        email,
        chatbot,
        automation,
        message,
        pages: Some(pages),
    }
}

#[cfg(test)]
mod tests;
