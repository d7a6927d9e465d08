//! Configuration changes: recorded when EventBridge delivers a CloudTrail management
//! event ("AWS API Call via CloudTrail") to the function, and read back when an incident
//! fires or worsens, for its "what changed" ([`crate::engine::changes`]). The port
//! ([`ChangeStore`]) keeps them per account, idempotent on CloudTrail's event id;
//! `aws::change_store` puts them in the state table.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::engine::changes::{self, ChangeEvidence, Scope};
use crate::engine::incidents::{Incident, Status};
use crate::logs::cloudtrail;
use crate::model::change::Change;
use crate::model::finding::Finding;
use crate::monitor::notify::remaining;
use crate::monitor::state::{StateError, StateFuture};
use crate::monitor::{InvocationSummary, Monitor};

/// How long a change is kept (and how far back a "before" value is looked for).
pub const CHANGE_TTL_SECS: i64 = 3 * 24 * 3600;
/// Changes read per incident at most (the newest first).
pub const CHANGES_READ_MAX: usize = 200;
/// An EventBridge event larger than this is not a CloudTrail change (they are a few KB).
const CHANGE_EVENT_MAX_BYTES: usize = 256 * 1024;

/// Where changes are kept, shared by every container.
pub trait ChangeStore: Send + Sync {
    /// Keeps `change` (a second write of the same event changes nothing); `true`: new.
    fn put_change<'a>(&'a self, change: &'a Change, now: i64) -> StateFuture<'a, bool>;
    /// The account's changes in `[from, to]` (epoch ms), at most `max`, the newest kept.
    fn changes<'a>(
        &'a self,
        account: Option<&'a str>,
        from: i64,
        to: i64,
        max: usize,
    ) -> StateFuture<'a, Vec<Change>>;
}

/// Changes in this process (the CLI's dry run, tests).
#[derive(Debug, Default)]
pub struct MemoryChanges {
    /// (account, event time, event id) → change.
    items: Mutex<BTreeMap<(String, i64, String), Change>>,
}

fn account_key(account: Option<&str>) -> String {
    account.unwrap_or("-").to_owned()
}

impl ChangeStore for MemoryChanges {
    fn put_change<'a>(&'a self, change: &'a Change, _now: i64) -> StateFuture<'a, bool> {
        Box::pin(async move {
            let key = (
                account_key(change.account.as_deref()),
                change.event_time,
                change.event_id.clone(),
            );
            let mut m = self.items.lock().unwrap_or_else(|e| e.into_inner());
            Ok(m.insert(key, change.clone()).is_none())
        })
    }

    fn changes<'a>(
        &'a self,
        account: Option<&'a str>,
        from: i64,
        to: i64,
        max: usize,
    ) -> StateFuture<'a, Vec<Change>> {
        Box::pin(async move {
            let a = account_key(account);
            let m = self.items.lock().unwrap_or_else(|e| e.into_inner());
            let mut v: Vec<Change> = m
                .range((a.clone(), from, String::new())..=(a, to, "\u{10ffff}".to_owned()))
                .rev()
                .take(max)
                .map(|(_, c)| c.clone())
                .collect();
            v.reverse();
            Ok(v)
        })
    }
}

/// The change an EventBridge event carries: `None` when the payload is not a CloudTrail
/// event; `Some(Err)` when it is one but not a change the doctor keeps.
pub fn change_event(event: &[u8]) -> Option<Result<Change, cloudtrail::Ignored>> {
    if event.len() > CHANGE_EVENT_MAX_BYTES
        || memchr::memmem::find(event, b"AWS API Call via CloudTrail").is_none()
    {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(event).ok()?;
    let record = cloudtrail::eventbridge_record(&v)?;
    Some(cloudtrail::change_of_record(record))
}

impl Monitor {
    /// Records the change an EventBridge event carries (`None`: the event is not one).
    /// A change that cannot be stored fails the invocation, so that it is retried and
    /// then kept in the failure destination.
    pub(super) async fn record_change(
        &self,
        event: &[u8],
        now: i64,
    ) -> Option<Result<InvocationSummary, StateError>> {
        let read = change_event(event)?;
        let mut summary = InvocationSummary::default();
        let change = match read {
            Ok(c) => c,
            Err(why) => {
                tracing::info!(reason = ?why, "CloudTrail event ignored: not a change to relate to incidents");
                summary.changes_ignored = 1;
                return Some(Ok(summary));
            }
        };
        let Some(store) = &self.ports.changes else {
            tracing::info!(event_id = %change.event_id, "change events are off: not recorded");
            summary.changes_ignored = 1;
            return Some(Ok(summary));
        };
        Some(match store.put_change(&change, now).await {
            Ok(new) => {
                tracing::info!(event_id = %change.event_id, event_name = %change.event_name, new, "change recorded");
                summary.changes_recorded = 1;
                Ok(summary)
            }
            Err(e) => {
                tracing::warn!(error = %e, event_id = %change.event_id, "could not record a change");
                Err(e)
            }
        })
    }

    /// What changed before the incident of a `firing` or `update`, under the deadline:
    /// a store that fails or is too slow makes the evidence `Unavailable`, never the alert.
    pub(super) async fn change_evidence(
        &self,
        status: Status,
        incident: &Incident,
        findings: &[&Finding],
        deadline: Option<Instant>,
    ) -> ChangeEvidence {
        let window_ms = self.settings.evidence.change_window_ms;
        let Some(store) = self
            .ports
            .changes
            .as_ref()
            .filter(|_| status != Status::Resolved)
        else {
            return ChangeEvidence::NotConfigured;
        };
        let scope = Scope::of_incident(incident, findings);
        let from = scope.onset - CHANGE_TTL_SECS * 1000;
        let Some(left) = remaining(deadline) else {
            return ChangeEvidence::Unavailable { window_ms };
        };
        let read = store.changes(scope.account, from, scope.onset, CHANGES_READ_MAX);
        match tokio::time::timeout(left, read).await {
            Ok(Ok(mut found)) => {
                changes::settle(&mut found);
                ChangeEvidence::Searched {
                    window_ms,
                    related: changes::relate(&scope, &found, window_ms),
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, incident = %incident.id, "could not read the changes before an incident");
                ChangeEvidence::Unavailable { window_ms }
            }
            Err(_) => ChangeEvidence::Unavailable { window_ms },
        }
    }
}
