//! The CLI's renderings of an [`Analysis`]: a text report for people, JSON for tools.

use std::fmt::Write as _;

use crate::engine::analysis::{Analysis, Summary};

use crate::model::finding::Finding;

use crate::engine::timeline::{self, Timeline};
use crate::model::kind::Kind;
use crate::model::stats::{Percentile, RouteStats};
use crate::render::display::{ms, rate, thousands, time};
use crate::render::words::diagnosis::Words;

mod blocks;
pub use blocks::*;
pub mod budget;
pub mod changes;
pub mod drift;
mod json;
pub use json::*;
mod rows;
pub use rows::*;

/// Near-limit findings shown one by one in the text report; the rest are counted.
const NEAR_LIMIT_SHOWN: usize = 10;
const WIDTH: usize = 100;

/// The JSON report with no warnings (see [`Report::json`]).
pub fn json(a: &Analysis) -> String {
    Report::build(a, &Options::default()).json()
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

pub fn summary_line(s: &Summary) -> String {
    // Rates of the requests: "3 of 19 (16%) timed out".
    let of = |n: u64| match n {
        0 => "0".to_owned(),
        n => rate(n, s.requests.max(n)),
    };
    format!(
        "{}, {}: {} timed out, {} near the limit, {} with integration errors, {}",
        plural(s.log_events, "log event", "log events"),
        plural(s.requests, "request", "requests"),
        of(s.timeouts),
        of(s.near_limit),
        of(s.errors),
        plural(s.misconfigurations, "misconfiguration", "misconfigurations"),
    )
}

/// Word-wraps `text` to `WIDTH`, every line after the first indented by `indent` spaces.
pub fn wrap(text: &str, indent: usize) -> String {
    let mut out = String::new();
    let mut col = indent;
    for (i, word) in text
        .split(char::is_whitespace)
        .filter(|w| !w.is_empty())
        .enumerate()
    {
        if i > 0 {
            if col + 1 + word.chars().count() > WIDTH {
                out.push('\n');
                out.push_str(&" ".repeat(indent));
                col = indent;
            } else {
                out.push(' ');
                col += 1;
            }
        }
        out.push_str(word);
        col += word.chars().count();
    }
    out
}

fn field(out: &mut String, label: &str, value: &str) {
    let _ = writeln!(out, "  {label:<10} {}", wrap(value, 13));
}

fn list(out: &mut String, label: &str, items: &[String], numbered: bool) {
    for (i, item) in items.iter().enumerate() {
        let l = if i == 0 { label } else { "" };
        let bullet = if numbered {
            format!("{}.", i + 1)
        } else {
            "-".to_owned()
        };
        let _ = writeln!(out, "  {l:<10} {bullet} {}", wrap(item, 14 + bullet.len()));
    }
}

/// Times to the second (test-invoke logs, some exports) cannot measure a wait in
/// milliseconds: say so rather than print `1,000 ms` beside a latency of 426 ms.
pub fn second_resolution(f: &Finding) -> bool {
    f.timestamp.is_some_and(|t| t % 1000 == 0) && f.elapsed_ms.is_some_and(|e| e % 1000 == 0)
}

pub fn elapsed_text(f: &Finding, e: u64) -> String {
    if second_resolution(f) {
        format!(
            "about {} s after sending, to the second (these logs' times are whole seconds; limit {})",
            thousands(e / 1000),
            ms(f.limit_ms)
        )
    } else {
        format!("{} after sending (limit {})", ms(e), ms(f.limit_ms))
    }
}

pub fn invoked_text(f: &Finding) -> &'static str {
    match f.invoked {
        Some(true) => "yes",
        Some(false) => "no: the integration never received the request",
        None => "unknown from these logs",
    }
}

/// What a finding is about: the route, or the Lambda function for a misconfiguration;
/// `with_account`: the input holds several accounts' logs, the API stage says whose.
pub fn target(f: &Finding, with_account: bool) -> String {
    let account = f
        .provenance
        .account
        .as_deref()
        .filter(|_| with_account)
        .map(|a| format!("{a}:"))
        .unwrap_or_default();
    match (&f.function, f.kind) {
        (Some(func), Kind::Misconfiguration) if f.route.is_unknown() => {
            format!("Lambda function {}", func.name)
        }
        (Some(func), Kind::Misconfiguration) => {
            format!(
                "Lambda function {} behind {account}{}/{} {}",
                func.name, f.api_id, f.stage, f.route
            )
        }
        _ => format!("{account}{}/{} {}", f.api_id, f.stage, f.route),
    }
}

pub fn finding_text(out: &mut String, f: &Finding, with_account: bool) {
    let status = f.status.map(|s| format!(" · {s}")).unwrap_or_default();
    let _ = writeln!(
        out,
        "── {} · {} · {}{status}",
        f.kind.as_str().to_uppercase(),
        f.cause,
        target(f, with_account)
    );
    if let Some(id) = &f.request_id {
        let at = f
            .timestamp
            .map(|t| format!(" at {}", time(t)))
            .unwrap_or_default();
        field(out, "Request", &format!("{id}{at}"));
    }
    let words = Words::of(f);
    field(out, "What", &words.headline);
    if let Some(b) = &f.backend {
        field(out, "Backend", &b.to_string());
    }
    if f.kind == Kind::Timeout {
        field(out, "Invoked", invoked_text(f));
    }
    if let Some(e) = f.elapsed_ms {
        field(out, "Elapsed", &elapsed_text(f, e));
    }
    list(out, "Evidence", &words.shows, false);
    list(out, "Not shown", &words.cannot_show, false);
    if let Some(h) = &words.route_health {
        field(out, "Route", h);
    }
    list(out, "Do this", &words.remedies, true);
    if let Some(q) = &f.diagnosis.insights_query {
        let group = if f.provenance.log_group.is_empty() {
            String::new()
        } else {
            format!("   (log group {})", f.provenance.log_group)
        };
        let _ = writeln!(out, "  {:<10} {q}{group}", "Query");
    }
    if let Some(u) = &f.diagnosis.console_url {
        let _ = writeln!(out, "  {:<10} {u}", "Console");
    }
    out.push('\n');
}

/// Every finding, one block each (`analyze --details`).
pub fn text(a: &Analysis) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "apigw-doctor: {}\n", summary_line(&a.summary));
    let mut near_shown = 0;
    let mut near_hidden = 0;
    for f in &a.findings {
        if f.kind == Kind::NearLimit {
            if near_shown == NEAR_LIMIT_SHOWN {
                near_hidden += 1;
                continue;
            }
            near_shown += 1;
        }
        finding_text(&mut out, f, a.counters.accounts.len() > 1);
    }
    if near_hidden > 0 {
        let _ = writeln!(
            out,
            "… and {} more near-limit requests (all are in --format json).\n",
            thousands(near_hidden)
        );
    }
    if a.findings.is_empty() {
        out.push_str("No integration timeouts, near-limit requests or integration errors.\n\n");
    }
    route_table(&mut out, a);
    out
}

pub fn route_table(out: &mut String, a: &Analysis) {
    if a.routes.is_empty() {
        return;
    }
    let _ = writeln!(out, "Latency headroom by route (integration latency, timeouts counted as ≥ their limit; percentiles from n ≥ 20; headroom = limit − p95)");
    let accounts = a.counters.accounts.len() > 1;
    let rows: Vec<[String; 12]> = a
        .routes
        .iter()
        .map(|r| {
            let opt = |v: Option<Percentile>| {
                v.map_or_else(
                    || "-".to_owned(),
                    |p| format!("{}{}", if p.at_least { "≥ " } else { "" }, thousands(p.ms)),
                )
            };
            [
                r.key.api_stage(accounts),
                r.key.route.to_string(),
                thousands(r.requests),
                thousands(r.timeouts),
                thousands(r.near_limit),
                thousands(r.errors),
                thousands(r.observed),
                opt(r.p50),
                opt(r.p95),
                opt(r.max),
                thousands(r.limit_ms),
                r.headroom_pct()
                    .map_or_else(|| "-".to_owned(), |h| format!("{h}%")),
            ]
        })
        .collect();
    let head = [
        "API/STAGE",
        "ROUTE",
        "REQUESTS",
        "TIMEOUTS",
        "NEAR",
        "ERRORS",
        "N",
        "P50 MS",
        "P95 MS",
        "MAX MS",
        "LIMIT MS",
        "HEADROOM",
    ];
    let mut widths: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[&str]| {
        let mut s = String::from("  ");
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            let pad = w - cell.chars().count();
            if i < 2 {
                s.push_str(cell);
                s.push_str(&" ".repeat(pad));
            } else {
                s.push_str(&" ".repeat(pad));
                s.push_str(cell);
            }
            s.push_str("  ");
        }
        s.trim_end().to_owned()
    };
    let _ = writeln!(out, "{}", line(&head));
    for row in &rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        let _ = writeln!(out, "{}", line(&cells));
    }
}

// ---------------------------------------------------------------------------
// The incident report: summary, timeline, incidents, routes by impact,
// exemplars, remedies. Built once as data; text, Markdown, HTML and JSON read it.

/// What the report shows beyond the analysis.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Rows of the route table and incidents shown (0: all).
    pub top: usize,
    /// Exemplar requests per incident.
    pub exemplars: usize,
    /// Said first: inputs that could not be read, filters that matched nothing.
    pub warnings: Vec<String>,
    /// Configuration changes to relate to the incidents ("What changed").
    pub changes: crate::engine::changes::ChangeSource,
    /// The SLOs the "Error budget" section measures the logs against.
    pub slos: crate::engine::slo::SloSettings,
}

pub struct Report<'a> {
    pub analysis: &'a Analysis,
    pub timeline: Timeline,
    pub routes: Vec<RouteRow<'a>>,
    pub groups: Vec<Group<'a>>,
    /// Per SLO, the logs' budget and the notices a deployed doctor would have sent.
    pub budgets: Vec<crate::engine::budget::replay::SloReplay>,
    pub options: Options,
    /// Routes with at least 7 busy days when the logs span as many (drift toward the limit).
    pub drift: Vec<crate::engine::daily_latency::RouteTrend>,
}

impl<'a> Report<'a> {
    pub fn build(a: &'a Analysis, options: &Options) -> Report<'a> {
        let mut options = options.clone();
        if options.exemplars == 0 {
            options.exemplars = 3;
        }
        if a.summary.log_events > 0 && a.summary.requests == 0 && a.summary.unrecognised_lines > 0 {
            options.warnings.push(format!(
                "None of the {} log events read was an API Gateway request: the report covers nothing.",
                thousands(a.summary.log_events)
            ));
        }
        Report {
            analysis: a,
            timeline: timeline::timeline(a, None),
            routes: routes_by_impact(a),
            groups: groups(a, &options.changes),
            budgets: crate::engine::budget::replay::replay_all(
                &crate::engine::budget::counts(a, &options.slos),
                |k| options.slos.objective_of(k),
            ),
            options,
            drift: crate::engine::daily_latency::trends(&a.routes),
        }
    }

    pub fn shown_routes(&self) -> &[RouteRow<'a>] {
        match self.options.top {
            0 => &self.routes,
            n => &self.routes[..n.min(self.routes.len())],
        }
    }

    pub fn shown_groups(&self) -> &[Group<'a>] {
        match self.options.top {
            0 => &self.groups,
            n => &self.groups[..n.min(self.groups.len())],
        }
    }

    /// First and last timestamp of the requests.
    pub fn window(&self) -> Option<(i64, i64)> {
        let t = self
            .analysis
            .observations
            .iter()
            .filter_map(|o| o.timestamp.filter(|t| *t > 0));
        Some((t.clone().min()?, t.max()?))
    }

    pub fn worst_route(&self) -> Option<&RouteRow<'a>> {
        self.routes
            .first()
            .filter(|r| r.stats.timeouts + r.stats.errors + r.stats.near_limit > 0)
    }

    /// The first and last timeout: the incident's onset and end.
    pub fn onset_end(&self) -> Option<(i64, i64)> {
        let t = self
            .analysis
            .findings
            .iter()
            .filter(|f| f.kind == Kind::Timeout)
            .filter_map(|f| f.timestamp.filter(|t| *t > 0));
        Some((t.clone().min()?, t.max()?))
    }

    /// The summary's facts as (label, value) pairs, shared by the text and Markdown.
    pub fn summary_rows(&self) -> Vec<(&'static str, String)> {
        let s = &self.analysis.summary;
        let mut rows = Vec::new();
        rows.push((
            "Window",
            match self.window() {
                Some((lo, hi)) => format!(
                    "{} → {} ({})",
                    time(lo),
                    time(hi),
                    duration((hi - lo).max(0))
                ),
                None => "unknown (the logs carry no timestamps)".to_owned(),
            },
        ));
        let apis: std::collections::BTreeSet<(Option<&str>, &str, &str)> = self
            .analysis
            .routes
            .iter()
            .map(|r| {
                (
                    r.key.account.as_deref(),
                    r.key.api_id.as_str(),
                    r.key.stage.as_str(),
                )
            })
            .collect();
        rows.push((
            "Requests",
            format!(
                "{} on {} of {}",
                thousands(s.requests),
                plural(self.analysis.routes.len() as u64, "route", "routes"),
                plural(apis.len() as u64, "API stage", "API stages"),
            ),
        ));
        rows.push(("Timeouts", rate(s.timeouts, s.requests)));
        rows.push(("Errors", rate(s.errors, s.requests)));
        rows.push(("Near limit", thousands(s.near_limit)));
        if s.misconfigurations > 0 {
            rows.push(("Misconfig", thousands(s.misconfigurations)));
        }
        if let Some(w) = self.worst_route() {
            rows.push((
                "Worst route",
                format!(
                    "{}: {} timed out, {} with errors",
                    w.name(),
                    rate(w.stats.timeouts, w.stats.requests),
                    thousands(w.stats.errors),
                ),
            ));
        }
        rows.push((
            "Onset, end",
            match self.onset_end() {
                Some((a, b)) => format!("first timeout {}, last {}", time(a), time(b)),
                None => "no timeouts".to_owned(),
            },
        ));
        rows.push((
            "Read",
            format!(
                "{}, {} not recognised",
                plural(s.log_events, "log event", "log events"),
                thousands(s.unrecognised_lines)
            ),
        ));
        rows
    }

    pub fn json(&self) -> String {
        let a = self.analysis;
        let doc = ReportJson {
            summary: &a.summary,
            findings: a.findings.iter().map(FindingJson::new).collect(),
            routes: RouteJson::all(&a.routes, &a.route_health),
            limits: a.routes.iter().map(LimitJson::new).collect(),
            functions: &a.functions,
            timeline: &self.timeline,
            incidents: self
                .groups
                .iter()
                .map(|g| IncidentJson {
                    account: g.account,
                    kind: g.kind.as_str(),
                    backend: g.backend.as_deref(),
                    cause: g.cause.as_str(),
                    api_id: g.api_id,
                    stage: g.stage,
                    route: &g.target,
                    count: g.count(),
                    route_requests: g.route_requests,
                    rate_pct: g.rate(),
                    first: g.first,
                    last: g.last,
                    exemplars: g
                        .findings
                        .iter()
                        .take(self.options.exemplars)
                        .map(|f| f.request_id.as_deref())
                        .collect(),
                    remedies: g.remedies(),
                    changes: changes::related_json(g),
                    changes_note: crate::render::words::change::status(&g.changes),
                })
                .collect(),
            changes: changes::in_window(&self.options.changes, self.window()),
            change_source: changes::ChangeSourceJson::of(&self.options.changes),
            budget: budget::json(&self.budgets),
            warnings: &self.options.warnings,
            drift: drift::json(a, &self.drift),
        };
        serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The text report: summary, timeline, incidents, routes, exemplars, remedies.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "apigw-doctor report\n");
        for w in &self.options.warnings {
            let _ = writeln!(out, "!! WARNING: {}\n", wrap(w, 12));
        }
        heading(&mut out, "SUMMARY");
        for (label, value) in self.summary_rows() {
            let _ = writeln!(out, "  {label:<12} {}", wrap(&value, 15));
        }
        out.push('\n');
        self.timeline_text(&mut out);
        heading(&mut out, "INCIDENTS");
        if self.groups.is_empty() {
            let _ = writeln!(out, "  {}", wrap(&self.nothing_found(), 2));
        }
        for (i, g) in self.shown_groups().iter().enumerate() {
            let _ = writeln!(out, "  {}. {}", i + 1, g.title());
            let _ = writeln!(out, "     {}", wrap(&group_facts(g), 5));
        }
        hidden(
            &mut out,
            self.groups.len(),
            self.shown_groups().len(),
            "incidents",
        );
        out.push('\n');
        self.changes_text(&mut out);
        self.budget_text(&mut out);
        self.routes_text(&mut out);
        drift::text(&mut out, self.analysis, &self.drift);
        if !self.groups.is_empty() {
            heading(&mut out, "EXEMPLARS (worst first)");
            for (i, g) in self.shown_groups().iter().enumerate() {
                let _ = writeln!(out, "  {}. {}", i + 1, g.title());
                for f in g.findings.iter().take(self.options.exemplars) {
                    exemplar_text(&mut out, f);
                }
            }
            heading(&mut out, "WHAT TO DO (once per incident)");
            for (i, g) in self.shown_groups().iter().enumerate() {
                let _ = writeln!(out, "  {}. {}", i + 1, g.title());
                for (n, r) in g.remedies().iter().enumerate() {
                    let _ = writeln!(out, "     {}. {}", n + 1, wrap(r, 8));
                }
                out.push('\n');
            }
            let _ = writeln!(
                out,
                "Every finding, one by one: --details. All of it as data: --format json."
            );
        }
        out
    }

    /// What the report says when it found nothing; never an all-clear about input it could not read.
    pub fn nothing_found(&self) -> String {
        let s = &self.analysis.summary;
        if !self.options.warnings.is_empty() || (s.requests == 0 && s.log_events > 0) {
            format!(
                "None found in what could be read ({} of {} log events were not recognised): this is not an all-clear.",
                thousands(s.unrecognised_lines),
                thousands(s.log_events)
            )
        } else if s.requests == 0 {
            "No requests in the input: this is not an all-clear.".to_owned()
        } else {
            format!(
                "No integration timeouts, near-limit requests or integration errors in {}.",
                plural(s.requests, "request", "requests")
            )
        }
    }

    /// "Error budget": per SLO, what the logs spent and what would have been sent.
    fn budget_text(&self, out: &mut String) {
        let lines = budget::lines(&self.budgets);
        if lines.is_empty() {
            return;
        }
        heading(out, "ERROR BUDGET (bad: timed out or 5XX)");
        for (spent, sent) in lines {
            let _ = writeln!(out, "  {}", wrap(&spent, 4));
            let _ = writeln!(out, "    {}", wrap(&sent, 4));
        }
        out.push('\n');
    }

    /// "What changed": per incident its ranked changes, or what is known of them.
    fn changes_text(&self, out: &mut String) {
        if self.groups.is_empty() {
            return;
        }
        let src = &self.options.changes;
        heading(
            out,
            &crate::render::words::change::section_title(src).to_uppercase(),
        );
        if let Some(note) = crate::render::words::change::source_note(src) {
            let _ = writeln!(out, "  {}\n", wrap(&note, 2));
            return;
        }
        for (i, g) in self.shown_groups().iter().enumerate() {
            let _ = writeln!(out, "  {}. {}", i + 1, g.title());
            for l in changes::lines(g, 3) {
                let text = match l.rank {
                    Some(r) => format!("{r}. {}", l.text),
                    None => l.text,
                };
                let _ = writeln!(out, "     {}", wrap(&text, 8));
                if let Some(u) = l.url {
                    let _ = writeln!(out, "        {u}");
                }
            }
        }
        out.push('\n');
    }

    fn timeline_text(&self, out: &mut String) {
        let t = &self.timeline;
        if t.buckets.is_empty() {
            return;
        }
        heading(
            out,
            &format!(
                "TIMELINE (per {}, UTC; bar: requests, # = timeouts; p95 from n ≥ 20, else n)",
                bucket_name(t.bucket_ms)
            ),
        );
        let max = t
            .buckets
            .iter()
            .map(|b| b.requests)
            .max()
            .unwrap_or(0)
            .max(1);
        let day_changes = t.buckets.first().map(|b| b.start_ms / 86_400_000)
            != t.buckets.last().map(|b| b.start_ms / 86_400_000);
        let rows: Vec<[String; 7]> = t
            .buckets
            .iter()
            .map(|b| {
                [
                    bucket_label(b.start_ms, day_changes),
                    thousands(b.requests),
                    thousands(b.timeouts),
                    thousands(b.errors),
                    thousands(b.near_limit),
                    bucket_p95(b),
                    bar(b.requests, b.timeouts, max, 24),
                ]
            })
            .collect();
        table(
            out,
            &[
                "TIME", "REQUESTS", "TIMEOUTS", "ERRORS", "NEAR", "P95 MS", "",
            ],
            &rows,
            &[0, 6],
        );
        if t.undated_requests > 0 {
            let _ = writeln!(
                out,
                "  ({} requests carried no timestamp)",
                thousands(t.undated_requests)
            );
        }
        out.push('\n');
    }

    fn routes_text(&self, out: &mut String) {
        if self.routes.is_empty() {
            return;
        }
        heading(
            out,
            "ROUTES BY IMPACT (P95 counts timeouts at the limit: ≥ when it falls on one)",
        );
        let rows: Vec<[String; 10]> = self
            .shown_routes()
            .iter()
            .map(|r| {
                [
                    r.name(),
                    thousands(r.stats.requests),
                    r.timeout_share(),
                    r.error_share(),
                    thousands(r.stats.near_limit),
                    r.stats.p50_ms.map_or_else(|| "-".to_owned(), thousands),
                    route_p95(r.stats),
                    thousands(r.stats.limit_ms),
                    r.first_seen.map_or_else(|| "-".to_owned(), short_time),
                    r.last_seen.map_or_else(|| "-".to_owned(), short_time),
                ]
            })
            .collect();
        table(
            out,
            &[
                "ROUTE", "REQUESTS", "TIMEOUT%", "ERROR%", "NEAR", "P50 MS", "P95 MS", "LIMIT MS",
                "FIRST", "LAST",
            ],
            &rows,
            &[0],
        );
        hidden(out, self.routes.len(), self.shown_routes().len(), "routes");
        out.push('\n');
    }
}
