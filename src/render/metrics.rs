//! Findings and latencies → CloudWatch metric data, as plain data.
//!
//! Each datum carries the minute of the log events it counts (not the time of
//! publishing), so that alarms see the incident when it happened. Latencies go
//! as Values/Counts, so CloudWatch computes real percentiles. The data are packed
//! into as few PutMetricData calls as the API allows.
//!
//! Cardinality is bounded: route-level series exist only for routes whose
//! template was recovered, at most `max_route_metrics` of them per API and stage
//! (the busiest), and everything else is folded into `Route=Other`. A batch thus
//! publishes at most (cap + 1) × 5 route-level series per API and stage.

use std::collections::BTreeMap;

use crate::engine::analysis::Analysis;
use crate::model::kind::Kind;

/// PutMetricData limits (API reference): metrics per call, values per metric, bytes per call.
pub const MAX_DATA_PER_CALL: usize = 1000;
pub const MAX_VALUES_PER_DATUM: usize = 150;
pub const MAX_CALL_BYTES: usize = 1_000_000;
/// CloudWatch accepts data up to two weeks old and two hours ahead.
const MAX_AGE_MS: i64 = 14 * 24 * 3600 * 1000 - 3600 * 1000;
const MAX_AHEAD_MS: i64 = 2 * 3600 * 1000 - 60 * 1000;
/// Dimension values are at most 1024 characters.
const MAX_DIMENSION_VALUE: usize = 1024;

pub const REQUESTS: &str = "Requests";
pub const INTEGRATION_TIMEOUTS: &str = "IntegrationTimeouts";
pub const NEAR_LIMIT_REQUESTS: &str = "NearLimitRequests";
pub const INTEGRATION_LATENCY: &str = "IntegrationLatency";
pub const INTEGRATION_ERRORS: &str = "IntegrationErrors";
pub const LOG_EVENTS_PROCESSED: &str = "LogEventsProcessed";
pub const BATCHES_REJECTED: &str = "BatchesRejected";
pub const LOOKUPS_SKIPPED: &str = "LookupsSkipped";
/// The metric names published per route (the cardinality bound multiplies by this).
pub const ROUTE_METRIC_NAMES: [&str; 5] = [
    REQUESTS,
    INTEGRATION_TIMEOUTS,
    NEAR_LIMIT_REQUESTS,
    INTEGRATION_LATENCY,
    INTEGRATION_ERRORS,
];
/// The Route value of everything beyond the cap, and of routes without a template.
pub const OTHER_ROUTE: &str = "Other";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Datum {
    pub name: &'static str,
    pub unit: Unit,
    pub dimensions: Vec<(&'static str, String)>,
    /// Epoch ms, on a minute boundary.
    pub timestamp_ms: i64,
    pub values: Vec<f64>,
    pub counts: Vec<f64>,
}

impl Datum {
    /// The value of the dimension `name`, when the datum has it.
    pub fn dimension(&self, name: &str) -> Option<&str> {
        self.dimensions
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A generous estimate of the datum's size in a request, for packing.
    fn estimated_bytes(&self) -> usize {
        let dims: usize = self
            .dimensions
            .iter()
            .map(|(k, v)| k.len() + v.len() + 24)
            .sum();
        64 + self.name.len() + dims + self.values.len() * 20
    }
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct MetricBatch {
    pub namespace: String,
    pub data: Vec<Datum>,
    /// Data whose minute CloudWatch would refuse (older than two weeks, or ahead of now).
    pub dropped_out_of_range: u64,
}

/// The function's own health for this invocation.
#[derive(Debug, Clone, Copy, Default)]
pub struct Health {
    pub log_events: u64,
    pub batches_rejected: u64,
    /// Split requests not looked up (budget or deadline); sent only when not 0.
    pub lookups_skipped: u64,
}

fn minute(ts: i64) -> i64 {
    ts.div_euclid(60_000) * 60_000
}

fn dimension_value(s: &str) -> String {
    let clean: String = s.chars().filter(|c| !c.is_control()).collect();
    match clean.char_indices().nth(MAX_DIMENSION_VALUE) {
        Some((cut, _)) => clean[..cut].to_owned(),
        None if clean.is_empty() => "-".to_owned(),
        None => clean,
    }
}

#[derive(Default)]
struct Bucket {
    requests: u64,
    timeouts: u64,
    near_limit: u64,
    latencies: BTreeMap<u64, u64>,
    errors: BTreeMap<&'static str, u64>,
}

/// The Route dimension value of each route of the analysis: its own for the
/// busiest `cap` templated routes of each API stage, else [`OTHER_ROUTE`].
pub fn route_dimensions(analysis: &Analysis, cap: usize) -> Vec<&str> {
    let mut order: Vec<usize> = (0..analysis.routes.len())
        .filter(|&i| {
            let r = &analysis.routes[i];
            r.templated && !r.key.route.is_unknown() && r.key.route.as_str() != OTHER_ROUTE
        })
        .collect();
    // Per API stage (of its account: two accounts' `abc/prod` are two stages, found by
    // the fan-in replay), busiest first; ties by key, so the choice is deterministic.
    order.sort_by(|&a, &b| {
        let (ra, rb) = (&analysis.routes[a], &analysis.routes[b]);
        (&ra.key.account, &ra.key.api_id, &ra.key.stage)
            .cmp(&(&rb.key.account, &rb.key.api_id, &rb.key.stage))
            .then(rb.requests.cmp(&ra.requests))
            .then(ra.key.route.cmp(&rb.key.route))
    });
    let mut dims = vec![OTHER_ROUTE; analysis.routes.len()];
    let mut taken = 0;
    let mut stage: Option<(Option<&str>, &str, &str)> = None;
    for i in order {
        let k = &analysis.routes[i].key;
        let this = (k.account.as_deref(), k.api_id.as_str(), k.stage.as_str());
        if stage != Some(this) {
            stage = Some(this);
            taken = 0;
        }
        if taken < cap {
            dims[i] = k.route.as_str();
            taken += 1;
        }
    }
    dims
}

/// Builds the metric data of one invocation. `now_ms` stamps the health metrics
/// and stands in for requests whose logs carried no time.
pub fn build(analysis: &Analysis, namespace: &str, now_ms: i64, health: Health) -> MetricBatch {
    build_with(analysis, namespace, now_ms, health, false)
}

/// [`build`]; `by_account`: the route series carry an `Account` dimension, and each
/// account's API stage gets a roll-up of its own beside the `{ApiId, Stage}` one that
/// the alarms and the dashboard read (summed over accounts, as without the dimension).
pub fn build_with(
    analysis: &Analysis,
    namespace: &str,
    now_ms: i64,
    health: Health,
    by_account: bool,
) -> MetricBatch {
    let buckets = buckets(analysis, now_ms, by_account);
    let (mut data, dropped) = bucket_data(buckets, now_ms);
    let now_m = minute(now_ms);
    let skipped = (health.lookups_skipped > 0).then_some((LOOKUPS_SKIPPED, health.lookups_skipped));
    for (name, n) in [
        (LOG_EVENTS_PROCESSED, health.log_events),
        (BATCHES_REJECTED, health.batches_rejected),
    ]
    .into_iter()
    .chain(skipped)
    {
        data.push(Datum {
            name,
            unit: Unit::Count,
            dimensions: Vec::new(),
            timestamp_ms: now_m,
            values: vec![n as f64],
            counts: vec![1.0],
        });
    }
    MetricBatch {
        namespace: namespace.to_owned(),
        data,
        dropped_out_of_range: dropped,
    }
}

/// (account, api, stage, route or None, minute) → bucket; route `None` is the
/// {[Account,] ApiId, Stage} roll-up.
type Key<'a> = (Option<&'a str>, &'a str, &'a str, Option<&'a str>, i64);

/// Every request and finding counted into its buckets.
fn buckets(analysis: &Analysis, now_ms: i64, by_account: bool) -> BTreeMap<Key<'_>, Bucket> {
    let route_dims = route_dimensions(analysis, analysis.max_route_metrics);
    let mut buckets: BTreeMap<Key<'_>, Bucket> = BTreeMap::new();
    let mut each = |route_idx: usize, ts: Option<i64>, f: &mut dyn FnMut(&mut Bucket)| {
        let r = &analysis.routes[route_idx];
        let m = minute(ts.unwrap_or(now_ms));
        let (api, stage) = (r.key.api_id.as_str(), r.key.stage.as_str());
        let account = r.key.account.as_deref().filter(|_| by_account);
        // No allocation: this runs for every request.
        let keys = [
            Some((None, api, stage, None, m)),
            Some((account, api, stage, Some(route_dims[route_idx]), m)),
            account.map(|_| (account, api, stage, None, m)),
        ];
        for k in keys.into_iter().flatten() {
            f(buckets.entry(k).or_default());
        }
    };
    // A request still waiting for its end is counted with its end, in a later batch.
    for o in analysis.observations.iter().filter(|o| !o.waiting) {
        each(o.route, o.timestamp, &mut |b| {
            b.requests += 1;
            if let Some(l) = o.integration_latency_ms {
                *b.latencies.entry(l).or_default() += 1;
            }
        });
    }
    // Findings name their route by key; index the routes once rather than scan them per finding.
    type RouteAt<'a> = (
        Option<&'a str>,
        &'a str,
        &'a str,
        &'a crate::model::route::Route,
    );
    let route_index: std::collections::HashMap<RouteAt<'_>, usize> = analysis
        .routes
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let k = &r.key;
            (
                (
                    k.account.as_deref(),
                    k.api_id.as_str(),
                    k.stage.as_str(),
                    &k.route,
                ),
                i,
            )
        })
        .collect();
    for f in &analysis.findings {
        let at = (
            f.provenance.account.as_deref(),
            f.api_id.as_str(),
            f.stage.as_str(),
            &f.route,
        );
        let Some(&i) = route_index.get(&at) else {
            continue;
        };
        each(i, f.timestamp, &mut |b| match f.kind {
            Kind::Timeout => b.timeouts += 1,
            Kind::NearLimit => b.near_limit += 1,
            Kind::Error => *b.errors.entry(f.cause.as_str()).or_default() += 1,
            Kind::Misconfiguration => {}
        });
    }

    buckets
}

/// The buckets' data, and how many buckets fell outside CloudWatch's time range.
fn bucket_data(buckets: BTreeMap<Key<'_>, Bucket>, now_ms: i64) -> (Vec<Datum>, u64) {
    let mut data = Vec::new();
    let mut dropped = 0;
    for ((account, api, stage, route, m), b) in buckets {
        if m < now_ms - MAX_AGE_MS || m > now_ms + MAX_AHEAD_MS {
            dropped += 1;
            continue;
        }
        let mut dims: Vec<(&'static str, String)> = account
            .map(|a| ("Account", dimension_value(a)))
            .into_iter()
            .collect();
        dims.extend([
            ("ApiId", dimension_value(api)),
            ("Stage", dimension_value(stage)),
        ]);
        if let Some(r) = route {
            dims.push(("Route", dimension_value(r)));
        }
        let count = |name, n: u64| Datum {
            name,
            unit: Unit::Count,
            dimensions: dims.clone(),
            timestamp_ms: m,
            values: vec![n as f64],
            counts: vec![1.0],
        };
        // Zeros too: an alarm then sees "no timeouts" rather than missing data.
        if b.requests > 0 {
            data.push(count(REQUESTS, b.requests));
            data.push(count(INTEGRATION_TIMEOUTS, b.timeouts));
            data.push(count(NEAR_LIMIT_REQUESTS, b.near_limit));
        }
        let pairs: Vec<(u64, u64)> = b.latencies.into_iter().collect();
        for chunk in pairs.chunks(MAX_VALUES_PER_DATUM) {
            data.push(Datum {
                name: INTEGRATION_LATENCY,
                unit: Unit::Milliseconds,
                dimensions: dims.clone(),
                timestamp_ms: m,
                values: chunk.iter().map(|(v, _)| *v as f64).collect(),
                counts: chunk.iter().map(|(_, c)| *c as f64).collect(),
            });
        }
        if route.is_some() {
            // Per route, one sum: a Cause dimension here would multiply the series.
            let n: u64 = b.errors.values().sum();
            if n > 0 {
                data.push(count(INTEGRATION_ERRORS, n));
            }
        } else {
            for (cause, n) in b.errors {
                let mut d = count(INTEGRATION_ERRORS, n);
                d.dimensions.push(("Cause", cause.to_owned()));
                data.push(d);
            }
        }
    }
    (data, dropped)
}

/// Splits the data into PutMetricData calls: at most 1000 data and about 1 MB each.
pub fn pack(data: &[Datum]) -> Vec<&[Datum]> {
    let mut calls = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, d) in data.iter().enumerate() {
        let size = d.estimated_bytes();
        if i > start && (i - start == MAX_DATA_PER_CALL || bytes + size > MAX_CALL_BYTES) {
            calls.push(&data[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < data.len() {
        calls.push(&data[start..]);
    }
    calls
}

/// Embedded Metric Format: one JSON line per datum (values repeated by count, at
/// most 100 per line), for METRICS_MODE=emf. CloudWatch Logs turns them into metrics.
pub fn emf_lines(batch: &MetricBatch) -> Vec<String> {
    let mut lines = Vec::new();
    for d in &batch.data {
        let mut values: Vec<f64> = Vec::new();
        for (v, c) in d.values.iter().zip(&d.counts) {
            values.extend(std::iter::repeat_n(*v, *c as usize));
        }
        for chunk in values.chunks(100) {
            let mut root = serde_json::Map::new();
            let dim_names: Vec<&str> = d.dimensions.iter().map(|(k, _)| *k).collect();
            root.insert(
                "_aws".into(),
                serde_json::json!({
                    "Timestamp": d.timestamp_ms,
                    "CloudWatchMetrics": [{
                        "Namespace": batch.namespace,
                        "Dimensions": [dim_names],
                        "Metrics": [{"Name": d.name, "Unit": d.unit.as_str()}],
                    }],
                }),
            );
            for (k, v) in &d.dimensions {
                root.insert((*k).into(), serde_json::Value::String(v.clone()));
            }
            root.insert(d.name.into(), serde_json::json!(chunk));
            lines.push(serde_json::Value::Object(root).to_string());
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn datum(values: usize) -> Datum {
        Datum {
            name: INTEGRATION_LATENCY,
            unit: Unit::Milliseconds,
            dimensions: vec![("ApiId", "a".into())],
            timestamp_ms: 0,
            values: vec![1.0; values],
            counts: vec![1.0; values],
        }
    }

    #[test]
    fn packing_respects_the_limits() {
        let data: Vec<Datum> = (0..2500).map(|_| datum(1)).collect();
        let calls = pack(&data);
        assert_eq!(
            calls.iter().map(|c| c.len()).collect::<Vec<_>>(),
            [1000, 1000, 500]
        );
        let big: Vec<Datum> = (0..900).map(|_| datum(150)).collect();
        for c in pack(&big) {
            assert!(c.iter().map(Datum::estimated_bytes).sum::<usize>() <= MAX_CALL_BYTES);
        }
        assert!(pack(&[]).is_empty());
    }

    use crate::engine::analysis::tests::{analyse, rest};
    use crate::engine::config::EngineConfig;
    use std::collections::{BTreeMap as Map, BTreeSet};

    const NOW: i64 = 1_764_064_800_000 + 60_000;

    /// Distinct route-level series (name + dimensions) per API stage.
    fn route_series(batch: &MetricBatch) -> Map<(String, String), BTreeSet<String>> {
        let mut out: Map<(String, String), BTreeSet<String>> = Map::new();
        for d in &batch.data {
            let get = |k: &str| d.dimension(k).map(str::to_owned);
            if let Some(route) = get("Route") {
                let dims: Vec<String> = d
                    .dimensions
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                out.entry((get("ApiId").unwrap(), get("Stage").unwrap()))
                    .or_default()
                    .insert(format!("{} {} {route}", d.name, dims.join(",")));
            }
        }
        out
    }

    fn untemplated(id: &str, path: &str) -> String {
        format!(
            r#"{{"requestId":"{id}","apiId":"abc123","stage":"prod","httpMethod":"GET","path":"{path}","status":"200","integrationLatency":"20"}}"#
        )
    }

    #[test]
    fn requests_and_timeout_latencies_are_published() {
        let recs = [
            rest("t1", "POST /pay", 504, 0),
            rest("f1", "POST /pay", 200, 120),
        ];
        let a = analyse(&EngineConfig::default(), &recs);
        let b = build(&a, "ns", NOW, Health::default());
        let find = |name: &str, route: bool| {
            b.data
                .iter()
                .find(|d| {
                    d.name == name && d.dimensions.iter().any(|(k, _)| *k == "Route") == route
                })
                .unwrap()
        };
        assert_eq!(find(REQUESTS, false).values, [2.0]);
        assert_eq!(find(REQUESTS, true).values, [2.0]);
        assert_eq!(find(INTEGRATION_TIMEOUTS, true).values, [1.0]);
        let lat = find(INTEGRATION_LATENCY, false);
        assert_eq!(
            lat.values,
            [120.0, 29_010.0],
            "the timeout at its observed latency"
        );
    }

    #[test]
    fn untemplated_and_unknown_routes_fold_into_other_and_the_cap_holds() {
        let mut recs: Vec<String> = Vec::new();
        // 30 templated routes, busiest first: route i has 40 - i requests.
        for i in 0..30u64 {
            for j in 0..(40 - i) {
                recs.push(rest(&format!("r{i}-{j}"), &format!("GET /t{i}"), 200, 10));
            }
        }
        // 50 concrete paths whose template is unknown.
        for i in 0..50 {
            recs.push(untemplated(&format!("u{i}"), &format!("/orders/o{i}")));
        }
        // An orphan of unknown route.
        recs.push(r#"{"requestId":"orphan","apiId":"abc123","stage":"prod","status":"504","responseType":"INTEGRATION_TIMEOUT"}"#.to_owned());
        let a = analyse(&EngineConfig::default(), &recs);
        assert!(a.routes.len() > 80);
        let b = build(&a, "ns", NOW, Health::default());
        let routes: BTreeSet<&str> = b
            .data
            .iter()
            .flat_map(|d| d.dimensions.iter())
            .filter(|(k, _)| *k == "Route")
            .map(|(_, v)| v.as_str())
            .collect();
        assert!(routes.contains(OTHER_ROUTE));
        assert!(!routes
            .iter()
            .any(|r| r.contains("unknown") || r.contains("/orders/o")));
        assert_eq!(routes.len(), 26);
        assert!(
            routes.contains("GET /t0")
                && routes.contains("GET /t24")
                && !routes.contains("GET /t25")
        );
        for series in route_series(&b).values() {
            assert!(series.len() <= 26 * ROUTE_METRIC_NAMES.len());
        }
        // Nothing is lost by folding: the route-level requests sum to the stage's.
        let sum = |route: bool| -> f64 {
            b.data
                .iter()
                .filter(|d| {
                    d.name == REQUESTS && d.dimensions.iter().any(|(k, _)| *k == "Route") == route
                })
                .map(|d| d.values[0])
                .sum()
        };
        assert_eq!(sum(true), sum(false));
        assert_eq!(sum(false), recs.len() as f64);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// For any batch, the distinct route-level series per API stage stay within
        /// (cap + 1) × the route metric names.
        #[test]
        fn route_series_stay_within_the_cap(
            reqs in proptest::collection::vec(
                (0u8..3, 0u16..200, 0u8..4, proptest::bool::ANY, 0u8..6),
                0..400,
            ),
            cap in 0usize..6,
        ) {
            let recs: Vec<String> = reqs
                .iter()
                .enumerate()
                .map(|(i, &(stage, route, outcome, templated, minute))| {
                    let (status, extra) = match outcome {
                        0 => ("504", r#","responseType":"INTEGRATION_TIMEOUT""#.to_owned()),
                        1 => ("502", r#","responseType":"INTEGRATION_FAILURE","integrationError":"Lambda Customer Function Error:x""#.to_owned()),
                        2 => ("200", r#","integrationLatency":"25000""#.to_owned()),
                        _ => ("200", format!(r#","integrationLatency":"{route}""#)),
                    };
                    let path = if templated {
                        format!(r#""resourcePath":"/r{route}""#)
                    } else {
                        format!(r#""path":"/p/x{route}""#)
                    };
                    format!(
                        r#"{{"requestId":"q{i}","apiId":"a{}","stage":"s{stage}","httpMethod":"GET",{path},"status":"{status}"{extra},"requestTimeEpoch":"{}"}}"#,
                        stage % 2,
                        1_764_064_800 + u64::from(minute) * 60
                    )
                })
                .collect();
            let config = EngineConfig { max_route_metrics: cap, ..EngineConfig::default() };
            let a = analyse(&config, &recs);
            let b = build(&a, "ns", 1_764_064_800_000 + 600_000, Health::default());
            for (stage, series) in route_series(&b) {
                // Series ignore the minute: count distinct name + dimensions.
                let distinct: BTreeSet<String> = series
                    .iter()
                    .map(|s| s.to_owned())
                    .collect();
                proptest::prop_assert!(
                    distinct.len() <= (cap + 1) * ROUTE_METRIC_NAMES.len(),
                    "{stage:?}: {} series", distinct.len()
                );
                proptest::prop_assert!(!distinct.iter().any(|s| s.contains("unknown route")));
            }
        }
    }

    #[test]
    fn dimension_values_are_bounded_and_clean() {
        assert_eq!(dimension_value("a\nb"), "ab");
        assert_eq!(dimension_value(""), "-");
        assert_eq!(dimension_value(&"x".repeat(2000)).len(), 1024);
    }
}
