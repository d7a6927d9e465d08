//! The PagerDuty Events API v2 event: `trigger` for firing and update, `resolve` for
//! resolved, on `dedup_key` = the incident id, so that the update and the resolve land on
//! the alert the trigger opened (docs/reference/pagers.md §1).

use super::automation::rfc3339;
use super::pager::{clean_all, cut, Facts, CLIENT, ROUTING_KEY_PLACEHOLDER};
use super::*;

/// `payload.summary` is at most 1024 characters (the alert's title).
pub const MAX_SUMMARY: usize = 1024;
/// `dedup_key` is at most 255 characters.
pub const MAX_DEDUP_KEY: usize = 255;

fn rate4(aff: u64, req: u64) -> Option<f64> {
    (req > 0).then(|| (aff.min(req) as f64 / req as f64 * 10_000.0).round() / 10_000.0)
}

/// The event for one notification.
pub(super) fn event(
    n: &Notice<'_>,
    ctx: &AlertContext,
    f: &Facts,
    links: &[Link],
) -> serde_json::Value {
    let i = n.incident;
    let dedup_key = cut(&i.id, MAX_DEDUP_KEY);
    if n.status == Status::Resolved {
        return serde_json::json!({
            "routing_key": ROUTING_KEY_PLACEHOLDER,
            "event_action": "resolve",
            "dedup_key": dedup_key,
        });
    }
    let summary = cut(&format!("{} — {}", f.title, f.cause), MAX_SUMMARY);
    let routes: Vec<serde_json::Value> = f
        .routes
        .iter()
        .map(|(r, req, aff)| {
            serde_json::json!({"route": r, "requests": req, "affected": aff, "rate": rate4(*aff, *req)})
        })
        .collect();
    let mut details = serde_json::json!({
        "incident_id": i.id,
        "status": n.status.as_str(),
        "what": f.what,
        "where": f.where_,
        "likely_cause": f.cause,
        "cause": words::cause::title(i.cause),
        "what_changed": crate::render::report::changes::EvidenceJson::of(&n.changes, ctx.region.as_deref()),
        "routes": routes,
        "requests": i.requests,
        "affected": i.affected,
        "rate": i.rate().map(|r| (r * 10_000.0).round() / 10_000.0),
        "onset": rfc3339(i.first_seen.or(Some(i.opened_at))),
        "last_seen": rfc3339(i.last_seen),
        "api_id": i.key.api_id,
        "api_name": ctx.api_name(i.key.account.as_deref(), &i.key.api_id),
        "stage": i.key.stage,
        "account": ctx.account,
        "region": ctx.region,
        "possibly_duplicate": n.possibly_duplicate,
    });
    if let Some(top) = &f.changed {
        details["top_change"] = serde_json::json!(top);
    }
    if let (Status::Update, Some((affected, routes))) = (n.status, n.before) {
        details["before"] = serde_json::json!({"affected": affected, "routes": routes});
    }
    clean_all(&mut details);
    let mut payload = serde_json::json!({
        "summary": summary,
        "source": super::pager::source(n, ctx),
        "severity": i.severity.as_str(),
        "timestamp": rfc3339(i.last_seen.or(i.first_seen).or(Some(n.now))),
        "group": format!("{}/{}", i.key.api_id, i.key.stage),
        "class": format!("{}/{}", i.key.kind.as_str(), i.cause.as_str()),
        "custom_details": details,
    });
    if let Some(b) = backend_text(i.backend.as_ref(), i.key.backend.as_deref()) {
        payload["component"] = serde_json::json!(super::pager::one_line(&b));
    }
    serde_json::json!({
        "routing_key": ROUTING_KEY_PLACEHOLDER,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "client": CLIENT,
        "payload": payload,
        "links": links,
    })
}

/// The summary's trigger: the incidents over the cap, listed in `custom_details`.
pub(super) fn summary_event(
    id: &str,
    title: &str,
    worst: Severity,
    items: &[serde_json::Value],
) -> serde_json::Value {
    let mut details = serde_json::json!({"incidents": items});
    clean_all(&mut details);
    serde_json::json!({
        "routing_key": ROUTING_KEY_PLACEHOLDER,
        "event_action": "trigger",
        "dedup_key": cut(id, MAX_DEDUP_KEY),
        "client": CLIENT,
        "payload": {
            "summary": cut(&super::pager::one_line(title), MAX_SUMMARY),
            "source": CLIENT,
            "severity": worst.as_str(),
            "class": "summary",
            "custom_details": details,
        },
    })
}
