//! Backend Lambda logs (`/aws/lambda/<name>`), when a team subscribes them too:
//! `REPORT RequestId: … Duration: … ms` and `Task timed out after N seconds`, in
//! the text format and in the JSON format (`platform.report`).

use crate::logs::execution_log::leading_number;

/// The Lambda function a log group belongs to: `/aws/lambda/orders` → `orders`.
pub fn function_from_group(log_group: &str) -> Option<&str> {
    log_group
        .strip_prefix("/aws/lambda/")
        .filter(|n| !n.is_empty())
}

/// What one function log line says about a run.
#[derive(Debug, Clone, PartialEq)]
pub enum FunctionLine<'a> {
    /// The end-of-run report, with its duration and whether the run timed out.
    Report {
        request_id: &'a str,
        duration_ms: f64,
        timed_out: bool,
    },
    /// `Task timed out after 30.03 seconds`: the function's own timeout fired.
    TaskTimedOut { seconds: f64 },
    /// The runtime's other platform lines (`START`, `END`, `INIT_START`…): known, not needed.
    Platform,
}

const PLATFORM_PREFIXES: &[&str] = &[
    "START RequestId:",
    "END RequestId:",
    "INIT_START",
    "INIT_REPORT",
    "EXTENSION",
    "TELEMETRY",
];

pub fn parse_line(message: &str) -> Option<FunctionLine<'_>> {
    let m = message.trim_start();
    if let Some(rest) = m.strip_prefix("REPORT RequestId: ") {
        let request_id = rest.split(['\t', ' ']).next().unwrap_or("");
        let duration_ms = number_after(rest, "Duration: ")?;
        return Some(FunctionLine::Report {
            request_id,
            duration_ms,
            timed_out: rest.contains("Status: timeout"),
        });
    }
    if m.starts_with('{') && m.contains("\"platform.report\"") {
        return parse_json_report(m);
    }
    if PLATFORM_PREFIXES.iter().any(|p| m.starts_with(p))
        || (m.starts_with('{') && m.contains("\"type\":\"platform."))
    {
        return Some(FunctionLine::Platform);
    }
    // `<ts> <request id> Task timed out after 10.00 seconds` (text) or the bare sentence.
    let i = m.find("Task timed out after ")?;
    let seconds = number_at(&m[i + "Task timed out after ".len()..])?;
    Some(FunctionLine::TaskTimedOut { seconds })
}

fn parse_json_report(m: &str) -> Option<FunctionLine<'_>> {
    // {"time":"…","type":"platform.report","record":{"requestId":"…","metrics":{"durationMs":…},"status":"timeout"}}
    let id_at = m.find("\"requestId\":\"")? + "\"requestId\":\"".len();
    let id_end = m[id_at..].find('"')? + id_at;
    let duration_ms = number_after(m, "\"durationMs\":")?;
    Some(FunctionLine::Report {
        request_id: &m[id_at..id_end],
        duration_ms,
        timed_out: m.contains("\"status\":\"timeout\""),
    })
}

fn number_after(s: &str, key: &str) -> Option<f64> {
    // `Billed Duration:` also contains `Duration: `; take the first, which is the real one.
    let i = s.find(key)? + key.len();
    number_at(s[i..].trim_start())
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

    #[test]
    fn report_lines() {
        let text = "REPORT RequestId: 3f1c\tDuration: 30003.52 ms\tBilled Duration: 30000 ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB\tStatus: timeout";
        assert_eq!(
            parse_line(text),
            Some(FunctionLine::Report {
                request_id: "3f1c",
                duration_ms: 30003.52,
                timed_out: true
            })
        );
        let json = r#"{"time":"2026-11-25T10:00:00.000Z","type":"platform.report","record":{"requestId":"ab","metrics":{"durationMs":812.5,"billedDurationMs":813},"status":"success"}}"#;
        assert_eq!(
            parse_line(json),
            Some(FunctionLine::Report {
                request_id: "ab",
                duration_ms: 812.5,
                timed_out: false
            })
        );
    }

    #[test]
    fn task_timed_out() {
        assert_eq!(
            parse_line("2026-11-25T10:00:30.000Z 3f1c Task timed out after 45.05 seconds"),
            Some(FunctionLine::TaskTimedOut { seconds: 45.05 })
        );
        assert_eq!(
            parse_line("START RequestId: x Version: $LATEST"),
            Some(FunctionLine::Platform)
        );
        assert_eq!(parse_line("an application log line"), None);
        assert_eq!(parse_line("Task timed out after lots seconds"), None);
        assert_eq!(function_from_group("/aws/lambda/orders"), Some("orders"));
    }
}
