//! A replay that behaves like production (issue 13): traffic with a ground truth, cut
//! into per-stream batches the way CloudWatch Logs cuts them, delivered to K warm
//! containers (each its own `Monitor`) in random or per-stream order, some batches
//! late and some twice; then measured against the truth: timeouts fully diagnosed,
//! per-minute per-route metric sums, alerts per incident.
//!
//! Shared by `tests/replay.rs` (CI size) and `examples/replay.rs` (`make replay`).
#![allow(dead_code)]

#[path = "subscription.rs"]
mod subscription;

use apigw_doctor::lambda::config::Config;
use apigw_doctor::lambda::wiring::Recorded;
use apigw_doctor::model::kind::Kind;
use apigw_doctor::monitor::lookup::{FetchedEvent, LogLookup, MemoryLookup};
use apigw_doctor::monitor::recorder::Published;
use apigw_doctor::monitor::state::MemoryStore;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// 2026-11-25T10:00:00Z.
pub const T0: i64 = 1_795_600_800_000;
const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";

/// SplitMix64: deterministic, no dependency.
#[derive(Clone)]
pub struct Rng(u64);
impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / ((1u64 << 53) as f64)
    }
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub seed: u64,
    pub apis: usize,
    pub stages: usize,
    pub minutes: i64,
    /// Requests per minute per stage.
    pub per_minute: usize,
    pub timeout_share: f64,
    pub near_share: f64,
    pub error_share: f64,
    /// Execution-log streams per stage (API Gateway writes many).
    pub streams: usize,
    /// A batch closes this long after its first event, or on size.
    pub window_ms: i64,
    pub max_batch_events: usize,
    pub redeliver: f64,
    pub swap: f64,
    /// The account whose APIs these are (in the backends' ARNs).
    pub account: String,
    /// The top bits of the request ids (UUIDs differ between accounts).
    pub id_base: u64,
}

impl Scenario {
    /// CI size: 3 APIs × 2 stages, 60 minutes, ~5,000 requests.
    pub fn ci() -> Scenario {
        Scenario {
            seed: 13,
            apis: 3,
            stages: 2,
            minutes: 60,
            per_minute: 14,
            timeout_share: 0.01,
            near_share: 0.01,
            error_share: 0.01,
            streams: 4,
            window_ms: 5_000,
            max_batch_events: 10_000,
            redeliver: 0.03,
            swap: 0.05,
            account: ACCOUNT.to_owned(),
            id_base: 0x5eed_0000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    Ok,
    NearLimit,
    FunctionError,
    Timeout,
}

/// What the generator knows about one request.
#[derive(Debug, Clone)]
pub struct Truth {
    pub account: String,
    pub id: String,
    pub api: String,
    pub stage: String,
    pub route: String,
    pub function: String,
    pub outcome: Outcome,
    pub start: i64,
    pub latency_ms: u64,
}

#[derive(Debug, Clone)]
pub struct Event {
    pub id: String,
    pub ts: i64,
    pub message: String,
}

/// One subscription delivery: one stream's events.
#[derive(Debug, Clone)]
pub struct Batch {
    pub group: String,
    pub stream: String,
    pub events: Vec<Event>,
    /// When CloudWatch Logs hands it over.
    pub ready: i64,
}

pub struct Traffic {
    pub truth: Vec<Truth>,
    /// (group, stream) → events in time order.
    pub streams: BTreeMap<(String, String), Vec<Event>>,
}

const ROUTES: &[(&str, &str, &str)] = &[
    ("GET", "/orders/{orderId}", "/orders/ord-{}"),
    ("GET", "/orders", "/orders"),
    ("POST", "/orders", "/orders"),
    ("POST", "/orders/{orderId}/pay", "/orders/ord-{}/pay"),
    ("GET", "/users/{userId}", "/users/u-{}"),
];

fn rid(base: u64, n: u64) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        base | (n >> 48) & 0xffff,
        (n >> 32) & 0xffff,
        (n >> 20) & 0xfff,
        (n >> 8) & 0xfff,
        n
    )
}

/// Generates the traffic and its truth. The slow route of each stage (`POST
/// /orders/{orderId}/pay`) takes most timeouts, the others get a few.
pub fn generate(s: &Scenario) -> Traffic {
    let mut rng = Rng::new(s.seed);
    let mut truth = Vec::new();
    let mut streams: BTreeMap<(String, String), Vec<Event>> = BTreeMap::new();
    let mut serial = 0u64;
    let mut n = 0u64;
    for a in 0..s.apis {
        let api = format!("api{a:03}xyz{}", a * 7 % 10);
        for st in 0..s.stages {
            let stage = ["prod", "beta", "dev"][st % 3].to_owned();
            let group = format!("API-Gateway-Execution-Logs_{api}/{stage}");
            for m in 0..s.minutes {
                for _ in 0..s.per_minute {
                    n += 1;
                    let start = T0 + m * 60_000 + rng.below(60_000) as i64;
                    let r = rng.below(ROUTES.len() as u64) as usize;
                    let slow = ROUTES[r].1.ends_with("/pay");
                    let p = rng.unit();
                    let t_share = if slow {
                        s.timeout_share * 3.0
                    } else {
                        s.timeout_share / 2.0
                    };
                    let outcome = if p < t_share {
                        Outcome::Timeout
                    } else if p < t_share + s.near_share {
                        Outcome::NearLimit
                    } else if p < t_share + s.near_share + s.error_share {
                        Outcome::FunctionError
                    } else {
                        Outcome::Ok
                    };
                    let latency_ms = match outcome {
                        Outcome::Ok | Outcome::FunctionError => 20 + rng.below(900),
                        Outcome::NearLimit => 23_500 + rng.below(5_000),
                        Outcome::Timeout => 29_000,
                    };
                    let function = format!("{}-fn{}", api, r % 3);
                    let (method, template, path) = ROUTES[r];
                    let concrete = path.replace("{}", &n.to_string());
                    let id = rid(s.id_base, n);
                    let stream = format!(
                        "{:032x}",
                        (a * 100 + st * 10 + rng.below(s.streams as u64) as usize) as u128
                            * 0x1_0001
                    );
                    let events = streams.entry((group.clone(), stream)).or_default();
                    let mut add = |dt: i64, text: String| {
                        serial += 1;
                        events.push(Event {
                            id: format!("3{serial:055}"),
                            ts: start + dt,
                            message: format!("({id}) {text}"),
                        });
                    };
                    request_lines(
                        &mut add, &id, &api, &stage, method, template, &concrete, &function,
                        &s.account, outcome, latency_ms,
                    );
                    truth.push(Truth {
                        account: s.account.clone(),
                        id,
                        api: api.clone(),
                        stage: stage.clone(),
                        route: format!("{method} {template}"),
                        function,
                        outcome,
                        start,
                        latency_ms,
                    });
                }
            }
        }
    }
    for evs in streams.values_mut() {
        evs.sort_by(|a, b| a.ts.cmp(&b.ts).then(a.id.cmp(&b.id)));
    }
    Traffic { truth, streams }
}

#[allow(clippy::too_many_arguments)]
fn request_lines(
    add: &mut dyn FnMut(i64, String),
    id: &str,
    api: &str,
    stage: &str,
    method: &str,
    template: &str,
    path: &str,
    function: &str,
    account: &str,
    outcome: Outcome,
    latency: u64,
) {
    let uri = format!("https://lambda.{REGION}.amazonaws.com/2015-03-31/functions/arn:aws:lambda:{REGION}:{account}:function:{function}/invocations");
    add(0, "Extended Request Id: Zm9vYmFyYmF6cXV4=".into());
    add(
        0,
        format!("Verifying Usage Plan for request: {id}. API Key:  API Stage: {api}/{stage}"),
    );
    add(0, format!("API Key authorized because method '{method} {template}' does not require API Key. Request will not contribute to throttle or quota limits"));
    add(
        0,
        format!("Usage Plan check succeeded for API Key  and API Stage {api}/{stage}"),
    );
    add(0, format!("Starting execution for request: {id}"));
    add(0, format!("HTTP Method: {method}, Resource Path: {path}"));
    add(1, format!("Endpoint request URI: {uri}"));
    add(1, format!("Sending request to {uri}"));
    let l = latency as i64;
    match outcome {
        Outcome::Timeout => {
            add(29_004, "Execution failed due to a timeout error".into());
            add(29_004, "Method completed with status: 504".into());
        }
        Outcome::FunctionError => {
            add(
                1 + l,
                format!("Received response. Status: 200, Integration latency: {latency} ms"),
            );
            add(1 + l, "Endpoint response headers: {Content-Type=application/json, X-Amz-Function-Error=Unhandled}".into());
            add(1 + l, "Lambda execution failed with status 200 due to customer function error: boom. Lambda request id: 0000aaaa-0000-4000-8000-000000000000".into());
            add(1 + l, "Method completed with status: 502".into());
        }
        Outcome::Ok | Outcome::NearLimit => {
            add(
                1 + l,
                format!("Received response. Status: 200, Integration latency: {latency} ms"),
            );
            add(1 + l, "Successfully completed execution".into());
            add(1 + l, "Method completed with status: 200".into());
        }
    }
}

/// Cuts each stream into batches: a batch closes `window_ms` after its first event or
/// at `max_batch_events`; it is ready a little after it closes.
pub fn batches(t: &Traffic, s: &Scenario) -> Vec<Batch> {
    let mut out = Vec::new();
    for ((group, stream), evs) in &t.streams {
        let mut cur: Vec<Event> = Vec::new();
        let mut opened = 0;
        for e in evs {
            if !cur.is_empty() && (e.ts - opened >= s.window_ms || cur.len() >= s.max_batch_events)
            {
                out.push(Batch {
                    group: group.clone(),
                    stream: stream.clone(),
                    ready: opened + s.window_ms + 1_000,
                    events: std::mem::take(&mut cur),
                });
            }
            if cur.is_empty() {
                opened = e.ts;
            }
            cur.push(e.clone());
        }
        if !cur.is_empty() {
            out.push(Batch {
                group: group.clone(),
                stream: stream.clone(),
                ready: opened + s.window_ms + 1_000,
                events: cur,
            });
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// CloudWatch Logs → Lambda directly: any batch to any container, order not kept.
    Subscription,
    /// Through Kinesis with `Distribution: ByLogStream`: a stream's batches go, in
    /// order, to the consumer of its shard.
    Kinesis,
}

/// (batch index, container, delivery time), in delivery order.
pub fn deliveries(
    batches: &[Batch],
    s: &Scenario,
    mode: Mode,
    k: usize,
) -> Vec<(usize, usize, i64)> {
    let mut rng = Rng::new(s.seed ^ 0xD311_7E21);
    let mut out: Vec<(usize, usize, i64)> = Vec::new();
    for (i, b) in batches.iter().enumerate() {
        let shard = match mode {
            Mode::Kinesis => {
                let h = apigw_doctor::render::alert::fnv1a(b.stream.bytes().chain(b.group.bytes()));
                (h % k as u64) as usize
            }
            Mode::Subscription => rng.below(k as u64) as usize,
        };
        let mut at = b.ready + rng.below(2_000) as i64;
        if mode == Mode::Subscription && rng.chance(s.swap) {
            // Late: after the stream's next batch.
            at += s.window_ms + 1_500;
        }
        out.push((i, shard, at));
        if rng.chance(s.redeliver) {
            let again = match mode {
                Mode::Kinesis => shard,
                Mode::Subscription => rng.below(k as u64) as usize,
            };
            out.push((i, again, at + 10_000 + rng.below(50_000) as i64));
        }
    }
    out.sort_by_key(|d| (d.2, d.0));
    out
}

/// The Lambda event for a batch: `{"awslogs":{"data": base64(gzip(document))}}`.
pub fn event(b: &Batch) -> Vec<u8> {
    let events: Vec<serde_json::Value> = b
        .events
        .iter()
        .map(|e| serde_json::json!({"id": e.id, "timestamp": e.ts, "message": e.message}))
        .collect();
    subscription::lambda_event(&b.group, &b.stream, &events)
}

/// What the log groups hold, for lookups: every event, as FilterLogEvents returns it.
pub fn log_groups(t: &Traffic) -> Arc<MemoryLookup> {
    let mem = Arc::new(MemoryLookup::default());
    for ((group, stream), evs) in &t.streams {
        for e in evs {
            mem.add(
                group,
                FetchedEvent {
                    id: e.id.clone(),
                    timestamp: e.ts,
                    message: e.message.clone(),
                    log_stream: stream.clone(),
                },
            );
        }
    }
    mem
}

/// The figures of one run.
#[derive(Debug, Default, Clone)]
pub struct Measurement {
    pub k: usize,
    pub mode: String,
    pub healing: bool,
    pub requests: usize,
    pub batches: usize,
    pub deliveries: usize,
    pub timeouts: usize,
    /// Timeouts published at least once.
    pub timeouts_found: usize,
    /// Route template, backend and "invoked: yes" all right.
    pub timeouts_diagnosed: usize,
    /// Timeout findings beyond the first for the same request.
    pub timeouts_twice: usize,
    /// (metric, api, stage, route, minute) cells compared, and those exactly right.
    pub cells: usize,
    pub cells_exact: usize,
    /// Sum over cells of |published − truth|.
    pub off_by: u64,
    /// Data points published with `Route=Other` (no template: a request without its start).
    pub unknown_route_points: usize,
    /// Stage totals of IntegrationTimeouts: published vs truth.
    pub stage_timeouts: (u64, u64),
    /// Timeout alerts sent.
    pub alerts: usize,
    /// Timeout alerts sent within the cooldown (300 s) of an earlier one for the same
    /// route: a second notification of the same incident.
    pub alerts_repeated: usize,
    pub lookups: usize,
    pub lookups_skipped: usize,
    /// Halves of split requests written to the shared state, and requests joined there.
    pub join_writes: usize,
    pub joined: usize,
}

impl Measurement {
    pub fn diagnosed_pct(&self) -> f64 {
        100.0 * self.timeouts_diagnosed as f64 / self.timeouts.max(1) as f64
    }
    pub fn row(&self) -> String {
        format!(
            "| {} | {} | {} | {} / {} ({:.1} %) | {} | {} / {} | {} | {} | {} / {} | {} of {} | {} | {} |",
            self.mode,
            self.k,
            if self.healing { "on" } else { "off" },
            self.timeouts_diagnosed,
            self.timeouts,
            self.diagnosed_pct(),
            self.timeouts_twice,
            self.cells_exact,
            self.cells,
            self.off_by,
            self.unknown_route_points,
            self.stage_timeouts.0,
            self.stage_timeouts.1,
            self.alerts_repeated,
            self.alerts,
            self.lookups,
            self.join_writes,
        )
    }
    pub const HEADER: &'static str = "| mode | K | lookups | timeouts fully diagnosed | published twice | metric cells exact | sum of errors | `Route=Other` points | stage timeouts (published / true) | timeout alerts repeated within the cooldown | lookups made | halves written |\n|---|---|---|---|---|---|---|---|---|---|---|---|";
}

/// Calls `each(cell, published, true)` for every cell either side has, but not where both
/// are 0.
pub fn compare<K: Ord>(
    got: &BTreeMap<K, u64>,
    want: &BTreeMap<K, u64>,
    mut each: impl FnMut(&K, u64, u64),
) {
    let cells: std::collections::BTreeSet<&K> = got.keys().chain(want.keys()).collect();
    for c in cells {
        let (g, w) = (
            got.get(c).copied().unwrap_or(0),
            want.get(c).copied().unwrap_or(0),
        );
        if g != 0 || w != 0 {
            each(c, g, w);
        }
    }
}

fn minute(ts: i64) -> i64 {
    ts.div_euclid(60_000) * 60_000
}

type Diagnosed = (String, Option<String>, Option<bool>);

/// Runs the traffic through K containers, each with its own state, and measures it.
pub fn run(
    s: &Scenario,
    mode: Mode,
    k: usize,
    healing: bool,
    extra_env: &[(&str, &str)],
) -> Measurement {
    run_with(s, mode, k, healing, false, extra_env)
}

/// As [`run`]; with `shared_state` the K containers share one incident store and batch
/// claims, as the deployed function does through its DynamoDB table (`INCIDENTS_TABLE`).
pub fn run_with(
    s: &Scenario,
    mode: Mode,
    k: usize,
    healing: bool,
    shared_state: bool,
    extra_env: &[(&str, &str)],
) -> Measurement {
    let traffic = generate(s);
    let batches = batches(&traffic, s);
    let plan = deliveries(&batches, s, mode, k);
    let groups = log_groups(&traffic);
    let mut env: HashMap<String, String> = [
        ("LOG_LOOKUP", if healing { "on" } else { "off" }),
        ("ALERT_TOPIC_ARN", ""),
    ]
    .iter()
    .chain(extra_env)
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    env.retain(|_, v| !v.is_empty());
    let shared = Arc::new(MemoryStore::default());
    let containers: Vec<Recorded> = (0..k)
        .map(|_| {
            let lookup: Arc<dyn LogLookup> = Arc::new(Arc::clone(&groups));
            let config = Config::from_lookup(|v| env.get(v).cloned()).unwrap();
            let container = if shared_state {
                Recorded::shared(&config, &shared)
            } else {
                Recorded::new(&config)
            };
            container.with_lookup(lookup)
        })
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let mut published: Vec<(i64, Published)> = Vec::new();
    let mut m = Measurement {
        k,
        mode: format!("{mode:?}").to_lowercase(),
        healing,
        requests: traffic.truth.len(),
        batches: batches.len(),
        deliveries: plan.len(),
        ..Measurement::default()
    };
    // Timeout findings by request id: how often, and how well diagnosed.
    // Request id → (route, backend function, invoked) of each timeout finding published for it.
    let mut timeout_findings: HashMap<String, Vec<Diagnosed>> = HashMap::new();
    for &(b, c, at) in &plan {
        let ev = event(&batches[b]);
        let monitor = &containers[c];
        let summary = rt
            .block_on(monitor.handle_at(&ev, None, at))
            .expect("every batch is handled");
        m.lookups += summary.healing.lookups;
        m.lookups_skipped += summary.healing.skipped;
        m.join_writes += summary.joining.writes;
        m.joined += summary.joining.joined;
        published.extend(monitor.take().into_iter().map(|p| (at, p)));
        for f in summary.findings.iter().filter(|f| f.kind == Kind::Timeout) {
            timeout_findings
                .entry(f.request_id.clone().unwrap_or_default())
                .or_default()
                .push((
                    f.route.to_string(),
                    f.backend
                        .as_ref()
                        .and_then(|b| b.lambda_name())
                        .map(str::to_owned),
                    f.invoked,
                ));
        }
    }

    // Timeouts: found, diagnosed, twice.
    for t in traffic
        .truth
        .iter()
        .filter(|t| t.outcome == Outcome::Timeout)
    {
        m.timeouts += 1;
        let Some(fs) = timeout_findings.get(&t.id).filter(|v| !v.is_empty()) else {
            continue;
        };
        m.timeouts_found += 1;
        m.timeouts_twice += fs.len() - 1;
        if fs.iter().any(|(route, function, invoked)| {
            *route == t.route
                && function.as_deref() == Some(t.function.as_str())
                && *invoked == Some(true)
        }) {
            m.timeouts_diagnosed += 1;
        }
    }

    // Metrics: (name, api, stage, route, minute) → sum, published and true.
    type Cell = (&'static str, String, String, String, i64);
    let mut got: BTreeMap<Cell, u64> = BTreeMap::new();
    let mut alerts_per_route: HashMap<(String, String, String), Vec<i64>> = HashMap::new();
    for (at, p) in &published {
        match p {
            Published::Metrics(batch) => {
                for d in &batch.data {
                    let dim = |k: &str| d.dimension(k).map(str::to_owned);
                    let (Some(api), Some(stage), Some(route)) =
                        (dim("ApiId"), dim("Stage"), dim("Route"))
                    else {
                        continue;
                    };
                    // Requests without their template: `Other` (issue 12), `unknown route` before.
                    if route == "Other" || route == "unknown route" {
                        m.unknown_route_points += 1;
                    }
                    let name: &'static str = match d.name {
                        "IntegrationTimeouts" => "IntegrationTimeouts",
                        "NearLimitRequests" => "NearLimitRequests",
                        "IntegrationErrors" => "IntegrationErrors",
                        "IntegrationLatency" => "IntegrationLatency (samples)",
                        "Requests" => "Requests",
                        _ => continue,
                    };
                    let v: f64 = if name.starts_with("IntegrationLatency") {
                        d.counts.iter().sum()
                    } else {
                        d.values.iter().sum()
                    };
                    *got.entry((name, api, stage, route, d.timestamp_ms))
                        .or_default() += v as u64;
                }
            }
            Published::Alert(a) => {
                if let Ok(doc) = serde_json::from_str::<serde_json::Value>(&a.automation) {
                    // Issue 11's incident alerts carry their findings as `examples`.
                    let examples = doc["findings"].as_array().or(doc["examples"].as_array());
                    if let Some(f) = examples.and_then(|v| v.first()) {
                        if f["kind"] == "timeout" {
                            let key = (
                                f["api_id"].as_str().unwrap_or_default().to_owned(),
                                f["stage"].as_str().unwrap_or_default().to_owned(),
                                f["route"].as_str().unwrap_or_default().to_owned(),
                            );
                            alerts_per_route.entry(key).or_default().push(*at);
                        }
                    }
                }
            }
            Published::Emf(_) => {}
        }
    }
    for times in alerts_per_route.values_mut() {
        times.sort_unstable();
        m.alerts += times.len();
        let mut last: Option<i64> = None;
        for &t in times.iter() {
            match last {
                Some(l) if t - l < 300_000 => m.alerts_repeated += 1,
                _ => last = Some(t),
            }
        }
    }
    let mut want: BTreeMap<Cell, u64> = BTreeMap::new();
    for t in &traffic.truth {
        let cell = |name: &'static str| {
            (
                name,
                t.api.clone(),
                t.stage.clone(),
                t.route.clone(),
                minute(t.start),
            )
        };
        let (timeout, near, error) = match t.outcome {
            Outcome::Timeout => (1, 0, 0),
            Outcome::NearLimit => (0, 1, 0),
            Outcome::FunctionError => (0, 0, 1),
            Outcome::Ok => (0, 0, 0),
        };
        *want.entry(cell("IntegrationTimeouts")).or_default() += timeout;
        *want.entry(cell("NearLimitRequests")).or_default() += near;
        if error > 0 {
            *want.entry(cell("IntegrationErrors")).or_default() += error;
        }
        *want.entry(cell("Requests")).or_default() += 1;
        // Every request has a latency sample, timeouts included (at the limit, issue 12).
        *want
            .entry(cell("IntegrationLatency (samples)"))
            .or_default() += 1;
    }
    compare(&got, &want, |_, g, w| {
        m.cells += 1;
        if g == w {
            m.cells_exact += 1;
        }
        m.off_by += g.abs_diff(w);
    });
    m.stage_timeouts = (
        got.iter()
            .filter(|(c, _)| c.0 == "IntegrationTimeouts")
            .map(|(_, v)| v)
            .sum(),
        want.iter()
            .filter(|(c, _)| c.0 == "IntegrationTimeouts")
            .map(|(_, v)| v)
            .sum(),
    );
    m
}
