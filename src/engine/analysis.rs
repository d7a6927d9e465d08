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

use crate::engine::backend_run::FunctionLogs;
use crate::engine::config::EngineConfig;
use crate::engine::diagnosis::{self};
use crate::engine::finish::{self, Observation};
use crate::engine::request::{Request, SharedTexts};
use crate::engine::requests::Requests;
use crate::logs::access_log::{self, AccessRecord};
use crate::logs::envelope::{Document, EventVisitor, Header, LogEvent, Source};
use crate::logs::execution_log;
use crate::logs::function_log::{self, FunctionLine};
use crate::model::diagnosis::RouteHealth;
use crate::model::finding::Finding;
use crate::model::kind::Kind;
use crate::model::limits::ApiKind;
use crate::model::provenance::Provenance;
use crate::model::stats::{FunctionStats, RouteStats};

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
    /// The accounts (`owner`) whose logs were read: open incidents of other accounts
    /// do not take this batch's traffic ([`crate::engine::route_traffic`]).
    #[serde(skip)]
    pub accounts: std::collections::BTreeSet<String>,
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
    /// The current document's account (`owner`), shared the same way.
    account: Option<Arc<str>>,
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
            account: None,
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
        let owner = Some(&*header.owner).filter(|o| !o.is_empty());
        if self.account.as_deref() != owner {
            self.account = owner.map(Arc::from);
            if let Some(o) = owner {
                self.counters.accounts.insert(o.to_owned());
            }
        }
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
                    account: self.account.clone(),
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
                    account: self.account.clone(),
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
        let (routes, classified) = finish::routes(&requests, config);
        let route_health: Vec<RouteHealth> = routes
            .iter()
            .map(|s| diagnosis::route_health(s, config))
            .collect();
        let known = finish::Known {
            routes: &routes,
            route_health: &route_health,
            functions: &self.functions,
            function_logs: &function_logs,
            config,
        };
        let mut out = finish::request_findings(&requests, &classified, &known);
        out.extend(finish::function_findings(&requests, &classified, &known));
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
        let observations = finish::observations(&requests, &classified);
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
pub(crate) mod tests;
