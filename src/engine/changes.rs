//! Which configuration changes preceded an incident, ranked: the "what changed" of an
//! alert or a report. Plain functions on [`Change`]s (from `logs::cloudtrail`) and
//! the incident's facts.
//!
//! A change relates to an incident when it touches the incident's API (and its stage,
//! where the change names one) or its backend function, in the same account, within
//! the window before the onset. Ranked: a change that explains the incident's kind
//! directly first (an integration timeout lowered to what the requests ran into, a
//! function's timeout or memory lowered, its concurrency capped before throttles),
//! then the closest resource (the function or the integration, the stage, the API),
//! then the closest in time.

use crate::engine::incidents::{finding_time, Incident, IncidentGroup};
use crate::model::backend::Backend;
use crate::model::change::{Change, ChangeAction, ChangeTarget};
use crate::model::finding::Finding;
use crate::model::incident::IncidentKey;
use crate::model::kind::{Cause, Kind};

/// Default window before the onset in which changes are looked for.
pub const DEFAULT_WINDOW_MS: i64 = 60 * 60 * 1000;
/// Related changes kept per incident (the alert shows the first few).
pub const MAX_RELATED: usize = 10;
/// Reserved concurrency at or below this, set before throttles, explains them.
const LOW_CONCURRENCY: f64 = 10.0;

/// The incident a change search is about.
#[derive(Debug, Clone)]
pub struct Scope<'a> {
    pub account: Option<&'a str>,
    pub api_id: &'a str,
    pub stage: &'a str,
    /// The backend Lambda function's name, when the backend is one.
    pub function: Option<&'a str>,
    pub kind: Kind,
    pub cause: Cause,
    /// When it began (epoch ms, the logs' clock).
    pub onset: i64,
    /// The longest a failing request of it ran before the gateway gave up (ms).
    pub observed_ms: Option<u64>,
    /// The limit the doctor held its requests to.
    pub limit_ms: u64,
}

impl<'a> Scope<'a> {
    /// An incident as stored, with this invocation's findings of it (the alert's).
    pub fn of_incident(i: &'a Incident, findings: &[&Finding]) -> Scope<'a> {
        let limit = i.onset.as_ref().map(|h| h.limit_ms);
        Scope {
            onset: i.first_seen.unwrap_or(i.opened_at),
            ..Scope::of(&i.key, i.cause, i.backend.as_ref(), findings, limit)
        }
    }

    /// An incident of one analysis (the report's).
    pub fn of_group(g: &'a IncidentGroup<'_>) -> Option<Scope<'a>> {
        let onset = g.first_seen?;
        Some(Scope {
            onset,
            ..Scope::of(&g.key, g.cause, g.backend, &g.findings, None)
        })
    }

    fn of(
        key: &'a IncidentKey,
        cause: Cause,
        backend: Option<&'a Backend>,
        findings: &[&Finding],
        limit: Option<u64>,
    ) -> Scope<'a> {
        let function = match backend {
            Some(Backend::Lambda { function_name, .. }) => Some(function_name.as_str()),
            _ => key
                .backend
                .as_deref()
                .and_then(|b| b.strip_prefix("lambda:")),
        };
        // The onset finding's limit, then the stored one.
        let first = findings
            .iter()
            .min_by_key(|f| (finding_time(f).is_none(), finding_time(f)));
        Scope {
            account: key.account.as_deref(),
            api_id: &key.api_id,
            stage: &key.stage,
            function,
            kind: key.kind,
            cause,
            onset: 0,
            observed_ms: findings
                .iter()
                .filter_map(|f| f.elapsed_ms.or(f.integration_latency_ms))
                .max(),
            limit_ms: first.map(|f| f.limit_ms).or(limit).unwrap_or(0),
        }
    }
}

/// How closely a change touches an incident (closest first).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// The incident's backend function.
    Function,
    /// An integration or a method/route of the incident's API.
    Integration,
    /// The incident's stage (a deployment onto it, its settings).
    Stage,
    /// The API as a whole (an import, an update, a deployment to no named stage).
    Api,
}

/// Why a change explains the incident directly (facts; `render::words` says them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Explains {
    /// The integration's timeout was lowered (or set below the limit the doctor held
    /// the route to), and the requests ran into it.
    IntegrationTimeoutLowered,
    /// The backend function's own timeout was lowered.
    FunctionTimeoutLowered,
    /// The backend function's memory (and so its CPU) was lowered.
    FunctionMemoryLowered,
    /// The backend function's reserved concurrency was set low (0 stops it).
    ConcurrencyCapped,
}

/// A change related to an incident.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RelatedChange {
    pub change: Change,
    pub relation: Relation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explains: Option<Explains>,
    /// How long before the onset it happened (ms; 0 at the onset).
    pub before_onset_ms: i64,
    /// 1 for the most likely.
    pub rank: usize,
}

/// What is known about the changes before an incident.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum ChangeEvidence {
    /// No change source is configured: nothing is said about changes.
    NotConfigured,
    /// The change source failed: it is not known whether anything changed.
    Unavailable { window_ms: i64 },
    /// Searched over `window_ms` before the onset; `related` empty: none found.
    Searched {
        window_ms: i64,
        related: Vec<RelatedChange>,
    },
}

/// Where a report's changes came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ChangeOrigin {
    /// None given: the report says nothing changed is known.
    #[default]
    None,
    /// CloudTrail files (`--changes`).
    Files,
    /// CloudTrail `LookupEvents` (fetch mode).
    CloudTrailLookup,
    /// The lookup failed: whether anything changed is not known.
    Unavailable,
}

impl ChangeOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeOrigin::None => "none",
            ChangeOrigin::Files => "files",
            ChangeOrigin::CloudTrailLookup => "cloudtrail_lookup",
            ChangeOrigin::Unavailable => "unavailable",
        }
    }
}

/// The changes a report relates to its incidents.
#[derive(Debug, Clone, Default)]
pub struct ChangeSource {
    pub origin: ChangeOrigin,
    /// Settled ([`settle`]): in time order, once each, with `before` values.
    pub changes: Vec<Change>,
    pub window_ms: i64,
}

impl ChangeSource {
    pub fn new(origin: ChangeOrigin, mut changes: Vec<Change>, window_ms: i64) -> ChangeSource {
        settle(&mut changes);
        ChangeSource {
            origin,
            changes,
            window_ms,
        }
    }

    /// What is known about the changes before the incident of `scope` (`None`: an
    /// incident without times, which no change can be placed before).
    pub fn evidence(&self, scope: Option<&Scope<'_>>) -> ChangeEvidence {
        let window_ms = self.window_ms;
        match (self.origin, scope) {
            (ChangeOrigin::None, _) => ChangeEvidence::NotConfigured,
            (ChangeOrigin::Unavailable, _) => ChangeEvidence::Unavailable { window_ms },
            (_, None) => ChangeEvidence::Searched {
                window_ms,
                related: Vec::new(),
            },
            (_, Some(s)) => ChangeEvidence::Searched {
                window_ms,
                related: relate(s, &self.changes, window_ms),
            },
        }
    }
}

impl ChangeEvidence {
    /// The related changes, most likely first (none unless searched).
    pub fn related(&self) -> &[RelatedChange] {
        match self {
            ChangeEvidence::Searched { related, .. } => related,
            ChangeEvidence::NotConfigured | ChangeEvidence::Unavailable { .. } => &[],
        }
    }
}

/// The changes related to `scope` among `changes`, ranked, at most [`MAX_RELATED`].
pub fn relate(scope: &Scope<'_>, changes: &[Change], window_ms: i64) -> Vec<RelatedChange> {
    let mut out: Vec<RelatedChange> = changes
        .iter()
        .filter(|c| c.event_time <= scope.onset && c.event_time >= scope.onset - window_ms)
        .filter(|c| match (scope.account, c.account.as_deref()) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        })
        .filter_map(|c| {
            let relation = relation(scope, c)?;
            Some(RelatedChange {
                explains: explains(scope, c),
                relation,
                before_onset_ms: scope.onset - c.event_time,
                change: c.clone(),
                rank: 0,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        (
            a.explains.is_none(),
            a.relation,
            a.before_onset_ms,
            &a.change.event_id,
        )
            .cmp(&(
                b.explains.is_none(),
                b.relation,
                b.before_onset_ms,
                &b.change.event_id,
            ))
    });
    out.truncate(MAX_RELATED);
    for (i, r) in out.iter_mut().enumerate() {
        r.rank = i + 1;
    }
    out
}

fn relation(scope: &Scope<'_>, c: &Change) -> Option<Relation> {
    match &c.target {
        ChangeTarget::Function { name, .. } => {
            (scope.function == Some(name.as_str())).then_some(Relation::Function)
        }
        ChangeTarget::Api { api_id, stage, .. } => {
            if api_id != scope.api_id {
                return None;
            }
            match (stage.as_deref(), c.action) {
                // A change to another stage does not touch this one.
                (Some(s), _) if s != scope.stage => None,
                (_, ChangeAction::Integration | ChangeAction::Route) => Some(Relation::Integration),
                (Some(_), _) => Some(Relation::Stage),
                (None, _) => Some(Relation::Api),
            }
        }
    }
}

fn explains(scope: &Scope<'_>, c: &Change) -> Option<Explains> {
    let slow = matches!(scope.kind, Kind::Timeout | Kind::NearLimit);
    let failing = slow || scope.kind == Kind::Error;
    let lowered = |field: &str| {
        let d = c.detail(field)?;
        let after = d.after_number()?;
        Some((after, d.before_number().map(|b| after < b)))
    };
    match c.action {
        ChangeAction::Integration if slow => {
            let (after, lower) = lowered("timeoutInMillis")?;
            // The requests gave up at about the new value (not far above it: then the
            // new value was not in force yet, e.g. a REST change not yet deployed).
            let ran_into = scope.observed_ms.is_some_and(|o| {
                let o = o as f64;
                o >= 0.9 * after && o <= 1.1 * after + 1000.0
            });
            let below_limit = after < scope.limit_ms as f64;
            (lower.unwrap_or(below_limit) && (ran_into || scope.kind == Kind::NearLimit))
                .then_some(Explains::IntegrationTimeoutLowered)
        }
        ChangeAction::FunctionConfiguration if failing => {
            if let Some((_, Some(true))) = lowered("timeout") {
                return Some(Explains::FunctionTimeoutLowered);
            }
            if let (Some((_, None)), Cause::FunctionTimeout) = (lowered("timeout"), scope.cause) {
                return Some(Explains::FunctionTimeoutLowered);
            }
            matches!(lowered("memorySize"), Some((_, Some(true))))
                .then_some(Explains::FunctionMemoryLowered)
        }
        ChangeAction::ReservedConcurrency if failing => {
            let (after, _) = lowered("reservedConcurrentExecutions")?;
            let throttled = scope.cause == Cause::LambdaThrottled;
            (after == 0.0 || (throttled && after <= LOW_CONCURRENCY))
                .then_some(Explains::ConcurrencyCapped)
        }
        _ => None,
    }
}

/// Sorts changes by time, drops repeats of one event (a trail and EventBridge may both
/// deliver it), and fills each setting's `before` from the latest earlier change of
/// the same resource: CloudTrail records only the new value.
pub fn settle(changes: &mut Vec<Change>) {
    changes.sort_by(|a, b| (a.event_time, &a.event_id).cmp(&(b.event_time, &b.event_id)));
    let mut seen = std::collections::HashSet::new();
    changes.retain(|c| seen.insert(c.event_id.clone()));
    for i in 1..changes.len() {
        let (earlier, rest) = changes.split_at_mut(i);
        let c = &mut rest[0];
        for d in c.details.iter_mut().filter(|d| d.before.is_none()) {
            d.before = earlier
                .iter()
                .rev()
                .filter(|e| e.account == c.account && e.target == c.target)
                .find_map(|e| e.detail(&d.field))
                .and_then(|x| x.after.clone());
        }
    }
}

#[cfg(test)]
mod tests;
