//! The report as Markdown (`--format md`), to paste into a postmortem: the same
//! sections as the text report. Log content is untrusted: every piece of it is
//! escaped so that it cannot open a link, an image, HTML or a table cell.

use std::fmt::Write as _;

use crate::model::kind::Kind;
use crate::render::display::{thousands, time};
use crate::render::report::{
    bucket_name, bucket_p95, elapsed_text, group_facts, invoked_text, route_p95, short_time, Report,
};
use crate::render::words;
use crate::render::words::diagnosis::Words;

/// Escapes Markdown (CommonMark and GitHub's tables) in text from the logs.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '|' | '!' | '~' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' | '\t' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// "What changed": each incident's ranked changes, or what is known of them.
fn changes(out: &mut String, r: &Report<'_>) {
    if r.groups.is_empty() {
        return;
    }
    let src = &r.options.changes;
    let _ = writeln!(out, "## {}\n", escape(&words::change::section_title(src)));
    if let Some(note) = words::change::source_note(src) {
        let _ = writeln!(out, "{}\n", escape(&note));
        return;
    }
    for (i, g) in r.shown_groups().iter().enumerate() {
        let _ = writeln!(out, "{}. **{}**", i + 1, escape(&g.title()));
        for l in crate::render::report::changes::lines(g, 3) {
            let url = l
                .url
                .and_then(|u| link(&u))
                .map(|u| format!(" ([CloudTrail]({u}))"))
                .unwrap_or_default();
            // Ranked changes as a nested ordered list, what the search found as a bullet.
            let marker = l.rank.map_or_else(|| "-".to_owned(), |r| format!("{r}."));
            let _ = writeln!(out, "   {marker} {}{url}", escape(&l.text));
        }
    }
    out.push('\n');
}

/// "Error budget": per SLO, what the logs spent and what would have been sent.
fn budget(out: &mut String, r: &Report<'_>) {
    let lines = crate::render::report::budget::lines(&r.budgets);
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "## Error budget
"
    );
    for (spent, sent) in lines {
        let _ = writeln!(
            out,
            "- {}
  {}",
            escape(&spent),
            escape(&sent)
        );
    }
    out.push('\n');
}

/// A URL as a link target: only http(s), with characters that would end it percent-encoded.
fn link(url: &str) -> Option<String> {
    if !url.starts_with("https://") && !url.starts_with("http://") {
        return None;
    }
    Some(
        url.chars()
            .map(|c| match c {
                ' ' => "%20".to_owned(),
                '(' => "%28".to_owned(),
                ')' => "%29".to_owned(),
                '<' => "%3C".to_owned(),
                '>' => "%3E".to_owned(),
                c => c.to_string(),
            })
            .collect(),
    )
}

/// Inline code that no backtick in `s` can close.
fn code(s: &str) -> String {
    let s = s.replace(['\n', '\r'], " ");
    let fence = "`".repeat(s.split(|c| c != '`').map(str::len).max().unwrap_or(0) + 1);
    format!("{fence} {s} {fence}")
}

/// "Drift toward the limit": one row per route with enough busy days.
fn drift(out: &mut String, r: &Report<'_>) {
    use crate::render::report::drift::{name, spark, trend_sentence};
    if r.drift.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Drift toward the limit\n");
    let _ = writeln!(out, "Censored p95 of the integration latency per UTC day (timeouts at the limit), days with at least 50 requests.\n");
    let rows: Vec<Vec<String>> = r
        .drift
        .iter()
        .map(|t| {
            vec![
                escape(&name(r.analysis, t)),
                code(&spark(t)),
                escape(&trend_sentence(r.analysis, t)),
            ]
        })
        .collect();
    table(out, &["Route", "p95 per day", "Trend"], &rows, &[]);
}

fn table(out: &mut String, head: &[&str], rows: &[Vec<String>], right: &[usize]) {
    let _ = writeln!(out, "| {} |", head.join(" | "));
    let align: Vec<&str> = (0..head.len())
        .map(|i| if right.contains(&i) { "---:" } else { "---" })
        .collect();
    let _ = writeln!(out, "| {} |", align.join(" | "));
    for r in rows {
        let _ = writeln!(out, "| {} |", r.join(" | "));
    }
    out.push('\n');
}

pub fn render(r: &Report<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# API Gateway incident report (apigw-doctor)\n");
    for w in &r.options.warnings {
        let _ = writeln!(out, "> **Warning:** {}\n", escape(w));
    }
    let _ = writeln!(out, "## Summary\n");
    let rows: Vec<Vec<String>> = r
        .summary_rows()
        .into_iter()
        .map(|(k, v)| vec![format!("**{k}**"), escape(&v)])
        .collect();
    table(&mut out, &["", ""], &rows, &[]);

    let t = &r.timeline;
    if !t.buckets.is_empty() {
        let _ = writeln!(
            out,
            "## Timeline (per {}, UTC; p95 from n ≥ 20, else n)\n",
            bucket_name(t.bucket_ms)
        );
        let max = t.buckets.iter().map(|b| b.timeouts).max().unwrap_or(0);
        let rows: Vec<Vec<String>> = t
            .buckets
            .iter()
            .map(|b| {
                vec![
                    time(b.start_ms)[..16].to_owned(),
                    thousands(b.requests),
                    thousands(b.timeouts),
                    thousands(b.errors),
                    thousands(b.near_limit),
                    escape(&bucket_p95(b)),
                    spark(b.timeouts, max),
                ]
            })
            .collect();
        table(
            &mut out,
            &[
                "Time",
                "Requests",
                "Timeouts",
                "Errors",
                "Near limit",
                "p95 ms",
                "Timeouts",
            ],
            &rows,
            &[1, 2, 3, 4, 5],
        );
    }

    let _ = writeln!(out, "## Incidents\n");
    if r.groups.is_empty() {
        let _ = writeln!(out, "{}\n", escape(&r.nothing_found()));
    }
    for (i, g) in r.shown_groups().iter().enumerate() {
        let _ = writeln!(
            out,
            "{}. **{}**: {}",
            i + 1,
            escape(&g.title()),
            escape(&group_facts(g))
        );
    }
    out.push('\n');
    changes(&mut out, r);
    budget(&mut out, r);

    if !r.routes.is_empty() {
        let _ = writeln!(out, "## Routes by impact\n");
        let rows: Vec<Vec<String>> = r
            .shown_routes()
            .iter()
            .map(|row| {
                vec![
                    escape(&row.name()),
                    thousands(row.stats.requests),
                    row.timeout_share(),
                    row.error_share(),
                    thousands(row.stats.near_limit),
                    row.stats.p50_ms.map_or_else(|| "-".to_owned(), thousands),
                    escape(&route_p95(row.stats)),
                    thousands(row.stats.limit_ms),
                    row.first_seen.map_or_else(|| "-".to_owned(), short_time),
                    row.last_seen.map_or_else(|| "-".to_owned(), short_time),
                ]
            })
            .collect();
        table(
            &mut out,
            &[
                "Route",
                "Requests",
                "Timeout %",
                "Error %",
                "Near limit",
                "p50 ms",
                "p95 ms (censored)",
                "Limit ms",
                "First seen",
                "Last seen",
            ],
            &rows,
            &[1, 2, 3, 4, 5, 6, 7],
        );
    }

    drift(&mut out, r);

    if !r.groups.is_empty() {
        let _ = writeln!(out, "## Exemplars\n");
        for g in r.shown_groups() {
            let _ = writeln!(out, "### {}\n", escape(&g.title()));
            for f in g.findings.iter().take(r.options.exemplars) {
                let id = f.request_id.as_deref().unwrap_or("(no request id)");
                let words = Words::of(f);
                let at = f
                    .timestamp
                    .map(|t| format!(" at {}", time(t)))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "- Request {}{at}: {}",
                    code(id),
                    escape(&words.headline)
                );
                if let Some(b) = &f.backend {
                    let _ = writeln!(out, "  - Backend: {}", escape(&b.to_string()));
                }
                if f.kind == Kind::Timeout {
                    let _ = writeln!(out, "  - Invoked: {}", escape(invoked_text(f)));
                }
                if let Some(e) = f.elapsed_ms {
                    let _ = writeln!(out, "  - Elapsed: {}", escape(&elapsed_text(f, e)));
                }
                for s in &words.shows {
                    let _ = writeln!(out, "  - {}", escape(s));
                }
                for s in &words.cannot_show {
                    let _ = writeln!(out, "  - Not shown: {}", escape(s));
                }
                if let Some(u) = f.diagnosis.console_url.as_deref().and_then(link) {
                    let _ = writeln!(out, "  - [Console: the request's log events]({u})");
                }
                if let Some(q) = &f.diagnosis.insights_query {
                    let _ = writeln!(out, "  - Logs Insights: {}", code(q));
                }
            }
            out.push('\n');
        }
        let _ = writeln!(out, "## What to do\n");
        for g in r.shown_groups() {
            let _ = writeln!(out, "### {}\n", escape(&g.title()));
            for (i, m) in g.remedies().iter().enumerate() {
                let _ = writeln!(out, "{}. {}", i + 1, escape(m));
            }
            out.push('\n');
        }
    }
    out
}

/// One block character for `n` of `max`.
fn spark(n: u64, max: u64) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    if n == 0 || max == 0 {
        return String::new();
    }
    let i = ((n * 7).div_ceil(max)) as usize;
    BARS[i.min(7)].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_untrusted_text() {
        assert_eq!(
            escape("a|b [x](y) <img>"),
            "a\\|b \\[x\\]\\(y\\) &lt;img&gt;"
        );
        assert_eq!(escape("l1\nl2"), "l1 l2");
        assert_eq!(code("a`b"), "`` a`b ``");
        assert_eq!(link("javascript:alert(1)"), None);
        assert_eq!(link("https://x/a b").as_deref(), Some("https://x/a%20b"));
    }
}
