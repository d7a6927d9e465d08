//! The schedule's tick (EventBridge, every minute): every incident quiet for
//! INCIDENT_RESOLVE_SECONDS is resolved and notified, then every SLO's error budget is
//! assessed (`monitor::budget`) and, once a day, the drift digest sent (`monitor::drift`);
//! the state errors of all three are published once.

use std::time::Instant;

use crate::engine::incidents::{self, Status};
use crate::monitor::track::Step;
use crate::monitor::{HandlerError, InvocationSummary, Monitor};

impl Monitor {
    /// The schedule's tick: resolves every incident quiet for INCIDENT_RESOLVE_SECONDS.
    pub(super) async fn resolve_quiet(
        &self,
        deadline: Option<Instant>,
        now: i64,
    ) -> Result<InvocationSummary, HandlerError> {
        let mut state_errors = 0;
        let mut steps = Vec::new();
        match self.ports.incidents.open().await {
            Ok(open) => {
                for inc in open {
                    if !incidents::resolve_due(&inc, now, self.settings.incidents.lifecycle) {
                        continue;
                    }
                    match self
                        .ports
                        .incidents
                        .remove(&inc.key.store_key(), inc.version)
                        .await
                    {
                        Ok(true) => steps.push(Step {
                            status: Status::Resolved,
                            previous: Some(inc.clone()),
                            incident: inc,
                            findings: Vec::new(),
                            before: None,
                            possibly_duplicate: false,
                            written: true,
                            replaced_by: None,
                        }),
                        Ok(false) => {} // it got a new finding meanwhile, or another tick resolved it
                        Err(e) => {
                            tracing::warn!(error = %e, "could not resolve an incident");
                            state_errors += 1;
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not read the open incidents");
                state_errors += 1;
            }
        }
        let resolved = steps.len();
        let sent = self.notify(steps, deadline, now, &mut state_errors).await?;
        let budget_notices = self
            .assess_budgets(deadline, now, &mut state_errors)
            .await?;
        let (drift_routes, drift_errors) = self.drift_digest(deadline, now).await;
        state_errors += drift_errors;
        self.count_state_errors(state_errors, deadline, now).await;
        Ok(InvocationSummary {
            resolved,
            alerts_sent: sent + budget_notices,
            budget_notices,
            drift_routes,
            state_errors,
            ..InvocationSummary::default()
        })
    }
}
