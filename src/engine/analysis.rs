//! The engine: log events in, findings with their diagnoses out.
//!
//! An [`Analyzer`] takes any number of batches (several files, several Kinesis
//! records) as one stream, so that a request whose lines straddle two batches is
//! joined; [`Analyzer::finish`] then classifies every request, computes route
//! health and diagnoses each finding. No IO, no async, no AWS types.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::Arc;

use foldhash::HashMap as FastMap;

use crate::engine::backend_run::{self, FunctionLogs};
use crate::engine::config::EngineConfig;
use crate::engine::diagnosis::{self};
use crate::engine::findings::{self};
use crate::engine::request::{Request, SharedTexts};
use crate::logs::access_log::{self, AccessRecord};
use crate::logs::envelope::{Document, EventVisitor, Header, LogEvent, Source};
use crate::logs::execution_log;
use crate::logs::function_log::{self, FunctionLine};
use crate::model::backend::Backend;
use crate::model::diagnosis::{Diagnosis, RouteHealth};
use crate::model::finding::Finding;
use crate::model::kind::{Cause, Kind};
use crate::model::limits::ApiKind;
use crate::model::provenance::Provenance;
use crate::model::route::Route;
use crate::model::stats::{FunctionStats, RouteKey, RouteStats, RouteVerdict};

/// What the engine read, for the summary and the function's own health metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    pub batches: u64,
    pub log_events: u64,
    pub control_messages: u64,
    pub execution_lines: u64,
    pub access_records: u64,
    pub function_lines: u64,
    /// The function's own output in its log group (read, not used: it is not unrecognised).
    pub application_lines: u64,
    pub unrecognised_lines: u64,
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
    /// The integration latency, for requests whose integration answered; for
    /// timeouts, how long API Gateway waited (at least the limit, as far as the logs show).
    pub integration_latency_ms: Option<u64>,
    pub timed_out: bool,
    /// Its end is still to come (in a later batch, where it is counted).
    pub waiting: bool,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Analysis {
    pub summary: Summary,
    pub findings: Vec<Finding>,
    pub routes: Vec<RouteStats>,
    /// Each route's health facts, in the order of `routes`.
    #[serde(skip)]
    pub route_health: Vec<RouteHealth>,
    pub functions: Vec<FunctionStats>,
    #[serde(skip)]
    pub counters: Counters,
    #[serde(skip)]
    pub observations: Vec<Observation>,
    /// The configured cap on route-level metric series per API stage.
    #[serde(skip)]
    pub max_route_metrics: usize,
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

/// Requests in blocks that never move: a request is ~330 bytes, and a box each costs an
/// allocation per request, while one vector moves them all each time it grows (measured:
/// a quarter of the time).
#[derive(Default)]
struct Requests {
    blocks: Vec<Vec<Request>>,
    len: usize,
}

impl Requests {
    const BLOCK: usize = 256;

    /// Adds a request; its index.
    fn push(&mut self, req: Request) -> usize {
        if self.len % Self::BLOCK == 0 {
            self.blocks.push(Vec::with_capacity(Self::BLOCK));
        }
        if let Some(block) = self.blocks.last_mut() {
            block.push(req);
        }
        self.len += 1;
        self.len - 1
    }

    fn len(&self) -> usize {
        self.len
    }

    fn iter(&self) -> impl Iterator<Item = &Request> {
        self.blocks.iter().flatten()
    }
}

impl std::ops::Index<usize> for Requests {
    type Output = Request;
    fn index(&self, at: usize) -> &Request {
        &self.blocks[at / Self::BLOCK][at % Self::BLOCK]
    }
}

impl std::ops::IndexMut<usize> for Requests {
    fn index_mut(&mut self, at: usize) -> &mut Request {
        &mut self.blocks[at / Self::BLOCK][at % Self::BLOCK]
    }
}

impl<'r> IntoIterator for &'r Requests {
    type Item = &'r Request;
    type IntoIter = std::iter::Flatten<std::slice::Iter<'r, Vec<Request>>>;
    fn into_iter(self) -> Self::IntoIter {
        self.blocks.iter().flatten()
    }
}

impl IntoIterator for Requests {
    type Item = Request;
    type IntoIter = std::iter::Flatten<std::vec::IntoIter<Vec<Request>>>;
    fn into_iter(self) -> Self::IntoIter {
        self.blocks.into_iter().flatten()
    }
}

pub struct Analyzer<'c> {
    config: &'c EngineConfig,
    /// In first-seen order, for deterministic output.
    requests: Requests,
    /// Where each request is in `requests`, with its id's hash (the id itself is not
    /// stored twice, and growing the table rehashes no id).
    index: hashbrown::HashTable<(u64, usize)>,
    hasher: foldhash::fast::RandomState,
    shared: SharedTexts,
    /// Partial requests from earlier batches (the warm container's cache).
    earlier: HashMap<String, Request>,
    /// Requests left out of this analysis: another batch's analysis counts them.
    deferred: HashSet<String>,
    functions: BTreeMap<String, FunctionStats>,
    /// Backend functions' runs, to join requests to (connect or read).
    function_logs: FunctionLogs,
    /// The input holds every event of the function groups over the span it covers.
    function_logs_complete: bool,
    counters: Counters,
    access: access_log::AccessParser,
    /// The document being streamed is a control message (its events are not logs).
    in_control: bool,
    /// The kind of the current document's group (set by `start_document`).
    doc_kind: Option<GroupKind>,
    /// The last source's names, shared by the provenance of its requests.
    source: Option<(Arc<str>, Arc<str>)>,
    /// Synthetic ids (`test-invoke-request`) → the id of their current run: a
    /// test-invoke log can hold several runs under one id, each its own request.
    runs: HashMap<String, (String, u32)>,
}

impl<'c> Analyzer<'c> {
    pub fn new(config: &'c EngineConfig) -> Self {
        Analyzer {
            access: access_log::AccessParser::new(config.access_format.clone()),
            config,
            requests: Requests::default(),
            index: hashbrown::HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
            shared: SharedTexts::default(),
            earlier: HashMap::new(),
            deferred: HashSet::new(),
            functions: BTreeMap::new(),
            function_logs: FunctionLogs::default(),
            function_logs_complete: false,
            counters: Counters::default(),
            in_control: false,
            doc_kind: None,
            source: None,
            runs: HashMap::new(),
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

    /// The function logs given are exports of their whole groups (the CLI): over the
    /// span they cover, a run not in them did not happen. Subscriptions deliver one
    /// log stream at a time, so the Lambda does not say this.
    pub fn with_complete_function_logs(mut self) -> Self {
        self.function_logs_complete = true;
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
            // Not an access record: a delivered (vended) execution-log record?
            if let Some(d) = execution_log::delivered(message) {
                let ts = if ts > 0 {
                    ts
                } else {
                    d.timestamp_ms.unwrap_or(0)
                };
                self.execution_line(src, event_id, &d.request_id, ts, &d.text);
                let at = self.request_at(&d.request_id, src, event_id, ApiKind::Rest);
                self.requests[at].apply_api_stage(d.api_id.as_deref(), d.stage.as_deref());
                return;
            }
        }
        match function_log::parse_line(message) {
            Some(line) => self.add_function_line(src, event_id, ts, &line),
            // In a function's own group every other line is the application's (any shape,
            // multi-line traces too); elsewhere only the runtimes' shapes say so.
            None if group == GroupKind::Function || function_log::is_application_line(message) => {
                self.counters.application_lines += 1;
            }
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
        // Filled in place: a record is ~400 bytes, and there is one per event.
        let mut rec = AccessRecord::default();
        let len = self.access.parse_escaped_at(rest, &mut rec)?;
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

    /// The requests of this analysis so far (for [`crate::engine::orphans`]).
    pub fn requests(&self) -> impl Iterator<Item = &Request> {
        self.requests.iter()
    }

    /// The halves of split requests in this analysis (for `monitor::join`): execution-log
    /// requests that ended here without their beginning, and those that began (here or
    /// in an earlier batch of this container) and still wait for their end.
    ///
    /// The halves are told by the method line, which names the route: a piece with it is
    /// a start, an ended piece without it an end. A piece with neither (a cut just
    /// before `Sending request to`) waits in the container as before. REST only: the
    /// gateway logs the method line of every REST request at INFO level.
    pub fn split_halves(&self) -> (Vec<&Request>, Vec<&Request>) {
        let rest =
            |r: &&Request| r.from_execution_log && !r.from_access_log && r.kind == ApiKind::Rest;
        let ends = self
            .requests()
            .filter(rest)
            .filter(|r| r.ended() && r.method.is_none())
            .collect();
        let starts = self
            .requests()
            .chain(self.earlier.values())
            .filter(rest)
            .filter(|r| !r.ended() && r.method.is_some())
            .collect();
        (ends, starts)
    }

    /// Joins `other`, the other half of a request of this analysis (read back from the
    /// shared state), as if its lines had come in this batch. `false`: no such request.
    pub fn join(&mut self, other: Request) -> bool {
        let hash = self.hasher.hash_one(other.id.as_str());
        let requests = &self.requests;
        let at = match self
            .index
            .find(hash, |&(h, at)| h == hash && requests[at].id == other.id)
        {
            Some(&(_, at)) => at,
            None => match self.earlier.remove(&other.id) {
                Some(earlier) => {
                    let at = self.requests.push(earlier);
                    self.index.insert_unique(hash, (hash, at), |&(h, _)| h);
                    at
                }
                None => return false,
            },
        };
        let here = &mut self.requests[at];
        // The end half absorbs the start half, whichever of them is here.
        if here.ended() {
            here.absorb_earlier(other);
        } else {
            let start = std::mem::replace(here, other);
            here.kind = start.kind;
            here.absorb_earlier(start);
        }
        true
    }

    /// Leaves the request `id` out of this analysis (its metrics and findings): the
    /// batch that brings its other half counts it.
    pub fn defer(&mut self, id: &str) {
        self.deferred.insert(id.to_owned());
    }

    /// A line fetched after the fact (`monitor::lookup`) for a request of this analysis:
    /// joined to its request like any line, but not counted as a log event read.
    pub fn add_fetched(&mut self, src: Source<'_>, event_id: &str, ts: i64, message: &str) {
        if let Some((id, text)) = execution_log::split_request_id(message) {
            self.execution_line(src, event_id, id, ts, text);
        }
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
        let synthetic = request_id.starts_with("test-");
        let kind = if synthetic || looks_like_uuid(request_id) {
            ApiKind::Rest
        } else {
            ApiKind::WebSocket
        };
        let run_id;
        let request_id = if synthetic {
            run_id = self.run_of(request_id, &line);
            run_id.as_str()
        } else {
            request_id
        };
        let req = self.request(request_id, src, event_id, kind);
        req.apply_group(src.log_group);
        req.apply_line(&line, ts);
    }

    /// The request id of a synthetic id's current run: a new run starts when a run
    /// that has ended (its final status logged) sees `Starting execution` or a failure.
    fn run_of(&mut self, id: &str, line: &execution_log::Line<'_>) -> String {
        use execution_log::Line as L;
        let (current, n) = self
            .runs
            .entry(id.to_owned())
            .or_insert_with(|| (id.to_owned(), 0))
            .clone();
        let starts_run = matches!(
            line,
            L::StartingExecution
                | L::Timeout
                | L::ConfigurationError(_)
                | L::FunctionError { .. }
                | L::InvocationFailed { .. }
                | L::OtherFailure(_)
        );
        if !starts_run {
            return current;
        }
        let hash = self.hasher.hash_one(current.as_str());
        let requests = &self.requests;
        let ended = self
            .index
            .find(hash, |&(h, at)| h == hash && requests[at].id == current)
            .is_some_and(|&(_, at)| requests[at].completed);
        if !ended {
            return current;
        }
        let next = format!("{id}#{}", n + 2);
        self.runs.insert(id.to_owned(), (next.clone(), n + 1));
        next
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
                    first_event_id: event_id.into(),
                },
                ..FunctionStats::default()
            });
        f.last_ts = f.last_ts.max(ts);
        self.function_logs.add(name, ts, line);
        match *line {
            FunctionLine::Report {
                duration_ms,
                init_duration_ms,
                timed_out,
                ..
            } => {
                f.runs += 1;
                f.max_duration_ms = f.max_duration_ms.max(duration_ms);
                if let Some(init) = init_duration_ms {
                    f.cold_starts += 1;
                    f.max_init_duration_ms =
                        Some(f.max_init_duration_ms.map_or(init, |m| m.max(init)));
                }
                // A timed-out run logs both `Task timed out` and a REPORT with `Status: timeout`.
                if timed_out {
                    f.report_timeouts += 1;
                    f.own_timeouts = f.own_timeouts.max(f.report_timeouts);
                }
            }
            FunctionLine::TaskTimedOut { seconds, .. } => {
                f.task_timeouts += 1;
                f.own_timeouts = f.own_timeouts.max(f.task_timeouts);
                // Lambda timeouts are whole seconds; the message adds the overshoot.
                let configured = seconds.floor();
                f.configured_timeout_s = Some(
                    f.configured_timeout_s
                        .map_or(configured, |s| s.max(configured)),
                );
            }
            FunctionLine::Start { .. } | FunctionLine::End { .. } | FunctionLine::Platform => {}
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
                    first_event_id: event_id.into(),
                };
                let mut req = Request::new(id, kind, provenance);
                // Checked first: removing from an empty map still hashes the key.
                let earlier = match self.earlier.is_empty() {
                    true => None,
                    false => self.earlier.remove(id),
                };
                if let Some(earlier) = earlier {
                    req.kind = earlier.kind;
                    req.absorb_earlier(earlier);
                }
                let at = self.requests.push(req);
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
        let mut function_logs = self.function_logs;
        if self.function_logs_complete {
            function_logs.mark_seen_complete();
        }
        function_logs.prepare();
        let requests = if self.deferred.is_empty() {
            self.requests
        } else {
            let mut kept = Requests::default();
            for r in self.requests {
                if !self.deferred.contains(&r.id) {
                    kept.push(r);
                }
            }
            kept
        };

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
            stats.info_seen |= req.info_lines > 0;
            match verdict.map(|v| v.0) {
                Some(Kind::Timeout) => {
                    // Censored: the timeout lasted at least its limit.
                    let l = timeout_latency_ms(req, limit_ms);
                    stats.timeouts += 1;
                    stats.censored += 1;
                    stats.censored_min_ms = stats.censored_min_ms.min(l);
                    stats.censored_max_ms = stats.censored_max_ms.max(l);
                }
                Some(Kind::NearLimit) => stats.near_limit += 1,
                Some(Kind::Error) => stats.errors += 1,
                _ => {}
            }
            if verdict.is_none_or(|v| v.0 != Kind::Timeout) && req.got_response() {
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
            s.finish(config.near_limit_ms(s.limit_ms));
        }
        let route_health: Vec<RouteHealth> = routes
            .iter()
            .map(|s| diagnosis::route_health(s, config))
            .collect();
        // API stages whose execution log is at INFO level in what this analysis saw.
        let info_stages: std::collections::BTreeSet<(&str, &str)> = routes
            .iter()
            .filter(|r| r.info_seen)
            .map(|r| (r.key.api_id.as_str(), r.key.stage.as_str()))
            .collect();

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
                run: crate::model::backend_run::Join::default(),
            };
            finding.run = backend_run::join_request(&finding, req, &function_logs);
            let context = diagnosis::Context {
                stage_logs_info: info_stages.contains(&(key.api_id.as_str(), key.stage.as_str())),
            };
            finding.diagnosis =
                diagnosis::diagnose(&finding, req, Some(&route_health[at]), config, context);
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
                    .unwrap_or(crate::model::limits::REST_DEFAULT_MS)
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
                run: crate::model::backend_run::Join::default(),
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
            .collect();
        let mut pending: Vec<Request> = requests.into_iter().filter(|r| !r.ended()).collect();
        pending.extend(self.earlier.into_values());
        let analysis = Analysis {
            summary,
            findings: out,
            routes,
            route_health,
            functions: self.functions.into_values().collect(),
            counters: self.counters,
            observations,
            max_route_metrics: config.max_route_metrics,
        };
        (analysis, pending)
    }
}

/// How long a timed-out request waited, as far as the logs show: from sending to
/// giving up, else the access log's latency, else the limit itself.
fn timeout_latency_ms(req: &Request, limit_ms: u64) -> u64 {
    req.elapsed_after_sending_ms()
        .or(req.response_latency_ms)
        .or(req.integration_latency_ms)
        .unwrap_or(limit_ms)
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
pub(crate) mod tests {
    use super::*;

    use crate::model::diagnosis::{Gap, Remedy, Shown, What};

    fn health<'a>(a: &'a Analysis, r: &RouteStats) -> &'a RouteHealth {
        a.route_health.iter().find(|h| h.key == r.key).unwrap()
    }
    use crate::model::stats::Percentile;

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

    /// Access-log records in, analysis out.
    pub(crate) fn analyse(config: &EngineConfig, records: &[String]) -> Analysis {
        let mut a = Analyzer::new(config);
        let src = Source {
            log_group: "api-access",
            log_stream: "s",
        };
        for (i, r) in records.iter().enumerate() {
            a.add_event(src, &i.to_string(), 1_764_064_800_000 + i as i64, r);
        }
        a.finish().0
    }

    pub(crate) fn rest(id: &str, route: &str, status: u16, latency: u64) -> String {
        let (method, path) = route.split_once(' ').unwrap();
        let timeout = if status == 504 {
            r#","responseType":"INTEGRATION_TIMEOUT","responseLatency":"29010""#.to_owned()
        } else {
            format!(r#","integrationLatency":"{latency}""#)
        };
        format!(
            r#"{{"requestId":"{id}","apiId":"abc123","stage":"prod","httpMethod":"{method}","resourcePath":"{path}","status":"{status}"{timeout}}}"#
        )
    }

    fn route<'a>(a: &'a Analysis, name: &str) -> &'a RouteStats {
        a.routes
            .iter()
            .find(|r| r.key.route.as_str() == name)
            .unwrap()
    }

    #[test]
    fn timeouts_are_censored_observations_not_missing_ones() {
        let mut recs: Vec<String> = (0..80)
            .map(|i| rest(&format!("t{i}"), "POST /pay", 504, 0))
            .collect();
        recs.extend((0..20).map(|i| rest(&format!("f{i}"), "POST /pay", 200, 100 + i)));
        let a = analyse(&EngineConfig::default(), &recs);
        let r = route(&a, "POST /pay");
        assert_eq!(
            (r.requests, r.timeouts, r.observed, r.censored),
            (100, 80, 100, 80)
        );
        assert_eq!((r.responses, r.slow, r.fast), (20, 80, 20));
        let p95 = r.p95.unwrap();
        assert!(p95.at_least && p95.ms == 29_000, "{p95:?}");
        assert!(
            r.p50.unwrap().at_least,
            "80% timed out: the median is among them"
        );
        assert_eq!(r.headroom_pct(), Some(0));
        assert_eq!(r.verdict, RouteVerdict::RoutinelyNearLimit);
        assert_eq!(
            r.max.unwrap(),
            Percentile {
                ms: 29_010,
                at_least: true
            }
        );
        let h = health(&a, r);
        assert_eq!((h.timeouts, h.requests, h.observed), (80, 100, 100));
        assert_eq!(h.p95.map(|p| (p.ms, p.at_least)), Some((29_000, true)));
        // Every finding quotes the same route health.
        assert!(a
            .findings
            .iter()
            .all(|f| f.diagnosis.route.as_ref() == Some(h)));
        // The metrics see the timeouts' latencies too.
        let latencies = a
            .observations
            .iter()
            .filter(|o| o.integration_latency_ms.is_some());
        assert_eq!(latencies.count(), 100);
    }

    #[test]
    fn p95_is_a_lower_bound_from_five_percent_of_timeouts() {
        for (timeouts, at_least) in [(4, false), (5, true)] {
            let mut recs: Vec<String> = (0..timeouts)
                .map(|i| rest(&format!("t{i}"), "GET /x", 504, 0))
                .collect();
            recs.extend(
                (0..100 - timeouts).map(|i| rest(&format!("f{i}"), "GET /x", 200, 100 + i)),
            );
            let a = analyse(&EngineConfig::default(), &recs);
            let p95 = route(&a, "GET /x").p95.unwrap();
            assert_eq!(p95.at_least, at_least, "{timeouts} timeouts: {p95:?}");
        }
    }

    #[test]
    fn no_percentile_below_twenty_observations() {
        for (n, some) in [(19, false), (20, true)] {
            let recs: Vec<String> = (0..n)
                .map(|i| rest(&format!("f{i}"), "GET /x", 200, 100 + i))
                .collect();
            let a = analyse(&EngineConfig::default(), &recs);
            let r = route(&a, "GET /x");
            assert_eq!(r.p95.is_some(), some, "n={n}");
            assert_eq!(r.p50_ms.is_some(), some, "n={n}");
            assert!(r.max.is_some());
        }
    }

    #[test]
    fn a_fast_majority_with_a_slow_tail_is_bimodal_not_routinely_slow() {
        let mut recs: Vec<String> = (0..8)
            .map(|i| rest(&format!("f{i}"), "GET /orders", 200, 150 + i))
            .collect();
        recs.push(rest("s1", "GET /orders", 200, 27_000));
        recs.push(rest("s2", "GET /orders", 200, 27_310));
        let a = analyse(&EngineConfig::default(), &recs);
        let r = route(&a, "GET /orders");
        assert_eq!(r.verdict, RouteVerdict::Bimodal);
        assert_eq!((r.fast, r.slow), (8, 2));
        assert_eq!(r.p95, None);
        let h = health(&a, r);
        assert_eq!(
            (h.verdict, h.fast, h.slow, h.near_ms),
            (RouteVerdict::Bimodal, 8, 2, 23_200)
        );
    }

    #[test]
    fn verdicts_at_their_boundaries() {
        use RouteVerdict::*;
        for (n, slow, verdict) in [
            (0, 0, NoBaseline),
            (4, 4, TooFew),
            (5, 0, Fast),
            (5, 1, Outlier),
            (5, 2, Bimodal),
            (5, 3, RoutinelyNearLimit),
            (10, 5, Bimodal),
            (10, 6, RoutinelyNearLimit),
            (100, 1, Outlier),
        ] {
            assert_eq!(RouteVerdict::of(n, slow), verdict, "n={n} slow={slow}");
        }
    }

    #[test]
    fn http_api_timeouts_are_503s_with_access_log_times() {
        let rec = r#"{"requestId":"KyDfdgZ9oAMEYpA=","apiId":"h1","stage":"$default","routeKey":"GET /slow","status":"503","integrationLatency":"30001","responseLatency":"30012","requestTimeEpoch":"1764064800"}"#;
        let config = EngineConfig::default();
        let mut a = Analyzer::new(&config);
        let src = Source {
            log_group: "http-access",
            log_stream: "s",
        };
        a.add_event(src, "e1", 0, rec);
        let (a, _) = a.finish();
        let f = &a.findings[0];
        assert_eq!(
            (f.kind, f.status, f.limit_ms),
            (Kind::Timeout, Some(503), 30_000)
        );
        assert_eq!(f.timestamp, Some(1_764_064_800_000));
        assert_eq!(f.integration_latency_ms, None, "a timeout is not an answer");
        let d = &f.diagnosis;
        assert_eq!(
            d.headline.what,
            What::HttpTimeout {
                waited_ms: Some(30_012)
            }
        );
        assert_eq!(d.headline.status, Some(503));
        assert_eq!(
            d.shows,
            [Shown::HttpTimeoutStatus {
                status: 503,
                integration_latency_ms: Some(30_001)
            }]
        );
        assert!(d.remedies.contains(&Remedy::ClientRetryIdempotent {
            timeout_status: 503
        }));
        let r = &a.routes[0];
        assert_eq!((r.responses, r.censored), (0, 1));
    }

    #[test]
    fn an_answer_above_the_limit_says_the_limit_is_wrong() {
        let a = analyse(
            &EngineConfig::default(),
            &[rest("r1", "POST /report", 200, 45_000)],
        );
        let d = &a.findings[0].diagnosis;
        assert_eq!(
            (&d.headline.what, d.headline.limit_ms),
            (&What::AnsweredAfterLimit { latency_ms: 45_000 }, 29_000)
        );
        assert_eq!(
            d.shows,
            [Shown::LimitHigherThanAssumed {
                latency_ms: 45_000,
                api_id: "abc123".into(),
                stage: "prod".into()
            }]
        );
    }

    #[test]
    fn orphaned_timeouts_on_an_info_stage_do_not_ask_for_info_logging() {
        let config = EngineConfig::default();
        let mut a = Analyzer::new(&config);
        let exec = Source {
            log_group: "API-Gateway-Execution-Logs_abc123/prod",
            log_stream: "s",
        };
        for (i, line) in [
            "(aaaaaaaa-0000-4000-8000-000000000001) Starting execution for request: aaaaaaaa-0000-4000-8000-000000000001",
            "(aaaaaaaa-0000-4000-8000-000000000001) HTTP Method: GET, Resource Path: /health",
            "(aaaaaaaa-0000-4000-8000-000000000001) Method completed with status: 200",
            "(bbbbbbbb-0000-4000-8000-000000000002) Execution failed due to a timeout error",
            "(bbbbbbbb-0000-4000-8000-000000000002) Method completed with status: 504",
        ]
        .iter()
        .enumerate()
        {
            a.add_event(exec, &i.to_string(), 1_764_064_800_000, line);
        }
        // The orphan's access-log record names its route.
        let access = Source {
            log_group: "api-access",
            log_stream: "s",
        };
        a.add_event(access, "x", 1_764_064_800_000, r#"{"requestId":"bbbbbbbb-0000-4000-8000-000000000002","httpMethod":"POST","resourcePath":"/orders","status":"504","responseType":"INTEGRATION_TIMEOUT"}"#);
        let (a, _) = a.finish();
        let f = a.findings.iter().find(|f| f.kind == Kind::Timeout).unwrap();
        assert_eq!(f.route.as_str(), "POST /orders");
        let d = &f.diagnosis;
        assert!(
            !d.remedies.contains(&Remedy::TurnOnInfoLogging),
            "{:?}",
            d.remedies
        );
        assert_eq!(d.cannot_show, [Gap::LinesElsewhere]);
        assert!(f.diagnosis.insights_query.is_some());
    }

    #[test]
    fn runs_that_share_a_synthetic_id_stay_separate_findings() {
        let config = EngineConfig::default();
        let mut a = Analyzer::new(&config);
        let src = Source {
            log_group: "test-invoke.txt",
            log_stream: "",
        };
        let id = "test-invoke-request";
        for (i, text) in [
            "Starting execution for request: test-invoke-request",
            "Execution failed due to configuration error: Invalid permissions on Lambda function",
            "Method completed with status: 500",
            "Starting execution for request: test-invoke-request",
            "Execution failed due to configuration error: Malformed Lambda proxy response",
            "Method completed with status: 502",
            // A third run without its `Starting execution` line.
            "Execution failed due to configuration error: Rate Exceeded.",
            "Method completed with status: 500",
        ]
        .iter()
        .enumerate()
        {
            a.add_execution_line(src, &i.to_string(), id, 1_000 + i as i64, text);
        }
        let (a, _) = a.finish();
        let causes: Vec<Cause> = a.findings.iter().map(|f| f.cause).collect();
        assert_eq!(
            causes,
            [
                Cause::LambdaPermissions,
                Cause::MalformedProxyResponse,
                Cause::LambdaThrottled
            ]
        );
        assert_eq!(a.summary.requests, 3);
        // Real ids are never split.
        let mut b = Analyzer::new(&config);
        for (i, text) in [
            "Execution failed due to configuration error: Invalid permissions on Lambda function",
            "Method completed with status: 500",
            "Execution failed due to configuration error: Malformed Lambda proxy response",
        ]
        .iter()
        .enumerate()
        {
            b.add_execution_line(
                src,
                &i.to_string(),
                "aaaaaaaa-0000-4000-8000-000000000001",
                1,
                text,
            );
        }
        assert_eq!(b.finish().0.summary.requests, 1);
    }

    #[test]
    fn an_aws_service_4xx_is_an_integration_role_finding() {
        let config = EngineConfig::default();
        let mut a = Analyzer::new(&config);
        let src = Source {
            log_group: "API-Gateway-Execution-Logs_abc123/prod",
            log_stream: "s",
        };
        for (i, line) in [
            "(cccccccc-0000-4000-8000-000000000003) Starting execution for request: cccccccc-0000-4000-8000-000000000003",
            "(cccccccc-0000-4000-8000-000000000003) HTTP Method: POST, Resource Path: /jobs",
            "(cccccccc-0000-4000-8000-000000000003) Method request path: {}",
            "(cccccccc-0000-4000-8000-000000000003) Sending request to https://sqs.us-east-1.amazonaws.com/123456789012/jobs",
            "(cccccccc-0000-4000-8000-000000000003) Received response. Status: 403, Integration latency: 12 ms",
            "(cccccccc-0000-4000-8000-000000000003) Method completed with status: 200",
        ]
        .iter()
        .enumerate()
        {
            a.add_event(src, &i.to_string(), 1_764_064_800_000, line);
        }
        let (a, _) = a.finish();
        let f = &a.findings[0];
        assert_eq!((f.kind, f.cause), (Kind::Error, Cause::AwsServiceRejected));
        let d = &f.diagnosis;
        assert_eq!(
            d.remedies[0],
            Remedy::FixServiceCall {
                integration_status: Some(403)
            }
        );
        assert!(d.shows.iter().any(|s| matches!(
            s,
            Shown::ServiceRefused {
                integration_status: Some(403),
                ..
            }
        )));
    }

    #[test]
    fn near_limit_threshold_is_exact() {
        let c = EngineConfig::default();
        assert_eq!(c.near_limit_ms(29_000), 23_200);
        assert_eq!(c.near_limit_ms(30_000), 24_000);
    }
}
