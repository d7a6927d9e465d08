//! The error budget through the handler (issue 24): held-out replays of access logs, one
//! batch a minute and the schedule's tick every minute, under the default objective
//! (99.9 % over 30 days). A route at 0.4 % timeouts for 3 days (burn rate 4) gets one
//! ticket and no page; a 20 % burst for 10 minutes after a quiet day gets one page and
//! its resolve; K = 4 containers sharing the state give the same notices, and the counts
//! they keep are the replay's ground truth.

mod common;

use std::sync::Arc;

use apigw_doctor::engine::slo::SloKey;
use apigw_doctor::lambda::config::Config;
use apigw_doctor::lambda::wiring::Recorded;
use apigw_doctor::monitor::budget::BudgetStore;
use apigw_doctor::monitor::state::MemoryStore;
use common::subscription;
use common::vendor_schemas::{assert_valid, schema};
use common::{alerts, schedule};

/// 2026-11-25T00:00:00Z.
const T0: i64 = 1_795_564_800_000;
const MINUTE: i64 = 60_000;
const API: &str = "a1b2c3d4e5";
const PER_MINUTE: u64 = 25;

fn config() -> Config {
    let env = [
        ("AWS_REGION", "us-east-1"),
        (
            "ALERT_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:apigw-doctor-alerts",
        ),
        ("API_NAMES", "a1b2c3d4e5=Orders API"),
    ];
    Config::from_lookup(|k| {
        env.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
    })
    .unwrap()
}

/// Minute `m`'s batch: PER_MINUTE requests on `GET /orders`, the first `bad` of them
/// integration timeouts (504), the others 200 in 80 ms.
fn batch(m: i64, bad: u64) -> Vec<u8> {
    let events: Vec<serde_json::Value> = (0..PER_MINUTE)
        .map(|k| {
            let ts = T0 + m * MINUTE + k as i64 * 2000;
            let (status, lat, err) = if k < bad {
                ("504", "29001", "INTEGRATION_TIMEOUT")
            } else {
                ("200", "80", "-")
            };
            let msg = serde_json::json!({"requestId": format!("{m:08x}-0000-4000-8000-{k:012x}"), "apiId": API,
                "stage": "prod", "httpMethod": "GET", "resourcePath": "/orders", "status": status,
                "integrationLatency": lat, "responseLatency": lat, "errorResponseType": err,
                "integrationErrorMessage": "-"});
            serde_json::json!({"id": format!("{:056}", (m as u64) * 1000 + k), "timestamp": ts, "message": msg.to_string()})
        })
        .collect();
    subscription::lambda_event(&format!("/aws/apigateway/{API}/prod/access"), "s", &events)
}

/// One budget notice as sent: (minute of the tick, status, severity, notice id, the
/// pagers' bodies).
type Sent = (i64, String, String, String, serde_json::Value);

/// Replays minutes `0..minutes` through `k` containers sharing one store: minute m's
/// batch arrives at m + 1 min + 10 s (container m mod k), the tick at m + 1 min + 30 s
/// (container (m + 1) mod k) when `tick(m)`. Returns the notices sent, in order.
fn replay(
    k: usize,
    minutes: i64,
    bad: impl Fn(i64) -> u64,
    tick: impl Fn(i64) -> bool,
) -> (Vec<Sent>, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::default());
    let cfg = config();
    let monitors: Vec<Recorded> = (0..k).map(|_| Recorded::shared(&cfg, &store)).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let mut sent = Vec::new();
    for m in 0..minutes {
        let at = T0 + (m + 1) * MINUTE;
        let c = &monitors[m as usize % k];
        rt.block_on(c.monitor.handle_at(&batch(m, bad(m)), None, at + 10_000))
            .unwrap();
        c.take();
        if !tick(m) {
            continue;
        }
        let c = &monitors[(m as usize + 1) % k];
        rt.block_on(c.monitor.handle_at(&schedule(), None, at + 30_000))
            .unwrap();
        for a in alerts(&c.take()) {
            let v: serde_json::Value = serde_json::from_str(&a.automation).unwrap();
            if v["schema"] == "apigw-doctor/budget/1" {
                sent.push((
                    m + 1,
                    v["status"].as_str().unwrap().to_owned(),
                    v["severity"].as_str().unwrap().to_owned(),
                    v["notice_id"].as_str().unwrap().to_owned(),
                    serde_json::to_value(&a.pages).unwrap(),
                ));
            }
        }
    }
    (sent, store)
}

fn kinds(sent: &[Sent]) -> Vec<(&str, &str)> {
    sent.iter()
        .map(|(_, s, v, _, _)| (s.as_str(), v.as_str()))
        .collect()
}

/// 0.4 %: one timeout every 250 requests (every 10th minute of 25).
fn steady_bad(m: i64) -> u64 {
    u64::from(m % 10 == 0)
}

#[test]
fn three_days_at_0_4_percent_give_one_ticket_and_no_page() {
    let minutes = 3 * 24 * 60;
    let (one, store) = replay(1, minutes, steady_bad, |_| true);
    assert_eq!(kinds(&one), [("firing", "ticket")], "{one:?}");
    // The counts the state keeps are the replay's: 25 a minute, 1 bad in 10 minutes.
    let slo = SloKey {
        account: Some("123456789012".into()),
        api_id: API.into(),
        stage: "prod".into(),
        route: None,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let counts = rt
        .block_on(store.slo_counts(&slo, T0, T0 - 40 * 24 * 60 * MINUTE))
        .unwrap();
    let total: u64 = counts.days.values().map(|t| t.total).sum();
    let bad: u64 = counts.days.values().map(|t| t.bad).sum();
    assert_eq!(
        (total, bad),
        (minutes as u64 * PER_MINUTE, minutes as u64 / 10)
    );
    let (four, _) = replay(4, minutes, steady_bad, |_| true);
    assert_eq!(four, one, "K = 4 containers give the same notices");
}

#[test]
fn a_ten_minute_burst_at_20_percent_pages_once_and_resolves_after_it() {
    // Three quiet days (the longest window: with less history, the 3 days / 6 h ticket
    // rule reads the burst as a day's burn), then 10 minutes with 5 of 25 requests
    // timing out, then 2 h.
    let start = 3 * 24 * 60;
    let bad = |m: i64| {
        if (start..start + 10).contains(&m) {
            5
        } else {
            0
        }
    };
    let ticks = |m: i64| m >= start - 60;
    let (one, _) = replay(1, start + 120, bad, ticks);
    assert_eq!(
        kinds(&one),
        [("firing", "page"), ("resolved", "page")],
        "{one:?}"
    );
    assert_eq!(one[0].3, one[1].3, "one dedup key from trigger to resolve");
    // The tick of minute m + 1 reads minutes m - 58..m (1,475 requests in the 1 h
    // window): after burst minute j it holds 5 (j + 1) bad, a burn rate of 3.39 (j + 1),
    // over 14.4 from j = 4 on (the 5-minute window is at 200). So the tick of minute
    // start + 5 fires.
    let (fired_at, resolved_at) = (one[0].0, one[1].0);
    assert_eq!(fired_at, start + 5);
    // It resolves when the 5-minute window holds no burst minute: the tick's minute
    // (empty yet) and the 4 before it all after minute start + 9.
    assert_eq!(resolved_at, start + 10 + 4);
    // The pagers get a trigger and a resolve on one dedup key / alias, valid for the
    // vendors' schemas.
    let (pd, og_create, og_close) = (
        schema("pagerduty/events-v2-enqueue.schema.json"),
        schema("opsgenie/create-alert.schema.json"),
        schema("opsgenie/close-alert.schema.json"),
    );
    for (_, status, _, id, pages) in &one {
        assert_valid(&pd, status, &pages["pagerduty"]);
        assert_eq!(pages["pagerduty"]["dedup_key"], id.as_str());
        let og = &pages["opsgenie"];
        if status == "resolved" {
            assert_eq!(pages["pagerduty"]["event_action"], "resolve");
            assert_valid(&og_close, status, &og["body"]);
            assert!(og["path"].as_str().unwrap().contains(id.as_str()));
        } else {
            assert_eq!(pages["pagerduty"]["payload"]["severity"], "critical");
            assert_valid(&og_create, status, &og["body"]);
            assert_eq!(og["body"]["alias"], id.as_str());
            assert_eq!(og["body"]["priority"], "P1");
        }
    }
    let (four, _) = replay(4, start + 120, bad, ticks);
    assert_eq!(four, one, "K = 4 containers give the same notices");
}

/// A notifier whose every send fails (SNS down).
struct Down;

impl apigw_doctor::monitor::outputs::Notifier for Down {
    fn name(&self) -> &'static str {
        "sns"
    }
    fn send<'a>(
        &'a self,
        r: &'a apigw_doctor::render::alert::Rendered,
    ) -> apigw_doctor::monitor::outputs::OutputFuture<'a, bool> {
        let id = r.id.clone();
        Box::pin(async move {
            Err(apigw_doctor::monitor::outputs::PublishError::Alert {
                notifier: "sns",
                alert_id: id,
                message: "down".into(),
            })
        })
    }
}

#[test]
fn a_notice_whose_send_fails_is_undone_and_sent_by_the_next_tick() {
    // Two hours at 20 % timeouts: the 1 h / 5 min page rule fires at the first tick
    // that watches an hour.
    let store = Arc::new(MemoryStore::default());
    let cfg = config();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let up = Recorded::shared(&cfg, &store);
    for m in 0..60 {
        rt.block_on(
            up.monitor
                .handle_at(&batch(m, 5), None, T0 + (m + 1) * MINUTE),
        )
        .unwrap();
    }
    up.take();
    let recorder = Arc::new(apigw_doctor::monitor::recorder::Recorder::default());
    let mut ports = apigw_doctor::monitor::Ports::shared_memory(&store, &recorder);
    ports.notifiers = vec![Arc::new(Down)];
    let down = Recorded::with_ports(&cfg, ports, recorder);
    let at = T0 + 60 * MINUTE + 30_000;
    assert!(
        rt.block_on(down.monitor.handle_at(&schedule(), None, at))
            .is_err(),
        "the tick fails, so that it is retried"
    );
    let open = rt.block_on(store.open_notices()).unwrap();
    assert!(open.is_empty(), "the unsent firing is undone: {open:?}");
    rt.block_on(up.monitor.handle_at(&schedule(), None, at + MINUTE))
        .unwrap();
    let sent: Vec<String> = alerts(&up.take())
        .iter()
        .map(|a| serde_json::from_str::<serde_json::Value>(&a.automation).unwrap())
        .filter(|v| v["schema"] == "apigw-doctor/budget/1")
        .map(|v| v["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sent, ["firing"]);
    assert_eq!(rt.block_on(store.open_notices()).unwrap().len(), 1);
}
