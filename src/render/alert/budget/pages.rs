//! A budget notice for the pagers: a PagerDuty trigger / resolve and an Opsgenie create /
//! close on the notice id (one per SLO and onset), so that the update and the resolve
//! land on the alert the first notice opened. A page is PagerDuty `critical` and
//! Opsgenie P1; a ticket `warning` and P3 (the workbook's ticket is not a wake-up).

use super::super::automation::rfc3339;
use super::super::opsgenie::{
    details, path_alias, MAX_ALIAS, MAX_DESCRIPTION, MAX_MESSAGE, MAX_NOTE, MAX_TAG,
};
use super::super::pager::{
    clean, clean_all, cut, one_line, stage_source, OpsgenieRequest, Pages, CLIENT,
    ROUTING_KEY_PLACEHOLDER,
};
use super::super::pagerduty::{MAX_DEDUP_KEY, MAX_SUMMARY};
use super::*;

fn pd_severity(s: BudgetSeverity) -> &'static str {
    match s {
        BudgetSeverity::Page => "critical",
        BudgetSeverity::Ticket => "warning",
    }
}

fn og_priority(s: BudgetSeverity) -> &'static str {
    match s {
        BudgetSeverity::Page => "P1",
        BudgetSeverity::Ticket => "P3",
    }
}

/// `apigateway:us-east-1:a1b2c3/prod`, as the incident pages name their source.
fn source(slo: &SloKey, ctx: &AlertContext) -> String {
    stage_source(ctx.region.as_deref(), &slo.api_id, &slo.stage)
}

pub(super) fn pages(
    step: &BudgetStep,
    f: &BudgetFacts,
    ctx: &AlertContext,
    subject: &str,
    email: &str,
) -> Pages {
    let n = &step.notice;
    let what = lead(step, f, ctx).join(" ");
    if step.status == Status::Resolved {
        return Pages {
            pagerduty: serde_json::json!({
                "routing_key": ROUTING_KEY_PLACEHOLDER,
                "event_action": "resolve",
                "dedup_key": cut(&n.id, MAX_DEDUP_KEY),
            }),
            opsgenie: OpsgenieRequest {
                path: format!(
                    "/v2/alerts/{}/close?identifierType=alias",
                    path_alias(&cut(&n.id, MAX_ALIAS))
                ),
                body: serde_json::json!({"source": CLIENT, "note": cut(&clean(&what), MAX_NOTE)}),
            },
        };
    }
    let mut custom = automation(step, f);
    clean_all(&mut custom);
    let mut payload = serde_json::json!({
        "summary": cut(&one_line(subject), MAX_SUMMARY),
        "source": source(&n.slo, ctx),
        "severity": pd_severity(n.severity),
        "timestamp": rfc3339(Some(f.at)),
        "group": format!("{}/{}", n.slo.api_id, n.slo.stage),
        "class": format!("error_budget/{}", severity_word(n.severity)),
        "custom_details": custom,
    });
    if let Some(r) = &n.slo.route {
        payload["component"] = serde_json::json!(one_line(r));
    }
    let routes: Vec<String> = f
        .routes
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r.route,
                crate::render::display::rate(r.tally.bad, r.tally.total)
            )
        })
        .collect();
    // Opsgenie bounds `details` as a whole: the same bounded builder as an incident's.
    let og_details = details(vec![
        ("notice_id", Some(n.id.clone())),
        ("severity", Some(severity_word(n.severity).to_owned())),
        ("objective", Some(objective_text(&n.objective))),
        ("why", Some(what.clone())),
        ("routes", Some(routes.join("; "))),
        ("api_id", Some(n.slo.api_id.clone())),
        ("stage", Some(n.slo.stage.clone())),
        ("account", ctx.account.clone()),
    ]);
    let mut body = serde_json::json!({
        "message": cut(&one_line(subject), MAX_MESSAGE),
        "alias": cut(&n.id, MAX_ALIAS),
        "description": cut(&clean(email), MAX_DESCRIPTION),
        "details": og_details,
        "tags": [CLIENT, "error-budget", severity_word(n.severity), cut(&one_line(&format!("api:{}", n.slo.api_id)), MAX_TAG), cut(&one_line(&format!("stage:{}", n.slo.stage)), MAX_TAG)],
        "entity": cut(&source(&n.slo, ctx), MAX_ALIAS),
        "source": CLIENT,
        "priority": og_priority(n.severity),
    });
    if step.status == Status::Update {
        body["note"] = serde_json::json!(cut(&clean(&what), MAX_NOTE));
    }
    Pages {
        pagerduty: serde_json::json!({
            "routing_key": ROUTING_KEY_PLACEHOLDER,
            "event_action": "trigger",
            "dedup_key": cut(&n.id, MAX_DEDUP_KEY),
            "client": CLIENT,
            "payload": payload,
        }),
        opsgenie: OpsgenieRequest {
            path: "/v2/alerts".to_owned(),
            body,
        },
    }
}
