//! Findings → alerts: grouping, cooldown, a cap per invocation, and the renderings
//! (subject, email text, AWS Chatbot / Amazon Q Developer custom notification,
//! automation JSON) packed into one SNS `MessageStructure=json` message.
//!
//! Log text is untrusted: everything taken from logs is escaped for Slack markdown
//! and stripped of control characters for email and the subject.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use crate::engine::analysis::{Analysis, Finding};
use crate::engine::diagnosis::insights_query;
use crate::engine::findings::{Cause, Kind};
use crate::render::display::{capitalised, ms, seconds, thousands, time};
use crate::render::report::FindingJson;

/// Examples per alert at most (the worst first).
pub const MAX_EXAMPLES: usize = 5;
/// SNS message limit for email and Chatbot subscriptions (256 KB).
pub const MAX_MESSAGE_BYTES: usize = 262_144;
/// SNS subjects must be shorter than 100 characters.
const MAX_SUBJECT_CHARS: usize = 99;

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub cooldown_secs: u64,
    pub max_alerts: usize,
    pub near_limit_min: u64,
}

/// (api, stage, route, kind, cause): one alert per group per invocation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupKey {
    pub api_id: String,
    pub stage: String,
    pub route: String,
    pub kind: Kind,
    pub cause: Cause,
}

impl GroupKey {
    fn of(f: &Finding) -> GroupKey {
        let route = match (&f.function, f.kind) {
            (Some(func), Kind::Misconfiguration) => format!("Lambda function {}", func.name),
            _ => f.route.to_string(),
        };
        GroupKey {
            api_id: f.api_id.clone(),
            stage: f.stage.clone(),
            route,
            kind: f.kind,
            cause: f.cause,
        }
    }
    fn thread_id(&self) -> String {
        format!("apigw-doctor/{}/{}/{}", self.api_id, self.stage, self.route)
    }
}

/// Cooldown memory, kept in the warm container between invocations.
#[derive(Debug, Default)]
pub struct AlertState {
    /// Group → (last sent, epoch seconds; findings suppressed since).
    groups: HashMap<GroupKey, (u64, u64)>,
}

#[derive(Debug, Clone)]
pub struct Alert<'a> {
    pub id: String,
    pub key: GroupKey,
    pub findings: Vec<&'a Finding>,
    /// Findings of this group suppressed by the cooldown since the last alert.
    pub suppressed_before: u64,
}

/// Groups over the cap, folded into one summary alert.
#[derive(Debug, Clone)]
pub struct Summary<'a> {
    pub id: String,
    pub groups: Vec<(GroupKey, Vec<&'a Finding>)>,
}

/// Why a group was not alerted this time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// Alerted within ALERT_COOLDOWN_SECONDS: counted, reported by the next alert.
    Cooldown,
    /// Fewer near-limit requests than NEAR_LIMIT_ALERT_MIN.
    BelowNearLimitMin,
}

impl Held {
    pub fn as_str(self) -> &'static str {
        match self {
            Held::Cooldown => "cooldown",
            Held::BelowNearLimitMin => "below NEAR_LIMIT_ALERT_MIN",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Plan<'a> {
    pub alerts: Vec<Alert<'a>>,
    pub summary: Option<Summary<'a>>,
    /// Groups held back by the cooldown (or below NEAR_LIMIT_ALERT_MIN), with their counts.
    pub held: Vec<(GroupKey, u64, Held)>,
}

impl Plan<'_> {
    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty() && self.summary.is_none()
    }
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
pub fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn severity(k: Kind) -> u8 {
    match k {
        Kind::Timeout => 0,
        Kind::Misconfiguration => 1,
        Kind::Error => 2,
        Kind::NearLimit => 3,
    }
}

/// Decides what to send; `state` changes only through [`AlertState::commit`], after
/// the alerts went out, so that a failed publish is retried in full.
pub fn plan<'a>(
    analysis: &'a Analysis,
    state: &AlertState,
    policy: Policy,
    now_secs: u64,
) -> Plan<'a> {
    let mut groups: BTreeMap<GroupKey, Vec<&Finding>> = BTreeMap::new();
    for f in &analysis.findings {
        groups.entry(GroupKey::of(f)).or_default().push(f);
    }
    let mut plan = Plan::default();
    let mut due = Vec::new();
    for (key, mut findings) in groups {
        let n = findings.len() as u64;
        if key.kind == Kind::NearLimit && n < policy.near_limit_min {
            plan.held.push((key, n, Held::BelowNearLimitMin));
            continue;
        }
        let suppressed_before = match state.groups.get(&key) {
            Some((sent, _)) if now_secs < sent + policy.cooldown_secs => {
                plan.held.push((key, n, Held::Cooldown));
                continue;
            }
            Some((_, suppressed)) => *suppressed,
            None => 0,
        };
        // Worst first: the longest wait, then the latest.
        findings.sort_by(|a, b| {
            let w = |f: &Finding| f.elapsed_ms.or(f.integration_latency_ms).unwrap_or(0);
            w(b).cmp(&w(a)).then(b.timestamp.cmp(&a.timestamp))
        });
        due.push((key, findings, suppressed_before));
    }
    due.sort_by(|a, b| {
        severity(a.0.kind)
            .cmp(&severity(b.0.kind))
            .then(b.1.len().cmp(&a.1.len()))
            .then(a.0.cmp(&b.0))
    });
    let individual = if due.len() > policy.max_alerts {
        policy.max_alerts.saturating_sub(1)
    } else {
        due.len()
    };
    let rest = due.split_off(individual);
    for (key, findings, suppressed_before) in due {
        let mut ids: Vec<&str> = findings
            .iter()
            .filter_map(|f| f.request_id.as_deref())
            .collect();
        ids.sort_unstable();
        let mut parts = vec![
            key.api_id.as_str(),
            key.stage.as_str(),
            key.route.as_str(),
            key.kind.as_str(),
            key.cause.as_str(),
        ];
        parts.extend(ids);
        plan.alerts.push(Alert {
            id: stable_id(&parts),
            key,
            findings,
            suppressed_before,
        });
    }
    if !rest.is_empty() {
        let mut ids: Vec<&str> = rest
            .iter()
            .flat_map(|(_, fs, _)| fs.iter().filter_map(|f| f.request_id.as_deref()))
            .collect();
        ids.sort_unstable();
        ids.insert(0, "summary");
        plan.summary = Some(Summary {
            id: stable_id(&ids),
            groups: rest.into_iter().map(|(k, f, _)| (k, f)).collect(),
        });
    }
    plan
}

impl AlertState {
    /// Records what was sent (and what the cooldown held back) once publishing succeeded.
    pub fn commit(&mut self, plan: &Plan<'_>, now_secs: u64) {
        for a in &plan.alerts {
            self.groups.insert(a.key.clone(), (now_secs, 0));
        }
        if let Some(s) = &plan.summary {
            for (k, _) in &s.groups {
                self.groups.insert(k.clone(), (now_secs, 0));
            }
        }
        for (k, n, why) in &plan.held {
            if *why == Held::Cooldown {
                if let Some(entry) = self.groups.get_mut(k) {
                    entry.1 += n;
                }
            }
        }
    }

    /// Records the `i`-th rendering of the plan (alerts first, then the summary) as sent.
    pub fn commit_one(&mut self, plan: &Plan<'_>, i: usize, now_secs: u64) {
        match plan.alerts.get(i) {
            Some(a) => {
                self.groups.insert(a.key.clone(), (now_secs, 0));
            }
            None => {
                for (k, _) in plan.summary.iter().flat_map(|s| &s.groups) {
                    self.groups.insert(k.clone(), (now_secs, 0));
                }
            }
        }
    }

    /// Forgets groups whose cooldown ended long ago, so that the map stays small.
    pub fn expire(&mut self, now_secs: u64, cooldown_secs: u64) {
        self.groups.retain(|_, (sent, suppressed)| {
            *suppressed > 0 || now_secs < *sent + cooldown_secs.max(60) * 4
        });
    }
}

// ---------------------------------------------------------------- escaping

/// Plain text from logs, safe for email and JSON: no control characters but newlines.
pub fn plain(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .collect()
}

/// Text from logs, safe inside Slack markdown: no `<!channel>`, `<http://evil|click>`
/// or `@here` can be formed, no control characters.
pub fn slack(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // Markdown emphasis and links built from log text are not ours to render.
            '*' | '_' | '~' | '`' | '[' | ']' | '|' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() && c != '\n' => {}
            c => out.push(c),
        }
    }
    // A zero-width joiner breaks mention keywords without changing how they read.
    for word in ["@here", "@channel", "@everyone"] {
        out = out.replace(word, &format!("@\u{2060}{}", &word[1..]));
    }
    out
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

// ---------------------------------------------------------------- renderings

/// The three renderings plus the SNS message that carries them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub id: String,
    pub subject: String,
    pub email: String,
    pub chatbot: String,
    pub automation: String,
    /// `MessageStructure=json`: {"default": chatbot, "email": email, "sqs"/"lambda": automation}.
    pub message: String,
}

fn headline(key: &GroupKey, n: usize, first: &Finding) -> String {
    let on = format!("on {}/{} {}", key.api_id, key.stage, key.route);
    match key.kind {
        // 503 for HTTP APIs, 504 for REST and WebSocket: the status the client got.
        Kind::Timeout => format!(
            "{} timeout{}: {n} {on}",
            first.status.unwrap_or(504),
            if n == 1 { "" } else { "s" }
        ),
        Kind::NearLimit => format!("Near the {} limit: {n} {on}", seconds(first.limit_ms)),
        Kind::Error => format!("{}: {n} {on}", capitalised(key.cause.title())),
        Kind::Misconfiguration => match &first.function {
            Some(f) => format!(
                "Lambda {} runs longer than API Gateway waits ({})",
                f.name,
                seconds(first.limit_ms)
            ),
            None => format!("Misconfiguration {on}"),
        },
    }
}

fn window(findings: &[&Finding]) -> String {
    let ts: Vec<i64> = findings.iter().filter_map(|f| f.timestamp).collect();
    match (ts.iter().min(), ts.iter().max()) {
        (Some(a), Some(b)) if a == b => format!(" at {}", time(*a)),
        (Some(a), Some(b)) => format!(" between {} and {}", time(*a), time(*b)),
        _ => String::new(),
    }
}

fn email_text(alert: &Alert<'_>, examples: usize) -> String {
    let first = alert.findings[0];
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}{}.",
        headline(&alert.key, alert.findings.len(), first),
        window(&alert.findings)
    );
    if alert.suppressed_before > 0 {
        let _ = writeln!(
            out,
            "{} more of these were held back by the cooldown since the last alert.",
            thousands(alert.suppressed_before)
        );
    }
    let _ = writeln!(out, "\nWHAT HAPPENED\n{}", first.diagnosis.headline);
    if let Some(h) = &first.diagnosis.route_health {
        let _ = writeln!(out, "\nROUTE HEALTH\n{h}");
    }
    let _ = writeln!(out, "\nWHAT TO DO");
    for (i, r) in first.diagnosis.remedies.iter().enumerate() {
        let _ = writeln!(out, "{}. {r}", i + 1);
    }
    let shown = &alert.findings[..examples.min(alert.findings.len())];
    if !shown.is_empty() {
        let _ = writeln!(
            out,
            "\nEXAMPLES (worst first, {} of {})",
            shown.len(),
            alert.findings.len()
        );
    }
    for (i, f) in shown.iter().enumerate() {
        let id = f.request_id.as_deref().unwrap_or("-");
        let at = f
            .timestamp
            .map(|t| format!(" at {}", time(t)))
            .unwrap_or_default();
        let _ = writeln!(out, "\n{}. Request {id}{at}", i + 1);
        let _ = writeln!(out, "   {}", f.diagnosis.headline);
        let mut facts = Vec::new();
        if f.kind == Kind::Timeout {
            facts.push(format!(
                "Invoked: {}",
                match f.invoked {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "unknown",
                }
            ));
        }
        if let (Kind::Timeout, Some(e)) = (f.kind, f.elapsed_ms) {
            facts.push(format!("elapsed {} (limit {})", ms(e), ms(f.limit_ms)));
        } else if let Some(l) = f.integration_latency_ms {
            facts.push(format!(
                "integration latency {} (limit {})",
                ms(l),
                ms(f.limit_ms)
            ));
        }
        if let Some(b) = &f.backend {
            facts.push(format!("backend: {b}"));
        }
        if !facts.is_empty() {
            let _ = writeln!(out, "   {}.", facts.join("; "));
        }
        for s in &f.diagnosis.shows {
            let _ = writeln!(out, "   - {s}");
        }
        for s in &f.diagnosis.cannot_show {
            let _ = writeln!(out, "   - Not shown: {s}");
        }
        if let Some(u) = &f.diagnosis.console_url {
            let _ = writeln!(out, "   Console: {u}");
        }
    }
    let ids: Vec<&str> = shown
        .iter()
        .filter_map(|f| f.request_id.as_deref())
        .collect();
    let _ = writeln!(out, "\nINVESTIGATE");
    if !first.provenance.log_group.is_empty() {
        let _ = writeln!(out, "Log group: {}", first.provenance.log_group);
    }
    let query = if ids.is_empty() {
        first.diagnosis.insights_query.clone().unwrap_or_default()
    } else {
        insights_query(&ids)
    };
    let _ = writeln!(out, "Logs Insights: {query}");
    let _ = writeln!(
        out,
        "\nAlert id {} (a redelivered batch gives the same id). Sent by apigw-doctor.",
        alert.id
    );
    plain(&out)
}

fn chatbot_json(alert: &Alert<'_>, examples: usize) -> serde_json::Value {
    let first = alert.findings[0];
    let title = headline(&alert.key, alert.findings.len(), first);
    let mut d = String::new();
    let _ = write!(d, "{}", slack(&first.diagnosis.headline));
    if alert.suppressed_before > 0 {
        let _ = write!(
            d,
            "\n_{} more held back by the cooldown since the last alert._",
            alert.suppressed_before
        );
    }
    if let Some(h) = &first.diagnosis.route_health {
        let _ = write!(d, "\n\n*Route health*\n{}", slack(h));
    }
    let shown = &alert.findings[..examples.min(alert.findings.len())];
    if !shown.is_empty() {
        let _ = write!(
            d,
            "\n\n*Examples* ({} of {})",
            shown.len(),
            alert.findings.len()
        );
    }
    for f in shown {
        let id = slack(f.request_id.as_deref().unwrap_or("-"));
        let extra = match (f.kind, f.elapsed_ms, f.integration_latency_ms, f.invoked) {
            (Kind::Timeout, Some(e), _, _) => format!("gave up after {}", ms(e)),
            (Kind::Timeout, None, _, Some(false)) => "never reached the integration".to_owned(),
            (Kind::Timeout, None, _, None) => "invoked: unknown".to_owned(),
            (_, _, Some(l), _) => format!("answered in {}", ms(l)),
            _ => String::new(),
        };
        let at = f
            .timestamp
            .map(|t| format!(" {}", time(t)))
            .unwrap_or_default();
        let _ = write!(d, "\n• `{id}`{at} {extra}");
    }
    let ids: Vec<&str> = shown
        .iter()
        .filter_map(|f| f.request_id.as_deref())
        .collect();
    if !ids.is_empty() {
        let _ = write!(
            d,
            "\n\n*Logs Insights* ({}):\n```{}```",
            slack(&first.provenance.log_group),
            insights_query(&ids).replace('`', "'")
        );
    }
    let next: Vec<String> = first
        .diagnosis
        .remedies
        .iter()
        .take(5)
        .map(|r| slack(r))
        .collect();
    serde_json::json!({
        "version": "1.0",
        "source": "custom",
        "id": alert.id,
        "content": {
            "textType": "client-markdown",
            "title": format!("{} {}", emoji(alert.key.kind), slack(&subject_line(&title))),
            "description": d,
            "nextSteps": next,
            "keywords": [slack(&alert.key.api_id), slack(&alert.key.stage), alert.key.kind.as_str(), alert.key.cause.as_str()],
        },
        "metadata": {
            "threadId": plain(&alert.key.thread_id()),
            "summary": slack(&subject_line(&title)),
            "eventType": alert.key.kind.as_str(),
            "additionalContext": {
                "apiId": slack(&alert.key.api_id),
                "stage": slack(&alert.key.stage),
                "route": slack(&alert.key.route),
                "cause": alert.key.cause.as_str(),
                "count": alert.findings.len().to_string(),
            },
        },
    })
}

fn emoji(k: Kind) -> &'static str {
    match k {
        Kind::Timeout => ":rotating_light:",
        Kind::Misconfiguration | Kind::Error => ":warning:",
        Kind::NearLimit => ":hourglass_flowing_sand:",
    }
}

/// The findings as JSON for automation (SQS, Lambda subscribers). It also carries the
/// human renderings, so that a relay (ticketing, another chat tool) can forward them as is.
fn automation_json(
    alert: &Alert<'_>,
    examples: usize,
    subject: &str,
    email: &str,
    chatbot: &str,
) -> serde_json::Value {
    let shown: Vec<FindingJson<'_>> = alert
        .findings
        .iter()
        .take(examples)
        .map(|f| FindingJson::new(f))
        .collect();
    serde_json::json!({
        "alert_id": alert.id,
        "kind": alert.key.kind.as_str(),
        "cause": alert.key.cause.as_str(),
        "api_id": alert.key.api_id,
        "stage": alert.key.stage,
        "route": alert.key.route,
        "count": alert.findings.len(),
        "suppressed_before": alert.suppressed_before,
        "request_ids": alert.findings.iter().filter_map(|f| f.request_id.as_deref()).collect::<Vec<_>>(),
        "findings": shown,
        "notification": {"subject": subject, "email": email, "chatbot": chatbot},
    })
}

fn message(chatbot: &str, email: &str, automation: &str) -> String {
    serde_json::json!({ "default": chatbot, "email": email, "sqs": automation, "lambda": automation }).to_string()
}

/// Renders one alert, dropping examples (never cutting JSON) until it fits in SNS's 256 KB.
pub fn render(alert: &Alert<'_>) -> Rendered {
    let first = alert.findings[0];
    let subject = subject_line(&headline(&alert.key, alert.findings.len(), first));
    let mut examples = MAX_EXAMPLES;
    loop {
        let email = email_text(alert, examples);
        let chatbot = chatbot_json(alert, examples).to_string();
        let automation = automation_json(alert, examples, &subject, &email, &chatbot).to_string();
        let message = message(&chatbot, &email, &automation);
        if message.len() <= MAX_MESSAGE_BYTES || examples == 0 {
            return Rendered {
                id: alert.id.clone(),
                subject,
                email,
                chatbot,
                automation,
                message,
            };
        }
        examples -= 1;
    }
}

/// The summary alert for the groups over MAX_ALERTS_PER_INVOCATION.
pub fn render_summary(s: &Summary<'_>) -> Rendered {
    let total: usize = s.groups.iter().map(|(_, f)| f.len()).sum();
    let subject = subject_line(&format!(
        "apigw-doctor: {} more alert groups ({} findings) in this batch",
        s.groups.len(),
        total
    ));
    let mut email = format!("{subject}.\nThe per-invocation alert cap was reached; these groups were not alerted one by one:\n\n");
    let mut md = String::from(
        "The per-invocation alert cap was reached; these groups were not alerted one by one:",
    );
    let mut groups = Vec::new();
    for (k, fs) in &s.groups {
        let line = headline(k, fs.len(), fs[0]);
        let _ = writeln!(email, "- {line}");
        let _ = write!(md, "\n• {}", slack(&line));
        groups.push(serde_json::json!({
            "kind": k.kind.as_str(), "cause": k.cause.as_str(), "api_id": k.api_id, "stage": k.stage,
            "route": k.route, "count": fs.len(),
            "request_ids": fs.iter().filter_map(|f| f.request_id.as_deref()).take(50).collect::<Vec<_>>(),
        }));
    }
    let _ = writeln!(email, "\nRun `apigw-doctor analyze` on the batch, or see the metrics dashboard, for the details.\nAlert id {}.", s.id);
    let email = plain(&email);
    let chatbot = serde_json::json!({
        "version": "1.0", "source": "custom", "id": s.id,
        "content": {"textType": "client-markdown", "title": format!(":warning: {}", slack(&subject)), "description": md,
                    "keywords": ["summary"]},
        "metadata": {"threadId": "apigw-doctor/summary", "summary": slack(&subject), "eventType": "summary"},
    })
    .to_string();
    let automation =
        serde_json::json!({"alert_id": s.id, "kind": "summary", "groups": groups}).to_string();
    let message = message(&chatbot, &email, &automation);
    Rendered {
        id: s.id.clone(),
        subject,
        email,
        chatbot,
        automation,
        message,
    }
}

/// Every rendering of a plan, in sending order.
pub fn render_plan(plan: &Plan<'_>) -> Vec<Rendered> {
    let mut out: Vec<Rendered> = plan.alerts.iter().map(render).collect();
    out.extend(plan.summary.as_ref().map(render_summary));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_escaping_defuses_mentions_and_links() {
        let s = slack("<!channel> <http://evil|click> @here *bold* `x`\u{7}");
        assert!(!s.contains('<') && !s.contains('>'));
        assert!(!s.contains("@here"));
        assert!(!s.contains('\u{7}'));
        assert!(s.contains("&lt;!channel&gt;"));
    }

    #[test]
    fn subjects_are_one_short_line() {
        let s = subject_line(&format!("504 timeouts\non {}\r", "x".repeat(200)));
        assert!(s.chars().count() < 100);
        assert!(!s.chars().any(char::is_control));
    }

    #[test]
    fn ids_are_stable() {
        assert_eq!(stable_id(&["a", "b"]), stable_id(&["a", "b"]));
        assert_ne!(stable_id(&["a", "b"]), stable_id(&["ab"]));
    }
}
