//! The output ports through the SDK: CloudWatch metrics ([`cloudwatch::CloudWatchMetrics`])
//! and SNS alerts ([`sns::SnsNotifier`]), and the best-effort pagers ([`pager`]).

pub mod cloudwatch;
pub mod pager;
pub mod sns;

/// SDK retries and timeouts for the function's outputs: three attempts with backoff,
/// each bounded, so that a failing AWS call ends well inside the invocation's deadline
/// (the monitor also bounds every call by the deadline itself).
pub fn output_config(shared: &aws_config::SdkConfig) -> aws_config::SdkConfig {
    use std::time::Duration;
    crate::aws::bounded_config(
        shared,
        3,
        Duration::from_secs(2),
        Duration::from_secs(5),
        Duration::from_secs(15),
    )
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
