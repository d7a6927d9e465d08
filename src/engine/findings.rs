//! What is worth telling someone about: kinds and causes of findings, and the
//! rules that turn a request into one.

use crate::engine::request::Request;
use crate::model::backend::Backend;
use crate::model::kind::{Cause, ConnectionProblem, Kind};
use crate::model::limits::ApiKind;

impl ConnectionProblem {
    /// The connection failure a failure text names, if any.
    pub fn of(detail: &str) -> Option<ConnectionProblem> {
        if detail.starts_with("Network error communicating with endpoint") {
            Some(ConnectionProblem::Network)
        } else if detail.starts_with("Invalid endpoint address")
            || detail.contains("UnknownHostException")
        {
            Some(ConnectionProblem::Dns)
        } else if detail.starts_with("General SSLEngine problem")
            || detail.starts_with("PKIX path building failed")
            || (detail.starts_with("Host name '")
                && detail.contains("does not match the certificate"))
        {
            Some(ConnectionProblem::Tls)
        } else {
            None
        }
    }

    /// Whether the gateway is right to call this a configuration error (issue 22): a
    /// certificate, its chain or its name set up wrong, which the certificate or the host
    /// header fixes. A refused connect or a name that does not resolve stays a failure to
    /// connect, whatever the line calls it.
    fn is_configuration(self) -> bool {
        self == ConnectionProblem::Tls
    }
}

impl Cause {
    /// `Execution failed due to configuration error: <detail>`: the gateway names the
    /// class, and it is kept unless the detail is a failure to connect.
    pub fn from_configuration_error(detail: &str) -> Cause {
        if ConnectionProblem::of(detail).is_some_and(|p| !p.is_configuration()) {
            Cause::ConnectionFailure
        } else if detail.starts_with("Malformed Lambda proxy response") {
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

    /// A WebSocket route (`$connect`, `$default`, …) that answered 5xx with no cause the
    /// access log names. Its status is the gateway's answer for the route's integration
    /// (an access log has no backend status beside it), so it is that integration's
    /// failure, as no more specific cause says; a response type that is not a failure
    /// (`THROTTLED`, `WAF_FILTERED`…) stays none.
    pub fn from_websocket_route(response_type: Option<&str>) -> Option<Cause> {
        matches!(response_type, None | Some("DEFAULT_5XX")).then_some(Cause::IntegrationFailure)
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
            if ConnectionProblem::of(err).is_some() {
                Some(Cause::ConnectionFailure)
            } else if err.contains("Task timed out") {
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
            // As in the execution log: the gateway's class stands for a TLS set-up.
            Some("API_CONFIGURATION_ERROR")
                if ConnectionProblem::of(err).is_some_and(ConnectionProblem::is_configuration) =>
            {
                Some(Cause::ConfigurationError)
            }
            Some("API_CONFIGURATION_ERROR") => by_text().or(Some(Cause::ConfigurationError)),
            Some("INTEGRATION_FAILURE") => by_text().or(Some(Cause::IntegrationFailure)),
            Some("DEFAULT_5XX") | None => by_text(),
            Some(_) => None,
        }
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
    // An AWS service's 4xx is the integration's fault (its role, its request), not
    // the client's, whatever status the integration response mapped it to.
    if matches!(req.backend.as_deref(), Some(Backend::AwsService { .. }))
        && req
            .integration_status
            .is_some_and(|s| (400..500).contains(&s))
    {
        return Some((Kind::Error, Cause::AwsServiceRejected));
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
        // The details of aws-logs.md §1.3 (Knowledge Center api-gateway-500-error-vpc,
        // api-gateway-ssl-error, api-gateway-invalid-endpoint-address).
        for (detail, problem, cause) in [
            (
                "Network error communicating with endpoint",
                ConnectionProblem::Network,
                Cause::ConnectionFailure,
            ),
            (
                "Invalid endpoint address",
                ConnectionProblem::Dns,
                Cause::ConnectionFailure,
            ),
            (
                "General SSLEngine problem",
                ConnectionProblem::Tls,
                Cause::ConfigurationError,
            ),
            (
                "Host name 'a.example.com' does not match the certificate subject provided by the peer (CN=b)",
                ConnectionProblem::Tls,
                Cause::ConfigurationError,
            ),
        ] {
            assert_eq!(Cause::from_configuration_error(detail), cause, "{detail}");
            assert_eq!(ConnectionProblem::of(detail), Some(problem));
        }
        assert_eq!(
            Cause::from_configuration_error(
                "There was an internal error while executing your request"
            ),
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
        assert_eq!(
            Cause::from_access_log(
                Some("API_CONFIGURATION_ERROR"),
                Some("General SSLEngine problem")
            ),
            Some(Cause::ConfigurationError)
        );
        assert_eq!(
            Cause::from_access_log(Some("DEFAULT_5XX"), Some("General SSLEngine problem")),
            Some(Cause::ConnectionFailure)
        );
        assert_eq!(Cause::from_access_log(Some("THROTTLED"), None), None);
        assert_eq!(
            Cause::from_websocket_route(None),
            Some(Cause::IntegrationFailure)
        );
        assert_eq!(Cause::from_websocket_route(Some("WAF_FILTERED")), None);
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
