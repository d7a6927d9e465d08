//! The CLI's renderings of an [`Analysis`]: a text report for people, JSON for tools.

use std::fmt::Write as _;

use crate::engine::analysis::{Analysis, Finding, Percentile, Summary};
use crate::engine::findings::Kind;
use crate::render::display::{ms, rate, thousands, time};

/// Near-limit findings shown one by one in the text report; the rest are counted.
const NEAR_LIMIT_SHOWN: usize = 10;
const WIDTH: usize = 100;

/// One finding as the JSON report and the automation alert carry it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FindingJson<'a> {
    pub kind: &'static str,
    pub cause: &'static str,
    pub request_id: Option<&'a str>,
    pub api_id: &'a str,
    pub stage: &'a str,
    pub route: &'a str,
    pub status: Option<u16>,
    pub invoked: Option<bool>,
    pub integration_latency_ms: Option<u64>,
    pub elapsed_ms: Option<u64>,
    pub limit_ms: u64,
    pub api_type: crate::engine::limits::ApiKind,
    pub backend: Option<&'a crate::engine::backend::Backend>,
    pub timestamp: Option<i64>,
    pub diagnosis: String,
    pub headline: &'a str,
    pub evidence: &'a [String],
    pub cannot_show: &'a [String],
    pub route_health: Option<&'a str>,
    pub remedies: &'a [String],
    pub insights_query: Option<&'a str>,
    pub console_url: Option<&'a str>,
    pub log_group: &'a str,
    pub log_stream: &'a str,
    pub lambda_request_id: Option<&'a str>,
    pub xray_trace_id: Option<&'a str>,
    /// The backend run that served the request (connect or read), and the verdict.
    pub backend_run: Option<&'a crate::engine::backend_run::BackendRun>,
    pub wait: crate::engine::backend_run::Wait,
}

impl<'a> FindingJson<'a> {
    pub fn new(f: &'a Finding) -> Self {
        FindingJson {
            kind: f.kind.as_str(),
            cause: f.cause.as_str(),
            request_id: f.request_id.as_deref(),
            api_id: &f.api_id,
            stage: &f.stage,
            route: f.route.as_str(),
            status: f.status,
            invoked: f.invoked,
            integration_latency_ms: f.integration_latency_ms,
            elapsed_ms: f.elapsed_ms,
            limit_ms: f.limit_ms,
            api_type: f.api_kind,
            backend: f.backend.as_ref(),
            timestamp: f.timestamp,
            diagnosis: f.diagnosis.text(),
            headline: &f.diagnosis.headline,
            evidence: &f.diagnosis.shows,
            cannot_show: &f.diagnosis.cannot_show,
            route_health: f.diagnosis.route_health.as_deref(),
            remedies: &f.diagnosis.remedies,
            insights_query: f.diagnosis.insights_query.as_deref(),
            console_url: f.diagnosis.console_url.as_deref(),
            log_group: &f.provenance.log_group,
            log_stream: &f.provenance.log_stream,
            lambda_request_id: f.lambda_request_id.as_deref(),
            xray_trace_id: f.xray_trace_id.as_deref(),
            backend_run: f.run.backend_run.as_ref(),
            wait: f.run.wait,
        }
    }
}

#[derive(serde::Serialize)]
struct ReportJson<'a> {
    summary: &'a Summary,
    findings: Vec<FindingJson<'a>>,
    routes: &'a [crate::engine::analysis::RouteStats],
    functions: &'a [crate::engine::analysis::FunctionStats],
}

pub fn json(a: &Analysis) -> String {
    let doc = ReportJson {
        summary: &a.summary,
        findings: a.findings.iter().map(FindingJson::new).collect(),
        routes: &a.routes,
        functions: &a.functions,
    };
    serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
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
    for (i, word) in text.split(' ').filter(|w| !w.is_empty()).enumerate() {
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

fn invoked_text(f: &Finding) -> &'static str {
    match f.invoked {
        Some(true) => "yes",
        Some(false) => "no: the integration never received the request",
        None => "unknown from these logs",
    }
}

/// What a finding is about: the route, or the Lambda function for a misconfiguration.
pub fn target(f: &Finding) -> String {
    match (&f.function, f.kind) {
        (Some(func), Kind::Misconfiguration) if f.route.is_unknown() => {
            format!("Lambda function {}", func.name)
        }
        (Some(func), Kind::Misconfiguration) => {
            format!(
                "Lambda function {} behind {}/{} {}",
                func.name, f.api_id, f.stage, f.route
            )
        }
        _ => format!("{}/{} {}", f.api_id, f.stage, f.route),
    }
}

pub fn finding_text(out: &mut String, f: &Finding) {
    let status = f.status.map(|s| format!(" · {s}")).unwrap_or_default();
    let _ = writeln!(
        out,
        "── {} · {} · {}{status}",
        f.kind.as_str().to_uppercase(),
        f.cause,
        target(f)
    );
    if let Some(id) = &f.request_id {
        let at = f
            .timestamp
            .map(|t| format!(" at {}", time(t)))
            .unwrap_or_default();
        field(out, "Request", &format!("{id}{at}"));
    }
    field(out, "What", &f.diagnosis.headline);
    if let Some(b) = &f.backend {
        field(out, "Backend", &b.to_string());
    }
    if f.kind == Kind::Timeout {
        field(out, "Invoked", invoked_text(f));
    }
    if let Some(e) = f.elapsed_ms {
        field(
            out,
            "Elapsed",
            &format!("{} after sending (limit {})", ms(e), ms(f.limit_ms)),
        );
    }
    list(out, "Evidence", &f.diagnosis.shows, false);
    list(out, "Not shown", &f.diagnosis.cannot_show, false);
    if let Some(h) = &f.diagnosis.route_health {
        field(out, "Route", h);
    }
    list(out, "Do this", &f.diagnosis.remedies, true);
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
        finding_text(&mut out, f);
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

fn route_table(out: &mut String, a: &Analysis) {
    if a.routes.is_empty() {
        return;
    }
    let _ = writeln!(out, "Latency headroom by route (integration latency, timeouts counted as ≥ their limit; percentiles from n ≥ 20; headroom = limit − p95)");
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
                format!("{}/{}", r.key.api_id, r.key.stage),
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
