//! Every request of an open incident's routes counts toward its `requests`, not only
//! those of the batches that carried its findings: a batch of healthy requests on a
//! route still timing out elsewhere lowers the rate, as it does for users.

use std::collections::BTreeSet;

use crate::engine::incidents::{Incident, IncidentGroup};
use crate::model::kind::Kind;
use crate::model::stats::RouteStats;

/// [`add_route_traffic_with`] with the requests of each route from an analysis's `routes`.
pub fn add_route_traffic(
    incident: &Incident,
    routes: &[RouteStats],
    accounts: &BTreeSet<String>,
    counted: &[IncidentGroup<'_>],
) -> Option<Incident> {
    add_route_traffic_with(incident, accounts, counted, |account, api, stage, route| {
        routes
            .iter()
            .filter(|r| r.key.is(account, api, stage, route))
            .map(|r| r.requests)
            .sum()
    })
}

/// `incident` with the requests that this batch carried on its member routes and that
/// its own findings in the batch (`counted`, this batch's groups) did not already count;
/// `None` when there are none. `accounts`: whose logs the batch held (empty: unknown);
/// `requests_of(account, api, stage, route)`: the batch's requests on a route.
/// Activity is unchanged: only findings keep an incident open.
pub fn add_route_traffic_with(
    incident: &Incident,
    accounts: &BTreeSet<String>,
    counted: &[IncidentGroup<'_>],
    requests_of: impl Fn(Option<&str>, &str, &str, &str) -> u64,
) -> Option<Incident> {
    let key = &incident.key;
    // A misconfiguration names a function, not routes: it has no rate.
    if key.kind == Kind::Misconfiguration {
        return None;
    }
    let same_account = match &key.account {
        Some(a) => accounts.is_empty() || accounts.contains(a),
        None => accounts.is_empty(),
    };
    if !same_account {
        return None;
    }
    let already = counted.iter().find(|g| &g.key == key);
    let mut next = incident.clone();
    let mut added = 0;
    for (name, counts) in &mut next.routes {
        if already.is_some_and(|g| g.routes.contains_key(name)) {
            continue;
        }
        let n = requests_of(key.account.as_deref(), &key.api_id, &key.stage, name);
        counts.requests += n;
        added += n;
    }
    if added == 0 {
        return None;
    }
    next.requests += added;
    next.version += 1;
    Some(next)
}
