//! Drift toward the limit: each batch's daily latency histograms are added to the
//! shared store after the alerts went out (as [`super::route_traffic`] counts), and
//! once per UTC day, at DRIFT_DIGEST_HOUR, one schedule tick (claimed across containers
//! like a batch) reads the last 14 complete days, runs the drift rules and sends one
//! digest when a route drifts. A failing store costs the count or the digest (logged,
//! counted in `state_errors`), never an alert or a metric. The port is
//! [`crate::monitor::state::DailyLatencyStore`].

use std::time::Instant;

use crate::engine::analysis::Analysis;
use crate::engine::daily_latency::{self, RouteDay};
use crate::model::daily_latency::day_of;
use crate::monitor::Monitor;
use crate::render::drift::digest;

/// The days the digest reads: the last 14 complete UTC days.
pub const DIGEST_DAYS: i64 = crate::engine::drift::MAX_DAYS as i64;

/// The rows one analysis adds: each route's days, under its account (`-`: not named).
pub fn rows(analysis: &Analysis) -> Vec<RouteDay> {
    let mut out = Vec::new();
    for r in &analysis.routes {
        for d in &r.daily.days {
            out.push(RouteDay {
                account: r.key.account.as_deref().unwrap_or("-").to_owned(),
                api_id: r.key.api_id.clone(),
                stage: r.key.stage.clone(),
                route: r.key.route.as_str().to_owned(),
                latency: d.clone(),
            });
        }
    }
    out
}

/// The claim that makes the digest of `day` one across containers and ticks.
pub fn digest_claim(day: i64) -> String {
    format!("drift-digest#{}", crate::render::drift::date(day))
}

impl Monitor {
    /// Adds the batch's daily latencies to the shared store; returns the state errors.
    /// After the alerts, like the route traffic: a failed batch (retried whole) is not
    /// counted twice, and a failing store costs only the count.
    pub(super) async fn count_daily_latency(&self, analysis: &Analysis, now: i64) -> u64 {
        let Some(store) = &self.ports.daily_latency else {
            return 0;
        };
        if !self.settings.drift.digest {
            return 0;
        }
        let rows = rows(analysis);
        if rows.is_empty() {
            return 0;
        }
        match store.add(&rows, now).await {
            Ok(()) => 0,
            Err(e) => {
                tracing::warn!(error = %e, "could not add the batch's daily latencies: drift misses them");
                1
            }
        }
    }

    /// The daily drift digest, on the first tick at or after DRIFT_DIGEST_HOUR of a UTC
    /// day that claims it. Returns (routes named in a digest sent, state errors). A send
    /// that fails gives the claim back: the next tick sends it.
    pub(super) async fn drift_digest(&self, deadline: Option<Instant>, now: i64) -> (usize, u64) {
        let (Some(store), true) = (&self.ports.daily_latency, self.settings.drift.digest) else {
            return (0, 0);
        };
        let hour = now.rem_euclid(86_400_000) / 3_600_000;
        if hour < i64::from(self.settings.drift.hour) {
            return (0, 0);
        }
        let today = day_of(now);
        let claim = digest_claim(today);
        match self.ports.claims.claim_batch(&claim, now).await {
            Ok(true) => {}
            Ok(false) => return (0, 0),
            Err(e) => {
                tracing::warn!(error = %e, "could not claim today's drift digest: the next tick tries again");
                return (0, 1);
            }
        }
        let rows = match store.days(today - DIGEST_DAYS, today - 1).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the daily latencies: no drift digest yet");
                return (0, 1 + self.release(&claim, false, now).await);
            }
        };
        let drifts = daily_latency::drifting(&rows);
        let mut errors = 0;
        let named = if drifts.is_empty() {
            0
        } else {
            let r = digest(&drifts, today, &self.alert_context());
            let mut failed = std::collections::BTreeMap::new();
            match self.send_alert(&r, deadline, &mut failed).await {
                Ok(_) => drifts.len(),
                Err(e) => {
                    tracing::warn!(error = %e, "the drift digest could not be sent: the next tick tries again");
                    return (0, self.release(&claim, false, now).await);
                }
            }
        };
        errors += self.release(&claim, true, now).await;
        tracing::info!(
            routes_read = rows.len(),
            routes_drifting = named,
            "drift digest"
        );
        (named, errors)
    }

    /// Marks the digest claim done (`ok`) or gives it back; returns the state errors.
    async fn release(&self, claim: &str, ok: bool, now: i64) -> u64 {
        match self.ports.claims.finish_batch(claim, ok, now).await {
            Ok(()) => 0,
            Err(e) => {
                tracing::warn!(error = %e, ok, "could not record the drift digest's claim");
                1
            }
        }
    }
}
