//! Step 3: each incident group against the shared state, with conditional writes
//! (read, decide, write if nobody wrote in between; else read again). A failing store
//! falls back to `firing`, marked as possibly duplicate: an alert is never lost to it.

use crate::engine::analysis::Analysis;
use crate::engine::incidents::{self, Incident, IncidentGroup, Status};
use crate::model::finding::Finding;
use crate::model::kind::Kind;
use crate::monitor::state::StateError;
use crate::monitor::Monitor;

/// Conditional-write attempts per incident before giving up on the shared state.
const STATE_ATTEMPTS: usize = 4;

/// A decision about one incident, made against the store, to be notified.
pub(super) struct Step<'a> {
    pub(super) status: Status,
    pub(super) incident: Incident,
    pub(super) findings: Vec<&'a Finding>,
    pub(super) before: Option<(u64, usize)>,
    pub(super) possibly_duplicate: bool,
    /// What the store held before this step (`None`: nothing), to put back if the
    /// notification cannot be sent, so that Lambda's retry sends it.
    pub(super) previous: Option<Incident>,
    /// Whether this step wrote the store (a fallback after a state error did not).
    pub(super) written: bool,
    /// For a `resolved` of an expired incident that a new one replaced in the store: the
    /// new one's version, so that an unsent `resolved` puts the old incident back and
    /// Lambda's retry (or the schedule) resolves it again instead of losing it.
    pub(super) replaced_by: Option<u64>,
}

/// The outcome of tracking one batch's incidents.
#[derive(Default)]
pub(super) struct Tracked<'a> {
    pub(super) steps: Vec<Step<'a>>,
    pub(super) incidents: usize,
    pub(super) held: usize,
    pub(super) state_errors: u64,
}

impl Monitor {
    /// The findings as incidents; near-limit incidents need NEAR_LIMIT_ALERT_MIN findings.
    pub(super) fn incident_groups<'a>(&self, analysis: &'a Analysis) -> Vec<IncidentGroup<'a>> {
        incidents::group_analysis(analysis)
            .into_iter()
            .filter(|g| {
                let keep =
                    g.key.kind != Kind::NearLimit || g.affected >= self.settings.incidents.near_limit_alert_min;
                if !keep {
                    tracing::info!(api_id = %g.key.api_id, stage = %g.key.stage, findings = g.affected, "near-limit requests below NEAR_LIMIT_ALERT_MIN: no incident");
                }
                keep
            })
            .collect()
    }

    /// Step 3: each group against the store, with conditional writes (read, decide,
    /// write if nobody wrote in between; else read again). A failing store falls back
    /// to `firing`, marked as possibly duplicate: an alert is never lost to it.
    pub(super) async fn track<'a>(&self, groups: &[IncidentGroup<'a>], now: i64) -> Tracked<'a> {
        let mut out = Tracked {
            incidents: groups.len(),
            ..Tracked::default()
        };
        for g in groups {
            match self.track_one(g, now).await {
                Ok(steps) => {
                    if !steps.iter().any(|s| s.status != Status::Resolved) {
                        out.held += 1;
                    }
                    out.steps.extend(steps);
                }
                Err(e) => {
                    tracing::warn!(error = %e, api_id = %g.key.api_id, stage = %g.key.stage, kind = %g.key.kind, "incident state unavailable: notifying as possibly duplicate");
                    out.state_errors += 1;
                    let o = incidents::observe(None, g, now, self.settings.incidents.lifecycle);
                    out.steps.push(Step {
                        status: Status::Firing,
                        incident: o.next,
                        findings: g.findings.clone(),
                        before: None,
                        possibly_duplicate: true,
                        previous: None,
                        written: false,
                        replaced_by: None,
                    });
                }
            }
        }
        out
    }

    async fn track_one<'a>(
        &self,
        g: &IncidentGroup<'a>,
        now: i64,
    ) -> Result<Vec<Step<'a>>, StateError> {
        let key = g.key.store_key();
        for _ in 0..STATE_ATTEMPTS {
            let existing = self.ports.incidents.get(&key).await?;
            let o =
                incidents::observe(existing.as_ref(), g, now, self.settings.incidents.lifecycle);
            let expected = existing.as_ref().map_or(0, |e| e.version);
            if !self.ports.incidents.put(&o.next, expected).await? {
                continue; // another container wrote first: read again
            }
            let mut steps = Vec::new();
            if let Some(old) = o.resolved {
                steps.push(Step {
                    status: Status::Resolved,
                    previous: Some(old.clone()),
                    incident: old,
                    findings: Vec::new(),
                    before: None,
                    possibly_duplicate: false,
                    written: true,
                    replaced_by: Some(o.next.version),
                });
            }
            if let Some(status) = o.notify {
                steps.push(Step {
                    status,
                    incident: o.next,
                    findings: g.findings.clone(),
                    before: existing
                        .as_ref()
                        .map(|e| (e.notified_affected, e.notified_routes)),
                    possibly_duplicate: false,
                    previous: if status == Status::Firing {
                        None
                    } else {
                        existing
                    },
                    written: true,
                    replaced_by: None,
                });
            }
            return Ok(steps);
        }
        Err(StateError::Dynamo {
            op: "conditional write",
            table: String::new(),
            message: format!("{STATE_ATTEMPTS} attempts lost to concurrent writers"),
        })
    }

    /// Puts back what the store held before a step whose notification was not sent.
    pub(super) async fn undo(&self, step: &Step<'_>) -> Result<(), StateError> {
        if !step.written {
            return Ok(());
        }
        let key = step.incident.key.store_key();
        match (&step.previous, step.status, step.replaced_by) {
            // An expired incident replaced by a new one: the old one back over the new
            // (if nobody wrote since), so that the retry resolves it.
            (Some(prev), Status::Resolved, Some(replaced)) => {
                let mut back = prev.clone();
                back.version = replaced + 1;
                self.ports.incidents.put(&back, replaced).await.map(drop)
            }
            // The incident was deleted (resolved): put it back.
            (Some(prev), Status::Resolved, None) => {
                let mut back = prev.clone();
                back.version += 1;
                self.ports.incidents.put(&back, 0).await.map(drop)
            }
            (Some(prev), _, _) => {
                let mut back = prev.clone();
                back.version = step.incident.version + 1;
                self.ports
                    .incidents
                    .put(&back, step.incident.version)
                    .await
                    .map(drop)
            }
            (None, _, _) => self
                .ports
                .incidents
                .remove(&key, step.incident.version)
                .await
                .map(drop),
        }
    }
}
