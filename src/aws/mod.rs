//! The edge that talks to AWS through the SDK crates.

pub mod budget_store;
pub mod change_store;
pub mod cross_account;
pub mod daily_latency;
pub mod fetch;
pub mod integration_limits;
pub mod lookup;
pub mod publish;
pub mod secrets;
pub mod state;

use std::time::Duration;

/// The process's one SDK configuration (loaded once at init), with bounded retries and
/// timeouts for one client: a slow or failing service must leave the invocation time for
/// what matters more (the alert).
pub fn bounded_config(
    shared: &aws_config::SdkConfig,
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
    shared
        .to_builder()
        .retry_config(retry)
        .timeout_config(timeouts)
        .build()
}
