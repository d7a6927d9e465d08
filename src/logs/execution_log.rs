//! REST and WebSocket execution logs: `(<id>) <text>` messages, one typed line each.
//!
//! Lines are recognised by their prefix only. A request or response body that
//! happens to contain `Execution failed due to a timeout error` is therefore a
//! body line, never a timeout. Facts and exact strings: shared/reference/aws-logs.md §1.

/// Where `needle` first occurs in `haystack`. One memmem searcher per needle, built
/// once: `str::find` builds its searcher on every call, and these run on every line.
macro_rules! find {
    ($haystack:expr, $needle:literal) => {{
        static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new($needle));
        FINDER.find($haystack.as_bytes())
    }};
}

/// Splits `(<id>) <text>` into id and text. WebSocket ids (`PDS1PEC4oAMFpyA=`)
/// are not UUIDs, so any characters but `)` and whitespace are accepted.
pub fn split_request_id(message: &str) -> Option<(&str, &str)> {
    let rest = message.strip_prefix('(')?;
    let close = memchr::memchr(b')', rest.as_bytes())?;
    let id = &rest[..close];
    if id.is_empty() || id.len() > 128 || id.bytes().any(|b| b.is_ascii_whitespace()) {
        return None;
    }
    let text = rest[close + 1..]
        .strip_prefix(' ')
        .unwrap_or(&rest[close + 1..]);
    Some((id, text))
}

/// What every execution log group's name starts with.
pub const GROUP_PREFIX: &str = "API-Gateway-Execution-Logs_";

/// API id and stage from `API-Gateway-Execution-Logs_{apiId}/{stage}`.
pub fn api_stage_from_group(log_group: &str) -> Option<(&str, &str)> {
    let rest = log_group.strip_prefix("API-Gateway-Execution-Logs_")?;
    let (api, stage) = rest.split_once('/')?;
    (!api.is_empty() && !stage.is_empty()).then_some((api, stage))
}

/// One execution-log line, typed. Borrowed fields point into the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line<'a> {
    ExtendedRequestId(&'a str),
    /// `Verifying Usage Plan for request: … API Stage: <api>/<stage>`.
    UsagePlan {
        api_id: Option<&'a str>,
        stage: Option<&'a str>,
    },
    /// `API Key authorized because method '<METHOD> <template>' …`: the route template.
    MethodTemplate {
        method: &'a str,
        template: &'a str,
    },
    StartingExecution,
    /// `HTTP Method: GET, Resource Path: /orders/123`: the concrete path.
    HttpMethod {
        method: &'a str,
        path: &'a str,
    },
    /// `Method request path: {orderId=123}`.
    MethodRequestPath(&'a str),
    EndpointRequestUri(&'a str),
    SendingRequest(&'a str),
    ReceivedResponse {
        status: Option<u16>,
        latency_ms: u64,
    },
    /// `Endpoint response headers: {…}` with the Lambda function error marker, if any.
    EndpointResponseHeaders {
        function_error: bool,
        /// `x-amzn-ErrorType=TooManyRequestsException`: the Lambda service throttled the call.
        throttled: bool,
    },
    SuccessfullyCompleted,
    MethodCompleted(u16),
    IntegrationRequestId(&'a str),
    XrayTraceId(&'a str),
    Timeout,
    ConfigurationError(&'a str),
    /// `Lambda execution failed with status 200 due to customer function error: <msg>. Lambda request id: <id>`
    FunctionError {
        message: &'a str,
        lambda_request_id: Option<&'a str>,
    },
    /// `Lambda invocation failed with status: 429. Lambda request id: …`
    InvocationFailed {
        status: Option<u16>,
    },
    KeyThrottled,
    GatewayResponse {
        response_type: &'a str,
        status: Option<u16>,
    },
    AuthorizerStarted,
    AuthorizerSucceeded,
    Unauthorized,
    /// `Execution failed due to <anything else>`: tolerated, kept as an integration failure.
    OtherFailure(&'a str),
    /// A line we know and do not need (headers, bodies, usage-plan chatter).
    Info,
    Unrecognised,
}

impl Line<'_> {
    /// Lines that API Gateway writes at INFO only: seeing one means the request was logged at INFO.
    pub fn is_info_level(&self) -> bool {
        !matches!(
            self,
            Line::Timeout
                | Line::ConfigurationError(_)
                | Line::FunctionError { .. }
                | Line::InvocationFailed { .. }
                | Line::KeyThrottled
                | Line::GatewayResponse { .. }
                | Line::OtherFailure(_)
                | Line::MethodCompleted(_)
                | Line::Unauthorized
                | Line::Unrecognised
        )
    }
}

/// The lines that log a request or response body: [`Line::Info`] whatever the body holds.
const BODY_LINES: [&str; 4] = [
    "Method request body before transformations: ",
    "Endpoint request body after transformations: ",
    "Endpoint response body before transformations: ",
    "Method response body after transformations: ",
];

/// Whether a line's text (or any prefix of it that reaches past the body-line
/// prefix) is a body line, known to parse as [`Line::Info`] without reading the body.
pub fn is_body_line(text: &str) -> bool {
    BODY_LINES.iter().any(|p| text.starts_with(p))
}

/// Recognises one line's text (the part after `(<id>) `).
/// A delivered (vended) execution-log record (`EXECUTION_LOGS` delivery to a log
/// group, since September 2026): JSON with `resource_arn`, `event_timestamp`,
/// `stage` and `payload` (documented), and `api_id`, `resource_path`,
/// `http_method` (a secondary source). No real sample is public, so it is read
/// tolerantly: the classic `(requestId) text` line from `payload` (a string, or an
/// object's `message`) or `message`, the API id and stage from `resource_arn`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub api_id: Option<String>,
    pub stage: Option<String>,
    pub request_id: String,
    pub text: String,
    /// Epoch ms of `event_timestamp`, when it is a number (s or ms).
    pub timestamp_ms: Option<i64>,
}

/// Reads a delivered execution-log record; None when `message` is not one.
pub fn delivered(message: &str) -> Option<Delivered> {
    let m = message.trim_start();
    if !m.starts_with('{') || (!m.contains("\"resource_arn\"") && !m.contains("\"payload\"")) {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(m).ok()?;
    let obj = v.as_object()?;
    let text_of = |v: Option<&serde_json::Value>| -> Option<String> {
        match v? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Object(o) => ["message", "log", "text"]
                .iter()
                .find_map(|k| o.get(*k).and_then(|x| x.as_str()).map(str::to_owned)),
            _ => None,
        }
    };
    let line = text_of(obj.get("payload")).or_else(|| text_of(obj.get("message")))?;
    let field = |k: &str| {
        obj.get(k)
            .and_then(|x| x.as_str())
            .filter(|s| !s.is_empty())
    };
    let (request_id, text) = match split_request_id(&line) {
        Some((id, text)) => (id.to_owned(), text.to_owned()),
        None => {
            let id = field("request_id").or(field("requestId"))?;
            (id.to_owned(), line.clone())
        }
    };
    // arn:aws:apigateway:{region}:{account}:/restapis/{id}/stages/{stage}
    let arn = field("resource_arn").unwrap_or("");
    let path = arn.splitn(6, ':').nth(5).unwrap_or("");
    let mut parts = path.trim_start_matches('/').split('/');
    let (api_from_arn, stage_from_arn) =
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("restapis"), Some(api), Some("stages"), Some(stage)) => (Some(api), Some(stage)),
            (Some("restapis"), Some(api), _, _) => (Some(api), None),
            _ => (None, None),
        };
    let timestamp_ms = obj
        .get("event_timestamp")
        .and_then(|t| t.as_f64())
        .map(|t| {
            if t < 1e11 {
                (t * 1000.0) as i64
            } else {
                t as i64
            }
        });
    Some(Delivered {
        api_id: api_from_arn.or(field("api_id")).map(str::to_owned),
        stage: stage_from_arn.or(field("stage")).map(str::to_owned),
        request_id,
        text,
        timestamp_ms,
    })
}

pub fn parse_line(text: &str) -> Line<'_> {
    let first = text.as_bytes().first().copied().unwrap_or(0);
    match first {
        b'A' => parse_a(text),
        b'E' => parse_e(text),
        b'H' => {
            if let Some(rest) = text.strip_prefix("HTTP Method: ") {
                if let Some((method, path)) = rest.split_once(", Resource Path: ") {
                    return Line::HttpMethod {
                        method: method.trim(),
                        path: first_line(path).trim(),
                    };
                }
            }
            Line::Unrecognised
        }
        b'M' => parse_m(text),
        b'S' => {
            if let Some(uri) = text.strip_prefix("Sending request to ") {
                Line::SendingRequest(first_line(uri).trim())
            } else if text.starts_with("Starting execution for request") {
                Line::StartingExecution
            } else if text.starts_with("Successfully completed execution") {
                Line::SuccessfullyCompleted
            } else if text.starts_with("Successfully completed authorizer execution") {
                Line::AuthorizerSucceeded
            } else if text.starts_with("Starting authorizer") {
                Line::AuthorizerStarted
            } else {
                Line::Unrecognised
            }
        }
        b'R' => text
            .strip_prefix("Received response.")
            .map_or(Line::Unrecognised, parse_received),
        b'L' => parse_lambda(text),
        b'K' if text.starts_with("Key throttle limit exceeded") => Line::KeyThrottled,
        b'G' => text
            .strip_prefix("Gateway response type: ")
            .map_or(Line::Unrecognised, |rest| {
                let (ty, status) = match rest.split_once(" with status code: ") {
                    Some((ty, st)) => (ty, leading_number(st).map(|n| n as u16)),
                    None => (first_line(rest), None),
                };
                Line::GatewayResponse {
                    response_type: ty.trim(),
                    status,
                }
            }),
        b'U' => {
            if text.starts_with("Usage Plan check") {
                Line::Info
            } else if text.starts_with("Unauthorized request") {
                Line::Unauthorized
            } else {
                Line::Unrecognised
            }
        }
        b'V' if text.starts_with("Verifying Usage Plan for request") => {
            let stage_part = find!(text, "API Stage: ")
                .map(|i| first_line(&text[i + "API Stage: ".len()..]).trim());
            let (api_id, stage) = match stage_part.and_then(|s| s.split_once('/')) {
                Some((a, s)) if !a.is_empty() && !s.is_empty() => (Some(a), Some(s)),
                _ => (None, None),
            };
            Line::UsagePlan { api_id, stage }
        }
        b'X' => text
            .strip_prefix("X-ray Tracing ID : ")
            .map_or(Line::Unrecognised, |t| {
                Line::XrayTraceId(first_line(t).trim())
            }),
        _ => Line::Unrecognised,
    }
}

fn parse_a(text: &str) -> Line<'_> {
    if let Some(id) = text.strip_prefix("AWS Integration Endpoint RequestId : ") {
        return Line::IntegrationRequestId(first_line(id).trim());
    }
    if text.starts_with("API Key") {
        // `API Key authorized because method 'GET /orders/{orderId}' does not …`
        // (some writers put two spaces after `API Key`).
        const MARK: &str = "authorized because method '";
        if let Some(i) = find!(text, "authorized because method '") {
            let rest = &text[i + MARK.len()..];
            if let Some(end) = rest.find('\'') {
                if let Some((method, template)) = rest[..end].split_once(' ') {
                    return Line::MethodTemplate { method, template };
                }
            }
        }
        // `API Key: ****…` (2016) and other usage-plan chatter.
        return Line::Info;
    }
    Line::Unrecognised
}

fn parse_e(text: &str) -> Line<'_> {
    if let Some(rest) = text.strip_prefix("Execution failed due to ") {
        if rest.starts_with("a timeout error") {
            return Line::Timeout;
        }
        if let Some(detail) = rest.strip_prefix("configuration error: ") {
            return Line::ConfigurationError(first_line(detail).trim());
        }
        return Line::OtherFailure(first_line(rest).trim());
    }
    if let Some(id) = text.strip_prefix("Extended Request Id: ") {
        return Line::ExtendedRequestId(first_line(id).trim());
    }
    if let Some(uri) = text.strip_prefix("Endpoint request URI: ") {
        return Line::EndpointRequestUri(first_line(uri).trim());
    }
    if let Some(h) = text.strip_prefix("Endpoint response headers: ") {
        return Line::EndpointResponseHeaders {
            function_error: find!(h, "X-Amz-Function-Error=").is_some(),
            throttled: find!(h, "x-amzn-ErrorType=TooManyRequestsException").is_some(),
        };
    }
    if text.starts_with("Endpoint request") || text.starts_with("Endpoint response") {
        return Line::Info;
    }
    Line::Unrecognised
}

fn parse_m(text: &str) -> Line<'_> {
    if let Some(st) = text.strip_prefix("Method completed with status: ") {
        return match leading_number(st) {
            Some(n) if n < 1000 => Line::MethodCompleted(n as u16),
            _ => Line::Unrecognised,
        };
    }
    if let Some(p) = text.strip_prefix("Method request path: ") {
        return Line::MethodRequestPath(first_line(p).trim());
    }
    if text.starts_with("Method request") || text.starts_with("Method response") {
        return Line::Info;
    }
    Line::Unrecognised
}

fn parse_received(rest: &str) -> Line<'_> {
    // `Received response. Status: 200, Integration latency: 356 ms` (current) or
    // `Received response. Integration latency: 5 ms` (until 2019).
    let status = find!(rest, "Status: ")
        .and_then(|i| leading_number(&rest[i + 8..]))
        .map(|n| n as u16);
    match find!(rest, "Integration latency: ") {
        Some(i) => match leading_number(&rest[i + 21..]) {
            Some(latency_ms) => Line::ReceivedResponse { status, latency_ms },
            None => Line::Unrecognised,
        },
        None => Line::Unrecognised,
    }
}

fn parse_lambda(text: &str) -> Line<'_> {
    const FN_ERR: &str = "Lambda execution failed with status ";
    const INVOKE_ERR: &str = "Lambda invocation failed with status: ";
    const REQ_ID: &str = ". Lambda request id: ";
    if let Some(rest) = text.strip_prefix(FN_ERR) {
        let body = rest
            .split_once("customer function error: ")
            .map_or(rest, |(_, m)| m);
        // The error message may span lines; the request id comes last.
        let (message, lambda_request_id) = match body.rfind(REQ_ID) {
            Some(i) => (
                &body[..i],
                Some(first_line(&body[i + REQ_ID.len()..]).trim()),
            ),
            None => (body, None),
        };
        return Line::FunctionError {
            message,
            lambda_request_id,
        };
    }
    if let Some(rest) = text.strip_prefix(INVOKE_ERR) {
        return Line::InvocationFailed {
            status: leading_number(rest).map(|n| n as u16),
        };
    }
    Line::Unrecognised
}

fn first_line(s: &str) -> &str {
    match memchr::memchr2(b'\n', b'\r', s.as_bytes()) {
        Some(i) => &s[..i],
        None => s,
    }
}

/// The decimal number at the start of `s` (at most 15 digits, so it cannot overflow).
pub fn leading_number(s: &str) -> Option<u64> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).take(16).count();
    if digits == 0 || digits > 15 {
        return None;
    }
    s[..digits].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivered_records_are_read_tolerantly() {
        let r = delivered(r#"{"resource_arn":"arn:aws:apigateway:us-east-1:123456789012:/restapis/abc123/stages/prod","event_timestamp":1764064800123,"stage":"prod","payload":"(5f0c0a4e-0000-4000-8000-000000000001) Execution failed due to a timeout error"}"#).unwrap();
        assert_eq!(r.api_id.as_deref(), Some("abc123"));
        assert_eq!(r.stage.as_deref(), Some("prod"));
        assert_eq!(r.request_id, "5f0c0a4e-0000-4000-8000-000000000001");
        assert_eq!(parse_line(&r.text), Line::Timeout);
        assert_eq!(r.timestamp_ms, Some(1_764_064_800_123));
        // The secondary source's fields, a payload object and a separate request id.
        let r = delivered(r#"{"api_id":"xyz","stage":"dev","event_timestamp":1764064800,"payload":{"message":"Sending request to https://x"},"request_id":"r-1"}"#).unwrap();
        assert_eq!(
            (r.api_id.as_deref(), r.stage.as_deref()),
            (Some("xyz"), Some("dev"))
        );
        assert_eq!(
            (r.request_id.as_str(), r.timestamp_ms),
            ("r-1", Some(1_764_064_800_000))
        );
        assert_eq!(delivered(r#"{"requestId":"r","status":"200"}"#), None);
        assert_eq!(delivered(r#"{"payload":"no id here"}"#), None);
        assert_eq!(delivered("not json"), None);
    }

    #[test]
    fn body_lines_are_info_whatever_the_body() {
        for p in BODY_LINES {
            for body in [
                "",
                "{}",
                "Execution failed due to a timeout error",
                "(x) Sending request to y",
            ] {
                let text = format!("{p}{body}");
                assert!(is_body_line(&text));
                assert_eq!(parse_line(&text), Line::Info, "{text}");
            }
        }
        assert!(!is_body_line("Method request path: {}"));
    }

    #[test]
    fn ids() {
        assert_eq!(
            split_request_id("(8a699106-8d59-11e8-905d-b3747276ed60) Sending request to x"),
            Some((
                "8a699106-8d59-11e8-905d-b3747276ed60",
                "Sending request to x"
            ))
        );
        assert_eq!(
            split_request_id(
                "(PDS1PEC4oAMFpyA=) Execution failed due to configuration error: Authorizer error"
            ),
            Some((
                "PDS1PEC4oAMFpyA=",
                "Execution failed due to configuration error: Authorizer error"
            ))
        );
        assert_eq!(split_request_id("no id"), None);
        assert_eq!(split_request_id("() x"), None);
        assert_eq!(split_request_id("(a b) x"), None);
        assert_eq!(
            api_stage_from_group("API-Gateway-Execution-Logs_h733q2j6gb/Prod"),
            Some(("h733q2j6gb", "Prod"))
        );
        assert_eq!(api_stage_from_group("/aws/lambda/x"), None);
    }

    #[test]
    fn every_line_kind() {
        let cases: Vec<(&str, Line)> = vec![
            ("Extended Request Id: Vts2pH6ArPEFcuQ=", Line::ExtendedRequestId("Vts2pH6ArPEFcuQ=")),
            (
                "Verifying Usage Plan for request: 515f. API Key: API Stage: h733q2j6gb/Prod",
                Line::UsagePlan { api_id: Some("h733q2j6gb"), stage: Some("Prod") },
            ),
            (
                "API Key authorized because method 'POST /verifyReceipt' does not require API Key. Request will not contribute to throttle or quota limits",
                Line::MethodTemplate { method: "POST", template: "/verifyReceipt" },
            ),
            (
                "API Key  authorized because method 'GET /orders/{orderId}' does not require API Key.",
                Line::MethodTemplate { method: "GET", template: "/orders/{orderId}" },
            ),
            ("API Key: ****bMZHBg", Line::Info),
            ("Usage Plan check succeeded for API Key and API Stage a/b", Line::Info),
            ("Starting execution for request: 515f", Line::StartingExecution),
            (
                "HTTP Method: POST, Resource Path: /orders/12334332",
                Line::HttpMethod { method: "POST", path: "/orders/12334332" },
            ),
            ("Method request path: {orderId=12}", Line::MethodRequestPath("{orderId=12}")),
            ("Method request query string: {}", Line::Info),
            ("Method request headers: {A=b}", Line::Info),
            ("Method request body before transformations: Execution failed due to a timeout error", Line::Info),
            ("Endpoint request URI: https://x/y", Line::EndpointRequestUri("https://x/y")),
            ("Endpoint request headers: {x=y}", Line::Info),
            ("Endpoint request body after transformations: {}", Line::Info),
            ("Sending request to https://x/y", Line::SendingRequest("https://x/y")),
            (
                "Received response. Status: 200, Integration latency: 356 ms",
                Line::ReceivedResponse { status: Some(200), latency_ms: 356 },
            ),
            (
                "Received response. Integration latency: 5 ms",
                Line::ReceivedResponse { status: None, latency_ms: 5 },
            ),
            ("Endpoint response body before transformations: {}", Line::Info),
            (
                "Endpoint response headers: {X-Amz-Function-Error=Unhandled}",
                Line::EndpointResponseHeaders { function_error: true, throttled: false },
            ),
            ("Method response body after transformations: {}", Line::Info),
            ("Method response headers: {}", Line::Info),
            ("Successfully completed execution", Line::SuccessfullyCompleted),
            ("Method completed with status: 504", Line::MethodCompleted(504)),
            ("AWS Integration Endpoint RequestId : abc", Line::IntegrationRequestId("abc")),
            ("X-ray Tracing ID : Root=1-69", Line::XrayTraceId("Root=1-69")),
            ("Execution failed due to a timeout error", Line::Timeout),
            (
                "Execution failed due to configuration error: Malformed Lambda proxy response",
                Line::ConfigurationError("Malformed Lambda proxy response"),
            ),
            (
                "Lambda execution failed with status 200 due to customer function error: 2019-02-27T11:31:10.436Z 2892 Task timed out after 10.00 seconds. Lambda request id: 2892-a",
                Line::FunctionError {
                    message: "2019-02-27T11:31:10.436Z 2892 Task timed out after 10.00 seconds",
                    lambda_request_id: Some("2892-a"),
                },
            ),
            (
                "Lambda invocation failed with status: 429. Lambda request id: x",
                Line::InvocationFailed { status: Some(429) },
            ),
            (
                "Key throttle limit exceeded for RestApi a, Stage b, Resource c, HttpMethod POST. Limit: 1.00 Burst: 1",
                Line::KeyThrottled,
            ),
            (
                "Gateway response type: AUTHORIZER_CONFIGURATION_ERROR with status code: 500",
                Line::GatewayResponse { response_type: "AUTHORIZER_CONFIGURATION_ERROR", status: Some(500) },
            ),
            ("Starting authorizer: abc for request: x", Line::AuthorizerStarted),
            ("Successfully completed authorizer execution", Line::AuthorizerSucceeded),
            ("Unauthorized request: x", Line::Unauthorized),
            ("Execution failed due to an internal error", Line::OtherFailure("an internal error")),
            ("something new", Line::Unrecognised),
            ("", Line::Unrecognised),
            ("Method completed with status: 99999999999999999999", Line::Unrecognised),
        ];
        for (text, want) in cases {
            assert_eq!(parse_line(text), want, "{text}");
        }
    }

    #[test]
    fn multi_line_function_error_keeps_the_request_id() {
        let text = "Lambda execution failed with status 200 due to customer function error: boom\n  at x\n  at y. Lambda request id: r-1";
        assert_eq!(
            parse_line(text),
            Line::FunctionError {
                message: "boom\n  at x\n  at y",
                lambda_request_id: Some("r-1")
            }
        );
    }
}
