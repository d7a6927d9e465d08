//! Explains each finding the way AWS's 504 troubleshooting procedure does: was the
//! integration invoked, how long did it run, where, is the route routinely slow,
//! what the logs cannot show, and what to do.

use crate::engine::analysis::EngineConfig;

use crate::model::finding::Finding;

use crate::engine::backend_run;
use crate::engine::request::Request;
use crate::model::backend::Backend;
use crate::model::diagnosis::Diagnosis;
use crate::model::kind::{Cause, ConnectionProblem, Kind};
use crate::model::limits::{ApiKind, REST_DEFAULT_MS};
use crate::model::stats::{FunctionStats, RouteStats, RouteVerdict, PERCENTILE_MIN};
use crate::render::display::{
    capitalised, censored_ms, ms, percent, rate, seconds, thousands, time, with_n,
};

/// What the analysis as a whole knows that one request does not.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context {
    /// Other requests of the same API stage logged INFO-level lines: the stage logs
    /// at INFO, so a request without them lost its early lines elsewhere.
    pub stage_logs_info: bool,
}

fn where_(f: &Finding) -> String {
    match (f.route.is_unknown(), f.api_id == "unknown") {
        (true, true) => "the request".to_owned(),
        (true, false) => format!("a request on {}/{}", f.api_id, f.stage),
        (false, true) => format!("route {}", f.route),
        (false, false) => format!("{} on {}/{}", f.route, f.api_id, f.stage),
    }
}

fn backend_name(f: &Finding) -> String {
    f.backend
        .as_ref()
        .map_or_else(|| "the integration".to_owned(), ToString::to_string)
}

pub fn diagnose(
    f: &Finding,
    req: &Request,
    route: Option<&RouteStats>,
    config: &EngineConfig,
    context: Context,
) -> Diagnosis {
    let mut d = match f.kind {
        Kind::Timeout => timeout(f, req, context),
        Kind::NearLimit => near_limit(f),
        Kind::Error => error(f, req),
        Kind::Misconfiguration => Diagnosis::default(),
    };
    // Computed once per route by the analysis: the same words in every finding.
    d.route_health = route.map(|r| r.health.clone());
    if let Some(func) = &f.function {
        if let Some(line) = function_over_limit(func, f.limit_ms) {
            d.shows.push(line);
            d.remedies.push(set_function_timeout(func, f.limit_ms));
        }
    }
    d.remedies.extend(remedies(f, req, context));
    backend_run::explain(&mut d, f);
    if let Some(id) = &f.request_id {
        d.insights_query = Some(insights_query(&[id.as_str()]));
        d.console_url = console_url(f, id, config);
    }
    d
}

fn timeout(f: &Finding, req: &Request, context: Context) -> Diagnosis {
    let mut d = Diagnosis::default();
    let target = backend_name(f);
    let limit = ms(f.limit_ms);
    let status = f.status.unwrap_or(f.api_kind.timeout_status());
    if f.api_kind == ApiKind::Http {
        // HTTP APIs write no execution log: everything comes from the access log.
        let waited = req
            .response_latency_ms
            .or(req.integration_latency_ms)
            .map(|l| format!(" after {}", ms(l)))
            .unwrap_or_default();
        d.headline = format!(
            "The HTTP API answered {} with {status}{waited}: its integration did not answer within the {limit} limit.",
            where_(f)
        );
        d.shows.push(format!(
            "HTTP APIs answer a timed-out integration with {status} Service Unavailable (not 504); the access log records status {status}{}.",
            req.integration_latency_ms
                .map(|l| format!(" and an integration latency of {}", ms(l)))
                .unwrap_or_default()
        ));
        d.cannot_show.push(
            "HTTP APIs have no execution log: whether the backend received the request, and when, is only in the backend's own logs (for Lambda, its log group and REPORT lines).".to_owned(),
        );
        // The connect-or-read paragraph comes from backend_run::explain, as for REST.
        return d;
    }
    match (f.invoked, req.sending_ts(), f.elapsed_ms) {
        (Some(true), Some(sent), Some(elapsed)) => {
            d.headline = format!(
                "API Gateway sent {} to {target} and gave up {} later (limit {limit}): the integration did not answer in time.",
                where_(f),
                ms(elapsed)
            );
            d.shows.push(format!(
                "The request was sent at {} and API Gateway gave up at {}; no `Received response` line was logged, so nothing came back before the limit.",
                time(sent),
                time(sent + elapsed as i64)
            ));
            if elapsed + 1000 < f.limit_ms {
                d.shows.push(format!(
                    "It gave up after {} instead of {limit}: this integration's own timeoutInMillis is probably lower than assumed; set --timeout-ms or TIMEOUT_OVERRIDES to the configured value.",
                    ms(elapsed)
                ));
            } else if f.run.wait != crate::model::backend_run::Wait::NotReached {
                d.shows.push(
                    "The whole limit elapsed after sending: the backend was reached or was still being reached, and did not answer in time.".to_owned(),
                );
            }
        }
        (Some(true), _, _) => {
            d.headline = format!(
                "API Gateway invoked {target} for {} and gave up waiting for it (limit {limit}).",
                where_(f)
            );
            let evidence = if req.endpoint_request_seen {
                "its `Endpoint request URI` / `Sending request to` lines were logged"
            } else {
                "the logs record an integration latency"
            };
            d.shows.push(if req.first_ts.is_none() {
                format!("The integration was invoked ({evidence}); this input carries no timestamps, so the elapsed time cannot be computed.")
            } else {
                format!("The integration was invoked ({evidence}), but the sending time or the failure time was not in what this analysis saw, so the elapsed time cannot be computed.")
            });
        }
        (Some(false), _, _) => {
            d.headline = format!(
                "{} timed out before API Gateway sent anything to the integration: the backend never received this request.",
                capitalised(&where_(f))
            );
            d.shows.push(
                "The INFO-level lines of this request stop before `Endpoint request URI` / `Sending request to`: the integration was not invoked.".to_owned(),
            );
        }
        (None, _, _) if req.from_access_log && !req.from_execution_log => {
            let latency = req
                .response_latency_ms
                .map(|l| format!(" after {}", ms(l)))
                .unwrap_or_default();
            d.headline = format!(
                "The access log records an integration timeout for {}{latency} (limit {limit}).",
                where_(f)
            );
            d.shows.push(format!(
                "Client status {status}, response type INTEGRATION_TIMEOUT."
            ));
            d.cannot_show.push(
                "Access logs record only the outcome: whether and when the integration was invoked is in the execution log (REST and WebSocket, at INFO level), which this analysis did not see for this request.".to_owned(),
            );
        }
        (None, _, _) if context.stage_logs_info => {
            d.headline = format!(
                "API Gateway timed out waiting for the integration of {} ({status}, limit {limit}); this request's earlier lines are not in what this analysis saw.",
                where_(f)
            );
            d.cannot_show.push(
                "Whether the integration was invoked: the stage logs at INFO (other requests here have INFO lines), but this request's lines before the timeout went to another log stream or batch. The Logs Insights query below finds them in the stage's log group.".to_owned(),
            );
        }
        (None, _, _) => {
            d.headline = format!(
                "API Gateway timed out waiting for the integration of {} ({status}, limit {limit}).",
                where_(f)
            );
            d.cannot_show.push(
                "Whether the integration was invoked: only ERROR-level lines were seen for this request (or its start was in a batch this instance did not see). Set the stage's execution logging to INFO to log `Sending request to` and `Received response`.".to_owned(),
            );
        }
    }
    // The connect-or-read paragraph (or its answer) comes from backend_run::explain.
    d
}

/// The honest answer to "connect timeout or read timeout?" when the backend's own
/// log gave none (see `backend_run`).
pub fn connect_vs_read(f: &Finding) -> String {
    let trace = f
        .xray_trace_id
        .as_deref()
        .map(|t| format!(" (trace {t})"))
        .unwrap_or_default();
    match &f.backend {
        Some(Backend::Lambda { function_name, .. }) => format!(
            "The execution log has no connect timestamp, so it cannot separate connecting from waiting for the response. For a Lambda backend the wait is almost always the function's run: X-Ray{trace} shows the Lambda service and function segments, and the function's log group /aws/lambda/{function_name} shows its REPORT line with the real duration{}.",
            f.lambda_request_id
                .as_deref()
                .map(|id| format!(" (Lambda request id {id})"))
                .unwrap_or_default()
        ),
        Some(Backend::Http { .. } | Backend::PrivateHttp { .. }) => format!(
            "The {} cannot tell a connect timeout from a read timeout: a failed connection usually fails fast with a network error (`Network error communicating with endpoint`), while this request waited the whole limit with no answer. X-Ray{trace} shows the time to connect when tracing is on for the stage; the backend's own access log shows whether the request arrived and when it answered (nothing logged there means it never got through: DNS, security groups, VPC link and target health).",
            if f.api_kind == ApiKind::Http { "access log has no connect timestamp, so it" } else { "execution log has no connect timestamp, so it" }
        ),
        _ => format!(
            "The {} log has no connect timestamp, so it cannot separate connecting from waiting for the response: X-Ray{trace} and the backend's own logs can.",
            if f.api_kind == ApiKind::Http { "access" } else { "execution" }
        ),
    }
}

fn near_limit(f: &Finding) -> Diagnosis {
    // Access logs carry the latency but not the backend.
    let mut d = Diagnosis::default();
    let latency = f.integration_latency_ms.unwrap_or(0);
    if latency > f.limit_ms {
        // An answer after the limit is impossible at that limit: the limit is wrong.
        d.headline = format!(
            "{} answered in {}, after the {} limit it was held against: this API's limit is not {}.",
            capitalised(&where_(f)),
            ms(latency),
            ms(f.limit_ms),
            seconds(f.limit_ms)
        );
        d.shows.push(format!(
            "API Gateway waited {} and got an answer, so the integration's timeout is higher than assumed (a Regional or private REST API with a raised \"Maximum integration timeout\" quota). Set TIMEOUT_OVERRIDES (CLI: --timeout-overrides) to the real limit, e.g. `{}/{}={}`, so that near-limit and headroom figures are true.",
            ms(latency),
            f.api_id,
            f.stage,
            override_example(latency)
        ));
        return d;
    }
    let pct = latency * 100 / f.limit_ms.max(1);
    d.headline = format!(
        "{} answered in {}, {pct}% of the {} limit: {} from a {}.",
        capitalised(&where_(f)),
        ms(latency),
        ms(f.limit_ms),
        ms(f.limit_ms.saturating_sub(latency)),
        f.api_kind.timeout_status()
    );
    d.shows.push(if f.backend.is_some() {
        format!(
            "`Received response` reports an integration latency of {} from {}.",
            ms(latency),
            backend_name(f)
        )
    } else {
        format!("The logs report an integration latency of {}.", ms(latency))
    });
    d
}

/// A round limit above an observed latency, for the TIMEOUT_OVERRIDES example.
fn override_example(latency_ms: u64) -> u64 {
    latency_ms.div_ceil(10_000) * 10_000
}

fn error(f: &Finding, req: &Request) -> Diagnosis {
    let mut d = Diagnosis::default();
    let status = f.status.map(|s| format!(" with {s}")).unwrap_or_default();
    d.headline = match (f.cause, req.integration_status) {
        // The client may have got a 2xx: the integration response mapped the refusal.
        (Cause::AwsServiceRejected, Some(code)) => format!(
            "{}: {} answered {code} (the client got {}): {}.",
            capitalised(&where_(f)),
            backend_name(f),
            f.status
                .map_or_else(|| "an unknown status".to_owned(), |s| s.to_string()),
            f.cause.title()
        ),
        _ => format!(
            "{} failed{status}: {}.",
            capitalised(&where_(f)),
            f.cause.title()
        ),
    };
    if req.throttled_response {
        d.shows.push("The Lambda service answered TooManyRequestsException (concurrency exhausted), which API Gateway reported as a malformed proxy response.".to_owned());
    }
    if let Some(detail) = &f.detail {
        d.shows.push(format!("API Gateway logged: {detail}"));
    }
    match f.cause {
        Cause::ConnectionFailure => {
            let after = req
                .elapsed_after_sending_ms()
                .map(|e| format!(" after {}", ms(e)))
                .unwrap_or_default();
            d.shows.push(format!(
                "API Gateway failed fast{after} with a {} while connecting to {}: the request never reached a backend that could answer. A timeout is different: it waits the whole limit with no answer.",
                match f.detail.as_deref().and_then(ConnectionProblem::of) {
                    Some(ConnectionProblem::Dns) => "DNS error (the endpoint's name did not resolve)",
                    Some(ConnectionProblem::Tls) => "TLS error (the certificate or handshake was refused)",
                    _ => "network error (connect)",
                },
                backend_name(f)
            ));
        }
        Cause::AwsServiceRejected => {
            d.shows.push(format!(
                "{} answered {}: the request reached the service, which refused it.",
                capitalised(&backend_name(f)),
                req.integration_status
                    .map_or_else(|| "4xx".to_owned(), |s| s.to_string())
            ));
        }
        _ => {}
    }
    if let Some(l) = f.integration_latency_ms {
        d.shows
            .push(format!("The integration answered after {}.", ms(l)));
    }
    d
}

/// The route's health in words, from the statistics the analysis computed once.
pub fn route_health(r: &RouteStats, config: &EngineConfig) -> String {
    let near_ms = config.near_limit_ms(r.limit_ms);
    let n = r.requests;
    let part = |k: u64| if k == 0 { "0".to_owned() } else { rate(k, n) };
    let mut s = format!(
        "Route {} on {}/{}: {} request{} in this analysis: {} timed out, {} near the limit, {} with integration errors.",
        r.key.route,
        r.key.api_id,
        r.key.stage,
        thousands(n),
        if n == 1 { "" } else { "s" },
        part(r.timeouts),
        part(r.near_limit),
        part(r.errors)
    );
    let obs = r.observed;
    let timeouts_note = if r.censored > 0 {
        ", timeouts counted as at least the limit"
    } else {
        ""
    };
    let max = r.max.map(|m| censored_ms(m.ms, m.at_least));
    match (r.p50, r.p95, r.p99) {
        (Some(p50), Some(p95), Some(p99)) => s.push_str(&format!(
            " Integration latency{timeouts_note}: {}.",
            with_n(
                &format!(
                    "p50 {}, p95 {}, p99 {}, max {}",
                    censored_ms(p50.ms, p50.at_least),
                    censored_ms(p95.ms, p95.at_least),
                    censored_ms(p99.ms, p99.at_least),
                    max.unwrap_or_default()
                ),
                obs
            )
        )),
        _ if obs > 0 => {
            let min = r
                .latencies
                .first()
                .map_or_else(|| censored_ms(r.limit_ms, true), |&l| ms(l));
            let max = max.unwrap_or_default();
            let range = if obs == 1 || min == max {
                max
            } else {
                format!("from {min} to {max}")
            };
            s.push_str(&format!(
                " Integration latency{timeouts_note}: {range} (n={}; percentiles need {PERCENTILE_MIN} or more).",
                thousands(obs)
            ));
        }
        _ => {}
    }
    let slow = rate(r.slow, obs);
    s.push_str(&match r.verdict {
        RouteVerdict::NoBaseline => " No request on this route got an answer from the integration, so there is no latency baseline.".to_owned(),
        RouteVerdict::TooFew => format!(" Too few requests (n={obs}) to judge the route."),
        RouteVerdict::RoutinelyNearLimit => format!(
            " {slow} answered in {} or more ({}% of the limit) or timed out, the median among them: the route routinely runs near the limit and needs a structural fix (less work per request, asynchronous processing), not retries.",
            ms(near_ms),
            config.ratio_ppm() / 10_000
        ),
        RouteVerdict::Bimodal => format!(
            " Bimodal: {} answered under {}, {} did not ({} or more, or timed out). A fast majority with a slow tail points at something on the slow path: a slow dependency, lock, cold start or payload.",
            rate(r.fast, obs),
            ms(near_ms),
            thousands(r.slow),
            ms(near_ms)
        ),
        RouteVerdict::Outlier => format!(
            " One request of {} was near the limit or timed out; the other {} answered under {}: an outlier on a normally fast route. Look for what was different about it (payload, a stuck downstream call, a cold start).",
            thousands(obs),
            thousands(r.fast),
            ms(near_ms)
        ),
        RouteVerdict::Fast => format!(
            " All {} answered under {} ({} of the limit).",
            thousands(obs),
            ms(near_ms),
            percent(near_ms, r.limit_ms)
        ),
    });
    s
}

fn function_over_limit(func: &FunctionStats, limit_ms: u64) -> Option<String> {
    let configured = func.configured_timeout_s.map(|s| (s * 1000.0) as u64);
    let over_cfg = configured.filter(|c| *c > limit_ms);
    let over_run = (func.max_duration_ms > limit_ms as f64).then_some(func.max_duration_ms as u64);
    match (over_cfg, over_run) {
        (None, None) => None,
        (cfg, run) => {
            let mut parts = Vec::new();
            if let Some(c) = cfg {
                parts.push(format!("its timeout is {}", seconds(c)))
            }
            if let Some(r) = run {
                parts.push(format!("a run lasted {}", ms(r)));
            }
            Some(format!(
                "The function {}'s own log shows {}: above the gateway's {} limit, so it keeps running (and billing) after API Gateway has answered 504.",
                func.name,
                parts.join(" and "),
                ms(limit_ms)
            ))
        }
    }
}

fn set_function_timeout(func: &FunctionStats, limit_ms: u64) -> String {
    format!(
        "Set the timeout of Lambda function {} to {} or less (just under the gateway's limit), so that it stops when nobody is waiting any more; move longer work to an asynchronous path.",
        func.name,
        seconds(limit_ms.saturating_sub(1000).max(1000))
    )
}

/// Misconfiguration: a backend Lambda that runs longer than the gateway waits.
pub fn diagnose_function(f: &Finding, func: &FunctionStats, _config: &EngineConfig) -> Diagnosis {
    let mut d = Diagnosis {
        headline: format!(
            "Lambda function {} runs longer than API Gateway waits for it ({} limit on {}).",
            func.name,
            ms(f.limit_ms),
            if f.route.is_unknown() {
                "its API".to_owned()
            } else {
                where_(f)
            }
        ),
        ..Diagnosis::default()
    };
    d.shows.extend(function_over_limit(func, f.limit_ms));
    d.shows.push(format!(
        "{} run{} seen, longest {}, {} ended by the function's own timeout.",
        thousands(func.runs),
        if func.runs == 1 { "" } else { "s" },
        ms(func.max_duration_ms as u64),
        func.own_timeouts
    ));
    d.cannot_show.push(
        "Which API requests these runs served: the function's REPORT lines carry the Lambda request id, not the API Gateway one (the execution log's `AWS Integration Endpoint RequestId` links them).".to_owned(),
    );
    d.remedies.push(set_function_timeout(func, f.limit_ms));
    d.remedies.push(async_remedy(Some(true)));
    d.remedies.extend(raise_limit(f));
    d.insights_query = Some(
        "fields @timestamp, @requestId, @duration, @message | filter @type = \"REPORT\" or @message like /Task timed out/ | sort @duration desc | limit 50".to_owned(),
    );
    d
}

fn remedies(f: &Finding, req: &Request, context: Context) -> Vec<String> {
    let mut r = Vec::new();
    let lambda = match f.backend {
        Some(Backend::Lambda { .. }) => Some(true),
        Some(_) => Some(false),
        None => None,
    };
    match (f.kind, f.cause) {
        (Kind::Timeout, _) if f.invoked == Some(false) => {
            r.push("Retry from the client with backoff and an idempotency key: the integration never received this request, so a retry cannot do the work twice.".to_owned());
            r.push("Look at what ran before the integration for this request: a Lambda authorizer close to its own limit, or a mapping template or VPC link that stalled.".to_owned());
        }
        (Kind::Timeout, _) => {
            if f.invoked.is_none() && !req.from_access_log && !context.stage_logs_info {
                r.push("Turn on INFO execution logging for this stage (at least while investigating) so that the next timeout shows whether and when the integration was invoked.".to_owned());
            }
            r.push("Shorten the work in the request path: answer once the essential part is done and hand the rest to a queue or workflow (SQS, EventBridge, Step Functions).".to_owned());
            r.push(async_remedy(lambda));
            r.push(faster_remedy(lambda));
            r.extend(raise_limit(f));
            // Last: retries add load to a backend that is already too slow.
            r.push(format!("Have clients retry with backoff and an idempotency key: after a {} the backend may still finish the work, so a plain retry can do it twice.", f.api_kind.timeout_status()));
        }
        (Kind::NearLimit, _) if f.integration_latency_ms.is_some_and(|l| l > f.limit_ms) => {
            r.push(format!("Tell apigw-doctor this API's real limit: TIMEOUT_OVERRIDES (CLI: --timeout-overrides) `{}/{}=<the integration's timeoutInMillis>`; until then its near-limit counts and headroom for this API are wrong.", f.api_id, f.stage));
        }
        (Kind::NearLimit, _) => {
            r.push(faster_remedy(lambda));
            r.push("Shorten the work in the request path: answer once the essential part is done and hand the rest to a queue or workflow (SQS, EventBridge, Step Functions).".to_owned());
            r.push(async_remedy(lambda));
            r.extend(raise_limit(f));
        }
        (_, Cause::FunctionTimeout) => {
            r.push(format!("The function's own timeout fired before API Gateway's {} limit: if the work needs longer, raise the function's timeout (staying under {}); otherwise make the function faster or asynchronous.", ms(f.limit_ms), seconds(f.limit_ms)));
            r.push(faster_remedy(Some(true)));
        }
        (_, Cause::FunctionError) => {
            r.push(format!("Read the function's log for this invocation{}: fix the error, or catch it and return a deliberate status code.", f.lambda_request_id.as_deref().map(|id| format!(" (Lambda request id {id})")).unwrap_or_default()));
        }
        (_, Cause::LambdaThrottled) => {
            r.push("The Lambda service throttled the invocation: raise the function's reserved concurrency (or remove a too-low one), or request a higher account concurrency quota.".to_owned());
            r.push("Have clients retry with backoff and jitter; consider stage or usage-plan throttling so that bursts are refused with 429 before they reach Lambda.".to_owned());
        }
        (_, Cause::LambdaPermissions) => {
            r.push("Allow API Gateway to invoke the function: add a resource-based permission (AWS::Lambda::Permission, action lambda:InvokeFunction, principal apigateway.amazonaws.com, SourceArn of this API), or fix the integration's credentials role.".to_owned());
        }
        (_, Cause::MalformedProxyResponse) => {
            r.push("Return a Lambda proxy response: a JSON object with statusCode (a number), optional headers, and body as a string (serialise JSON bodies).".to_owned());
            r.push("If the response body shows `Rate Exceeded` or TooManyRequestsException, the function was throttled: check its reserved concurrency.".to_owned());
        }
        (_, Cause::AuthorizerError) => {
            r.push("Check the authorizer: its function's logs, API Gateway's permission to invoke it (or the role API Gateway assumes for it), and that it returns a valid IAM policy.".to_owned());
        }
        (_, Cause::ConfigurationError) => {
            r.push("API Gateway could not run the integration as configured: check the mapping templates, integration request settings and method responses named in the message, then redeploy the stage.".to_owned());
        }
        (_, Cause::IntegrationFailure) => {
            r.push("Check the backend's health and reachability: DNS name, TLS certificate and chain, VPC link and NLB target health, and its own error logs.".to_owned());
        }
        (_, Cause::ConnectionFailure) => {
            r.push(match f.detail.as_deref().and_then(ConnectionProblem::of) {
                Some(ConnectionProblem::Dns) => "Fix the endpoint's name: the integration URI (or its stage variable) must resolve from API Gateway; for a VPC link, the NLB or ALB DNS name must be the one the link targets.".to_owned(),
                Some(ConnectionProblem::Tls) => "Fix the backend's TLS: a certificate from a CA API Gateway trusts, the full chain served, and a name that matches the integration URI's host (or, for a VPC link to an ALB, the tlsConfig's serverNameToVerify).".to_owned(),
                _ => "Check that the backend accepts connections: for a VPC link, the link's status and the NLB/ALB target health, listener port and security groups; for a public endpoint, that it listens on the integration URI's port and is not refusing or resetting connections.".to_owned(),
            });
            r.push(
                "Retrying is safe once the endpoint is reachable: the request never got through."
                    .to_owned(),
            );
        }
        (_, Cause::AwsServiceRejected) => {
            r.push(match req.integration_status {
                Some(403) => "Give the integration's execution role permission for this action on this resource (for SQS, sqs:SendMessage on the queue; check the queue policy and KMS key policy too), and check the integration's credentials ARN.".to_owned(),
                _ => "Fix the request the integration sends: the integration request's mapping template, action and parameters must form a valid call to the service.".to_owned(),
            });
        }
        (
            _,
            Cause::IntegrationTimeout | Cause::SlowIntegration | Cause::FunctionTimeoutOverLimit,
        ) => {}
    }
    r
}

/// `lambda`: the backend is a Lambda function (`Some(true)`), something else, or unknown.
fn async_remedy(lambda: Option<bool>) -> String {
    match lambda {
        Some(true) => "If the caller does not need the result in the response, invoke the function asynchronously: a non-proxy Lambda integration with the header `X-Amz-Invocation-Type: 'Event'` returns at once; answer 202 and let the client poll or be notified.".to_owned(),
        Some(false) => "If the caller does not need the result in the response, accept the work and answer 202 at once, then let the client poll or be notified.".to_owned(),
        None => "If the caller does not need the result in the response, make the call asynchronous: answer 202 at once and let the client poll or be notified (for a Lambda backend, a non-proxy integration with the header `X-Amz-Invocation-Type: 'Event'` does this).".to_owned(),
    }
}

fn faster_remedy(lambda: Option<bool>) -> String {
    match lambda {
        Some(true) => "Make the function faster: more memory (which also means more CPU), provisioned concurrency against cold starts, connections reused across invocations, and timeouts on its own downstream calls shorter than the gateway's.".to_owned(),
        Some(false) => "Make the backend answer faster, and give its own downstream calls timeouts shorter than the gateway's so that it fails fast instead of hanging.".to_owned(),
        None => "Make the backend answer faster (for Lambda: more memory, provisioned concurrency against cold starts, reused connections), and give its own downstream calls timeouts shorter than the gateway's.".to_owned(),
    }
}

fn raise_limit(f: &Finding) -> Option<String> {
    Some(match f.api_kind {
        ApiKind::Rest if f.limit_ms < REST_DEFAULT_MS => format!(
            "This integration waits only {}: if the work legitimately takes longer, raise its timeoutInMillis (up to 29 s by default).",
            ms(f.limit_ms)
        ),
        ApiKind::Rest => "If the work legitimately needs longer and the API is Regional or private, request a higher \"Maximum integration timeout in milliseconds\" in Service Quotas, then raise the integration's timeoutInMillis; AWS may lower the account's throttle quota in exchange. Edge-optimized APIs stay at 29 s.".to_owned(),
        ApiKind::Http if f.limit_ms < 30_000 => format!(
            "HTTP APIs can wait up to 30 s and this integration waits {}: raise its TimeoutInMillis to 30000 if that is enough; beyond 30 s the work must become asynchronous.",
            ms(f.limit_ms)
        ),
        ApiKind::Http => "HTTP APIs cannot wait longer than 30 s: beyond that the work must become asynchronous (or move to a Regional REST API, whose limit can be raised).".to_owned(),
        ApiKind::WebSocket => "WebSocket integrations cannot wait longer than 29 s: acknowledge the message at once and post the result back over the connection with the @connections API.".to_owned(),
    })
}

/// A Logs Insights query for the given request ids. Ids come from logs, so only
/// the characters ids are made of are kept.
pub fn insights_query(request_ids: &[&str]) -> String {
    let ids: Vec<String> = request_ids
        .iter()
        .map(|id| safe_id(id))
        .filter(|id| !id.is_empty())
        .collect();
    let filter = if ids.len() == 1 {
        format!("@message like \"{}\"", ids[0])
    } else {
        ids.iter()
            .map(|id| format!("@message like \"{id}\""))
            .collect::<Vec<_>>()
            .join(" or ")
    };
    format!("fields @timestamp, @message | filter {filter} | sort @timestamp asc | limit 200")
}

pub fn safe_id(id: &str) -> String {
    id.chars()
        .filter(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '=' | '+' | '/' | ':' | '.')
        })
        .take(128)
        .collect()
}

/// The console's log-events view of the request's group and stream, filtered on its id.
pub fn console_url(f: &Finding, request_id: &str, config: &EngineConfig) -> Option<String> {
    let region = f
        .backend
        .as_ref()
        .and_then(Backend::region)
        .or(config.region.as_deref())?;
    let region = safe_id(region);
    if f.provenance.log_group.is_empty() {
        return None;
    }
    let mut url = format!(
        "https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logsV2:log-groups/log-group/{}/log-events",
        console_encode(&f.provenance.log_group)
    );
    if !f.provenance.log_stream.is_empty() {
        url.push('/');
        url.push_str(&console_encode(&f.provenance.log_stream));
    }
    url.push_str("$3FfilterPattern$3D");
    url.push_str(&console_encode(&format!("\"{}\"", safe_id(request_id))));
    Some(url)
}

/// The CloudWatch console's fragment encoding: percent-encode twice, then `%` → `$`.
fn console_encode(s: &str) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const SET: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');
    let once = utf8_percent_encode(s, SET).to_string();
    utf8_percent_encode(&once, SET)
        .to_string()
        .replace('%', "$")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_keeps_only_id_characters() {
        assert_eq!(
            insights_query(&["abc-1\" | delete"]),
            "fields @timestamp, @message | filter @message like \"abc-1delete\" | sort @timestamp asc | limit 200"
        );
        assert!(insights_query(&["a", "b"]).contains("@message like \"a\" or @message like \"b\""));
    }

    #[test]
    fn console_encoding() {
        assert_eq!(
            console_encode("API-Gateway-Execution-Logs_a/b"),
            "API-Gateway-Execution-Logs_a$252Fb"
        );
    }
}
