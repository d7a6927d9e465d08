//! What a request was sent to, from `Endpoint request URI` / `Sending request to`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Backend {
    /// A Lambda function (`…/functions/<arn>/invocations`).
    Lambda {
        function_arn: String,
        function_name: String,
        region: Option<String>,
    },
    /// An AWS service integration (SQS, Step Functions, DynamoDB…).
    AwsService {
        service: String,
        region: Option<String>,
    },
    /// An HTTP endpoint (public, or private through a VPC link). Query strings
    /// are dropped: they can carry keys.
    Http { url: String },
    /// An HTTP endpoint behind a load balancer (`*.elb.amazonaws.com`) or at a
    /// private address (a VPC link target): connect-versus-read applies as for HTTP.
    PrivateHttp { url: String, target: PrivateTarget },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrivateTarget {
    /// `name-id.region.elb.amazonaws.com` (`internal-…` when internal).
    ApplicationLoadBalancer,
    /// `name-id.elb.region.amazonaws.com`.
    NetworkLoadBalancer,
    /// A private IP address or an internal name, reached through a VPC link.
    PrivateEndpoint,
}

impl PrivateTarget {
    pub fn label(self) -> &'static str {
        match self {
            PrivateTarget::ApplicationLoadBalancer => "load balancer (ALB)",
            PrivateTarget::NetworkLoadBalancer => "load balancer (NLB)",
            PrivateTarget::PrivateEndpoint => "private HTTP endpoint",
        }
    }

    fn of_host(host: &str) -> Option<PrivateTarget> {
        let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
        let name = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
        if let Some(prefix) = name.strip_suffix(".amazonaws.com") {
            let labels: Vec<&str> = prefix.split('.').collect();
            let n = labels.len();
            if n >= 2 && labels[n - 1] == "elb" {
                return Some(PrivateTarget::ApplicationLoadBalancer);
            }
            if n >= 3 && labels[n - 2] == "elb" {
                return Some(PrivateTarget::NetworkLoadBalancer);
            }
            return None;
        }
        let private_ip = name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_private() || ip.is_loopback() || ip.is_link_local());
        let internal_name = [".internal", ".local", ".lan", ".corp", ".intranet"]
            .iter()
            .any(|s| name.ends_with(s))
            || !name.contains('.');
        (private_ip || internal_name).then_some(PrivateTarget::PrivateEndpoint)
    }
}

/// The Lambda invoke path of a REST integration that streams its response
/// (`/2021-11-15/functions/<arn>/response-streaming-invocations`; buffered ones end in
/// `/invocations`).
const STREAMING_INVOCATIONS: &str = "/response-streaming-invocations";

/// Whether an endpoint URI is a streaming Lambda invocation (its response is streamed).
pub fn is_streaming_uri(uri: &str) -> bool {
    uri.split(['?', '#'])
        .next()
        .is_some_and(|u| u.trim_end().ends_with(STREAMING_INVOCATIONS))
}

impl Backend {
    pub fn from_uri(uri: &str) -> Option<Backend> {
        let uri = uri.trim();
        let no_query = uri.split(['?', '#']).next().unwrap_or(uri);
        let rest = no_query
            .strip_prefix("https://")
            .or_else(|| no_query.strip_prefix("http://"))?;
        let host = rest.split('/').next().unwrap_or("");
        if host.is_empty() {
            return None;
        }
        if let Some(i) = rest.find("/functions/") {
            let tail = &rest[i + "/functions/".len()..];
            let arn = tail
                .strip_suffix(STREAMING_INVOCATIONS)
                .or_else(|| tail.strip_suffix("/invocations"))
                .unwrap_or(tail);
            if arn.starts_with("arn:") {
                let parts: Vec<&str> = arn.split(':').collect();
                // arn:aws:lambda:region:account:function:name[:qualifier]
                let name = parts.get(6).copied().unwrap_or(arn).to_owned();
                return Some(Backend::Lambda {
                    function_arn: arn.to_owned(),
                    function_name: name,
                    region: parts.get(3).map(|s| (*s).to_owned()),
                });
            }
        }
        if let Some(target) = PrivateTarget::of_host(host) {
            return Some(Backend::PrivateHttp {
                url: no_query.to_owned(),
                target,
            });
        }
        if let Some(prefix) = host.strip_suffix(".amazonaws.com") {
            let mut labels = prefix.split('.');
            let service = labels.next().unwrap_or("").to_owned();
            let region = labels.next().map(str::to_owned);
            if !service.is_empty() && !host.contains("execute-api") {
                return Some(Backend::AwsService { service, region });
            }
        }
        Some(Backend::Http {
            url: no_query.to_owned(),
        })
    }

    /// The account of a Lambda backend, from its function ARN.
    pub fn account(&self) -> Option<&str> {
        match self {
            Backend::Lambda { function_arn, .. } => crate::model::scope::arn_account(function_arn),
            _ => None,
        }
    }

    pub fn region(&self) -> Option<&str> {
        match self {
            Backend::Lambda { region, .. } | Backend::AwsService { region, .. } => {
                region.as_deref()
            }
            Backend::Http { .. } | Backend::PrivateHttp { .. } => None,
        }
    }

    /// An HTTP backend of any kind (public, load balancer, private).
    pub fn is_http(&self) -> bool {
        matches!(self, Backend::Http { .. } | Backend::PrivateHttp { .. })
    }

    pub fn lambda_name(&self) -> Option<&str> {
        match self {
            Backend::Lambda { function_name, .. } => Some(function_name),
            _ => None,
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Backend::Lambda { function_name, .. } => write!(f, "Lambda function {function_name}"),
            Backend::AwsService { service, .. } => write!(f, "AWS service {service}"),
            Backend::Http { url } => write!(f, "HTTP endpoint {url}"),
            Backend::PrivateHttp { url, target } => write!(f, "{} {url}", target.label()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Lambda integration that streams its response is invoked on its own path
    /// (aws/aws-cdk PR #36155, Lambda `InvokeWithResponseStream`): same function.
    #[test]
    fn a_streaming_lambda_invocation_names_its_function() {
        let uri = "https://lambda.us-east-1.amazonaws.com/2021-11-15/functions/arn:aws:lambda:us-east-1:123456789012:function:chat/response-streaming-invocations";
        let b = Backend::from_uri(uri).unwrap();
        assert_eq!(b.lambda_name(), Some("chat"));
        assert!(is_streaming_uri(uri));
        assert!(!is_streaming_uri("https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/arn:aws:lambda:us-east-1:1:function:f/invocations"));
    }

    #[test]
    fn kinds() {
        let l = Backend::from_uri("https://lambda.eu-west-2.amazonaws.com/2015-03-31/functions/arn:aws:lambda:eu-west-2:958845080241:function:log-test-1/invocations").unwrap();
        assert_eq!(l.lambda_name(), Some("log-test-1"));
        assert_eq!(l.region(), Some("eu-west-2"));
        let s = Backend::from_uri("https://sqs.us-east-1.amazonaws.com/123/q").unwrap();
        assert_eq!(
            s,
            Backend::AwsService {
                service: "sqs".into(),
                region: Some("us-east-1".into())
            }
        );
        let h = Backend::from_uri("https://api.example.com/v1/x?api_key=SECRET").unwrap();
        assert_eq!(h.to_string(), "HTTP endpoint https://api.example.com/v1/x");
        assert_eq!(Backend::from_uri("not a uri"), None);
        let alb = Backend::from_uri(
            "http://internal-orders-alb-1234567890.us-east-1.elb.amazonaws.com/orders",
        )
        .unwrap();
        assert_eq!(
            alb.to_string(),
            "load balancer (ALB) http://internal-orders-alb-1234567890.us-east-1.elb.amazonaws.com/orders"
        );
        assert!(alb.is_http());
        let nlb =
            Backend::from_uri("https://orders-nlb-0123456789abcdef.elb.us-east-1.amazonaws.com/x")
                .unwrap();
        assert!(matches!(
            nlb,
            Backend::PrivateHttp {
                target: PrivateTarget::NetworkLoadBalancer,
                ..
            }
        ));
        for private in [
            "http://10.0.1.20:8080/x",
            "http://orders.internal/x",
            "http://orders/x",
        ] {
            assert!(
                matches!(
                    Backend::from_uri(private),
                    Some(Backend::PrivateHttp {
                        target: PrivateTarget::PrivateEndpoint,
                        ..
                    })
                ),
                "{private}"
            );
        }
        assert!(matches!(
            Backend::from_uri("https://8.8.8.8/x"),
            Some(Backend::Http { .. })
        ));
    }
}
