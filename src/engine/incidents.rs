//! Findings → incidents, and the incident lifecycle. Plain functions on data; the
//! clock is a parameter (epoch milliseconds), so that tests drive time.
//!
//! An incident is one problem as an on-call engineer sees it: findings grouped by
//! (API, stage, backend, kind). Routes are members of an incident, not separate
//! alerts. A finding with no known backend groups by (API, stage, kind).
//!
//! The lifecycle ([`observe`], [`resolve_due`]):
//! - `firing` once, when the incident opens;
//! - `update` when it materially worsens (the affected count at least doubles since the
//!   last notification, or a new route joins), at most once per `update_secs`;
//! - `resolved` after `resolve_secs` with no new finding.

use std::collections::BTreeMap;

use crate::engine::analysis::Analysis;

use crate::model::finding::Finding;

use crate::model::backend::Backend;
use crate::model::diagnosis::Headline;
use crate::model::incident::IncidentKey;
use crate::model::kind::{Cause, Kind};
use crate::model::stats::RouteStats;

/// Routes remembered per incident; the rest are counted under [`OTHER_ROUTES`]
/// (a DynamoDB item holds at most 400 KB).
pub const MAX_ROUTES: usize = 100;
pub const OTHER_ROUTES: &str = "(other routes)";

/// One route's share of an incident.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RouteCounts {
    /// Requests on the route in what was analysed (0 when unknown).
    pub requests: u64,
    /// Of those, the incident's findings.
    pub affected: u64,
}

/// The findings of one incident in one analysis.
#[derive(Debug, Clone)]
pub struct IncidentGroup<'a> {
    pub key: IncidentKey,
    /// The most frequent cause (ties: the first in [`Cause`]'s order).
    pub cause: Cause,
    pub backend: Option<&'a Backend>,
    /// In time order (the onset first); findings without a time last.
    pub findings: Vec<&'a Finding>,
    /// Member routes by name, with their counts.
    pub routes: BTreeMap<String, RouteCounts>,
    /// Requests on the member routes (0 when the routes are unknown, e.g. misconfigurations).
    pub requests: u64,
    /// Findings in the incident.
    pub affected: u64,
    /// Earliest and latest finding time (epoch ms), when the logs carry times.
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
}

impl IncidentGroup<'_> {
    /// affected / requests, when the requests are known.
    pub fn rate(&self) -> Option<f64> {
        rate(self.affected, self.requests)
    }
}

pub fn rate(affected: u64, requests: u64) -> Option<f64> {
    (requests > 0).then(|| affected.min(requests) as f64 / requests as f64)
}

/// The route a finding belongs to, as an incident names it.
pub fn route_name(f: &Finding) -> String {
    match (&f.function, f.kind) {
        (Some(func), Kind::Misconfiguration) if f.route.is_unknown() => {
            format!("Lambda function {}", func.name)
        }
        _ => f.route.to_string(),
    }
}

/// When a finding happened, for onset and last-seen: the answer's time when known.
pub fn finding_time(f: &Finding) -> Option<i64> {
    f.ended_at.or(f.timestamp)
}

/// Groups findings into incidents. `routes` gives the request counts of each route
/// (an [`Analysis`]'s `routes`); incidents come out worst first (kind, then size).
pub fn group<'a>(findings: &'a [Finding], routes: &[RouteStats]) -> Vec<IncidentGroup<'a>> {
    group_with(findings, |account, api, stage, route| {
        routes
            .iter()
            .find(|r| r.key.is(account, api, stage, route))
            .map_or(0, |r| r.requests)
    })
}

/// [`group`] with the requests of each (account, API, stage, route) from a function.
pub fn group_with<'a>(
    findings: &'a [Finding],
    requests_of: impl Fn(Option<&str>, &str, &str, &str) -> u64,
) -> Vec<IncidentGroup<'a>> {
    let mut by_key: BTreeMap<IncidentKey, Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        by_key.entry(IncidentKey::of(f)).or_default().push(f);
    }
    let mut out: Vec<IncidentGroup<'a>> = by_key
        .into_iter()
        .map(|(key, mut fs)| {
            fs.sort_by_key(|f| (finding_time(f).is_none(), finding_time(f)));
            let mut causes: BTreeMap<Cause, u64> = BTreeMap::new();
            let mut members: BTreeMap<String, RouteCounts> = BTreeMap::new();
            for f in &fs {
                *causes.entry(f.cause).or_default() += 1;
                let name = route_name(f);
                let e = members.entry(name).or_insert_with(|| RouteCounts {
                    requests: requests_of(
                        key.account.as_deref(),
                        &f.api_id,
                        &f.stage,
                        f.route.as_str(),
                    ),
                    affected: 0,
                });
                e.affected += 1;
            }
            // Requests never fewer than findings: a finding is a request.
            for c in members.values_mut() {
                c.requests = c.requests.max(c.affected);
            }
            let cause = causes
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map_or(Cause::IntegrationTimeout, |(c, _)| *c);
            let times = fs.iter().filter_map(|f| finding_time(f));
            let first_seen = times.clone().min();
            let last_seen = times.max();
            let known_routes = key.kind != Kind::Misconfiguration;
            IncidentGroup {
                cause,
                backend: fs.iter().find_map(|f| f.backend.as_ref()),
                requests: if known_routes {
                    members.values().map(|c| c.requests).sum()
                } else {
                    0
                },
                affected: fs.len() as u64,
                routes: members,
                first_seen,
                last_seen,
                findings: fs,
                key,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        a.key
            .kind
            .cmp(&b.key.kind)
            .then(b.affected.cmp(&a.affected))
            .then(a.key.cmp(&b.key))
    });
    out
}

/// [`group`] on a whole analysis.
pub fn group_analysis(analysis: &Analysis) -> Vec<IncidentGroup<'_>> {
    group(&analysis.findings, &analysis.routes)
}

// ---------------------------------------------------------------- severity

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Critical,
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// Severity from impact (rate, routes, kind and cause), not from the kind alone.
pub fn severity(kind: Kind, cause: Cause, affected: u64, requests: u64, routes: usize) -> Severity {
    let r = rate(affected, requests);
    let high = |x: f64| r.is_some_and(|r| r >= x);
    match kind {
        // Every request fails until someone fixes the permission.
        _ if cause == Cause::LambdaPermissions => Severity::Critical,
        // A rate needs a few requests behind it: 1 of 2 is not yet an outage.
        Kind::Timeout | Kind::Error if (high(0.5) && affected >= 3) || routes >= 3 => {
            Severity::Critical
        }
        Kind::Timeout | Kind::Error if high(0.05) || affected >= 10 => Severity::Error,
        Kind::Timeout | Kind::Error => Severity::Warning,
        Kind::Misconfiguration => Severity::Warning,
        Kind::NearLimit if high(0.5) => Severity::Warning,
        Kind::NearLimit => Severity::Info,
    }
}

// ---------------------------------------------------------------- lifecycle

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Firing,
    Update,
    Resolved,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Firing => "firing",
            Status::Update => "update",
            Status::Resolved => "resolved",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifecycle {
    /// At most one `update` per this many seconds.
    pub update_secs: u64,
    /// `resolved` after this many seconds without a new finding.
    pub resolve_secs: u64,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle {
            update_secs: 900,
            resolve_secs: 600,
        }
    }
}

/// An open incident as the state store keeps it: everything the next notification needs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Incident {
    /// Stable for the incident's life (and different for the next incident on the same key).
    pub id: String,
    pub key: IncidentKey,
    pub cause: Cause,
    pub severity: Severity,
    pub backend: Option<Backend>,
    /// The status the onset's client got (a timeout: 504, or 503 from an HTTP API).
    #[serde(default)]
    pub status: Option<u16>,
    /// Clock time it opened, and of its last finding (what resolution waits on).
    pub opened_at: i64,
    pub last_activity: i64,
    /// Finding times (the logs' clock), when known.
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
    pub requests: u64,
    pub affected: u64,
    pub routes: BTreeMap<String, RouteCounts>,
    /// Log group of the onset finding (for the links).
    pub log_group: String,
    /// The onset finding's headline facts (for `resolved`, which has no findings).
    /// Incidents stored before it carried an `onset_headline` sentence, now ignored.
    #[serde(default)]
    pub onset: Option<Headline>,
    /// When the last notification went out, and what it said.
    pub notified_at: i64,
    pub notified_affected: u64,
    pub notified_routes: usize,
    /// Optimistic-concurrency version: each write expects the one it read.
    pub version: u64,
}

impl Incident {
    pub fn rate(&self) -> Option<f64> {
        rate(self.affected, self.requests)
    }
}

/// The incident id: the key plus its onset (the first finding's time on the logs' clock,
/// else when it opened), so that a later incident on the same key is another one, and
/// the same logs replayed, or handled again after a redeploy, give the same id (a pager's
/// dedup key).
pub fn incident_id(key: &IncidentKey, onset: i64) -> String {
    let text = format!("{}#{onset}", key.store_key());
    let h = crate::model::incident::fnv1a(text.bytes());
    format!("inc-{h:016x}")
}

/// What one observation of a group does to its incident.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// The incident to store (version already incremented).
    pub next: Incident,
    /// The notification to send for `next`, if any.
    pub notify: Option<Status>,
    /// An earlier incident on the same key that had gone quiet but was not resolved
    /// yet (the schedule had not run): it is resolved now, before `next` fires.
    pub resolved: Option<Incident>,
}

/// Whether an open incident has been quiet long enough to resolve.
pub fn resolve_due(incident: &Incident, now: i64, policy: Lifecycle) -> bool {
    now.saturating_sub(incident.last_activity) >= policy.resolve_secs as i64 * 1000
}

/// Applies a group's findings, seen at `now`, to the incident open on its key (if any).
pub fn observe(
    existing: Option<&Incident>,
    group: &IncidentGroup<'_>,
    now: i64,
    policy: Lifecycle,
) -> Observed {
    let open = existing.filter(|i| !resolve_due(i, now, policy));
    let Some(current) = open else {
        let mut routes = BTreeMap::new();
        merge_routes(&mut routes, &group.routes);
        let mut id = incident_id(&group.key, group.first_seen.unwrap_or(now));
        // Late logs older than the incident they follow must not reuse its id.
        if existing.is_some_and(|e| e.id == id) {
            id = incident_id(&group.key, now);
        }
        let next = Incident {
            id,
            key: group.key.clone(),
            cause: group.cause,
            severity: severity(
                group.key.kind,
                group.cause,
                group.affected,
                group.requests,
                group.routes.len(),
            ),
            backend: group.backend.cloned(),
            status: group.findings.first().and_then(|f| f.status),
            opened_at: now,
            last_activity: now,
            first_seen: group.first_seen,
            last_seen: group.last_seen,
            requests: group.requests,
            affected: group.affected,
            notified_routes: routes.len(),
            routes,
            log_group: group
                .findings
                .first()
                .map(|f| f.provenance.log_group.to_string())
                .unwrap_or_default(),
            onset: group.findings.first().map(|f| f.diagnosis.headline.clone()),
            notified_at: now,
            notified_affected: group.affected,
            version: existing.map_or(0, |e| e.version) + 1,
        };
        return Observed {
            next,
            notify: Some(Status::Firing),
            resolved: existing.cloned(),
        };
    };
    let mut next = current.clone();
    next.version += 1;
    next.last_activity = now;
    next.affected += group.affected;
    next.requests += group.requests;
    merge_routes(&mut next.routes, &group.routes);
    next.first_seen = min_opt(next.first_seen, group.first_seen);
    next.last_seen = max_opt(next.last_seen, group.last_seen);
    if next.backend.is_none() {
        next.backend = group.backend.cloned();
    }
    // The worse severity wins: an incident does not calm down while it is growing.
    next.severity = next.severity.min(severity(
        next.key.kind,
        next.cause,
        next.affected,
        next.requests,
        next.routes.len(),
    ));
    let worse = next.affected >= next.notified_affected.saturating_mul(2)
        || next.routes.len() > next.notified_routes;
    let may = now.saturating_sub(next.notified_at) >= policy.update_secs as i64 * 1000;
    let notify = (worse && may).then_some(Status::Update);
    if notify.is_some() {
        next.notified_at = now;
        next.notified_affected = next.affected;
        next.notified_routes = next.routes.len();
    }
    Observed {
        next,
        notify,
        resolved: None,
    }
}

fn merge_routes(into: &mut BTreeMap<String, RouteCounts>, from: &BTreeMap<String, RouteCounts>) {
    for (name, c) in from {
        let slot = if into.contains_key(name) || into.len() < MAX_ROUTES {
            name.as_str()
        } else {
            OTHER_ROUTES
        };
        let e = into.entry(slot.to_owned()).or_default();
        e.requests += c.requests;
        e.affected += c.affected;
    }
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::diagnosis::Diagnosis;
    use crate::model::limits::ApiKind;
    use crate::model::provenance::Provenance;
    use crate::model::route::Route;

    const T0: i64 = 1_795_600_800_000;

    fn lambda(name: &str) -> Backend {
        Backend::Lambda {
            function_arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{name}"),
            function_name: name.to_owned(),
            region: Some("us-east-1".to_owned()),
        }
    }

    fn finding(kind: Kind, route: &str, backend: Option<Backend>, ts: i64) -> Finding {
        Finding {
            kind,
            cause: if kind == Kind::Timeout {
                Cause::IntegrationTimeout
            } else {
                Cause::FunctionError
            },
            request_id: Some(format!("req-{ts}")),
            api_id: "a1b2c3d4e5".into(),
            stage: "prod".into(),
            route: Route::from_key(route),
            api_kind: ApiKind::Rest,
            status: Some(504),
            invoked: Some(true),
            integration_latency_ms: None,
            elapsed_ms: Some(29_000),
            limit_ms: 29_000,
            backend,
            timestamp: Some(ts),
            ended_at: Some(ts + 29_000),
            lambda_request_id: None,
            xray_trace_id: None,
            detail: None,
            function: None,
            provenance: Provenance::default(),
            diagnosis: Diagnosis::default(),
            run: Default::default(),
        }
    }

    /// Requests per route of API a1b2c3d4e5/prod, as route statistics would give them.
    fn requests<'t>(
        table: &'t [(&'t str, u64)],
    ) -> impl Fn(Option<&str>, &str, &str, &str) -> u64 + 't {
        move |_, api, stage, route| {
            table
                .iter()
                .find(|(r, _)| api == "a1b2c3d4e5" && stage == "prod" && *r == route)
                .map_or(0, |(_, n)| *n)
        }
    }

    #[test]
    fn routes_behind_one_function_are_one_incident() {
        let f = Some(lambda("orders"));
        let findings = vec![
            finding(Kind::Timeout, "GET /a", f.clone(), T0 + 2),
            finding(Kind::Timeout, "GET /b", f.clone(), T0 + 1),
            finding(Kind::Timeout, "GET /b", f.clone(), T0 + 3),
            finding(Kind::Timeout, "GET /c", Some(lambda("other")), T0),
            finding(Kind::Timeout, "GET /d", None, T0),
            finding(Kind::Error, "GET /a", f.clone(), T0),
        ];
        let g = group_with(&findings, requests(&[("GET /a", 10), ("GET /b", 4)]));
        assert_eq!(g.len(), 4);
        let orders = &g[0];
        assert_eq!(orders.key.backend.as_deref(), Some("lambda:orders"));
        assert_eq!((orders.affected, orders.requests), (3, 14));
        assert_eq!(
            orders.routes["GET /b"],
            RouteCounts {
                requests: 4,
                affected: 2
            }
        );
        assert_eq!(
            (orders.first_seen, orders.last_seen),
            (Some(T0 + 29_001), Some(T0 + 29_003))
        );
        assert_eq!(orders.findings[0].timestamp, Some(T0 + 1), "onset first");
        // No backend: (API, stage, kind); a route with no statistics counts its findings.
        let none = g.iter().find(|g| g.key.backend.is_none()).unwrap();
        assert_eq!((none.affected, none.requests), (1, 1));
        assert_eq!(g.last().unwrap().key.kind, Kind::Error);
    }

    /// Issue 22: `requests` counts every request of the incident's routes in its window,
    /// also those of batches without its findings, once, and only in its own account.
    #[test]
    fn an_open_incident_takes_the_traffic_of_its_routes_once() {
        use crate::engine::route_traffic::add_route_traffic_with;
        use std::collections::BTreeSet;
        let f = Some(lambda("orders"));
        let first = vec![finding(Kind::Timeout, "GET /a", f.clone(), T0)];
        let g = group_with(&first, requests(&[("GET /a", 4)]));
        let open = observe(None, &g[0], T0, Lifecycle::default()).next;
        assert_eq!((open.affected, open.requests), (1, 4));
        let none = BTreeSet::new();
        // Healthy traffic: 6 more requests on GET /a, 9 on a route not in the incident.
        let traffic = requests(&[("GET /a", 6), ("GET /z", 9)]);
        let next = add_route_traffic_with(&open, &none, &[], &traffic).unwrap();
        assert_eq!((next.affected, next.requests), (1, 10));
        assert_eq!(next.routes["GET /a"].requests, 10);
        assert_eq!(next.version, open.version + 1);
        assert_eq!(
            next.last_activity, open.last_activity,
            "traffic is not activity"
        );
        // A batch whose findings on GET /a the lifecycle already counted adds nothing more.
        let again = vec![finding(Kind::Timeout, "GET /a", f.clone(), T0 + 60_000)];
        let counted = group_with(&again, requests(&[("GET /a", 6)]));
        assert_eq!(
            add_route_traffic_with(&open, &none, &counted, &traffic),
            None
        );
        // No traffic on its routes: nothing to write.
        assert_eq!(
            add_route_traffic_with(&open, &none, &[], requests(&[("GET /z", 9)])),
            None
        );
        // Another account's logs, or logs of no known account, do not count toward it.
        let mut mine = open.clone();
        mine.key.account = Some("111111111111".into());
        let theirs = BTreeSet::from(["222222222222".to_owned()]);
        assert_eq!(add_route_traffic_with(&mine, &theirs, &[], &traffic), None);
        let ours = BTreeSet::from(["111111111111".to_owned()]);
        assert!(add_route_traffic_with(&mine, &ours, &[], &traffic).is_some());
        assert_eq!(add_route_traffic_with(&open, &theirs, &[], &traffic), None);
    }

    #[test]
    fn severity_follows_impact() {
        use Severity::*;
        let t = Kind::Timeout;
        let c = Cause::IntegrationTimeout;
        assert_eq!(severity(t, c, 1, 100, 1), Warning);
        assert_eq!(severity(t, c, 10, 1000, 1), Error);
        assert_eq!(severity(t, c, 60, 100, 1), Critical);
        assert_eq!(
            severity(t, c, 1, 2, 1),
            Error,
            "too few for a rate to mean an outage"
        );
        assert_eq!(severity(t, c, 3, 1000, 3), Critical);
        assert_eq!(
            severity(Kind::Error, Cause::LambdaPermissions, 1, 1000, 1),
            Critical
        );
        assert_eq!(
            severity(Kind::NearLimit, Cause::SlowIntegration, 5, 100, 1),
            Info
        );
    }

    fn group_of(findings: &[Finding]) -> IncidentGroup<'_> {
        group_with(findings, |_, _, _, _| 0).remove(0)
    }

    #[test]
    fn lifecycle_fires_once_updates_when_worse_and_resolves_when_quiet() {
        let p = Lifecycle {
            update_secs: 900,
            resolve_secs: 600,
        };
        let f = Some(lambda("orders"));
        let one = [finding(Kind::Timeout, "GET /a", f.clone(), T0)];
        let o = observe(None, &group_of(&one), T0, p);
        assert_eq!(o.notify, Some(Status::Firing));
        assert_eq!(o.next.version, 1);
        let id = o.next.id.clone();

        // One more on the same route later: doubled (1 → 2), but within the update interval.
        let o = observe(Some(&o.next), &group_of(&one), T0 + 400_000, p);
        assert_eq!(o.notify, None);
        assert_eq!((o.next.affected, o.next.id.as_str()), (2, id.as_str()));

        // A new route after the update interval: update, same id.
        let two = [finding(Kind::Timeout, "GET /b", f.clone(), T0)];
        let o = observe(Some(&o.next), &group_of(&two), T0 + 901_000, p);
        assert_eq!(o.notify, Some(Status::Update));
        assert_eq!(
            (o.next.id.as_str(), o.next.notified_routes),
            (id.as_str(), 2)
        );

        // Not worse since that update (4 < 2 × 3): nothing.
        let o = observe(Some(&o.next), &group_of(&one), T0 + 1_400_000, p);
        assert_eq!((o.notify, o.next.affected), (None, 4));

        // Quiet: due for resolution exactly after resolve_secs.
        assert!(!resolve_due(&o.next, T0 + 1_400_000 + 599_999, p));
        assert!(resolve_due(&o.next, T0 + 1_400_000 + 600_000, p));

        // A finding after that: the quiet one resolves and a new incident fires.
        let later = [finding(Kind::Timeout, "GET /a", f.clone(), T0 + 2_690_000)];
        let n = observe(Some(&o.next), &group_of(&later), T0 + 2_700_000, p);
        assert_eq!(n.notify, Some(Status::Firing));
        assert_ne!(n.next.id, id);
        assert_eq!(
            n.resolved.as_ref().map(|r| r.id.as_str()),
            Some(id.as_str())
        );
        assert_eq!(n.next.affected, 1);
    }

    #[test]
    fn the_same_logs_give_the_same_incident_id_whenever_they_are_handled() {
        let p = Lifecycle::default();
        let fs = [finding(Kind::Timeout, "GET /a", Some(lambda("orders")), T0)];
        let first = observe(None, &group_of(&fs), T0 + 60_000, p).next.id;
        // A replay days later, or another container after a redeploy.
        let again = observe(None, &group_of(&fs), T0 + 3 * 86_400_000, p)
            .next
            .id;
        assert_eq!(first, again);
        // Late logs of the same time after that incident resolved: another id.
        let old = observe(None, &group_of(&fs), T0 + 60_000, p).next;
        let late = observe(Some(&old), &group_of(&fs), T0 + 3_600_000, p);
        assert_eq!(late.resolved.as_ref().map(|r| &r.id), Some(&first));
        assert_ne!(late.next.id, first);
    }

    #[test]
    fn doubling_the_count_is_an_update() {
        let p = Lifecycle {
            update_secs: 0,
            resolve_secs: 600,
        };
        let fs: Vec<Finding> = (0..3)
            .map(|i| finding(Kind::Timeout, "GET /a", None, T0 + i))
            .collect();
        let o = observe(None, &group_of(&fs), T0, p);
        let o = observe(Some(&o.next), &group_of(&fs[..2]), T0 + 1000, p);
        assert_eq!((o.next.affected, o.notify), (5, None), "5 < 2 × 3");
        let o = observe(Some(&o.next), &group_of(&fs[..1]), T0 + 2000, p);
        assert_eq!((o.next.affected, o.notify), (6, Some(Status::Update)));
    }

    #[test]
    fn routes_are_capped() {
        let mut into = BTreeMap::new();
        let from: BTreeMap<String, RouteCounts> = (0..MAX_ROUTES + 5)
            .map(|i| {
                (
                    format!("GET /r{i:03}"),
                    RouteCounts {
                        requests: 2,
                        affected: 1,
                    },
                )
            })
            .collect();
        merge_routes(&mut into, &from);
        assert_eq!(into.len(), MAX_ROUTES + 1);
        assert_eq!(into[OTHER_ROUTES].affected, 5);
        let total: u64 = into.values().map(|c| c.affected).sum();
        assert_eq!(total, (MAX_ROUTES + 5) as u64);
    }

    proptest::proptest! {
        /// Counts are true whatever the findings: every finding in exactly one incident,
        /// each incident's routes add up to it, never more affected than requests.
        #[test]
        fn counts_add_up(spec in proptest::collection::vec((0u8..3, 0u8..4, 0u8..3, 0u8..2, proptest::option::of(0i64..100_000)), 0..60),
                         requests in proptest::collection::vec(0u64..20, 4)) {
            let kinds = [Kind::Timeout, Kind::Error, Kind::NearLimit];
            let findings: Vec<Finding> = spec
                .iter()
                .map(|(k, r, b, api, ts)| {
                    let mut f = finding(
                        kinds[*k as usize],
                        &format!("GET /r{r}"),
                        (*b > 0).then(|| lambda(&format!("fn{b}"))),
                        ts.unwrap_or(0),
                    );
                    f.timestamp = *ts;
                    f.ended_at = *ts;
                    // API 0 has route statistics; API 1 has none (requests = findings).
                    f.api_id = if *api == 0 { "a1b2c3d4e5".into() } else { "other".into() };
                    f
                })
                .collect();
            let names: Vec<String> = (0..4).map(|i| format!("GET /r{i}")).collect();
            let table: Vec<(&str, u64)> = names.iter().map(String::as_str).zip(requests.iter().copied()).collect();
            let groups = group_with(&findings, super::tests::requests(&table));
            let total: u64 = groups.iter().map(|g| g.affected).sum();
            proptest::prop_assert_eq!(total, findings.len() as u64);
            for g in &groups {
                let by_route: u64 = g.routes.values().map(|c| c.affected).sum();
                proptest::prop_assert_eq!(by_route, g.affected);
                proptest::prop_assert_eq!(g.findings.len() as u64, g.affected);
                proptest::prop_assert!(g.requests >= g.affected);
                proptest::prop_assert!(g.rate().is_none_or(|r| (0.0..=1.0).contains(&r)));
                proptest::prop_assert!(g.findings.iter().all(|f| IncidentKey::of(f) == g.key));
                if let (Some(a), Some(b)) = (g.first_seen, g.last_seen) {
                    proptest::prop_assert!(a <= b);
                }
                // Observed twice, the stored incident holds both.
                let o = observe(None, g, 0, Lifecycle::default());
                let o2 = observe(Some(&o.next), g, 1000, Lifecycle::default());
                proptest::prop_assert_eq!(o2.next.affected, 2 * g.affected);
                proptest::prop_assert_eq!(o2.next.requests, 2 * g.requests);
                proptest::prop_assert_eq!(o2.next.id, o.next.id);
            }
        }
    }
}
