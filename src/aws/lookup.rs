//! [`LogLookup`] through CloudWatch Logs' `FilterLogEvents`: the SDK side of
//! `monitor::lookup`.

use std::sync::Arc;
use std::time::Duration;

use crate::monitor::lookup::{FetchedEvent, LogLookup, LookupError, LookupFuture, Query};

/// At most this many pages of one lookup (FilterLogEvents pages hold up to 10,000
/// events or 1 MB; one request's lines fit in one).
const MAX_PAGES: usize = 5;

/// [`LogLookup`] through CloudWatch Logs' `FilterLogEvents`.
#[derive(Clone)]
pub struct CloudWatchLookup {
    client: aws_sdk_cloudwatchlogs::Client,
    /// Bound on one lookup, whatever the deadline (the SDK's retries are within it).
    per_call: Duration,
}

impl CloudWatchLookup {
    pub fn new(client: aws_sdk_cloudwatchlogs::Client) -> Self {
        CloudWatchLookup {
            client,
            per_call: Duration::from_secs(10),
        }
    }

    /// How FilterLogEvents names the group: by name in this account; by ARN in another
    /// (`logGroupIdentifier`: "If the log group is in a source account and you are using a
    /// monitoring account, you must use the log group ARN"; docs/reference/org-wide.md §5).
    fn group(&self, query: &Query) -> (Option<String>, Option<String>) {
        match &query.account {
            None => (Some(query.log_group.clone()), None),
            Some(account) => {
                let region = self
                    .client
                    .config()
                    .region()
                    .map_or("us-east-1", |r| r.as_ref());
                (None, Some(log_group_arn(region, account, &query.log_group)))
            }
        }
    }
}

/// The partition of a Region (`cn-north-1` → `aws-cn`).
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else {
        "aws"
    }
}

/// `arn:PARTITION:logs:REGION:ACCOUNT:log-group:NAME`, as `logGroupIdentifier` takes it
/// (without the `:*` suffix that DescribeLogGroups returns).
pub fn log_group_arn(region: &str, account: &str, group: &str) -> String {
    format!(
        "arn:{}:logs:{region}:{account}:log-group:{group}",
        partition(region)
    )
}

/// A refusal of the caller (IAM, or a source account that shares nothing), told apart
/// by the error code, never the message.
fn is_denied(code: Option<&str>) -> bool {
    code.is_some_and(|c| {
        c.starts_with("AccessDenied")
            || c == "UnauthorizedOperation"
            || c == "UnrecognizedClientException"
    })
}

/// The Lambda's [`CloudWatchLookup`], with the same bounded retries as the publishing
/// clients (`aws::publish::aws_sink`).
pub fn cloudwatch_lookup(shared: &aws_config::SdkConfig) -> Arc<dyn LogLookup> {
    Arc::new(CloudWatchLookup::new(aws_sdk_cloudwatchlogs::Client::new(
        &lookup_config(shared),
    )))
}

/// The lookups' SDK configuration: bounded retries and timeouts.
pub fn lookup_config(shared: &aws_config::SdkConfig) -> aws_config::SdkConfig {
    crate::aws::bounded_config(
        shared,
        3,
        Duration::from_secs(2),
        Duration::from_secs(5),
        Duration::from_secs(10),
    )
}

/// A FilterLogEvents pattern that matches each term as it stands: quoted (a request id
/// has `-`, which the pattern syntax would otherwise read as an exclusion); several as
/// `?"a" ?"b"`, the syntax's "any of".
pub fn filter_pattern(terms: &[String]) -> String {
    let quote = |t: &str| {
        let clean: String = t.chars().filter(|c| *c != '"' && *c != '\\').collect();
        format!("\"{clean}\"")
    };
    match terms {
        [one] => quote(one),
        many => many
            .iter()
            .map(|t| format!("?{}", quote(t)))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

impl LogLookup for CloudWatchLookup {
    fn filter(&self, query: Query) -> LookupFuture {
        let client = self.client.clone();
        let per_call = self.per_call;
        let (by_name, by_arn) = self.group(&query);
        Box::pin(async move {
            let group = query.log_group.clone();
            let foreign = query.account.is_some();
            let fail = |e: &aws_sdk_cloudwatchlogs::error::SdkError<_, _>| {
                use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;
                let log_group = group.clone();
                let message = crate::aws::publish::sdk_message(e);
                // Through OAM, a source account's group that no link shares is one this
                // account cannot see: refused there, not a failure here.
                let unshared = foreign && e.code() == Some("ResourceNotFoundException");
                if is_denied(e.code()) || unshared {
                    LookupError::Denied { log_group, message }
                } else {
                    LookupError::Failed { log_group, message }
                }
            };
            let run = async {
                let mut events = Vec::new();
                let mut token: Option<String> = None;
                for _ in 0..MAX_PAGES {
                    let out = client
                        .filter_log_events()
                        .set_log_group_name(by_name.clone())
                        .set_log_group_identifier(by_arn.clone())
                        .set_log_stream_names(query.log_stream.clone().map(|s| vec![s]))
                        .filter_pattern(filter_pattern(&query.terms))
                        .start_time(query.start_ms)
                        .end_time(query.end_ms)
                        .set_next_token(token.take())
                        .send()
                        .await
                        .map_err(|e| fail(&e))?;
                    for e in out.events() {
                        events.push(FetchedEvent {
                            id: e.event_id().unwrap_or_default().to_owned(),
                            timestamp: e.timestamp().unwrap_or_default(),
                            message: e.message().unwrap_or_default().to_owned(),
                            log_stream: e.log_stream_name().unwrap_or_default().to_owned(),
                        });
                    }
                    match out.next_token() {
                        Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                        _ => break,
                    }
                }
                // Oldest first, whatever the pages' order.
                events.sort_by_key(|e| e.timestamp);
                Ok(events)
            };
            tokio::time::timeout(per_call, run)
                .await
                .map_err(|_| LookupError::Deadline)?
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_name_the_partition() {
        assert_eq!(
            log_group_arn("eu-west-1", "111122223333", "/aws/lambda/orders"),
            "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/orders"
        );
        assert!(log_group_arn("cn-north-1", "1", "g").starts_with("arn:aws-cn:logs:"));
        assert!(log_group_arn("us-gov-west-1", "1", "g").starts_with("arn:aws-us-gov:logs:"));
        assert!(is_denied(Some("AccessDeniedException")));
        assert!(!is_denied(Some("ResourceNotFoundException")));
        assert!(!is_denied(None));
    }

    #[test]
    fn pattern_is_quoted() {
        let one = |t: &str| filter_pattern(&[t.to_owned()]);
        assert_eq!(one("a-b"), "\"a-b\"");
        assert_eq!(one("x\"y\\"), "\"xy\"");
        // Any of several: the text and the JSON log format's run lines.
        let both = ["REPORT RequestId".to_owned(), "platform.report".to_owned()];
        assert_eq!(
            filter_pattern(&both),
            "?\"REPORT RequestId\" ?\"platform.report\""
        );
    }
}
