//! The CLI's inputs, recognised by content: Lambda events (subscription or
//! Kinesis), decoded subscription documents, `aws logs filter-log-events` /
//! `get-log-events` output, text copied from the CloudWatch console, the API
//! Gateway console's test-invoke log, and one-message-per-line files (JSON-lines
//! access logs). Gzip files are inflated first. Everything is fed to one
//! [`Analyzer`], so that several files are analysed as one stream.

use std::borrow::Cow;

use serde::Deserialize;

use crate::engine::analysis::{Analyzer, Source};
use crate::logs::envelope::{self, EnvelopeError, Origin};
use crate::logs::execution_log::split_request_id;

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
    /// The API Gateway console's test-invoke log.
    TestInvoke,
    /// One log message per line (JSON-lines access logs).
    Lines,
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
    analyzer: &mut Analyzer<'_>,
) -> Result<(), InputError> {
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
        InputKind::TestInvoke => feed_test_invoke(body, source, analyzer),
        InputKind::Lines | InputKind::Auto => {
            for (i, line) in body.lines().enumerate() {
                if !line.trim().is_empty() {
                    analyzer.add_event(source, &format!("line:{}", i + 1), 0, line);
                }
            }
        }
    }
    Ok(())
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
    if t.starts_with('{') || t.starts_with('[') {
        let head: String = t.chars().take(4096).collect();
        if head.contains("\"awslogs\"") || head.contains("\"Records\"") {
            return InputKind::Event;
        }
        if head.contains("\"messageType\"") {
            return InputKind::Subscription;
        }
        if t.starts_with('[') || head.contains("\"events\"") {
            return InputKind::AwsLogs;
        }
        return InputKind::Lines;
    }
    let first = t.lines().next().unwrap_or("");
    if first.starts_with("Execution log for request") || test_invoke_time(first).is_some() {
        return InputKind::TestInvoke;
    }
    InputKind::Console
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
    analyzer: &mut Analyzer<'_>,
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

fn feed_console(body: &str, source: Source<'_>, analyzer: &mut Analyzer<'_>) {
    let mut current: Option<Pending> = None;
    let mut announced: Option<String> = None;
    let mut lone_ts = 0;
    let mut n = 0usize;
    let flush = |p: Option<Pending>, analyzer: &mut Analyzer<'_>, n: &mut usize| {
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

fn feed_test_invoke(body: &str, source: Source<'_>, analyzer: &mut Analyzer<'_>) {
    // `…[TRUNCATED]Thu Apr 05 …`: the marker can be glued to the next line.
    let body = unglue_truncated(body);
    let mut id = "test-invoke-request".to_owned();
    let mut current: Option<(i64, String)> = None;
    let mut n = 0usize;
    let flush = |c: Option<(i64, String)>, id: &str, analyzer: &mut Analyzer<'_>, n: &mut usize| {
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
mod tests {
    use super::*;

    #[test]
    fn detection() {
        assert_eq!(detect(r#"{"awslogs":{"data":"x"}}"#), InputKind::Event);
        assert_eq!(detect(r#"{"Records":[]}"#), InputKind::Event);
        assert_eq!(
            detect(r#"{ "messageType": "DATA_MESSAGE" }"#),
            InputKind::Subscription
        );
        assert_eq!(
            detect(r#"{"events":[],"searchedLogStreams":[]}"#),
            InputKind::AwsLogs
        );
        assert_eq!(
            detect("{\"requestId\":\"a\",\"status\":\"200\"}\n{}"),
            InputKind::Lines
        );
        assert_eq!(detect("(abc) Sending request to x"), InputKind::Console);
        assert_eq!(
            detect("Execution log for request test-request\nThu Apr 05 09:01:24 UTC 2018 : Starting execution"),
            InputKind::TestInvoke
        );
    }

    #[test]
    fn timestamps() {
        assert_eq!(
            leading_timestamp("2016-10-01T10:55:45.602Z Verifying"),
            Some((1_475_319_345_602, "Verifying"))
        );
        assert_eq!(
            leading_timestamp("2024-05-01T10:00:00.000+00:00\t(abc) x").map(|x| x.1),
            Some("(abc) x")
        );
        assert_eq!(
            leading_timestamp("1551194973732\t(a) b").map(|x| x.0),
            Some(1_551_194_973_732)
        );
        assert_eq!(leading_timestamp("(a) b"), None);
        assert_eq!(
            test_invoke_time("Thu Apr 05 09:01:24 UTC 2018 : x").map(|x| x.1),
            Some("x")
        );
        assert_eq!(
            announced_request_id("Starting execution for request: 9ac0."),
            Some("9ac0")
        );
    }

    #[test]
    fn comment_headers_are_skipped() {
        assert_eq!(skip_comment_header("# a\n# b\n(x) y"), "(x) y");
        assert_eq!(skip_comment_header("# only"), "");
    }
}
