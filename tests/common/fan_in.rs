//! The replay of issue 25: N accounts × M APIs fanned in through a central Kinesis
//! stream, read by K concurrent containers sharing their state (the DynamoDB table),
//! some invocations retried on another container; measured against the generator's
//! truth per account: every metric cell, both roll-ups, one incident per (account, API,
//! stage, backend, kind) with its exact count, one firing each, no account mixed in
//! another's alert.
//!
//! Every account runs the same APIs: the same API ids, stages, stream names and event
//! ids (event ids are not documented as unique across accounts), its own request ids.
//!
//! Shared by `tests/replay_accounts.rs` (CI size) and `examples/replay_accounts.rs`
//! (`make replay-accounts`, the README's figures).
#![allow(dead_code)]

#[path = "counted_store.rs"]
mod counted_store;
#[path = "kinesis.rs"]
mod kinesis;
#[path = "replay.rs"]
pub mod replay;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use apigw_doctor::lambda::config::Config;
use apigw_doctor::lambda::wiring::Recorded;
use apigw_doctor::monitor::recorder::{Published, Recorder};
use apigw_doctor::monitor::state::IncidentStore;
use apigw_doctor::monitor::Ports;
use counted_store::CountedStore;
use replay::{Batch, Outcome, Rng, Scenario, Truth};

/// The monitoring account (the doctor's own).
pub const HOME: &str = "999999999999";

#[derive(Debug, Clone)]
pub struct FanIn {
    /// One account's traffic (its APIs, stages, minutes, rate, shares, streams).
    pub base: Scenario,
    pub accounts: usize,
    /// Concurrent containers: shards × ParallelizationFactor, each taking its share of
    /// the partition keys in order.
    pub k: usize,
    /// The event source mapping's BatchSize and MaximumBatchingWindowInSeconds (template).
    pub batch_size: usize,
    pub batch_window_ms: i64,
    /// Share of invocations Lambda runs again (a timeout or error after the work was
    /// done); the retry lands on any container.
    pub retry: f64,
    pub extra_env: Vec<(String, String)>,
}

impl FanIn {
    /// CI size: 4 accounts × 5 APIs, 20 minutes, ~5,000 requests.
    pub fn ci(k: usize) -> FanIn {
        let mut base = Scenario::ci();
        base.apis = 5;
        base.stages = 1;
        base.minutes = 20;
        base.per_minute = 12;
        base.timeout_share = 0.03;
        base.near_share = 0.01;
        base.error_share = 0.01;
        FanIn {
            base,
            accounts: 4,
            k,
            batch_size: 100,
            batch_window_ms: 5_000,
            retry: 0.05,
            // As many as each API has routes: every route keeps its name only if the cap
            // counts each account's API stage apart (the same id in two accounts).
            extra_env: vec![("MAX_ROUTE_METRICS".into(), "5".into())],
        }
    }
}

pub fn account_id(a: usize) -> String {
    format!("{:012}", 210_000_000_000u64 + a as u64 * 10_101_010)
}

/// Each account's traffic: the same APIs and streams, its own seed and request ids.
pub fn traffic(f: &FanIn) -> Vec<(Scenario, replay::Traffic)> {
    (0..f.accounts)
        .map(|a| {
            let mut s = f.base.clone();
            s.seed = f.base.seed.wrapping_add(a as u64 * 7_919);
            s.account = account_id(a);
            s.id_base = 0xa000_0000 | (a as u64) << 16;
            let t = replay::generate(&s);
            (s, t)
        })
        .collect()
}

/// One Kinesis invocation: (container, delivery time, records as (owner, batch)).
pub struct Invocation<'a> {
    pub container: usize,
    pub at: i64,
    pub records: Vec<(&'a str, &'a Batch)>,
    pub retry: bool,
}

/// The invocations in delivery order. A log stream's batches go, in order, to the
/// consumer of its partition key (`Distribution: ByLogStream`); a consumer's records form
/// invocations of at most `batch_size`, closed `batch_window_ms` after the first.
pub fn invocations<'a>(f: &FanIn, batches: &'a [(String, Vec<Batch>)]) -> Vec<Invocation<'a>> {
    let mut per_consumer: Vec<Vec<(&str, &Batch)>> = vec![Vec::new(); f.k];
    for (owner, bs) in batches {
        for b in bs {
            let key = owner.bytes().chain(b.group.bytes()).chain(b.stream.bytes());
            let c = (apigw_doctor::render::alert::fnv1a(key) % f.k as u64) as usize;
            per_consumer[c].push((owner.as_str(), b));
        }
    }
    let mut rng = Rng::new(f.base.seed ^ 0x4B1E_5150);
    let mut out = Vec::new();
    for (c, mut records) in per_consumer.into_iter().enumerate() {
        records.sort_by_key(|(o, b)| (b.ready, *o, b.stream.clone()));
        let mut i = 0;
        while i < records.len() {
            let first = records[i].1.ready;
            let mut j = i;
            while j < records.len()
                && j - i < f.batch_size
                && records[j].1.ready <= first + f.batch_window_ms
            {
                j += 1;
            }
            let at = if j - i == f.batch_size {
                records[j - 1].1.ready
            } else {
                first + f.batch_window_ms
            };
            let records: Vec<_> = records[i..j].to_vec();
            if rng.chance(f.retry) {
                out.push(Invocation {
                    container: rng.below(f.k as u64) as usize,
                    at: at + 500,
                    records: records.clone(),
                    retry: true,
                });
            }
            out.push(Invocation {
                container: c,
                at,
                records,
                retry: false,
            });
            i = j;
        }
    }
    out.sort_by_key(|v| (v.at, v.retry, v.container));
    out
}

/// The Lambda event, and the Kinesis PUT payload units (25 KB each) of its records.
pub fn event(v: &Invocation<'_>) -> (Vec<u8>, u64) {
    let mut units = 0;
    let records = v.records.iter().enumerate().map(|(n, (owner, b))| {
        let events: Vec<serde_json::Value> = b
            .events
            .iter()
            .map(|e| serde_json::json!({"id": e.id, "timestamp": e.ts, "message": e.message}))
            .collect();
        let r = kinesis::record(owner, &b.group, &b.stream, &events, n as u64);
        let bytes = r["kinesis"]["data"].as_str().map_or(0, str::len) as u64 * 3 / 4;
        units += bytes.div_ceil(25 * 1024).max(1);
        r
    });
    let event = kinesis::event(records.collect());
    (event, units)
}

/// The figures of one run.
#[derive(Debug, Default, Clone)]
pub struct Measurement {
    pub accounts: usize,
    pub apis: usize,
    pub k: usize,
    pub requests: usize,
    pub events: usize,
    pub invocations: usize,
    pub retries: usize,
    /// (account, metric, API, stage, route, minute) cells compared, exactly right.
    pub cells: usize,
    pub cells_exact: usize,
    /// Roll-up cells: {ApiId, Stage} over every account, and {Account, ApiId, Stage}.
    pub rollups: usize,
    pub rollups_exact: usize,
    /// Incident keys (account, API, stage, backend, kind) in the truth, and found.
    pub keys: usize,
    pub incidents: usize,
    /// Incidents whose key and count match the truth exactly.
    pub incidents_exact: usize,
    /// Incidents notified `firing` other than once.
    pub firings_not_once: usize,
    /// Alerts (and summary items) naming another account than their incident's.
    pub mixed: usize,
    pub alerts: usize,
    pub summaries: usize,
    pub metric_calls: usize,
    /// Records CloudWatch Logs put on the stream, and their PUT payload units.
    pub records: usize,
    pub put_units: u64,
    /// DynamoDB requests (writes, reads) the deployed table would get, and by port.
    pub dynamodb: (u64, u64),
    pub dynamodb_by_call: BTreeMap<&'static str, (u64, u64)>,
    /// Time inside the handler, all containers.
    pub busy: Duration,
}

impl Measurement {
    pub fn exact(&self) -> bool {
        self.cells == self.cells_exact
            && self.rollups == self.rollups_exact
            && self.incidents == self.keys
            && self.incidents_exact == self.keys
            && self.firings_not_once == 0
            && self.mixed == 0
    }
    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / self.busy.as_secs_f64().max(1e-9)
    }
    pub const HEADER: &'static str = "| accounts × APIs | K | requests | invocations (retried) | route cells exact | roll-up cells exact | incidents exact / keys | fired other than once | mixed accounts | DynamoDB writes / reads per 1,000 requests | PutMetricData calls | events/s in the handler (one core) |\n|---|---|---|---|---|---|---|---|---|---|---|---|";
    pub fn row(&self) -> String {
        let per_k = |n: u64| n as f64 * 1000.0 / self.requests.max(1) as f64;
        format!(
            "| {} × {} | {} | {} | {} ({}) | {} / {} | {} / {} | {} / {} | {} | {} | {:.0} / {:.0} | {} | {:.0} |",
            self.accounts,
            self.apis,
            self.k,
            self.requests,
            self.invocations,
            self.retries,
            self.cells_exact,
            self.cells,
            self.rollups_exact,
            self.rollups,
            self.incidents_exact,
            self.keys,
            self.firings_not_once,
            self.mixed,
            per_k(self.dynamodb.0),
            per_k(self.dynamodb.1),
            self.metric_calls,
            self.events_per_second(),
        )
    }
}

fn minute(ts: i64) -> i64 {
    ts.div_euclid(60_000) * 60_000
}

fn kind(o: Outcome) -> Option<&'static str> {
    match o {
        Outcome::Timeout => Some("timeout"),
        Outcome::NearLimit => Some("near_limit"),
        Outcome::FunctionError => Some("error"),
        Outcome::Ok => None,
    }
}

type IncidentKey = (String, String, String, String, &'static str);

/// Runs the fan-in and measures it.
pub fn run(f: &FanIn) -> Measurement {
    let traffic = traffic(f);
    let batches: Vec<(String, Vec<Batch>)> = traffic
        .iter()
        .map(|(s, t)| (s.account.clone(), replay::batches(t, s)))
        .collect();
    let plan = invocations(f, &batches);
    let truth: Vec<&Truth> = traffic.iter().flat_map(|(_, t)| &t.truth).collect();

    let mut env: HashMap<String, String> = [
        ("LOG_LOOKUP", "off".to_owned()),
        (
            "ALERT_TOPIC_ARN",
            format!("arn:aws:sns:us-east-1:{HOME}:apigw-doctor"),
        ),
        ("METRICS_ACCOUNT_DIMENSION", "on".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        // Longer than the traffic: one incident per key, whose count is the truth's (the
        // lifecycle's timing is tested in tests/handler.rs).
        ("INCIDENT_RESOLVE_SECONDS", "7200".to_owned()),
        // Every near-limit request opens or joins its incident: the default (5 in one
        // batch) depends on how the batches fall, which the truth does not model.
        ("NEAR_LIMIT_ALERT_MIN", "1".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    env.extend(f.extra_env.iter().cloned());
    let config = Config::from_lookup(|v| env.get(v).cloned()).unwrap();
    let store = CountedStore::new();
    let containers: Vec<Recorded> = (0..f.k)
        .map(|_| {
            let recorder = Arc::new(Recorder::default());
            let ports = Ports::in_memory(&recorder).with_shared_state(store.clone());
            Recorded::with_ports(&config, ports, recorder)
        })
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();

    let mut m = Measurement {
        accounts: f.accounts,
        apis: f.base.apis,
        k: f.k,
        requests: truth.len(),
        events: plan
            .iter()
            .flat_map(|v| &v.records)
            .map(|(_, b)| b.events.len())
            .sum(),
        invocations: plan.len(),
        retries: plan.iter().filter(|v| v.retry).count(),
        ..Measurement::default()
    };
    let mut published = Vec::new();
    for v in &plan {
        let (ev, units) = event(v);
        if !v.retry {
            m.records += v.records.len();
            m.put_units += units;
        }
        let c = &containers[v.container];
        let started = Instant::now();
        rt.block_on(c.handle_at(&ev, None, v.at))
            .expect("every invocation is handled");
        m.busy += started.elapsed();
        published.extend(c.take());
    }
    let open = rt.block_on(store.inner.open()).unwrap();
    m.dynamodb = store.requests();
    m.dynamodb_by_call = store.by_call();
    measure_metrics(&mut m, &published, &truth);
    measure_incidents(&mut m, &published, &open, &truth);
    m
}

/// Metric cells: every route series (with `Account`) and both roll-ups, against the truth.
fn measure_metrics(m: &mut Measurement, published: &[Published], truth: &[&Truth]) {
    // (account or "*", metric, API, stage, route or "*", minute) → sum.
    type Cell = (String, &'static str, String, String, String, i64);
    let mut got: BTreeMap<Cell, u64> = BTreeMap::new();
    for p in published {
        let Published::Metrics(batch) = p else {
            continue;
        };
        m.metric_calls += apigw_doctor::render::metrics::pack(&batch.data).len();
        for d in &batch.data {
            let dim = |k: &str| d.dimension(k).map(str::to_owned);
            let name: &'static str = match d.name {
                "IntegrationTimeouts" => "IntegrationTimeouts",
                "NearLimitRequests" => "NearLimitRequests",
                "IntegrationErrors" => "IntegrationErrors",
                "Requests" => "Requests",
                _ => continue,
            };
            let (Some(api), Some(stage)) = (dim("ApiId"), dim("Stage")) else {
                continue;
            };
            let account = dim("Account").unwrap_or_else(|| "*".into());
            let route = dim("Route").unwrap_or_else(|| "*".into());
            let v: f64 = d.values.iter().sum();
            *got.entry((account, name, api, stage, route, d.timestamp_ms))
                .or_default() += v as u64;
        }
    }
    let mut want: BTreeMap<Cell, u64> = BTreeMap::new();
    for t in truth {
        let mut add = |account: &str, route: &str, name: &'static str, n: u64| {
            let c = (
                account.to_owned(),
                name,
                t.api.clone(),
                t.stage.clone(),
                route.to_owned(),
                minute(t.start),
            );
            *want.entry(c).or_default() += n;
        };
        let counts = [
            ("Requests", 1),
            (
                "IntegrationTimeouts",
                (t.outcome == Outcome::Timeout) as u64,
            ),
            (
                "NearLimitRequests",
                (t.outcome == Outcome::NearLimit) as u64,
            ),
            (
                "IntegrationErrors",
                (t.outcome == Outcome::FunctionError) as u64,
            ),
        ];
        for (name, n) in counts {
            add(&t.account, &t.route, name, n);
            add(&t.account, "*", name, n);
            add("*", "*", name, n);
        }
    }
    replay::compare(&got, &want, |c, g, w| {
        // FAN_IN_DEBUG=1: which cells are off, to start an investigation from.
        if g != w && std::env::var_os("FAN_IN_DEBUG").is_some() {
            eprintln!("cell {c:?}: published {g}, true {w}");
        }
        let rollup = c.4 == "*";
        if rollup {
            m.rollups += 1;
            m.rollups_exact += (g == w) as usize;
        } else {
            m.cells += 1;
            m.cells_exact += (g == w) as usize;
        }
    });
}

/// Incidents: the open ones in the shared table against the truth's keys and counts;
/// firings per incident from the alerts and the summary alerts' items.
fn measure_incidents(
    m: &mut Measurement,
    published: &[Published],
    open: &[apigw_doctor::engine::incidents::Incident],
    truth: &[&Truth],
) {
    let mut want: BTreeMap<IncidentKey, u64> = BTreeMap::new();
    for t in truth {
        if let Some(k) = kind(t.outcome) {
            let key = (
                t.account.clone(),
                t.api.clone(),
                t.stage.clone(),
                format!("lambda:{}", t.function),
                k,
            );
            *want.entry(key).or_default() += 1;
        }
    }
    m.keys = want.len();
    m.incidents = open.len();
    let account_of: HashMap<&str, Option<&str>> = open
        .iter()
        .map(|i| (i.id.as_str(), i.key.account.as_deref()))
        .collect();
    for i in open {
        let key = (
            i.key.account.clone().unwrap_or_default(),
            i.key.api_id.clone(),
            i.key.stage.clone(),
            i.key.backend.clone().unwrap_or_default(),
            i.key.kind.as_str(),
        );
        if want.get(&key) == Some(&i.affected) {
            m.incidents_exact += 1;
        }
    }
    let mut firings: HashMap<String, usize> = HashMap::new();
    for p in published {
        let Published::Alert(a) = p else { continue };
        let Ok(doc) = serde_json::from_str::<serde_json::Value>(&a.automation) else {
            continue;
        };
        let items: Vec<&serde_json::Value> = match doc["incidents"].as_array() {
            Some(items) => {
                m.summaries += 1;
                items.iter().collect()
            }
            None => {
                m.alerts += 1;
                vec![&doc]
            }
        };
        for item in items {
            let id = item["incident_id"].as_str().unwrap_or_default();
            if item["status"] == "firing" {
                *firings.entry(id.to_owned()).or_default() += 1;
            }
            if let Some(account) = account_of.get(id) {
                if item["account"].as_str() != *account {
                    m.mixed += 1;
                }
            }
        }
    }
    m.firings_not_once = open
        .iter()
        .filter(|i| firings.get(&i.id).copied().unwrap_or(0) != 1)
        .count();
}
