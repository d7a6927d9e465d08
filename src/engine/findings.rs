//! What is worth telling someone about: kinds and causes of findings, and the
//! rules that turn a request into one.

use std::fmt;

use crate::engine::limits::ApiKind;
use crate::engine::request::Request;

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

    /// `Execution failed due to configuration error: <detail>`.
    pub fn from_configuration_error(detail: &str) -> Cause {
        if detail.starts_with("Malformed Lambda proxy response") {
            Cause::MalformedProxyResponse
        } else if detail.starts_with("Invalid permissions on Lambda function") {
            Cause::LambdaPermissions
        } else if detail.starts_with("Rate Exceeded") {
            Cause::LambdaThrottled
        } else if detail.starts_with("Authorizer error")
            || detail.contains("does not have permission to assume the provided role")
        {
            Cause::AuthorizerError
        } else {
            Cause::ConfigurationError
        }
    }

    /// `Lambda execution failed … customer function error: <message>`.
    pub fn from_function_error(message: &str) -> Cause {
        if message.contains("Task timed out after") {
            Cause::FunctionTimeout
        } else {
            Cause::FunctionError
        }
    }

    /// An access log's `error.responseType` and integration error text, for a 5xx.
    pub fn from_access_log(
        response_type: Option<&str>,
        integration_error: Option<&str>,
    ) -> Option<Cause> {
        let err = integration_error.unwrap_or("");
        let by_text = || {
            if err.contains("Task timed out") {
                Some(Cause::FunctionTimeout)
            } else if err.contains("Rate Exceeded") || err.contains("TooManyRequests") {
                Some(Cause::LambdaThrottled)
            } else if err.contains("Malformed Lambda proxy response") {
                Some(Cause::MalformedProxyResponse)
            } else if err.contains("Invalid permissions") {
                Some(Cause::LambdaPermissions)
            } else if err.contains("Lambda") || err.contains("Function") {
                Some(Cause::FunctionError)
            } else {
                None
            }
        };
        match response_type {
            Some("AUTHORIZER_CONFIGURATION_ERROR" | "AUTHORIZER_FAILURE") => {
                Some(Cause::AuthorizerError)
            }
            Some("API_CONFIGURATION_ERROR") => by_text().or(Some(Cause::ConfigurationError)),
            Some("INTEGRATION_FAILURE") => by_text().or(Some(Cause::IntegrationFailure)),
            Some("DEFAULT_5XX") | None => by_text(),
            Some(_) => None,
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind and cause a request deserves, if any. `threshold_ppm` is the
/// near-limit ratio in millionths, so that 0.8 × 29000 is exactly 23200.
pub fn classify(req: &Request, limit_ms: u64, ratio_ppm: u64) -> Option<(Kind, Cause)> {
    if req.timed_out || http_api_timeout(req, limit_ms) {
        return Some((Kind::Timeout, Cause::IntegrationTimeout));
    }
    if let Some(cause) = req.failure {
        if req.status.is_none_or(|s| s >= 500) {
            return Some((Kind::Error, cause));
        }
    }
    let latency = req.integration_latency_ms?;
    if !req.got_response() {
        return None;
    }
    (u128::from(latency) * 1_000_000 >= u128::from(limit_ms) * u128::from(ratio_ppm))
        .then_some((Kind::NearLimit, Cause::SlowIntegration))
}

/// HTTP APIs answer a timed-out integration with 503 `Service Unavailable` (observed)
/// and log no timeout type: a 503/504 whose latency reached the limit is one.
fn http_api_timeout(req: &Request, limit_ms: u64) -> bool {
    req.kind == ApiKind::Http
        && matches!(req.status, Some(503 | 504))
        && (req
            .response_latency_ms
            .or(req.integration_latency_ms)
            .is_some_and(|l| l + 100 >= limit_ms)
            || req
                .integration_error
                .as_deref()
                .is_some_and(|e| e.contains("timed out") || e.contains("timeout")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_error_details() {
        assert_eq!(
            Cause::from_configuration_error("Malformed Lambda proxy response"),
            Cause::MalformedProxyResponse
        );
        assert_eq!(
            Cause::from_configuration_error("Invalid permissions on Lambda function"),
            Cause::LambdaPermissions
        );
        assert_eq!(
            Cause::from_configuration_error("Rate Exceeded."),
            Cause::LambdaThrottled
        );
        assert_eq!(
            Cause::from_configuration_error("Authorizer error"),
            Cause::AuthorizerError
        );
        assert_eq!(
            Cause::from_configuration_error("Unable to transform request"),
            Cause::ConfigurationError
        );
        assert_eq!(
            Cause::from_function_error("x Task timed out after 10.00 seconds"),
            Cause::FunctionTimeout
        );
        assert_eq!(
            Cause::from_function_error("KeyError: 'x'"),
            Cause::FunctionError
        );
    }

    #[test]
    fn access_log_causes() {
        assert_eq!(
            Cause::from_access_log(
                Some("INTEGRATION_FAILURE"),
                Some("Lambda Customer Function Error:'AZUL_S3_BUCKET'")
            ),
            Some(Cause::FunctionError)
        );
        assert_eq!(
            Cause::from_access_log(Some("INTEGRATION_FAILURE"), None),
            Some(Cause::IntegrationFailure)
        );
        assert_eq!(
            Cause::from_access_log(Some("AUTHORIZER_FAILURE"), None),
            Some(Cause::AuthorizerError)
        );
        assert_eq!(Cause::from_access_log(Some("THROTTLED"), None), None);
        assert_eq!(Cause::from_access_log(None, None), None);
        assert!(Cause::refines(
            Some(Cause::ConfigurationError),
            Cause::LambdaThrottled
        ));
        assert!(!Cause::refines(
            Some(Cause::LambdaThrottled),
            Cause::ConfigurationError
        ));
    }
}
