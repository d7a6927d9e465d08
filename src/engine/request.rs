//! One API Gateway request, as far as the logs tell: its execution-log lines and
//! its access-log record, merged by request id. Owned, so that a request whose
//! lines straddle two batches can wait in the warm container for the rest.

use std::hash::BuildHasher;
use std::sync::Arc;

use crate::logs::access_log::AccessRecord;
use crate::logs::execution_log::{self, Line};
use crate::logs::redact::redact;
use crate::model::backend::{is_streaming_uri, Backend};
use crate::model::kind::Cause;
use crate::model::limits::{ApiKind, LimitSource, Limits, Place};
use crate::model::provenance::Provenance;
use crate::model::route::{self, Route};

/// The part of a [`Request`] that only execution-log lines and failures fill.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct ExecutionDetail {
    /// The template from the usage-plan line (`/orders/{orderId}`).
    template: Option<Box<str>>,
    path_params: Option<Box<str>>,
    sending_ts: Option<i64>,
    received_ts: Option<i64>,
    failed_ts: Option<i64>,
    /// The failure text, redacted and shortened (never a body).
    failure_detail: Option<Box<str>>,
    lambda_request_id: Option<Box<str>>,
    extended_request_id: Option<Box<str>>,
}

/// Serialisable: a half of a split request waits in the shared state (`monitor::join`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
/// Text fields are `Box<str>` (16 bytes, not 24), or `Arc<str>` from [`SharedTexts`]
/// for the texts many requests repeat: one `Request` is kept per request of a batch,
/// ~14,000 in a 1 MB access-log batch.
pub struct Request {
    pub id: String,
    pub api_id: Option<Arc<str>>,
    pub stage: Option<Arc<str>>,
    pub kind: ApiKind,
    pub method: Option<Arc<str>>,
    /// The concrete path from `HTTP Method: …, Resource Path: …`.
    pub concrete_path: Option<Box<str>>,
    /// Access logs: `$context.resourcePath` (a template) or `$context.routeKey`.
    pub resource_path: Option<Arc<str>>,
    pub route_key: Option<Arc<str>>,
    /// Boxed: most requests (every access-log-only one) have none, and a request is
    /// kept per request of the batch.
    pub backend: Option<Box<Backend>>,
    pub first_ts: Option<i64>,
    pub last_ts: Option<i64>,
    pub integration_status: Option<u16>,
    pub integration_latency_ms: Option<u64>,
    pub response_latency_ms: Option<u64>,
    /// The status the client got.
    pub status: Option<u16>,
    pub timed_out: bool,
    pub failure: Option<Cause>,
    pub integration_error: Option<Box<str>>,
    /// The Lambda service answered TooManyRequestsException (logged as a malformed response).
    pub throttled_response: bool,
    pub xray_trace_id: Option<Box<str>>,
    /// What execution-log lines (and failures) tell, read through the accessors below.
    /// Boxed: an access-log-only request has none of it, and ~14,000 requests of a
    /// 1 MB access-log batch are alive at once.
    detail: Option<Box<ExecutionDetail>>,
    /// INFO-only lines seen (anything but failures and the final status).
    pub info_lines: u32,
    pub error_lines: u32,
    /// `Endpoint request URI` or `Sending request to` was logged.
    pub endpoint_request_seen: bool,
    /// The log says the response was streamed (REST `responseTransferMode` `STREAM`):
    /// held against the stream's ceiling, not the buffered default.
    pub streamed: bool,
    pub from_execution_log: bool,
    pub from_access_log: bool,
    /// The request reached its end in what we saw (final status, or an access record).
    pub completed: bool,
    pub provenance: Provenance,
    /// Log event ids seen for this request (used to skip redelivered events).
    pub events: u32,
}

impl Request {
    pub fn new(id: &str, kind: ApiKind, provenance: Provenance) -> Request {
        Request {
            id: id.to_owned(),
            api_id: None,
            stage: None,
            kind,
            method: None,
            concrete_path: None,
            resource_path: None,
            route_key: None,
            backend: None,
            first_ts: None,
            last_ts: None,
            integration_status: None,
            integration_latency_ms: None,
            response_latency_ms: None,
            status: None,
            timed_out: false,
            failure: None,
            integration_error: None,
            throttled_response: false,
            xray_trace_id: None,
            detail: None,
            info_lines: 0,
            error_lines: 0,
            endpoint_request_seen: false,
            streamed: false,
            from_execution_log: false,
            from_access_log: false,
            completed: false,
            provenance,
            events: 0,
        }
    }

    fn touch(&mut self, ts: i64) {
        self.events += 1;
        if let Some(ts) = known(ts) {
            self.first_ts = Some(self.first_ts.map_or(ts, |t| t.min(ts)));
            self.last_ts = Some(self.last_ts.map_or(ts, |t| t.max(ts)));
        }
    }

    fn set_failure(&mut self, cause: Cause, detail: &str, ts: i64) {
        self.set_failure_as(cause, Some(detail), ts);
    }

    fn set_failure_as(&mut self, cause: Cause, detail: Option<&str>, ts: i64) {
        // Before 2019 a throttled Lambda was reported as a malformed proxy response.
        let cause = if cause == Cause::MalformedProxyResponse && self.throttled_response {
            Cause::LambdaThrottled
        } else {
            cause
        };
        if Cause::refines(self.failure, cause) {
            // Execution logs cut events at 1 KB and mark them ` [TRUNCATED]`.
            let detail = detail.map(|d| d.trim_end().trim_end_matches("[TRUNCATED]").trim_end());
            self.failure = Some(cause);
            self.detail_mut().failure_detail = detail.map(|d| redact(d, 300).into());
        }
        self.set_detail_ts(|d| &mut d.failed_ts, ts);
    }

    /// Applies one execution-log line.
    pub fn apply_line(&mut self, line: &Line<'_>, ts: i64) {
        self.from_execution_log = true;
        self.touch(ts);
        if line.is_info_level() {
            self.info_lines += 1;
        } else {
            self.error_lines += 1;
        }
        match *line {
            Line::ExtendedRequestId(id) => {
                if !id.is_empty() {
                    set_once(&mut self.detail_mut().extended_request_id, id)
                }
            }
            Line::UsagePlan { api_id, stage } => {
                if let (Some(a), Some(s)) = (api_id, stage) {
                    set_once(&mut self.api_id, a);
                    set_once(&mut self.stage, s);
                }
            }
            Line::MethodTemplate { method, template } => {
                set_once(&mut self.method, method);
                if !template.is_empty() {
                    set_once(&mut self.detail_mut().template, template);
                }
            }
            Line::HttpMethod { method, path } => {
                set_once(&mut self.method, method);
                set_once(&mut self.concrete_path, path);
            }
            Line::MethodRequestPath(p) => {
                if !p.is_empty() {
                    set_once(&mut self.detail_mut().path_params, p)
                }
            }
            Line::EndpointRequestUri(uri) => self.endpoint(uri),
            Line::SendingRequest(uri) => {
                self.endpoint(uri);
                self.set_detail_ts(|d| &mut d.sending_ts, ts);
            }
            Line::ReceivedResponse { status, latency_ms } => {
                self.set_detail_ts(|d| &mut d.received_ts, ts);
                self.integration_latency_ms = Some(latency_ms);
                if status.is_some() {
                    self.integration_status = status;
                }
            }
            Line::MethodCompleted(status) => {
                self.status = Some(status);
                self.completed = true;
            }
            Line::IntegrationRequestId(id) => {
                if self.lambda_request_id().is_none() && !id.is_empty() {
                    self.detail_mut().lambda_request_id = Some(id.into());
                }
            }
            Line::XrayTraceId(t) => set_once(&mut self.xray_trace_id, t),
            Line::Timeout => {
                self.timed_out = true;
                self.set_detail_ts(|d| &mut d.failed_ts, ts);
            }
            Line::ConfigurationError(detail) => {
                self.set_failure(Cause::from_configuration_error(detail), detail, ts)
            }
            Line::FunctionError {
                message,
                lambda_request_id,
            } => {
                if let Some(id) = lambda_request_id {
                    self.detail_mut().lambda_request_id = Some(id.into());
                }
                self.set_failure(Cause::from_function_error(message), message, ts);
            }
            Line::InvocationFailed { status } => {
                let cause = match status {
                    Some(429) => Cause::LambdaThrottled,
                    Some(403) => Cause::LambdaPermissions,
                    _ => Cause::IntegrationFailure,
                };
                let detail = match status {
                    Some(s) => format!("Lambda invocation failed with status {s}"),
                    None => "Lambda invocation failed".to_owned(),
                };
                self.set_failure(cause, &detail, ts);
            }
            Line::GatewayResponse {
                response_type,
                status,
            } => {
                if status.is_some_and(|s| s >= 500) && response_type.starts_with("AUTHORIZER_") {
                    self.set_failure(Cause::AuthorizerError, response_type, ts);
                }
            }
            Line::OtherFailure(detail) => {
                let cause = match crate::model::kind::ConnectionProblem::of(detail) {
                    Some(_) => Cause::ConnectionFailure,
                    None => Cause::IntegrationFailure,
                };
                self.set_failure(cause, detail, ts)
            }
            Line::EndpointResponseHeaders { throttled, .. } => self.throttled_response |= throttled,
            Line::StartingExecution
            | Line::SuccessfullyCompleted
            | Line::KeyThrottled
            | Line::AuthorizerStarted
            | Line::AuthorizerSucceeded
            | Line::Unauthorized
            | Line::Info
            | Line::Unrecognised => {}
        }
    }

    /// The limit this request is held against on `route` of `api_id`/`stage`, and its
    /// source: a streamed response against the stream's ceiling, not the buffered default.
    pub fn limit(
        &self,
        limits: &Limits,
        api_id: &str,
        stage: &str,
        route: &Route,
    ) -> (u64, LimitSource) {
        let place = Place::new(api_id, stage, route).in_account(self.provenance.account.as_deref());
        if self.streamed {
            limits.limit_streamed(self.kind, place)
        } else {
            limits.limit(self.kind, place)
        }
    }

    /// `Endpoint request URI` or `Sending request to`: the backend, and whether it streams.
    fn endpoint(&mut self, uri: &str) {
        self.endpoint_request_seen = true;
        self.streamed |= is_streaming_uri(uri);
        if self.backend.is_none() {
            self.backend = Backend::from_uri(uri).map(Box::new);
        }
    }

    /// Applies an access-log record (the same request's, or a request of its own).
    pub fn apply_access(&mut self, rec: &AccessRecord<'_>, ts: i64, shared: &mut SharedTexts) {
        self.from_access_log = true;
        self.completed = true;
        self.touch(ts);
        // The request's arrival: its first moment, also where the event has no time.
        if let Some(t) = rec.request_time_epoch.and_then(known) {
            self.first_ts = Some(self.first_ts.map_or(t, |f| f.min(t)));
            self.last_ts = Some(self.last_ts.map_or(t, |l| l.max(t)));
        }
        let own = |v: &Option<std::borrow::Cow<'_, str>>| v.as_deref().map(Box::from);
        let mut share = |v: &Option<std::borrow::Cow<'_, str>>| v.as_deref().map(|t| shared.get(t));
        if self.api_id.is_none() {
            self.api_id = share(&rec.api_id);
        }
        if self.stage.is_none() {
            self.stage = share(&rec.stage);
        }
        if self.method.is_none() {
            self.method = share(&rec.http_method);
        }
        if self.resource_path.is_none() {
            self.resource_path = share(&rec.resource_path);
        }
        if self.route_key.is_none() {
            self.route_key = share(&rec.route_key);
        }
        if self.concrete_path.is_none() {
            self.concrete_path = own(&rec.path);
        }
        if self.xray_trace_id.is_none() {
            self.xray_trace_id = own(&rec.xray_trace_id);
        }
        self.streamed |= rec.is_streamed();
        if rec.resource_path.is_none() && rec.route_key.is_some() && !self.from_execution_log {
            self.kind = if rec.event_type.is_some() {
                ApiKind::WebSocket
            } else {
                ApiKind::Http
            };
        }
        if rec.status.is_some() {
            self.status = rec.status;
        }
        self.response_latency_ms = rec.response_latency_ms.or(self.response_latency_ms);
        if self.integration_status.is_none() {
            self.integration_status = rec.integration_status;
        }
        let rtype = rec.error_response_type.as_deref();
        let message = rec.error_message.as_deref().unwrap_or("");
        if rtype == Some("INTEGRATION_TIMEOUT") || message.contains("Endpoint request timed out") {
            self.timed_out = true;
        } else if self.integration_latency_ms.is_none() {
            // A timeout's access-log latency is the limit itself, not a response time.
            self.integration_latency_ms = rec.integration_latency_ms;
        }
        if let Some(e) = rec.integration_error.as_deref() {
            self.integration_error = Some(redact(e, 300).into());
        }
        if self.status.is_some_and(|s| s >= 500) && !self.timed_out {
            if let Some(cause) = Cause::from_access_log(rtype, rec.integration_error.as_deref()) {
                let detail = rec
                    .integration_error
                    .as_deref()
                    .or(rtype)
                    .unwrap_or("integration error");
                self.set_failure(cause, detail, ts);
            } else if self.kind == ApiKind::WebSocket {
                if let Some(cause) = Cause::from_websocket_route(rtype) {
                    // Only what the gateway logged: none of it is nothing, not a made-up text.
                    let detail = rec
                        .integration_error
                        .as_deref()
                        .or(rec.error_message.as_deref())
                        .or(rtype);
                    self.set_failure_as(cause, detail, ts);
                }
            }
        }
    }

    fn detail_mut(&mut self) -> &mut ExecutionDetail {
        self.detail.get_or_insert_with(Box::default)
    }

    /// The template from the usage-plan line (`/orders/{orderId}`).
    pub fn template(&self) -> Option<&str> {
        self.detail.as_ref()?.template.as_deref()
    }

    /// `Method request path: {orderId=123}`.
    pub fn path_params(&self) -> Option<&str> {
        self.detail.as_ref()?.path_params.as_deref()
    }

    /// When `Sending request to` was logged.
    pub fn sending_ts(&self) -> Option<i64> {
        self.detail.as_ref()?.sending_ts
    }

    /// When the integration's response was logged.
    pub fn received_ts(&self) -> Option<i64> {
        self.detail.as_ref()?.received_ts
    }

    /// When the timeout or the failure was logged.
    pub fn failed_ts(&self) -> Option<i64> {
        self.detail.as_ref()?.failed_ts
    }

    /// The failure text, redacted and shortened (never a body).
    pub fn failure_detail(&self) -> Option<&str> {
        self.detail.as_ref()?.failure_detail.as_deref()
    }

    pub fn lambda_request_id(&self) -> Option<&str> {
        self.detail.as_ref()?.lambda_request_id.as_deref()
    }

    pub fn extended_request_id(&self) -> Option<&str> {
        self.detail.as_ref()?.extended_request_id.as_deref()
    }

    /// The integration answered (a response line, or an access-log latency for a non-timeout).
    pub fn got_response(&self) -> bool {
        !self.timed_out && self.integration_latency_ms.is_some()
    }

    /// Was the integration invoked? `None` when the logs cannot tell.
    pub fn invoked(&self) -> Option<bool> {
        if self.endpoint_request_seen || self.got_response() {
            Some(true)
        } else if self.info_lines > 0 {
            // INFO logging was on and stopped short of the integration.
            Some(false)
        } else {
            None
        }
    }

    /// Milliseconds from sending to the integration until giving up or answering.
    pub fn elapsed_after_sending_ms(&self) -> Option<u64> {
        let start = self.sending_ts()?;
        let end = self.failed_ts().or(self.received_ts())?;
        u64::try_from(end - start).ok()
    }

    /// Its end was seen (final status, failure, or an access record): nothing more is
    /// waited for.
    pub fn ended(&self) -> bool {
        self.completed || self.timed_out || self.failure.is_some()
    }

    pub fn route(&self) -> Route {
        let mut text = String::new();
        self.write_route(&mut text);
        Route::from_written(text)
    }

    /// Appends the text of [`Request::route`] to `out`.
    pub fn write_route(&self, out: &mut String) {
        if let Some(key) = &self.route_key {
            return out.push_str(key.trim());
        }
        let Some(method) = &self.method else {
            return Route::write_unknown(out);
        };
        if let Some(t) = self.template().or(self.resource_path.as_deref()) {
            return Route::write(method, t, out);
        }
        match &self.concrete_path {
            Some(path) => {
                let t = self
                    .path_params()
                    .and_then(|p| route::template_from_params(path, p))
                    .unwrap_or_else(|| route::normalise_path(path));
                Route::write(method, &t, out)
            }
            None => Route::write_unknown(out),
        }
    }

    /// The route's template comes from the logs (route key, usage-plan line, access
    /// log's resource path, or path parameters put back), not from guessing which
    /// segments of a concrete path are ids.
    pub fn has_template(&self) -> bool {
        if self.route_key.is_some() {
            return true;
        }
        if self.method.is_none() {
            return false;
        }
        if self.template().is_some() || self.resource_path.is_some() {
            return true;
        }
        match (self.concrete_path.as_deref(), self.path_params()) {
            (Some(path), Some(p)) => route::template_from_params(path, p).is_some(),
            _ => false,
        }
    }

    pub fn api_id_or_unknown(&self) -> &str {
        self.api_id.as_deref().unwrap_or("unknown")
    }

    pub fn stage_or_unknown(&self) -> &str {
        self.stage.as_deref().unwrap_or("unknown")
    }

    /// Fills the API id and stage a delivered execution-log record names.
    pub fn apply_api_stage(&mut self, api_id: Option<&str>, stage: Option<&str>) {
        if let Some(a) = api_id {
            set_once(&mut self.api_id, a);
        }
        if let Some(s) = stage {
            set_once(&mut self.stage, s);
        }
    }

    /// Fills what the log group knows (`API-Gateway-Execution-Logs_{api}/{stage}`).
    pub fn apply_group(&mut self, log_group: &str) {
        // Once per request, not per line: the group is the same for all its lines.
        if self.api_id.is_some() && self.stage.is_some() {
            return;
        }
        if let Some((api, stage)) = execution_log::api_stage_from_group(log_group) {
            set_once(&mut self.api_id, api);
            set_once(&mut self.stage, stage);
        }
    }

    /// Merges what another view of the same request knew (the split-request cache).
    pub fn absorb_earlier(&mut self, earlier: Request) {
        macro_rules! fill {
            ($($f:ident),*) => { $( if self.$f.is_none() { self.$f = earlier.$f; } )* };
        }
        fill!(
            api_id,
            stage,
            method,
            concrete_path,
            resource_path,
            route_key,
            backend,
            integration_latency_ms,
            integration_status,
            xray_trace_id
        );
        if let Some(e) = earlier.detail {
            let d = self.detail_mut();
            macro_rules! fill_detail {
                ($($f:ident),*) => { $( if d.$f.is_none() { d.$f = e.$f; } )* };
            }
            fill_detail!(
                template,
                path_params,
                sending_ts,
                received_ts,
                lambda_request_id,
                extended_request_id
            );
            if *d == ExecutionDetail::default() {
                self.detail = None;
            }
        }
        self.first_ts = match (self.first_ts, earlier.first_ts) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.info_lines += earlier.info_lines;
        self.error_lines += earlier.error_lines;
        self.endpoint_request_seen |= earlier.endpoint_request_seen;
        self.streamed |= earlier.streamed;
        self.events += earlier.events;
        if !earlier.provenance.log_group.is_empty() {
            self.provenance = earlier.provenance;
        }
    }
}

/// Timestamps of 0 or less mean "not known" (text copied without them).
fn known(ts: i64) -> Option<i64> {
    (ts > 0).then_some(ts)
}

impl Request {
    /// Sets a timestamp of the execution detail once, if known (no detail for nothing).
    fn set_detail_ts(
        &mut self,
        slot: impl FnOnce(&mut ExecutionDetail) -> &mut Option<i64>,
        ts: i64,
    ) {
        if known(ts).is_some() {
            set_ts(slot(self.detail_mut()), ts);
        }
    }
}

fn set_ts(slot: &mut Option<i64>, ts: i64) {
    if slot.is_none() {
        *slot = known(ts);
    }
}

fn set_once<T: for<'s> From<&'s str>>(slot: &mut Option<T>, value: &str) {
    if slot.is_none() && !value.is_empty() {
        *slot = Some(value.into());
    }
}

/// One shared copy of the texts that many requests of a batch repeat (API id,
/// stage, method, route): fewer allocations, less memory per request.
#[derive(Default)]
pub struct SharedTexts {
    table: hashbrown::HashTable<Arc<str>>,
    hasher: foldhash::fast::RandomState,
}

impl SharedTexts {
    /// Bounded: a batch has few such texts, but a log could make every one different.
    const MAX: usize = 4096;

    pub fn get(&mut self, text: &str) -> Arc<str> {
        let hash = self.hasher.hash_one(text);
        if let Some(t) = self.table.find(hash, |t| **t == *text) {
            return t.clone();
        }
        let t: Arc<str> = text.into();
        if self.table.len() < Self::MAX {
            let hasher = &self.hasher;
            self.table
                .insert_unique(hash, t.clone(), |t| hasher.hash_one(&**t));
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::execution_log::parse_line;

    fn build(lines: &[(i64, &str)]) -> Request {
        let mut r = Request::new("r", ApiKind::Rest, Provenance::default());
        for (ts, text) in lines {
            r.apply_line(&parse_line(text), *ts);
        }
        r
    }

    #[test]
    fn timeout_with_info_lines() {
        let r = build(&[
            (1, "Starting execution for request: r"),
            (1, "HTTP Method: POST, Resource Path: /orders/123"),
            (1, "Method request path: {orderId=123}"),
            (1, "Sending request to https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/arn:aws:lambda:us-east-1:1:function:orders/invocations"),
            (29_004, "Execution failed due to a timeout error"),
            (29_004, "Method completed with status: 504"),
        ]);
        assert!(r.timed_out && r.completed);
        assert_eq!(r.invoked(), Some(true));
        assert_eq!(r.elapsed_after_sending_ms(), Some(29_003));
        assert_eq!(r.route().as_str(), "POST /orders/{orderId}");
        assert_eq!(r.status, Some(504));
    }

    #[test]
    fn invoked_is_unknown_at_error_level_and_false_when_info_stops_short() {
        let r = build(&[
            (5, "Execution failed due to a timeout error"),
            (5, "Method completed with status: 504"),
        ]);
        assert_eq!(r.invoked(), None);
        let r = build(&[
            (0, "Starting execution for request: r"),
            (0, "HTTP Method: GET, Resource Path: /x"),
            (29_000, "Execution failed due to a timeout error"),
        ]);
        assert_eq!(r.invoked(), Some(false));
    }

    #[test]
    fn truncation_marker_is_not_part_of_the_detail() {
        let r = build(&[(1, "Lambda execution failed with status 200 due to customer function error: a very long trace [TRUNCATED]")]);
        assert_eq!(r.failure, Some(Cause::FunctionError));
        assert_eq!(r.failure_detail(), Some("a very long trace"));
    }

    #[test]
    fn failures_are_refined_not_overwritten() {
        let r = build(&[
            (
                0,
                "Lambda invocation failed with status: 429. Lambda request id: a",
            ),
            (
                0,
                "Execution failed due to configuration error: Rate Exceeded.",
            ),
            (0, "Method completed with status: 500"),
        ]);
        assert_eq!(r.failure, Some(Cause::LambdaThrottled));
    }
}
