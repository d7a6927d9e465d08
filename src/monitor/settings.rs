//! What each step of an invocation is told: one small struct per step, built once from
//! the Lambda's settings (`lambda::config::Config::settings`) or the CLI's flags.

use std::collections::HashSet;

use crate::engine::config::EngineConfig;
use crate::engine::incidents::Lifecycle;
use crate::render::alert::AlertContext;

#[derive(Debug, Clone)]
pub struct Settings {
    pub engine: EngineConfig,
    pub ingest: Ingest,
    pub evidence: Evidence,
    pub incidents: Incidents,
    pub notify: Notify,
    pub metrics: Metrics,
    /// The SLOs the error budget is counted for (`SLO`).
    pub budget: crate::engine::slo::SloSettings,
    pub drift: Drift,
}

/// Decoding a batch and streaming it into the engine.
#[derive(Debug, Clone)]
pub struct Ingest {
    pub max_decompressed_bytes: usize,
    /// The function's own log group: batches from it are ignored, so a mistaken
    /// subscription cannot loop.
    pub own_log_group: Option<String>,
    /// How long partial requests wait in the warm container for the rest of their lines.
    pub pending_ttl_secs: u64,
    pub pending_max_requests: usize,
}

/// The evidence gathered under one budget and deadline: split-request joins, healing
/// lookups, backend runs.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// Lookups per invocation, healing and backend runs together.
    pub log_lookups_max: usize,
    /// Join the halves of a request split between containers (needs shared halves).
    pub split_join: bool,
    /// Backend functions whose log groups runs may be looked up in.
    pub backend_function_names: HashSet<String>,
    /// How far before an incident's onset changes are related to it.
    pub change_window_ms: i64,
}

/// The incident lifecycle.
#[derive(Debug, Clone, Copy)]
pub struct Incidents {
    pub lifecycle: Lifecycle,
    /// Near-limit findings a group needs before it is an incident.
    pub near_limit_alert_min: u64,
}

/// The notifications.
#[derive(Debug, Clone)]
pub struct Notify {
    pub max_alerts_per_invocation: usize,
    /// Account, region, runbook, API names and dashboard for the alerts' links.
    pub context: AlertContext,
}

/// The drift digest (`monitor::drift`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drift {
    /// Count daily latencies and send the digest (`DRIFT_DIGEST=daily`); off: neither.
    pub digest: bool,
    /// The UTC hour from which the day's digest goes out (0 to 23).
    pub hour: u32,
}

impl Default for Drift {
    fn default() -> Drift {
        Drift {
            digest: true,
            hour: DEFAULT_DRIFT_DIGEST_HOUR,
        }
    }
}

pub const DEFAULT_DRIFT_DIGEST_HOUR: u32 = 9;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsMode {
    /// PutMetricData through the CloudWatch API.
    Api,
    /// Embedded Metric Format lines on stdout: no API call, CloudWatch Logs extracts them.
    Emf,
    Off,
}

/// The metric data.
#[derive(Debug, Clone)]
pub struct Metrics {
    pub namespace: String,
    pub mode: MetricsMode,
    /// Route series carry an `Account` dimension (`METRICS_ACCOUNT_DIMENSION`).
    pub by_account: bool,
}
