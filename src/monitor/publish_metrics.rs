//! The metric data: the batch's, once per batch in this container (a retry here does
//! not count it twice), `StateErrors` for each failed state call, `NotifierFailures` for
//! each failed page, and the rejected
//! batch's `BatchesRejected`.

use std::time::Instant;

use crate::engine::analysis::{Analysis, Analyzer};
use crate::logs::envelope::EnvelopeError;
use crate::monitor::notify::within;
use crate::monitor::outputs::PublishError;
use crate::monitor::settings::MetricsMode;
use crate::monitor::{HandlerError, Monitor};
use crate::render::metrics::{self, Datum, Health, MetricBatch, Unit};

/// The metric that counts failed state-store calls (each fell back to sending).
pub const STATE_ERRORS: &str = "StateErrors";
/// The metric that counts failed best-effort notifications (a page), by `Notifier`.
pub const NOTIFIER_FAILURES: &str = "NotifierFailures";

impl Monitor {
    /// The batch's metric data, once per batch in this container.
    pub(super) async fn publish_metrics(
        &self,
        analysis: &Analysis,
        batch_key: &str,
        lookups_skipped: usize,
        deadline: Option<Instant>,
        now: i64,
    ) -> Result<(usize, usize), PublishError> {
        let cfg = &self.settings.metrics;
        let health = Health {
            log_events: analysis.summary.log_events,
            batches_rejected: 0,
            lookups_skipped: lookups_skipped as u64,
        };
        let batch = metrics::build_with(analysis, &cfg.namespace, now, health, cfg.by_account);
        if batch.dropped_out_of_range > 0 {
            tracing::warn!(
                dropped = batch.dropped_out_of_range,
                "metric data outside CloudWatch's accepted time range (older than 14 days or in the future) were not sent"
            );
        }
        let already = self.lock().metrics_sent.contains(batch_key);
        let calls = if already {
            tracing::info!(
                "metrics of this batch were sent by an earlier, failed try: not sent again"
            );
            0
        } else {
            let n = self.send_metrics(&batch, deadline).await?;
            self.lock().metrics_sent.insert(batch_key.to_owned());
            n
        };
        Ok((calls, batch.data.len()))
    }

    /// `StateErrors`: each failed state call (the alert went out regardless).
    pub(super) async fn count_state_errors(&self, n: u64, deadline: Option<Instant>, now: i64) {
        if n == 0 {
            return;
        }
        let batch = MetricBatch {
            namespace: self.settings.metrics.namespace.clone(),
            data: vec![Datum {
                name: STATE_ERRORS,
                unit: Unit::Count,
                dimensions: Vec::new(),
                timestamp_ms: now.div_euclid(60_000) * 60_000,
                values: vec![n as f64],
                counts: vec![1.0],
            }],
            dropped_out_of_range: 0,
        };
        if let Err(e) = self.send_metrics(&batch, deadline).await {
            tracing::warn!(error = %e, "could not count the state errors");
        }
    }

    /// `NotifierFailures` per `Notifier`: best-effort sends (the pagers) that failed
    /// while the alert went out through the channel of record.
    pub(super) async fn count_notifier_failures(
        &self,
        failures: &std::collections::BTreeMap<&'static str, u64>,
        deadline: Option<Instant>,
        now: i64,
    ) {
        if failures.is_empty() {
            return;
        }
        let batch = MetricBatch {
            namespace: self.settings.metrics.namespace.clone(),
            data: failures
                .iter()
                .map(|(name, n)| Datum {
                    name: NOTIFIER_FAILURES,
                    unit: Unit::Count,
                    dimensions: vec![("Notifier", (*name).to_owned())],
                    timestamp_ms: now.div_euclid(60_000) * 60_000,
                    values: vec![*n as f64],
                    counts: vec![1.0],
                })
                .collect(),
            dropped_out_of_range: 0,
        };
        if let Err(e) = self.send_metrics(&batch, deadline).await {
            tracing::warn!(error = %e, "could not count the notifier failures");
        }
    }

    async fn send_metrics(
        &self,
        batch: &MetricBatch,
        deadline: Option<Instant>,
    ) -> Result<usize, PublishError> {
        match self.settings.metrics.mode {
            MetricsMode::Off => Ok(0),
            MetricsMode::Emf => {
                self.ports.metrics.emf(metrics::emf_lines(batch));
                Ok(0)
            }
            MetricsMode::Api => {
                within(deadline, "publish metrics", self.ports.metrics.put(batch)).await
            }
        }
    }

    /// A batch that cannot be decoded: logged with its context, counted, and failed.
    pub(super) async fn reject(
        &self,
        e: EnvelopeError,
        deadline: Option<Instant>,
        now: i64,
    ) -> HandlerError {
        let o = e.origin();
        tracing::error!(
            error = %e,
            location = %o.location,
            log_group = o.log_group.as_deref().unwrap_or(""),
            log_stream = o.log_stream.as_deref().unwrap_or(""),
            first_event_id = o.first_event_id.as_deref().unwrap_or(""),
            "batch rejected: it goes to the failure destination for inspection"
        );
        let empty = Analyzer::new(&self.settings.engine).finish().0;
        let batch = metrics::build(
            &empty,
            &self.settings.metrics.namespace,
            now,
            Health {
                log_events: 0,
                batches_rejected: 1,
                lookups_skipped: 0,
            },
        );
        if let Err(pe) = self.send_metrics(&batch, deadline).await {
            tracing::warn!(error = %pe, "could not count the rejected batch");
        }
        HandlerError::Rejected(Box::new(e))
    }
}
