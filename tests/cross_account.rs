//! Evidence across accounts through the handler (issue 25, part 4): a timeout fanned in
//! from another account has its early lines in that account's log group. With access
//! (a role) they are read there; without (`off`, a refusal, a hanging STS) the finding
//! goes out all the same and says where the evidence is and why it was not read, within
//! the deadline, never as an error.

#[path = "common/subscription.rs"]
mod subscription;

use apigw_doctor::lambda::config::Config;
use apigw_doctor::lambda::wiring::Recorded;
use apigw_doctor::model::diagnosis::{NoAccess, Unhealed, Via};
use apigw_doctor::model::finding::Finding;
use apigw_doctor::model::kind::Kind;
use apigw_doctor::monitor::accounts::{CrossAccount, CrossAccountLookup, MemoryAccess};
use apigw_doctor::monitor::lookup::{FetchedEvent, LogLookup, MemoryLookup};
use apigw_doctor::monitor::recorder::Published;
use apigw_doctor::monitor::InvocationSummary;
use apigw_doctor::render::alert::Rendered;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

const T0: i64 = 1_795_600_800_000;
const OWN: &str = "123456789012";
const SOURCE: &str = "111122223333";
const OWN_FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:apigw-doctor";
const GROUP: &str = "API-Gateway-Execution-Logs_a1b2c3d4e5/prod";
const STREAM: &str = "0123456789abcdef0123456789abcdef";

fn id(n: u32) -> String {
    format!("5eed{n:04x}-0000-4000-8000-000000000000")
}

fn event_id(serial: u64) -> String {
    format!("3{serial:055}")
}

/// `n` timeouts of account `SOURCE` on a function there: the start lines only in the
/// source account's group (`there`), the ends in the batch.
fn split_timeouts(n: u32, there: &MemoryLookup) -> Vec<u8> {
    let uri = format!(
        "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/arn:aws:lambda:us-east-1:{SOURCE}:function:orders/invocations"
    );
    let mut end = Vec::new();
    for i in 0..n {
        let rid = id(i);
        let t = T0 + i64::from(i) * 1000;
        let serial = u64::from(i) * 10;
        for (k, dt, text) in [
            (1, 0, "HTTP Method: POST, Resource Path: /orders".to_owned()),
            (2, 1, format!("Sending request to {uri}")),
        ] {
            there.add(
                GROUP,
                FetchedEvent {
                    id: event_id(serial + k),
                    timestamp: t + dt,
                    message: format!("({rid}) {text}"),
                    log_stream: STREAM.into(),
                },
            );
        }
        for (k, text) in [
            (3, "Execution failed due to a timeout error"),
            (4, "Method completed with status: 504"),
        ] {
            end.push(serde_json::json!({
                "id": event_id(serial + k), "timestamp": t + 29_004, "message": format!("({rid}) {text}"),
            }));
        }
    }
    subscription::lambda_event_of(SOURCE, GROUP, STREAM, &end)
}

struct Setup {
    own: Arc<MemoryLookup>,
    there: Arc<MemoryLookup>,
    access: Arc<MemoryAccess>,
}

impl Setup {
    fn new() -> Setup {
        Setup {
            own: Arc::new(MemoryLookup::default()),
            there: Arc::new(MemoryLookup::default()),
            access: Arc::new(MemoryAccess::default()),
        }
    }

    /// The monitor as the Lambda wires it, the SDK adapters replaced by memory.
    fn monitor(&self, mode: &str, env: &[(&str, &str)]) -> Recorded {
        let mut env: std::collections::HashMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        env.insert("CROSS_ACCOUNT_EVIDENCE".into(), mode.into());
        env.insert("API_NAMES".into(), "a1b2c3d4e5=Orders API".into());
        let config = Config::from_lookup(|k| env.get(k).cloned()).unwrap();
        let mode = CrossAccount::parse(mode).unwrap();
        let router = CrossAccountLookup::new(
            Arc::new(Arc::clone(&self.own)),
            mode,
            Some(Arc::new(Arc::clone(&self.access))),
        );
        let lookup: Arc<dyn LogLookup> = Arc::new(router);
        let m = Recorded::new(&config).with_lookup(lookup);
        m.learn_own_account(OWN_FUNCTION_ARN);
        m
    }
}

fn handle(
    m: &Recorded,
    event: &[u8],
    deadline: Option<Instant>,
) -> (InvocationSummary, Vec<Rendered>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let s = rt
        .block_on(m.handle_at(event, deadline, T0 + 120_000))
        .expect("an unreadable account never fails the invocation");
    let alerts = m
        .take()
        .into_iter()
        .filter_map(|p| match p {
            Published::Alert(a) => Some(a),
            _ => None,
        })
        .collect();
    (s, alerts)
}

fn timeouts(s: &InvocationSummary) -> Vec<&Finding> {
    s.findings
        .iter()
        .filter(|f| f.kind == Kind::Timeout)
        .collect()
}

fn not_readable(f: &Finding) -> Option<NoAccess> {
    match &f.diagnosis.unhealed {
        Some(Unhealed::NotReadable { account, why }) if account == SOURCE => Some(*why),
        _ => None,
    }
}

#[test]
fn with_the_role_the_lines_are_read_in_the_source_account() {
    let s = Setup::new();
    let event = split_timeouts(3, &s.there);
    s.access.allow(SOURCE, Arc::new(Arc::clone(&s.there)));
    let m = s.monitor("role:apigw-doctor-evidence", &[]);
    let (summary, alerts) = handle(&m, &event, None);
    let found = timeouts(&summary);
    assert_eq!(found.len(), 3);
    for f in found {
        assert_eq!(f.invoked, Some(true), "healed from the source account");
        assert_eq!(f.route.as_str(), "POST /orders");
        assert_eq!(f.diagnosis.unhealed, None);
    }
    assert_eq!(summary.healing.healed, 3);
    assert_eq!(
        s.access.calls.load(Ordering::Relaxed),
        1,
        "one assume for the batch"
    );
    assert_eq!(
        s.own.calls.load(Ordering::Relaxed),
        0,
        "never the own account's group"
    );
    assert!(!alerts.is_empty());
}

#[test]
fn off_says_where_the_evidence_is_in_every_rendering() {
    let s = Setup::new();
    let event = split_timeouts(1, &s.there);
    let m = s.monitor("off", &[]);
    let (summary, alerts) = handle(&m, &event, None);
    let f = timeouts(&summary)[0];
    assert_eq!(not_readable(f), Some(NoAccess::NotConfigured));
    assert_eq!(summary.healing.not_readable, 1);
    assert_eq!(
        s.own.calls.load(Ordering::Relaxed),
        0,
        "nothing read in the wrong account"
    );
    let a = &alerts[0];
    let said = "are in account 111122223333 and could not be read (no cross-account access is configured: set CROSS_ACCOUNT_EVIDENCE to oam or role:NAME)";
    assert!(a.email.contains(said), "{}", a.email);
    assert!(a.chatbot.contains(said), "{}", a.chatbot);
    assert!(a.automation.contains(said), "{}", a.automation);
    let chatbot: serde_json::Value = serde_json::from_str(&a.chatbot).unwrap();
    let automation: serde_json::Value = serde_json::from_str(&a.automation).unwrap();
    insta::assert_snapshot!("cross-account-off-email", &a.email);
    insta::assert_snapshot!(
        "cross-account-off-chatbot-description",
        chatbot["content"]["description"].as_str().unwrap()
    );
    insta::assert_json_snapshot!(
        "cross-account-off-automation-example",
        &automation["examples"][0]
    );
    let mut report = String::new();
    apigw_doctor::render::report::finding_text(&mut report, f, false);
    insta::assert_snapshot!("cross-account-off-report", report);
}

#[test]
fn a_denied_account_costs_one_assume_for_a_hundred_requests() {
    let s = Setup::new();
    let event = split_timeouts(100, &s.there);
    s.access.deny(SOURCE);
    let m = s.monitor("role:apigw-doctor-evidence", &[("LOG_LOOKUPS_MAX", "200")]);
    let (summary, alerts) = handle(&m, &event, None);
    let found = timeouts(&summary);
    assert_eq!(found.len(), 100);
    for f in found {
        assert_eq!(not_readable(f), Some(NoAccess::Denied(Via::Role)));
    }
    assert_eq!(s.access.calls.load(Ordering::Relaxed), 1);
    let said = "are in account 111122223333 and could not be read (access denied: the role CROSS_ACCOUNT_EVIDENCE names is missing there, does not trust this function's role, or may not read the log group)";
    assert!(alerts[0].email.contains(said), "{}", alerts[0].email);
    // The next batch from that account: the refusal is remembered, no new call.
    let again = split_timeouts(2, &s.there);
    let (summary, _) = handle(&m, &again, None);
    assert!(timeouts(&summary).iter().all(|f| not_readable(f).is_some()));
    assert_eq!(s.access.calls.load(Ordering::Relaxed), 1);
}

#[test]
fn a_hanging_sts_ends_with_the_deadline_as_a_timed_out_fact() {
    let s = Setup::new();
    let event = split_timeouts(5, &s.there);
    s.access.allow(SOURCE, Arc::new(Arc::clone(&s.there)));
    *s.access.delay.lock().unwrap() = Some(Duration::from_secs(3600));
    let m = s.monitor("role:apigw-doctor-evidence", &[]);
    // Lookups end 10 s before the deadline: 11 s leaves them one second.
    let deadline = Instant::now() + Duration::from_secs(11);
    let (summary, alerts) = handle(&m, &event, Some(deadline));
    assert!(
        Instant::now() < deadline,
        "bounded by the deadline, not by STS"
    );
    for f in timeouts(&summary) {
        assert_eq!(not_readable(f), Some(NoAccess::TimedOut));
    }
    assert!(alerts[0].email.contains(
        "could not be read (assuming the role there did not end before the invocation's deadline)"
    ));
}

#[test]
fn the_backend_functions_log_in_another_account() {
    let s = Setup::new();
    // Whole requests (nothing to heal); the function's log is the evidence wanted.
    let uri = format!(
        "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/arn:aws:lambda:us-east-1:{SOURCE}:function:orders/invocations"
    );
    let rid = id(1);
    let events: Vec<serde_json::Value> = [
        (1, 0, "HTTP Method: POST, Resource Path: /orders".to_owned()),
        (2, 1, format!("Sending request to {uri}")),
        (3, 29_004, "Execution failed due to a timeout error".to_owned()),
        (4, 29_004, "Method completed with status: 504".to_owned()),
    ]
    .into_iter()
    .map(|(k, dt, text)| {
        serde_json::json!({"id": event_id(k), "timestamp": T0 + dt, "message": format!("({rid}) {text}")})
    })
    .collect();
    let event = subscription::lambda_event_of(SOURCE, GROUP, STREAM, &events);
    // Off: not read, and said.
    let m = s.monitor("off", &[("BACKEND_FUNCTION_NAMES", "orders")]);
    let (summary, alerts) = handle(&m, &event, None);
    assert_eq!(summary.backend_lookups.not_readable, 1);
    let said = "Connect or read: the log of orders (/aws/lambda/orders) is in account 111122223333 and could not be read (no cross-account access is configured: set CROSS_ACCOUNT_EVIDENCE to oam or role:NAME)";
    assert!(alerts[0].email.contains(said), "{}", alerts[0].email);
    let chatbot: serde_json::Value = serde_json::from_str(&alerts[0].chatbot).unwrap();
    insta::assert_snapshot!(
        "cross-account-backend-off-chatbot-description",
        chatbot["content"]["description"].as_str().unwrap()
    );
    let f = timeouts(&summary)[0];
    let json = serde_json::to_value(apigw_doctor::render::report::FindingJson::new(f)).unwrap();
    insta::assert_json_snapshot!("cross-account-backend-off-finding", json["not_readable"]);
}

#[test]
fn the_own_accounts_requests_read_as_before() {
    let s = Setup::new();
    // A split timeout from the function's own account: its own group, by name.
    let uri = "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:orders/invocations";
    let rid = id(0);
    for (k, dt, text) in [
        (1, 0, "HTTP Method: POST, Resource Path: /orders".to_owned()),
        (2, 1, format!("Sending request to {uri}")),
    ] {
        s.own.add(
            GROUP,
            FetchedEvent {
                id: event_id(k),
                timestamp: T0 + dt,
                message: format!("({rid}) {text}"),
                log_stream: STREAM.into(),
            },
        );
    }
    let end: Vec<serde_json::Value> = [(3, "Execution failed due to a timeout error"), (4, "Method completed with status: 504")]
        .into_iter()
        .map(|(k, text)| serde_json::json!({"id": event_id(k), "timestamp": T0 + 29_004, "message": format!("({rid}) {text}")}))
        .collect();
    let event = subscription::lambda_event_of(OWN, GROUP, STREAM, &end);
    let m = s.monitor("off", &[]);
    let (summary, _) = handle(&m, &event, None);
    assert_eq!(summary.healing.healed, 1);
    assert_eq!(s.own.calls.load(Ordering::Relaxed), 1);
}
