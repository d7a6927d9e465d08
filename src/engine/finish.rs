//! Finishing an analysis: each request's route, limit and verdict, the routes'
//! statistics, the findings with their backend runs and diagnoses, the backends that
//! run longer than the gateway waits, and the observations the metrics count.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use foldhash::HashMap as FastMap;

use crate::engine::backend_run::{self, FunctionLogs};
use crate::engine::config::EngineConfig;
use crate::engine::diagnosis;
use crate::engine::findings;
use crate::engine::request::Request;
use crate::engine::requests::Requests;
use crate::model::backend::Backend;
use crate::model::backend_run::Join;
use crate::model::diagnosis::{Diagnosis, RouteHealth};
use crate::model::finding::Finding;
use crate::model::kind::{Cause, Kind};
use crate::model::limits::{ApiKind, LimitSource, REST_DEFAULT_MS};
use crate::model::route::Route;
use crate::model::stats::{FunctionStats, RouteKey, RouteStats, RouteVerdict};
use crate::model::tally::minute_of;

/// One request's contribution to the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    /// Index into the analysis' routes.
    pub route: usize,
    /// Epoch ms of the request's first line, if the logs carried one.
    pub timestamp: Option<i64>,
    /// The integration latency, for requests whose integration answered; for
    /// timeouts, how long API Gateway waited (at least the limit, as far as the logs show).
    pub integration_latency_ms: Option<u64>,
    pub timed_out: bool,
    /// Its end is still to come (in a later batch, where it is counted).
    pub waiting: bool,
}

/// One request's place: its route (index into the routes), its limit, its verdict.
pub(crate) type Classified = (usize, u64, Option<(Kind, Cause)>);

/// Every request's route, limit and verdict, and the routes' statistics, in key order.
pub(crate) fn routes(
    requests: &Requests,
    config: &EngineConfig,
) -> (Vec<RouteStats>, Vec<Classified>) {
    let ppm = config.ratio_ppm();
    // A route is found by its key written into a reused buffer, so a route seen before
    // costs no allocation.
    let mut routes: Vec<RouteStats> = Vec::new();
    let mut route_at: FastMap<String, usize> = FastMap::default();
    let mut key = String::new();
    let mut classified = Vec::with_capacity(requests.len());
    for req in requests {
        key.clear();
        let account = req.provenance.account.as_deref().unwrap_or("");
        for part in [account, req.api_id_or_unknown(), req.stage_or_unknown()] {
            key.push_str(part);
            key.push('\u{1f}');
        }
        let route_starts = key.len();
        req.write_route(&mut key);
        let at = match route_at.get(key.as_str()) {
            Some(&at) => at,
            None => {
                routes.push(new_route(req, &key[route_starts..], config));
                route_at.insert(key.clone(), routes.len() - 1);
                routes.len() - 1
            }
        };
        let stats = &mut routes[at];
        let limit_ms = if req.kind == stats.api_kind && !req.streamed {
            stats.limit_ms
        } else {
            let k = &stats.key;
            let (ms, source) = req.limit(&config.limits, &k.api_id, &k.stage, &k.route);
            // A streamed request on a route first seen buffered: the route streams, its
            // statistics hold the stream's limit.
            if req.streamed && stats.limit_source == LimitSource::Default {
                (stats.limit_ms, stats.limit_source) = (ms, source);
            }
            ms
        };
        let verdict = findings::classify(req, limit_ms, ppm);
        count(stats, req, limit_ms, verdict.map(|v| v.0));
        classified.push((at, limit_ms, verdict));
    }
    drop(route_at);
    // Routes in key order (deterministic output); `classified` follows the new places.
    let mut sorted: Vec<(usize, RouteStats)> = routes.into_iter().enumerate().collect();
    sorted.sort_by(|a, b| a.1.key.cmp(&b.1.key));
    let mut new_place = vec![0; sorted.len()];
    for (place, (old, _)) in sorted.iter().enumerate() {
        new_place[*old] = place;
    }
    let mut routes: Vec<RouteStats> = sorted.into_iter().map(|(_, r)| r).collect();
    for c in &mut classified {
        c.0 = new_place[c.0];
    }
    for s in &mut routes {
        s.finish(config.near_limit_ms(s.limit_ms));
    }
    (routes, classified)
}

/// A route first seen on `req` (`route` as the request writes it).
fn new_route(req: &Request, route: &str, config: &EngineConfig) -> RouteStats {
    let key = RouteKey {
        account: req.provenance.account.clone(),
        api_id: req.api_id_or_unknown().to_owned(),
        stage: req.stage_or_unknown().to_owned(),
        route: Route::from_written(route.to_owned()),
    };
    let (limit_ms, limit_source) = req.limit(&config.limits, &key.api_id, &key.stage, &key.route);
    RouteStats {
        limit_ms,
        limit_source,
        key,
        api_kind: req.kind,
        requests: 0,
        timeouts: 0,
        near_limit: 0,
        errors: 0,
        responses: 0,
        observed: 0,
        censored: 0,
        slow: 0,
        fast: 0,
        p50_ms: None,
        p95_ms: None,
        max_ms: None,
        p50: None,
        p95: None,
        p99: None,
        max: None,
        verdict: RouteVerdict::NoBaseline,
        templated: req.has_template(),
        latencies: Vec::new(),
        censored_min_ms: u64::MAX,
        censored_max_ms: 0,
        info_seen: false,
        minutes: Default::default(),
        daily: Default::default(),
    }
}

/// Counts one request into its route.
fn count(stats: &mut RouteStats, req: &Request, limit_ms: u64, kind: Option<Kind>) {
    stats.requests += 1;
    stats.info_seen |= req.info_lines > 0;
    match kind {
        Some(Kind::Timeout) => {
            // Censored: the timeout lasted at least its limit.
            let l = timeout_latency_ms(req, limit_ms);
            stats.timeouts += 1;
            stats.censored += 1;
            stats.censored_min_ms = stats.censored_min_ms.min(l);
            stats.censored_max_ms = stats.censored_max_ms.max(l);
            if let Some(t) = req.first_ts {
                stats.daily.timed_out(t, limit_ms);
            }
        }
        Some(Kind::NearLimit) => stats.near_limit += 1,
        Some(Kind::Error) => stats.errors += 1,
        _ => {}
    }
    if kind != Some(Kind::Timeout) && req.got_response() {
        if let Some(l) = req.integration_latency_ms {
            stats.latencies.push(l);
            if let Some(t) = req.first_ts {
                stats.daily.answered(t, l, limit_ms);
            }
        }
    }
    count_minute(stats, req, kind);
}

/// The error budget's count: a request with an outcome (a status, or a timeout) in the
/// minute of its first line; bad when it timed out or answered 5XX.
fn count_minute(stats: &mut RouteStats, req: &Request, kind: Option<Kind>) {
    let timed_out = kind == Some(Kind::Timeout);
    let (Some(at), true) = (
        req.first_ts.or(req.last_ts),
        timed_out || req.status.is_some(),
    ) else {
        return;
    };
    let bad = timed_out || req.status.is_some_and(|s| s >= 500);
    let t = stats.minutes.entry(minute_of(at)).or_default();
    t.total += 1;
    t.bad += u64::from(bad);
}

/// What the findings of requests are diagnosed against.
pub(crate) struct Known<'a> {
    pub(crate) routes: &'a [RouteStats],
    pub(crate) route_health: &'a [RouteHealth],
    pub(crate) functions: &'a BTreeMap<String, FunctionStats>,
    pub(crate) function_logs: &'a FunctionLogs,
    pub(crate) config: &'a EngineConfig,
}

/// A finding for each request with a verdict, joined to its backend run and diagnosed.
pub(crate) fn request_findings(
    requests: &Requests,
    classified: &[Classified],
    known: &Known<'_>,
) -> Vec<Finding> {
    // API stages whose execution log is at INFO level in what this analysis saw.
    let info_stages: BTreeSet<(Option<&str>, &str, &str)> = known
        .routes
        .iter()
        .filter(|r| r.info_seen)
        .map(|r| {
            (
                r.key.account.as_deref(),
                r.key.api_id.as_str(),
                r.key.stage.as_str(),
            )
        })
        .collect();
    let mut out = Vec::new();
    for (req, &(at, limit_ms, verdict)) in requests.iter().zip(classified) {
        let Some((kind, cause)) = verdict else {
            continue;
        };
        let key = &known.routes[at].key;
        let function = req
            .backend
            .as_deref()
            .and_then(Backend::lambda_name)
            .and_then(|n| known.functions.get(n));
        let mut finding = request_finding(req, (kind, cause), key, limit_ms, function);
        finding.run = backend_run::join_request(&finding, req, known.function_logs);
        let context = diagnosis::Context {
            stage_logs_info: info_stages.contains(&(
                key.account.as_deref(),
                key.api_id.as_str(),
                key.stage.as_str(),
            )),
        };
        let health = Some(&known.route_health[at]);
        finding.diagnosis = diagnosis::diagnose(&finding, req, health, known.config, context);
        out.push(finding);
    }
    out
}

fn request_finding(
    req: &Request,
    (kind, cause): (Kind, Cause),
    key: &RouteKey,
    limit_ms: u64,
    function: Option<&FunctionStats>,
) -> Finding {
    Finding {
        kind,
        cause,
        request_id: Some(req.id.clone()),
        api_id: key.api_id.clone(),
        stage: key.stage.clone(),
        route: key.route.clone(),
        api_kind: req.kind,
        status: match kind {
            // What the client got: HTTP APIs answer a timeout with 503.
            Kind::Timeout => Some(req.status.unwrap_or(req.kind.timeout_status())),
            _ => req.status,
        },
        invoked: req.invoked(),
        integration_latency_ms: (kind != Kind::Timeout && req.got_response())
            .then_some(req.integration_latency_ms)
            .flatten(),
        elapsed_ms: req.elapsed_after_sending_ms(),
        limit_ms,
        backend: req.backend.as_deref().cloned(),
        timestamp: req.first_ts,
        ended_at: req.failed_ts().or(req.last_ts),
        lambda_request_id: req.lambda_request_id().map(str::to_owned),
        xray_trace_id: req.xray_trace_id.as_deref().map(str::to_owned),
        detail: req
            .failure_detail()
            .or(req.integration_error.as_deref())
            .map(str::to_owned),
        function: function.cloned(),
        provenance: req.provenance.clone(),
        diagnosis: Diagnosis::default(),
        run: Join::default(),
    }
}

/// Backends that run longer than the gateway waits, with the routes that call them.
pub(crate) fn function_findings(
    requests: &Requests,
    classified: &[Classified],
    known: &Known<'_>,
) -> Vec<Finding> {
    let mut callers: HashMap<&str, BTreeSet<usize>> = HashMap::new();
    if !known.functions.is_empty() {
        for (r, &(at, _, _)) in requests.iter().zip(classified) {
            if let Some(name) = r.backend.as_deref().and_then(Backend::lambda_name) {
                callers.entry(name).or_default().insert(at);
            }
        }
    }
    let mut out = Vec::new();
    for f in known.functions.values() {
        let users: Vec<&RouteStats> = callers
            .get(f.name.as_str())
            .into_iter()
            .flatten()
            .map(|&at| &known.routes[at])
            .collect();
        let limit_ms = users
            .iter()
            .map(|s| s.limit_ms)
            .min()
            .unwrap_or_else(|| known.config.limits.default_ms.unwrap_or(REST_DEFAULT_MS));
        let configured_ms = f.configured_timeout_s.map(|s| (s * 1000.0) as u64);
        let over =
            configured_ms.is_some_and(|c| c > limit_ms) || f.max_duration_ms > limit_ms as f64;
        if !over {
            continue;
        }
        let mut finding = function_finding(f, users.first().copied(), limit_ms);
        finding.diagnosis = diagnosis::diagnose_function(&finding, f, known.config);
        out.push(finding);
    }
    out
}

/// The misconfiguration finding of a function, on the first route that calls it.
fn function_finding(f: &FunctionStats, user: Option<&RouteStats>, limit_ms: u64) -> Finding {
    let (api_id, stage, route) = user.map_or_else(
        || ("unknown".to_owned(), "unknown".to_owned(), Route::unknown()),
        |s| {
            (
                s.key.api_id.clone(),
                s.key.stage.clone(),
                s.key.route.clone(),
            )
        },
    );
    Finding {
        kind: Kind::Misconfiguration,
        cause: Cause::FunctionTimeoutOverLimit,
        request_id: None,
        api_id,
        stage,
        route,
        api_kind: user.map_or(ApiKind::Rest, |s| s.api_kind),
        status: None,
        invoked: None,
        integration_latency_ms: None,
        elapsed_ms: None,
        limit_ms,
        backend: None,
        timestamp: Some(f.last_ts),
        ended_at: Some(f.last_ts),
        lambda_request_id: None,
        xray_trace_id: None,
        detail: None,
        function: Some(f.clone()),
        provenance: f.provenance.clone(),
        diagnosis: Diagnosis::default(),
        run: Join::default(),
    }
}

/// Each request's contribution to the metrics.
pub(crate) fn observations(requests: &Requests, classified: &[Classified]) -> Vec<Observation> {
    requests
        .iter()
        .zip(classified)
        .map(|(r, &(at, limit_ms, verdict))| Observation {
            route: at,
            timestamp: r.first_ts,
            integration_latency_ms: match verdict {
                Some((Kind::Timeout, _)) => Some(timeout_latency_ms(r, limit_ms)),
                _ => r
                    .got_response()
                    .then_some(r.integration_latency_ms)
                    .flatten(),
            },
            timed_out: matches!(verdict, Some((Kind::Timeout, _))),
            waiting: !r.ended(),
        })
        .collect()
}

/// How long a timed-out request waited, as far as the logs show: from sending to
/// giving up, else the access log's latency, else the limit itself.
pub(crate) fn timeout_latency_ms(req: &Request, limit_ms: u64) -> u64 {
    req.elapsed_after_sending_ms()
        .or(req.response_latency_ms)
        .or(req.integration_latency_ms)
        .unwrap_or(limit_ms)
}
