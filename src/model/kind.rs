//! What a finding is (its kind) and what caused it: identifiers shared by every layer.

use std::fmt;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// API Gateway gave up waiting for the integration (504).
    Timeout,
    /// A backend Lambda runs longer than the gateway waits.
    Misconfiguration,
    /// Another 5xx integration failure.
    Error,
    /// Succeeded, but with little headroom under the limit.
    NearLimit,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Timeout => "timeout",
            Kind::NearLimit => "near_limit",
            Kind::Error => "error",
            Kind::Misconfiguration => "misconfiguration",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    IntegrationTimeout,
    SlowIntegration,
    FunctionTimeout,
    FunctionError,
    LambdaThrottled,
    LambdaPermissions,
    MalformedProxyResponse,
    AuthorizerError,
    ConfigurationError,
    /// A 5xx from the integration that matches none of the above (HTTP backend, VPC link…).
    IntegrationFailure,
    FunctionTimeoutOverLimit,
    /// API Gateway could not reach the backend: network error, DNS or TLS.
    ConnectionFailure,
    /// An AWS service integration answered 4xx (403: the integration's role).
    AwsServiceRejected,
}

/// Which connection failure a detail names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionProblem {
    Network,
    Dns,
    Tls,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::IntegrationTimeout => "integration_timeout",
            Cause::SlowIntegration => "slow_integration",
            Cause::FunctionTimeout => "function_timeout",
            Cause::FunctionError => "function_error",
            Cause::LambdaThrottled => "lambda_throttled",
            Cause::LambdaPermissions => "lambda_permissions",
            Cause::MalformedProxyResponse => "malformed_proxy_response",
            Cause::AuthorizerError => "authorizer_error",
            Cause::ConfigurationError => "configuration_error",
            Cause::IntegrationFailure => "integration_failure",
            Cause::FunctionTimeoutOverLimit => "function_timeout_over_limit",
            Cause::ConnectionFailure => "connection_failure",
            Cause::AwsServiceRejected => "aws_service_rejected",
        }
    }

    /// How specific the evidence is: a later, more specific line may refine a cause.
    fn specificity(self) -> u8 {
        match self {
            Cause::ConfigurationError | Cause::IntegrationFailure => 0,
            _ => 1,
        }
    }

    /// Whether `new` should replace `old` as the cause of one request.
    pub fn refines(old: Option<Cause>, new: Cause) -> bool {
        old.is_none_or(|o| new.specificity() > o.specificity())
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
