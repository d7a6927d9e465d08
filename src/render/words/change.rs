//! The words of "what changed": one related change as a line, and what the search
//! found or could not find. Every rendering takes them from here.

use crate::engine::changes::{ChangeEvidence, ChangeOrigin, ChangeSource, Explains, RelatedChange};
use crate::model::change::{Change, ChangeDetail, ChangeTarget};

/// "4 min before the onset", "40 s before the onset", "at the onset".
pub fn before_onset(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0 => "at the onset".to_owned(),
        1..=119 => format!("{s} s before the onset"),
        _ if s < 2 * 3600 => format!("{} min before the onset", s / 60),
        _ => format!("{:.1} h before the onset", s as f64 / 3600.0),
    }
}

/// The event's name as people know it: Lambda's API-version suffix dropped
/// (`UpdateFunctionConfiguration20150331v2` → `UpdateFunctionConfiguration`).
pub fn event_label(c: &Change) -> &str {
    let name = c.event_name.as_str();
    let digits = name
        .char_indices()
        .find(|(_, ch)| ch.is_ascii_digit())
        .map(|(i, _)| i);
    match digits {
        Some(i) if c.action.is_function() && i > 0 => &name[..i],
        _ => name,
    }
}

/// Who made a change, short: the user or role (session) name, and the service that
/// called for them (`deploy-role/ci-session via cloudformation.amazonaws.com`).
pub fn actor(c: &Change) -> String {
    let who = c.actor.as_deref().map(|a| {
        // arn:aws:iam::ACCOUNT:user/alice, arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION
        match a
            .split_once(":user/")
            .or_else(|| a.split_once(":assumed-role/"))
        {
            Some((_, name)) => name.to_owned(),
            None if a.ends_with(":root") => "the account's root user".to_owned(),
            None => a.to_owned(),
        }
    });
    match (who, &c.invoked_by) {
        (Some(w), Some(by)) => format!("{w} via {by}"),
        (Some(w), None) => w,
        (None, Some(by)) => by.clone(),
        (None, None) => "an unknown caller".to_owned(),
    }
}

/// What was changed: "integration of API a1b2c3d4e5 (GET on resource 5tf)",
/// "stage prod of API a1b2c3d4e5", "function orders-api-handler".
pub fn resource(c: &Change) -> String {
    match &c.target {
        ChangeTarget::Function { name, qualifier } => match qualifier {
            Some(q) => format!("function {name}:{q}"),
            None => format!("function {name}"),
        },
        ChangeTarget::Api {
            api_id,
            stage,
            resource_id,
            http_method,
            integration_id,
            route_id,
        } => {
            let what = match c.action {
                crate::model::change::ChangeAction::Integration => "integration of ",
                crate::model::change::ChangeAction::Route => "route of ",
                _ => "",
            };
            let mut s = match stage {
                Some(st) if what.is_empty() => format!("stage {st} of API {api_id}"),
                _ => format!("{what}API {api_id}"),
            };
            let narrow: Vec<String> = [
                http_method.as_ref().map(|m| m.to_owned()),
                resource_id.as_ref().map(|r| format!("resource {r}")),
                integration_id.as_ref().map(|i| format!("integration {i}")),
                route_id.as_ref().map(|r| format!("route {r}")),
            ]
            .into_iter()
            .flatten()
            .collect();
            if !narrow.is_empty() {
                s.push_str(&format!(" ({})", narrow.join(", ")));
            }
            s
        }
    }
}

/// One setting: "timeoutInMillis 29000 → 5000", "memorySize → 512", "reservedConcurrentExecutions removed".
pub fn detail(d: &ChangeDetail) -> String {
    match (&d.before, &d.after) {
        (Some(b), Some(a)) => format!("{} {b} → {a}", d.field),
        (None, Some(a)) => format!("{} → {a}", d.field),
        (Some(b), None) => format!("{} {b} → removed", d.field),
        (None, None) => format!("{} removed", d.field),
    }
}

/// Every setting of a change, in one phrase ("" when it names none).
pub fn details(c: &Change) -> String {
    c.details.iter().map(detail).collect::<Vec<_>>().join("; ")
}

/// Why it explains the incident.
pub fn explains(e: Explains) -> &'static str {
    match e {
        Explains::IntegrationTimeoutLowered => {
            "it lowered the integration timeout to what the failing requests ran into"
        }
        Explains::FunctionTimeoutLowered => "it lowered the backend function's own timeout",
        Explains::FunctionMemoryLowered => {
            "it lowered the backend function's memory, and with it its CPU"
        }
        Explains::ConcurrencyCapped => {
            "it capped the backend function's reserved concurrency (0 stops every invocation)"
        }
    }
}

/// One related change as a line: "UpdateIntegration on integration of API a1b2c3d4e5 by
/// alice, 4 min before the onset: timeoutInMillis 29000 → 5000 (it lowered …)".
pub fn line(r: &RelatedChange) -> String {
    let c = &r.change;
    let mut s = format!(
        "{} on {} by {}, {}",
        event_label(c),
        resource(c),
        actor(c),
        before_onset(r.before_onset_ms)
    );
    let d = details(c);
    if !d.is_empty() {
        s.push_str(": ");
        s.push_str(&d);
    }
    if let Some(e) = r.explains {
        s.push_str(&format!(" ({})", explains(e)));
    }
    s
}

fn window(window_ms: i64) -> String {
    let min = window_ms / 60_000;
    if min >= 120 && min % 60 == 0 {
        format!("{} h", min / 60)
    } else {
        format!("{min} min")
    }
}

/// What the search says besides its changes: that none was found, or that the change
/// history could not be read (never "nothing changed" from missing data). `None`: no
/// change source is configured, or changes were found.
pub fn status(e: &ChangeEvidence) -> Option<String> {
    match e {
        ChangeEvidence::NotConfigured => None,
        ChangeEvidence::Unavailable { window_ms } => Some(format!(
            "The change history could not be read: whether anything changed in the {} before the onset is not known.",
            window(*window_ms)
        )),
        ChangeEvidence::Searched { window_ms, related } if related.is_empty() => Some(format!(
            "No API Gateway or Lambda change to this API, stage or backend function was recorded in the {} before the onset.",
            window(*window_ms)
        )),
        ChangeEvidence::Searched { .. } => None,
    }
}

/// What a report says of its change source when it cannot say more per incident.
pub fn source_note(src: &ChangeSource) -> Option<String> {
    match src.origin {
        ChangeOrigin::None => Some(
            "No change data was given: to see what changed before each incident, add --changes FILE \
             (`aws cloudtrail lookup-events` output or CloudTrail log files), or read the logs \
             with --api-id, which looks the changes up."
                .to_owned(),
        ),
        ChangeOrigin::Unavailable => Some(format!(
            "The CloudTrail lookup failed: whether anything changed in the {} before each onset is not known.",
            window(src.window_ms)
        )),
        ChangeOrigin::Files | ChangeOrigin::CloudTrailLookup => None,
    }
}

/// The heading of a report's section.
pub fn section_title(src: &ChangeSource) -> String {
    let from = match src.origin {
        ChangeOrigin::Files => "CloudTrail files",
        ChangeOrigin::CloudTrailLookup => "CloudTrail LookupEvents",
        ChangeOrigin::None | ChangeOrigin::Unavailable => "CloudTrail",
    };
    format!(
        "What changed ({from}, {} before each onset)",
        window(src.window_ms)
    )
}

/// The change in CloudTrail's event history (the console, in the change's Region).
pub fn console_url(c: &Change, default_region: Option<&str>) -> Option<String> {
    let region = c.region.as_deref().or(default_region).filter(|r| {
        !r.is_empty()
            && r.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    })?;
    let id: String = c
        .event_id
        .chars()
        .filter(|ch| ch.is_ascii_alphanumeric() || *ch == '-')
        .collect();
    Some(format!(
        "https://{region}.console.aws.amazon.com/cloudtrailv2/home?region={region}#/events/{id}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_names_lose_their_api_version_suffix_in_words() {
        let c: Change = serde_json::from_value(serde_json::json!({
            "event_id": "e", "event_name": "UpdateFunctionConfiguration20150331v2",
            "action": "function_configuration", "event_time": 0, "event_source": "lambda.amazonaws.com",
            "target": {"type": "function", "name": "f"}}))
        .unwrap();
        assert_eq!(event_label(&c), "UpdateFunctionConfiguration");
        let d = Change {
            event_name: "CreateDeployment".into(),
            action: crate::model::change::ChangeAction::Deployment,
            ..c
        };
        assert_eq!(event_label(&d), "CreateDeployment");
    }

    #[test]
    fn times_before_the_onset() {
        assert_eq!(before_onset(0), "at the onset");
        assert_eq!(before_onset(40_500), "40 s before the onset");
        assert_eq!(before_onset(4 * 60_000 + 10_000), "4 min before the onset");
        assert_eq!(before_onset(3 * 3_600_000), "3.0 h before the onset");
        assert_eq!(window(60 * 60_000), "60 min");
        assert_eq!(window(24 * 60 * 60_000), "24 h");
    }
}
