//! The real API Gateway log samples (shared/samples, copied to tests/fixtures/samples)
//! give the findings an expert would read from them.

mod common;

use apigw_doctor::model::kind::{Cause, Kind};
use apigw_doctor::render::words::diagnosis::Words;
use common::{analyze, fixture};

struct Want {
    kind: Kind,
    cause: Cause,
    route: &'static str,
    status: Option<u16>,
    invoked: Option<bool>,
}

fn check(file: &str, requests: u64, want: &[Want]) {
    let a = analyze(&fixture(&format!("samples/{file}")));
    assert_eq!(a.summary.requests, requests, "{file}: requests");
    assert_eq!(
        a.summary.unrecognised_lines, 0,
        "{file}: every line recognised"
    );
    let got: Vec<_> = a
        .findings
        .iter()
        .map(|f| (f.kind, f.cause, f.route.to_string(), f.status, f.invoked))
        .collect();
    let want: Vec<_> = want
        .iter()
        .map(|w| (w.kind, w.cause, w.route.to_owned(), w.status, w.invoked))
        .collect();
    assert_eq!(got, want, "{file}");
}

#[test]
fn s01_success_with_data_trace_is_clean() {
    check("01-rest-success-datatrace-2019.txt", 1, &[]);
    let a = analyze(&fixture("samples/01-rest-success-datatrace-2019.txt"));
    assert_eq!(a.routes[0].key.route.as_str(), "POST /verifyReceipt");
    assert_eq!(a.routes[0].key.api_id, "h733q2j6gb");
}

#[test]
fn s02_lambda_own_timeout_is_a_502_not_a_gateway_timeout() {
    check(
        "02-rest-lambda-function-timeout-502-2019.txt",
        1,
        &[Want {
            kind: Kind::Error,
            cause: Cause::FunctionTimeout,
            route: "GET /echo",
            status: Some(502),
            invoked: Some(true),
        }],
    );
}

#[test]
fn s03_throttling_429_is_not_a_finding() {
    check("03-rest-key-throttle-429-2019.txt", 1, &[]);
}

#[test]
fn s04_batch_with_one_malformed_response() {
    check(
        "04-rest-batch-malformed-502-and-successes-2019.txt",
        4,
        &[Want {
            kind: Kind::Error,
            cause: Cause::MalformedProxyResponse,
            route: "POST /receipt",
            status: Some(502),
            invoked: Some(true),
        }],
    );
}

#[test]
fn s05_integration_timeout() {
    check(
        "05-rest-timeout-504-2018.txt",
        1,
        &[Want {
            kind: Kind::Timeout,
            cause: Cause::IntegrationTimeout,
            route: "unknown route",
            status: Some(504),
            invoked: Some(true),
        }],
    );
    let a = analyze(&fixture("samples/05-rest-timeout-504-2018.txt"));
    let f = &a.findings[0];
    assert_eq!(
        f.backend.as_ref().and_then(|b| b.lambda_name()),
        Some("lambda-ngrok-dev-hello")
    );
    assert!(!Words::of(f).remedies.is_empty());
}

#[test]
fn s06_throttled_lambda_reported_as_malformed_is_recognised() {
    check(
        "06-rest-lambda-reserved-concurrency-malformed-502-2018.txt",
        1,
        &[Want {
            kind: Kind::Error,
            cause: Cause::LambdaThrottled,
            route: "unknown route",
            status: Some(502),
            invoked: Some(true),
        }],
    );
}

#[test]
fn s07_s08_serverless_cli_format_without_ids() {
    check("07-rest-success-usage-plan-2016-sls-cli.txt", 1, &[]);
    // A handled error mapped to 400 is the API's answer, not an integration failure.
    check("08-rest-handled-lambda-error-400-2016-sls-cli.txt", 1, &[]);
    let a = analyze(&fixture(
        "samples/07-rest-success-usage-plan-2016-sls-cli.txt",
    ));
    assert_eq!(a.routes[0].key.route.as_str(), "POST /repos/{id}");
    assert_eq!(
        (
            a.routes[0].key.api_id.as_str(),
            a.routes[0].key.stage.as_str()
        ),
        ("ulhoxnm2x2", "dev")
    );
}
