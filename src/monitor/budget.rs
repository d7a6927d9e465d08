//! The error budget: each batch's requests counted per SLO, route and minute in the
//! shared state (atomic additions, so K containers count exactly), and on the schedule's
//! tick every SLO assessed against the burn-rate rules, its notice fired, updated or
//! resolved with a conditional write, so that one container notifies.
//!
//! The counts are added after the alerts went out, like the route traffic: a batch that
//! failed is retried whole and counted once, when it succeeds (the batch claims keep a
//! redelivery from counting again). A failing store costs the count, never an alert.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use crate::engine::analysis::Analysis;
use crate::engine::budget::{self, BudgetFacts, BudgetNotice, BudgetStep, SloCounts};
use crate::engine::burn::RULES;
use crate::engine::slo::SloKey;
use crate::model::tally::{minute_of, MINUTE_MS};
use crate::monitor::outputs::PublishError;
use crate::monitor::state::StateFuture;
use crate::monitor::Monitor;
use crate::render::alert::budget as words;

pub mod memory;

pub use crate::engine::budget::{counts, SloCount};

/// The longest window a rule reads.
pub fn longest_window_ms() -> i64 {
    RULES.iter().map(|r| r.long_ms).max().unwrap_or(0)
}

/// Where the counts and the open notices are kept (the state table, or this process).
pub trait BudgetStore: Send + Sync {
    /// Adds the counts: each per-minute, per-day and index update is one atomic addition.
    fn add_counts<'a>(&'a self, counts: &'a [SloCount]) -> StateFuture<'a, ()>;
    /// The SLOs counted in a minute since `since`.
    fn active_slos(&self, since: i64) -> StateFuture<'_, Vec<SloKey>>;
    /// One SLO's minutes since `since` (per route) and its days since `days_since`.
    fn slo_counts<'a>(
        &'a self,
        slo: &'a SloKey,
        since: i64,
        days_since: i64,
    ) -> StateFuture<'a, SloCounts>;
    fn open_notices(&self) -> StateFuture<'_, Vec<BudgetNotice>>;
    /// Writes `next` if the stored version is `expected` (0: none stored).
    fn put_notice<'a>(&'a self, next: &'a BudgetNotice, expected: u64) -> StateFuture<'a, bool>;
    /// Deletes the SLO's notice if it is still at `version`.
    fn remove_notice<'a>(&'a self, slo: &'a SloKey, version: u64) -> StateFuture<'a, bool>;
}

impl Monitor {
    /// Adds the batch's requests to their SLOs' counts; returns the state errors.
    pub(super) async fn count_budget(&self, analysis: &Analysis) -> u64 {
        let Some(store) = &self.ports.budget else {
            return 0;
        };
        let counts = counts(analysis, &self.settings.budget);
        if counts.is_empty() {
            return 0;
        }
        match store.add_counts(&counts).await {
            Ok(()) => 0,
            Err(e) => {
                tracing::warn!(error = %e, counts = counts.len(), "could not count this batch's requests toward the error budget");
                1
            }
        }
    }

    /// The tick: every SLO assessed, its notice's step written and sent. Returns the
    /// notices sent; state errors are added to `state_errors`.
    pub(super) async fn assess_budgets(
        &self,
        deadline: Option<Instant>,
        now: i64,
        state_errors: &mut u64,
    ) -> Result<usize, PublishError> {
        let Some(store) = &self.ports.budget else {
            return Ok(0);
        };
        let at = minute_of(now);
        let (open, active) = match (
            store.open_notices().await,
            store.active_slos(at - longest_window_ms()).await,
        ) {
            (Ok(o), Ok(a)) => (o, a),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "could not read the error budgets");
                *state_errors += 1;
                return Ok(0);
            }
        };
        let open: BTreeMap<SloKey, BudgetNotice> =
            open.into_iter().map(|n| (n.slo.clone(), n)).collect();
        let slos: BTreeSet<SloKey> = active.into_iter().chain(open.keys().cloned()).collect();
        let mut sent = 0;
        for slo in slos {
            let Some(objective) = self
                .settings
                .budget
                .objective_of(&slo)
                .or(open.get(&slo).map(|n| n.objective))
            else {
                continue;
            };
            let since = at - longest_window_ms() + MINUTE_MS;
            let counts = match store
                .slo_counts(&slo, since, at - objective.period_ms - 24 * 60 * MINUTE_MS)
                .await
            {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, slo = %slo.store_key(), "could not read an SLO's counts: not assessed this minute");
                    *state_errors += 1;
                    continue;
                }
            };
            let facts = budget::assess(&slo, objective, &counts, at);
            let Some(step) =
                budget::observe(open.get(&slo), &slo, objective, &facts.assessment, at)
            else {
                continue;
            };
            sent += self
                .budget_step(&step, &facts, deadline, state_errors)
                .await?;
        }
        Ok(sent)
    }

    /// Writes one step, then sends it; a failed send undoes the write (the next tick
    /// sends it again). Returns 1 when it went out.
    async fn budget_step(
        &self,
        step: &BudgetStep,
        facts: &BudgetFacts,
        deadline: Option<Instant>,
        state_errors: &mut u64,
    ) -> Result<usize, PublishError> {
        let Some(store) = &self.ports.budget else {
            return Ok(0);
        };
        let written = match &step.next {
            Some(next) => store.put_notice(next, step.expected()).await,
            None => store.remove_notice(&step.notice.slo, step.expected()).await,
        };
        match written {
            Ok(true) => {}
            Ok(false) => return Ok(0), // another container took this step
            Err(e) => {
                tracing::warn!(error = %e, "could not write a budget notice");
                *state_errors += 1;
                return Ok(0);
            }
        }
        let ctx = self.budget_context(&step.notice.slo);
        let rendered = words::render(step, facts, &ctx);
        let mut failures = BTreeMap::new();
        let result = self.send_alert(&rendered, deadline, &mut failures).await;
        self.count_notifier_failures(&failures, deadline, facts.at)
            .await;
        match result {
            Ok(went) => Ok(usize::from(went)),
            Err(e) => {
                // Back to what was stored before, under a version of its own.
                let undone = match (&step.next, &step.previous) {
                    (Some(next), None) => store.remove_notice(&next.slo, next.version).await,
                    (Some(next), Some(prev)) => {
                        let back = BudgetNotice {
                            version: next.version + 1,
                            ..prev.clone()
                        };
                        store.put_notice(&back, next.version).await
                    }
                    (None, Some(prev)) => store.put_notice(prev, 0).await,
                    (None, None) => Ok(true),
                };
                if let Err(se) = undone {
                    tracing::warn!(error = %se, "could not undo a budget notice after a failed send");
                    *state_errors += 1;
                }
                Err(e)
            }
        }
    }

    /// The alert context of an SLO: its account when the logs named it.
    fn budget_context(&self, slo: &SloKey) -> crate::render::alert::AlertContext {
        let mut ctx = self.alert_context();
        if let Some(a) = &slo.account {
            ctx.account = Some(a.clone());
        }
        ctx
    }
}
