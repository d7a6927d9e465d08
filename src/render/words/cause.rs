//! The cause of a finding as a person says it, for alert subjects, headlines and reports.

use crate::model::kind::Cause;

pub fn title(c: Cause) -> &'static str {
    match c {
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
