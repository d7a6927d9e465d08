//! The error budget in the report: per SLO, what the logs' requests spent and the
//! notices a deployed doctor would have sent ([`crate::engine::budget::replay`]), as the
//! JSON `budget` list and as the lines of the text and Markdown "Error budget" sections.

use crate::engine::budget::replay::SloReplay;
use crate::engine::slo::SloKey;
use crate::render::alert::budget::{
    minute_time, objective_text, rate_text, round4, scope_words, severity_word, span, trim_pct,
    window,
};
use crate::render::display::{rate, rfc3339 as automation_time};

#[derive(Debug, serde::Serialize)]
pub struct NoticeJson<'a> {
    pub at: Option<String>,
    pub status: &'static str,
    pub severity: &'static str,
    pub notice_id: &'a str,
    pub burn_rate: Option<f64>,
}

#[derive(Debug, serde::Serialize)]
pub struct BudgetJson<'a> {
    pub slo: &'a SloKey,
    pub target: f64,
    pub period_s: i64,
    pub requests: u64,
    pub bad: u64,
    pub first: Option<String>,
    pub span_s: i64,
    pub burn_rate: Option<f64>,
    /// The share of a period's budget the span's bad requests spent.
    pub budget_spent: Option<f64>,
    /// What a deployed doctor would have sent, assessing every minute.
    pub notices: Vec<NoticeJson<'a>>,
    pub open_at_end: Option<&'static str>,
}

pub fn json(replays: &[SloReplay]) -> Vec<BudgetJson<'_>> {
    replays
        .iter()
        .map(|r| BudgetJson {
            slo: &r.slo,
            target: r.objective.target,
            period_s: r.objective.period_ms / 1000,
            requests: r.tally.total,
            bad: r.tally.bad,
            first: automation_time(Some(r.first_ms)),
            span_s: r.span_ms / 1000,
            burn_rate: r.burn_rate.map(round4),
            budget_spent: r.budget_spent.map(round4),
            notices: r
                .notices
                .iter()
                .map(|n| NoticeJson {
                    at: automation_time(Some(n.at)),
                    status: n.status.as_str(),
                    severity: severity_word(n.severity),
                    notice_id: &n.id,
                    burn_rate: n.burn_rate.map(round4),
                })
                .collect(),
            open_at_end: r.open_at_end.map(severity_word),
        })
        .collect()
}

/// The section's lines, one SLO each: (what it spent, what would have been sent).
pub fn lines(replays: &[SloReplay]) -> Vec<(String, String)> {
    // Several accounts' logs: their identical API ids are told apart by account.
    let accounts: std::collections::BTreeSet<&str> = replays
        .iter()
        .filter_map(|r| r.slo.account.as_deref())
        .collect();
    replays
        .iter()
        .filter(|r| r.tally.total > 0)
        .map(|r| {
            let api = match r.slo.account.as_deref().filter(|_| accounts.len() > 1) {
                Some(a) => format!("{a}:{}", r.slo.api_id),
                None => r.slo.api_id.clone(),
            };
            let spent = format!(
                "{}: {} bad over {}, burn rate {} against {}: {} of the budget for {} spent.",
                scope_words(&r.slo, &api),
                rate(r.tally.bad, r.tally.total),
                span(r.span_ms),
                rate_text(r.burn_rate),
                objective_text(&r.objective),
                trim_pct(r.budget_spent.unwrap_or(0.0) * 100.0),
                window(r.objective.period_ms)
            );
            (spent, notices_text(r))
        })
        .collect()
}

fn notices_text(r: &SloReplay) -> String {
    if r.notices.is_empty() {
        let shortest = window(60 * 60 * 1000);
        return if r.span_ms < 60 * 60 * 1000 {
            format!(
                "No notice: the logs cover {}, the shortest rule needs {shortest} watched.",
                span(r.span_ms)
            )
        } else {
            "No notice: no burn-rate rule fired in any minute of the logs.".to_owned()
        };
    }
    let steps: Vec<String> = r
        .notices
        .iter()
        .map(|n| match n.status {
            crate::engine::incidents::Status::Resolved => {
                format!("resolved {}", minute_time(n.at))
            }
            s => format!(
                "{} {} {} (burn {})",
                s.as_str(),
                severity_word(n.severity),
                minute_time(n.at),
                rate_text(n.burn_rate)
            ),
        })
        .collect();
    let mut out = format!("A deployed doctor would have sent: {}", steps.join("; "));
    if let Some(s) = r.open_at_end {
        out.push_str(&format!(
            "; the {} was still open at the end of the logs",
            severity_word(s)
        ));
    }
    out.push('.');
    out
}
