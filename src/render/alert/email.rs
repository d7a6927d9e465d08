//! The e-mail text: triage first, the evidence, then the design remedies.

use super::*;
use crate::render::words::diagnosis::Words;

pub(super) fn email_text(
    n: &Notice<'_>,
    ctx: &AlertContext,
    links: &[Link],
    examples_n: usize,
) -> String {
    let i = n.incident;
    let (what, where_, cause) = triage(n, ctx);
    let mut out = String::new();
    let _ = writeln!(out, "{what}\n{where_}\n{cause}");
    if let Some(top) = super::changes::top_line(n) {
        let _ = writeln!(out, "{top}");
    }
    for (k, l) in links.iter().take(3).enumerate() {
        let _ = writeln!(out, "Check {}: {}: {}", k + 1, l.text, l.href);
    }
    if let Some(section) = super::changes::email_section(n, ctx) {
        out.push_str(&section);
    }
    let shown = &examples(&n.findings)[..examples_n.min(examples(&n.findings).len())];
    if !shown.is_empty() {
        let _ = writeln!(
            out,
            "\nEVIDENCE ({} of {} in this batch{})",
            shown.len(),
            n.findings.len(),
            if shown.len() > 1 {
                ": the first, then the longest"
            } else {
                ""
            }
        );
    }
    let mut said: Vec<String> = Vec::new();
    for (k, (f, facts)) in shown.iter().zip(facts_once(shown)).enumerate() {
        let label = match (k, n.status) {
            (0, Status::Firing) => "Onset",
            (0, _) => "First in this batch",
            _ => "Worst",
        };
        let _ = writeln!(
            out,
            "\n{label}: request {} on {}",
            f.request_id.as_deref().unwrap_or("-"),
            f.route
        );
        let facts: Vec<String> = facts
            .into_iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        let _ = writeln!(out, "  {}", facts.join("; "));
        // Each fact once: what the logs show, and each route's health, the first time.
        let words = Words::of(f);
        let lines = words.shows.into_iter().chain(words.route_health);
        for s in lines {
            // The onset's send time is said once, by the onset.
            let repeated_send = k > 0 && s.starts_with("The request was sent at");
            if !said.contains(&s) && !repeated_send {
                let _ = writeln!(out, "  - {s}");
                said.push(s);
            }
        }
    }
    if let Some(f) = shown.first() {
        let cannot_show = Words::of(f).cannot_show;
        if !cannot_show.is_empty() {
            let _ = writeln!(out, "\nNOT IN THE LOGS");
            for s in &cannot_show {
                let _ = writeln!(out, "- {s}");
            }
        }
    }
    let after = afterwards(n);
    if !after.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            afterwards_title(i.key.kind).to_ascii_uppercase()
        );
        for (k, r) in after.iter().enumerate() {
            let _ = writeln!(out, "{}. {r}", k + 1);
        }
    }
    for l in links.iter().skip(3) {
        let _ = writeln!(out, "\n{}: {}", l.text, l.href);
    }
    let _ = writeln!(
        out,
        "\nIncident {} ({}), opened {}. Sent by apigw-doctor.",
        i.id,
        status_word(n.status).to_ascii_lowercase(),
        time(i.opened_at)
    );
    plain(&out)
}
