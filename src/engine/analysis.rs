//! The engine: log events in, findings with their diagnoses out.
//!
//! An [`Analyzer`] takes any number of batches (several files, several Kinesis
//! records) as one stream, so that a request whose lines straddle two batches is
//! joined; [`Analyzer::finish`] then classifies every request, computes route
//! health and diagnoses each finding. No IO, no async, no AWS types.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::sync::Arc;

use foldhash::HashMap as FastMap;

use crate::engine::backend::Backend;
use crate::engine::diagnosis::{self, Diagnosis};
use crate::engine::findings::{self, Cause, Kind};
use crate::engine::limits::{ApiKind, Limits};
use crate::engine::request::{Provenance, Request, SharedTexts};
use crate::engine::route::Route;
use crate::logs::access_log::{self, AccessFormat, AccessRecord};
use crate::logs::envelope::{Document, EventVisitor, Header, LogEvent};
use crate::logs::execution_log;
use crate::logs::function_log::{self, FunctionLine};

pub const DEFAULT_NEAR_LIMIT_RATIO: f64 = 0.8;

/// Everything the engine needs to know; built once.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub limits: Limits,
    /// Near-limit threshold as a fraction of the limit, in (0, 1].
    pub near_limit_ratio: f64,
    pub access_format: Option<AccessFormat>,
    /// The region for console links when the logs do not name one.
    pub region: Option<String>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            limits: Limits::default(),
            near_limit_ratio: DEFAULT_NEAR_LIMIT_RATIO,
            access_format: None,
            region: None,
        }
    }
}

impl EngineConfig {
    /// The ratio in millionths: integer comparisons make 0.8 × 29000 exactly 23200.
    pub fn ratio_ppm(&self) -> u64 {
        (self.near_limit_ratio * 1_000_000.0).round() as u64
    }

    pub fn near_limit_ms(&self, limit_ms: u64) -> u64 {
        (limit_ms * self.ratio_ppm()).div_ceil(1_000_000)
    }
}

/// What the engine read, for the summary and the function's own health metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    pub batches: u64,
    pub log_events: u64,
    pub control_messages: u64,
    pub execution_lines: u64,
    pub access_records: u64,
    pub function_lines: u64,
    pub unrecognised_lines: u64,
}

/// One Lambda backend's runs, from its own log group.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct FunctionStats {
    pub name: String,
    pub runs: u64,
    pub max_duration_ms: f64,
    /// Runs ended by the function's own timeout.
    pub own_timeouts: u64,
    #[serde(skip)]
    report_timeouts: u64,
    #[serde(skip)]
    task_timeouts: u64,
    /// The largest `Task timed out after N seconds`: the function's configured timeout.
    pub configured_timeout_s: Option<f64>,
    #[serde(skip)]
    pub provenance: Provenance,
    #[serde(skip)]
    pub last_ts: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct RouteKey {
    pub api_id: String,
    pub stage: String,
    pub route: Route,
}

/// How the requests of one route did: tells one slow request from a route that lives near the limit.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RouteStats {
    #[serde(flatten)]
    pub key: RouteKey,
    pub api_kind: ApiKind,
    pub limit_ms: u64,
    pub requests: u64,
    pub timeouts: u64,
    pub near_limit: u64,
    pub errors: u64,
    /// Requests whose integration answered (the latencies below are theirs).
    pub responses: u64,
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    pub max_ms: Option<u64>,
    #[serde(skip)]
    pub latencies: Vec<u64>,
}

impl RouteStats {
    /// Remaining headroom of the p95 under the limit, in percent.
    pub fn headroom_pct(&self) -> Option<i64> {
        let p95 = self.p95_ms? as i64;
        Some((self.limit_ms as i64 - p95) * 100 / self.limit_ms.max(1) as i64)
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Finding {
    pub kind: Kind,
    pub cause: Cause,
    pub request_id: Option<String>,
    pub api_id: String,
    pub stage: String,
    pub route: Route,
    pub api_kind: ApiKind,
    pub status: Option<u16>,
    pub invoked: Option<bool>,
    pub integration_latency_ms: Option<u64>,
    /// From sending the request to the integration until giving up.
    pub elapsed_ms: Option<u64>,
    pub limit_ms: u64,
    pub backend: Option<Backend>,
    /// Epoch milliseconds of the request's first line we saw.
    pub timestamp: Option<i64>,
    /// Epoch milliseconds of when the answer (the 504) went out: the failure line, else
    /// the request's last line. Alerts show this time for a timeout.
    #[serde(skip)]
    pub ended_at: Option<i64>,
    pub lambda_request_id: Option<String>,
    pub xray_trace_id: Option<String>,
    /// Redacted failure text (error findings).
    pub detail: Option<String>,
    /// Misconfiguration: the function concerned and its runs.
    pub function: Option<FunctionStats>,
    pub provenance: Provenance,
    pub diagnosis: Diagnosis,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub log_events: u64,
    pub requests: u64,
    pub timeouts: u64,
    pub near_limit: u64,
    pub errors: u64,
    pub misconfigurations: u64,
    pub unrecognised_lines: u64,
    pub control_messages: u64,
}

/// One request's contribution to the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    /// Index into [`Analysis::routes`].
    pub route: usize,
    /// Epoch ms of the request's first line, if the logs carried one.
    pub timestamp: Option<i64>,
    /// The integration latency, for requests whose integration answered.
    pub integration_latency_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Analysis {
    pub summary: Summary,
    pub findings: Vec<Finding>,
    pub routes: Vec<RouteStats>,
    pub functions: Vec<FunctionStats>,
    #[serde(skip)]
    pub counters: Counters,
    #[serde(skip)]
    pub observations: Vec<Observation>,
}

/// Where a batch came from.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub log_group: &'a str,
    pub log_stream: &'a str,
}

impl<'a> From<&'a Header<'_>> for Source<'a> {
    fn from(header: &'a Header<'_>) -> Self {
        Source {
            log_group: &header.log_group,
            log_stream: &header.log_stream,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GroupKind {
    Execution,
    Function,
    Unknown,
}

impl GroupKind {
    fn of(log_group: &str) -> GroupKind {
        if execution_log::api_stage_from_group(log_group).is_some() {
            GroupKind::Execution
        } else if function_log::function_from_group(log_group).is_some() {
            GroupKind::Function
        } else {
            GroupKind::Unknown
        }
    }
}

pub struct Analyzer<'c> {
    config: &'c EngineConfig,
    /// In first-seen order, for deterministic output. Boxed: a request is large, and
    /// growing the vector then moves pointers, not requests.
    #[allow(clippy::vec_box)] // measured: moving 600-byte requests cost a quarter of the time
    requests: Vec<Box<Request>>,
    /// Where each request is in `requests`, with its id's hash (the id itself is not
    /// stored twice, and growing the table rehashes no id).
    index: hashbrown::HashTable<(u64, usize)>,
    hasher: foldhash::fast::RandomState,
    shared: SharedTexts,
    /// Partial requests from earlier batches (the warm container's cache).
    earlier: HashMap<String, Request>,
    functions: BTreeMap<String, FunctionStats>,
    counters: Counters,
    access: access_log::AccessParser,
    /// The document being streamed is a control message (its events are not logs).
    in_control: bool,
    /// The kind of the current document's group (set by `start_document`).
    doc_kind: Option<GroupKind>,
    /// The last source's names, shared by the provenance of its requests.
    source: Option<(Arc<str>, Arc<str>)>,
}

impl<'c> Analyzer<'c> {
    pub fn new(config: &'c EngineConfig) -> Self {
        Analyzer {
            access: access_log::AccessParser::new(config.access_format.clone()),
            config,
            requests: Vec::new(),
            index: hashbrown::HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
            shared: SharedTexts::default(),
            earlier: HashMap::new(),
            functions: BTreeMap::new(),
            counters: Counters::default(),
            in_control: false,
            doc_kind: None,
            source: None,
        }
    }

    /// What has been read so far (the CLI's per-file unrecognised share).
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Partial requests remembered from batches this instance saw before.
    pub fn with_earlier(mut self, earlier: impl IntoIterator<Item = Request>) -> Self {
        self.earlier = earlier.into_iter().map(|r| (r.id.clone(), r)).collect();
        self
    }

    pub fn add_document(&mut self, doc: &Document<'_>) {
        if self.start_document(&doc.header) {
            for ev in &doc.log_events {
                self.add_log_event(&doc.header, ev);
            }
        }
    }

    /// Counts a document; false when its events are not log lines (a control message).
    pub fn start_document(&mut self, header: &Header<'_>) -> bool {
        self.counters.batches += 1;
        self.doc_kind = Some(GroupKind::of(&header.log_group));
        if header.is_control() {
            self.counters.control_messages += 1;
            return false;
        }
        true
    }

    /// The kind of the current document's group (`log_group`'s, outside a document).
    fn group_kind(&self, log_group: &str) -> GroupKind {
        self.doc_kind.unwrap_or_else(|| GroupKind::of(log_group))
    }

    /// One event of the document that [`Analyzer::start_document`] last accepted.
    pub fn add_log_event(&mut self, header: &Header<'_>, event: &LogEvent<'_>) {
        let src = Source::from(header);
        let group = self.group_kind(src.log_group);
        self.add_event_of(group, src, &event.id, event.timestamp, &event.message);
    }

    /// One log event of any kind; what it is comes from the group and its shape.
    pub fn add_event(&mut self, src: Source<'_>, event_id: &str, ts: i64, message: &str) {
        self.add_event_of(GroupKind::of(src.log_group), src, event_id, ts, message);
    }

    fn add_event_of(
        &mut self,
        group: GroupKind,
        src: Source<'_>,
        event_id: &str,
        ts: i64,
        message: &str,
    ) {
        self.counters.log_events += 1;
        if group != GroupKind::Function {
            if let Some((id, text)) = execution_log::split_request_id(message) {
                self.execution_line(src, event_id, id, ts, text);
                return;
            }
            if group == GroupKind::Execution {
                self.counters.unrecognised_lines += 1;
                return;
            }
            if let Some(rec) = self.access.parse(message) {
                self.add_access_record(src, event_id, ts, &rec);
                return;
            }
        }
        match function_log::parse_line(message) {
            Some(line) => self.add_function_line(src, event_id, ts, &line),
            None => self.counters.unrecognised_lines += 1,
        }
    }

    /// One event of the document that [`Analyzer::start_document`] last accepted,
    /// whose message still has its JSON escapes (see
    /// [`EventVisitor::escaped_event`]): a flat JSON access-log record is read as it
    /// stands; anything else is unescaped and goes to [`Analyzer::add_event`].
    pub fn add_escaped_event(
        &mut self,
        header: &Header<'_>,
        event_id: &str,
        ts: i64,
        escaped: &str,
    ) {
        let src = Source::from(header);
        let group = self.group_kind(src.log_group);
        if group == GroupKind::Execution {
            // Escapes are in bodies: a body line is known by its prefix, which comes
            // before the first escape, and its body is never read, so it is not unescaped.
            let head = memchr::memchr(b'\\', escaped.as_bytes()).map_or(escaped, |i| &escaped[..i]);
            if let Some((id, text)) = execution_log::split_request_id(head) {
                if execution_log::is_body_line(text) {
                    self.counters.log_events += 1;
                    return self.execution_line(src, event_id, id, ts, text);
                }
            }
        } else if group == GroupKind::Unknown {
            if let Some(rec) = self.access.parse_escaped(escaped) {
                self.counters.log_events += 1;
                self.add_access_record(src, event_id, ts, &rec);
                return;
            }
        }
        let message = crate::logs::envelope::unescape(escaped);
        self.add_event_of(group, src, event_id, ts, &message);
    }

    /// A JSON access-log record read where it stands in the subscription document
    /// (see `envelope::EventVisitor::event_in_place`), for an event of the document
    /// [`Analyzer::start_document`] last accepted: the message's length if it was
    /// one, else None and the event is to come through the usual way.
    pub fn add_access_in_place(
        &mut self,
        header: &Header<'_>,
        event_id: &str,
        ts: i64,
        rest: &str,
    ) -> Option<usize> {
        if self.doc_kind != Some(GroupKind::Unknown) {
            return None;
        }
        let src = Source::from(header);
        let (rec, len) = self.access.parse_escaped_at(rest)?;
        self.counters.log_events += 1;
        self.add_access_record(src, event_id, ts, &rec);
        Some(len)
    }

    fn add_access_record(
        &mut self,
        src: Source<'_>,
        event_id: &str,
        ts: i64,
        rec: &AccessRecord<'_>,
    ) {
        self.counters.access_records += 1;
        let id = rec
            .id()
            .map_or_else(|| Cow::Owned(format!("event:{event_id}")), Cow::Borrowed);
        let at = self.request_at(&id, src, event_id, ApiKind::Rest);
        self.requests[at].apply_access(rec, ts, &mut self.shared);
    }

    /// One execution-log line whose request id is known (also used by text readers
    /// of formats that carry the id elsewhere, like the console's test-invoke log).
    pub fn add_execution_line(
        &mut self,
        src: Source<'_>,
        event_id: &str,
        request_id: &str,
        ts: i64,
        text: &str,
    ) {
        self.counters.log_events += 1;
        self.execution_line(src, event_id, request_id, ts, text);
    }

    fn execution_line(
        &mut self,
        src: Source<'_>,
        event_id: &str,
        request_id: &str,
        ts: i64,
        text: &str,
    ) {
        let line = execution_log::parse_line(text);
        if matches!(line, execution_log::Line::Unrecognised) {
            self.counters.unrecognised_lines += 1;
        } else {
            self.counters.execution_lines += 1;
        }
        // Non-UUID ids (`PDS1PEC4oAMFpyA=`) are WebSocket requests.
        let kind = if looks_like_uuid(request_id) || request_id.starts_with("test-") {
            ApiKind::Rest
        } else {
            ApiKind::WebSocket
        };
        let req = self.request(request_id, src, event_id, kind);
        req.apply_group(src.log_group);
        req.apply_line(&line, ts);
    }

    fn add_function_line(
        &mut self,
        src: Source<'_>,
        event_id: &str,
        ts: i64,
        line: &FunctionLine<'_>,
    ) {
        self.counters.function_lines += 1;
        let name = function_log::function_from_group(src.log_group).unwrap_or("unknown function");
        let f = self
            .functions
            .entry(name.to_owned())
            .or_insert_with(|| FunctionStats {
                name: name.to_owned(),
                provenance: Provenance {
                    log_group: src.log_group.into(),
                    log_stream: src.log_stream.into(),
                    first_event_id: event_id.to_owned(),
                },
                ..FunctionStats::default()
            });
        f.last_ts = f.last_ts.max(ts);
        match *line {
            FunctionLine::Report {
                duration_ms,
                timed_out,
                ..
            } => {
                f.runs += 1;
                f.max_duration_ms = f.max_duration_ms.max(duration_ms);
                // A timed-out run logs both `Task timed out` and a REPORT with `Status: timeout`.
                if timed_out {
                    f.report_timeouts += 1;
                    f.own_timeouts = f.own_timeouts.max(f.report_timeouts);
                }
            }
            FunctionLine::TaskTimedOut { seconds } => {
                f.task_timeouts += 1;
                f.own_timeouts = f.own_timeouts.max(f.task_timeouts);
                // Lambda timeouts are whole seconds; the message adds the overshoot.
                let configured = seconds.floor();
                f.configured_timeout_s = Some(
                    f.configured_timeout_s
                        .map_or(configured, |s| s.max(configured)),
                );
            }
            FunctionLine::Platform => {}
        }
    }

    fn request(
        &mut self,
        id: &str,
        src: Source<'_>,
        event_id: &str,
        kind: ApiKind,
    ) -> &mut Request {
        let at = self.request_at(id, src, event_id, kind);
        &mut self.requests[at]
    }

    /// Where the request `id` is in `requests` (added if new).
    fn request_at(&mut self, id: &str, src: Source<'_>, event_id: &str, kind: ApiKind) -> usize {
        let hash = self.hasher.hash_one(id);
        let requests = &self.requests;
        let at = match self
            .index
            .find(hash, |&(h, at)| h == hash && requests[at].id == id)
        {
            Some(&(_, at)) => at,
            None => {
                // One shared copy of the group and stream names per document, not per request.
                if self
                    .source
                    .as_ref()
                    .is_none_or(|(g, s)| **g != *src.log_group || **s != *src.log_stream)
                {
                    self.source = Some((src.log_group.into(), src.log_stream.into()));
                }
                let (log_group, log_stream) = self.source.clone().unwrap_or_default();
                let provenance = Provenance {
                    log_group,
                    log_stream,
                    first_event_id: event_id.to_owned(),
                };
                let mut req = Box::new(Request::new(id, kind, provenance));
                // Checked first: removing from an empty map still hashes the key.
                let earlier = match self.earlier.is_empty() {
                    true => None,
                    false => self.earlier.remove(id),
                };
                if let Some(earlier) = earlier {
                    req.kind = earlier.kind;
                    req.absorb_earlier(earlier);
                }
                self.requests.push(req);
                let at = self.requests.len() - 1;
                self.index.insert_unique(hash, (hash, at), |&(h, _)| h);
                at
            }
        };
        at
    }

    /// Classifies, measures and diagnoses. Also returns the requests still waiting
    /// for their end (and the earlier ones not seen again), for the split-request cache.
    pub fn finish(self) -> (Analysis, Vec<Request>) {
        let config = self.config;
        let ppm = config.ratio_ppm();
        let requests = self.requests;

        // Per request: its route, limit and finding (if any). A route is found by its
        // key written into a reused buffer, so a route seen before costs no allocation.
        let mut routes: Vec<RouteStats> = Vec::new();
        let mut route_at: FastMap<String, usize> = FastMap::default();
        let mut key = String::new();
        let mut classified = Vec::with_capacity(requests.len());
        for req in &requests {
            key.clear();
            for part in [req.api_id_or_unknown(), req.stage_or_unknown()] {
                key.push_str(part);
                key.push('\u{1f}');
            }
            let route_starts = key.len();
            req.write_route(&mut key);
            let at = match route_at.get(key.as_str()) {
                Some(&at) => at,
                None => {
                    let key_ = RouteKey {
                        api_id: req.api_id_or_unknown().to_owned(),
                        stage: req.stage_or_unknown().to_owned(),
                        route: Route::from_written(key[route_starts..].to_owned()),
                    };
                    routes.push(RouteStats {
                        limit_ms: config.limits.limit_ms(
                            req.kind,
                            &key_.api_id,
                            &key_.stage,
                            &key_.route,
                        ),
                        key: key_,
                        api_kind: req.kind,
                        requests: 0,
                        timeouts: 0,
                        near_limit: 0,
                        errors: 0,
                        responses: 0,
                        p50_ms: None,
                        p95_ms: None,
                        max_ms: None,
                        latencies: Vec::new(),
                    });
                    route_at.insert(key.clone(), routes.len() - 1);
                    routes.len() - 1
                }
            };
            let stats = &mut routes[at];
            let limit_ms = if req.kind == stats.api_kind {
                stats.limit_ms
            } else {
                let k = &stats.key;
                config
                    .limits
                    .limit_ms(req.kind, &k.api_id, &k.stage, &k.route)
            };
            let verdict = findings::classify(req, limit_ms, ppm);
            stats.requests += 1;
            match verdict.map(|v| v.0) {
                Some(Kind::Timeout) => stats.timeouts += 1,
                Some(Kind::NearLimit) => stats.near_limit += 1,
                Some(Kind::Error) => stats.errors += 1,
                _ => {}
            }
            if req.got_response() {
                if let Some(l) = req.integration_latency_ms {
                    stats.latencies.push(l);
                }
            }
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
            s.latencies.sort_unstable();
            s.responses = s.latencies.len() as u64;
            s.p50_ms = percentile(&s.latencies, 50);
            s.p95_ms = percentile(&s.latencies, 95);
            s.max_ms = s.latencies.last().copied();
        }

        let mut out = Vec::new();
        for (req, &(at, limit_ms, verdict)) in requests.iter().zip(&classified) {
            let Some((kind, cause)) = verdict else {
                continue;
            };
            let route_stats = &routes[at];
            let key = &route_stats.key;
            let function = req
                .backend
                .as_deref()
                .and_then(Backend::lambda_name)
                .and_then(|n| self.functions.get(n));
            let mut finding = Finding {
                kind,
                cause,
                request_id: Some(req.id.clone()),
                api_id: key.api_id.clone(),
                stage: key.stage.clone(),
                route: key.route.clone(),
                api_kind: req.kind,
                status: req.status.or(match kind {
                    Kind::Timeout if req.kind != ApiKind::Http => Some(504),
                    _ => None,
                }),
                invoked: req.invoked(),
                integration_latency_ms: req
                    .got_response()
                    .then_some(req.integration_latency_ms)
                    .flatten(),
                elapsed_ms: req.elapsed_after_sending_ms(),
                limit_ms,
                backend: req.backend.as_deref().cloned(),
                timestamp: req.first_ts,
                ended_at: req.failed_ts.or(req.last_ts),
                lambda_request_id: req.lambda_request_id.as_deref().map(str::to_owned),
                xray_trace_id: req.xray_trace_id.as_deref().map(str::to_owned),
                detail: req
                    .failure_detail
                    .as_deref()
                    .or(req.integration_error.as_deref())
                    .map(str::to_owned),
                function: function.cloned(),
                provenance: req.provenance.clone(),
                diagnosis: Diagnosis::default(),
            };
            finding.diagnosis = diagnosis::diagnose(&finding, req, Some(route_stats), config);
            out.push(finding);
        }

        // Backends that run longer than the gateway waits, with the routes that call them.
        let mut callers: HashMap<&str, std::collections::BTreeSet<usize>> = HashMap::new();
        if !self.functions.is_empty() {
            for (r, &(at, _, _)) in requests.iter().zip(&classified) {
                if let Some(name) = r.backend.as_deref().and_then(Backend::lambda_name) {
                    callers.entry(name).or_default().insert(at);
                }
            }
        }
        for f in self.functions.values() {
            let users: Vec<&RouteStats> = callers
                .get(f.name.as_str())
                .into_iter()
                .flatten()
                .map(|&at| &routes[at])
                .collect();
            let limit_ms = users.iter().map(|s| s.limit_ms).min().unwrap_or_else(|| {
                config
                    .limits
                    .default_ms
                    .unwrap_or(crate::engine::limits::REST_DEFAULT_MS)
            });
            let configured_ms = f.configured_timeout_s.map(|s| (s * 1000.0) as u64);
            let over =
                configured_ms.is_some_and(|c| c > limit_ms) || f.max_duration_ms > limit_ms as f64;
            if !over {
                continue;
            }
            let (api_id, stage, route) = users.first().map_or_else(
                || ("unknown".to_owned(), "unknown".to_owned(), Route::unknown()),
                |s| {
                    (
                        s.key.api_id.clone(),
                        s.key.stage.clone(),
                        s.key.route.clone(),
                    )
                },
            );
            let mut finding = Finding {
                kind: Kind::Misconfiguration,
                cause: Cause::FunctionTimeoutOverLimit,
                request_id: None,
                api_id,
                stage,
                route,
                api_kind: users.first().map_or(ApiKind::Rest, |s| s.api_kind),
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
            };
            finding.diagnosis = diagnosis::diagnose_function(&finding, f, config);
            out.push(finding);
        }

        // Worst first: kind, then time.
        out.sort_by(|a, b| a.kind.cmp(&b.kind).then(a.timestamp.cmp(&b.timestamp)));
        let count = |k: Kind| out.iter().filter(|f| f.kind == k).count() as u64;
        let summary = Summary {
            log_events: self.counters.log_events,
            requests: requests.len() as u64,
            timeouts: count(Kind::Timeout),
            near_limit: count(Kind::NearLimit),
            errors: count(Kind::Error),
            misconfigurations: count(Kind::Misconfiguration),
            unrecognised_lines: self.counters.unrecognised_lines,
            control_messages: self.counters.control_messages,
        };
        let observations = requests
            .iter()
            .zip(&classified)
            .map(|(r, &(at, _, _))| Observation {
                route: at,
                timestamp: r.first_ts,
                integration_latency_ms: r
                    .got_response()
                    .then_some(r.integration_latency_ms)
                    .flatten(),
            })
            .collect();
        let mut pending: Vec<Request> = requests
            .into_iter()
            .filter(|r| !r.completed && !r.timed_out && r.failure.is_none())
            .map(|r| *r)
            .collect();
        pending.extend(self.earlier.into_values());
        let analysis = Analysis {
            summary,
            findings: out,
            routes,
            functions: self.functions.into_values().collect(),
            counters: self.counters,
            observations,
        };
        (analysis, pending)
    }
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[u64], p: u64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as u64).div_ceil(100).max(1) as usize;
    sorted.get(rank - 1).copied()
}

fn looks_like_uuid(s: &str) -> bool {
    s.len() == 36 && s.bytes().filter(|b| *b == b'-').count() == 4
}

/// Streams payloads straight into the engine (the CLI, benches); the handler's own
/// visitor adds redelivery checks.
impl<'a> EventVisitor<'a> for Analyzer<'_> {
    fn document(&mut self, header: &Header<'a>) {
        self.in_control = !self.start_document(header);
    }
    fn event(&mut self, header: &Header<'a>, event: LogEvent<'a>) {
        if !self.in_control {
            self.add_log_event(header, &event);
        }
    }
    fn escaped_event(&mut self, header: &Header<'a>, id: Cow<'a, str>, ts: i64, escaped: &'a str) {
        if !self.in_control {
            self.add_escaped_event(header, &id, ts, escaped);
        }
    }
    fn event_in_place(
        &mut self,
        header: &Header<'a>,
        id: &str,
        ts: i64,
        rest: &'a str,
    ) -> Option<usize> {
        if self.in_control {
            return None;
        }
        self.add_access_in_place(header, id, ts, rest)
    }
}

/// Analyses documents in one go (the CLI and tests).
pub fn analyze_documents<'d>(
    config: &EngineConfig,
    docs: impl IntoIterator<Item = &'d Document<'d>>,
) -> Analysis {
    let mut a = Analyzer::new(config);
    for d in docs {
        a.add_document(d);
    }
    a.finish().0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 95), Some(95));
        assert_eq!(percentile(&v, 50), Some(50));
        assert_eq!(percentile(&[7], 95), Some(7));
        assert_eq!(percentile(&[], 95), None);
    }

    #[test]
    fn body_lines_with_escapes_read_as_unescaped() {
        let header = Header {
            message_type: "DATA_MESSAGE".into(),
            log_group: "API-Gateway-Execution-Logs_abc/prod".into(),
            log_stream: "s".into(),
            ..Header::default()
        };
        let lines = [
            r#"(r1) Endpoint response body before transformations: {\"errorMessage\":\"Execution failed due to a timeout error\"}"#,
            r#"(r1) Method response body after transformations: \"x\""#,
            r#"(r1) Execution failed due to an \"odd\" error"#,
            r#"(r\"1) Endpoint request body after transformations: {}"#,
        ];
        let summary = |escaped: bool| {
            let config = EngineConfig::default();
            let mut a = Analyzer::new(&config);
            for (i, l) in lines.iter().enumerate() {
                if escaped {
                    a.add_escaped_event(&header, &i.to_string(), 1, l);
                } else {
                    let src = Source {
                        log_group: &header.log_group,
                        log_stream: "s",
                    };
                    a.add_event(src, &i.to_string(), 1, &crate::logs::envelope::unescape(l));
                }
            }
            let (analysis, _) = a.finish();
            serde_json::to_string(&analysis).unwrap()
        };
        assert_eq!(summary(true), summary(false));
        assert!(
            summary(true).contains("\"timeouts\":0"),
            "{}",
            summary(true)
        );
    }

    #[test]
    fn near_limit_threshold_is_exact() {
        let c = EngineConfig::default();
        assert_eq!(c.near_limit_ms(29_000), 23_200);
        assert_eq!(c.near_limit_ms(30_000), 24_000);
    }
}
