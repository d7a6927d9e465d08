//! Healing split requests through the handler: a timeout whose start went to another
//! batch is looked up (FilterLogEvents through `LogLookup`), within the budget and the
//! deadline; when it cannot be, the finding still goes out, undiagnosed, and says so.

#[path = "common/replay.rs"]
mod replay;

use apigw_doctor::lambda::config::Config;
use apigw_doctor::lambda::wiring::Recorded;
use apigw_doctor::model::kind::Kind;
use apigw_doctor::monitor::lookup::{FetchedEvent, LogLookup, MemoryLookup};
use apigw_doctor::monitor::recorder::Published;
use apigw_doctor::monitor::InvocationSummary;
use apigw_doctor::render::words::diagnosis::Words;
use replay::{Batch, Event, T0};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

const GROUP: &str = "API-Gateway-Execution-Logs_abc123/prod";
const STREAM: &str = "0123456789abcdef0123456789abcdef";
const FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:orders";

fn id(n: u32) -> String {
    format!("0000{n:04x}-0000-4000-8000-000000000000")
}

fn ev(serial: u64, ts: i64, rid: &str, text: &str) -> Event {
    Event {
        id: format!("3{serial:055}"),
        ts,
        message: format!("({rid}) {text}"),
    }
}

/// `n` timeouts: their start lines in the log group only, their end in the batch.
fn split_timeouts(n: u32) -> (Arc<MemoryLookup>, Vec<u8>) {
    let mem = Arc::new(MemoryLookup::default());
    let mut end = Vec::new();
    for i in 0..n {
        let rid = id(i);
        let t = T0 + i64::from(i) * 1000;
        let uri = format!(
            "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/{FUNCTION}/invocations"
        );
        let start = [
            ev(u64::from(i) * 10 + 1, t, &rid, "API Key authorized because method 'POST /orders/{orderId}' does not require API Key. Request will not contribute to throttle or quota limits"),
            ev(u64::from(i) * 10 + 2, t, &rid, "HTTP Method: POST, Resource Path: /orders/1"),
            ev(u64::from(i) * 10 + 3, t + 1, &rid, &format!("Sending request to {uri}")),
        ];
        let stop = [
            ev(
                u64::from(i) * 10 + 4,
                t + 29_004,
                &rid,
                "Execution failed due to a timeout error",
            ),
            ev(
                u64::from(i) * 10 + 5,
                t + 29_004,
                &rid,
                "Method completed with status: 504",
            ),
        ];
        for e in start.iter().chain(&stop) {
            mem.add(
                GROUP,
                FetchedEvent {
                    id: e.id.clone(),
                    timestamp: e.ts,
                    message: e.message.clone(),
                    log_stream: STREAM.into(),
                },
            );
        }
        end.extend(stop);
    }
    let batch = Batch {
        group: GROUP.into(),
        stream: STREAM.into(),
        events: end,
        ready: 0,
    };
    (mem, replay::event(&batch))
}

fn monitor(env: &[(&str, &str)], mem: &Arc<MemoryLookup>) -> Recorded {
    let env: std::collections::HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let lookup: Arc<dyn LogLookup> = Arc::new(Arc::clone(mem));
    Recorded::new(&Config::from_lookup(|k| env.get(k).cloned()).unwrap()).with_lookup(lookup)
}

fn handle(
    m: &Recorded,
    event: &[u8],
    deadline: Option<Instant>,
) -> (InvocationSummary, Vec<Published>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let s = rt
        .block_on(m.handle_at(event, deadline, T0 + 120_000))
        .unwrap();
    (s, m.take())
}

fn skipped_metric(p: &[Published]) -> f64 {
    p.iter()
        .filter_map(|x| match x {
            Published::Metrics(b) => Some(b),
            _ => None,
        })
        .flat_map(|b| &b.data)
        .filter(|d| d.name == "LookupsSkipped")
        .map(|d| d.values[0])
        .sum()
}

fn diagnosed(s: &InvocationSummary) -> usize {
    s.findings
        .iter()
        .filter(|f| f.kind == Kind::Timeout && f.invoked == Some(true) && !f.route.is_unknown())
        .count()
}

fn undiagnosed_and_saying_so(s: &InvocationSummary) -> usize {
    s.findings
        .iter()
        .filter(|f| {
            f.kind == Kind::Timeout
                && f.route.is_unknown()
                && Words::of(f)
                    .cannot_show
                    .iter()
                    .any(|c| c.contains("arrived in another batch"))
        })
        .count()
}

#[test]
fn orphans_are_healed_and_a_redelivery_is_not_looked_up_again() {
    let (mem, event) = split_timeouts(3);
    let m = monitor(&[], &mem);
    let (s, p) = handle(&m, &event, None);
    assert_eq!(
        (s.analysis.timeouts, diagnosed(&s)),
        (3, 3),
        "{:?}",
        s.healing
    );
    assert_eq!((s.healing.lookups, s.healing.healed), (3, 3));
    assert_eq!(mem.calls.load(Ordering::Relaxed), 3);
    assert_eq!(skipped_metric(&p), 0.0);
    // The healed timeout counts in its route's metric, in the minute it started.
    let on_route = p.iter().any(|x| matches!(x, Published::Metrics(b) if b.data.iter().any(|d| d.name == "IntegrationTimeouts" && d.values[0] >= 1.0 && d.dimensions.iter().any(|(k, v)| *k == "Route" && v == "POST /orders/{orderId}"))));
    assert!(on_route);
    // The same batch again (at-least-once): nothing published twice, nothing looked up again.
    let (again, p) = handle(&m, &event, None);
    assert_eq!((again.analysis.timeouts, again.duplicate_events), (0, 6));
    assert_eq!(again.healing.lookups, 0);
    assert_eq!(mem.calls.load(Ordering::Relaxed), 3);
    assert!(!p.iter().any(|x| matches!(x, Published::Alert(_))));
}

#[test]
fn past_the_budget_findings_go_out_undiagnosed_and_are_counted() {
    let (mem, event) = split_timeouts(5);
    let m = monitor(&[("LOG_LOOKUPS_MAX", "2")], &mem);
    let (s, p) = handle(&m, &event, None);
    assert_eq!(s.analysis.timeouts, 5);
    assert_eq!(mem.calls.load(Ordering::Relaxed), 2);
    assert_eq!((diagnosed(&s), undiagnosed_and_saying_so(&s)), (2, 3));
    assert_eq!(s.healing.skipped, 3);
    assert_eq!(skipped_metric(&p), 3.0);
}

#[test]
fn the_deadline_bounds_the_lookups() {
    let (mem, event) = split_timeouts(2);
    *mem.delay.lock().unwrap() = Some(Duration::from_secs(60));
    let m = monitor(&[], &mem);
    let started = Instant::now();
    // Lookups stop 10 s before the deadline: here, half a second from now.
    let (s, p) = handle(
        &m,
        &event,
        Some(Instant::now() + Duration::from_millis(10_500)),
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!((s.analysis.timeouts, undiagnosed_and_saying_so(&s)), (2, 2));
    assert_eq!(skipped_metric(&p), 2.0);
    assert!(p.iter().any(|x| matches!(x, Published::Alert(_))));
}

#[test]
fn a_failing_lookup_degrades_the_diagnosis_only() {
    let (mem, event) = split_timeouts(2);
    mem.fail.store(true, Ordering::Relaxed);
    let m = monitor(&[], &mem);
    let (s, p) = handle(&m, &event, None);
    assert_eq!((s.analysis.timeouts, s.healing.failed), (2, 2));
    assert_eq!(undiagnosed_and_saying_so(&s), 2);
    assert_eq!(skipped_metric(&p), 0.0);
    let timeouts: f64 = p
        .iter()
        .filter_map(|x| match x {
            Published::Metrics(b) => Some(b),
            _ => None,
        })
        .flat_map(|b| &b.data)
        .filter(|d| {
            d.name == "IntegrationTimeouts" && !d.dimensions.iter().any(|(k, _)| *k == "Route")
        })
        .map(|d| d.values[0])
        .sum();
    assert_eq!(timeouts, 2.0);
    assert!(p.iter().any(|x| matches!(x, Published::Alert(_))));
}

#[test]
fn log_lookup_off_never_calls() {
    let (mem, event) = split_timeouts(2);
    let m = monitor(&[("LOG_LOOKUP", "off")], &mem);
    let (s, _) = handle(&m, &event, None);
    assert_eq!(s.analysis.timeouts, 2);
    assert_eq!((s.healing.orphans, s.healing.lookups), (0, 0));
    assert_eq!(mem.calls.load(Ordering::Relaxed), 0);
}
