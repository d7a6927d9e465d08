//! Drift toward the limit, end to end (issue 24, "done when"): a route whose p95 climbs
//! from 8 s to 22 s over 10 days against a 29 s limit gets exactly one drift notice
//! naming the projected date; 30 flat noisy routes get none. Through the monitor (log
//! batches on their days, schedule ticks at simulated times, one shared store, and
//! K = 4 monitors sharing it) and through the CLI on the same logs.

mod common;

use std::sync::Arc;

use apigw_doctor::lambda::config::Config;
use apigw_doctor::lambda::wiring::Recorded;
use apigw_doctor::monitor::state::MemoryStore;
use common::alerts;
use common::rest_batch::{rid, Batch, Outcome};

/// 2026-11-20 as days since the epoch, and its midnight in epoch ms.
const DAY0: i64 = 20_777;
const DAY_MS: i64 = 86_400_000;
const REQUESTS_PER_DAY: u64 = 60;

/// A deterministic noise source (xorshift), the same on every run.
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One day's batch of every route: `level(route, day)` is the day's p95 target; each
/// request lands between 70 % and 100 % of it.
fn day_batch(day: i64, routes: u64, level: &dyn Fn(u64, i64) -> f64, rng: &mut Rng) -> Vec<u8> {
    let mut b = Batch::new("a1b2c3d4e5", day as u64);
    let t0 = (DAY0 + day) * DAY_MS + 12 * 3_600_000;
    for route in 0..routes {
        let target = level(route, day);
        for k in 0..REQUESTS_PER_DAY {
            let latency = (target * (0.7 + 0.3 * rng.unit())) as u64;
            let n = (day as u64 * 1_000 + route) * 1_000 + k;
            let path = format!("/r{route}/items");
            let template = format!("/r{route}/items");
            let t = t0 + (route * REQUESTS_PER_DAY + k) as i64 * 1_000;
            b.request(
                &rid(n),
                t,
                "GET",
                &template,
                &path,
                "orders-api",
                Outcome::Ok(latency),
            );
        }
    }
    b.event()
}

/// Route 0 drifts from 8 s to 22 s over days 0–9; `flat` more routes stay level, noisy.
fn batches(days: i64, flat: u64) -> Vec<(i64, Vec<u8>)> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut noise = Rng(42);
    let levels: Vec<Vec<f64>> = (0..=flat)
        .map(|route| {
            (0..days)
                .map(|d| match route {
                    // 8 s to 22 s, ± 3 % day to day.
                    0 => (8_000.0 + d as f64 * 14_000.0 / 9.0) * (0.97 + 0.06 * noise.unit()),
                    // Level, ± 25 % day to day.
                    _ => (2_000.0 + route as f64 * 500.0) * (0.75 + 0.5 * noise.unit()),
                })
                .collect()
        })
        .collect();
    (0..days)
        .map(|d| {
            let level = |route: u64, day: i64| levels[route as usize][day as usize];
            let at = (DAY0 + d) * DAY_MS + 18 * 3_600_000;
            (at, day_batch(d, flat + 1, &level, &mut rng))
        })
        .collect()
}

fn config(env: &[(&str, &str)]) -> Config {
    let env: std::collections::HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Config::from_lookup(|k| env.get(k).cloned()).unwrap()
}

fn tick() -> Vec<u8> {
    br#"{"detail-type":"Scheduled Event","source":"aws.events","detail":{}}"#.to_vec()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The drift digests among what the monitors published, as automation JSON.
fn digests(monitors: &[Recorded]) -> Vec<(serde_json::Value, String)> {
    let mut out = Vec::new();
    for m in monitors {
        for a in alerts(&m.take()) {
            let j: serde_json::Value = serde_json::from_str(&a.automation).unwrap();
            if j["schema"] == "apigw-doctor/drift/1" {
                assert!(a.pages.is_none(), "a digest never pages");
                out.push((j, a.email.clone()));
            }
        }
    }
    out
}

/// Feeds the batches round-robin to `monitors`, then ticks each at the given times of
/// day 10 (ms after its midnight); returns the digests and the routes each tick named.
fn replay(monitors: &[Recorded], ticks: &[i64]) -> (Vec<(serde_json::Value, String)>, usize) {
    let rt = rt();
    for (k, (at, batch)) in batches(10, 30).into_iter().enumerate() {
        let m = &monitors[k % monitors.len()];
        let s = rt.block_on(m.handle_at(&batch, None, at)).unwrap();
        assert_eq!(s.state_errors, 0);
        assert_eq!(s.analysis.requests, 31 * REQUESTS_PER_DAY);
    }
    digests(monitors);
    let mut named = 0;
    for &t in ticks {
        for m in monitors {
            let s = rt
                .block_on(m.handle_at(&tick(), None, (DAY0 + 10) * DAY_MS + t))
                .unwrap();
            named += s.drift_routes;
        }
    }
    (digests(monitors), named)
}

const HOUR: i64 = 3_600_000;

#[test]
fn one_drifting_route_among_thirty_flat_ones_gets_one_digest_naming_its_date() {
    let store = Arc::new(MemoryStore::default());
    let m = [Recorded::shared(&config(&[]), &store)];
    // Before 09:00 UTC nothing; at 09:00 the digest; later ticks do not repeat it.
    let (found, named) = replay(
        &m,
        &[
            8 * HOUR + 59 * 60_000,
            9 * HOUR,
            9 * HOUR + 60_000,
            23 * HOUR,
        ],
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(named, 1);
    let (auto, email) = &found[0];
    let routes = auto["routes"].as_array().unwrap();
    assert_eq!(routes.len(), 1, "only the drifting route: {auto}");
    assert_eq!(routes[0]["route"], "GET /r0/items");
    assert_eq!(routes[0]["days"].as_array().unwrap().len(), 10);
    // 80 % of 29 s is 23.2 s: about a day after the last day (2026-11-29).
    let on = routes[0]["crosses_on"].as_str().unwrap();
    assert!(["2026-11-30", "2026-12-01"].contains(&on), "{on}");
    assert!(email.contains(&format!("on {on}")), "{email}");
    let first = routes[0]["days"][0]["p95_ms"].as_u64().unwrap();
    let last = routes[0]["days"][9]["p95_ms"].as_u64().unwrap();
    assert!(
        (7_500..=8_500).contains(&first) && (21_000..=22_500).contains(&last),
        "{first} {last}"
    );
}

#[test]
fn four_monitors_sharing_one_store_send_the_same_single_digest() {
    let one = Arc::new(MemoryStore::default());
    let (alone, _) = replay(&[Recorded::shared(&config(&[]), &one)], &[9 * HOUR]);
    let store = Arc::new(MemoryStore::default());
    let four: Vec<Recorded> = (0..4)
        .map(|_| Recorded::shared(&config(&[]), &store))
        .collect();
    let (found, named) = replay(&four, &[9 * HOUR, 9 * HOUR + 60_000, 10 * HOUR]);
    assert_eq!((found.len(), named), (1, 1));
    assert_eq!(found[0].0, alone[0].0, "K = 4 counts what one counts");
}

#[test]
fn off_or_before_the_hour_sends_nothing() {
    let store = Arc::new(MemoryStore::default());
    let off = [Recorded::shared(
        &config(&[("DRIFT_DIGEST", "off")]),
        &store,
    )];
    assert_eq!(replay(&off, &[9 * HOUR, 12 * HOUR]).0.len(), 0);
    let store = Arc::new(MemoryStore::default());
    let late = [Recorded::shared(
        &config(&[("DRIFT_DIGEST_HOUR", "15")]),
        &store,
    )];
    let (found, _) = replay(&late, &[9 * HOUR, 14 * HOUR + 59 * 60_000]);
    assert_eq!(found.len(), 0);
}

// ---------------------------------------------------------------- the CLI

/// The batches written as files, as the CLI reads subscription events.
fn log_files(tag: &str, days: i64, flat: u64) -> Vec<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("apigw-doctor-drift-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    batches(days, flat)
        .into_iter()
        .enumerate()
        .map(|(k, (_, batch))| {
            let p = dir.join(format!("day-{k:02}.json"));
            std::fs::write(&p, batch).unwrap();
            p
        })
        .collect()
}

fn cli(args: &[&str], files: &[std::path::PathBuf]) -> String {
    let out = assert_cmd::Command::cargo_bin("apigw-doctor")
        .unwrap()
        .args(args)
        .args(files)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

#[test]
fn the_cli_names_the_drifting_route_and_not_the_thirty_flat_ones() {
    let files = log_files("thirty", 10, 30);
    let v: serde_json::Value =
        serde_json::from_str(&cli(&["analyze", "--format", "json"], &files)).unwrap();
    let drift = v["drift"].as_array().expect("a drift list");
    assert_eq!(drift.len(), 31, "every route has 10 busy days");
    let drifting: Vec<&serde_json::Value> =
        drift.iter().filter(|d| d["drifting"] == true).collect();
    assert_eq!(drifting.len(), 1);
    assert_eq!(drifting[0]["route"], "GET /r0/items");
    let on = drifting[0]["crosses_on"].as_str().unwrap();
    assert!(["2026-11-30", "2026-12-01"].contains(&on), "{on}");
    assert_eq!(drifting[0]["days"].as_array().unwrap().len(), 10);
    // Under 7 days of logs: no section at all.
    let short = log_files("short", 6, 2);
    let v: serde_json::Value =
        serde_json::from_str(&cli(&["analyze", "--format", "json"], &short)).unwrap();
    assert!(v.get("drift").is_none());
    assert!(!cli(&["analyze"], &short).contains("DRIFT TOWARD THE LIMIT"));
}

/// The section in each rendering, on one drifting and two flat routes.
#[test]
fn drift_section_renderings() {
    let files = log_files("three", 10, 2);
    let section = |text: &str, start: &str, end: &str| -> String {
        let from = text
            .find(start)
            .unwrap_or_else(|| panic!("{start} in {text}"));
        let rest = &text[from..];
        rest[..rest[start.len()..]
            .find(end)
            .map_or(rest.len(), |k| k + start.len())]
            .to_owned()
    };
    let text = cli(&["analyze"], &files);
    insta::assert_snapshot!(
        "drift-text",
        section(&text, "DRIFT TOWARD THE LIMIT", "\n\n\n")
    );
    let md = cli(&["analyze", "--format", "md"], &files);
    insta::assert_snapshot!(
        "drift-markdown",
        section(&md, "## Drift toward the limit", "\n## ")
    );
    let html = cli(&["analyze", "--format", "html"], &files);
    insta::assert_snapshot!(
        "drift-html",
        section(&html, "<h2 id=\"drift\">", "</table>")
    );
    let v: serde_json::Value =
        serde_json::from_str(&cli(&["analyze", "--format", "json"], &files)).unwrap();
    insta::assert_json_snapshot!("drift-json", v["drift"]);
}

// ---------------------------------------------------------------- a failing store

/// A daily latency store that always fails.
struct Failing;

impl apigw_doctor::monitor::state::DailyLatencyStore for Failing {
    fn add<'a>(
        &'a self,
        _rows: &'a [apigw_doctor::engine::daily_latency::RouteDay],
        _now: i64,
    ) -> apigw_doctor::monitor::state::StateFuture<'a, ()> {
        Box::pin(async { Err(down()) })
    }

    fn days(
        &self,
        _first: i64,
        _last: i64,
    ) -> apigw_doctor::monitor::state::StateFuture<
        '_,
        Vec<apigw_doctor::engine::daily_latency::RouteDay>,
    > {
        Box::pin(async { Err(down()) })
    }
}

fn down() -> apigw_doctor::monitor::state::StateError {
    apigw_doctor::monitor::state::StateError::Dynamo {
        op: "UpdateItem",
        table: "t".into(),
        message: "throttled".into(),
    }
}

#[test]
fn a_failing_store_costs_the_count_and_the_digest_never_the_alert() {
    use apigw_doctor::monitor::recorder::Recorder;
    use apigw_doctor::monitor::Ports;
    let recorder = Arc::new(Recorder::default());
    let ports = Ports::in_memory(&recorder).with_daily_latency(Some(Arc::new(Failing)));
    let m = Recorded::with_ports(&config(&[]), ports, recorder);
    let mut b = Batch::new("a1b2c3d4e5", 1);
    let t0 = DAY0 * DAY_MS + 12 * HOUR;
    for k in 0..3 {
        b.request(
            &rid(k),
            t0 + k as i64 * 1_000,
            "GET",
            "/slow",
            "/slow",
            "orders-api",
            Outcome::Timeout,
        );
    }
    let rt = rt();
    let s = rt
        .block_on(m.handle_at(&b.event(), None, t0 + 60_000))
        .unwrap();
    assert_eq!(
        (s.alerts_sent, s.state_errors),
        (1, 1),
        "the alert went, the count did not"
    );
    let statuses: Vec<serde_json::Value> = alerts(&m.take())
        .iter()
        .map(|a| {
            serde_json::from_str::<serde_json::Value>(&a.automation).unwrap()["status"].clone()
        })
        .collect();
    assert_eq!(statuses, ["firing"]);
    // The digest cannot read its days: none sent, the claim given back for the next tick.
    let at = (DAY0 + 1) * DAY_MS + 9 * HOUR;
    let s = rt.block_on(m.handle_at(&tick(), None, at)).unwrap();
    assert_eq!((s.drift_routes, s.state_errors), (0, 1));
    let s = rt
        .block_on(m.handle_at(&tick(), None, at + 60_000))
        .unwrap();
    assert_eq!(s.state_errors, 1, "the next tick tried again");
}
