//! Two accounts with identical API ids and stages, fanned in through one Kinesis batch
//! (issue 25's done-when): two incidents with their own ids, subjects, console links and
//! metric series, and nothing shared between them in the state.

mod common;

use apigw_doctor::lambda::config::Config;
use apigw_doctor::lambda::wiring::Recorded;
use apigw_doctor::monitor::recorder::Published;
use common::rest_batch::{rid, Batch, Outcome, ACCOUNT};
use common::{alerts, kinesis, schedule};

const T0: i64 = 1_795_600_000_000;
const PAYMENTS: &str = "111122223333";
const SEARCH: &str = "444455556666";
const HOME: &str = "999999999999";
/// The same API id in both accounts (API ids are random, but nothing keeps two accounts'
/// from meeting, and test stacks often are the same template).
const API: &str = "abc1234567";

/// `timeouts` of `requests` on GET /orders, the backend function in the owner's account.
fn traffic(owner: &str, serial: u64, t0: i64, requests: u64, timeouts: u64) -> Batch {
    let mut b = Batch::new(API, serial);
    for k in 0..requests {
        let outcome = if k < timeouts {
            Outcome::Timeout
        } else {
            Outcome::Ok(120)
        };
        let t = t0 + k as i64 * 500;
        b.request(
            &rid(serial * 1000 + k),
            t,
            "GET",
            "/orders",
            "/orders",
            "orders",
            outcome,
        );
    }
    for e in &mut b.events {
        let m = e["message"].as_str().unwrap().replace(ACCOUNT, owner);
        e["message"] = m.into();
    }
    b
}

/// One Kinesis record per (owner, document), as CloudWatch Logs puts them on the stream.
fn kinesis_event(docs: &[(&str, &Batch)]) -> Vec<u8> {
    let records = docs.iter().enumerate().map(|(n, (owner, b))| {
        let group = format!("API-Gateway-Execution-Logs_{}/prod", b.api);
        kinesis::record(
            owner,
            &group,
            &format!("stream-{owner}"),
            &b.events,
            n as u64,
        )
    });
    kinesis::event(records.collect())
}

fn go(m: &Recorded, event: &[u8], now: i64) -> Vec<Published> {
    common::handle(m, event, now).1
}

fn monitor() -> Recorded {
    monitor_with_topic(true)
}

/// `topic`: with `ALERT_TOPIC_ARN` in the home account (else the alerts go to pagers only).
fn monitor_with_topic(topic: bool) -> Recorded {
    let topic = if topic {
        format!("arn:aws:sns:us-east-1:{HOME}:apigw-doctor")
    } else {
        String::new()
    };
    let env = [
        ("ALERT_TOPIC_ARN", topic),
        ("ACCOUNT_NAMES", format!("{PAYMENTS}=payments-prod")),
        (
            "API_NAMES",
            format!("{API}=Orders,{PAYMENTS}:{API}=Payments"),
        ),
        (
            "CONSOLE_PORTAL_URL",
            "https://my-org.awsapps.com/start".into(),
        ),
        ("CONSOLE_ROLE_NAME", "ReadOnly".into()),
        ("METRICS_ACCOUNT_DIMENSION", "on".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("INCIDENT_UPDATE_SECONDS", "60".into()),
        ("AWS_LAMBDA_FUNCTION_NAME", "apigw-doctor".into()),
    ];
    let env: std::collections::HashMap<&str, String> =
        env.into_iter().filter(|(_, v)| !v.is_empty()).collect();
    Recorded::new(&Config::from_lookup(|k| env.get(k).cloned()).unwrap())
}

/// Without a topic the doctor's account is the function's own, learned from the
/// invocation: a foreign account's alert still says whose it is.
#[test]
fn the_functions_own_account_is_home_without_a_topic() {
    let subject = |m: &Recorded| {
        let payments = traffic(PAYMENTS, 1, T0, 10, 3);
        let p = go(m, &kinesis_event(&[(PAYMENTS, &payments)]), T0 + 60_000);
        let a = by_account(&p);
        a[PAYMENTS]["notification"]["subject"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // Nothing says which account is home: the subject is as for one account.
    let unknown = subject(&monitor_with_topic(false));
    assert!(!unknown.contains("payments-prod"), "{unknown}");
    let m = monitor_with_topic(false);
    m.learn_own_account(&format!(
        "arn:aws:lambda:us-east-1:{HOME}:function:apigw-doctor"
    ));
    let learned = subject(&m);
    assert!(
        learned.ends_with(&format!("· payments-prod:{API}/prod")),
        "{learned}"
    );
}

/// The automation JSON of each alert, by the account it names.
fn by_account(p: &[Published]) -> std::collections::BTreeMap<String, serde_json::Value> {
    alerts(p)
        .into_iter()
        .map(|a| {
            let v: serde_json::Value = serde_json::from_str(&a.automation).unwrap();
            (v["account"].as_str().unwrap().to_owned(), v)
        })
        .collect()
}

#[test]
fn two_accounts_same_api_two_incidents() {
    let m = monitor();
    let payments = traffic(PAYMENTS, 1, T0, 10, 3);
    let search = traffic(SEARCH, 2, T0, 6, 1);
    let published = go(
        &m,
        &kinesis_event(&[(PAYMENTS, &payments), (SEARCH, &search)]),
        T0 + 60_000,
    );

    let a = by_account(&published);
    assert_eq!(a.len(), 2, "{a:#?}");
    let (p, s) = (&a[PAYMENTS], &a[SEARCH]);
    assert_ne!(p["incident_id"], s["incident_id"]);
    assert_eq!(
        (p["affected"].as_u64(), p["requests"].as_u64()),
        (Some(3), Some(10))
    );
    assert_eq!(
        (s["affected"].as_u64(), s["requests"].as_u64()),
        (Some(1), Some(6))
    );
    assert_eq!(
        (p["api_name"].as_str(), s["api_name"].as_str()),
        (Some("Payments"), Some("Orders"))
    );
    let subject = |v: &serde_json::Value| v["notification"]["subject"].as_str().unwrap().to_owned();
    assert!(
        subject(p).ends_with(&format!("· payments-prod:{API}/prod")),
        "{}",
        subject(p)
    );
    assert!(
        subject(s).ends_with(&format!("· {SEARCH}:{API}/prod")),
        "{}",
        subject(s)
    );

    // Every console link signs in to the account of what it shows; the dashboard is ours.
    for (account, v) in [(PAYMENTS, p), (SEARCH, s)] {
        let links = v["links"].as_array().unwrap();
        assert!(links.len() >= 3, "{links:#?}");
        for l in links {
            let href = l["href"].as_str().unwrap();
            let want = if l["text"].as_str().unwrap().starts_with("Dashboard") {
                HOME
            } else {
                account
            };
            assert!(
                href.starts_with(&format!(
                    "https://my-org.awsapps.com/start/#/console?account_id={want}&role_name=ReadOnly&destination=https%3A%2F%2F"
                )),
                "{href}"
            );
        }
        let email = v["notification"]["email"].as_str().unwrap();
        assert!(
            email.contains(&format!("{account})")) || email.contains(account),
            "{email}"
        );
    }

    let payments_alert = alerts(&published)
        .into_iter()
        .find(|a| a.automation.contains(PAYMENTS))
        .unwrap();
    insta::assert_snapshot!("foreign-account-email", &payments_alert.email);
    insta::assert_snapshot!("foreign-account-chatbot", &payments_alert.chatbot);

    // The metric series of each account, exact; the roll-up without Account sums them.
    let mut sums: std::collections::BTreeMap<(String, &str), f64> = Default::default();
    for d in published
        .iter()
        .filter_map(|x| match x {
            Published::Metrics(b) => Some(&b.data),
            _ => None,
        })
        .flatten()
    {
        let dim = |k: &str| d.dimension(k).map(str::to_owned);
        if dim("Route").is_some() || !matches!(d.name, "Requests" | "IntegrationTimeouts") {
            continue;
        }
        let account = dim("Account").unwrap_or_else(|| "all".into());
        *sums.entry((account, d.name)).or_default() += d.values.iter().sum::<f64>();
    }
    let get = |a: &str, n| sums.get(&(a.to_owned(), n)).copied();
    assert_eq!(get(PAYMENTS, "Requests"), Some(10.0));
    assert_eq!(get(PAYMENTS, "IntegrationTimeouts"), Some(3.0));
    assert_eq!(get(SEARCH, "Requests"), Some(6.0));
    assert_eq!(get(SEARCH, "IntegrationTimeouts"), Some(1.0));
    assert_eq!(get("all", "Requests"), Some(16.0));
    assert_eq!(get("all", "IntegrationTimeouts"), Some(4.0));

    // More timeouts in one account, past INCIDENT_UPDATE_SECONDS (60), touch only its
    // incident: the other stays as it was and each resolves on its own.
    let later_t = T0 + 130_000;
    let later = traffic(PAYMENTS, 3, later_t, 12, 12);
    let published = go(&m, &kinesis_event(&[(PAYMENTS, &later)]), later_t + 60_000);
    let a = by_account(&published);
    assert_eq!(a.keys().collect::<Vec<_>>(), vec![PAYMENTS], "{a:#?}");
    assert_eq!(a[PAYMENTS]["status"], "update");
    assert_eq!(a[PAYMENTS]["incident_id"], p["incident_id"]);
    assert_eq!(a[PAYMENTS]["affected"].as_u64(), Some(15));
    let resolved = by_account(&go(&m, &schedule(), later_t + 3_600_000));
    assert_eq!(resolved.len(), 2, "{resolved:#?}");
    assert_eq!(resolved[SEARCH]["incident_id"], s["incident_id"]);
    assert_eq!(resolved[SEARCH]["affected"].as_u64(), Some(1));
    assert_eq!(resolved[PAYMENTS]["affected"].as_u64(), Some(15));
}

/// The CLI on the same fan-in: the report tells the accounts' identical API ids apart.
#[test]
fn the_report_names_each_account() {
    let payments = traffic(PAYMENTS, 1, T0, 30, 3);
    let search = traffic(SEARCH, 2, T0, 25, 1);
    let dir = std::env::temp_dir().join(format!("apigw-doctor-accounts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("kinesis.json");
    std::fs::write(
        &file,
        kinesis_event(&[(PAYMENTS, &payments), (SEARCH, &search)]),
    )
    .unwrap();
    let out = assert_cmd::Command::cargo_bin("apigw-doctor")
        .unwrap()
        .args(["analyze", "--format", "json", file.to_str().unwrap()])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let incidents: Vec<(String, u64)> = v["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["account"].as_str().unwrap().to_owned(),
                i["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        incidents,
        vec![(PAYMENTS.to_owned(), 3), (SEARCH.to_owned(), 1)]
    );
    let routes: Vec<(&str, u64)> = v["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["account"].as_str().unwrap(),
                r["requests"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(routes, vec![(PAYMENTS, 30), (SEARCH, 25)]);
    let text = assert_cmd::Command::cargo_bin("apigw-doctor")
        .unwrap()
        .args(["analyze", file.to_str().unwrap()])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("55 on 2 routes of 2 API stages"), "{text}");
    for (account, n) in [(PAYMENTS, "3 timeouts"), (SEARCH, "1 timeout ")] {
        assert!(
            text.contains(&format!("{n}(504) · {account}:{API}/prod GET /orders"))
                || text.contains(&format!("{n} (504) · {account}:{API}/prod GET /orders")),
            "{text}"
        );
        assert!(
            text.contains(&format!("API {account}:{API} stage prod:")),
            "{text}"
        );
    }
    // Each finding of --details says whose API stage it is.
    let details = assert_cmd::Command::cargo_bin("apigw-doctor")
        .unwrap()
        .args(["analyze", "--details", file.to_str().unwrap()])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let details = String::from_utf8(details).unwrap();
    for (account, n) in [(PAYMENTS, 3), (SEARCH, 1)] {
        let line = format!("· {account}:{API}/prod GET /orders");
        assert_eq!(
            details
                .lines()
                .filter(|l| l.starts_with("── TIMEOUT") && l.contains(&line))
                .count(),
            n,
            "{details}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
