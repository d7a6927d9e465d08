//! The Lambda's settings: environment variables → a validated [`Config`], once, at init.
//! A bad value stops the function at init with a message naming the variable and the
//! expected form, instead of failing every invocation later.

use std::collections::BTreeMap;

mod accounts;
pub use accounts::AccountSettings;

use crate::engine::config::{EngineConfig, DEFAULT_NEAR_LIMIT_RATIO};
use crate::engine::incidents::Lifecycle;
use crate::engine::slo::SloSettings;
use crate::logs::access_log::AccessFormat;
use crate::logs::envelope::DEFAULT_MAX_DECOMPRESSED;
use crate::model::limits::{self, Limits};
use crate::model::scope::arn_account;
use crate::monitor::accounts::CrossAccount;
use crate::monitor::settings::{self, MetricsMode, Settings};
use crate::render::alert::AlertContext;

#[derive(Debug, Clone)]
pub struct Config {
    pub engine: EngineConfig,
    pub metrics_namespace: String,
    pub metrics_mode: MetricsMode,
    /// No topic: findings are only logged.
    pub alert_topic_arn: Option<String>,
    /// `update` at most this often, `resolved` after this long without a finding.
    pub lifecycle: Lifecycle,
    /// DynamoDB table shared by every container; `None`: this process's memory.
    pub incidents_table: Option<String>,
    /// Runbook link for alerts; may contain `{api_id}`, `{stage}`, `{route}`.
    pub runbook_url: Option<String>,
    /// Friendly API names by API id.
    pub api_names: BTreeMap<String, String>,
    /// The stack's dashboard (the function's name, as the template names both).
    pub dashboard_name: Option<String>,
    pub max_alerts_per_invocation: usize,
    pub near_limit_alert_min: u64,
    pub max_decompressed_bytes: usize,
    /// Print what would be published instead of publishing it.
    pub dry_run: bool,
    /// How long partial requests wait in the warm container for the rest of their lines.
    pub pending_ttl_secs: u64,
    pub pending_max_requests: usize,
    /// The function's own log group (`AWS_LAMBDA_LOG_GROUP_NAME`, set by Lambda):
    /// batches from it are ignored, so a mistaken subscription cannot loop.
    pub own_log_group: Option<String>,
    /// Fetch the early lines of a failed request whose start went to another batch
    /// (`FilterLogEvents`), at most `log_lookups_max` per invocation.
    pub log_lookup: bool,
    pub log_lookups_max: usize,
    /// Join the halves of a request split between containers through the shared state
    /// (`INCIDENTS_TABLE`), so that its metrics keep their route.
    pub split_join: bool,
    /// Backend functions whose log groups the function may look runs up in (issue 16).
    pub backend_function_names: std::collections::HashSet<String>,
    /// Record CloudTrail change events delivered by EventBridge (in `INCIDENTS_TABLE`)
    /// and relate them to incidents.
    pub change_events: bool,
    /// How far before an incident's onset changes are related to it.
    pub change_window_minutes: i64,
    /// The pagers beside SNS (PagerDuty, Opsgenie): their key parameters and endpoints.
    pub pagers: PagerConfig,
    /// The SLOs (`SLO`): the default objective and the overrides.
    pub slos: SloSettings,
    /// The daily drift digest: on or off, and its UTC hour.
    pub drift: settings::Drift,
    /// Account names, the metrics' Account dimension, console links into accounts.
    pub accounts: AccountSettings,
    /// How evidence in other accounts is read (`CROSS_ACCOUNT_EVIDENCE`).
    pub cross_account_evidence: CrossAccount,
}

/// One bad setting: the variable, what it held, and the form it must have.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{variable}={value:?} is invalid: expected {expected}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub value: String,
    pub expected: String,
}

/// Every setting: name, default (as text), example, meaning. The README table and
/// template.yaml's parameters are checked against this list.
pub const SETTINGS: &[(&str, &str, &str, &str)] = &[
    ("METRICS_NAMESPACE", "ApigwDoctor", "Platform/ApiGateway", "CloudWatch namespace of the metrics"),
    ("METRICS_MODE", "api", "emf", "`api` (PutMetricData), `emf` (Embedded Metric Format on stdout) or `off`"),
    ("ALERT_TOPIC_ARN", "", "arn:aws:sns:us-east-1:123456789012:apigw-doctor-alerts", "SNS topic for alerts; empty: findings are only logged"),
    ("INCIDENT_UPDATE_SECONDS", "900", "1800", "an open incident sends `update` (count doubled, or a new route) at most this often"),
    ("INCIDENT_RESOLVE_SECONDS", "600", "900", "an incident is `resolved` after this long without a new finding"),
    ("INCIDENTS_TABLE", "", "apigw-doctor-incidents", "DynamoDB table for incident state shared by every container; empty: each container's memory"),
    ("RUNBOOK_URL", "", "https://wiki.example.com/runbooks/apigw?api={api_id}&stage={stage}", "runbook link in alerts; `{api_id}`, `{stage}`, `{route}` are filled in"),
    ("API_NAMES", "", "a1b2c3d4e5=Orders API,xyz789=Search", "friendly API names for alerts, by API id (`111122223333:a1b2c3d4e5=Payments` for one account's)"),
    ("ACCOUNT_NAMES", "", "111122223333=payments-prod,444455556666=search-prod", "friendly account names for alerts, by account id"),
    ("METRICS_ACCOUNT_DIMENSION", "off", "on", "`on`: route metrics carry an `Account` dimension and each account's API stage gets a roll-up of its own (more series, more cost); `off`: accounts' identical API ids share their series"),
    ("CONSOLE_PORTAL_URL", "", "https://my-org.awsapps.com/start", "IAM Identity Center access portal: console links open through it, signed in to the incident's account"),
    ("CONSOLE_ROLE_NAME", "", "ReadOnly", "the permission set console links open with (with `CONSOLE_PORTAL_URL`); empty: the reader picks"),
    ("MAX_ALERTS_PER_INVOCATION", "10", "5", "alerts per invocation; the rest go into one summary alert"),
    ("NEAR_LIMIT_ALERT_MIN", "5", "10", "near-limit requests a route needs in one batch before it alerts (timeouts always alert)"),
    ("NEAR_LIMIT_RATIO", "0.8", "0.9", "near the limit = integration latency ≥ this fraction of the limit"),
    ("TIMEOUT_MS", "", "29000", "one limit for all APIs; empty: 29000 (REST, WebSocket) and 30000 (HTTP)"),
    ("TIMEOUT_OVERRIDES", "", "abc123=60000,xyz789/prod=30000", "limits per API, API/stage or API/stage/route (`abc123/prod/POST /orders=45000`), each optionally for one account (`111122223333:abc123=60000`, `111122223333:*=60000`)"),
    ("ACCESS_LOG_FORMAT", "", "{\"requestId\":\"$context.requestId\",\"status\":\"$context.status\"}", "the stages' access-log format, to read custom keys or CLF/CSV/XML"),
    ("MAX_DECOMPRESSED_BYTES", "67108864", "33554432", "cap on the decompressed size of one invocation's logs"),
    ("DRY_RUN", "false", "true", "log what would be published (metrics and the three alert renderings) instead of publishing"),
    ("PENDING_TTL_SECONDS", "300", "120", "how long a request's early lines wait for the rest in a warm container"),
    ("PENDING_MAX_REQUESTS", "20000", "5000", "cap on requests waiting for the rest of their lines"),
    ("LOG_LOOKUP", "on", "off", "`on`: fetch the early lines of a timeout or error whose start went to another batch (FilterLogEvents); `off`: never"),
    ("LOG_LOOKUPS_MAX", "20", "5", "lookups per invocation; past it findings go out undiagnosed and count in `LookupsSkipped`"),
    ("SPLIT_JOIN", "on", "off", "`on` (with `INCIDENTS_TABLE`): a request whose start and end reach different containers is joined through the table (one small write per half), so its metrics keep their route; `off`: its end is counted under `Route=Other`"),
    ("BACKEND_FUNCTION_NAMES", "", "orders-api,payments", "backend Lambda functions whose `/aws/lambda/NAME` a timeout's run is looked up in (connect or read); the template grants FilterLogEvents on exactly those"),
    ("CHANGE_EVENTS", "on", "off", "`on` (with `INCIDENTS_TABLE`): CloudTrail change events that EventBridge delivers are kept for 3 days and an alert names the changes before its incident (\"What changed\"); `off`: not recorded"),
    ("CHANGE_WINDOW_MINUTES", "60", "30", "how far before an incident's onset a change is related to it (1 to 1440)"),
    ("PAGERDUTY_ROUTING_KEY_PARAMETER", "", "/apigw-doctor/pagerduty-routing-key", "SSM parameter (SecureString) holding a PagerDuty Events API v2 integration key; empty: no PagerDuty"),
    ("PAGERDUTY_EVENTS_URL", "https://events.pagerduty.com/v2/enqueue", "https://pager-relay.example.com/v2/enqueue", "PagerDuty Events API v2 endpoint (https; http only to 127.0.0.1 for tests)"),
    ("OPSGENIE_API_KEY_PARAMETER", "", "/apigw-doctor/opsgenie-api-key", "SSM parameter (SecureString) holding an Opsgenie API integration key; empty: no Opsgenie"),
    ("OPSGENIE_API_URL", "https://api.opsgenie.com", "https://api.eu.opsgenie.com", "Opsgenie API base URL (`https://api.eu.opsgenie.com` for the EU instance)"),
    ("MAX_ROUTE_METRICS", "25", "10", "routes with their own metric series per API stage (the busiest); the rest are published as `Route=Other`"),
    ("DRIFT_DIGEST", "daily", "off", "`daily`: each route's latency per day is counted (in `INCIDENTS_TABLE` when set) and one digest a day names the routes drifting toward their limit; `off`: neither"),
    ("DRIFT_DIGEST_HOUR", "9", "7", "the UTC hour (0 to 23) from which the day's drift digest is sent"),
    ("CROSS_ACCOUNT_EVIDENCE", "off", "role:apigw-doctor-evidence", "how a request from another account (central Kinesis fan-in) has its early lines and backend runs looked up: `off` (not read; the finding says where they are), `oam` (FilterLogEvents by log group ARN through a CloudWatch cross-account observability link) or `role:NAME` (sts:AssumeRole into that account's role NAME)"),
];

fn parse_num<T: std::str::FromStr>(
    variable: &'static str,
    raw: &str,
    expected: &str,
    ok: impl Fn(&T) -> bool,
) -> Result<T, ConfigError> {
    raw.trim()
        .parse::<T>()
        .ok()
        .filter(ok)
        .ok_or_else(|| ConfigError {
            variable,
            value: raw.to_owned(),
            expected: expected.to_owned(),
        })
}

fn parse_bool(variable: &'static str, raw: &str) -> Result<bool, ConfigError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "" | "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(ConfigError {
            variable,
            value: raw.to_owned(),
            expected: "true or false".into(),
        }),
    }
}

impl Config {
    /// What each step of an invocation is told.
    pub fn settings(&self) -> Settings {
        // The doctor's own account, as its topic names it.
        let home = self
            .alert_topic_arn
            .as_deref()
            .and_then(arn_account)
            .map(str::to_owned);
        Settings {
            engine: self.engine.clone(),
            ingest: settings::Ingest {
                max_decompressed_bytes: self.max_decompressed_bytes,
                own_log_group: self.own_log_group.clone(),
                pending_ttl_secs: self.pending_ttl_secs,
                pending_max_requests: self.pending_max_requests,
            },
            evidence: settings::Evidence {
                log_lookups_max: self.log_lookups_max,
                split_join: self.split_join,
                backend_function_names: self.backend_function_names.clone(),
                change_window_ms: self.change_window_minutes * 60_000,
            },
            incidents: settings::Incidents {
                lifecycle: self.lifecycle,
                near_limit_alert_min: self.near_limit_alert_min,
            },
            notify: settings::Notify {
                max_alerts_per_invocation: self.max_alerts_per_invocation,
                context: AlertContext {
                    account: home.clone(),
                    home_account: home,
                    account_names: self.accounts.names.clone(),
                    console_portal: self.accounts.console_portal.clone(),
                    region: self.engine.region.clone(),
                    runbook_url: self.runbook_url.clone(),
                    api_names: self.api_names.clone(),
                    dashboard_name: self.dashboard_name.clone(),
                },
            },
            metrics: settings::Metrics {
                namespace: self.metrics_namespace.clone(),
                mode: self.metrics_mode,
                by_account: self.accounts.metrics_dimension,
            },
            budget: self.slos.clone(),
            drift: self.drift,
        }
    }

    /// Reads the settings through `get` (the process environment in the Lambda).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let var = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let or = |name: &str, default: &str| var(name).unwrap_or_else(|| default.to_owned());

        let metrics_mode = match or("METRICS_MODE", "api")
            .trim()
            .to_ascii_lowercase()
            .as_str()
        {
            "api" => MetricsMode::Api,
            "emf" => MetricsMode::Emf,
            "off" => MetricsMode::Off,
            _ => {
                return Err(ConfigError {
                    variable: "METRICS_MODE",
                    value: or("METRICS_MODE", ""),
                    expected: "api, emf or off".into(),
                })
            }
        };
        let namespace = or("METRICS_NAMESPACE", "ApigwDoctor");
        if namespace.len() > 255 || namespace.starts_with(':') || namespace.starts_with("AWS/") {
            return Err(ConfigError {
                variable: "METRICS_NAMESPACE",
                value: namespace,
                expected: "1 to 255 characters, not starting with `AWS/` or `:`".into(),
            });
        }
        let alert_topic_arn = var("ALERT_TOPIC_ARN");
        if let Some(arn) = &alert_topic_arn {
            if !arn.starts_with("arn:") || arn.split(':').count() != 6 || !arn.contains(":sns:") {
                return Err(ConfigError {
                    variable: "ALERT_TOPIC_ARN",
                    value: arn.clone(),
                    expected: "an SNS topic ARN, arn:aws:sns:REGION:ACCOUNT:NAME".into(),
                });
            }
        }
        let mut limits = Limits::default();
        if let Some(t) = var("TIMEOUT_MS") {
            limits.default_ms = Some(limits::parse_ms(&t).map_err(|e| ConfigError {
                variable: "TIMEOUT_MS",
                value: t.clone(),
                expected: e.to_string(),
            })?);
        }
        if let Some(o) = var("TIMEOUT_OVERRIDES") {
            limits = limits.with_overrides(&o).map_err(|e| ConfigError {
                variable: "TIMEOUT_OVERRIDES",
                value: o.clone(),
                expected: e.to_string(),
            })?;
        }
        let near_limit_ratio = parse_num(
            "NEAR_LIMIT_RATIO",
            &or("NEAR_LIMIT_RATIO", &DEFAULT_NEAR_LIMIT_RATIO.to_string()),
            "a number greater than 0 and at most 1, e.g. 0.8",
            |r: &f64| *r > 0.0 && *r <= 1.0,
        )?;
        let access_format = match var("ACCESS_LOG_FORMAT") {
            Some(f) => Some(AccessFormat::parse(&f).map_err(|e| ConfigError {
                variable: "ACCESS_LOG_FORMAT",
                value: f.clone(),
                expected: format!("the stage's access-log format ({e})"),
            })?),
            None => None,
        };
        Ok(Config {
            engine: EngineConfig {
                limits,
                near_limit_ratio,
                access_format,
                region: var("AWS_REGION"),
                max_route_metrics: parse_num(
                    "MAX_ROUTE_METRICS",
                    &or("MAX_ROUTE_METRICS", "25"),
                    "a whole number from 0 to 1000",
                    |n: &usize| *n <= 1000,
                )?,
            },
            metrics_namespace: namespace,
            metrics_mode,
            alert_topic_arn,
            lifecycle: Lifecycle {
                update_secs: parse_num(
                    "INCIDENT_UPDATE_SECONDS",
                    &or("INCIDENT_UPDATE_SECONDS", "900"),
                    "whole seconds from 0 to 86400",
                    |s: &u64| *s <= 86_400,
                )?,
                resolve_secs: parse_num(
                    "INCIDENT_RESOLVE_SECONDS",
                    &or("INCIDENT_RESOLVE_SECONDS", "600"),
                    "whole seconds from 60 to 86400",
                    |s: &u64| (60..=86_400).contains(s),
                )?,
            },
            incidents_table: match var("INCIDENTS_TABLE") {
                Some(t) if !valid_table_name(t.trim()) => {
                    return Err(ConfigError {
                        variable: "INCIDENTS_TABLE",
                        value: t,
                        expected: "a DynamoDB table name (3 to 255 of a-z A-Z 0-9 _ - .) or ARN"
                            .into(),
                    })
                }
                t => t.map(|t| t.trim().to_owned()),
            },
            runbook_url: match var("RUNBOOK_URL") {
                Some(u)
                    if !(u.trim().starts_with("https://") || u.trim().starts_with("http://")) =>
                {
                    return Err(ConfigError {
                        variable: "RUNBOOK_URL",
                        value: u,
                        expected: "an http(s) URL, optionally with {api_id}, {stage}, {route}"
                            .into(),
                    })
                }
                u => u.map(|u| u.trim().to_owned()),
            },
            api_names: match var("API_NAMES") {
                Some(v) => parse_api_names(&v).ok_or_else(|| ConfigError {
                    variable: "API_NAMES",
                    value: v.clone(),
                    expected: "comma-separated API_ID=Name pairs, e.g. a1b2c3d4e5=Orders API"
                        .into(),
                })?,
                None => BTreeMap::new(),
            },
            dashboard_name: var("AWS_LAMBDA_FUNCTION_NAME"),
            max_alerts_per_invocation: parse_num(
                "MAX_ALERTS_PER_INVOCATION",
                &or("MAX_ALERTS_PER_INVOCATION", "10"),
                "a whole number from 1 to 100",
                |n: &usize| (1..=100).contains(n),
            )?,
            near_limit_alert_min: parse_num(
                "NEAR_LIMIT_ALERT_MIN",
                &or("NEAR_LIMIT_ALERT_MIN", "5"),
                "a whole number from 1 to 100000",
                |n: &u64| (1..=100_000).contains(n),
            )?,
            max_decompressed_bytes: parse_num(
                "MAX_DECOMPRESSED_BYTES",
                &or(
                    "MAX_DECOMPRESSED_BYTES",
                    &DEFAULT_MAX_DECOMPRESSED.to_string(),
                ),
                "bytes, from 1048576 (1 MiB) to 1073741824 (1 GiB)",
                |n: &usize| (1 << 20..=1 << 30).contains(n),
            )?,
            dry_run: parse_bool("DRY_RUN", &or("DRY_RUN", ""))?,
            pending_ttl_secs: parse_num(
                "PENDING_TTL_SECONDS",
                &or("PENDING_TTL_SECONDS", "300"),
                "whole seconds from 0 to 3600",
                |s: &u64| *s <= 3600,
            )?,
            pending_max_requests: parse_num(
                "PENDING_MAX_REQUESTS",
                &or("PENDING_MAX_REQUESTS", "20000"),
                "a whole number from 0 to 1000000",
                |n: &usize| *n <= 1_000_000,
            )?,
            own_log_group: var("AWS_LAMBDA_LOG_GROUP_NAME"),
            log_lookup: parse_bool("LOG_LOOKUP", &or("LOG_LOOKUP", "on"))?,
            log_lookups_max: parse_num(
                "LOG_LOOKUPS_MAX",
                &or("LOG_LOOKUPS_MAX", "20"),
                "a whole number from 0 to 1000",
                |n: &usize| *n <= 1000,
            )?,
            split_join: parse_bool("SPLIT_JOIN", &or("SPLIT_JOIN", "on"))?,
            backend_function_names: or("BACKEND_FUNCTION_NAMES", "")
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect(),
            change_events: parse_bool("CHANGE_EVENTS", &or("CHANGE_EVENTS", "on"))?,
            change_window_minutes: parse_num(
                "CHANGE_WINDOW_MINUTES",
                &or("CHANGE_WINDOW_MINUTES", "60"),
                "whole minutes from 1 to 1440",
                |m: &i64| (1..=1440).contains(m),
            )?,
            slos: slo_setting(var("SLO"))?,
            pagers: PagerConfig::from_lookup(var)?,
            drift: drift_from_lookup(var)?,
            accounts: AccountSettings::from_lookup(var)?,
            cross_account_evidence: cross_account_setting(var("CROSS_ACCOUNT_EVIDENCE"))?,
        })
    }
}

/// `CROSS_ACCOUNT_EVIDENCE`: `off` (unset), `oam` or `role:NAME`.
fn cross_account_setting(raw: Option<String>) -> Result<CrossAccount, ConfigError> {
    let raw = raw.unwrap_or_default();
    CrossAccount::parse(&raw).ok_or_else(|| ConfigError {
        variable: "CROSS_ACCOUNT_EVIDENCE",
        value: raw.clone(),
        expected: "off, oam or role:NAME (an IAM role name, e.g. role:apigw-doctor-evidence)"
            .into(),
    })
}

/// `SLO`: unset means the default objective, 99.9 % over 30 days.
fn slo_setting(raw: Option<String>) -> Result<SloSettings, ConfigError> {
    match raw {
        None => Ok(SloSettings::default()),
        Some(v) => SloSettings::parse(&v).map_err(|e| ConfigError {
            variable: "SLO",
            value: v.clone(),
            expected: format!(
                "OBJECTIVE[; API[/STAGE[/ROUTE]]=OBJECTIVE]…, e.g. 99.9%/30d; abc123/prod=99.5% ({e})"
            ),
        }),
    }
}

/// DRIFT_DIGEST (`daily` or `off`) and DRIFT_DIGEST_HOUR (0 to 23).
fn drift_from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<settings::Drift, ConfigError> {
    let digest = var("DRIFT_DIGEST").unwrap_or_else(|| "daily".to_owned());
    let digest = match digest.trim().to_ascii_lowercase().as_str() {
        "daily" | "on" => true,
        "off" => false,
        _ => {
            return Err(ConfigError {
                variable: "DRIFT_DIGEST",
                value: digest,
                expected: "daily or off".into(),
            })
        }
    };
    let hour = parse_num(
        "DRIFT_DIGEST_HOUR",
        &var("DRIFT_DIGEST_HOUR")
            .unwrap_or_else(|| settings::DEFAULT_DRIFT_DIGEST_HOUR.to_string()),
        "a whole UTC hour from 0 to 23",
        |h: &u32| *h <= 23,
    )?;
    Ok(settings::Drift { digest, hour })
}

/// A table name, or a table ARN (`arn:…:dynamodb:…:table/NAME`).
fn valid_table_name(t: &str) -> bool {
    let name = t.rsplit_once(":table/").map_or(t, |(_, n)| n);
    (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// `abc123=Orders API,xyz789=Search` → {abc123: Orders API, xyz789: Search}.
fn parse_api_names(v: &str) -> Option<BTreeMap<String, String>> {
    v.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let (id, name) = p.split_once('=')?;
            let (id, name) = (id.trim(), name.trim());
            // `111122223333:abc123`: one account's API of that id.
            let api = match id.split_once(':') {
                Some((account, api)) if crate::model::scope::is_account_id(account) => api,
                Some(_) => return None,
                None => id,
            };
            (!api.is_empty() && !name.is_empty() && api.bytes().all(|b| b.is_ascii_alphanumeric()))
                .then(|| (id.to_owned(), name.to_owned()))
        })
        .collect()
}

// ---------------------------------------------------------------- pagers

// The pager settings: which SSM parameters hold the keys (empty: that pager is off) and
// where each vendor's API is (overridable, so that tests point them at a loopback
// endpoint). Only parameter names are configured; the keys never are.

pub const PAGERDUTY_EVENTS_URL: &str = crate::aws::publish::pager::pagerduty::DEFAULT_EVENTS_URL;
pub const OPSGENIE_API_URL: &str = crate::aws::publish::pager::opsgenie::DEFAULT_API_URL;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagerConfig {
    /// SSM parameter (SecureString) holding the PagerDuty Events API v2 integration key.
    pub pagerduty_key_parameter: Option<String>,
    pub pagerduty_events_url: String,
    /// SSM parameter (SecureString) holding the Opsgenie API integration key.
    pub opsgenie_key_parameter: Option<String>,
    pub opsgenie_api_url: String,
}

/// An SSM parameter name (`/team/pagerduty-key`, `pagerduty-key`) or ARN.
fn valid_parameter(p: &str) -> bool {
    let name = p
        .strip_prefix("arn:")
        .and_then(|rest| rest.split_once(":parameter").map(|(_, n)| n))
        .unwrap_or(p);
    !name.is_empty()
        && p.len() <= 2048
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/'))
}

/// HTTPS, or plain HTTP to this machine only (a test's loopback endpoint).
fn valid_url(u: &str) -> bool {
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"];
    (u.starts_with("https://") && u.len() > 8)
        || loopback.iter().any(|l| {
            u.strip_prefix(l)
                .is_some_and(|r| r.is_empty() || r.starts_with([':', '/']))
        })
}

impl PagerConfig {
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<PagerConfig, ConfigError> {
        let parameter = |variable: &'static str| match var(variable) {
            Some(p) if !valid_parameter(p.trim()) => Err(ConfigError {
                variable,
                value: p,
                expected: "an SSM parameter name or ARN (the key itself never goes in a variable)"
                    .into(),
            }),
            p => Ok(p.map(|p| p.trim().to_owned())),
        };
        let url = |variable: &'static str, default: &str| match var(variable) {
            Some(u) if !valid_url(u.trim()) => Err(ConfigError {
                variable,
                value: u,
                expected: "an https:// URL (http:// only to 127.0.0.1 or localhost)".into(),
            }),
            u => Ok(u.map_or_else(|| default.to_owned(), |u| u.trim().to_owned())),
        };
        Ok(PagerConfig {
            pagerduty_key_parameter: parameter("PAGERDUTY_ROUTING_KEY_PARAMETER")?,
            pagerduty_events_url: url("PAGERDUTY_EVENTS_URL", PAGERDUTY_EVENTS_URL)?,
            opsgenie_key_parameter: parameter("OPSGENIE_API_KEY_PARAMETER")?,
            opsgenie_api_url: url("OPSGENIE_API_URL", OPSGENIE_API_URL)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        Config::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let c = from(&[]).unwrap();
        assert_eq!(c.metrics_namespace, "ApigwDoctor");
        assert_eq!(c.metrics_mode, MetricsMode::Api);
        assert_eq!(c.alert_topic_arn, None);
        assert_eq!(
            (
                c.lifecycle.update_secs,
                c.lifecycle.resolve_secs,
                c.max_alerts_per_invocation,
                c.near_limit_alert_min
            ),
            (900, 600, 10, 5)
        );
        assert!(c.incidents_table.is_none() && c.runbook_url.is_none() && c.api_names.is_empty());
        assert_eq!(c.max_decompressed_bytes, 64 << 20);
        assert!(!c.dry_run);
        assert!(c.log_lookup && c.log_lookups_max == 20);
        assert!(c.drift.digest && c.drift.hour == 9);
        assert_eq!(c.cross_account_evidence, CrossAccount::Off);
        let role = from(&[("CROSS_ACCOUNT_EVIDENCE", "role:apigw-doctor-evidence")]).unwrap();
        assert_eq!(
            role.cross_account_evidence,
            CrossAccount::Role("apigw-doctor-evidence".into())
        );
        let off = from(&[("DRIFT_DIGEST", "off"), ("DRIFT_DIGEST_HOUR", "0")]).unwrap();
        assert!(!off.drift.digest && off.drift.hour == 0);
        // The README and the template list every setting with the same defaults.
        let defaults: HashMap<&str, &str> = SETTINGS.iter().map(|s| (s.0, s.1)).collect();
        assert_eq!(
            defaults["INCIDENT_UPDATE_SECONDS"],
            c.lifecycle.update_secs.to_string()
        );
        assert_eq!(
            defaults["INCIDENT_RESOLVE_SECONDS"],
            c.lifecycle.resolve_secs.to_string()
        );
        assert_eq!(
            defaults["MAX_DECOMPRESSED_BYTES"],
            c.max_decompressed_bytes.to_string()
        );
    }

    #[test]
    fn errors_name_the_variable() {
        for (k, v) in [
            ("METRICS_MODE", "loud"),
            ("ALERT_TOPIC_ARN", "my-topic"),
            ("TIMEOUT_MS", "10"),
            ("TIMEOUT_OVERRIDES", "abc"),
            ("NEAR_LIMIT_RATIO", "1.5"),
            ("ACCESS_LOG_FORMAT", "$context.status"),
            ("INCIDENT_UPDATE_SECONDS", "-1"),
            ("INCIDENT_RESOLVE_SECONDS", "5"),
            ("INCIDENTS_TABLE", "no spaces allowed"),
            ("RUNBOOK_URL", "javascript:alert(1)"),
            ("API_NAMES", "abc123"),
            ("MAX_ALERTS_PER_INVOCATION", "0"),
            ("DRY_RUN", "maybe"),
            ("METRICS_NAMESPACE", "AWS/ApiGateway"),
            ("LOG_LOOKUP", "sometimes"),
            ("LOG_LOOKUPS_MAX", "5000"),
            ("DRIFT_DIGEST", "weekly"),
            ("DRIFT_DIGEST_HOUR", "24"),
            ("CROSS_ACCOUNT_EVIDENCE", "role:"),
            ("CROSS_ACCOUNT_EVIDENCE", "assume"),
        ] {
            let e = from(&[(k, v)]).unwrap_err();
            assert_eq!(e.variable, k);
            assert!(e.to_string().starts_with(&format!("{k}=")), "{e}");
        }
        let c = from(&[
            ("ALERT_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:t"),
            ("DRY_RUN", "1"),
            ("METRICS_MODE", "EMF"),
        ])
        .unwrap();
        assert!(c.dry_run && c.metrics_mode == MetricsMode::Emf && c.alert_topic_arn.is_some());
        let c = from(&[
            ("API_NAMES", "a1b2c3d4e5=Orders API, xyz789 = Search"),
            ("INCIDENTS_TABLE", "apigw-doctor-Incidents-1A2B"),
            ("RUNBOOK_URL", "https://wiki.example.com/{api_id}"),
        ])
        .unwrap();
        assert_eq!(c.api_names["xyz789"], "Search");
        assert_eq!(
            c.incidents_table.as_deref(),
            Some("apigw-doctor-Incidents-1A2B")
        );
    }

    fn pagers(pairs: &[(&str, &str)]) -> Result<PagerConfig, ConfigError> {
        let m: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        PagerConfig::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn off_by_default_with_the_vendor_endpoints() {
        let c = pagers(&[]).unwrap();
        assert!(c.pagerduty_key_parameter.is_none() && c.opsgenie_key_parameter.is_none());
        assert_eq!(c.pagerduty_events_url, PAGERDUTY_EVENTS_URL);
        assert_eq!(c.opsgenie_api_url, OPSGENIE_API_URL);
    }

    #[test]
    fn parameters_and_urls_are_checked() {
        let c = pagers(&[
            ("PAGERDUTY_ROUTING_KEY_PARAMETER", "/apigw-doctor/pagerduty"),
            (
                "OPSGENIE_API_KEY_PARAMETER",
                "arn:aws:ssm:eu-west-1:123456789012:parameter/og",
            ),
            ("OPSGENIE_API_URL", "https://api.eu.opsgenie.com"),
            ("PAGERDUTY_EVENTS_URL", "http://127.0.0.1:8080/v2/enqueue"),
        ])
        .unwrap();
        assert_eq!(c.opsgenie_api_url, "https://api.eu.opsgenie.com");
        for (k, v) in [
            ("PAGERDUTY_ROUTING_KEY_PARAMETER", "a key with spaces"),
            ("OPSGENIE_API_KEY_PARAMETER", "eb24:bad"),
            (
                "PAGERDUTY_EVENTS_URL",
                "http://events.pagerduty.com/v2/enqueue",
            ),
            ("OPSGENIE_API_URL", "http://127.0.0.1.evil.example"),
        ] {
            assert_eq!(pagers(&[(k, v)]).unwrap_err().variable, k);
        }
    }
}
