//! `analyze --api-id … --since …`: the CLI reads the API's logs from CloudWatch Logs
//! itself. API Gateway `GetStage` names the stage's access-log group (apigatewayv2's
//! for an HTTP or WebSocket API, when REST's answers NotFound); the execution log
//! group's name is fixed (`API-Gateway-Execution-Logs_{api}/{stage}`; HTTP APIs have
//! none). The integrations' own limits come along (`aws::integration_limits`). Each group is
//! read with `FilterLogEvents`, page by page; throttling is retried by the SDK in its
//! adaptive mode (backoff plus a client-side rate limit), so a large window slows down
//! rather than fails. Credentials and endpoint come from the standard chain
//! (`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL`…).

use aws_sdk_cloudwatchlogs::error::DisplayErrorContext;

use crate::aws::integration_limits;
use crate::model::limits::{ApiLimits, Endpoint};

mod changes;
pub use changes::ChangesFetched;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("GetStage {api_id}/{stage}: {detail}")]
    Stage {
        api_id: String,
        stage: String,
        detail: String,
    },
    #[error("FilterLogEvents on {group}: {detail}")]
    Logs { group: String, detail: String },
    /// CloudTrail LookupEvents failed: whether anything changed is not known.
    #[error("CloudTrail LookupEvents for {event_source}: {detail}")]
    Changes {
        event_source: String,
        detail: String,
    },
}

/// The execution-log group API Gateway writes for a REST API stage.
pub fn execution_group(api_id: &str, stage: &str) -> String {
    format!("API-Gateway-Execution-Logs_{api_id}/{stage}")
}

/// `arn:aws:logs:REGION:ACCOUNT:log-group:NAME[:*]` → `NAME`.
pub fn group_from_arn(arn: &str) -> Option<&str> {
    let (_, name) = arn.split_once(":log-group:")?;
    let name = name.strip_suffix(":*").unwrap_or(name);
    (!name.is_empty()).then_some(name)
}

/// What has been read so far, for the progress line.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub group: String,
    /// 1-based index of the group being read, of `groups`.
    pub group_index: usize,
    pub groups: usize,
    pub events: u64,
    pub bytes: u64,
    /// The latest event time read in this group, against the window.
    pub latest_ms: Option<i64>,
    pub start_ms: i64,
    pub end_ms: i64,
}

impl Progress {
    /// The share of the whole job done, from the groups read and the time reached in this one.
    pub fn done(&self) -> f64 {
        let span = (self.end_ms - self.start_ms).max(1) as f64;
        let within = self
            .latest_ms
            .map_or(0.0, |t| ((t - self.start_ms) as f64 / span).clamp(0.0, 1.0));
        ((self.group_index.saturating_sub(1)) as f64 + within) / self.groups.max(1) as f64
    }
}

/// One event read from a group.
pub struct Event<'a> {
    pub group: &'a str,
    pub stream: &'a str,
    pub id: &'a str,
    pub timestamp: i64,
    pub message: &'a str,
}

/// What API Gateway says of a stage: the log groups to read, the integrations' limits
/// (`None`: not known, the defaults hold) and what went wrong on the way.
#[derive(Debug, Default)]
pub struct StageInfo {
    pub groups: Vec<String>,
    pub limits: Option<ApiLimits>,
    pub warnings: Vec<String>,
}

pub struct Fetcher {
    logs: aws_sdk_cloudwatchlogs::Client,
    apigw: aws_sdk_apigateway::Client,
    apigwv2: aws_sdk_apigatewayv2::Client,
    /// LookupEvents: the window's change events (`changes`).
    cloudtrail: aws_sdk_cloudtrail::Client,
    /// Events per FilterLogEvents page (`APIGW_DOCTOR_FETCH_PAGE_LIMIT`; AWS's default, 10,000,
    /// when unset): tests make small pages to exercise pagination.
    page_limit: Option<i32>,
}

impl Fetcher {
    pub async fn new(region: Option<String>) -> Fetcher {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(r) = region {
            loader = loader.region(aws_config::Region::new(r));
        }
        Fetcher::with_loader(loader).await
    }

    /// Adaptive retries: backoff, and a client-side rate limit once throttled.
    pub async fn with_loader(loader: aws_config::ConfigLoader) -> Fetcher {
        let retry = aws_config::retry::RetryConfig::adaptive().with_max_attempts(10);
        let shared = loader.retry_config(retry).load().await;
        Fetcher {
            logs: aws_sdk_cloudwatchlogs::Client::new(&shared),
            apigw: aws_sdk_apigateway::Client::new(&shared),
            apigwv2: aws_sdk_apigatewayv2::Client::new(&shared),
            cloudtrail: aws_sdk_cloudtrail::Client::new(&shared),
            page_limit: std::env::var("APIGW_DOCTOR_FETCH_PAGE_LIMIT")
                .ok()
                .and_then(|v| v.parse().ok())
                .filter(|n| (1..=10_000).contains(n)),
        }
    }

    /// The stage's log groups and its integrations' limits. REST first (GetStage, then
    /// GetRestApi and GetResources); a failed REST GetStage tries apigatewayv2 (an HTTP or
    /// WebSocket API). When neither reads the stage (no `apigateway:GET`), the execution-log
    /// group and the default limits remain, with a warning naming both failures.
    pub async fn stage(&self, api_id: &str, stage: &str) -> StageInfo {
        let mut info = StageInfo {
            groups: vec![execution_group(api_id, stage)],
            ..StageInfo::default()
        };
        let rest = self
            .apigw
            .get_stage()
            .rest_api_id(api_id)
            .stage_name(stage)
            .send()
            .await;
        match rest {
            Ok(out) => {
                if let Some(g) = out
                    .access_log_settings()
                    .and_then(|s| s.destination_arn())
                    .and_then(group_from_arn)
                {
                    info.groups.push(g.to_owned());
                }
                let (limits, w) = integration_limits::rest(&self.apigw, api_id, stage).await;
                info.limits = limits;
                info.warnings.extend(w);
            }
            // NotFound (not a REST API), or AccessDenied (a policy that grants only the
            // `/apis/…` paths of an HTTP API): apigatewayv2 may know the stage.
            Err(e) => {
                let detail = DisplayErrorContext(&e).to_string();
                self.v2_stage(api_id, stage, &detail, &mut info).await;
            }
        }
        info
    }

    /// An HTTP or WebSocket API's stage (apigatewayv2), after REST's GetStage failed: its
    /// access-log group (HTTP APIs write no execution log) and its limits.
    async fn v2_stage(&self, api_id: &str, stage: &str, rest: &str, info: &mut StageInfo) {
        match integration_limits::v2_stage(&self.apigwv2, api_id, stage, &mut info.warnings).await {
            Ok(v2) => {
                if v2.endpoint == Endpoint::Http {
                    info.groups.clear();
                }
                match v2.access_destination.as_deref().and_then(group_from_arn) {
                    Some(g) => info.groups.push(g.to_owned()),
                    None if v2.endpoint == Endpoint::Http => info.warnings.push(format!(
                        "{api_id}/{stage} is an HTTP API stage without access logging to CloudWatch Logs (HTTP APIs write no execution log): name its group with --log-group"
                    )),
                    None => {}
                }
                let (limits, w) =
                    integration_limits::v2_limits(&self.apigwv2, api_id, stage, v2.endpoint).await;
                info.limits = limits;
                info.warnings.extend(w);
            }
            Err(v2) => info.warnings.push(stage_warning(
                api_id,
                stage,
                &format!("{rest}; apigatewayv2: {v2}"),
            )),
        }
    }

    /// Whether `group` exists (DescribeLogGroups): a stage without execution logging has none.
    pub async fn group_exists(&self, group: &str) -> Result<bool, FetchError> {
        let out = self
            .logs
            .describe_log_groups()
            .log_group_name_prefix(group)
            .send()
            .await
            .map_err(|e| logs_error(group, &e))?;
        Ok(out
            .log_groups()
            .iter()
            .any(|g| g.log_group_name() == Some(group)))
    }

    /// Every event of `group` in [start, end), page by page, to `sink`; `progress`
    /// after each page.
    pub async fn read_group(
        &self,
        group: &str,
        start_ms: i64,
        end_ms: i64,
        progress: &mut Progress,
        on_progress: &mut dyn FnMut(&Progress),
        sink: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), FetchError> {
        let mut token: Option<String> = None;
        progress.group = group.to_owned();
        progress.latest_ms = None;
        loop {
            let out = self
                .logs
                .filter_log_events()
                .log_group_name(group)
                .start_time(start_ms)
                .end_time(end_ms)
                .set_limit(self.page_limit)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| logs_error(group, &e))?;
            for (i, e) in out.events().iter().enumerate() {
                let message = e.message().unwrap_or_default();
                let ts = e.timestamp().unwrap_or(0);
                progress.events += 1;
                progress.bytes += message.len() as u64;
                progress.latest_ms = Some(progress.latest_ms.map_or(ts, |l| l.max(ts)));
                let fallback;
                let id = match e.event_id() {
                    Some(id) => id,
                    None => {
                        fallback = format!("{group}:{}:{i}", progress.events);
                        &fallback
                    }
                };
                sink(Event {
                    group,
                    stream: e.log_stream_name().unwrap_or_default(),
                    id,
                    timestamp: ts,
                    message,
                });
            }
            on_progress(progress);
            // The last page has no token; a repeated token would loop forever.
            match out.next_token() {
                Some(t) if !t.is_empty() && token.as_deref() != Some(t) => {
                    token = Some(t.to_owned());
                }
                _ => break,
            }
        }
        Ok(())
    }
}

/// The warning of a GetStage that failed: the execution-log group and the defaults remain.
fn stage_warning(api_id: &str, stage: &str, detail: &str) -> String {
    FetchError::Stage {
        api_id: api_id.to_owned(),
        stage: stage.to_owned(),
        detail: detail.to_owned(),
    }
    .to_string()
        + "; reading the execution log group only (add the access-log group with --log-group), with the default limits"
}

/// A CloudWatch Logs call on `group` that failed, with the SDK's whole context.
fn logs_error<E: std::error::Error>(group: &str, e: &E) -> FetchError {
    FetchError::Logs {
        group: group.to_owned(),
        detail: DisplayErrorContext(e).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups() {
        assert_eq!(
            execution_group("abc123", "prod"),
            "API-Gateway-Execution-Logs_abc123/prod"
        );
        assert_eq!(
            group_from_arn("arn:aws:logs:us-east-1:123456789012:log-group:/aws/apigw/access:*"),
            Some("/aws/apigw/access")
        );
        assert_eq!(
            group_from_arn("arn:aws:logs:us-east-1:123456789012:log-group:acc"),
            Some("acc")
        );
        assert_eq!(group_from_arn("arn:aws:firehose:x"), None);
    }

    #[test]
    fn progress_share() {
        let p = Progress {
            group_index: 2,
            groups: 2,
            latest_ms: Some(50),
            start_ms: 0,
            end_ms: 100,
            ..Progress::default()
        };
        assert!((p.done() - 0.75).abs() < 1e-9);
    }
}
