//! Step 5, after the notifications went out: the batch's requests on the routes of
//! incidents open elsewhere (no finding of theirs in it) join those incidents'
//! `requests`, so that an incident's rate counts every request of its routes in its
//! window. One read of the open incidents per batch (a Query of one small partition in
//! DynamoDB), a conditional write only where an incident takes traffic.

use crate::engine::analysis::Analysis;
use crate::engine::incidents::{self, IncidentGroup};
use crate::engine::route_traffic::add_route_traffic;
use crate::monitor::Monitor;

/// Conditional-write attempts per incident before leaving its count for the next batch.
const ATTEMPTS: usize = 3;

impl Monitor {
    /// Adds the batch's route traffic to the open incidents; returns the state errors.
    /// It runs after the alerts were sent, so a failed batch (retried whole) never
    /// counts its traffic twice; a failing store costs the count, never an alert.
    pub(super) async fn count_route_traffic(
        &self,
        analysis: &Analysis,
        groups: &[IncidentGroup<'_>],
        now: i64,
    ) -> u64 {
        if analysis.routes.iter().all(|r| r.requests == 0) {
            return 0;
        }
        let open = match self.ports.incidents.open().await {
            Ok(open) => open,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the open incidents: this batch's route traffic is not counted in them");
                return 1;
            }
        };
        let lifecycle = self.settings.incidents.lifecycle;
        let mut errors = 0;
        for mut current in open {
            for _ in 0..ATTEMPTS {
                if incidents::resolve_due(&current, now, lifecycle) {
                    break; // quiet: the schedule or its next finding resolves it
                }
                let accounts = &analysis.counters.accounts;
                let Some(next) = add_route_traffic(&current, &analysis.routes, accounts, groups)
                else {
                    break;
                };
                match self.ports.incidents.put(&next, current.version).await {
                    Ok(true) => break,
                    // Another container wrote first: read it again.
                    Ok(false) => match self.ports.incidents.get(&current.key.store_key()).await {
                        Ok(Some(again)) => current = again,
                        Ok(None) => break,
                        Err(e) => {
                            tracing::warn!(error = %e, "could not re-read an incident for its route traffic");
                            errors += 1;
                            break;
                        }
                    },
                    Err(e) => {
                        tracing::warn!(error = %e, "could not add route traffic to an incident");
                        errors += 1;
                        break;
                    }
                }
            }
        }
        errors
    }
}
