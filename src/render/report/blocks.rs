//! The text report's building blocks: route p95s, group facts, exemplars, headings, tables, bars, times.

use super::*;

/// A route's p95 as the engine computed it: timeouts counted at the limit (`≥` when it
/// falls on one), none below the engine's minimum sample.
pub fn route_p95(s: &RouteStats) -> String {
    p95_text(s.p95.map(|p| p.ms), s.p95.is_some_and(|p| p.at_least))
}

/// A bucket's p95, or how many requests it measured when too few for one (`n=6`).
pub fn bucket_p95(b: &crate::engine::timeline::Bucket) -> String {
    match b.p95_ms {
        None if b.measured > 0 => format!("n={}", thousands(b.measured)),
        p => p95_text(p, b.p95_censored),
    }
}

pub fn p95_text(p: Option<u64>, censored: bool) -> String {
    match p {
        Some(v) if censored => format!("≥{}", thousands(v)),
        Some(v) => thousands(v),
        None => "-".to_owned(),
    }
}

pub fn group_facts(g: &Group<'_>) -> String {
    let mut s = g.cause.to_string();
    if let Some(b) = &g.backend {
        let _ = write!(s, "; backend {b}");
    }
    if g.routes.len() > 1 {
        let parts: Vec<String> = g
            .routes
            .iter()
            .map(|(name, n, k)| format!("{name} {} of {}", thousands(*k), thousands(*n)))
            .collect();
        let _ = write!(s, "; routes: {}", parts.join(", "));
    }
    if let Some(n) = g.route_requests {
        let _ = write!(
            s,
            "; {}",
            crate::render::display::rate_of(g.count(), n, "requests on its routes")
        );
    }
    match (g.first, g.last) {
        (Some(a), Some(b)) if a == b => {
            let _ = write!(s, "; at {}", time(a));
        }
        (Some(a), Some(b)) => {
            let _ = write!(s, "; from {} to {}", time(a), time(b));
        }
        _ => {}
    }
    s
}

pub(super) fn exemplar_text(out: &mut String, f: &Finding) {
    let id = f.request_id.as_deref().unwrap_or("(no request id)");
    let at = f
        .timestamp
        .map(|t| format!(" at {}", time(t)))
        .unwrap_or_default();
    let _ = writeln!(out, "     - Request {id}{at}");
    let words = Words::of(f);
    let mut facts = vec![words.headline.clone()];
    if let Some(b) = &f.backend {
        facts.push(format!("Backend: {b}."));
    }
    if f.kind == Kind::Timeout {
        facts.push(format!("Invoked: {}.", invoked_text(f)));
    }
    if let Some(e) = f.elapsed_ms {
        facts.push(format!("Elapsed: {}.", elapsed_text(f, e)));
    }
    for fact in facts.iter().chain(&words.shows) {
        let _ = writeln!(out, "       {}", wrap(fact, 7));
    }
    for c in &words.cannot_show {
        let _ = writeln!(out, "       Not shown: {}", wrap(c, 18));
    }
    if let Some(u) = &f.diagnosis.console_url {
        let _ = writeln!(out, "       Console: {u}");
    }
    if let Some(q) = &f.diagnosis.insights_query {
        let _ = writeln!(out, "       Query: {q}");
    }
    out.push('\n');
}

pub(super) fn heading(out: &mut String, h: &str) {
    let _ = writeln!(out, "{h}");
}

pub(super) fn hidden(out: &mut String, all: usize, shown: usize, what: &str) {
    if all > shown {
        let _ = writeln!(
            out,
            "  … and {} more {what} (--top 0 shows all).",
            all - shown
        );
    }
}

/// A left/right-aligned table; `left` are the columns aligned left.
pub(super) fn table<const N: usize>(
    out: &mut String,
    head: &[&str; N],
    rows: &[[String; N]],
    left: &[usize],
) {
    let mut widths: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[&str]| {
        let mut s = String::from("  ");
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            let pad = " ".repeat(w - cell.chars().count());
            if left.contains(&i) {
                s.push_str(cell);
                s.push_str(&pad);
            } else {
                s.push_str(&pad);
                s.push_str(cell);
            }
            s.push_str("  ");
        }
        s.trim_end().to_owned()
    };
    let _ = writeln!(out, "{}", line(head));
    for row in rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        let _ = writeln!(out, "{}", line(&cells));
    }
}

/// A bar `width` cells long at `max` requests: `#` for timeouts, `=` for the rest.
pub fn bar(requests: u64, timeouts: u64, max: u64, width: u64) -> String {
    let cells = |n: u64| (n * width).div_ceil(max.max(1));
    let all = cells(requests);
    let t = cells(timeouts).min(all);
    format!(
        "{}{}",
        "#".repeat(t as usize),
        "=".repeat((all - t) as usize)
    )
}

pub fn bucket_name(ms: i64) -> String {
    match ms / 60_000 {
        1 => "minute".to_owned(),
        60 => "hour".to_owned(),
        1440 => "day".to_owned(),
        m => format!("{m} minutes"),
    }
}

pub(super) fn bucket_label(ms: i64, with_day: bool) -> String {
    let Some(t) = chrono::DateTime::from_timestamp_millis(ms) else {
        return ms.to_string();
    };
    if with_day {
        t.format("%m-%d %H:%M").to_string()
    } else {
        t.format("%H:%M").to_string()
    }
}

/// `2026-11-25 10:00:03Z`: the table's first/last seen.
pub fn short_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.format("%m-%d %H:%M:%S").to_string(),
    )
}

pub fn duration(ms: i64) -> String {
    let s = ms / 1000;
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}
