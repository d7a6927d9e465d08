//! Backend Lambda logs (`/aws/lambda/<name>`), when a team subscribes them too or a
//! lookup reads them: the runtime's `START` / `END` / `REPORT` lines (text format,
//! fields separated by tabs, `Init Duration`, and the `XRAY TraceId` line that
//! follows REPORT when tracing is on), `Task timed out after N seconds`, and the JSON
//! system-log records (`LoggingConfig.LogFormat: JSON`): `platform.start`,
//! `platform.report` with `tracing.value` `Root=…`.

use std::borrow::Cow;

use crate::logs::execution_log::leading_number;

/// The Lambda function a log group belongs to: `/aws/lambda/orders` → `orders`.
pub fn function_from_group(log_group: &str) -> Option<&str> {
    log_group
        .strip_prefix("/aws/lambda/")
        .filter(|n| !n.is_empty())
}

/// How a run ended, as its REPORT says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Success,
    /// The function's own timeout fired.
    Timeout,
    /// The runtime or the handler failed (`Status: error`, JSON `error`/`failure`).
    Error,
}

/// What one function log line says about a run.
#[derive(Debug, Clone, PartialEq)]
pub enum FunctionLine<'a> {
    /// The invoke phase began (after any init): `START RequestId: …` or `platform.start`.
    Start {
        request_id: Cow<'a, str>,
        /// The X-Ray trace id (`1-…`), which only the JSON record carries.
        trace_id: Option<Cow<'a, str>>,
    },
    /// `END RequestId: …` (`platform.runtimeDone` in JSON).
    End { request_id: Cow<'a, str> },
    /// The end-of-run report.
    Report {
        request_id: Cow<'a, str>,
        duration_ms: f64,
        /// `Init Duration` (or SnapStart's `Restore Duration`): this run was a cold start.
        init_duration_ms: Option<f64>,
        timed_out: bool,
        status: RunStatus,
        /// `XRAY TraceId: 1-…` / `tracing.value` `Root=1-…`, as `1-…`.
        trace_id: Option<Cow<'a, str>>,
    },
    /// `Task timed out after 30.03 seconds`: the function's own timeout fired.
    /// Text lines name the run: `<ts> <request id> Task timed out …`.
    TaskTimedOut {
        seconds: f64,
        request_id: Option<&'a str>,
    },
    /// The runtime's other platform lines (`INIT_START`, `EXTENSION`…): known, not needed.
    Platform,
}

/// What selects a run's START and REPORT in either log format, as FilterLogEvents terms:
/// text `START RequestId: …` / `REPORT RequestId: …`, and JSON records of `"type":"platform.start"`
/// / `"platform.report"` (whose key is `requestId`, which a case-sensitive `RequestId` misses).
pub const RUN_TERMS: [&str; 4] = [
    "START RequestId",
    "REPORT RequestId",
    "platform.start",
    "platform.report",
];

const PLATFORM_PREFIXES: &[&str] = &[
    "INIT_START",
    "INIT_REPORT",
    "RESTORE_START",
    "RESTORE_REPORT",
    "EXTENSION",
    "TELEMETRY",
];

pub fn parse_line(message: &str) -> Option<FunctionLine<'_>> {
    let m = message.trim_start();
    if let Some(rest) = m.strip_prefix("REPORT RequestId: ") {
        return parse_text_report(rest);
    }
    if let Some(rest) = m.strip_prefix("START RequestId: ") {
        return Some(FunctionLine::Start {
            request_id: Cow::Borrowed(first_word(rest)?),
            trace_id: None,
        });
    }
    if let Some(rest) = m.strip_prefix("END RequestId: ") {
        return Some(FunctionLine::End {
            request_id: Cow::Borrowed(first_word(rest)?),
        });
    }
    if m.starts_with('{') && m.contains("\"platform.") {
        if let Some(line) = parse_json(m) {
            return Some(line);
        }
    }
    if PLATFORM_PREFIXES.iter().any(|p| m.starts_with(p)) {
        return Some(FunctionLine::Platform);
    }
    // `<ts> <request id> Task timed out after 10.00 seconds` (text) or the bare sentence.
    let i = m.find("Task timed out after ")?;
    let seconds = number_at(&m[i + "Task timed out after ".len()..])?;
    let request_id = m[..i]
        .split_whitespace()
        .last()
        .filter(|w| looks_like_request_id(w));
    Some(FunctionLine::TaskTimedOut {
        seconds,
        request_id,
    })
}

/// The levels runtimes write before or after the request id on an application's text line.
const APP_LEVELS: &[&str] = &[
    "TRACE", "DEBUG", "INFO", "WARN", "WARNING", "ERROR", "FATAL", "CRITICAL",
];

/// A line the function's own code wrote, recognised by the runtimes' shapes where the
/// log group does not say it is a function's: Node's `<ts>\t<request id>\tINFO\t…`,
/// Python's `[INFO]\t<ts>\t<request id>\t…`, and the JSON log format's application
/// records (`{"timestamp":…,"level":"INFO","message":…,"requestId":"…"}`). Read, not used:
/// the verdicts come from the platform lines alone.
pub fn is_application_line(message: &str) -> bool {
    let m = message.trim_start();
    if m.starts_with('{') {
        return is_json_application_record(m);
    }
    let mut fields = m.split('\t');
    let (Some(a), Some(b), Some(c)) = (fields.next(), fields.next(), fields.next()) else {
        return false;
    };
    let level = |w: &str| APP_LEVELS.contains(&w);
    let id = |w: &str| looks_like_request_id(w) || w == "undefined";
    let ts = |w: &str| w.len() >= 19 && w.as_bytes()[..4].iter().all(u8::is_ascii_digit);
    // Node (and the Lambda text format's default): timestamp, request id, level.
    (ts(a) && id(b) && level(c))
        // Python: `[LEVEL]`, timestamp, request id.
        || (a.strip_prefix('[').and_then(|w| w.strip_suffix(']')).is_some_and(level)
            && ts(b)
            && id(c))
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonApplicationRecord<'a> {
    #[serde(borrow)]
    level: Cow<'a, str>,
    #[serde(borrow)]
    request_id: Cow<'a, str>,
}

fn is_json_application_record(m: &str) -> bool {
    // The cheap test first: most JSON lines in an unknown group are access-log records.
    m.contains("\"level\"")
        && m.contains("\"requestId\"")
        && serde_json::from_str::<JsonApplicationRecord<'_>>(m)
            .is_ok_and(|r| !r.level.is_empty() && !r.request_id.is_empty())
}

/// `3f1c…\tDuration: 30003.52 ms\tBilled Duration: …\tInit Duration: 812.1 ms\tStatus: timeout\nXRAY TraceId: 1-…\tSegmentId: …\tSampled: true`.
/// Keys are found by name, so a copy whose tabs became spaces reads the same.
fn parse_text_report(rest: &str) -> Option<FunctionLine<'_>> {
    let request_id = first_word(rest)?;
    // `Billed Duration:` and `Init Duration:` also contain `Duration: `; the first is the real one.
    let duration_ms = number_after(rest, "Duration: ")?;
    let init_duration_ms =
        number_after(rest, "Init Duration: ").or_else(|| number_after(rest, "Restore Duration: "));
    let status = match word_after(rest, "Status: ") {
        Some("timeout") => RunStatus::Timeout,
        Some("error" | "failure") => RunStatus::Error,
        _ => RunStatus::Success,
    };
    let trace_id = word_after(rest, "XRAY TraceId: ")
        .filter(|t| looks_like_trace_id(t))
        .map(Cow::Borrowed);
    Some(FunctionLine::Report {
        request_id: Cow::Borrowed(request_id),
        duration_ms,
        init_duration_ms,
        timed_out: status == RunStatus::Timeout,
        status,
        trace_id,
    })
}

#[derive(serde::Deserialize)]
struct JsonRecord<'a> {
    #[serde(borrow, rename = "type")]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    record: Option<JsonBody<'a>>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonBody<'a> {
    #[serde(borrow, default)]
    request_id: Option<Cow<'a, str>>,
    #[serde(default)]
    metrics: Option<JsonMetrics>,
    #[serde(borrow, default)]
    status: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tracing: Option<JsonTracing<'a>>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonMetrics {
    #[serde(default)]
    duration_ms: Option<f64>,
    #[serde(default)]
    init_duration_ms: Option<f64>,
    #[serde(default)]
    restore_duration_ms: Option<f64>,
}

#[derive(serde::Deserialize)]
struct JsonTracing<'a> {
    #[serde(borrow, default)]
    value: Option<Cow<'a, str>>,
}

/// `{"time":"…","type":"platform.report","record":{"requestId":"…","metrics":{"durationMs":…,"initDurationMs":…},"tracing":{"type":"X-Amzn-Trace-Id","value":"Root=1-…;Parent=…;Sampled=1"},"status":"timeout"}}`.
fn parse_json(m: &str) -> Option<FunctionLine<'_>> {
    let rec: JsonRecord<'_> = serde_json::from_str(m).ok()?;
    if !rec.kind.starts_with("platform.") {
        return None;
    }
    let body = rec.record;
    // Rare (a few records per run): the root is copied rather than borrowed.
    let trace = |b: &JsonBody<'_>| {
        b.tracing
            .as_ref()
            .and_then(|t| t.value.as_deref())
            .and_then(trace_root)
            .map(|r| Cow::Owned(r.to_owned()))
    };
    match &*rec.kind {
        "platform.start" => {
            let b = body?;
            let trace_id = trace(&b);
            Some(FunctionLine::Start {
                request_id: b.request_id.filter(|id| !id.is_empty())?,
                trace_id,
            })
        }
        "platform.runtimeDone" => Some(FunctionLine::End {
            request_id: body?.request_id.filter(|id| !id.is_empty())?,
        }),
        "platform.report" => {
            let mut b = body?;
            let metrics = b.metrics.take()?;
            let duration_ms = metrics.duration_ms.filter(|d| plausible(*d))?;
            let status = match b.status.as_deref() {
                Some("timeout") => RunStatus::Timeout,
                Some("error" | "failure") => RunStatus::Error,
                _ => RunStatus::Success,
            };
            let trace_id = trace(&b);
            Some(FunctionLine::Report {
                request_id: b.request_id.filter(|id| !id.is_empty())?,
                duration_ms,
                init_duration_ms: metrics
                    .init_duration_ms
                    .or(metrics.restore_duration_ms)
                    .filter(|d| plausible(*d)),
                timed_out: status == RunStatus::Timeout,
                status,
                trace_id,
            })
        }
        _ => Some(FunctionLine::Platform),
    }
}

/// `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=…;Sampled=1` (or a bare `1-…`) → `1-…`.
/// The execution log's `X-ray Tracing ID : Root=…` and the access log's
/// `$context.xrayTraceId` come in the same shapes.
pub fn trace_root(value: &str) -> Option<&str> {
    let value = value.trim();
    let root = value
        .split(';')
        .map(str::trim)
        .find_map(|part| part.strip_prefix("Root="))
        .unwrap_or_else(|| value.split(';').next().unwrap_or(""));
    looks_like_trace_id(root).then_some(root)
}

/// `1-5759e988-bd862e3fe1be46a994272793`: version, 8 hex digits of time, 24 of id.
fn looks_like_trace_id(s: &str) -> bool {
    let mut parts = s.split('-');
    parts.next() == Some("1")
        && parts
            .next()
            .is_some_and(|t| !t.is_empty() && t.len() <= 8 && is_hex(t))
        && parts
            .next()
            .is_some_and(|t| !t.is_empty() && t.len() <= 24 && is_hex(t))
        && parts.next().is_none()
}

fn is_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Lambda request ids are UUIDs; anything id-like (letters, digits, `-`) is accepted.
fn looks_like_request_id(s: &str) -> bool {
    s.len() >= 8 && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn first_word(s: &str) -> Option<&str> {
    s.split([' ', '\t', '\n', '\r'])
        .next()
        .filter(|w| !w.is_empty())
}

fn word_after<'s>(s: &'s str, key: &str) -> Option<&'s str> {
    let i = s.find(key)? + key.len();
    first_word(&s[i..])
}

fn number_after(s: &str, key: &str) -> Option<f64> {
    let i = s.find(key)? + key.len();
    number_at(s[i..].trim_start())
}

fn plausible(n: f64) -> bool {
    n.is_finite() && (0.0..10_000_000.0).contains(&n)
}

fn number_at(s: &str) -> Option<f64> {
    let len = s
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b'.')
        .count();
    let n: f64 = s[..len].parse().ok()?;
    (n.is_finite() && leading_number(s).is_some_and(|w| w < 10_000_000)).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = "1-5e1b4151-5ac6c58f5b5dbd6a1e6d2d8c";

    fn report(line: &str) -> (String, f64, Option<f64>, RunStatus, Option<String>) {
        match parse_line(line) {
            Some(FunctionLine::Report {
                request_id,
                duration_ms,
                init_duration_ms,
                timed_out,
                status,
                trace_id,
            }) => {
                assert_eq!(timed_out, status == RunStatus::Timeout);
                (
                    request_id.into_owned(),
                    duration_ms,
                    init_duration_ms,
                    status,
                    trace_id.map(Cow::into_owned),
                )
            }
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn text_reports() {
        let timeout = "REPORT RequestId: 3f1c\tDuration: 30003.52 ms\tBilled Duration: 30000 ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB\tStatus: timeout";
        assert_eq!(
            report(timeout),
            ("3f1c".into(), 30003.52, None, RunStatus::Timeout, None)
        );
        // A cold start with X-Ray: the XRAY line is part of the same log event.
        let cold = format!("REPORT RequestId: 6b8a2f3e-1d2c-4b5a-9e8f-0a1b2c3d4e5f\tDuration: 23291.62 ms\tBilled Duration: 23292 ms\tMemory Size: 512 MB\tMax Memory Used: 181 MB\tInit Duration: 7912.35 ms\t\nXRAY TraceId: {TRACE}\tSegmentId: 6d7bc9e8a1c5e3f2\tSampled: true\t\n");
        assert_eq!(
            report(&cold),
            (
                "6b8a2f3e-1d2c-4b5a-9e8f-0a1b2c3d4e5f".into(),
                23291.62,
                Some(7912.35),
                RunStatus::Success,
                Some(TRACE.into())
            )
        );
        // Tabs turned into spaces by a copy from the console.
        let spaced = cold.replace('\t', " ");
        assert_eq!(report(&spaced), report(&cold));
        let error = "REPORT RequestId: ab-12\tDuration: 12.00 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB\tStatus: error\tError Type: Runtime.ExitError";
        assert_eq!(report(error).3, RunStatus::Error);
        let snap = "REPORT RequestId: ab-12\tDuration: 40.00 ms\tBilled Duration: 300 ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB\tRestore Duration: 260.1 ms\tBilled Restore Duration: 200 ms";
        assert_eq!(report(snap).2, Some(260.1));
    }

    #[test]
    fn text_start_and_end() {
        assert_eq!(
            parse_line("START RequestId: 6b8a2f3e-1d2c Version: $LATEST"),
            Some(FunctionLine::Start {
                request_id: "6b8a2f3e-1d2c".into(),
                trace_id: None
            })
        );
        assert_eq!(
            parse_line("END RequestId: 6b8a2f3e-1d2c\n"),
            Some(FunctionLine::End {
                request_id: "6b8a2f3e-1d2c".into()
            })
        );
        assert_eq!(parse_line("START RequestId: "), None);
    }

    #[test]
    fn json_records() {
        let start = format!(
            r#"{{"time":"2026-11-25T10:00:00.120Z","type":"platform.start","record":{{"requestId":"ab","version":"$LATEST","tracing":{{"spanId":"7e3a","type":"X-Amzn-Trace-Id","value":"Root={TRACE};Parent=53995c3f42cd8ad8;Sampled=1"}}}}}}"#
        );
        assert_eq!(
            parse_line(&start),
            Some(FunctionLine::Start {
                request_id: "ab".into(),
                trace_id: Some(TRACE.into())
            })
        );
        let rep = format!(
            r#"{{"time":"2026-11-25T10:00:31.000Z","type":"platform.report","record":{{"requestId":"ab","metrics":{{"durationMs":23291.62,"billedDurationMs":23292,"memorySizeMB":512,"maxMemoryUsedMB":181,"initDurationMs":7912.35}},"tracing":{{"spanId":"7e3a","type":"X-Amzn-Trace-Id","value":"Root={TRACE};Parent=53995c3f42cd8ad8;Sampled=1"}},"status":"success"}}}}"#
        );
        assert_eq!(
            report(&rep),
            (
                "ab".into(),
                23291.62,
                Some(7912.35),
                RunStatus::Success,
                Some(TRACE.into())
            )
        );
        let plain = r#"{"time":"2026-11-25T10:00:00.000Z","type":"platform.report","record":{"requestId":"ab","metrics":{"durationMs":812.5,"billedDurationMs":813},"status":"timeout"}}"#;
        assert_eq!(
            report(plain),
            ("ab".into(), 812.5, None, RunStatus::Timeout, None)
        );
        let done = r#"{"time":"2026-11-25T10:00:00.000Z","type":"platform.runtimeDone","record":{"requestId":"ab","status":"success"}}"#;
        assert_eq!(
            parse_line(done),
            Some(FunctionLine::End {
                request_id: "ab".into()
            })
        );
        let init = r#"{"time":"2026-11-25T10:00:00.000Z","type":"platform.initStart","record":{"initializationType":"on-demand"}}"#;
        assert_eq!(parse_line(init), Some(FunctionLine::Platform));
        // An application's own JSON log line is not a platform record.
        assert_eq!(
            parse_line(r#"{"level":"INFO","message":"platform.report is a word here"}"#),
            None
        );
        // Escaped ids are read too.
        let escaped = r#"{"type":"platform.start","record":{"requestId":"a\u0062"}}"#;
        assert_eq!(
            parse_line(escaped),
            Some(FunctionLine::Start {
                request_id: "ab".into(),
                trace_id: None
            })
        );
    }

    #[test]
    fn task_timed_out() {
        assert_eq!(
            parse_line("2026-11-25T10:00:30.000Z 3f1c0000-aaaa Task timed out after 45.05 seconds"),
            Some(FunctionLine::TaskTimedOut {
                seconds: 45.05,
                request_id: Some("3f1c0000-aaaa")
            })
        );
        assert_eq!(
            parse_line("Task timed out after 3.00 seconds"),
            Some(FunctionLine::TaskTimedOut {
                seconds: 3.0,
                request_id: None
            })
        );
        assert_eq!(
            parse_line("INIT_START Runtime Version: python:3.12.v20"),
            Some(FunctionLine::Platform)
        );
        assert_eq!(parse_line("an application log line"), None);
        assert_eq!(parse_line("Task timed out after lots seconds"), None);
        assert_eq!(function_from_group("/aws/lambda/orders"), Some("orders"));
    }

    #[test]
    fn application_lines() {
        // Shapes of tests/fixtures/samples-external/lambda-*-format-*.txt (composed; formats
        // per the Lambda logging docs and the public samples its README.md cites).
        for line in [
            "2025-12-01T10:00:00.320Z\t5d0c3f4e-8a1b-4c2d-9e3f-a0b1c2d3e4f5\tINFO\tfetching order 42\n",
            "2025-12-01T10:00:09.340Z\t5d0c3f4e-8a1b-4c2d-9e3f-a0b1c2d3e4f5\tWARN\tupstream slow",
            "2025-12-01T10:00:00.000Z\tundefined\tERROR\tUncaught Exception \t{}",
            "[ERROR]\t2025-12-01T10:00:01.890Z\t9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d\tupstream returned 503",
            r#"{"timestamp":"2025-12-01T10:00:01.890Z","level":"ERROR","message":"upstream returned 503","logger":"root","requestId":"9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"}"#,
        ] {
            assert!(is_application_line(line), "{line}");
            assert_eq!(parse_line(line), None, "{line}: not a platform line");
        }
        for line in [
            "an application log line",
            "2025-12-01T10:00:00.320Z\tsome\tthing",
            "\t\t\t",
            "[]\t\t",
            r#"{"level":"INFO","message":"no request id"}"#,
            r#"{"level":"","requestId":""}"#,
            r#"{"requestId":"a","level":"INFO""#,
            r#"{"requestId":"a","ip":"203.0.113.50","status":"200"}"#,
        ] {
            assert!(!is_application_line(line), "{line}");
        }
    }

    #[test]
    fn trace_roots() {
        assert_eq!(trace_root(&format!("Root={TRACE}")), Some(TRACE));
        assert_eq!(
            trace_root(&format!("Root={TRACE};Parent=5399;Sampled=1")),
            Some(TRACE)
        );
        assert_eq!(
            trace_root(&format!("Self=1-aa-bb;Root={TRACE}")),
            Some(TRACE)
        );
        assert_eq!(trace_root(TRACE), Some(TRACE));
        assert_eq!(trace_root("-"), None);
        assert_eq!(trace_root("Root=1-zz-yy"), None);
    }
}
