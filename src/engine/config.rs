//! What the engine is told: limits, the near-limit ratio, the access-log format, the
//! region for links, the cap on route metrics. Built once per invocation or CLI run.

use crate::logs::access_log::AccessFormat;
use crate::model::limits::Limits;

pub const DEFAULT_NEAR_LIMIT_RATIO: f64 = 0.8;

/// Everything the engine needs to know; built once.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub limits: Limits,
    /// Near-limit threshold as a fraction of the limit, in (0, 1].
    pub near_limit_ratio: f64,
    pub access_format: Option<AccessFormat>,
    /// The region for console links when the logs do not name one.
    pub region: Option<String>,
    /// Route-level metric series per API stage (`MAX_ROUTE_METRICS`); the rest is `Route=Other`.
    pub max_route_metrics: usize,
}

pub const DEFAULT_MAX_ROUTE_METRICS: usize = 25;

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            limits: Limits::default(),
            near_limit_ratio: DEFAULT_NEAR_LIMIT_RATIO,
            access_format: None,
            region: None,
            max_route_metrics: DEFAULT_MAX_ROUTE_METRICS,
        }
    }
}

impl EngineConfig {
    /// The ratio in millionths: integer comparisons make 0.8 × 29000 exactly 23200.
    pub fn ratio_ppm(&self) -> u64 {
        (self.near_limit_ratio * 1_000_000.0).round() as u64
    }

    pub fn near_limit_ms(&self, limit_ms: u64) -> u64 {
        (limit_ms * self.ratio_ppm()).div_ceil(1_000_000)
    }
}
