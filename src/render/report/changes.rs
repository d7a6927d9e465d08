//! Changes in the report: as JSON, the same in the report (`changes`, `change_source`,
//! `incidents[].changes`) and in an alert's automation message; and the lines of the
//! text and Markdown "What changed" sections.

use crate::engine::changes::{ChangeEvidence, ChangeSource, Explains, RelatedChange, Relation};
use crate::model::change::{Change, ChangeDetail, ChangeTarget};
use crate::render::report::Group;
use crate::render::words::change as words;

/// One change.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChangeJson<'a> {
    pub event_id: &'a str,
    pub event_name: &'a str,
    pub action: &'static str,
    pub event_time: Option<String>,
    pub event_source: &'a str,
    pub account: Option<&'a str>,
    pub region: Option<&'a str>,
    /// What was changed, as words ("integration of API a1b2c3d4e5 (GET, resource 5tf)").
    pub resource: String,
    pub target: &'a ChangeTarget,
    pub actor: Option<&'a str>,
    pub invoked_by: Option<&'a str>,
    /// The settings it moved: field, before (when known), after.
    pub detail: &'a [ChangeDetail],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before_onset_s: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relation: Option<Relation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explains: Option<Explains>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<&'static str>,
    pub console_url: Option<String>,
}

impl<'a> ChangeJson<'a> {
    pub fn of(c: &'a Change, region: Option<&str>) -> ChangeJson<'a> {
        ChangeJson {
            event_id: &c.event_id,
            event_name: &c.event_name,
            action: c.action.as_str(),
            event_time: chrono::DateTime::from_timestamp_millis(c.event_time)
                .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            event_source: &c.event_source,
            account: c.account.as_deref(),
            region: c.region.as_deref(),
            resource: words::resource(c),
            target: &c.target,
            actor: c.actor.as_deref(),
            invoked_by: c.invoked_by.as_deref(),
            detail: &c.details,
            before_onset_s: None,
            rank: None,
            relation: None,
            explains: None,
            explanation: None,
            console_url: words::console_url(c, region),
        }
    }

    pub fn related(r: &'a RelatedChange, region: Option<&str>) -> ChangeJson<'a> {
        ChangeJson {
            before_onset_s: Some(r.before_onset_ms / 1000),
            rank: Some(r.rank),
            relation: Some(r.relation),
            explains: r.explains,
            explanation: r.explains.map(words::explains),
            ..ChangeJson::of(&r.change, region)
        }
    }
}

/// What is known about an incident's changes.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EvidenceJson<'a> {
    /// `not_configured`, `unavailable` or `searched`.
    pub source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_minutes: Option<i64>,
    pub changes: Vec<ChangeJson<'a>>,
    /// That none was found, or that the history could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl<'a> EvidenceJson<'a> {
    pub fn of(e: &'a ChangeEvidence, region: Option<&str>) -> EvidenceJson<'a> {
        let (source, window_ms, changes) = match e {
            ChangeEvidence::NotConfigured => ("not_configured", None, Vec::new()),
            ChangeEvidence::Unavailable { window_ms } => {
                ("unavailable", Some(*window_ms), Vec::new())
            }
            ChangeEvidence::Searched { window_ms, related } => (
                "searched",
                Some(*window_ms),
                related
                    .iter()
                    .map(|r| ChangeJson::related(r, region))
                    .collect(),
            ),
        };
        EvidenceJson {
            source,
            window_minutes: window_ms.map(|w| w / 60_000),
            changes,
            note: words::status(e),
        }
    }
}

/// Where the report's changes came from.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChangeSourceJson {
    /// `none`, `files`, `cloudtrail_lookup` or `unavailable`.
    pub source: &'static str,
    pub window_minutes: i64,
    /// Changes read (once each).
    pub read: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl ChangeSourceJson {
    pub fn of(src: &ChangeSource) -> ChangeSourceJson {
        ChangeSourceJson {
            source: src.origin.as_str(),
            window_minutes: src.window_ms / 60_000,
            read: src.changes.len(),
            note: words::source_note(src),
        }
    }
}

/// The changes in `[from − window, to]`: those that could precede something in the report.
pub fn in_window(src: &ChangeSource, window: Option<(i64, i64)>) -> Vec<ChangeJson<'_>> {
    src.changes
        .iter()
        .filter(|c| {
            window.is_none_or(|(lo, hi)| c.event_time >= lo - src.window_ms && c.event_time <= hi)
        })
        .map(|c| ChangeJson::of(c, None))
        .collect()
}

/// An incident's related changes (ranked), for its JSON.
pub fn related_json<'a>(g: &'a Group<'_>) -> Vec<ChangeJson<'a>> {
    g.changes
        .related()
        .iter()
        .map(|r| ChangeJson::related(r, None))
        .collect()
}

/// One line under an incident in "What changed".
#[derive(Debug, Clone, serde::Serialize)]
pub struct Line {
    /// The change's rank; `None` for what the search found instead (none, or unreadable).
    pub rank: Option<usize>,
    pub text: String,
    /// Its CloudTrail console link.
    pub url: Option<String>,
}

/// An incident's lines under "What changed": up to `shown` ranked changes with their
/// console links, or what the search found (nothing, or could not read).
pub fn lines(g: &Group<'_>, shown: usize) -> Vec<Line> {
    if let Some(s) = words::status(&g.changes) {
        return vec![Line {
            rank: None,
            text: s,
            url: None,
        }];
    }
    g.changes
        .related()
        .iter()
        .take(shown)
        .map(|r| Line {
            rank: Some(r.rank),
            text: words::line(r),
            url: words::console_url(&r.change, None),
        })
        .collect()
}
