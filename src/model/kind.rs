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

    /// The cause as a person says it, for alert subjects and reports.
    pub fn title(self) -> &'static str {
        match self {
            Cause::IntegrationTimeout => "integration timeout",
            Cause::SlowIntegration => "integration close to the timeout",
            Cause::FunctionTimeout => "Lambda function timed out",
            Cause::FunctionError => "Lambda function error",
            Cause::LambdaThrottled => "Lambda throttled",
            Cause::LambdaPermissions => "API Gateway may not invoke the function",
            Cause::MalformedProxyResponse => "malformed Lambda proxy response",
            Cause::AuthorizerError => "authorizer error",
            Cause::ConfigurationError => "configuration error",
            Cause::IntegrationFailure => "integration failure",
            Cause::FunctionTimeoutOverLimit => "function timeout above the gateway limit",
            Cause::ConnectionFailure => "could not connect to the backend",
            Cause::AwsServiceRejected => "AWS service refused the integration request",
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
