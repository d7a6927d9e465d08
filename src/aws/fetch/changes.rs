//! Fetch mode's "what changed" (issue 23): the window's API Gateway and Lambda change
//! events from CloudTrail `LookupEvents` (Event history: management events of the last
//! 90 days, no trail needed). Facts and sources: `docs/reference/cloudtrail-changes.md` 3.1.
//!
//! - A lookup takes at most one lookup attribute, so there is one paginated lookup per
//!   event source (`apigateway.amazonaws.com` serves REST and HTTP/WebSocket APIs alike),
//!   over StartTime/EndTime, 50 events a page (AWS's maximum); the records are
//!   filtered here (`logs::cloudtrail::change_of_record`), not by the lookup.
//! - At most [`MAX_PAGES_PER_SOURCE`] pages a source (1,000 events): a window busy with
//!   more stops there, `truncated`. Events come newest first, so what is cut is the
//!   oldest, the farthest from the incident.
//! - LookupEvents is limited to two requests a second per account and Region: calls start
//!   at least [`CALL_GAP`] apart, across both sources, and a throttled call is retried by
//!   the SDK (the Fetcher's adaptive retry). IAM: `cloudtrail:LookupEvents` on `"*"`
//!   (the action has no resource-level permissions).

use std::future::Future;
use std::time::Duration;

use aws_sdk_cloudtrail::error::DisplayErrorContext;
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use serde_json::Value;
use tokio::time::Instant;

use super::{FetchError, Fetcher};
use crate::logs::cloudtrail::change_of_record;
use crate::model::change::Change;

/// The services whose management events hold the changes the doctor relates to incidents.
pub const EVENT_SOURCES: [&str; 2] = ["apigateway.amazonaws.com", "lambda.amazonaws.com"];
/// Events per page: LookupEvents' maximum.
const PAGE_SIZE: i32 = 50;
/// Pages read per event source at most.
pub const MAX_PAGES_PER_SOURCE: usize = 20;
/// Two LookupEvents requests a second per account and Region: one call every 500 ms.
pub const CALL_GAP: Duration = Duration::from_millis(500);

/// What the lookups gave.
#[derive(Debug, Clone, Default)]
pub struct ChangesFetched {
    /// The change events, as read (not yet settled: `engine::changes::ChangeSource::new` does).
    pub changes: Vec<Change>,
    /// CloudTrail events read, changes or not.
    pub events: usize,
    /// LookupEvents calls made.
    pub pages: usize,
    /// A source stopped at [`MAX_PAGES_PER_SOURCE`] with more to read.
    pub truncated: bool,
    /// What could not be read, one line each.
    pub problems: Vec<String>,
}

impl Fetcher {
    /// Change events (API Gateway and Lambda management events) in [start_ms, end_ms];
    /// `on_page(pages, events)` after each LookupEvents call, with the totals so far.
    pub async fn changes(
        &self,
        start_ms: i64,
        end_ms: i64,
        on_page: &mut dyn FnMut(usize, usize),
    ) -> Result<ChangesFetched, FetchError> {
        let mut records = Records::default();
        let mut pacer = Pacer::new(CALL_GAP);
        let (mut pages, mut truncated) = (0, false);
        for source in EVENT_SOURCES {
            let failed = |detail: String| FetchError::Changes {
                event_source: source.to_owned(),
                detail,
            };
            let attribute = LookupAttribute::builder()
                .attribute_key(LookupAttributeKey::EventSource)
                .attribute_value(source)
                .build()
                .map_err(|e| failed(e.to_string()))?;
            let paged = paginate(
                MAX_PAGES_PER_SOURCE,
                &mut pacer,
                |token| {
                    self.cloudtrail
                        .lookup_events()
                        .lookup_attributes(attribute.clone())
                        .start_time(aws_smithy_types::DateTime::from_millis(start_ms))
                        .end_time(aws_smithy_types::DateTime::from_millis(end_ms))
                        .max_results(PAGE_SIZE)
                        .set_next_token(token)
                        .send()
                },
                |out| {
                    records.add(out.events().iter().map(|e| e.cloud_trail_event()));
                    pages += 1;
                    on_page(pages, records.events);
                    out.next_token().map(str::to_owned)
                },
            )
            .await
            .map_err(|e| failed(DisplayErrorContext(&e).to_string()))?;
            truncated |= paged.truncated;
        }
        let problems = records.problems();
        Ok(ChangesFetched {
            changes: records.changes,
            events: records.events,
            pages,
            truncated,
            problems,
        })
    }
}

/// Calls start at least `gap` apart.
struct Pacer {
    gap: Duration,
    last: Option<Instant>,
}

impl Pacer {
    fn new(gap: Duration) -> Pacer {
        Pacer { gap, last: None }
    }

    async fn wait(&mut self) {
        if let Some(last) = self.last {
            tokio::time::sleep_until(last + self.gap).await;
        }
        self.last = Some(Instant::now());
    }
}

/// How one paginated lookup ended.
#[derive(Debug, PartialEq, Eq)]
struct Paged {
    pages: usize,
    /// Stopped at the page bound with a next token.
    truncated: bool,
}

/// Pages of one lookup: `call(token)` (paced), then `page(output)`, which handles the page
/// and gives its next token. Stops at the last page (no token, or a repeated one, which
/// would loop forever), at `max_pages`, or at the first error.
async fn paginate<T, E, Fut>(
    max_pages: usize,
    pacer: &mut Pacer,
    mut call: impl FnMut(Option<String>) -> Fut,
    mut page: impl FnMut(T) -> Option<String>,
) -> Result<Paged, E>
where
    Fut: Future<Output = Result<T, E>>,
{
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        pacer.wait().await;
        let out = call(token.clone()).await?;
        pages += 1;
        match page(out) {
            Some(next) if !next.is_empty() && token.as_deref() != Some(next.as_str()) => {
                if pages >= max_pages {
                    return Ok(Paged {
                        pages,
                        truncated: true,
                    });
                }
                token = Some(next);
            }
            _ => {
                return Ok(Paged {
                    pages,
                    truncated: false,
                })
            }
        }
    }
}

/// The events' `CloudTrailEvent` strings, read as they come.
#[derive(Debug, Default)]
struct Records {
    changes: Vec<Change>,
    events: usize,
    /// Strings that are not a JSON object (a record).
    not_json: usize,
    /// Events without a `CloudTrailEvent`.
    missing: usize,
}

impl Records {
    /// Each record a change event is kept; the rest (read-only calls, failed calls,
    /// other actions) are not changes and count only in `events`.
    fn add<'a>(&mut self, records: impl IntoIterator<Item = Option<&'a str>>) {
        for r in records {
            self.events += 1;
            let Some(r) = r else {
                self.missing += 1;
                continue;
            };
            match serde_json::from_str::<Value>(r) {
                Ok(v) if v.is_object() => {
                    if let Ok(c) = change_of_record(&v) {
                        self.changes.push(c);
                    }
                }
                _ => self.not_json += 1,
            }
        }
    }

    fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        match self.not_json {
            0 => {}
            1 => out.push("1 CloudTrailEvent string was not a JSON record".to_owned()),
            n => out.push(format!("{n} CloudTrailEvent strings were not JSON records")),
        }
        match self.missing {
            0 => {}
            1 => out.push("1 CloudTrail event had no CloudTrailEvent".to_owned()),
            n => out.push(format!("{n} CloudTrail events had no CloudTrailEvent")),
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::change::{ChangeAction, ChangeTarget};

    /// A REST UpdateIntegration record as LookupEvents carries it (`CloudTrailEvent`).
    fn update_integration() -> String {
        serde_json::json!({
            "eventVersion": "1.11",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/dev", "accountId": "123456789012"},
            "eventTime": "2026-12-07T10:00:00Z",
            "eventSource": "apigateway.amazonaws.com",
            "eventName": "UpdateIntegration",
            "awsRegion": "us-east-1",
            "requestParameters": {
                "restApiId": "abc123", "resourceId": "r1", "httpMethod": "POST",
                "patchOperations": [{"op": "replace", "path": "/timeoutInMillis", "value": "5000"}]
            },
            "responseElements": null,
            "eventID": "6c1e3f5a-0000-4000-8000-000000000001",
            "readOnly": false,
            "recipientAccountId": "123456789012"
        })
        .to_string()
    }

    #[test]
    fn records_keep_changes_skip_the_rest_and_count_what_is_not_json() {
        let change = update_integration();
        let read_only = serde_json::json!({
            "eventSource": "apigateway.amazonaws.com", "eventName": "GetRestApi",
            "eventID": "e2", "eventTime": "2026-12-07T10:00:01Z",
            "requestParameters": {"restApiId": "abc123"}
        })
        .to_string();
        let mut r = Records::default();
        r.add([Some(change.as_str()), Some(read_only.as_str())]);
        r.add([Some("{not json"), Some("\"a string\""), None, Some("[]")]);
        assert_eq!((r.events, r.not_json, r.missing), (6, 3, 1));
        assert_eq!(
            r.changes.len(),
            1,
            "a GetRestApi is not a change, nor a problem"
        );
        let c = &r.changes[0];
        assert_eq!(
            (c.event_name.as_str(), c.action),
            ("UpdateIntegration", ChangeAction::Integration)
        );
        assert_eq!(c.event_time, 1_796_637_600_000);
        assert!(
            matches!(&c.target, ChangeTarget::Api { api_id, resource_id, .. }
            if api_id == "abc123" && resource_id.as_deref() == Some("r1"))
        );
        let d = c
            .detail("timeoutInMillis")
            .expect("the PATCH path is the field");
        assert_eq!(d.after.as_deref(), Some("5000"));
        assert_eq!(
            r.problems(),
            [
                "3 CloudTrailEvent strings were not JSON records",
                "1 CloudTrail event had no CloudTrailEvent"
            ]
        );
        assert!(Records::default().problems().is_empty());
    }

    /// `paginate` over fake pages paced `gap` apart: `tokens[i]` is page i's next token.
    /// Gives the result and each call's token and start.
    async fn run(
        tokens: &[Option<&str>],
        max_pages: usize,
        gap: Duration,
    ) -> (Result<Paged, String>, Vec<(Option<String>, Instant)>) {
        let mut calls = Vec::new();
        let mut pacer = Pacer::new(gap);
        let got = paginate(
            max_pages,
            &mut pacer,
            |token: Option<String>| {
                let page = tokens.get(calls.len()).copied();
                calls.push((token, Instant::now()));
                async move { page.ok_or_else(|| "no such page".to_owned()) }
            },
            |next: Option<&str>| next.map(str::to_owned),
        )
        .await;
        (got, calls)
    }

    fn tokens(calls: &[(Option<String>, Instant)]) -> Vec<Option<&str>> {
        calls.iter().map(|(t, _)| t.as_deref()).collect()
    }

    #[tokio::test]
    async fn pages_follow_the_token_and_stop_at_the_last_page_the_bound_or_a_repeat() {
        let none = Duration::ZERO;
        let (got, calls) = run(&[Some("a"), Some("b"), None], 20, none).await;
        assert_eq!(
            got,
            Ok(Paged {
                pages: 3,
                truncated: false
            })
        );
        assert_eq!(tokens(&calls), [None, Some("a"), Some("b")]);

        let endless: Vec<Option<&str>> = ["1", "2", "3", "4", "5"].into_iter().map(Some).collect();
        let (got, calls) = run(&endless, 3, none).await;
        assert_eq!(
            got,
            Ok(Paged {
                pages: 3,
                truncated: true
            }),
            "more to read past the bound"
        );
        assert_eq!(calls.len(), 3);

        let (got, _) = run(&[Some("a"), Some("a")], 20, none).await;
        assert_eq!(
            got,
            Ok(Paged {
                pages: 2,
                truncated: false
            }),
            "a repeated token ends it"
        );
        let (got, _) = run(&[Some("")], 20, none).await;
        assert_eq!(
            got,
            Ok(Paged {
                pages: 1,
                truncated: false
            })
        );

        let (got, calls) = run(&[Some("a")], 20, none).await;
        assert_eq!(
            got,
            Err("no such page".to_owned()),
            "an error ends the lookup"
        );
        assert_eq!(calls.len(), 2);
    }

    #[tokio::test]
    async fn calls_start_at_least_the_gap_apart() {
        let gap = Duration::from_millis(30);
        let (got, calls) = run(&[Some("a"), Some("b"), Some("c"), None], 20, gap).await;
        assert_eq!(
            got,
            Ok(Paged {
                pages: 4,
                truncated: false
            })
        );
        for w in calls.windows(2) {
            assert!(w[1].1 - w[0].1 >= gap, "{:?}", w[1].1 - w[0].1);
        }
        assert_eq!(
            CALL_GAP,
            Duration::from_millis(500),
            "2 requests/s per account and Region"
        );
    }
}
