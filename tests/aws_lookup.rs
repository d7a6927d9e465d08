//! `CloudWatchLookup` (FilterLogEvents through aws-sdk-cloudwatchlogs) against a local
//! CloudWatch Logs: `make aws-lookup` runs it under MiniStack
//! (`tests/aws/ministack.py -- cargo test --test aws_lookup`). Without
//! `AWS_ENDPOINT_URL` (a plain `cargo test`) it says so and does nothing: it never
//! talks to a real account.

#[path = "common/emulator.rs"]
mod emulator;

use apigw_doctor::aws::lookup::cloudwatch_lookup;
use apigw_doctor::monitor::lookup::{lookup_all, LogLookup, Outcome, Query};
use std::sync::Arc;
use std::time::{Duration, Instant};

const GROUP: &str = "API-Gateway-Execution-Logs_abc123/prod";
const STREAM: &str = "0123456789abcdef0123456789abcdef";
const RID: &str = "0000abcd-0000-4000-8000-000000000001";
const OTHER: &str = "0000abcd-0000-4000-8000-000000000002";

#[test]
fn filter_log_events_against_the_emulator() {
    let Some((rt, conf)) = emulator::emulator("make aws-lookup") else {
        return;
    };
    rt.block_on(async {
        let logs = aws_sdk_cloudwatchlogs::Client::new(&conf);
        logs.create_log_group().log_group_name(GROUP).send().await.unwrap();
        logs.create_log_stream()
            .log_group_name(GROUP)
            .log_stream_name(STREAM)
            .send()
            .await
            .unwrap();
        let now = emulator::now_ms();
        let t = now - 120_000;
        let lines = [
            (t, RID, "HTTP Method: POST, Resource Path: /orders/1"),
            (t + 1, RID, "Sending request to https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:orders/invocations"),
            (t + 5, OTHER, "HTTP Method: GET, Resource Path: /orders"),
            (t + 29_004, RID, "Execution failed due to a timeout error"),
        ];
        let mut put = logs.put_log_events().log_group_name(GROUP).log_stream_name(STREAM);
        for (ts, id, text) in lines {
            put = put.log_events(
                aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                    .timestamp(ts)
                    .message(format!("({id}) {text}"))
                    .build()
                    .unwrap(),
            );
        }
        put.send().await.unwrap();

        let lookup = cloudwatch_lookup(&conf);
        let query = Query {
            log_group: GROUP.into(),
            log_stream: Some(STREAM.into()),
            terms: vec![RID.into()],
            start_ms: t - 60_000,
            end_ms: t + 29_004,
            ..Query::default()
        };
        let found = lookup.filter(query.clone()).await.unwrap();
        let texts: Vec<&str> = found.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(texts.len(), 3, "{texts:?}");
        assert!(texts.iter().all(|m| m.contains(RID)), "{texts:?}");
        assert!(found.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
        assert!(found.iter().all(|e| !e.id.is_empty() && e.log_stream == STREAM));

        // A group the function may not read (here: that does not exist) is a failed
        // lookup, not an error of the invocation; the budget holds.
        let missing = Query {
            log_group: "API-Gateway-Execution-Logs_nope/prod".into(),
            ..query.clone()
        };
        let l: Arc<dyn LogLookup> = lookup;
        let done = lookup_all(
            &l,
            vec![missing, query.clone(), query],
            2,
            Some(Instant::now() + Duration::from_secs(20)),
        )
        .await;
        assert!(matches!(done.results[0].1, Outcome::Failed(_)), "{:?}", done.results[0].1);
        assert!(matches!(&done.results[1].1, Outcome::Found(v) if v.len() == 3));
        assert_eq!(done.results[2].1, Outcome::Skipped);
        assert_eq!((done.calls, done.skipped), (2, 1));
    });
}
