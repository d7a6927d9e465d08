//! The words for each remedy.

use crate::model::diagnosis::Remedy;
use crate::model::kind::ConnectionProblem;
use crate::model::limits::{ApiKind, REST_DEFAULT_MS};
use crate::render::display::{ms, seconds};

const SHORTEN: &str = "Shorten the work in the request path: answer once the essential part is done and hand the rest to a queue or workflow (SQS, EventBridge, Step Functions).";

pub fn words(r: &Remedy) -> String {
    match r {
        Remedy::RetryNotInvoked => "Retry from the client with backoff and an idempotency key: the integration never received this request, so a retry cannot do the work twice.".to_owned(),
        Remedy::LookBeforeIntegration => "Look at what ran before the integration for this request: a Lambda authorizer close to its own limit, or a mapping template or VPC link that stalled.".to_owned(),
        Remedy::TurnOnInfoLogging => "Turn on INFO execution logging for this stage (at least while investigating) so that the next timeout shows whether and when the integration was invoked.".to_owned(),
        Remedy::ShortenWork => SHORTEN.to_owned(),
        Remedy::Asynchronous { lambda } => match lambda {
            Some(true) => "If the caller does not need the result in the response, invoke the function asynchronously: a non-proxy Lambda integration with the header `X-Amz-Invocation-Type: 'Event'` returns at once; answer 202 and let the client poll or be notified.",
            Some(false) => "If the caller does not need the result in the response, accept the work and answer 202 at once, then let the client poll or be notified.",
            None => "If the caller does not need the result in the response, make the call asynchronous: answer 202 at once and let the client poll or be notified (for a Lambda backend, a non-proxy integration with the header `X-Amz-Invocation-Type: 'Event'` does this).",
        }
        .to_owned(),
        Remedy::Faster { lambda } => match lambda {
            Some(true) => "Make the function faster: more memory (which also means more CPU), provisioned concurrency against cold starts, connections reused across invocations, and timeouts on its own downstream calls shorter than the gateway's.",
            Some(false) => "Make the backend answer faster, and give its own downstream calls timeouts shorter than the gateway's so that it fails fast instead of hanging.",
            None => "Make the backend answer faster (for Lambda: more memory, provisioned concurrency against cold starts, reused connections), and give its own downstream calls timeouts shorter than the gateway's.",
        }
        .to_owned(),
        Remedy::RaiseLimit { api_kind, limit_ms } => raise_limit(*api_kind, *limit_ms),
        Remedy::ClientRetryIdempotent { timeout_status } => format!("Have clients retry with backoff and an idempotency key: after a {timeout_status} the backend may still finish the work, so a plain retry can do it twice."),
        Remedy::TellRealLimit { api_id, stage } => format!("Tell apigw-doctor this API's real limit: TIMEOUT_OVERRIDES (CLI: --timeout-overrides) `{api_id}/{stage}=<the integration's timeoutInMillis>`; until then its near-limit counts and headroom for this API are wrong."),
        Remedy::FunctionTimeoutFirst { limit_ms } => format!("The function's own timeout fired before API Gateway's {} limit: if the work needs longer, raise the function's timeout (staying under {}); otherwise make the function faster or asynchronous.", ms(*limit_ms), seconds(*limit_ms)),
        Remedy::ReadFunctionLog { lambda_request_id } => format!("Read the function's log for this invocation{}: fix the error, or catch it and return a deliberate status code.", lambda_request_id.as_deref().map(|id| format!(" (Lambda request id {id})")).unwrap_or_default()),
        Remedy::RaiseConcurrency => "The Lambda service throttled the invocation: raise the function's reserved concurrency (or remove a too-low one), or request a higher account concurrency quota.".to_owned(),
        Remedy::RetryWithJitter => "Have clients retry with backoff and jitter; consider stage or usage-plan throttling so that bursts are refused with 429 before they reach Lambda.".to_owned(),
        Remedy::AllowInvoke => "Allow API Gateway to invoke the function: add a resource-based permission (AWS::Lambda::Permission, action lambda:InvokeFunction, principal apigateway.amazonaws.com, SourceArn of this API), or fix the integration's credentials role.".to_owned(),
        Remedy::ProxyResponseShape => "Return a Lambda proxy response: a JSON object with statusCode (a number), optional headers, and body as a string (serialise JSON bodies).".to_owned(),
        Remedy::ThrottleInBody => "If the response body shows `Rate Exceeded` or TooManyRequestsException, the function was throttled: check its reserved concurrency.".to_owned(),
        Remedy::CheckAuthorizer => "Check the authorizer: its function's logs, API Gateway's permission to invoke it (or the role API Gateway assumes for it), and that it returns a valid IAM policy.".to_owned(),
        Remedy::CheckIntegrationConfig => "API Gateway could not run the integration as configured: check the mapping templates, integration request settings and method responses named in the message, then redeploy the stage.".to_owned(),
        Remedy::FixCertificateName => "Make the backend's certificate fit the host API Gateway connects to: serve a certificate (full chain, from a CA API Gateway trusts) whose name is the integration URI's host, or connect with the name the certificate carries (the integration's Host header; for a VPC link to an ALB, the tlsConfig's serverNameToVerify).".to_owned(),
        Remedy::CheckVpcLinkTarget => "The VPC link reached no healthy answer: check the NLB's target health and listener port, and, when the NLB has security groups, that they allow the VPC link's PrivateLink traffic (or turn off their evaluation for PrivateLink traffic); then the targets' own logs.".to_owned(),
        Remedy::CheckBackendHealth => "Check the backend's health and reachability: DNS name, TLS certificate and chain, VPC link and NLB target health, and its own error logs.".to_owned(),
        Remedy::FixConnection { problem } => match problem {
            Some(ConnectionProblem::Dns) => "Fix the endpoint's name: the integration URI (or its stage variable) must resolve from API Gateway; for a VPC link, the NLB or ALB DNS name must be the one the link targets.",
            Some(ConnectionProblem::Tls) => "Fix the backend's TLS: a certificate from a CA API Gateway trusts, the full chain served, and a name that matches the integration URI's host (or, for a VPC link to an ALB, the tlsConfig's serverNameToVerify).",
            _ => "Check that the backend accepts connections: for a VPC link, the link's status and the NLB/ALB target health, listener port and security groups; for a public endpoint, that it listens on the integration URI's port and is not refusing or resetting connections.",
        }
        .to_owned(),
        Remedy::RetrySafeOnceReachable => "Retrying is safe once the endpoint is reachable: the request never got through.".to_owned(),
        Remedy::FixServiceCall { integration_status: Some(403) } => "Give the integration's execution role permission for this action on this resource (for SQS, sqs:SendMessage on the queue; check the queue policy and KMS key policy too), and check the integration's credentials ARN.".to_owned(),
        Remedy::FixServiceCall { .. } => "Fix the request the integration sends: the integration request's mapping template, action and parameters must form a valid call to the service.".to_owned(),
        Remedy::SetFunctionTimeout { function, limit_ms } => format!(
            "Set the timeout of Lambda function {function} to {} or less (just under the gateway's limit), so that it stops when nobody is waiting any more; move longer work to an asynchronous path.",
            seconds(limit_ms.saturating_sub(1000).max(1000))
        ),
        Remedy::ProvisionedConcurrency { function } => format!(
            "Most of the wait was the function's initialisation: give {function} provisioned concurrency (or SnapStart for Java, Python and .NET), and move init work (SDK clients, configuration, large imports) out of the request path or make it lazy."
        ),
        Remedy::InvokeNotReached { function } => format!(
            "The invoke never reached {function}: look at its Throttles and ConcurrentExecutions metrics at that time, its reserved concurrency, and the account's concurrency quota."
        ),
    }
}

fn raise_limit(api_kind: ApiKind, limit_ms: u64) -> String {
    match api_kind {
        ApiKind::Rest if limit_ms < REST_DEFAULT_MS => format!(
            "This integration waits only {}: if the work legitimately takes longer, raise its timeoutInMillis (up to 29 s by default).",
            ms(limit_ms)
        ),
        ApiKind::Rest => "If the work legitimately needs longer and the API is Regional or private, request a higher \"Maximum integration timeout in milliseconds\" in Service Quotas, then raise the integration's timeoutInMillis; AWS may lower the account's throttle quota in exchange. Edge-optimized APIs stay at 29 s.".to_owned(),
        ApiKind::Http if limit_ms < 30_000 => format!(
            "HTTP APIs can wait up to 30 s and this integration waits {}: raise its TimeoutInMillis to 30000 if that is enough; beyond 30 s the work must become asynchronous.",
            ms(limit_ms)
        ),
        ApiKind::Http => "HTTP APIs cannot wait longer than 30 s: beyond that the work must become asynchronous (or move to a Regional REST API, whose limit can be raised).".to_owned(),
        ApiKind::WebSocket => "WebSocket integrations cannot wait longer than 29 s: acknowledge the message at once and post the result back over the connection with the @connections API.".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::diagnosis::Priority;

    /// Priority is decided on the enum; this keeps it the same as what the words say.
    #[test]
    fn retry_priority_matches_the_words() {
        let all = [
            Remedy::RetryNotInvoked,
            Remedy::LookBeforeIntegration,
            Remedy::TurnOnInfoLogging,
            Remedy::ShortenWork,
            Remedy::Asynchronous { lambda: None },
            Remedy::Asynchronous { lambda: Some(true) },
            Remedy::Faster {
                lambda: Some(false),
            },
            Remedy::RaiseLimit {
                api_kind: ApiKind::Rest,
                limit_ms: 29_000,
            },
            Remedy::RaiseLimit {
                api_kind: ApiKind::Http,
                limit_ms: 10_000,
            },
            Remedy::ClientRetryIdempotent {
                timeout_status: 504,
            },
            Remedy::TellRealLimit {
                api_id: "a".into(),
                stage: "s".into(),
            },
            Remedy::FunctionTimeoutFirst { limit_ms: 29_000 },
            Remedy::ReadFunctionLog {
                lambda_request_id: None,
            },
            Remedy::RaiseConcurrency,
            Remedy::RetryWithJitter,
            Remedy::AllowInvoke,
            Remedy::ProxyResponseShape,
            Remedy::ThrottleInBody,
            Remedy::CheckAuthorizer,
            Remedy::CheckIntegrationConfig,
            Remedy::FixCertificateName,
            Remedy::CheckVpcLinkTarget,
            Remedy::CheckBackendHealth,
            Remedy::FixConnection { problem: None },
            Remedy::FixConnection {
                problem: Some(ConnectionProblem::Tls),
            },
            Remedy::RetrySafeOnceReachable,
            Remedy::FixServiceCall {
                integration_status: Some(403),
            },
            Remedy::SetFunctionTimeout {
                function: "f".into(),
                limit_ms: 29_000,
            },
            Remedy::ProvisionedConcurrency {
                function: "f".into(),
            },
            Remedy::InvokeNotReached {
                function: "f".into(),
            },
        ];
        for r in &all {
            let says_retry = words(r).to_ascii_lowercase().contains("retry");
            assert_eq!(r.priority() == Priority::Retry, says_retry, "{r:?}");
        }
    }
}
