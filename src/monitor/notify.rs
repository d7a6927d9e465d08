//! Step 4: the notifications rendered and sent, `resolved` first, at most
//! MAX_ALERTS_PER_INVOCATION (the rest in one summary), to every notifier. A
//! notification that cannot be sent has its step undone in the store, so that Lambda's
//! retry sends it.

use std::time::{Duration, Instant};

use crate::engine::changes::ChangeEvidence;
use crate::engine::incidents::{Incident, Status};
use crate::monitor::outputs::PublishError;
use crate::monitor::track::Step;
use crate::monitor::Monitor;
use crate::render::alert::{self, AlertContext, Notice, Rendered};

/// Time kept back from the deadline for returning the result.
const DEADLINE_MARGIN: Duration = Duration::from_millis(1500);

impl Monitor {
    /// Step 4: renders and sends the notifications, `resolved` first, at most
    /// MAX_ALERTS_PER_INVOCATION (the rest in one summary). A notification that cannot
    /// be sent has its step undone in the store, so that Lambda's retry sends it.
    pub(super) async fn notify(
        &self,
        mut steps: Vec<Step<'_>>,
        deadline: Option<Instant>,
        now: i64,
        state_errors: &mut u64,
    ) -> Result<usize, PublishError> {
        steps.sort_by_key(|s| (s.status != Status::Resolved, s.incident.severity));
        let cap = self.settings.notify.max_alerts_per_invocation;
        let individual = if steps.len() > cap {
            cap.saturating_sub(1)
        } else {
            steps.len()
        };
        let mut evidence = Vec::with_capacity(steps.len());
        for (k, s) in steps.iter().enumerate() {
            evidence.push(if k < individual {
                self.change_evidence(s.status, &s.incident, &s.findings, deadline)
                    .await
            } else {
                ChangeEvidence::NotConfigured
            });
        }
        let notices: Vec<Notice<'_>> = steps
            .iter()
            .zip(evidence)
            .map(|(s, changes)| Notice {
                status: s.status,
                incident: &s.incident,
                findings: s.findings.clone(),
                before: s.before,
                possibly_duplicate: s.possibly_duplicate,
                now,
                changes,
            })
            .collect();
        let mut rendered: Vec<(Rendered, std::ops::Range<usize>)> = notices[..individual]
            .iter()
            .enumerate()
            .map(|(i, n)| (alert::render(n, &self.context_for(n.incident)), i..i + 1))
            .collect();
        if individual < notices.len() {
            rendered.push((
                alert::render_summary(&notices[individual..], now, |i| self.context_for(i)),
                individual..notices.len(),
            ));
        }
        let mut sent = 0;
        // Best-effort notifiers (the pagers) that failed, by name: logged each, and
        // published as `NotifierFailures` per `Notifier`.
        let mut best_effort_failures = std::collections::BTreeMap::new();
        for (k, (r, covers)) in rendered.iter().enumerate() {
            let result = self
                .send_alert(r, deadline, &mut best_effort_failures)
                .await;
            if let Err(e) = result {
                self.count_notifier_failures(&best_effort_failures, deadline, now)
                    .await;
                // This one and the rest were not sent: undo their steps.
                let unsent = rendered[k..].iter().flat_map(|(_, c)| c.clone());
                for i in unsent {
                    if let Err(se) = self.undo(&steps[i]).await {
                        tracing::warn!(error = %se, "could not undo an incident step after a failed send");
                        *state_errors += 1;
                    }
                }
                return Err(e);
            }
            sent += usize::from(result.is_ok_and(|went| went) && !covers.is_empty());
        }
        self.count_notifier_failures(&best_effort_failures, deadline, now)
            .await;
        Ok(sent)
    }

    /// The alert context: the account whose logs showed the incident (else the settings'
    /// or the backend's), and the region from the backend when the settings do not give it.
    fn context_for(&self, i: &Incident) -> AlertContext {
        let mut ctx = self.alert_context();
        if let Some(account) = &i.key.account {
            ctx.account = Some(account.clone());
        } else if ctx.account.is_none() {
            ctx.account = i
                .backend
                .as_ref()
                .and_then(crate::model::backend::Backend::account)
                .map(str::to_owned);
        }
        if ctx.region.is_none() {
            ctx.region = i
                .backend
                .as_ref()
                .and_then(crate::model::backend::Backend::region)
                .map(str::to_owned);
        }
        ctx
    }

    /// The settings' alert context, with the doctor's own account: the function's (learned
    /// from the invocation), else the alert topic's (`Config::settings`). One answer for the
    /// alerts, the budget notices and the lookups (`Monitor::own_account`).
    pub(super) fn alert_context(&self) -> AlertContext {
        let mut ctx = self.settings.notify.context.clone();
        if let Some(own) = self.own_account() {
            if ctx.account == ctx.home_account {
                ctx.account = Some(own.to_owned());
            }
            ctx.home_account = Some(own.to_owned());
        }
        ctx
    }

    /// Sends one rendering to every notifier; `false`: nowhere to send it (logged only).
    /// A required notifier's failure fails the call (its step is undone, Lambda
    /// retries); a best-effort one's is logged and counted.
    pub(super) async fn send_alert(
        &self,
        r: &Rendered,
        deadline: Option<Instant>,
        failed_optional: &mut std::collections::BTreeMap<&'static str, u64>,
    ) -> Result<bool, PublishError> {
        let mut went = false;
        for n in &self.ports.notifiers {
            let sent = within(deadline, "publish alerts", n.send(r)).await;
            match sent {
                Ok(w) => went |= w,
                Err(e) if n.required() => return Err(e),
                Err(e) => {
                    tracing::warn!(error = %e, notifier = n.name(), alert_id = %r.id, "a best-effort notifier failed: the alert went out elsewhere");
                    *failed_optional.entry(n.name()).or_default() += 1;
                }
            }
        }
        Ok(went)
    }
}

pub(super) fn remaining(deadline: Option<Instant>) -> Option<Duration> {
    match deadline {
        None => Some(Duration::from_secs(60)),
        Some(d) => d
            .checked_duration_since(Instant::now())?
            .checked_sub(DEADLINE_MARGIN),
    }
}

/// `fut`, bounded by what is left of the invocation. A port that answers at once (the
/// recorder) answers even past the deadline: the timeout polls it first.
pub(super) async fn within<T>(
    deadline: Option<Instant>,
    what: &'static str,
    fut: impl std::future::Future<Output = Result<T, PublishError>>,
) -> Result<T, PublishError> {
    let left = remaining(deadline).unwrap_or(Duration::ZERO);
    tokio::time::timeout(left, fut)
        .await
        .map_err(|_| PublishError::Deadline(what))?
}
