//! Evidence across accounts through the real SDK clients (`aws::cross_account`):
//!
//! - against MiniStack (`make aws-lookup`): its accounts are real to it (a 12-digit access
//!   key is the account; an AssumeRole session acts in the role's account), so a group
//!   written in account A is read there through `role:NAME`; `off` reads nothing; `oam`
//!   names the group by ARN, which MiniStack (no OAM) cannot see from another account:
//!   "not readable", as a missing link is. Without `AWS_ENDPOINT_URL` it says so and passes.
//! - against a fake STS on 127.0.0.1 (always): AccessDenied, and an STS that never
//!   answers, each become the "not readable" fact within the lookups' deadline, with one
//!   STS call for many lookups.

#[path = "common/emulator.rs"]
mod emulator;
#[path = "common/loopback.rs"]
mod loopback;

use apigw_doctor::aws::cross_account::evidence_lookup;
use apigw_doctor::model::diagnosis::{NoAccess, Via};
use apigw_doctor::monitor::accounts::CrossAccount;
use apigw_doctor::monitor::lookup::{lookup_all, LogLookup, LookupError, Outcome, Query};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const OWN: &str = "123456789012";
const SOURCE: &str = "111122223333";
const GROUP: &str = "API-Gateway-Execution-Logs_xacct01/prod";
const STREAM: &str = "0123456789abcdef0123456789abcdef";
const RID: &str = "0000abcd-0000-4000-8000-0000000000a1";
const ROLE: &str = "role:apigw-doctor-evidence";

fn not_readable(o: &Outcome) -> Option<(String, NoAccess)> {
    match o {
        Outcome::Failed(LookupError::NotReadable { account, why, .. }) => {
            Some((account.clone(), *why))
        }
        _ => None,
    }
}

/// The emulator's configuration acting as `account` (MiniStack: the access key).
fn as_account(conf: &aws_config::SdkConfig, account: &str) -> aws_config::SdkConfig {
    let creds =
        aws_sdk_cloudwatchlogs::config::Credentials::new(account, "test", None, None, "test");
    conf.to_builder()
        .credentials_provider(aws_sdk_cloudwatchlogs::config::SharedCredentialsProvider::new(creds))
        .build()
}

fn query(account: Option<&str>, start_ms: i64, end_ms: i64) -> Query {
    Query {
        log_group: GROUP.into(),
        account: account.map(str::to_owned),
        log_stream: Some(STREAM.into()),
        terms: vec![RID.into()],
        start_ms,
        end_ms,
        until: None,
    }
}

#[test]
fn role_reads_the_source_account_on_the_emulator() {
    let Some((rt, conf)) = emulator::emulator("make aws-lookup") else {
        return;
    };
    rt.block_on(async {
        // The request's early lines, written in the source account.
        let source = as_account(&conf, SOURCE);
        let logs = aws_sdk_cloudwatchlogs::Client::new(&source);
        logs.create_log_group()
            .log_group_name(GROUP)
            .send()
            .await
            .unwrap();
        logs.create_log_stream()
            .log_group_name(GROUP)
            .log_stream_name(STREAM)
            .send()
            .await
            .unwrap();
        let t = emulator::now_ms() - 120_000;
        let mut put = logs
            .put_log_events()
            .log_group_name(GROUP)
            .log_stream_name(STREAM);
        for (ts, text) in [
            (t, "HTTP Method: POST, Resource Path: /orders"),
            (t + 1, "Sending request to https://example.com/orders"),
        ] {
            put = put.log_events(
                aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                    .timestamp(ts)
                    .message(format!("({RID}) {text}"))
                    .build()
                    .unwrap(),
            );
        }
        put.send().await.unwrap();
        let own = as_account(&conf, OWN);
        let (from, to) = (t - 60_000, t + 30_000);

        // role: assumed in the source account, read there.
        let lookup = evidence_lookup(&own, &CrossAccount::parse(ROLE).unwrap());
        let found = lookup.filter(query(Some(SOURCE), from, to)).await.unwrap();
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().all(|e| e.message.contains(RID)));
        // The own account has no such group: by name there, a plain failure.
        let here = lookup.filter(query(None, from, to)).await;
        assert!(matches!(here, Err(LookupError::Failed { .. })), "{here:?}");

        // off: nothing read, the fact at once.
        let off = evidence_lookup(&own, &CrossAccount::Off);
        let l: Arc<dyn LogLookup> = off;
        let done = lookup_all(&l, vec![query(Some(SOURCE), from, to)], 20, None).await;
        assert_eq!(
            not_readable(&done.results[0].1),
            Some((SOURCE.into(), NoAccess::NotConfigured))
        );

        // oam: by ARN with the own credentials; no OAM link in the emulator, so the
        // source account's group is not visible: not readable, not an error.
        let oam = evidence_lookup(&own, &CrossAccount::Oam);
        let l: Arc<dyn LogLookup> = oam;
        let done = lookup_all(&l, vec![query(Some(SOURCE), from, to)], 20, None).await;
        assert_eq!(
            not_readable(&done.results[0].1),
            Some((SOURCE.into(), NoAccess::Denied(Via::Oam)))
        );
        // Its own group by ARN is read (the identifier form works for the own account too).
        let own_logs = aws_sdk_cloudwatchlogs::Client::new(&own);
        own_logs
            .create_log_group()
            .log_group_name(GROUP)
            .send()
            .await
            .unwrap();
        let by_arn = own_logs
            .filter_log_events()
            .log_group_identifier(format!("arn:aws:logs:us-east-1:{OWN}:log-group:{GROUP}"))
            .send()
            .await;
        assert!(by_arn.is_ok(), "{by_arn:?}");
    });
}

/// A fake STS (query protocol, `Action=AssumeRole`) that denies, or never answers; every
/// other call is refused too. Counts the AssumeRole calls.
async fn fake_sts(hang: bool) -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let url = loopback::serve(move |_head, body| {
        if body.contains("Action=AssumeRole") {
            seen.fetch_add(1, Ordering::Relaxed);
            if hang {
                return loopback::Answer::Hang;
            }
        }
        let xml = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:sts::123456789012:assumed-role/apigw-doctor/x is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111122223333:role/apigw-doctor-evidence</Message></Error><RequestId>r</RequestId></ErrorResponse>";
        loopback::response("403 Forbidden", "content-type: text/xml\r\n", xml.as_bytes())
    })
    .await;
    (url, calls)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_denied_assume_is_one_call_and_a_fact() {
    let rt = rt();
    rt.block_on(async {
        let (url, calls) = fake_sts(false).await;
        let conf = loopback::loader(&url).load().await;
        let lookup = evidence_lookup(&conf, &CrossAccount::parse(ROLE).unwrap());
        let until = Instant::now() + Duration::from_secs(20);
        let queries = vec![query(Some(SOURCE), 0, 1); 50];
        let done = lookup_all(&lookup, queries, 100, Some(until)).await;
        for (_, o) in &done.results {
            assert_eq!(
                not_readable(o),
                Some((SOURCE.into(), NoAccess::Denied(Via::Role))),
                "{o:?}"
            );
        }
        assert_eq!(
            calls.load(Ordering::Relaxed),
            1,
            "one AssumeRole for 50 lookups"
        );
    });
}

#[test]
fn an_sts_that_never_answers_is_a_timed_out_fact_before_the_deadline() {
    let rt = rt();
    rt.block_on(async {
        let (url, calls) = fake_sts(true).await;
        let conf = loopback::loader(&url).load().await;
        let lookup = evidence_lookup(&conf, &CrossAccount::parse(ROLE).unwrap());
        // The lookups' deadline, shorter than the adapter's own 3 s bound.
        let until = Instant::now() + Duration::from_millis(1500);
        let done = lookup_all(
            &lookup,
            vec![query(Some(SOURCE), 0, 1); 10],
            20,
            Some(until),
        )
        .await;
        // Ended by the deadline, however long STS would hang (a minute here).
        assert!(Instant::now() < until + Duration::from_secs(1));
        for (_, o) in &done.results {
            assert_eq!(
                not_readable(o),
                Some((SOURCE.into(), NoAccess::TimedOut)),
                "{o:?}"
            );
        }
        assert_eq!(calls.load(Ordering::Relaxed), 1);
    });
}
