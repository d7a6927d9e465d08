//! The CLI's inputs, recognised by content: Lambda events (subscription or
//! Kinesis), decoded subscription documents, `aws logs filter-log-events` /
//! `get-log-events` output, `aws logs tail` output, Logs Insights results (the
//! `get-query-results` JSON, the console's JSON and CSV exports), text copied from
//! the CloudWatch console, the API Gateway test-invoke log (the console's text or
//! `aws apigateway test-invoke-method` JSON), pretty-printed JSON access-log records,
//! and one-message-per-line files (JSON-lines access logs). Gzip files are inflated
//! first. Everything is fed to one [`InputVisitor`] (the engine's analyzer), so that several files are
//! analysed as one stream; `--since`/`--until` keep the log events of a [`Window`].

use std::borrow::Cow;

use serde::Deserialize;

use crate::logs::envelope::{self, EnvelopeError, EventVisitor, Header, LogEvent, Origin, Source};
use crate::logs::execution_log::split_request_id;

mod insights;
use insights::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputKind {
    /// Decide from the content.
    Auto,
    /// A Lambda event: `{"awslogs":{"data":…}}` or a Kinesis event.
    Event,
    /// A decoded CloudWatch Logs subscription document.
    Subscription,
    /// `aws logs filter-log-events` or `get-log-events` output.
    AwsLogs,
    /// Text copied from the CloudWatch console: `(requestId) text` lines.
    Console,
    /// The API Gateway console's test-invoke log, or `aws apigateway test-invoke-method` JSON.
    TestInvoke,
    /// `aws logs tail` output: `TIMESTAMP STREAM MESSAGE`.
    Tail,
    /// Logs Insights results: `aws logs get-query-results` JSON, or the console's JSON or CSV export.
    Insights,
    /// JSON access-log records, pretty-printed or in an array.
    Json,
    /// One log message per line (JSON-lines access logs).
    Lines,
}

impl InputKind {
    /// What the CLI reads, for the unrecognised-input warning.
    pub const EXPECTED: &'static str = "API Gateway execution or access logs: Lambda subscription events, \
        `aws logs filter-log-events`/`get-log-events`/`tail` output, Logs Insights results (JSON or CSV) \
        with @message, console copies, test-invoke logs, JSON access-log records";
}

/// The log events kept (`--since`, `--until`), by their timestamp in epoch ms.
/// Events without a timestamp are kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    pub since: Option<i64>,
    pub until: Option<i64>,
}

impl Window {
    pub fn contains(&self, ts: i64) -> bool {
        ts <= 0 || (self.since.is_none_or(|s| ts >= s) && self.until.is_none_or(|u| ts < u))
    }
}

/// `--since`/`--until`: `2h`, `30m`, `90s`, `1d` ago (from `now_ms`), an RFC 3339 time,
/// `2026-11-25 10:00[:00]` (UTC), or epoch milliseconds.
pub fn parse_time(s: &str, now_ms: i64) -> Result<i64, String> {
    let t = s.trim();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && digits < t.len() {
        if let Ok(n) = t[..digits].parse::<i64>() {
            let unit = match t[digits..].trim() {
                "s" | "sec" | "secs" | "second" | "seconds" => Some(1_000),
                "m" | "min" | "mins" | "minute" | "minutes" => Some(60_000),
                "h" | "hour" | "hours" => Some(3_600_000),
                "d" | "day" | "days" => Some(86_400_000),
                "w" | "week" | "weeks" => Some(7 * 86_400_000),
                _ => None,
            };
            if let Some(u) = unit {
                return Ok(now_ms - n.saturating_mul(u));
            }
        }
    }
    if digits == t.len() && digits >= 12 {
        return t.parse().map_err(|e| format!("`{s}`: {e}"));
    }
    let padded;
    let t = if t.len() == 16
        && t.as_bytes()
            .get(10)
            .is_some_and(|c| *c == b' ' || *c == b'T')
    {
        padded = format!("{t}:00");
        &padded
    } else {
        t
    };
    leading_timestamp(t)
        .filter(|(_, rest)| rest.is_empty())
        .map(|(ts, _)| ts)
        .ok_or_else(|| {
            format!("`{s}` is not a time: give a duration ago (2h, 30m, 1d), 2026-11-25T10:00:00Z, or epoch ms")
        })
}

/// What the inputs are fed to (the engine's analyzer): the log events of envelopes, and
/// the lines of the text formats, some of which carry the request id beside the line.
pub trait InputVisitor: for<'a> EventVisitor<'a> {
    fn add_event(&mut self, src: Source<'_>, event_id: &str, ts: i64, message: &str);
    /// An execution-log line whose request id the format gives elsewhere.
    fn add_execution_line(
        &mut self,
        src: Source<'_>,
        event_id: &str,
        request_id: &str,
        ts: i64,
        text: &str,
    );
}

/// A visitor behind a [`Window`]: events outside it never reach the engine, except
/// the later lines of a request that started inside it (its timeout line comes up to
/// the limit after its start), so that a 504 at the window's end is not lost.
pub struct Windowed<'w, V> {
    pub visitor: &'w mut V,
    pub window: Window,
    /// Requests that started inside the window, when it has an end.
    started: std::collections::HashSet<String>,
}

impl<'w, V: InputVisitor> Windowed<'w, V> {
    pub fn new(visitor: &'w mut V, window: Window) -> Self {
        Windowed {
            visitor,
            window,
            started: std::collections::HashSet::new(),
        }
    }

    /// Whether an event of request `id` (if an execution line) at `ts` is kept.
    fn keeps(&mut self, ts: i64, id: Option<&str>) -> bool {
        if self.window.contains(ts) {
            if let (Some(id), Some(_)) = (id, self.window.until) {
                if !self.started.contains(id) {
                    self.started.insert(id.to_owned());
                }
            }
            return true;
        }
        self.window.until.is_some_and(|u| ts >= u) && id.is_some_and(|id| self.started.contains(id))
    }

    pub fn add_event(&mut self, src: Source<'_>, event_id: &str, ts: i64, message: &str) {
        if self.keeps(ts, split_request_id(message).map(|x| x.0)) {
            self.visitor.add_event(src, event_id, ts, message);
        }
    }
    fn add_execution_line(
        &mut self,
        src: Source<'_>,
        event_id: &str,
        id: &str,
        ts: i64,
        text: &str,
    ) {
        if self.keeps(ts, Some(id)) {
            self.visitor.add_execution_line(src, event_id, id, ts, text);
        }
    }
}

impl<'a, V: InputVisitor> EventVisitor<'a> for Windowed<'_, V> {
    fn document(&mut self, header: &Header<'a>) {
        self.visitor.document(header);
    }
    fn event(&mut self, header: &Header<'a>, event: LogEvent<'a>) {
        if self.keeps(
            event.timestamp,
            split_request_id(&event.message).map(|x| x.0),
        ) {
            self.visitor.event(header, event);
        }
    }
    fn escaped_event(&mut self, header: &Header<'a>, id: Cow<'a, str>, ts: i64, escaped: &'a str) {
        // A request id has no JSON escapes: it reads the same in the escaped text.
        if self.keeps(ts, split_request_id(escaped).map(|x| x.0)) {
            self.visitor.escaped_event(header, id, ts, escaped);
        }
    }
    fn event_in_place(
        &mut self,
        header: &Header<'a>,
        id: &str,
        ts: i64,
        rest: &'a str,
    ) -> Option<usize> {
        // Only inside the window; else None, and the event comes to `event` or `escaped_event`.
        if self.window.contains(ts) {
            self.visitor.event_in_place(header, id, ts, rest)
        } else {
            None
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error(transparent)]
    Envelope(Box<EnvelopeError>),
    /// A Lambda event file: the error names the file, then the batch inside it.
    #[error("{0}: {1}")]
    Event(String, Box<EnvelopeError>),
    #[error("{0}: not valid JSON of the expected shape ({1})")]
    Json(String, String),
    #[error("{0}: the input is empty")]
    Empty(String),
}

impl From<EnvelopeError> for InputError {
    fn from(e: EnvelopeError) -> Self {
        InputError::Envelope(Box::new(e))
    }
}

/// Feeds one input to the analyzer. `name` names it in errors; `log_group`
/// stands in for inputs that do not carry one.
pub fn feed(
    bytes: &[u8],
    kind: InputKind,
    name: &str,
    log_group: &str,
    limit: usize,
    analyzer: &mut impl InputVisitor,
) -> Result<(), InputError> {
    let mut sink = Windowed::new(analyzer, Window::default());
    feed_window(bytes, kind, name, log_group, limit, &mut sink).map(|_| ())
}

/// [`feed`] keeping only the log events in `sink`'s window.
pub fn feed_window(
    bytes: &[u8],
    kind: InputKind,
    name: &str,
    log_group: &str,
    limit: usize,
    analyzer: &mut Windowed<'_, impl InputVisitor>,
) -> Result<InputKind, InputError> {
    let inflated;
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        inflated = envelope::inflate(bytes, limit, Origin::at(name))?.bytes;
        &inflated[..]
    } else {
        bytes
    };
    let text = String::from_utf8_lossy(bytes);
    let body = skip_comment_header(&text);
    if body.trim().is_empty() {
        return Err(InputError::Empty(name.to_owned()));
    }
    let kind = if kind == InputKind::Auto {
        detect(body)
    } else {
        kind
    };
    let source = Source {
        log_group,
        log_stream: "",
    };
    match kind {
        InputKind::Event => {
            let in_file = |e| InputError::Event(name.to_owned(), Box::new(e));
            for inflated in
                envelope::decode_lambda_event(body.as_bytes(), limit).map_err(in_file)?
            {
                envelope::visit_documents(&inflated.bytes, &inflated.origin, analyzer)
                    .map_err(in_file)?;
            }
        }
        InputKind::Subscription => {
            envelope::visit_documents(body.as_bytes(), &Origin::at(name), analyzer)?;
        }
        InputKind::AwsLogs => feed_aws_logs(body, name, source, analyzer)?,
        InputKind::Console => feed_console(body, source, analyzer),
        InputKind::TestInvoke if body.trim_start().starts_with('{') => {
            let v: TestInvokeJson<'_> = serde_json::from_str(body.trim())
                .map_err(|e| InputError::Json(name.to_owned(), e.to_string()))?;
            feed_test_invoke(&v.log, source, analyzer)
        }
        InputKind::TestInvoke => feed_test_invoke(body, source, analyzer),
        InputKind::Tail => feed_tail(body, source, analyzer),
        InputKind::Insights if body.trim_start().starts_with(['{', '[']) => {
            feed_insights_json(body, name, source, analyzer)?
        }
        InputKind::Insights => feed_insights_csv(body, name, source, analyzer)?,
        InputKind::Json => feed_json_records(body, name, source, analyzer)?,
        InputKind::Lines | InputKind::Auto => {
            for (i, line) in body.lines().enumerate() {
                if !line.trim().is_empty() {
                    analyzer.add_event(source, &format!("line:{}", i + 1), 0, line);
                }
            }
        }
    }
    Ok(kind)
}

/// Sample files start with `# source: …` provenance lines; logs never do.
fn skip_comment_header(text: &str) -> &str {
    let mut rest = text;
    while rest.starts_with('#') {
        rest = rest.split_once('\n').map_or("", |(_, r)| r);
    }
    rest
}

pub fn detect(body: &str) -> InputKind {
    let t = body.trim_start();
    let first = t.lines().next().unwrap_or("");
    if t.starts_with('{') || t.starts_with('[') {
        let head: String = t.chars().take(4096).collect();
        if head.contains("\"awslogs\"") || head.contains("\"Records\"") {
            return InputKind::Event;
        }
        if head.contains("\"messageType\"") {
            return InputKind::Subscription;
        }
        if head.contains("\"@message\"")
            || (head.contains("\"results\"") && head.contains("\"field\""))
        {
            return InputKind::Insights;
        }
        if head.contains("\"log\"") && head.contains("Execution log for request") {
            return InputKind::TestInvoke;
        }
        if head.contains("\"events\"") || (t.starts_with('[') && head.contains("\"message\"")) {
            return InputKind::AwsLogs;
        }
        // One complete JSON value on the first line: JSON lines; else records spread over lines.
        if t.starts_with('{') && serde_json::from_str::<serde::de::IgnoredAny>(first.trim()).is_ok()
        {
            return InputKind::Lines;
        }
        return InputKind::Json;
    }
    if first.contains("@message") && (first.contains(',') || first.contains('\t')) {
        return InputKind::Insights;
    }
    if first.starts_with("Execution log for request") || test_invoke_time(first).is_some() {
        return InputKind::TestInvoke;
    }
    if t.lines()
        .filter(|l| !l.trim().is_empty())
        .take(5)
        .any(|l| tail_line(l).is_some())
    {
        return InputKind::Tail;
    }
    InputKind::Console
}

/// `aws logs tail` (detailed format): `2024-05-01T10:00:00.123000+00:00 STREAM MESSAGE`,
/// where MESSAGE is an execution-log line `(id) …` or an access-log record `{…}`.
/// Returns (epoch ms, stream, message).
fn tail_line(line: &str) -> Option<(i64, &str, &str)> {
    let (ts, rest) = leading_timestamp(line)?;
    let (stream, message) = rest.split_once(' ')?;
    if stream.is_empty() || stream.starts_with(['(', '{', '[']) {
        return None;
    }
    let m = message.trim_start();
    (m.starts_with('(') || m.starts_with('{') || m.starts_with('"')).then_some((ts, stream, m))
}

fn feed_tail<V: InputVisitor>(body: &str, source: Source<'_>, analyzer: &mut Windowed<'_, V>) {
    // A message can run over several lines: the lines up to the next timestamped one.
    let mut current: Option<(i64, &str, String)> = None;
    let mut n = 0usize;
    let flush = |c: Option<(i64, &str, String)>, analyzer: &mut Windowed<'_, V>, n: &mut usize| {
        if let Some((ts, stream, message)) = c {
            *n += 1;
            let src = Source {
                log_stream: stream,
                ..source
            };
            analyzer.add_event(src, &format!("tail:{n}"), ts, message.trim_end());
        }
    };
    for line in body.lines() {
        match tail_line(line) {
            Some((ts, stream, message)) => {
                flush(current.take(), analyzer, &mut n);
                current = Some((ts, stream, message.to_owned()));
            }
            None => match current.as_mut() {
                Some((_, _, m)) => {
                    m.push('\n');
                    m.push_str(line);
                }
                None if !line.trim().is_empty() => analyzer.add_event(source, "text", 0, line),
                None => {}
            },
        }
    }
    flush(current.take(), analyzer, &mut n);
}

/// `aws apigateway test-invoke-method` output: the execution log is its `log` field.
#[derive(Deserialize)]
struct TestInvokeJson<'a> {
    #[serde(borrow)]
    log: Cow<'a, str>,
}

/// JSON access-log records, pretty-printed one after another or in an array:
/// each record is fed as one compact line.
fn feed_json_records<V: InputVisitor>(
    body: &str,
    name: &str,
    source: Source<'_>,
    analyzer: &mut Windowed<'_, V>,
) -> Result<(), InputError> {
    let bad = |e: serde_json::Error| InputError::Json(name.to_owned(), e.to_string());
    let mut n = 0usize;
    let mut one = |v: &serde_json::Value, analyzer: &mut Windowed<'_, V>| {
        n += 1;
        // `$context.requestTimeEpoch` (ms) dates a record that has no log event around it.
        let ts = v
            .get("requestTimeEpoch")
            .and_then(|t| t.as_i64().or_else(|| t.as_str()?.parse().ok()))
            .unwrap_or(0);
        let line = v.to_string();
        analyzer.add_event(source, &format!("record:{n}"), ts, &line);
    };
    for v in serde_json::Deserializer::from_str(body).into_iter::<serde_json::Value>() {
        match v.map_err(bad)? {
            serde_json::Value::Array(items) => items.iter().for_each(|v| one(v, analyzer)),
            v => one(&v, analyzer),
        }
    }
    Ok(())
}

#[derive(Deserialize)]
struct AwsLogsOutput<'a> {
    #[serde(borrow)]
    events: Vec<AwsLogsEvent<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AwsLogsEvent<'a> {
    #[serde(default, borrow)]
    log_stream_name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    event_id: Option<Cow<'a, str>>,
    #[serde(default)]
    timestamp: i64,
    #[serde(borrow)]
    message: Cow<'a, str>,
}

fn feed_aws_logs(
    body: &str,
    name: &str,
    source: Source<'_>,
    analyzer: &mut Windowed<'_, impl InputVisitor>,
) -> Result<(), InputError> {
    let t = body.trim();
    let events: Vec<AwsLogsEvent<'_>> = if t.starts_with('[') {
        serde_json::from_str(t)
    } else {
        serde_json::from_str::<AwsLogsOutput<'_>>(t).map(|o| o.events)
    }
    .map_err(|e| InputError::Json(name.to_owned(), e.to_string()))?;
    for (i, ev) in events.iter().enumerate() {
        let src = Source {
            log_stream: ev.log_stream_name.as_deref().unwrap_or(source.log_stream),
            ..source
        };
        let id = ev
            .event_id
            .clone()
            .unwrap_or_else(|| Cow::Owned(format!("event:{i}")));
        analyzer.add_event(src, &id, ev.timestamp, &ev.message);
    }
    Ok(())
}

/// A timestamp at the start of a console line: ISO 8601 (`2024-05-01T10:00:00.000Z`,
/// also with a space or an offset) or epoch milliseconds. Returns (epoch ms, rest).
fn leading_timestamp(line: &str) -> Option<(i64, &str)> {
    let b = line.as_bytes();
    if b.len() >= 19 && b[4] == b'-' && b[7] == b'-' && (b[10] == b'T' || b[10] == b' ') {
        // The timestamp runs to the first tab, or to the first space after the time.
        let end = line[11..].find(['\t', ' ']).map_or(line.len(), |i| i + 11);
        let stamp = &line[..end];
        let ts = chrono::DateTime::parse_from_rfc3339(&stamp.replacen(' ', "T", 1))
            .map(|t| t.timestamp_millis())
            .or_else(|_| {
                chrono::NaiveDateTime::parse_from_str(
                    stamp.trim_end_matches('Z'),
                    "%Y-%m-%dT%H:%M:%S%.f",
                )
                .or_else(|_| {
                    chrono::NaiveDateTime::parse_from_str(
                        stamp.trim_end_matches('Z'),
                        "%Y-%m-%d %H:%M:%S%.f",
                    )
                })
                .map(|t| t.and_utc().timestamp_millis())
            })
            .ok()?;
        return Some((ts, line[end..].trim_start_matches(['\t', ' '])));
    }
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 13 && b.get(13).is_none_or(|c| *c == b'\t' || *c == b' ') {
        let ts = line[..13].parse().ok()?;
        return Some((ts, line[13..].trim_start_matches(['\t', ' '])));
    }
    None
}

/// The id a `… for request: <id>` line announces (logs without the `(id)` prefix).
fn announced_request_id(text: &str) -> Option<&str> {
    let i = text.find("for request: ")? + "for request: ".len();
    let id = text[i..].split([' ', '\t']).next()?.trim_end_matches('.');
    (!id.is_empty()).then_some(id)
}

struct Pending {
    id: String,
    ts: i64,
    start: usize,
    end: usize,
}

fn feed_console<V: InputVisitor>(body: &str, source: Source<'_>, analyzer: &mut Windowed<'_, V>) {
    let mut current: Option<Pending> = None;
    let mut announced: Option<String> = None;
    let mut lone_ts = 0;
    let mut n = 0usize;
    let flush = |p: Option<Pending>, analyzer: &mut Windowed<'_, V>, n: &mut usize| {
        if let Some(p) = p {
            *n += 1;
            let text = body[p.start..p.end].trim_end();
            analyzer.add_execution_line(source, &format!("line-event:{n}"), &p.id, p.ts, text);
        }
    };
    let mut offset = 0;
    for raw in body.split_inclusive('\n') {
        let line_start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let (ts, rest) = match leading_timestamp(line) {
            Some((ts, rest)) => (Some(ts), rest),
            None => (None, line),
        };
        let rest_at = line_start + (line.len() - rest.len());
        if let Some((id, text)) = split_request_id(rest) {
            flush(current.take(), analyzer, &mut n);
            let text_at = rest_at + (rest.len() - text.len());
            current = Some(Pending {
                id: id.to_owned(),
                ts: ts.unwrap_or(lone_ts),
                start: text_at,
                end: line_start + line.len(),
            });
            lone_ts = 0;
        } else if let (Some(ts), true) = (ts, rest.trim().is_empty()) {
            // The console can put the timestamp on a line of its own.
            flush(current.take(), analyzer, &mut n);
            lone_ts = ts;
        } else if let Some(ts) = ts {
            // `<timestamp> <text>` without the id (the `serverless logs` format):
            // the id is the one the request's first lines announced.
            flush(current.take(), analyzer, &mut n);
            if let Some(id) = announced_request_id(rest) {
                announced = Some(id.to_owned());
            }
            current = Some(Pending {
                id: announced
                    .clone()
                    .unwrap_or_else(|| "unknown-request".to_owned()),
                ts,
                start: rest_at,
                end: line_start + line.len(),
            });
        } else if let Some(p) = current.as_mut() {
            // A continuation line of a multi-line message.
            p.end = line_start + line.len();
        } else if !line.trim().is_empty() {
            analyzer.add_event(source, "text", 0, line);
        }
    }
    flush(current.take(), analyzer, &mut n);
}

/// `Thu Apr 05 09:01:24 UTC 2018 : text` → (epoch ms, text).
fn test_invoke_time(line: &str) -> Option<(i64, &str)> {
    let (stamp, text) = line.split_once(" : ")?;
    let t = chrono::NaiveDateTime::parse_from_str(stamp.trim(), "%a %b %d %H:%M:%S UTC %Y").ok()?;
    Some((t.and_utc().timestamp_millis(), text))
}

fn feed_test_invoke<V: InputVisitor>(
    body: &str,
    source: Source<'_>,
    analyzer: &mut Windowed<'_, V>,
) {
    // `…[TRUNCATED]Thu Apr 05 …`: the marker can be glued to the next line.
    let body = unglue_truncated(body);
    let mut id = "test-invoke-request".to_owned();
    let mut current: Option<(i64, String)> = None;
    let mut n = 0usize;
    let flush =
        |c: Option<(i64, String)>, id: &str, analyzer: &mut Windowed<'_, V>, n: &mut usize| {
            if let Some((ts, text)) = c {
                *n += 1;
                analyzer.add_execution_line(
                    source,
                    &format!("line-event:{n}"),
                    id,
                    ts,
                    text.trim_end(),
                );
            }
        };
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("Execution log for request ") {
            flush(current.take(), &id, analyzer, &mut n);
            id = rest.trim().to_owned();
            continue;
        }
        match test_invoke_time(line) {
            Some((ts, text)) => {
                flush(current.take(), &id, analyzer, &mut n);
                current = Some((ts, text.to_owned()));
            }
            None => match current.as_mut() {
                Some((_, text)) => {
                    text.push('\n');
                    text.push_str(line);
                }
                None if !line.trim().is_empty() => analyzer.add_event(source, "text", 0, line),
                None => {}
            },
        }
    }
    flush(current.take(), &id, analyzer, &mut n);
}

fn unglue_truncated(body: &str) -> Cow<'_, str> {
    const MARK: &str = "[TRUNCATED]";
    if !body.contains(MARK) {
        return Cow::Borrowed(body);
    }
    let mut out = String::with_capacity(body.len() + 16);
    let mut rest = body;
    while let Some(i) = rest.find(MARK) {
        let after = &rest[i + MARK.len()..];
        out.push_str(&rest[..i + MARK.len()]);
        if test_invoke_time(after.lines().next().unwrap_or("")).is_some() {
            out.push('\n');
        }
        rest = after;
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests;
