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
}

/// The Lambda's [`CloudWatchLookup`], with the same bounded retries as the publishing
/// clients (`aws::publish::aws_sink`).
pub fn cloudwatch_lookup(shared: &aws_config::SdkConfig) -> Arc<dyn LogLookup> {
    let shared = crate::aws::bounded_config(
        shared,
        3,
        Duration::from_secs(2),
        Duration::from_secs(5),
        Duration::from_secs(10),
    );
    Arc::new(CloudWatchLookup::new(aws_sdk_cloudwatchlogs::Client::new(
        &shared,
    )))
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
        Box::pin(async move {
            let group = query.log_group.clone();
            let fail = |message: String| LookupError::Failed {
                log_group: group.clone(),
                message,
            };
            let run = async {
                let mut events = Vec::new();
                let mut token: Option<String> = None;
                for _ in 0..MAX_PAGES {
                    let out = client
                        .filter_log_events()
                        .log_group_name(&query.log_group)
                        .set_log_stream_names(query.log_stream.clone().map(|s| vec![s]))
                        .filter_pattern(filter_pattern(&query.terms))
                        .start_time(query.start_ms)
                        .end_time(query.end_ms)
                        .set_next_token(token.take())
                        .send()
                        .await
                        .map_err(|e| fail(crate::aws::publish::sdk_message(&e)))?;
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
