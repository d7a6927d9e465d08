//! What a route's and a function's requests add up to: counts, censored percentiles, the verdict.

use crate::model::limits::{ApiKind, LimitSource};
use crate::model::provenance::Provenance;
use crate::model::route::Route;

/// One Lambda backend's runs, from its own log group.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct FunctionStats {
    pub name: String,
    pub runs: u64,
    pub max_duration_ms: f64,
    /// Runs ended by the function's own timeout.
    pub own_timeouts: u64,
    #[serde(skip)]
    pub(crate) report_timeouts: u64,
    #[serde(skip)]
    pub(crate) task_timeouts: u64,
    /// The largest `Task timed out after N seconds`: the function's configured timeout.
    pub configured_timeout_s: Option<f64>,
    /// Runs whose REPORT carried `Init Duration` (or SnapStart's restore): cold starts.
    pub cold_starts: u64,
    /// The longest of those init phases, which a cold run adds before the handler starts.
    pub max_init_duration_ms: Option<f64>,
    #[serde(skip)]
    pub provenance: Provenance,
    #[serde(skip)]
    pub last_ts: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct RouteKey {
    /// Whose logs the route's requests are in (the subscription's `owner`), when they
    /// say: two accounts' identical API ids are two routes. First, so that routes sort
    /// by account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<std::sync::Arc<str>>,
    pub api_id: String,
    pub stage: String,
    pub route: Route,
}

impl RouteKey {
    /// `abc123/prod`, or `111122223333:abc123/prod` when `with_account` (an input holding
    /// several accounts' logs, whose API ids may meet).
    pub fn api_stage(&self, with_account: bool) -> String {
        match self.account.as_deref().filter(|_| with_account) {
            Some(a) => format!("{a}:{}/{}", self.api_id, self.stage),
            None => format!("{}/{}", self.api_id, self.stage),
        }
    }

    /// Whether this is the route at (account, API, stage, route).
    pub fn is(&self, account: Option<&str>, api_id: &str, stage: &str, route: &str) -> bool {
        self.account.as_deref() == account
            && self.api_id == api_id
            && self.stage == stage
            && self.route.as_str() == route
    }
}

/// A percentile of a route's integration latency. Timeouts are observations too,
/// known only to have lasted at least their limit (censored): a percentile whose
/// rank falls among them is a lower bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Percentile {
    pub ms: u64,
    /// `ms` is only a lower bound (`≥ 29,000 ms`).
    pub at_least: bool,
}

/// What a route's latencies say about it, from counts (evidence), not from one
/// percentile of a small sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteVerdict {
    /// No request on the route was answered or timed out.
    NoBaseline,
    /// Fewer than [`VERDICT_MIN`] observations: too few to judge.
    TooFew,
    /// Every observation under the near-limit threshold.
    Fast,
    /// Exactly one observation near or over the limit; the rest fast.
    Outlier,
    /// A fast majority (or half) with two or more slow ones: a slow path.
    Bimodal,
    /// A majority near or over the limit (so the median is too).
    RoutinelyNearLimit,
}

/// Observations a route needs before a verdict.
pub const VERDICT_MIN: u64 = 5;
/// Observations a route needs before any percentile is given.
pub const PERCENTILE_MIN: u64 = 20;

impl RouteVerdict {
    /// `slow` of `observed` observations were at or above the near-limit threshold.
    pub fn of(observed: u64, slow: u64) -> RouteVerdict {
        if observed == 0 {
            RouteVerdict::NoBaseline
        } else if observed < VERDICT_MIN {
            RouteVerdict::TooFew
        } else if slow * 2 > observed {
            RouteVerdict::RoutinelyNearLimit
        } else if slow >= 2 {
            RouteVerdict::Bimodal
        } else if slow == 1 {
            RouteVerdict::Outlier
        } else {
            RouteVerdict::Fast
        }
    }
}

/// How the requests of one route did: tells one slow request from a route that lives near the limit.
/// Computed once per analysis; every finding on the route quotes the same health facts.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RouteStats {
    #[serde(flatten)]
    pub key: RouteKey,
    pub api_kind: ApiKind,
    pub limit_ms: u64,
    /// Where `limit_ms` came from (the JSON report's `limits` list).
    #[serde(skip)]
    pub limit_source: LimitSource,
    pub requests: u64,
    pub timeouts: u64,
    pub near_limit: u64,
    pub errors: u64,
    /// Requests whose integration answered (not counting timeouts).
    pub responses: u64,
    /// The n of the statistics: answered requests plus timeouts.
    pub observed: u64,
    /// Timeouts among `observed`, counted at ≥ their limit.
    pub censored: u64,
    /// Observations at or above the near-limit threshold (timeouts included), and below it.
    pub slow: u64,
    pub fast: u64,
    /// Percentile values (None below [`PERCENTILE_MIN`] observations); `p95_censored`
    /// says whether the p95 is only a lower bound.
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    pub max_ms: Option<u64>,
    pub p50: Option<Percentile>,
    pub p95: Option<Percentile>,
    pub p99: Option<Percentile>,
    pub max: Option<Percentile>,
    pub verdict: RouteVerdict,
    /// The route's template was recovered (from the logs, not guessed from a concrete path).
    pub templated: bool,
    /// Answered latencies, sorted once the analysis is finished.
    #[serde(skip)]
    pub latencies: Vec<u64>,
    /// The smallest and largest observed latency of the timeouts (or their limit).
    #[serde(skip)]
    pub(crate) censored_min_ms: u64,
    #[serde(skip)]
    pub(crate) censored_max_ms: u64,
    /// Some request of the route logged INFO-level lines.
    #[serde(skip)]
    pub(crate) info_seen: bool,
    /// Requests with an outcome per minute, and the bad ones among them (timed out or
    /// 5XX): what the error budget counts.
    #[serde(skip)]
    pub minutes: crate::model::tally::Series,
    /// Integration latency per UTC day (censored), for drift toward the limit.
    #[serde(skip)]
    pub daily: crate::model::daily_latency::DailyLatency,
}

impl RouteStats {
    /// Remaining headroom of the p95 under the limit, in percent (0 or less when the
    /// p95 is among the timeouts).
    pub fn headroom_pct(&self) -> Option<i64> {
        if self.p95?.at_least {
            // Among the timeouts: whatever the bound, there is no headroom.
            return Some(0);
        }
        let p95 = self.p95_ms? as i64;
        Some((self.limit_ms as i64 - p95) * 100 / self.limit_ms.max(1) as i64)
    }

    /// The `p`th percentile (nearest rank) over answered latencies and censored
    /// timeouts. A lower bound where the rank falls among the timeouts, or where the
    /// timeouts are at least the share above `p` (≥ 5% for p95): the value is then
    /// not known, only that it reaches the timeouts' limit.
    pub fn percentile(&self, p: u64) -> Option<Percentile> {
        let n = self.observed;
        if n < PERCENTILE_MIN {
            return None;
        }
        let answered = self.latencies.len() as u64;
        let rank = (p * n).div_ceil(100).max(1);
        let bound = self.censored_min_ms.min(self.limit_ms);
        if self.censored > 0 && (rank > answered || self.censored * 100 >= (100 - p) * n) {
            return Some(Percentile {
                ms: bound,
                at_least: true,
            });
        }
        self.latencies.get(rank as usize - 1).map(|&ms| Percentile {
            ms,
            at_least: false,
        })
    }

    pub(crate) fn finish(&mut self, near_ms: u64) {
        self.latencies.sort_unstable();
        self.responses = self.latencies.len() as u64;
        self.observed = self.responses + self.censored;
        let fast = self.latencies.partition_point(|&l| l < near_ms) as u64;
        self.fast = fast;
        self.slow = self.observed - fast;
        self.p50 = self.percentile(50);
        self.p95 = self.percentile(95);
        self.p99 = self.percentile(99);
        let answered_max = self.latencies.last().copied();
        self.max = match (answered_max, self.censored) {
            (a, 0) => a.map(|ms| Percentile {
                ms,
                at_least: false,
            }),
            (Some(a), _) if a > self.censored_max_ms => Some(Percentile {
                ms: a,
                at_least: false,
            }),
            _ => Some(Percentile {
                ms: self.censored_max_ms,
                at_least: true,
            }),
        };
        self.p50_ms = self.p50.map(|p| p.ms);
        self.p95_ms = self.p95.map(|p| p.ms);
        self.max_ms = self.max.map(|p| p.ms);
        self.verdict = RouteVerdict::of(self.observed, self.slow);
    }
}
