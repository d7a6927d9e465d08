//! Orphans: requests whose end arrived without their beginning.
//!
//! CloudWatch Logs cuts a stream into batches by size and time, and the gateway writes
//! `Execution failed due to a timeout error` ~29 s after `Sending request to`: the two
//! lines nearly always travel in different batches, and with several containers (or a
//! batch delivered late) the end reaches a container that never saw the start. Such a
//! request has lost its route, its backend and whether it was invoked, which is the
//! diagnosis. This module says which requests of a batch are orphans and what to fetch
//! to heal them (the lines of that request id, in its stream, over
//! [end − limit − [`LOOKBACK_SLACK_MS`], end]); the handler fetches them through
//! `monitor::lookup` and feeds them back to the same analysis before it finishes.
//!
//! Only requests that failed (timeouts first, then other 5xx) are ever looked up:
//! a healthy request costs nothing here but one test of a few fields.
//!
//! The reverse case needs nothing: start lines whose end went to another container
//! wait in the pending cache and expire from it without a finding.

use crate::engine::request::Request;
use crate::logs::execution_log;
use crate::model::limits::Limits;
use crate::model::route::Route;

/// Slack before `end − limit`: lines logged before `Sending request to` (method
/// request, authorizer, mapping) and clock spread between lines.
pub const LOOKBACK_SLACK_MS: i64 = 60_000;

/// The lines to fetch for one orphan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub request_id: String,
    pub log_group: String,
    /// The account whose group it is (the envelope's `owner`), when the input says.
    pub account: Option<String>,
    /// `None`: any stream of the group (an access-log record's execution lines).
    pub log_stream: Option<String>,
    pub start_ms: i64,
    pub end_ms: i64,
    pub timeout: bool,
}

/// The request failed (timeout or other failure), and its beginning is missing: an
/// execution-log request with neither its method line nor `Sending request to`, or an
/// access-log record with no execution line at all.
pub fn is_orphan(r: &Request) -> bool {
    failed(r) && (!r.from_execution_log || lacks_start(r))
}

/// A timeout or another 5xx.
pub fn failed(r: &Request) -> bool {
    r.timed_out || r.failure.is_some() || r.status.is_some_and(|s| s >= 500)
}

/// None of the lines that begin a request: no method line, no `Sending request to`.
fn lacks_start(r: &Request) -> bool {
    r.method.is_none() && r.sending_ts().is_none() && !r.endpoint_request_seen
}

/// What to fetch for the orphans among `requests`, timeouts first (a budget goes to
/// them before other errors), each request once. An access-log record's execution
/// lines are wanted only when `subscribed` says its execution log group is one the
/// function reads (else the lookup would only be refused).
pub fn wanted<'a>(
    requests: impl Iterator<Item = &'a Request>,
    limits: &Limits,
    subscribed: impl Fn(&str) -> bool,
) -> Vec<Wanted> {
    let mut out: Vec<Wanted> = Vec::new();
    for r in requests {
        if !is_orphan(r) {
            continue;
        }
        let Some(end) = r.failed_ts().or(r.last_ts) else {
            continue;
        };
        // Only the classic groups' `(id) text` lines are fetched back (not delivered JSON records).
        if r.from_execution_log
            && !r
                .provenance
                .log_group
                .starts_with(execution_log::GROUP_PREFIX)
        {
            continue;
        }
        let (log_group, log_stream) = if r.from_execution_log {
            (
                r.provenance.log_group.to_string(),
                Some(r.provenance.log_stream.to_string()),
            )
        } else {
            let (Some(api), Some(stage)) = (r.api_id.as_deref(), r.stage.as_deref()) else {
                continue;
            };
            let group = format!("{}{api}/{stage}", execution_log::GROUP_PREFIX);
            if !subscribed(&group) {
                continue;
            }
            (group, None)
        };
        let (limit, _) = r.limit(
            limits,
            r.api_id.as_deref().unwrap_or(""),
            r.stage.as_deref().unwrap_or(""),
            &Route::unknown(),
        );
        let limit = limit as i64;
        out.push(Wanted {
            request_id: r.id.clone(),
            log_group,
            account: r.provenance.account.as_deref().map(str::to_owned),
            log_stream,
            start_ms: end - limit - LOOKBACK_SLACK_MS,
            end_ms: end,
            timeout: r.timed_out,
        });
    }
    // Stable: timeouts first, otherwise in the batch's order.
    out.sort_by_key(|w| !w.timeout);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::analysis::Analyzer;
    use crate::engine::config::EngineConfig;
    use crate::logs::envelope::Source;

    const ID: &str = "0000abcd-0000-4000-8000-000000000001";
    const GROUP: &str = "API-Gateway-Execution-Logs_abc123/prod";

    fn feed(a: &mut Analyzer<'_>, id: &str, ts: i64, text: &str) {
        let src = Source {
            log_group: GROUP,
            log_stream: "stream-1",
        };
        a.add_event(src, &format!("ev{ts}"), ts, &format!("({id}) {text}"));
    }

    #[test]
    fn a_timeout_without_its_start_is_an_orphan() {
        let config = EngineConfig::default();
        let mut a = Analyzer::new(&config);
        feed(
            &mut a,
            ID,
            129_000,
            "Execution failed due to a timeout error",
        );
        feed(&mut a, ID, 129_001, "Method completed with status: 504");
        // A whole request (healthy) and a whole timeout: neither is wanted.
        let ok = "0000abcd-0000-4000-8000-000000000002";
        feed(&mut a, ok, 100_000, "HTTP Method: GET, Resource Path: /x");
        feed(
            &mut a,
            ok,
            100_001,
            "Sending request to https://example.com/x",
        );
        feed(&mut a, ok, 100_050, "Method completed with status: 200");
        let whole = "0000abcd-0000-4000-8000-000000000003";
        feed(
            &mut a,
            whole,
            100_000,
            "HTTP Method: GET, Resource Path: /y",
        );
        feed(
            &mut a,
            whole,
            100_001,
            "Sending request to https://example.com/y",
        );
        feed(
            &mut a,
            whole,
            129_001,
            "Execution failed due to a timeout error",
        );
        let w = wanted(a.requests(), &config.limits, |_| true);
        assert_eq!(
            w,
            vec![Wanted {
                request_id: ID.into(),
                log_group: GROUP.into(),
                account: None,
                log_stream: Some("stream-1".into()),
                start_ms: 129_000 - 29_000 - LOOKBACK_SLACK_MS,
                end_ms: 129_000,
                timeout: true,
            }]
        );
        // Its lines fetched back heal it: route, backend and "invoked" are known.
        feed(
            &mut a,
            ID,
            99_000,
            "HTTP Method: POST, Resource Path: /orders/1",
        );
        feed(&mut a, ID, 100_000, "Sending request to https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:orders/invocations");
        assert!(wanted(a.requests(), &config.limits, |_| true).is_empty());
        let (analysis, _) = a.finish();
        let t = analysis
            .findings
            .iter()
            .find(|f| f.request_id.as_deref() == Some(ID))
            .unwrap();
        assert_eq!(t.invoked, Some(true));
        assert!(t.backend.is_some());
        assert!(!t.route.is_unknown());
        assert_eq!(t.timestamp, Some(99_000));
    }

    /// An analyzer that has read one access-log record of request `ID` on abc123/prod.
    fn after_access_record<'c>(config: &'c EngineConfig, fields: &str, ts: i64) -> Analyzer<'c> {
        let mut a = Analyzer::new(config);
        let src = Source {
            log_group: "access-logs",
            log_stream: "s",
        };
        let rec = format!(r#"{{"requestId":"{ID}","apiId":"abc123","stage":"prod",{fields}}}"#);
        a.add_event(src, "e1", ts, &rec);
        a
    }

    #[test]
    fn access_log_errors_need_a_subscribed_execution_group() {
        let config = EngineConfig::default();
        let a = after_access_record(
            &config,
            r#""httpMethod":"GET","resourcePath":"/x","status":"504","integrationLatency":"29001","errorResponseType":"INTEGRATION_TIMEOUT""#,
            200_000,
        );
        assert!(wanted(a.requests(), &config.limits, |_| false).is_empty());
        let w = wanted(a.requests(), &config.limits, |g| g == GROUP);
        assert_eq!(w.len(), 1);
        assert_eq!(
            (w[0].log_group.as_str(), w[0].log_stream.as_deref()),
            (GROUP, None)
        );
    }

    /// A streamed response may run 15 minutes: its lines are looked up that far back.
    #[test]
    fn a_streamed_orphan_is_looked_up_over_the_streams_ceiling() {
        let config = EngineConfig::default();
        let a = after_access_record(
            &config,
            r#""httpMethod":"GET","resourcePath":"/chat","status":"504","errorResponseType":"INTEGRATION_TIMEOUT","responseTransferMode":"STREAMED""#,
            2_000_000,
        );
        let w = wanted(a.requests(), &config.limits, |g| g == GROUP);
        assert_eq!(w[0].end_ms - w[0].start_ms, 900_000 + LOOKBACK_SLACK_MS);
    }
}
