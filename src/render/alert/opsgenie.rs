//! The Opsgenie Alert API request: create (firing, update) with `alias` = the incident
//! id, and close by alias (`identifierType=alias`) for resolved. Opsgenie de-duplicates
//! on the alias: while the alert is open, a create with the same alias only raises its
//! count (and adds the note), so an update is a create again (docs/reference/pagers.md §2).

use super::automation::rfc3339;
use super::pager::{cut, one_line, Facts, OpsgenieRequest, CLIENT};
use super::*;

/// `message` is at most 130 characters.
pub const MAX_MESSAGE: usize = 130;
/// `alias` and `entity` at most 512.
pub const MAX_ALIAS: usize = 512;
/// `description` at most 15,000.
pub const MAX_DESCRIPTION: usize = 15_000;
/// `details`: keys and values together at most 8,000 characters.
pub const MAX_DETAILS: usize = 8_000;
/// One detail's value, so that one long value does not crowd the others out.
const MAX_DETAIL_VALUE: usize = 1_000;
/// At most 20 tags of 50 characters.
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG: usize = 50;
/// A note (ours) is kept short.
pub(super) const MAX_NOTE: usize = 1_000;

/// P1 to P4 from the incident's severity (P5 is left for what a team files by hand).
pub fn priority(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "P1",
        Severity::Error => "P2",
        Severity::Warning => "P3",
        Severity::Info => "P4",
    }
}

/// The alias in a URL path: all but RFC 3986's unreserved characters percent-encoded.
pub(super) fn path_alias(alias: &str) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const SET: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    utf8_percent_encode(alias, SET).to_string()
}

/// `details`, in the order a responder reads them, while the total stays in bound.
pub(super) fn details(
    entries: Vec<(&str, Option<String>)>,
) -> serde_json::Map<String, serde_json::Value> {
    let mut out = serde_json::Map::new();
    let mut total = 0;
    for (k, v) in entries {
        let Some(v) = v.map(|v| cut(&one_line(&v), MAX_DETAIL_VALUE)) else {
            continue;
        };
        let size = k.chars().count() + v.chars().count();
        if v.is_empty() || total + size > MAX_DETAILS {
            continue;
        }
        total += size;
        out.insert(k.to_owned(), serde_json::Value::String(v));
    }
    out
}

/// The request for one notification.
pub(super) fn request(
    n: &Notice<'_>,
    ctx: &AlertContext,
    f: &Facts,
    links: &[Link],
    email: &str,
) -> OpsgenieRequest {
    let i = n.incident;
    let alias = cut(&i.id, MAX_ALIAS);
    if n.status == Status::Resolved {
        return OpsgenieRequest {
            path: format!(
                "/v2/alerts/{}/close?identifierType=alias",
                path_alias(&alias)
            ),
            body: serde_json::json!({"source": CLIENT, "note": cut(&f.what, MAX_NOTE)}),
        };
    }
    let routes: Vec<String> = f
        .routes
        .iter()
        .map(|(r, req, aff)| format!("{r} {}", crate::render::display::rate(*aff, *req)))
        .collect();
    let mut entries = vec![
        ("incident_id", Some(i.id.clone())),
        ("status", Some(n.status.as_str().to_owned())),
        ("likely_cause", Some(f.cause.clone())),
        ("what_changed", f.changed.clone()),
        ("routes", Some(routes.join("; "))),
        ("requests", Some(i.requests.to_string())),
        ("affected", Some(i.affected.to_string())),
        ("onset", rfc3339(i.first_seen.or(Some(i.opened_at)))),
        ("last_seen", rfc3339(i.last_seen)),
        ("api_id", Some(i.key.api_id.clone())),
        (
            "api_name",
            ctx.api_name(i.key.account.as_deref(), &i.key.api_id)
                .cloned(),
        ),
        ("stage", Some(i.key.stage.clone())),
        (
            "backend",
            backend_text(i.backend.as_ref(), i.key.backend.as_deref()),
        ),
        ("account", ctx.account.clone()),
        ("region", ctx.region.clone()),
    ];
    for l in links {
        let key = if l.text.starts_with("Logs Insights") {
            "logs_insights"
        } else if l.text == "Runbook" {
            "runbook"
        } else if l.text.starts_with("Dashboard") {
            "dashboard"
        } else {
            "console"
        };
        entries.push((key, Some(l.href.clone())));
    }
    let tags: Vec<String> = [
        CLIENT.to_owned(),
        i.severity.as_str().to_owned(),
        i.key.kind.as_str().to_owned(),
        i.cause.as_str().to_owned(),
        format!("api:{}", i.key.api_id),
        format!("stage:{}", i.key.stage),
    ]
    .iter()
    .map(|t| cut(&one_line(t), MAX_TAG))
    .filter(|t| !t.is_empty())
    .take(MAX_TAGS)
    .collect();
    let mut body = serde_json::json!({
        "message": cut(&f.title, MAX_MESSAGE),
        "alias": alias,
        "description": cut(&super::pager::clean(email), MAX_DESCRIPTION),
        "details": details(entries),
        "tags": tags,
        "entity": cut(&super::pager::source(n, ctx), MAX_ALIAS),
        "source": CLIENT,
        "priority": priority(i.severity),
    });
    if n.status == Status::Update {
        body["note"] = serde_json::json!(cut(&f.what, MAX_NOTE));
    }
    OpsgenieRequest {
        path: "/v2/alerts".to_owned(),
        body,
    }
}

/// The summary's create: its own alias, at the worst severity among the incidents.
pub(super) fn summary_request(
    id: &str,
    title: &str,
    email: &str,
    worst: Severity,
) -> OpsgenieRequest {
    OpsgenieRequest {
        path: "/v2/alerts".to_owned(),
        body: serde_json::json!({
            "message": cut(&one_line(title), MAX_MESSAGE),
            "alias": cut(id, MAX_ALIAS),
            "description": cut(&super::pager::clean(email), MAX_DESCRIPTION),
            "tags": [CLIENT, "summary"],
            "source": CLIENT,
            "priority": priority(worst),
        }),
    }
}
