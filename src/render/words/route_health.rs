//! The route's health in words: one sentence per route, quoted by every finding on it.

use crate::model::diagnosis::RouteHealth;
use crate::model::stats::{RouteVerdict, PERCENTILE_MIN};
use crate::render::display::{censored_ms, ms, percent, rate, thousands, with_n};

pub fn words(r: &RouteHealth) -> String {
    let near_ms = r.near_ms;
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
            let min = r.min_ms.map_or_else(|| censored_ms(r.limit_ms, true), ms);
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
            r.ratio_ppm / 10_000
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
