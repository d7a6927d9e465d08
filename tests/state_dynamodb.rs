//! The shared incident state against DynamoDB in the local AWS emulator (MiniStack):
//! two handler instances (two containers) share one table and get the same timeout
//! batch at once; exactly one `firing` goes out. Then two different batches of one
//! incident at once, and two schedule ticks at once: still one notification each.
//!
//! `make state` runs this under tests/aws/ministack.py (which sets AWS_ENDPOINT_URL);
//! without an endpoint the test says so and passes, so that `cargo test` needs no emulator.

#[path = "common/emulator.rs"]
mod emulator;
#[path = "common/subscription.rs"]
mod subscription;

use apigw_doctor::monitor::recorder::Published;
use std::sync::Arc;

use apigw_doctor::aws::state::DynamoStore;
use apigw_doctor::lambda::config::Config;
use apigw_doctor::lambda::wiring::Recorded;
use apigw_doctor::monitor::recorder::Recorder;
use apigw_doctor::monitor::state::SplitHalves;
use apigw_doctor::monitor::Ports;

/// 2026-11-25T10:00:00Z.
const T0: i64 = 1_795_600_800_000;

async fn create_table(c: &aws_sdk_dynamodb::Client, name: &str) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .unwrap()
    };
    c.create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("pk"))
        .attribute_definitions(attr("sk"))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .send()
        .await
        .expect("CreateTable on the emulator");
}

/// A container: its own SDK client and warm state, the shared table.
fn container(conf: &aws_config::SdkConfig, table: &str) -> Recorded {
    let config = Config::from_lookup(|k| match k {
        "AWS_REGION" => Some("us-east-1".to_owned()),
        "INCIDENTS_TABLE" => Some(table.to_owned()),
        _ => None,
    })
    .unwrap();
    let store = Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(conf), table));
    let recorder = Arc::new(Recorder::default());
    let ports = Ports::in_memory(&recorder).with_shared_state(store);
    Recorded::with_ports(&config, ports, recorder)
}

/// A subscription batch with ERROR-level timeouts (`first_id` numbers the requests).
fn timeouts(first_id: u64, n: u64, ts: i64) -> Vec<u8> {
    let mut events = Vec::new();
    for i in first_id..first_id + n {
        let r = format!("5eed0000-0000-4000-8000-{i:012}");
        events.push(serde_json::json!({"id": format!("{i}-1"), "timestamp": ts, "message": format!("({r}) Execution failed due to a timeout error")}));
        events.push(serde_json::json!({"id": format!("{i}-2"), "timestamp": ts, "message": format!("({r}) Method completed with status: 504")}));
    }
    subscription::lambda_event("API-Gateway-Execution-Logs_a1b2c3d4e5/prod", "s", &events)
}

/// The statuses of the notifications both containers recorded.
fn statuses(a: &Recorded, b: &Recorded) -> Vec<String> {
    let mut out = Vec::new();
    for m in [a, b] {
        for p in m.take() {
            if let Published::Alert(r) = p {
                let j: serde_json::Value = serde_json::from_str(&r.automation).unwrap();
                out.push(j["status"].as_str().unwrap_or("?").to_owned());
            }
        }
    }
    out
}

#[test]
fn two_containers_one_firing() {
    let Some((rt, conf)) = emulator::emulator("make state") else {
        return;
    };
    let ep = emulator::endpoint().unwrap_or_default();
    rt.block_on(async {
        let table = format!("apigw-doctor-incidents-{}", std::process::id());
        create_table(&aws_sdk_dynamodb::Client::new(&conf), &table).await;
        let (a, b) = (container(&conf, &table), container(&conf, &table));

        // Round 1: the same batch, redelivered to two containers at the same moment.
        let batch = timeouts(1, 3, T0);
        let (ra, rb) = tokio::join!(
            a.handle_at(&batch, None, T0 + 30_000),
            b.handle_at(&batch, None, T0 + 30_000)
        );
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        assert_eq!(statuses(&a, &b), ["firing"], "endpoint {ep}");
        assert!(
            ra.duplicate_batch ^ rb.duplicate_batch,
            "one handled it, one skipped it"
        );
        assert_eq!(ra.state_errors + rb.state_errors, 0);

        // Round 2, on a fresh incident key: two different batches of one incident at
        // once. The conditional write lets one open it; the other adds to it.
        let open = a.ports().incidents.open().await.unwrap();
        assert_eq!(open.len(), 1);
        assert!(a
            .ports()
            .incidents
            .remove(&open[0].key.store_key(), open[0].version)
            .await
            .unwrap());
        let (x, y) = (timeouts(100, 2, T0 + 60_000), timeouts(200, 5, T0 + 60_000));
        let (rx, ry) = tokio::join!(
            a.handle_at(&x, None, T0 + 90_000),
            b.handle_at(&y, None, T0 + 90_000)
        );
        let (rx, ry) = (rx.unwrap(), ry.unwrap());
        assert_eq!(statuses(&a, &b), ["firing"]);
        assert_eq!(rx.alerts_sent + ry.alerts_sent, 1);
        let open = a.ports().incidents.open().await.unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].affected, 7, "both batches counted, once each");

        // Two schedule ticks at once, after the quiet period: one `resolved`.
        let tick = br#"{"detail-type":"Scheduled Event","source":"aws.events","detail":{}}"#;
        let later = T0 + 90_000 + 600_000;
        let (sa, sb) = tokio::join!(
            a.handle_at(tick, None, later),
            b.handle_at(tick, None, later)
        );
        assert_eq!(sa.unwrap().resolved + sb.unwrap().resolved, 1);
        assert_eq!(statuses(&a, &b), ["resolved"]);
        assert!(a.ports().incidents.open().await.unwrap().is_empty());
    });
}

/// The halves of split requests (`monitor::join`) on DynamoDB: one UpdateItem each, and
/// the second half to arrive, only, gets the first back to count the request.
#[test]
fn split_request_halves_join_once() {
    use apigw_doctor::monitor::state::Half;
    let Some((rt, conf)) = emulator::emulator("make state") else {
        return;
    };
    rt.block_on(async {
        let table = format!("apigw-doctor-pairs-{}", std::process::id());
        let client = || aws_sdk_dynamodb::Client::new(&conf);
        create_table(&client(), &table).await;
        let (a, b) = (
            DynamoStore::new(client(), &table),
            DynamoStore::new(client(), &table),
        );
        let j = |s: &DynamoStore, id: &'static str, h: Half, body: &'static str, counted: bool| {
            let s = s.clone();
            async move { s.join_half(id, h, body, counted, T0).await.unwrap() }
        };
        // End first, not counted: the start's writer counts it, once; a retry of its batch too.
        assert_eq!(j(&a, "r1", Half::End, "{\"e\":1}", false).await, None);
        assert_eq!(j(&a, "r1", Half::End, "{\"e\":2}", false).await, None);
        let got = j(&b, "r1", Half::Start, "{\"s\":1}", false).await;
        assert_eq!(
            got.as_deref(),
            Some("{\"e\":1}"),
            "the first body written stays"
        );
        assert_eq!(j(&b, "r1", Half::Start, "{\"s\":1}", false).await, got);
        // Start first: the end gets it back (a timeout healed without a lookup).
        assert_eq!(j(&a, "r2", Half::Start, "{\"s\":2}", false).await, None);
        assert_eq!(
            j(&b, "r2", Half::End, "{\"e\":2}", true).await.as_deref(),
            Some("{\"s\":2}")
        );
        // An end counted where it arrived: the later start counts nothing.
        assert_eq!(j(&a, "r3", Half::End, "{\"e\":3}", true).await, None);
        assert_eq!(j(&b, "r3", Half::Start, "{\"s\":3}", false).await, None);
    });
}

/// The daily latency histograms (`aws::daily_latency`) on DynamoDB: two containers add
/// counts of the same route and day with `ADD` (a day wider than one UpdateItem
/// included), and the digest's read gets their sum back, route text with `#` intact.
#[test]
fn daily_latency_counts_add_up_across_containers() {
    use apigw_doctor::engine::daily_latency::RouteDay;
    use apigw_doctor::model::daily_latency::DayLatency;
    use apigw_doctor::monitor::state::DailyLatencyStore;
    let Some((rt, conf)) = emulator::emulator("make state") else {
        return;
    };
    rt.block_on(async {
        let table = format!("apigw-doctor-latency-{}", std::process::id());
        let client = || aws_sdk_dynamodb::Client::new(&conf);
        create_table(&client(), &table).await;
        let (a, b) = (
            DynamoStore::new(client(), &table),
            DynamoStore::new(client(), &table),
        );
        let day = T0.div_euclid(86_400_000);
        let row = |buckets: u32, timeouts: u64| {
            let mut latency = DayLatency::new(day, 29_000);
            for k in 0..buckets {
                latency.add_bucket(200 + k, 2);
            }
            latency.timeouts = timeouts;
            RouteDay {
                account: "123456789012".into(),
                api_id: "a1b2c3d4e5".into(),
                stage: "prod".into(),
                route: "GET /a#b".into(),
                latency,
            }
        };
        let (ra, rb) = ([row(150, 1)], [row(10, 2)]);
        let (x, y) = tokio::join!(a.add(&ra, T0), b.add(&rb, T0));
        x.unwrap();
        y.unwrap();
        let got = a.days(day - 1, day).await.unwrap();
        assert_eq!(got.len(), 1);
        let mut want = row(150, 1).latency;
        want.merge(&row(10, 2).latency);
        assert_eq!(got[0].latency, want);
        assert_eq!(got[0].route, "GET /a#b");
        assert!(a.days(day + 1, day + 2).await.unwrap().is_empty());
    });
}

/// The error budget's counts (issue 24): two containers add to the same hour and day
/// items at once; DynamoDB's ADD keeps both. Notices are written once per version.
#[test]
fn budget_counts_add_exactly_and_notices_are_conditional() {
    use apigw_doctor::engine::budget::BudgetNotice;
    use apigw_doctor::engine::burn::{BudgetSeverity, Objective, Tally};
    use apigw_doctor::engine::slo::SloKey;
    use apigw_doctor::monitor::budget::{BudgetStore, SloCount};
    let Some((rt, conf)) = emulator::emulator("make state") else {
        return;
    };
    rt.block_on(async {
        let table = format!("apigw-doctor-budget-{}", std::process::id());
        create_table(&aws_sdk_dynamodb::Client::new(&conf), &table).await;
        let a = DynamoStore::new(aws_sdk_dynamodb::Client::new(&conf), &table);
        let b = DynamoStore::new(aws_sdk_dynamodb::Client::new(&conf), &table);
        let slo = SloKey {
            account: Some("123456789012".into()),
            api_id: "a1b2c3d4e5".into(),
            stage: "prod".into(),
            route: None,
        };
        let count = |route: &str, minute: i64, total: u64, bad: u64| SloCount {
            slo: slo.clone(),
            route: route.into(),
            minute,
            tally: Tally { total, bad },
            period_ms: Objective::default().period_ms,
        };
        let m0 = T0 / 60_000 * 60_000;
        let batch_a = vec![
            count("GET /orders", m0, 10, 1),
            count("GET /orders", m0 + 60_000, 5, 0),
        ];
        let batch_b = vec![
            count("GET /orders", m0, 7, 2),
            count("POST /orders", m0, 3, 3),
        ];
        let (ra, rb) = tokio::join!(a.add_counts(&batch_a), b.add_counts(&batch_b));
        ra.unwrap();
        rb.unwrap();
        let c = a
            .slo_counts(&slo, m0 - 3_600_000, m0 - 86_400_000)
            .await
            .unwrap();
        assert_eq!(c.routes["GET /orders"][&m0], Tally { total: 17, bad: 3 });
        assert_eq!(
            c.routes["GET /orders"][&(m0 + 60_000)],
            Tally { total: 5, bad: 0 }
        );
        assert_eq!(c.routes["POST /orders"][&m0], Tally { total: 3, bad: 3 });
        let day = m0.div_euclid(86_400_000) * 86_400_000;
        assert_eq!(c.days[&day], Tally { total: 25, bad: 6 });
        assert_eq!(c.first_minute, Some(m0));
        assert_eq!(a.active_slos(m0).await.unwrap(), std::slice::from_ref(&slo));
        assert!(a.active_slos(m0 + 120_000).await.unwrap().is_empty());

        let notice = BudgetNotice {
            id: "slo-1".into(),
            slo: slo.clone(),
            objective: Objective::default(),
            severity: BudgetSeverity::Ticket,
            opened_at: m0,
            notified_at: m0,
            version: 1,
        };
        let (pa, pb) = tokio::join!(a.put_notice(&notice, 0), b.put_notice(&notice, 0));
        assert!(pa.unwrap() ^ pb.unwrap(), "one container fires it");
        assert_eq!(
            b.open_notices().await.unwrap(),
            std::slice::from_ref(&notice)
        );
        assert!(!a.remove_notice(&slo, 2).await.unwrap());
        assert!(a.remove_notice(&slo, 1).await.unwrap());
        assert!(b.open_notices().await.unwrap().is_empty());
    });
}
