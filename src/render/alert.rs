//! Incident notifications: the subject, the e-mail text, the AWS Chatbot / Amazon Q
//! Developer custom notification (Slack), and the automation JSON, packed into one
//! SNS `MessageStructure=json` message.
//!
//! Triage first: the first six lines of the e-mail say what happened, where, the
//! likely cause and the first three checks (links scoped to the incident's time
//! range); then the evidence (the onset request and the worst ones); the design
//! remedies come last, under "Afterwards".
//!
//! Log text is untrusted. Slack mrkdwn has no backslash escapes: only `&`, `<` and
//! `>` are escaped, and mention keywords are defused. E-mail and the subject get
//! log text without control characters. `metadata.additionalContext` carries raw
//! values (Chatbot does not render it as markdown).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::engine::diagnosis::{insights_query, safe_id};
use crate::engine::incidents::{Incident, Severity, Status};
use crate::model::backend::Backend;
use crate::model::diagnosis::{Headline, Remedy};
use crate::model::finding::Finding;
use crate::model::kind::{Cause, Kind};
use crate::render::display::{ms, seconds, thousands, time};
use crate::render::report::FindingJson;
use crate::render::words;

// One file per rendering of a notice.
mod account;
mod automation;
pub mod budget;
mod changes;
mod chatbot;
mod email;
pub mod opsgenie;
mod pager;
pub mod pagerduty;

pub use account::ConsolePortal;
use automation::automation_json;
use chatbot::chatbot_json;
use email::email_text;
pub use pager::{as_sent, key_from, OpsgenieRequest, Pages, ROUTING_KEY_PLACEHOLDER};

/// Examples per notification at most: the onset and the worst.
pub const MAX_EXAMPLES: usize = 3;
/// SNS message limit for email and Chatbot subscriptions (256 KB).
pub const MAX_MESSAGE_BYTES: usize = 262_144;
/// SNS subjects must be shorter than 100 characters.
const MAX_SUBJECT_CHARS: usize = 99;
/// Chatbot custom notifications take a description of at most 8,000 characters.
const MAX_CHATBOT_DESCRIPTION: usize = 7_500;
/// The automation JSON's schema name.
pub const SCHEMA: &str = "apigw-doctor/incident/1";
/// Logs Insights and dashboard links cover the incident plus this margin each side.
const LINK_MARGIN_MS: i64 = 5 * 60 * 1000;

/// What every notification needs besides the incident: where it runs, and settings.
#[derive(Debug, Clone, Default)]
pub struct AlertContext {
    /// The account the alert is about (the incident's, else the doctor's own).
    pub account: Option<String>,
    /// The doctor's own account: an alert about another says which one.
    pub home_account: Option<String>,
    /// Friendly account names by account id (`ACCOUNT_NAMES`).
    pub account_names: BTreeMap<String, String>,
    /// IAM Identity Center's portal, for console links into the incident's account.
    pub console_portal: Option<ConsolePortal>,
    pub region: Option<String>,
    /// Runbook link; `{api_id}`, `{stage}`, `{route}` are filled in.
    pub runbook_url: Option<String>,
    /// By API id, or `ACCOUNT:API` for one account's API.
    pub api_names: BTreeMap<String, String>,
    pub dashboard_name: Option<String>,
}

/// One notification about one incident.
#[derive(Debug, Clone)]
pub struct Notice<'a> {
    pub status: Status,
    /// The incident as stored after this step (totals over every batch and container).
    pub incident: &'a Incident,
    /// This invocation's findings of the incident, onset first (none for `resolved`).
    pub findings: Vec<&'a Finding>,
    /// For `update`: the affected count and route count at the previous notification.
    pub before: Option<(u64, usize)>,
    /// The state store failed: this may repeat a notification another container sent.
    pub possibly_duplicate: bool,
    /// The clock (epoch ms) when this notification is made.
    pub now: i64,
    /// The configuration changes before the onset (firing and update).
    pub changes: crate::engine::changes::ChangeEvidence,
}

/// An alert id that is the same in every process and release (FNV-1a over the parts).
pub fn stable_id(parts: &[&str]) -> String {
    let h = fnv1a(
        parts
            .iter()
            .flat_map(|p| p.bytes().chain(std::iter::once(0))),
    );
    format!("apigw-doctor-{h:016x}")
}

/// FNV-1a: the same in every process and release, unlike std's hasher.
pub use crate::model::incident::fnv1a;

// ---------------------------------------------------------------- escaping

/// Plain text from logs, safe for email and JSON: no control characters but newlines.
pub fn plain(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .collect()
}

/// Text from logs, safe inside Slack mrkdwn. Slack has no backslash escapes: only `&`,
/// `<` and `>` are escaped (so that no `<!channel>` or `<http://evil|click>` can be
/// formed), mention keywords get a word joiner, control characters go.
pub fn slack(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c if c.is_control() && c != '\n' => {}
            c => out.push(c),
        }
    }
    for word in ["@here", "@channel", "@everyone"] {
        out = out.replace(word, &format!("@\u{2060}{}", &word[1..]));
    }
    out
}

/// An identifier, verbatim in a Slack code span (a backtick would end the span).
pub fn code(s: &str) -> String {
    format!("`{}`", slack(&s.replace('`', "'")).replace('\n', " "))
}

/// A Slack link; the URL is ours (percent-encoded), the text may come from logs.
fn slack_link(href: &str, text: &str) -> String {
    format!(
        "<{}|{}>",
        href.replace(['<', '>', '|'], ""),
        slack(text).replace('|', "¦")
    )
}

/// An SNS subject: one line, no control characters, fewer than 100 characters.
pub fn subject_line(s: &str) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let collapsed = one_line.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= MAX_SUBJECT_CHARS {
        collapsed
    } else {
        let mut t: String = collapsed.chars().take(MAX_SUBJECT_CHARS - 1).collect();
        t.push('…');
        t
    }
}

// ---------------------------------------------------------------- facts

/// What the kind is called in a subject and a title.
fn kind_label(i: &Incident) -> String {
    let (kind, cause) = (i.key.kind, i.cause);
    match kind {
        // 503 for HTTP APIs, 504 for REST and WebSocket: the status the clients got.
        Kind::Timeout => format!("{} timeouts", i.status.unwrap_or(504)),
        Kind::NearLimit => "near-limit latency".to_owned(),
        Kind::Error => match cause {
            Cause::FunctionTimeout => "function timeouts",
            Cause::FunctionError => "function errors",
            Cause::LambdaThrottled => "Lambda throttling",
            Cause::LambdaPermissions => "invoke permission errors",
            Cause::MalformedProxyResponse => "malformed proxy responses",
            Cause::AuthorizerError => "authorizer errors",
            Cause::ConfigurationError => "configuration errors",
            _ => "integration errors",
        }
        .to_owned(),
        Kind::Misconfiguration => "function timeout over the limit".to_owned(),
    }
}

/// What the affected requests did, for the "what happened" line.
fn kind_verb(i: &Incident) -> String {
    let (kind, cause) = (i.key.kind, i.cause);
    match kind {
        Kind::Timeout => format!("timed out ({})", i.status.unwrap_or(504)),
        Kind::NearLimit => "came close to the integration timeout".to_owned(),
        Kind::Error => format!("failed: {}", words::cause::title(cause)),
        Kind::Misconfiguration => {
            "ran into a function timeout longer than the gateway waits".to_owned()
        }
    }
}

/// `80 of 100 (80%)`, or the count alone when the requests are unknown.
fn ratio(i: &Incident) -> String {
    match i.rate() {
        Some(_) => crate::render::display::rate(i.affected.min(i.requests), i.requests),
        None => thousands(i.affected),
    }
}

/// Routes, the most affected first.
fn routes_by_impact(i: &Incident) -> Vec<(&str, u64, u64)> {
    let mut v: Vec<(&str, u64, u64)> = i
        .routes
        .iter()
        .map(|(r, c)| (r.as_str(), c.requests, c.affected))
        .collect();
    v.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(b.0)));
    v
}

fn api_label(ctx: &AlertContext, api_id: &str) -> String {
    match ctx.api_name(ctx.account.as_deref(), api_id) {
        Some(name) => format!("{name} ({api_id})"),
        None => api_id.to_owned(),
    }
}

fn backend_text(b: Option<&Backend>, key_backend: Option<&str>) -> Option<String> {
    match (b, key_backend) {
        (Some(b), _) => Some(b.to_string()),
        (None, Some(k)) => Some(k.replacen(':', " ", 1)),
        (None, None) => None,
    }
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Firing => "FIRING",
        Status::Update => "UPDATE",
        Status::Resolved => "RESOLVED",
    }
}

/// `[FIRING] 504 timeouts 80 of 100 (80%) GET /reports/{reportId} · a1b2c3d4e5/prod`:
/// the route before the API id, so that a cut keeps what tells incidents apart.
/// Another account's incident names it before the API: `· payments-prod:a1b2c3d4e5/prod`.
pub fn subject(n: &Notice<'_>, ctx: &AlertContext) -> String {
    subject_line(&format!(
        "[{}] {}",
        status_word(n.status),
        headline_text(n, ctx)
    ))
}

/// The subject without its status and uncut (a pager's title, which has its own status).
fn headline_text(n: &Notice<'_>, ctx: &AlertContext) -> String {
    let i = n.incident;
    let routes = routes_by_impact(i);
    let where_ = match routes.as_slice() {
        [] => String::new(),
        [(r, _, _)] => format!("{r} "),
        [(r, _, _), rest @ ..] => format!(
            "{r} +{} route{} ",
            rest.len(),
            if rest.len() == 1 { "" } else { "s" }
        ),
    };
    let account = match ctx.foreign_account() {
        Some(a) => format!("{}:", ctx.account_short(a)),
        None => String::new(),
    };
    let api = match n.incident.key.api_id.as_str() {
        "unknown" if account.is_empty() => String::new(),
        "unknown" => format!("· {account}"),
        id => format!("· {account}{}/{}", id, i.key.stage),
    };
    format!("{} {} {where_}{api}", kind_label(i), ratio(i))
        .trim_end()
        .to_owned()
}

/// The incident's time range, for links: first seen − 5 min to last seen (or now) + 5 min.
fn link_window(n: &Notice<'_>) -> (i64, i64) {
    let i = n.incident;
    let start = i.first_seen.unwrap_or(i.opened_at) - LINK_MARGIN_MS;
    // The logs' clock when they carry one (replayed logs are days old), else ours.
    let end = i.last_seen.unwrap_or(match n.status {
        Status::Resolved => i.last_activity,
        _ => n.now,
    }) + LINK_MARGIN_MS;
    (start, end.max(start + 60_000))
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// The Logs Insights console link: the query detail is a rison-like string whose
/// values are percent-encoded with `*` for `%` (as the console writes them).
fn insights_url(region: &str, log_group: &str, query: &str, start: i64, end: i64) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const SET: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');
    let inner = |s: &str| utf8_percent_encode(s, SET).to_string().replace('%', "*");
    format!(
        "https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logsV2:logs-insights$3FqueryDetail$3D~(end~'{}~start~'{}~timeType~'ABSOLUTE~tz~'UTC~editorString~'{}~source~(~'{}))",
        inner(&iso(end)),
        inner(&iso(start)),
        inner(query),
        inner(log_group)
    )
}

/// A link and its text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Link {
    pub href: String,
    pub text: String,
}

/// The incident's Logs Insights query: its example requests, else its kind of line.
fn incident_query(n: &Notice<'_>) -> String {
    let ids: Vec<&str> = examples(&n.findings)
        .iter()
        .filter_map(|f| f.request_id.as_deref())
        .collect();
    if !ids.is_empty() {
        return insights_query(&ids);
    }
    let filter = match n.incident.key.kind {
        Kind::Timeout => "@message like /timeout error|INTEGRATION_TIMEOUT|status: 504/",
        Kind::NearLimit => "@message like /Received response/",
        Kind::Error | Kind::Misconfiguration => {
            "@message like /Execution failed|Lambda execution failed|status: 5\\d\\d/"
        }
    };
    format!("fields @timestamp, @message | filter {filter} | sort @timestamp asc | limit 200")
}

/// The first three checks, then the runbook: each scoped to the incident when the link can be.
pub fn links(n: &Notice<'_>, ctx: &AlertContext) -> Vec<Link> {
    let i = n.incident;
    let mut out = Vec::new();
    let region = i
        .backend
        .as_ref()
        .and_then(Backend::region)
        .or(ctx.region.as_deref())
        .map(safe_id);
    let (start, end) = link_window(n);
    if let Some(region) = &region {
        if !i.log_group.is_empty() {
            out.push(ctx.console_link(
                insights_url(region, &i.log_group, &incident_query(n), start, end),
                format!(
                    "Logs Insights on {}, {} to {}",
                    i.log_group,
                    time(start),
                    time(end)
                ),
            ));
        }
        match i.backend.as_ref() {
            // The function may live in another account than the API: its ARN says.
            Some(Backend::Lambda {
                function_name,
                function_arn,
                ..
            }) => out.push(ctx.console_link_in(
                crate::model::scope::arn_account(function_arn).or(ctx.account.as_deref()),
                format!(
                    "https://{region}.console.aws.amazon.com/lambda/home?region={region}#/functions/{}?tab=monitoring",
                    safe_id(function_name)
                ),
                format!("Lambda function {function_name}: monitoring"),
            )),
            _ if i.key.api_id != "unknown" => out.push(ctx.console_link(
                format!(
                    "https://{region}.console.aws.amazon.com/apigateway/main/apis/{api}/stages?api={api}&region={region}",
                    api = safe_id(&i.key.api_id)
                ),
                format!("API {} stages and integrations", i.key.api_id),
            )),
            _ => {}
        }
        // The dashboard is the doctor's own.
        if let Some(d) = &ctx.dashboard_name {
            out.push(ctx.console_link_in(
                ctx.home_account.as_deref(),
                format!(
                    "https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#dashboards:name={};start={};end={}",
                    safe_id(d),
                    iso(start),
                    iso(end)
                ),
                format!("Dashboard {d}, same time range"),
            ));
        }
    }
    if let Some(r) = &ctx.runbook_url {
        let route = routes_by_impact(i)
            .first()
            .map(|r| r.0.to_owned())
            .unwrap_or_default();
        let enc = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        out.push(Link {
            href: r
                .replace("{api_id}", &enc(&i.key.api_id))
                .replace("{stage}", &enc(&i.key.stage))
                .replace("{route}", &enc(&route)),
            text: "Runbook".to_owned(),
        });
    }
    out
}

/// The onset (first) finding, then the worst others (longest wait), at most MAX_EXAMPLES.
pub fn examples<'a>(findings: &[&'a Finding]) -> Vec<&'a Finding> {
    let Some(onset) = findings.first() else {
        return Vec::new();
    };
    let mut rest: Vec<&Finding> = findings[1..].to_vec();
    let wait = |f: &Finding| f.elapsed_ms.or(f.integration_latency_ms).unwrap_or(0);
    rest.sort_by(|a, b| {
        wait(b)
            .cmp(&wait(a))
            .then(b.ended_at.or(b.timestamp).cmp(&a.ended_at.or(a.timestamp)))
    });
    let mut out = vec![*onset];
    out.extend(rest.into_iter().take(MAX_EXAMPLES - 1));
    out
}

fn invoked_word(f: &Finding) -> &'static str {
    match f.invoked {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    }
}

/// The function's own timeout, when its log group is subscribed.
fn function_timeout(f: &Finding) -> Option<String> {
    let func = f.function.as_ref()?;
    func.configured_timeout_s
        .map(|s| format!("{} (from its own log)", seconds((s * 1000.0) as u64)))
}

/// The facts of one example, in the order a responder reads them.
fn example_facts(f: &Finding) -> Vec<(&'static str, String)> {
    let mut v = Vec::new();
    match (f.kind, f.ended_at.or(f.timestamp)) {
        (Kind::Timeout, Some(end)) => {
            v.push(("504 sent", time(end)));
            if let Some(start) = f.timestamp.filter(|s| *s != end) {
                v.push(("request started", time(start)));
            }
        }
        (_, Some(t)) => v.push(("at", time(t))),
        _ => {}
    }
    if matches!(f.kind, Kind::Timeout | Kind::Error) {
        v.push(("invoked", invoked_word(f).to_owned()));
    }
    if let Some(e) = f.elapsed_ms {
        v.push(("waited", format!("{} of {}", ms(e), ms(f.limit_ms))));
    } else if let Some(l) = f.integration_latency_ms {
        v.push((
            "integration latency",
            format!("{} of {}", ms(l), ms(f.limit_ms)),
        ));
    } else {
        v.push(("limit", ms(f.limit_ms)));
    }
    if let Some(s) = f.status {
        v.push(("status", s.to_string()));
    }
    if let Some(d) = &f.detail {
        v.push(("error", d.clone()));
    }
    if let Some(t) = function_timeout(f) {
        v.push(("function timeout", t));
    } else if let Some(Backend::Lambda { function_name, .. }) = &f.backend {
        v.push((
            "function timeout",
            format!("unknown (subscribe /aws/lambda/{function_name} to see it)"),
        ));
    }
    if let Some(id) = &f.lambda_request_id {
        v.push(("Lambda request", id.clone()));
    }
    if let Some(id) = &f.xray_trace_id {
        v.push(("X-Ray trace", id.clone()));
    }
    v
}

/// Each example's facts, leaving out those the onset already gave (same name and value),
/// except the times that tell the examples apart.
fn facts_once(shown: &[&Finding]) -> Vec<Vec<(&'static str, String)>> {
    let all: Vec<Vec<(&'static str, String)>> = shown.iter().map(|f| example_facts(f)).collect();
    let Some(onset) = all.first().cloned() else {
        return all;
    };
    all.into_iter()
        .enumerate()
        .map(|(k, facts)| {
            if k == 0 {
                return facts;
            }
            facts
                .into_iter()
                .filter(|fact| {
                    matches!(fact.0, "504 sent" | "request started" | "at") || !onset.contains(fact)
                })
                .collect()
        })
        .collect()
}

/// The remedies of the onset finding; for a timeout, retry advice goes last: retries
/// add load to a backend that is already too slow.
fn afterwards(n: &Notice<'_>) -> Vec<String> {
    let Some(f) = n.findings.first() else {
        return Vec::new();
    };
    let mut r = words::diagnosis::remedies(f);
    if matches!(n.incident.key.kind, Kind::Timeout | Kind::NearLimit) {
        r.sort_by_key(Remedy::priority);
    }
    r.iter().map(words::remedy::words).collect()
}

fn afterwards_title(kind: Kind) -> &'static str {
    match kind {
        Kind::Timeout | Kind::NearLimit => "Afterwards (design)",
        Kind::Error | Kind::Misconfiguration => "To fix",
    }
}

/// The first lines, as facts: (what, where, likely cause).
fn triage(n: &Notice<'_>, ctx: &AlertContext) -> (String, String, String) {
    let i = n.incident;
    let place = match (
        ctx.account.as_deref().map(|a| ctx.account_label(a)),
        &ctx.region,
    ) {
        (Some(a), Some(r)) => format!(" in account {a}, {r}"),
        (Some(a), None) => format!(" in account {a}"),
        (None, Some(r)) => format!(" in {r}"),
        (None, None) => String::new(),
    };
    let count = match i.rate() {
        Some(_) => {
            crate::render::display::rate_of(i.affected.min(i.requests), i.requests, "requests")
        }
        None => format!(
            "{} request{}",
            thousands(i.affected),
            if i.affected == 1 { "" } else { "s" }
        ),
    };
    let since = i
        .first_seen
        .map(|t| format!(" since {}", time(t)))
        .unwrap_or_default();
    let state = match n.status {
        Status::Firing | Status::Update => match i.last_seen {
            Some(t) => format!("; still happening (latest at {})", time(t)),
            None => "; still happening".to_owned(),
        },
        Status::Resolved => format!(
            "; no new finding since {}, resolved after {} quiet",
            time(i.last_activity),
            seconds(n.now.saturating_sub(i.last_activity).max(0) as u64 / 1000 * 1000)
        ),
    };
    let dup = if n.possibly_duplicate {
        " (possible duplicate: the shared state was unavailable)"
    } else {
        ""
    };
    let worse = match (n.status, n.before) {
        (Status::Update, Some((a, r))) => {
            let mut parts = vec![format!("was {}", thousands(a))];
            if i.routes.len() > r {
                parts.push(format!("{} new route(s)", i.routes.len() - r));
            }
            format!(" [{}]", parts.join(", "))
        }
        _ => String::new(),
    };
    let what = format!(
        "{} {}{place}{dup}: {count} {}{since}{state}{worse}.",
        status_word(n.status),
        i.severity.as_str(),
        kind_verb(i)
    );
    let routes = routes_by_impact(i);
    let route_list: Vec<String> = routes
        .iter()
        .take(5)
        .map(|(r, req, aff)| format!("{r} {}", crate::render::display::rate(*aff, *req)))
        .collect();
    let more = routes.len().saturating_sub(5);
    let route_text = match routes.len() {
        0 => String::new(),
        1 => format!("{}; ", route_list[0]),
        n => format!(
            "{n} routes: {}{}; ",
            route_list.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ),
    };
    let behind = backend_text(i.backend.as_ref(), i.key.backend.as_deref())
        .map(|b| format!("{b}; "))
        .unwrap_or_else(|| "backend not in the logs; ".to_owned());
    let where_ = format!(
        "Where: {route_text}{behind}API {} stage {}.",
        api_label(ctx, &i.key.api_id),
        i.key.stage
    );
    let said = |h: &Headline| Some(words::diagnosis::headline(h)).filter(|h| !h.is_empty());
    let headline = n
        .findings
        .first()
        .and_then(|f| said(&f.diagnosis.headline))
        .or_else(|| i.onset.as_ref().and_then(said));
    let cause = match headline {
        Some(h) => format!("Likely cause: {h}"),
        None => format!("Likely cause: {}.", words::cause::title(i.cause)),
    };
    (what, where_, cause)
}

/// The renderings plus the SNS message that carries them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub id: String,
    pub subject: String,
    pub email: String,
    pub chatbot: String,
    pub automation: String,
    /// `MessageStructure=json`: {"default": chatbot, "email": email, "sqs"/"lambda": automation}.
    pub message: String,
    /// The PagerDuty and Opsgenie bodies (no key in them: the notifiers add it);
    /// `None`: not for a pager (the drift digest), which the pager notifiers skip.
    pub pages: Option<Pages>,
}

/// The SNS `MessageStructure=json` body of the three renderings.
pub(crate) fn message(chatbot: &str, email: &str, automation: &str) -> String {
    serde_json::json!({ "default": chatbot, "email": email, "sqs": automation, "lambda": automation }).to_string()
}

/// Renders one notification, dropping examples (never cutting JSON) until it fits in SNS's 256 KB.
pub fn render(n: &Notice<'_>, ctx: &AlertContext) -> Rendered {
    let subject = subject(n, ctx);
    let links = links(n, ctx);
    let (what, _, _) = triage(n, ctx);
    let summary = plain(&what);
    let mut examples_n = MAX_EXAMPLES;
    loop {
        let email = email_text(n, ctx, &links, examples_n);
        let chatbot_v = chatbot_json(n, ctx, &subject, &links, examples_n);
        let chatbot = chatbot_v.to_string();
        let automation = automation_json(
            n, ctx, &subject, &email, &chatbot_v, &links, &summary, examples_n,
        )
        .to_string();
        let message = message(&chatbot, &email, &automation);
        let description = chatbot_v["content"]["description"]
            .as_str()
            .map_or(0, |d| d.chars().count());
        if (message.len() <= MAX_MESSAGE_BYTES && description <= MAX_CHATBOT_DESCRIPTION)
            || examples_n == 0
        {
            let pages = Some(pages(n, ctx, &links, &email));
            return Rendered {
                id: format!(
                    "{}-{}-{}",
                    n.incident.id,
                    n.status.as_str(),
                    n.incident.version
                ),
                subject,
                email,
                chatbot,
                automation,
                message,
                pages,
            };
        }
        examples_n -= 1;
    }
}

/// The pages of one notification.
fn pages(n: &Notice<'_>, ctx: &AlertContext, links: &[Link], email: &str) -> Pages {
    let f = pager::facts(n, ctx);
    Pages {
        pagerduty: pagerduty::event(n, ctx, &f, links),
        opsgenie: opsgenie::request(n, ctx, &f, links, email),
    }
}

/// The pages of the summary of the incidents over the cap: a trigger / create of its
/// own (its id as dedup key and alias), at the worst severity among them.
fn summary_pages(
    id: &str,
    title: &str,
    email: &str,
    worst: Severity,
    items: &[serde_json::Value],
) -> Pages {
    Pages {
        pagerduty: pagerduty::summary_event(id, title, worst, items),
        opsgenie: opsgenie::summary_request(id, title, email, worst),
    }
}

/// One alert for the incidents over MAX_ALERTS_PER_INVOCATION, so that a storm of
/// distinct incidents still tells someone, once.
pub fn render_summary(
    notices: &[Notice<'_>],
    now: i64,
    context_for: impl Fn(&Incident) -> AlertContext,
) -> Rendered {
    let total: u64 = notices.iter().map(|n| n.incident.affected).sum();
    let title = subject_line(&format!(
        "[FIRING] apigw-doctor: {} more incidents ({} requests) not sent one by one",
        notices.len(),
        total
    ));
    let mut email = format!("{title}.\nThe per-invocation alert cap was reached; these incidents were recorded but not notified separately:\n\n");
    let mut md = String::from(
        "The per-invocation alert cap was reached; these incidents were recorded but not notified separately:",
    );
    let mut items = Vec::new();
    let mut ids: Vec<&str> = vec!["summary"];
    for n in notices {
        let ctx = context_for(n.incident);
        let s = subject(n, &ctx);
        let _ = writeln!(email, "- {s} (incident {})", n.incident.id);
        let _ = write!(md, "\n• {}", slack(&s));
        // The account and Region as the incident's own alert names them: on a central
        // stream the same API id and stage can be two accounts' incidents.
        items.push(serde_json::json!({"incident_id": n.incident.id, "status": n.status.as_str(),
            "severity": n.incident.severity.as_str(), "kind": n.incident.key.kind.as_str(),
            "account": ctx.account, "region": ctx.region,
            "api_id": n.incident.key.api_id, "stage": n.incident.key.stage, "affected": n.incident.affected}));
        ids.push(&n.incident.id);
    }
    let id = stable_id(&ids);
    let _ = writeln!(email, "\nSee the metrics dashboard, or run `apigw-doctor analyze` on the batch, for the details.\nSummary {id}, {}.", time(now));
    let email = plain(&email);
    let chatbot = serde_json::json!({
        "version": "1.0", "source": "custom", "id": id,
        "content": {"textType": "client-markdown", "title": format!(":warning: {}", slack(&title)), "description": md,
                    "keywords": ["summary"]},
        "metadata": {"threadId": "apigw-doctor/summary", "summary": slack(&title), "eventType": "summary"},
    })
    .to_string();
    let automation = serde_json::json!({"schema": "apigw-doctor/summary/1", "summary_id": id, "incidents": items}).to_string();
    let message = message(&chatbot, &email, &automation);
    let worst = notices
        .iter()
        .map(|n| n.incident.severity)
        .min()
        .unwrap_or(Severity::Warning);
    let pages = Some(summary_pages(&id, &title, &email, worst, &items));
    Rendered {
        id,
        subject: title,
        email,
        chatbot,
        automation,
        message,
        pages,
    }
}

#[cfg(test)]
mod tests;
