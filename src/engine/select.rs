//! The CLI's filters (`--api-id`, `--stage`, `--route`, `--kind`): an analysis
//! narrowed to some routes and kinds, its summary counted again from what is left.
//! Time filters (`--since`, `--until`) select log events before the engine sees them.

use crate::engine::analysis::Analysis;

use crate::model::finding::Finding;

use crate::model::kind::Kind;
use crate::model::stats::RouteKey;

#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub api_id: Option<String>,
    pub stage: Option<String>,
    /// Matches a route that contains it, ignoring case (`POST /orders`, `/orders/{id}`).
    pub route: Option<String>,
    /// Empty: every kind.
    pub kinds: Vec<Kind>,
}

impl Selection {
    pub fn is_all(&self) -> bool {
        self.api_id.is_none()
            && self.stage.is_none()
            && self.route.is_none()
            && self.kinds.is_empty()
    }

    fn keeps_route(&self, api_id: &str, stage: &str, route: &str) -> bool {
        self.api_id.as_deref().is_none_or(|a| a == api_id)
            && self.stage.as_deref().is_none_or(|s| s == stage)
            && self
                .route
                .as_deref()
                .is_none_or(|r| route.to_lowercase().contains(&r.to_lowercase()))
    }

    fn keeps_key(&self, k: &RouteKey) -> bool {
        self.keeps_route(&k.api_id, &k.stage, k.route.as_str())
    }

    fn keeps_finding(&self, f: &Finding) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&f.kind))
            && self.keeps_route(&f.api_id, &f.stage, f.route.as_str())
    }
}

/// `a` narrowed to `sel`; counts of log events and unrecognised lines stay those of the input.
pub fn select(mut a: Analysis, sel: &Selection) -> Analysis {
    if sel.is_all() {
        return a;
    }
    let mut new_place = vec![None; a.routes.len()];
    let mut kept = 0;
    for (i, r) in a.routes.iter().enumerate() {
        if sel.keeps_key(&r.key) {
            new_place[i] = Some(kept);
            kept += 1;
        }
    }
    a.routes.retain(|r| sel.keeps_key(&r.key));
    a.route_health.retain(|h| sel.keeps_key(&h.key));
    a.observations = a
        .observations
        .into_iter()
        .filter_map(|mut o| {
            o.route = new_place.get(o.route).copied().flatten()?;
            Some(o)
        })
        .collect();
    a.findings.retain(|f| sel.keeps_finding(f));
    let count = |k: Kind| a.findings.iter().filter(|f| f.kind == k).count() as u64;
    a.summary.requests = a.routes.iter().map(|r| r.requests).sum();
    a.summary.timeouts = count(Kind::Timeout);
    a.summary.near_limit = count(Kind::NearLimit);
    a.summary.errors = count(Kind::Error);
    a.summary.misconfigurations = count(Kind::Misconfiguration);
    a
}
