//! "What changed" in an alert: the top related change as the fourth line of the
//! e-mail and in Slack, then up to [`SHOWN`] with their console links, or that none
//! was found, or that the change history could not be read.

use super::*;
use crate::render::words::change as words;

/// Related changes listed in an alert.
const SHOWN: usize = 3;

/// The line under the likely cause: the most likely change, said first.
pub(super) fn top_line(n: &Notice<'_>) -> Option<String> {
    n.changes
        .related()
        .first()
        .map(|r| format!("What changed: {}", words::line(r)))
}

/// The e-mail's WHAT CHANGED section (`None`: no change source).
pub(super) fn email_section(n: &Notice<'_>, ctx: &AlertContext) -> Option<String> {
    let mut out = String::from("\nWHAT CHANGED\n");
    if let Some(s) = words::status(&n.changes) {
        let _ = writeln!(out, "- {s}");
        return Some(out);
    }
    let rel = n.changes.related();
    if rel.is_empty() {
        return None;
    }
    for r in rel.iter().take(SHOWN) {
        let _ = writeln!(out, "{}. {}", r.rank, words::line(r));
        if let Some(u) = words::console_url(&r.change, ctx.region.as_deref()) {
            let _ = writeln!(out, "   {u}");
        }
    }
    if rel.len() > SHOWN {
        let _ = writeln!(out, "(and {} more related changes)", rel.len() - SHOWN);
    }
    Some(out)
}

/// The Slack line (`None`: no change source).
pub(super) fn chatbot_line(n: &Notice<'_>, ctx: &AlertContext) -> Option<String> {
    if let Some(s) = words::status(&n.changes) {
        return Some(format!("\n*What changed:* {}", slack(&s)));
    }
    let rel = n.changes.related();
    let top = rel.first()?;
    let link = words::console_url(&top.change, ctx.region.as_deref())
        .map(|u| format!(" {}", slack_link(&u, "CloudTrail")))
        .unwrap_or_default();
    let more = match rel.len() {
        1 => String::new(),
        k => format!(" (+{} more)", k - 1),
    };
    Some(format!(
        "\n*What changed:* {}{link}{more}",
        slack(&words::line(top))
    ))
}
