//! Issue 22, "true on every real log": the composed real-shaped samples of
//! tests/fixtures/samples-external/ (their README.md names the public sources each format
//! follows: the Lambda logging docs and telemetry schema, AWS Knowledge Center
//! api-gateway-500-error-vpc as recorded in shared/reference/aws-logs.md §1.3, and the
//! apigw-dg-2023 websocket-api-logging.md variable list).

mod common;

use apigw_doctor::engine::analysis::{Analysis, Analyzer};
use apigw_doctor::engine::config::EngineConfig;
use apigw_doctor::logs::input::{self, InputKind};
use common::fixture;

fn external(file: &str) -> std::path::PathBuf {
    fixture(&format!("samples-external/{file}"))
}

/// The analysis and the counters of what was read (the CLI's coverage warning reads these).
fn read(file: &str) -> (Analysis, apigw_doctor::engine::analysis::Counters) {
    let path = external(file);
    let bytes = std::fs::read(&path).unwrap();
    let config = EngineConfig::default();
    let mut a = Analyzer::new(&config).with_complete_function_logs();
    input::feed(&bytes, InputKind::Auto, file, "", 64 << 20, &mut a).unwrap();
    let counters = a.counters().clone();
    (a.finish().0, counters)
}

/// Format per the README: START/END/REPORT text lines with `Init Duration` and
/// `Status: timeout` (A. J. Stuyvenberg's timeout post, repo davidburkitt/terraform-aws-log-filter),
/// Node's `<ts>\t<id>\tINFO\t…` lines (repo oslabs-beta/Embr), `Task timed out after` (aws-logs.md §1.4).
#[test]
fn text_function_log_is_read_as_a_function_log() {
    let (a, c) = read("lambda-text-format-function-timeout.txt");
    assert_eq!(c.log_events, 7);
    assert_eq!(c.unrecognised_lines, 0, "{c:?}");
    // INFO and WARN are the application's; INIT_START is a platform line.
    assert_eq!(c.application_lines, 2, "{c:?}");
    assert_eq!(c.function_lines, 5, "{c:?}");
    assert_eq!(a.summary.unrecognised_lines, 0);
    let f = &a.functions[..];
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].name, "orders-api-handler");
    assert_eq!(f[0].runs, 1);
    assert_eq!(f[0].max_duration_ms, 10000.0);
    assert_eq!(f[0].own_timeouts, 1);
    assert_eq!(f[0].configured_timeout_s, Some(10.0));
    assert_eq!(f[0].cold_starts, 1);
    assert_eq!(f[0].max_init_duration_ms, Some(301.52));
}

/// Format per the README: the Lambda docs' JSON log format (`platform.initStart`,
/// `platform.start`, `platform.report` with `metrics` and `status`, no `platform.end`) and
/// application records `{"timestamp","level","message","logger","requestId"}`.
#[test]
fn json_function_log_is_read_as_a_function_log() {
    let (a, c) = read("lambda-json-format-error-log.txt");
    assert_eq!(c.log_events, 5);
    assert_eq!(c.unrecognised_lines, 0, "{c:?}");
    assert_eq!(c.application_lines, 2, "{c:?}");
    assert_eq!(c.function_lines, 3, "{c:?}");
    let f = &a.functions[..];
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].runs, 1);
    assert_eq!(f[0].max_duration_ms, 1481.62);
    // The application logged ERROR, but the run itself succeeded: no own timeout.
    assert_eq!(f[0].own_timeouts, 0);
    assert_eq!(f[0].cold_starts, 1);
    assert_eq!(f[0].max_init_duration_ms, Some(412.08));
    assert!(a.findings.is_empty(), "{:?}", a.findings);
}

/// Outside a function's group (a bare copy of its lines) only the runtimes' shapes say
/// that a line is the application's; anything else stays unrecognised.
#[test]
fn application_lines_without_a_function_group() {
    let config = EngineConfig::default();
    let mut a = Analyzer::new(&config);
    let lines = "2025-12-01T10:00:00.320Z\t5d0c3f4e-8a1b-4c2d-9e3f-a0b1c2d3e4f5\tINFO\tfetching order 42\n\
                 {\"timestamp\":\"2025-12-01T10:00:00.431Z\",\"level\":\"INFO\",\"message\":\"m\",\"requestId\":\"9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d\"}\n\
                 hello world\n";
    input::feed(lines.as_bytes(), InputKind::Lines, "-", "", 1 << 20, &mut a).unwrap();
    let c = a.counters().clone();
    assert_eq!((c.application_lines, c.unrecognised_lines), (2, 1), "{c:?}");
}

/// Format per the README: the verbatim details of AWS Knowledge Center
/// api-gateway-500-error-vpc (sample S26 in shared/reference/aws-logs.md §1.3), line order
/// of samples S01/S05. The gateway names both a configuration error: a finding each, as such.
#[test]
fn the_gateways_configuration_errors_are_kept() {
    use apigw_doctor::model::kind::{Cause, Kind};
    let (a, c) = read("rest-execution-log-vpclink-config-errors-500.txt");
    assert_eq!(c.unrecognised_lines, 0, "{c:?}");
    assert_eq!(a.summary.requests, 2);
    assert_eq!(a.summary.errors, 2);
    let got: Vec<_> = a
        .findings
        .iter()
        .map(|f| (f.kind, f.cause, f.status, f.detail.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        got,
        [
            (
                Kind::Error,
                Cause::ConfigurationError,
                Some(500),
                "There was an internal error while executing your request"
            ),
            (
                Kind::Error,
                Cause::ConfigurationError,
                Some(500),
                "Host name 'orders.internal.example.com' does not match the certificate subject provided by the peer (CN=*.elb.eu-west-1.amazonaws.com)"
            ),
        ]
    );
    // The remedy follows the class and its detail: the VPC link's targets, the certificate.
    use apigw_doctor::model::diagnosis::Remedy;
    assert_eq!(
        a.findings[0].diagnosis.remedies,
        [Remedy::CheckVpcLinkTarget]
    );
    assert_eq!(
        a.findings[1].diagnosis.remedies,
        [Remedy::FixCertificateName]
    );
}

/// Format per the README: the variables of apigw-dg-2023 `websocket-api-logging.md`
/// (`eventType`, `routeKey`, `status`, `connectionId`, `error.message`…); the status 500 of
/// a failed `$connect` with no response type or integration error.
#[test]
fn websocket_route_errors_are_findings() {
    use apigw_doctor::model::kind::{Cause, Kind};
    use apigw_doctor::model::limits::ApiKind;
    let (a, c) = read("websocket-access-log-connect-500.txt");
    assert_eq!(c.unrecognised_lines, 0, "{c:?}");
    assert_eq!(a.summary.requests, 2);
    // Never "Errors 0" when a 5xx status was read.
    assert_eq!(a.summary.errors, 1);
    let f = &a.findings[..];
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        (f[0].kind, f[0].cause, f[0].status, f[0].api_kind),
        (
            Kind::Error,
            Cause::IntegrationFailure,
            Some(500),
            ApiKind::WebSocket
        )
    );
    assert_eq!(f[0].route.to_string(), "$connect");
    // Nothing but the status was logged: no detail is made up.
    assert_eq!(f[0].detail, None);
    let connect = a.routes.iter().find(|r| r.key.route.as_str() == "$connect");
    assert_eq!(connect.map(|r| r.errors), Some(1));
}

/// WebSocket routes with what the gateway logged: `error.message` alone (the detail), an
/// integration error naming the function (the existing rule), and a 5xx whose response
/// type is not a failure (no finding).
#[test]
fn websocket_route_error_keeps_what_the_gateway_logged() {
    use apigw_doctor::model::kind::Cause;
    let config = EngineConfig::default();
    let mut a = Analyzer::new(&config);
    let lines = concat!(
        r#"{"requestId":"Yk3fQHs2joEFxqA=","eventType":"CONNECT","routeKey":"$connect","status":"500","connectionId":"Yk3fQdYRjoECGrw=","errorMessage":"Internal server error"}"#,
        "\n",
        r#"{"requestId":"Yk3fQHs2joEFxqB=","eventType":"MESSAGE","routeKey":"$default","status":"502","connectionId":"Yk3fQdYRjoECGrw=","integrationError":"Lambda function returned an invalid response"}"#,
        "\n",
        r#"{"requestId":"Yk3fUF6mDoEFyKw=","eventType":"MESSAGE","routeKey":"sendmessage","status":"503","connectionId":"Yk3fQdYRjoECGrw=","responseType":"WAF_FILTERED"}"#,
        "\n",
    );
    input::feed(lines.as_bytes(), InputKind::Lines, "-", "", 1 << 20, &mut a).unwrap();
    let a = a.finish().0;
    let mut got: Vec<_> = a
        .findings
        .iter()
        .map(|f| (f.route.to_string(), f.cause, f.detail.clone()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (
                "$connect".to_owned(),
                Cause::IntegrationFailure,
                Some("Internal server error".to_owned())
            ),
            (
                "$default".to_owned(),
                Cause::FunctionError,
                Some("Lambda function returned an invalid response".to_owned())
            ),
        ]
    );
    assert_eq!(a.summary.errors, 2);
}
