//! The output ports: where metric data and notifications go. The AWS adapters
//! (CloudWatch, SNS) implement them in `aws::publish`; [`crate::monitor::recorder`]
//! records what would be sent (the CLI's dry run, tests). A new output (a pager) is a
//! new [`Notifier`], in its own folder, and touches nothing here.

use std::future::Future;
use std::pin::Pin;

use crate::render::alert::Rendered;
use crate::render::metrics::MetricBatch;

/// A failed send. Throttling, 5xx and network errors can succeed on a later try;
/// the invocation then fails so that Lambda's retry (and at last the failure
/// destination) keeps the batch.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("CloudWatch PutMetricData failed (call {call} of {calls}): {message}")]
    Metrics {
        call: usize,
        calls: usize,
        message: String,
    },
    #[error("{notifier} could not send alert {alert_id}: {message}")]
    Alert {
        notifier: &'static str,
        alert_id: String,
        message: String,
    },
    #[error("the invocation's deadline is too close to {0}")]
    Deadline(&'static str),
}

/// What an output port returns (boxed, so that the ports can be `dyn`).
pub type OutputFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, PublishError>> + Send + 'a>>;

/// Where metric data goes.
pub trait MetricsOut: Send + Sync {
    /// Sends one batch through the API; returns the calls made.
    fn put<'a>(&'a self, batch: &'a MetricBatch) -> OutputFuture<'a, usize>;
    /// Writes Embedded Metric Format lines (`METRICS_MODE=emf`): stdout, where
    /// CloudWatch Logs extracts them, unless the port records them.
    fn emf(&self, lines: Vec<String>) {
        for l in lines {
            println!("{l}");
        }
    }
}

/// Where a rendered notification goes.
pub trait Notifier: Send + Sync {
    /// Its name, for logs and errors (`sns`, `pagerduty`…).
    fn name(&self) -> &'static str;
    /// Sends one notification; `false`: nowhere to send it (it was only logged).
    fn send<'a>(&'a self, alert: &'a Rendered) -> OutputFuture<'a, bool>;
    /// Whether a failed send fails the invocation (so that Lambda's retry sends it):
    /// true for the alert channel of record; a best-effort channel is counted instead.
    fn required(&self) -> bool {
        true
    }
}

/// No metrics (`METRICS_MODE=off`, or no client).
pub struct NoMetrics;

impl MetricsOut for NoMetrics {
    fn put<'a>(&'a self, _batch: &'a MetricBatch) -> OutputFuture<'a, usize> {
        Box::pin(async { Ok(0) })
    }
}

/// No alert topic: each notification is logged, not sent.
pub struct LogOnly;

impl Notifier for LogOnly {
    fn name(&self) -> &'static str {
        "log"
    }

    fn send<'a>(&'a self, r: &'a Rendered) -> OutputFuture<'a, bool> {
        tracing::warn!(alert_id = %r.id, subject = %r.subject, automation = %r.automation, "incident (no ALERT_TOPIC_ARN set, not sent)");
        Box::pin(async { Ok(false) })
    }
}
