//! The edge that talks to AWS through the SDK crates.

pub mod backend_lookup;
pub mod fetch;
pub mod lookup;
pub mod publish;
pub mod state;

use std::time::Duration;

/// The shared SDK configuration with bounded retries and timeouts: a slow or failing
/// service must leave the invocation time for what matters more (the alert).
pub async fn bounded_config(
    loader: aws_config::ConfigLoader,
    max_attempts: u32,
    connect: Duration,
    attempt: Duration,
    total: Duration,
) -> aws_config::SdkConfig {
    let retry = aws_config::retry::RetryConfig::standard().with_max_attempts(max_attempts);
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(connect)
        .operation_attempt_timeout(attempt)
        .operation_timeout(total)
        .build();
    loader
        .retry_config(retry)
        .timeout_config(timeouts)
        .load()
        .await
}
