//! The automation JSON: one object a relay maps 1:1 onto a pager's API.

use super::*;

pub(super) use crate::render::display::rfc3339;

/// The automation JSON: one object a relay maps 1:1 onto PagerDuty Events v2 or Opsgenie.
#[allow(clippy::too_many_arguments)]
pub(super) fn automation_json(
    n: &Notice<'_>,
    ctx: &AlertContext,
    subject: &str,
    email: &str,
    chatbot: &serde_json::Value,
    links: &[Link],
    summary: &str,
    examples_n: usize,
) -> serde_json::Value {
    let i = n.incident;
    let shown = examples(&n.findings);
    let shown: Vec<FindingJson<'_>> = shown
        .iter()
        .take(examples_n)
        .map(|f| FindingJson::new(f))
        .collect();
    let routes: Vec<serde_json::Value> = routes_by_impact(i)
        .into_iter()
        .map(|(r, req, aff)| serde_json::json!({"route": r, "requests": req, "affected": aff}))
        .collect();
    serde_json::json!({
        "schema": SCHEMA,
        "incident_id": i.id,
        "status": n.status.as_str(),
        "severity": i.severity.as_str(),
        "kind": i.key.kind.as_str(),
        "cause": i.cause.as_str(),
        "api_id": i.key.api_id,
        "api_name": ctx.api_name(i.key.account.as_deref(), &i.key.api_id),
        "stage": i.key.stage,
        "backend": i.backend,
        "routes": routes,
        "requests": i.requests,
        "affected": i.affected,
        "rate": i.rate().map(|r| (r * 10_000.0).round() / 10_000.0),
        "first_seen": rfc3339(i.first_seen),
        "last_seen": rfc3339(i.last_seen),
        "opened_at": rfc3339(Some(i.opened_at)),
        "account": ctx.account,
        "region": ctx.region,
        "possibly_duplicate": n.possibly_duplicate,
        "summary": summary,
        "links": links,
        "changes": crate::render::report::changes::EvidenceJson::of(&n.changes, ctx.region.as_deref()),
        "examples": shown,
        "notification": {"subject": subject, "email": email, "chatbot": chatbot},
    })
}
