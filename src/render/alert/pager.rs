//! What the pagers get, beside SNS: a PagerDuty Events API v2 event ([`super::pagerduty`])
//! and an Opsgenie Alert API request ([`super::opsgenie`]), made from the same facts as
//! the other renderings. Neither holds a key: PagerDuty's `routing_key` is
//! [`ROUTING_KEY_PLACEHOLDER`] until the notifier sends it, Opsgenie's key goes in a
//! header the notifier adds. Log text is untrusted: every string has its control
//! characters removed and secret-looking values redacted before it is cut to the
//! vendor's bound (on a character boundary).

use super::*;
use crate::logs::redact::redact;

/// Stands in for the PagerDuty integration key in a rendering (logged, printed); the
/// notifier replaces it when it sends.
pub const ROUTING_KEY_PLACEHOLDER: &str = "<routing key>";
/// Who sends (PagerDuty's `client`, Opsgenie's `source`).
pub(super) const CLIENT: &str = "apigw-doctor";

/// The pager bodies of one notification.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Pages {
    /// The body for `POST {PAGERDUTY_EVENTS_URL}` (its `routing_key` is the placeholder).
    pub pagerduty: serde_json::Value,
    /// The request under `OPSGENIE_API_URL` (the `Authorization` header is the notifier's).
    pub opsgenie: OpsgenieRequest,
}

/// One Opsgenie Alert API call: `POST {OPSGENIE_API_URL}{path}` with `body`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OpsgenieRequest {
    /// `/v2/alerts` (create), or `/v2/alerts/{alias}/close?identifierType=alias`.
    pub path: String,
    pub body: serde_json::Value,
}

/// Where a key comes from, in place of the key: `<from SSM parameter /x/y>`.
pub fn key_from(parameter: Option<&str>, variable: &str) -> String {
    match parameter {
        Some(p) => format!("<from SSM parameter {p}>"),
        None => format!("<not configured: set {variable}>"),
    }
}

/// The pagers' requests as they would be sent (the dry run): each endpoint, header and
/// body, the keys shown as where they come from, never their values.
pub fn as_sent(
    pages: &Pages,
    pagerduty: (&str, Option<&str>),
    opsgenie: (&str, Option<&str>),
) -> serde_json::Value {
    let mut pd = pages.pagerduty.clone();
    pd["routing_key"] = serde_json::json!(key_from(pagerduty.1, "PAGERDUTY_ROUTING_KEY_PARAMETER"));
    let og = &pages.opsgenie;
    serde_json::json!({
        "pagerduty": {
            "configured": pagerduty.1.is_some(),
            "method": "POST",
            "url": pagerduty.0,
            "headers": {"Content-Type": "application/json"},
            "body": pd,
        },
        "opsgenie": {
            "configured": opsgenie.1.is_some(),
            "method": "POST",
            "url": format!("{}{}", opsgenie.0.trim_end_matches('/'), og.path),
            "headers": {
                "Content-Type": "application/json",
                "Authorization": format!("GenieKey {}", key_from(opsgenie.1, "OPSGENIE_API_KEY_PARAMETER")),
            },
            "body": og.body,
        },
    })
}

/// Log text made safe for a pager: no control characters (newlines kept), secrets redacted.
pub(super) fn clean(s: &str) -> String {
    redact(&plain(s), usize::MAX)
}

/// [`clean`] on one line: control characters and runs of white space become one space.
pub(super) fn one_line(s: &str) -> String {
    let spaced: String = clean(s)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// At most `max` characters (Unicode scalar values), the last one `…` when cut.
pub(super) fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_owned(),
        Some(_) => {
            let keep = max.saturating_sub(1);
            let end = s.char_indices().nth(keep).map_or(s.len(), |(i, _)| i);
            format!("{}…", &s[..end])
        }
    }
}

/// Every string in `v` [`clean`]ed, except links (ours, percent-encoded) and keys.
pub(super) fn clean_all(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => *s = clean(s),
        serde_json::Value::Array(a) => a.iter_mut().for_each(clean_all),
        serde_json::Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                if !matches!(k.as_str(), "href" | "url" | "console_url") {
                    clean_all(x);
                }
            }
        }
        _ => {}
    }
}

/// `apigateway:us-east-1:a1b2c3d4e5/prod`: the API stage, ARN-like (PagerDuty's
/// `source`, Opsgenie's `entity`).
pub(super) fn source(n: &Notice<'_>, ctx: &AlertContext) -> String {
    let i = n.incident;
    let region = i
        .backend
        .as_ref()
        .and_then(Backend::region)
        .or(ctx.region.as_deref());
    stage_source(region, &i.key.api_id, &i.key.stage)
}

/// [`source`] from its parts (a budget notice has no incident).
pub(super) fn stage_source(region: Option<&str>, api_id: &str, stage: &str) -> String {
    match region {
        Some(r) => format!("apigateway:{}:{api_id}/{stage}", safe_id(r)),
        None => format!("apigateway:{api_id}/{stage}"),
    }
}

/// The facts both pagers carry: the triage lines and the numbers behind them.
pub(super) struct Facts {
    pub title: String,
    pub what: String,
    pub where_: String,
    pub cause: String,
    pub changed: Option<String>,
    pub routes: Vec<(String, u64, u64)>,
}

pub(super) fn facts(n: &Notice<'_>, ctx: &AlertContext) -> Facts {
    let (what, where_, cause) = triage(n, ctx);
    Facts {
        title: one_line(&headline_text(n, ctx)),
        what: one_line(&what),
        where_: one_line(&where_),
        cause: one_line(&cause),
        changed: changes::top_line(n).map(|l| one_line(&l)),
        routes: routes_by_impact(n.incident)
            .into_iter()
            .map(|(r, req, aff)| (r.to_owned(), req, aff))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_land_on_char_boundaries_and_keep_the_bound() {
        let s = "é".repeat(2000);
        let c = cut(&s, 1024);
        assert_eq!(c.chars().count(), 1024);
        assert!(c.ends_with('…'));
        assert_eq!(cut("short", 130), "short");
        assert_eq!(cut(&"x".repeat(130), 130), "x".repeat(130));
    }

    #[test]
    fn log_text_loses_control_characters_and_secrets() {
        let s = one_line("failed\u{7}: Authorization=Bearer abc.def\r\n next");
        assert!(!s.chars().any(char::is_control), "{s}");
        assert!(!s.contains("abc.def"), "{s}");
    }
}
