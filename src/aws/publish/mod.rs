//! The only code that sends anything: CloudWatch metrics, SNS alerts, EMF lines on
//! stdout, or (dry run) a record of what would have been sent.

pub mod cloudwatch;
pub mod sns;

use std::sync::Mutex;

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
    #[error("SNS Publish of alert {alert_id} failed: {message}")]
    Alert { alert_id: String, message: String },
    #[error("the invocation's deadline is too close to {0}")]
    Deadline(&'static str),
}

/// What a dry run would have sent.
#[derive(Debug, Clone)]
pub enum Published {
    Metrics(MetricBatch),
    Emf(Vec<String>),
    Alert(Rendered),
}

/// Where output goes: AWS through the SDK clients, or a dry-run record.
pub enum Sink {
    Aws {
        cloudwatch: aws_sdk_cloudwatch::Client,
        sns: aws_sdk_sns::Client,
    },
    DryRun(Mutex<Vec<Published>>),
}

/// SDK retries and timeouts for the function: three attempts with backoff, each
/// bounded, so that a failing AWS call ends well inside the invocation's deadline
/// (the handler also bounds every call by the deadline itself).
pub fn aws_sink(shared: &aws_config::SdkConfig) -> Sink {
    use std::time::Duration;
    let shared = crate::aws::bounded_config(
        shared,
        3,
        Duration::from_secs(2),
        Duration::from_secs(5),
        Duration::from_secs(15),
    );
    Sink::Aws {
        cloudwatch: aws_sdk_cloudwatch::Client::new(&shared),
        sns: aws_sdk_sns::Client::new(&shared),
    }
}

impl Sink {
    pub fn dry_run() -> Sink {
        Sink::DryRun(Mutex::new(Vec::new()))
    }

    pub fn record(&self, p: Published) -> bool {
        match self {
            Sink::DryRun(log) => {
                log.lock().unwrap_or_else(|e| e.into_inner()).push(p);
                true
            }
            Sink::Aws { .. } => false,
        }
    }

    /// Takes what a dry run recorded so far.
    pub fn take_recorded(&self) -> Vec<Published> {
        match self {
            Sink::DryRun(log) => {
                std::mem::take(&mut *log.lock().unwrap_or_else(|e| e.into_inner()))
            }
            Sink::Aws { .. } => Vec::new(),
        }
    }
}

/// The AWS SDK's error with its source chain, on one line.
pub(crate) fn sdk_message<E: std::error::Error>(e: &E) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}
