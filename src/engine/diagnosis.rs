//! Explains each finding the way AWS's 504 troubleshooting procedure does: was the
//! integration invoked, how long did it run, where, is the route routinely slow,
//! what the logs cannot show, and what to do. Facts only: the words are made in
//! render/words/.

use crate::engine::backend_run;
use crate::engine::config::EngineConfig;
use crate::engine::request::Request;
use crate::model::backend::Backend;
use crate::model::diagnosis::{Diagnosis, Gap, Headline, Remedy, RouteHealth, Shown, What};
use crate::model::finding::Finding;
use crate::model::kind::{Cause, ConnectionProblem, Kind};
use crate::model::limits::ApiKind;
use crate::model::stats::{FunctionStats, RouteStats};

/// What the analysis as a whole knows that one request does not.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context {
    /// Other requests of the same API stage logged INFO-level lines: the stage logs
    /// at INFO, so a request without them lost its early lines elsewhere.
    pub stage_logs_info: bool,
}

/// The headline's place and limits, from the finding; `what` is filled by the kind.
fn headline(f: &Finding, what: What) -> Headline {
    Headline {
        route: (!f.route.is_unknown()).then(|| f.route.to_string()),
        api_id: (f.api_id != "unknown").then(|| f.api_id.clone()),
        stage: f.stage.clone(),
        backend: f.backend.clone(),
        limit_ms: f.limit_ms,
        status: f.status,
        what,
        likely: None,
    }
}

pub fn diagnose(
    f: &Finding,
    req: &Request,
    route: Option<&RouteHealth>,
    config: &EngineConfig,
    context: Context,
) -> Diagnosis {
    let mut d = match f.kind {
        Kind::Timeout => timeout(f, req, context),
        Kind::NearLimit => near_limit(f),
        Kind::Error => error(f, req),
        Kind::Misconfiguration => Diagnosis::default(),
    };
    // Computed once per route by the analysis: the same facts in every finding.
    d.route = route.cloned();
    if let Some(func) = &f.function {
        if let Some(shown) = function_over_limit(func, f.limit_ms) {
            d.shows.push(shown);
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
    let status = f.status.unwrap_or(f.api_kind.timeout_status());
    let head = |what| Headline {
        status: Some(status),
        ..headline(f, what)
    };
    if f.api_kind == ApiKind::Http {
        // HTTP APIs write no execution log: everything comes from the access log.
        d.headline = head(What::HttpTimeout {
            waited_ms: req.response_latency_ms.or(req.integration_latency_ms),
        });
        d.shows.push(Shown::HttpTimeoutStatus {
            status,
            integration_latency_ms: req.integration_latency_ms,
        });
        d.cannot_show.push(Gap::HttpNoExecutionLog);
        // The connect-or-read paragraph comes with the backend run, as for REST.
        return d;
    }
    match (f.invoked, req.sending_ts(), f.elapsed_ms) {
        (Some(true), Some(sent), Some(elapsed)) => {
            d.headline = head(What::GaveUpAfter {
                elapsed_ms: elapsed,
            });
            d.shows.push(Shown::SentAndGaveUp {
                sent_ms: sent,
                elapsed_ms: elapsed,
            });
            if elapsed + 1000 < f.limit_ms {
                d.shows.push(Shown::GaveUpEarly {
                    elapsed_ms: elapsed,
                    limit_ms: f.limit_ms,
                });
            } else if f.run.wait != crate::model::backend_run::Wait::NotReached {
                d.shows.push(Shown::WholeLimitElapsed);
            }
        }
        (Some(true), _, _) => {
            d.headline = head(What::InvokedGaveUp);
            d.shows.push(Shown::Invoked {
                endpoint_lines: req.endpoint_request_seen,
                timestamps: req.first_ts.is_some(),
            });
        }
        (Some(false), _, _) => {
            d.headline = head(What::NotInvoked);
            d.shows.push(Shown::NotInvokedLines);
        }
        (None, _, _) if req.from_access_log && !req.from_execution_log => {
            d.headline = head(What::AccessLogTimeout {
                latency_ms: req.response_latency_ms,
            });
            d.shows.push(Shown::AccessLogOutcome { status });
            d.cannot_show.push(Gap::AccessLogOnly);
        }
        (None, _, _) if context.stage_logs_info => {
            d.headline = head(What::TimeoutLinesElsewhere);
            d.cannot_show.push(Gap::LinesElsewhere);
        }
        (None, _, _) => {
            d.headline = head(What::Timeout);
            d.cannot_show.push(Gap::OnlyErrorLines);
        }
    }
    d
}

fn near_limit(f: &Finding) -> Diagnosis {
    // Access logs carry the latency but not the backend.
    let mut d = Diagnosis::default();
    let latency = f.integration_latency_ms.unwrap_or(0);
    if latency > f.limit_ms {
        // An answer after the limit is impossible at that limit: the limit is wrong.
        d.headline = headline(
            f,
            What::AnsweredAfterLimit {
                latency_ms: latency,
            },
        );
        d.shows.push(Shown::LimitHigherThanAssumed {
            latency_ms: latency,
            api_id: f.api_id.clone(),
            stage: f.stage.clone(),
        });
        return d;
    }
    d.headline = headline(
        f,
        What::NearLimit {
            latency_ms: latency,
            timeout_status: f.api_kind.timeout_status(),
        },
    );
    d.shows.push(Shown::NearLimitLatency {
        latency_ms: latency,
        backend: f.backend.clone(),
    });
    d
}

fn error(f: &Finding, req: &Request) -> Diagnosis {
    let what = match (f.cause, req.integration_status) {
        // The client may have got a 2xx: the integration response mapped the refusal.
        (Cause::AwsServiceRejected, Some(code)) => What::ServiceRejected {
            cause: f.cause,
            integration_status: code,
        },
        _ => What::Failed { cause: f.cause },
    };
    let mut d = Diagnosis {
        headline: headline(f, what),
        ..Diagnosis::default()
    };
    if req.throttled_response {
        d.shows.push(Shown::ThrottledResponse);
    }
    if let Some(detail) = &f.detail {
        d.shows.push(Shown::GatewayLogged {
            detail: detail.clone(),
        });
    }
    match f.cause {
        Cause::ConnectionFailure => d.shows.push(Shown::FailedFast {
            after_ms: req.elapsed_after_sending_ms(),
            problem: f.detail.as_deref().and_then(ConnectionProblem::of),
            backend: f.backend.clone(),
        }),
        Cause::AwsServiceRejected => d.shows.push(Shown::ServiceRefused {
            backend: f.backend.clone(),
            integration_status: req.integration_status,
        }),
        _ => {}
    }
    if let Some(l) = f.integration_latency_ms {
        d.shows.push(Shown::AnsweredAfter { latency_ms: l });
    }
    d
}

/// The route's health facts, from the statistics the analysis computed once.
pub fn route_health(r: &RouteStats, config: &EngineConfig) -> RouteHealth {
    RouteHealth {
        key: r.key.clone(),
        limit_ms: r.limit_ms,
        near_ms: config.near_limit_ms(r.limit_ms),
        ratio_ppm: config.ratio_ppm(),
        requests: r.requests,
        timeouts: r.timeouts,
        near_limit: r.near_limit,
        errors: r.errors,
        observed: r.observed,
        censored: r.censored,
        slow: r.slow,
        fast: r.fast,
        p50: r.p50,
        p95: r.p95,
        p99: r.p99,
        max: r.max,
        min_ms: r.latencies.first().copied(),
        verdict: r.verdict,
    }
}

fn function_over_limit(func: &FunctionStats, limit_ms: u64) -> Option<Shown> {
    let configured = func.configured_timeout_s.map(|s| (s * 1000.0) as u64);
    let over_cfg = configured.filter(|c| *c > limit_ms);
    let over_run = (func.max_duration_ms > limit_ms as f64).then_some(func.max_duration_ms as u64);
    if over_cfg.is_none() && over_run.is_none() {
        return None;
    }
    Some(Shown::FunctionOverLimit {
        function: func.name.clone(),
        configured_ms: over_cfg,
        longest_ms: over_run,
        limit_ms,
    })
}

fn set_function_timeout(func: &FunctionStats, limit_ms: u64) -> Remedy {
    Remedy::SetFunctionTimeout {
        function: func.name.clone(),
        limit_ms,
    }
}

/// Misconfiguration: a backend Lambda that runs longer than the gateway waits.
pub fn diagnose_function(f: &Finding, func: &FunctionStats, _config: &EngineConfig) -> Diagnosis {
    let mut d = Diagnosis {
        headline: headline(
            f,
            What::FunctionOverLimit {
                function: func.name.clone(),
                on_api: f.route.is_unknown(),
            },
        ),
        ..Diagnosis::default()
    };
    d.shows.extend(function_over_limit(func, f.limit_ms));
    d.shows.push(Shown::FunctionRuns {
        runs: func.runs,
        longest_ms: func.max_duration_ms as u64,
        own_timeouts: func.own_timeouts,
    });
    d.cannot_show.push(Gap::RunsNotLinked);
    d.remedies.push(set_function_timeout(func, f.limit_ms));
    d.remedies.push(Remedy::Asynchronous { lambda: Some(true) });
    d.remedies.push(raise_limit(f));
    d.insights_query = Some(
        "fields @timestamp, @requestId, @duration, @message | filter @type = \"REPORT\" or @message like /Task timed out/ | sort @duration desc | limit 50".to_owned(),
    );
    d
}

fn remedies(f: &Finding, req: &Request, context: Context) -> Vec<Remedy> {
    let mut r = Vec::new();
    let lambda = match f.backend {
        Some(Backend::Lambda { .. }) => Some(true),
        Some(_) => Some(false),
        None => None,
    };
    match (f.kind, f.cause) {
        (Kind::Timeout, _) if f.invoked == Some(false) => {
            r.push(Remedy::RetryNotInvoked);
            r.push(Remedy::LookBeforeIntegration);
        }
        (Kind::Timeout, _) => {
            if f.invoked.is_none() && !req.from_access_log && !context.stage_logs_info {
                r.push(Remedy::TurnOnInfoLogging);
            }
            r.push(Remedy::ShortenWork);
            r.push(Remedy::Asynchronous { lambda });
            r.push(Remedy::Faster { lambda });
            r.push(raise_limit(f));
            // Last: retries add load to a backend that is already too slow.
            r.push(Remedy::ClientRetryIdempotent {
                timeout_status: f.api_kind.timeout_status(),
            });
        }
        (Kind::NearLimit, _) if f.integration_latency_ms.is_some_and(|l| l > f.limit_ms) => {
            r.push(Remedy::TellRealLimit {
                api_id: f.api_id.clone(),
                stage: f.stage.clone(),
            });
        }
        (Kind::NearLimit, _) => {
            r.push(Remedy::Faster { lambda });
            r.push(Remedy::ShortenWork);
            r.push(Remedy::Asynchronous { lambda });
            r.push(raise_limit(f));
        }
        (_, Cause::FunctionTimeout) => {
            r.push(Remedy::FunctionTimeoutFirst {
                limit_ms: f.limit_ms,
            });
            r.push(Remedy::Faster { lambda: Some(true) });
        }
        (_, Cause::FunctionError) => r.push(Remedy::ReadFunctionLog {
            lambda_request_id: f.lambda_request_id.clone(),
        }),
        (_, Cause::LambdaThrottled) => {
            r.push(Remedy::RaiseConcurrency);
            r.push(Remedy::RetryWithJitter);
        }
        (_, Cause::LambdaPermissions) => r.push(Remedy::AllowInvoke),
        (_, Cause::MalformedProxyResponse) => {
            r.push(Remedy::ProxyResponseShape);
            r.push(Remedy::ThrottleInBody);
        }
        (_, Cause::AuthorizerError) => r.push(Remedy::CheckAuthorizer),
        (_, Cause::ConfigurationError) => r.push(configuration_remedy(f)),
        (_, Cause::IntegrationFailure) => r.push(Remedy::CheckBackendHealth),
        (_, Cause::ConnectionFailure) => {
            r.push(Remedy::FixConnection {
                problem: f.detail.as_deref().and_then(ConnectionProblem::of),
            });
            r.push(Remedy::RetrySafeOnceReachable);
        }
        (_, Cause::AwsServiceRejected) => r.push(Remedy::FixServiceCall {
            integration_status: req.integration_status,
        }),
        (
            _,
            Cause::IntegrationTimeout | Cause::SlowIntegration | Cause::FunctionTimeoutOverLimit,
        ) => {}
    }
    r
}

/// The gateway's "configuration error" names its class; its detail says which part of
/// the set-up to fix.
fn configuration_remedy(f: &Finding) -> Remedy {
    let detail = f.detail.as_deref().unwrap_or_default();
    if ConnectionProblem::of(detail) == Some(ConnectionProblem::Tls) {
        Remedy::FixCertificateName
    } else if detail.contains("internal error while executing your request")
        && matches!(f.backend, Some(Backend::PrivateHttp { .. }))
    {
        Remedy::CheckVpcLinkTarget
    } else {
        Remedy::CheckIntegrationConfig
    }
}

fn raise_limit(f: &Finding) -> Remedy {
    Remedy::RaiseLimit {
        api_kind: f.api_kind,
        limit_ms: f.limit_ms,
    }
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
