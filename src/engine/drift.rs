//! Drift toward the limit: a route whose integration latency climbs day by day will
//! time out soon. Per route, the censored p95 of each day (timeouts counted at the
//! limit) over the last 7–14 days, a robust trend through them (Theil–Sen: the median
//! of the pairwise slopes, which one bad day cannot swing), and the day the trend
//! crosses [`CROSSING_SHARE`] of the route's limit. Plain functions on daily points.
//!
//! No notice for a flat or noisy route: the trend must be monotone enough (Kendall's
//! tau ≥ [`MIN_TAU`]: most pairs of days rise), material (the fitted rise over the span
//! is at least [`MIN_RISE_SHARE`] of the limit) and cross within [`HORIZON_DAYS`]; days
//! with fewer than [`MIN_REQUESTS_PER_DAY`] requests are left out, and at least
//! [`MIN_DAYS`] must remain.

/// The share of the limit a projection is made to (the near-limit line).
pub const CROSSING_SHARE: f64 = 0.8;
pub const MIN_DAYS: usize = 7;
pub const MAX_DAYS: usize = 14;
pub const MIN_REQUESTS_PER_DAY: u64 = 50;
pub const MIN_TAU: f64 = 0.6;
pub const MIN_RISE_SHARE: f64 = 0.1;
pub const HORIZON_DAYS: f64 = 30.0;

/// One day of a route.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DayPoint {
    /// Days since the Unix epoch (UTC).
    pub day: i64,
    /// Censored p95 of the integration latency (ms).
    pub p95_ms: u64,
    pub requests: u64,
}

/// A route drifting toward its limit.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Drift {
    /// Theil–Sen slope (ms per day) and the fitted p95 on the last day.
    pub slope_ms_per_day: f64,
    pub fitted_today_ms: f64,
    pub tau: f64,
    /// The first day (since the epoch) the trend reaches the crossing line, and the line.
    pub crosses_on_day: i64,
    pub crossing_ms: f64,
    /// The days used, oldest first (for the sparkline).
    pub days: Vec<DayPoint>,
}

/// Theil–Sen line through `(x, y)`: (slope, intercept), `None` under two distinct xs.
pub fn theil_sen(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let mut slopes = Vec::new();
    for (i, a) in points.iter().enumerate() {
        for b in &points[i + 1..] {
            if b.0 != a.0 {
                slopes.push((b.1 - a.1) / (b.0 - a.0));
            }
        }
    }
    let slope = median(&mut slopes)?;
    let mut intercepts: Vec<f64> = points.iter().map(|(x, y)| y - slope * x).collect();
    Some((slope, median(&mut intercepts)?))
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Kendall's tau-a: (concordant − discordant) / pairs.
pub fn kendall_tau(points: &[(f64, f64)]) -> f64 {
    let (mut s, mut pairs) = (0i64, 0i64);
    for (i, a) in points.iter().enumerate() {
        for b in &points[i + 1..] {
            let sign = ((b.0 - a.0) * (b.1 - a.1)).signum();
            s += sign as i64;
            pairs += 1;
        }
    }
    if pairs == 0 {
        0.0
    } else {
        s as f64 / pairs as f64
    }
}

/// The route's drift toward `limit_ms`, from its daily points (any order); `None`:
/// not enough days, flat, noisy, immaterial, already past the line, or too far off.
pub fn drift(points: &[DayPoint], limit_ms: u64) -> Option<Drift> {
    let mut days: Vec<DayPoint> = points
        .iter()
        .copied()
        .filter(|p| p.requests >= MIN_REQUESTS_PER_DAY)
        .collect();
    days.sort_by_key(|p| p.day);
    let skip = days.len().saturating_sub(MAX_DAYS);
    days.drain(..skip);
    if days.len() < MIN_DAYS || limit_ms == 0 {
        return None;
    }
    let xy: Vec<(f64, f64)> = days
        .iter()
        .map(|p| (p.day as f64, p.p95_ms as f64))
        .collect();
    let (slope, intercept) = theil_sen(&xy)?;
    let tau = kendall_tau(&xy);
    let first = xy[0].0;
    let last = xy[xy.len() - 1].0;
    let rise = slope * (last - first);
    let crossing_ms = CROSSING_SHARE * limit_ms as f64;
    let fitted_today_ms = slope * last + intercept;
    if slope <= 0.0 || tau < MIN_TAU || rise < MIN_RISE_SHARE * limit_ms as f64 {
        return None;
    }
    // Already at the line: near-limit findings say it, not a forecast.
    if fitted_today_ms >= crossing_ms {
        return None;
    }
    let crossing_day = ((crossing_ms - intercept) / slope).ceil();
    if crossing_day - last > HORIZON_DAYS {
        return None;
    }
    Some(Drift {
        slope_ms_per_day: slope,
        fitted_today_ms,
        tau,
        crosses_on_day: crossing_day as i64,
        crossing_ms,
        days,
    })
}

#[cfg(test)]
mod tests;
